"""The bank side of a pushed lead: assignment to an account manager, contact (the materials
that follow are matching/services/materials.py), approval (within the product's and the
need's limits, or by a bank administrator's override with a reason) or decline, drawdowns or
未提款; the task force's coaching after a decline and the enterprise's rating of the service."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from guardian.shortcuts import assign_perm, remove_perm

from matching import decline_reasons, notifications, selectors, watch, workflow
from matching.contact import Contact, clear_contact
from matching.models import Coaching, ContactChannel, DeclineReason, Disbursement, Guarantee, Recommendation
from matching.workflow import Action
from portal.models import Role
from portal.services import ApplicationError, audit_record
from portal.tenancy import CHANGE, VIEW, resolve, resolve_many

WORK_PERMISSION = workflow.WORK_PERMISSION
# the largest value each approval column can hold (PostgreSQL bigint, numeric(6, 3))
BIGINT_MAX = 2**63 - 1
RATE_MAX_DECIMALS = 3


def _lead_for_work(actor, recommendation_id: int, action: Action = Action.CONTACT) -> Recommendation:
    """The lead the bank works on (workflow CONTACT … NOT_DRAWN): a bank administrator of its
    branch (or above), or the account manager it is assigned to."""
    return workflow.acting_on(action, actor, recommendation_id)


@transaction.atomic
def recommendations_assign(*, actor, recommendation_ids: list[int], manager_id: int) -> int:
    """分配: hand the selected leads to one account manager of the branch (or below). An empty
    selection is refused (issue 16: never "已分配 0 条")."""
    workflow.require_role(Action.ASSIGN, actor)
    if not recommendation_ids:
        raise ApplicationError("请先勾选要分配的线索", field_errors={"ids": ["请至少勾选一条线索"]})
    try:
        manager = resolve(selectors.account_managers(user=actor), actor, VIEW, pk=manager_id)
    except ApplicationError:
        raise ApplicationError(
            "只能分配给本机构(含下级)的客户经理", field_errors={"manager": ["无效的客户经理"]}
        ) from None
    leads = resolve_many(Recommendation, actor, CHANGE, ids=recommendation_ids, lock=True, field="ids")
    for lead in leads:
        workflow.require(Action.ASSIGN, actor, lead)
    for lead in leads:
        if lead.assigned_to_id and lead.assigned_to_id != manager.pk:
            remove_perm(WORK_PERMISSION, lead.assigned_to, lead)
        lead.assigned_to = manager
        lead.save(update_fields=["assigned_to", "updated_at"])
        assign_perm(WORK_PERMISSION, manager, lead)
        workflow.record(
            Action.ASSIGN, declaration=lead.declaration, recommendation=lead, actor=actor, manager=manager.username
        )
    notifications.to_user(
        user=manager,
        key=f"assign-{manager.pk}-{'-'.join(str(lead.pk) for lead in leads)}"[:200],
        title=f"您有 {len(leads)} 条新分配的线索",
        url="/matching/leads/",
    )
    audit_record(
        actor=actor, action="recommendation.assign", after={"ids": [lead.pk for lead in leads], "manager": manager.pk}
    )
    return len(leads)


@transaction.atomic
def recommendation_contact(
    *,
    actor,
    recommendation_id: int,
    contacted_at: dt.datetime | None = None,
    channel: str = ContactChannel.PHONE,
    note: str = "",
) -> Recommendation:
    recommendation = _lead_for_work(actor, recommendation_id, Action.CONTACT)
    if channel not in ContactChannel.values:
        raise ApplicationError("未知的对接方式", field_errors={"channel": ["未知的对接方式"]})
    now = timezone.now()
    contacted_at = contacted_at or now
    if contacted_at > now + dt.timedelta(minutes=5) or contacted_at < recommendation.pushed_at:
        raise ApplicationError("对接时间应在推送之后、不晚于现在", field_errors={"contacted_at": ["对接时间无效"]})
    workflow.apply(recommendation, Action.CONTACT)
    recommendation.contacted_at, recommendation.contact_channel, recommendation.contact_note = (
        contacted_at,
        channel,
        note,
    )
    recommendation.save()
    workflow.record(
        Action.CONTACT,
        declaration=recommendation.declaration,
        recommendation=recommendation,
        actor=actor,
        at=contacted_at,
        channel=channel,
    )
    audit_record(actor=actor, action="recommendation.contact", obj=recommendation, after={"channel": channel})
    notifications.to_entity_and_creator(
        declaration=recommendation.declaration,
        key=f"rec-{recommendation.pk}-contacted",
        title=f"{recommendation.branch.name}已与您对接",
        url=f"/matching/declarations/{recommendation.declaration_id}/",
    )
    return recommendation


@transaction.atomic
def recommendation_contact_reveal(*, actor, recommendation_id: int, request=None) -> Contact:
    """The enterprise's consented contact (operator name and phone) in clear, for the account
    manager the lead is assigned to while it is open (workflow CONTACT_REVEAL); every reveal
    is an audit event. Everyone else sees it masked (matching.contact.masked_contact)."""
    recommendation = workflow.acting_on(Action.CONTACT_REVEAL, actor, recommendation_id, lock=False)
    audit_record(
        actor=actor,
        action="recommendation.contact_reveal",
        obj=recommendation,
        after={"entity": recommendation.entity_id, "fields": ["operator_name", "operator_phone"]},
        request=request,
    )
    return clear_contact(recommendation)


def _wan(yuan: int) -> str:
    """元 → 万元 as the lead forms take it (to the 元: up to 4 decimals, no trailing zeros), so
    that a message never shows two different amounts alike (100,001 元 is 10.0001 万元)."""
    return f"{Decimal(yuan) / 10000:,.4f}".rstrip("0").rstrip(".")


def approval_limits(recommendation: Recommendation) -> dict:
    """What an approval may grant without an override: the declared need, the product
    version's cap, its rate range and its longest term (None where the product sets none)."""
    version = recommendation.product_version
    definition = (version.definition or {}) if version is not None else {}
    rate = definition.get("rate") or {}

    def percent(key):
        try:
            value = Decimal(str(rate[key])) if rate.get(key) is not None else None
        except ArithmeticError:
            return None
        return value if value is not None and value.is_finite() else None

    return {
        "product": f"{version.product.name}(第 {version.number} 版)" if version is not None else None,
        "need": recommendation.declaration.amount,
        "max_amount": version.max_amount if version is not None else None,
        "rate_min": percent("min_percent"),
        "rate_max": percent("max_percent"),
        "max_term_months": version.max_term_months if version is not None else None,
    }


def _approval_excess(limits: dict, *, credit_amount: int, rate: Decimal, term_months: int) -> dict[str, list[str]]:
    """field → what the approval exceeds, each saying the limit."""
    product = f"产品「{limits['product']}」" if limits["product"] else ""
    excess: dict[str, list[str]] = {}
    if credit_amount > limits["need"]:
        excess.setdefault("credit_amount", []).append(
            f"授信金额 {_wan(credit_amount)} 万元超过企业申报的融资需求 {_wan(limits['need'])} 万元"
        )
    if limits["max_amount"] is not None and credit_amount > limits["max_amount"]:
        excess.setdefault("credit_amount", []).append(
            f"授信金额 {_wan(credit_amount)} 万元超过{product}的最高额度 {_wan(limits['max_amount'])} 万元"
        )
    if limits["rate_min"] is not None and rate < limits["rate_min"]:
        excess.setdefault("rate_percent", []).append(f"年利率 {rate}% 低于{product}的利率下限 {limits['rate_min']}%")
    if limits["rate_max"] is not None and rate > limits["rate_max"]:
        excess.setdefault("rate_percent", []).append(f"年利率 {rate}% 高于{product}的利率上限 {limits['rate_max']}%")
    if limits["max_term_months"] is not None and term_months > limits["max_term_months"]:
        excess.setdefault("term_months", []).append(
            f"授信期限 {term_months} 个月超过{product}的最长期限 {limits['max_term_months']} 个月"
        )
    return excess


def approval_terms(
    *, credit_amount, rate_percent, term_months: int, guarantee: str, is_credit_loan: bool
) -> tuple[Decimal | None, dict[str, list[str]]]:
    """The rate as a Decimal and the field errors of an approval's terms (授信 and its
    correction): amount, rate and term bounded to what their columns hold and to the legal 36%
    rate ceiling."""
    errors: dict[str, list[str]] = {}
    rate = None
    if not isinstance(credit_amount, int) or isinstance(credit_amount, bool) or credit_amount <= 0:
        errors["credit_amount"] = ["授信金额须为正整数(元)"]
    elif credit_amount > BIGINT_MAX:
        errors["credit_amount"] = [f"授信金额超出可记录的范围(最多 {BIGINT_MAX} 元)"]
    try:
        rate = Decimal(str(rate_percent))
        if not Decimal("0") < rate < Decimal("36"):
            errors["rate_percent"] = ["年利率须在 0% 至 36% 之间"]
        elif -rate.as_tuple().exponent > RATE_MAX_DECIMALS:
            errors["rate_percent"] = [f"年利率最多保留 {RATE_MAX_DECIMALS} 位小数"]
    except Exception:
        errors["rate_percent"] = ["年利率格式错误"]
    if not isinstance(term_months, int) or isinstance(term_months, bool) or not 1 <= term_months <= 360:
        errors["term_months"] = ["授信期限须为 1 至 360 个月"]
    if guarantee not in Guarantee.values:
        errors["guarantee"] = ["未知的担保方式"]
    if is_credit_loan and guarantee != Guarantee.CREDIT:
        errors["is_credit_loan"] = ["信用贷款的担保方式应为「信用」"]
    return rate, errors


@transaction.atomic
def recommendation_approve(
    *,
    actor,
    recommendation_id: int,
    credit_amount: int,
    rate_percent: Decimal,
    term_months: int,
    guarantee: str,
    is_credit_loan: bool,
    is_first_loan: bool,
    override_reason: str = "",
) -> Recommendation:
    """授信 (workflow APPROVE). Within the limits of `approval_limits` anyone who works the lead
    approves; beyond them only a bank administrator, with a reason (APPROVE_OVERRIDE), which
    is recorded on the lead, its timeline, the audit log and the ledger. Amount, rate and
    term are always bounded to what their columns hold and to the legal 36% rate ceiling."""
    recommendation = _lead_for_work(actor, recommendation_id, Action.APPROVE)
    rate, errors = approval_terms(
        credit_amount=credit_amount,
        rate_percent=rate_percent,
        term_months=term_months,
        guarantee=guarantee,
        is_credit_loan=is_credit_loan,
    )
    if errors:
        raise ApplicationError(next(iter(errors.values()))[0], field_errors=errors)
    override_reason = str(override_reason or "").strip()
    excess = _approval_excess(
        approval_limits(recommendation), credit_amount=credit_amount, rate=rate, term_months=term_months
    )
    exceeded = [message for messages in excess.values() for message in messages]
    if excess and not workflow.allows(Action.APPROVE_OVERRIDE, actor, recommendation):
        fields = {
            field: [f"{message}, 超出限额的授信须由银行管理员填写理由后审批" for message in messages]
            for field, messages in excess.items()
        }
        raise ApplicationError(f"{exceeded[0]}, 超出限额的授信须由银行管理员填写理由后审批", field_errors=fields)
    if excess and not override_reason:
        raise ApplicationError(
            f"{exceeded[0]}: 超出限额的授信须填写超限审批理由",
            field_errors={**excess, "override_reason": ["超出产品或需求的限额, 请填写超限审批理由"]},
        )
    workflow.apply(recommendation, Action.APPROVE)
    now = timezone.now()
    recommendation.decided_at = now
    recommendation.credit_amount, recommendation.rate_percent = credit_amount, rate
    recommendation.credit_term_months, recommendation.guarantee = term_months, guarantee
    recommendation.is_credit_loan, recommendation.is_first_loan = bool(is_credit_loan), bool(is_first_loan)
    if excess:
        recommendation.override_reason, recommendation.override_by, recommendation.override_exceeded = (
            override_reason,
            actor,
            exceeded,
        )
    recommendation.save()
    override = {"override_reason": override_reason, "override_exceeded": exceeded} if excess else {}
    workflow.record(
        Action.APPROVE,
        declaration=recommendation.declaration,
        recommendation=recommendation,
        actor=actor,
        at=now,
        credit_amount=credit_amount,
        rate_percent=str(rate),
        term_months=term_months,
        guarantee=guarantee,
        is_credit_loan=bool(is_credit_loan),
        is_first_loan=bool(is_first_loan),
        basis=watch.credit_basis(recommendation),  # what the post-loan watch compares (matching.watch)
        **override,
    )
    audit_record(
        actor=actor,
        action="recommendation.approve",
        obj=recommendation,
        after={"credit_amount": credit_amount, "rate": str(rate), "term_months": term_months, **override},
    )
    notifications.to_entity_and_creator(
        declaration=recommendation.declaration,
        key=f"rec-{recommendation.pk}-approved",
        title=f"{recommendation.bank.name}已为您授信 {credit_amount / 10000:.2f} 万元",
        url=f"/matching/declarations/{recommendation.declaration_id}/",
    )
    return recommendation


@transaction.atomic
def recommendation_decline(*, actor, recommendation_id: int, reason_code: str, note: str = "") -> Recommendation:
    recommendation = _lead_for_work(actor, recommendation_id, Action.DECLINE)
    reason = DeclineReason.objects.filter(code=reason_code, is_active=True).first()
    if reason is None:
        raise ApplicationError("请选择不予授信原因", field_errors={"reason_code": ["未知的原因代码"]})
    decline_reasons.require_note(reason, note)  # 其他原因 says why (seed 004 三(六))
    workflow.apply(recommendation, Action.DECLINE)
    now = timezone.now()
    recommendation.decided_at, recommendation.decline_reason, recommendation.decline_note = now, reason, note
    recommendation.save()
    workflow.record(
        Action.DECLINE,
        declaration=recommendation.declaration,
        recommendation=recommendation,
        actor=actor,
        at=now,
        reason=reason.code,
        curable=reason.curable,
        note=note,
    )
    audit_record(
        actor=actor, action="recommendation.decline", obj=recommendation, after={"reason": reason.code, "note": note}
    )
    body = f"原因: {reason.label}{('; ' + reason.advice) if reason.advice else ''}{('。' + note) if note else ''}"
    notifications.to_entity_and_creator(
        declaration=recommendation.declaration,
        key=f"rec-{recommendation.pk}-declined",
        title=f"{recommendation.bank.name}暂不予授信",
        body=body,
        url=f"/matching/declarations/{recommendation.declaration_id}/",
    )
    # the decline reaches the task force at once (seed 004: within 5 working days)
    notifications.to_role(
        organisation=recommendation.declaration.task_force,
        role=Role.TASK_FORCE_STAFF,
        key=f"rec-{recommendation.pk}-declined-tf",
        title=f"不予授信待辅导: {recommendation.entity.name}({recommendation.bank.name})",
        body=body,
        url=f"/matching/declarations/{recommendation.declaration_id}/",
    )
    return recommendation


@transaction.atomic
def recommendation_disburse(*, actor, recommendation_id: int, amount: int, disbursed_on: dt.date) -> Disbursement:
    recommendation = _lead_for_work(actor, recommendation_id, Action.DISBURSE)
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise ApplicationError("放款金额须为正整数(元)", field_errors={"amount": ["放款金额须为正整数(元)"]})
    if disbursed_on > timezone.localdate():
        raise ApplicationError("放款日期不能晚于今天", field_errors={"disbursed_on": ["放款日期不能晚于今天"]})
    if recommendation.state in workflow.states(Action.DISBURSE):
        remaining = recommendation.credit_amount - recommendation.disbursed_total
        if amount > remaining:
            # in 万元, the unit of the page's form (the API's amount field is in 元; its message too says 万元)
            raise ApplicationError(
                f"放款金额 {_wan(amount)} 万元超过剩余授信额度 {_wan(remaining)} 万元",
                field_errors={"amount": [f"不能超过剩余授信额度 {_wan(remaining)} 万元"]},
            )
        if recommendation.decided_at and disbursed_on < timezone.localtime(recommendation.decided_at).date():
            raise ApplicationError(
                "放款日期不能早于授信日期", field_errors={"disbursed_on": ["放款日期不能早于授信日期"]}
            )
    workflow.apply(recommendation, Action.DISBURSE)
    disbursement = Disbursement.objects.create(
        recommendation=recommendation, amount=amount, disbursed_on=disbursed_on, recorded_by=actor
    )
    recommendation.disbursed_total += amount
    recommendation.save()
    workflow.record(
        Action.DISBURSE,
        declaration=recommendation.declaration,
        recommendation=recommendation,
        actor=actor,
        amount=amount,
        disbursed_on=disbursed_on.isoformat(),
        disbursement=disbursement.pk,
    )
    audit_record(
        actor=actor,
        action="recommendation.disburse",
        obj=recommendation,
        after={"amount": amount, "on": disbursed_on.isoformat()},
    )
    notifications.to_entity_and_creator(
        declaration=recommendation.declaration,
        key=f"disbursement-{disbursement.pk}",
        title=f"{recommendation.bank.name}已放款 {amount / 10000:.2f} 万元",
        url=f"/matching/declarations/{recommendation.declaration_id}/",
    )
    return disbursement


@transaction.atomic
def recommendation_not_drawn(*, actor, recommendation_id: int, note: str = "") -> Recommendation:
    recommendation = _lead_for_work(actor, recommendation_id, Action.NOT_DRAWN)
    workflow.apply(recommendation, Action.NOT_DRAWN)
    recommendation.save()
    workflow.record(
        Action.NOT_DRAWN, declaration=recommendation.declaration, recommendation=recommendation, actor=actor, note=note
    )
    audit_record(actor=actor, action="recommendation.not_drawn", obj=recommendation, after={"note": note})
    return recommendation


@transaction.atomic
def coaching_record(*, actor, recommendation_id: int, note: str) -> Coaching:
    recommendation = workflow.acting_on(Action.COACH, actor, recommendation_id)
    if not note.strip():
        raise ApplicationError("请填写辅导情况", field_errors={"note": ["请填写辅导情况"]})
    coaching = Coaching.objects.create(recommendation=recommendation, note=note, actor=actor)
    workflow.record(
        Action.COACH, declaration=recommendation.declaration, recommendation=recommendation, actor=actor, note=note
    )
    audit_record(actor=actor, action="recommendation.coach", obj=recommendation, after={"note": note})
    return coaching


@transaction.atomic
def satisfaction_rate(*, actor, recommendation_id: int, score: int, comment: str = "") -> Recommendation:
    recommendation = workflow.acting_on(Action.RATE, actor, recommendation_id)
    if not isinstance(score, int) or isinstance(score, bool) or not 1 <= score <= 5:
        raise ApplicationError("评分须为 1 至 5", field_errors={"score": ["评分须为 1 至 5"]})
    recommendation.satisfaction, recommendation.satisfaction_comment = score, comment
    recommendation.save(update_fields=["satisfaction", "satisfaction_comment", "updated_at"])
    workflow.record(
        Action.RATE, declaration=recommendation.declaration, recommendation=recommendation, actor=actor, score=score
    )
    audit_record(actor=actor, action="recommendation.rate", obj=recommendation, after={"score": score})
    return recommendation
