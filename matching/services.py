"""Every write of the 申报 → 推荐 workflow.

The lifecycle (workflow.md): a declaration is filed (by the enterprise, or by task-force
staff on its behalf) as a draft, gets the enterprise's consent to share its data with the
intended banks, is submitted, passes 专班初审 → 专班银行审核 → 专班组长审核 (each may return
it to the draft with reasons, or reject it), is signed off by the convener into a batch of
the 推荐清单 and pushed: one recommendation per intended bank. The bank contacts, collects
materials, approves (within the product's and the need's limits, or by a bank
administrator's override with a reason) or declines, records drawdowns; the task force
coaches after a decline and may propose a re-recommendation (改推) to another bank, which is
a new draft that needs the enterprise's consent, the three reviews and the sign-off again,
never leaving the entity with more than two banks at a time.

Who may do which action in which state, the maker-checker rules (the filer never does the
初审; a reviewer never edits what he reviews), the state each action leads to, the event it
records and what it does to the deadline clocks are the workflow table of
matching/workflow.py: each service resolves its object and calls `workflow.acting_on(...)` /
`workflow.require(...)` before anything else, moves it with `workflow.apply(obj, action)`
(a refused transition is a 409, never a 500) and writes the event with
`workflow.record(action, ...)`, which applies the row's clock rule (matching/clocks.py) at
that call: no hook runs behind a service's back.

Each service is keyword-only and atomic: it locks its row (select_for_update) through the
tenant restriction, records a WorkflowEvent and an audit event, and creates notifications
whose emails go out after commit. Two users acting on one record: the second waits for the
lock, then finds the state changed and gets a clear message."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone
from guardian.shortcuts import assign_perm, remove_perm

from entities.models import MarketEntity
from matching import hooks, notifications, selectors, watch, workflow
from matching.models import (
    BASIC_CRITERIA,
    OPEN_DECLARATION_STATES,
    OPEN_RECOMMENDATION_STATES,
    Coaching,
    ContactChannel,
    Declaration,
    DeclarationBank,
    DeclarationSource,
    DeclineReason,
    Disbursement,
    Guarantee,
    Recommendation,
    RecommendationBatch,
    RecommendationState,
    ReviewDecision,
    ReviewStage,
    ReviewStep,
    Visit,
)
from matching.workflow import Action
from portal.models import Organisation, OrganisationKind, Role
from portal.services import ApplicationError, audit_record
from portal.tenancy import CHANGE, VIEW, resolve, resolve_many, restrict, scope_for
from products.models import Bank, ProductStatus
from products.restrictions import bank_root_organisation_id
from products.selectors import banks_serving, branch_for

MAX_INTENDED_BANKS = 2
WORK_PERMISSION = workflow.WORK_PERMISSION
# the largest value each approval column can hold (PostgreSQL bigint, numeric(6, 3))
BIGINT_MAX = 2**63 - 1
RATE_MAX_DECIMALS = 3


# --- helpers -------------------------------------------------------------------------------


def task_force_for(entity: MarketEntity) -> Organisation:
    task_force = (
        Organisation.objects.filter(kind=OrganisationKind.TASK_FORCE, region_id=entity.region_id, is_active=True)
        .order_by("id")
        .first()
    )
    if task_force is None:
        raise ApplicationError(f"{entity.region} 尚未设立融资协调工作专班, 无法申报")
    return task_force


def _not_serving(banks: Iterable[Bank], region) -> list[str]:
    """Why each bank cannot take leads of the county (`region`): no branch serves it, so the
    push could not route them (products.selectors.banks_serving, the same rule as the push)."""
    banks = list(banks)
    serving = set(banks_serving(region.pk).filter(pk__in=[b.pk for b in banks]).values_list("pk", flat=True))
    return [f"{bank.name}在{region.name}没有服务机构, 请选择其他银行" for bank in banks if bank.pk not in serving]


def _banks_from_codes(codes: Iterable[str], region) -> list[Bank]:
    """The intended banks named by code: 1 to MAX_INTENDED_BANKS known banks, each serving the
    entity's county (`region`)."""
    codes = [c for c in codes if c]
    errors = []
    if not codes:
        errors.append("请选择 1 至 2 家意向对接银行")
    if len(codes) > MAX_INTENDED_BANKS:
        errors.append(f"意向对接银行最多 {MAX_INTENDED_BANKS} 家, 您选择了 {len(codes)} 家")
    if len(set(codes)) != len(codes):
        errors.append("意向对接银行不能重复")
    banks = {b.code: b for b in Bank.objects.filter(code__in=codes)}
    unknown = [c for c in codes if c not in banks]
    if unknown:
        errors.append(f"未知银行: {', '.join(unknown)}")
    errors += _not_serving([banks[c] for c in codes if c in banks], region)
    if errors:
        raise ApplicationError(errors[0], field_errors={"banks": errors})
    return [banks[c] for c in codes]


def _validate_need(amount, term_months, purpose) -> dict:
    errors: dict[str, list[str]] = {}
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        errors["amount"] = ["融资金额须为正整数(元)"]
    elif amount > 100_000_000:
        errors["amount"] = ["融资金额超过 1 亿元, 请核实"]
    if not isinstance(term_months, int) or isinstance(term_months, bool) or not 1 <= term_months <= 360:
        errors["term_months"] = ["期限须为 1 至 360 个月"]
    if not purpose or not str(purpose).strip():
        errors["purpose"] = ["请填写资金用途"]
    if errors:
        raise ApplicationError(next(iter(errors.values()))[0], field_errors=errors)
    return {"amount": amount, "term_months": term_months, "purpose": str(purpose).strip()}


def _criteria(criteria: dict | None, actor) -> dict:
    criteria = criteria or {}
    unknown = set(criteria) - set(BASIC_CRITERIA)
    if unknown:
        raise ApplicationError(
            "未知的基本标准: " + ", ".join(sorted(unknown)), field_errors={"basic_criteria": ["未知的基本标准"]}
        )
    now = timezone.now().isoformat()
    return {
        key: {
            "met": bool((criteria.get(key) or {}).get("met")),
            "evidence": str((criteria.get(key) or {}).get("evidence") or ""),
            "checked_by": actor.pk if (criteria.get(key) or {}).get("met") else None,
            "checked_at": now if (criteria.get(key) or {}).get("met") else None,
        }
        for key in BASIC_CRITERIA
    }


def _entity_for_declaring(actor, entity_id: int) -> MarketEntity:
    return resolve(MarketEntity, actor, VIEW, pk=entity_id, message="经营主体不存在或不在您的辖区", field="entity_id")


def _set_banks(declaration: Declaration, banks: list[Bank]) -> None:
    declaration.intended_banks.all().delete()
    DeclarationBank.objects.bulk_create(
        [DeclarationBank(declaration=declaration, bank=bank, position=i) for i, bank in enumerate(banks, start=1)]
    )


def _redirect_bank_problems(declaration: Declaration, banks: list[Bank]) -> list[str]:
    """A re-recommendation (改推) goes to banks other than the declined declaration's, and never
    leaves the entity with more than MAX_INTENDED_BANKS banks working it at a time."""
    if declaration.redirected_from_id is None:
        return []
    original = declaration.redirected_from.declaration
    problems = []
    already = {r.bank_id: r.bank for r in original.recommendations.select_related("bank")}
    for bank in banks:
        if bank.pk in already:
            problems.append(f"该企业已推荐给{bank.name}, 改推须选择其他银行")
    working = {
        r.bank_id: r.bank.name
        for r in Recommendation.objects.filter(
            entity_id=declaration.entity_id, state__in=OPEN_RECOMMENDATION_STATES
        ).select_related("bank")
    }
    total = set(working) | {bank.pk for bank in banks}
    if len(total) > MAX_INTENDED_BANKS:
        names = "、".join(working.values())
        room = max(MAX_INTENDED_BANKS - len(working), 0)
        problems.append(
            f"同一企业同时对接的银行不超过 {MAX_INTENDED_BANKS} 家: 该企业仍在与{names}对接, 改推最多还能选择 {room} 家"
        )
    return problems


# --- visits and declarations -------------------------------------------------------------


@transaction.atomic
def visit_record(
    *, actor, entity_id: int, visited_on: dt.date, people: str, findings: str = "", need_found: bool = False
) -> Visit:
    workflow.require_role(Action.VISIT, actor)
    entity = _entity_for_declaring(actor, entity_id)
    if visited_on > timezone.localdate():
        raise ApplicationError("走访日期不能晚于今天", field_errors={"visited_on": ["走访日期不能晚于今天"]})
    visit = Visit.objects.create(
        entity=entity,
        task_force=task_force_for(entity),
        region_id=entity.region_id,
        visited_on=visited_on,
        people=people,
        findings=findings,
        need_found=need_found,
        recorded_by=actor,
    )
    hooks.ledger_changed()  # the statistics index counts visits (after the commit)
    audit_record(actor=actor, action="visit.record", obj=visit, after={"entity": entity.pk, "need_found": need_found})
    return visit


@transaction.atomic
def declaration_create(
    *,
    actor,
    entity_id: int,
    amount: int,
    term_months: int,
    purpose: str,
    bank_codes: list[str],
    basic_criteria: dict | None = None,
    consent: bool = False,
    submit: bool = False,
    visit_id: int | None = None,
    source: str | None = None,
) -> Declaration:
    """申报 (workflow FILE): the enterprise for itself, or task-force staff on its behalf. With
    `consent` the consent is recorded (CONSENT), with `submit` it is submitted (SUBMIT)."""
    scope = scope_for(actor)
    workflow.require_role(Action.FILE, actor)
    entity = _entity_for_declaring(actor, entity_id)
    visit = resolve(Visit, actor, VIEW, pk=visit_id, field="visit_id") if visit_id is not None else None
    MarketEntity.objects.select_for_update().filter(pk=entity.pk).first()  # serialise declarations of one entity
    need = _validate_need(amount, term_months, purpose)
    banks = _banks_from_codes(bank_codes, entity.region)
    if Declaration.objects.filter(entity=entity, state__in=OPEN_DECLARATION_STATES).exists():
        raise ApplicationError("该经营主体已有进行中的申报, 不能重复申报", code="conflict")
    if source is None:
        source = DeclarationSource.ENTERPRISE if scope.is_enterprise else DeclarationSource.STAFF
    declaration = Declaration(
        entity=entity,
        task_force=task_force_for(entity),
        region_id=entity.region_id,
        source=source,
        basic_criteria=_criteria(basic_criteria, actor),
        created_by=actor,
        visit=visit,
        **need,
    )
    try:
        with transaction.atomic():
            declaration.save()
    except IntegrityError:
        raise ApplicationError("该经营主体已有进行中的申报, 不能重复申报", code="conflict") from None
    _set_banks(declaration, banks)
    if consent:  # given with the filing: the same rule as recording it later (CONSENT)
        workflow.require(Action.CONSENT, actor, declaration)
        declaration.consent_given_at, declaration.consent_given_by = timezone.now(), actor
        declaration.save(update_fields=["consent_given_at", "consent_given_by", "updated_at"])
    workflow.record(Action.FILE, declaration=declaration, actor=actor, source=source, consent=bool(consent))
    audit_record(
        actor=actor,
        action="declaration.create",
        obj=declaration,
        after={**need, "banks": bank_codes, "consent": bool(consent)},
    )
    if submit:
        declaration = declaration_submit(actor=actor, declaration_id=declaration.pk)
    return declaration


@transaction.atomic
def declaration_update(
    *,
    actor,
    declaration_id: int,
    amount: int,
    term_months: int,
    purpose: str,
    bank_codes: list[str],
    basic_criteria: dict | None = None,
    consent: bool | None = None,
) -> Declaration:
    """Edit a draft (workflow EDIT). The consent covers the banks it was given for: adding a bank
    clears it, unless the consent is given again in the same edit."""
    declaration = workflow.acting_on(Action.EDIT, actor, declaration_id)
    need = _validate_need(amount, term_months, purpose)
    banks = _banks_from_codes(bank_codes, declaration.region)
    problems = _redirect_bank_problems(declaration, banks)
    if problems:
        raise ApplicationError(problems[0], field_errors={"banks": problems})
    before = {
        "amount": declaration.amount,
        "term_months": declaration.term_months,
        "purpose": declaration.purpose,
        "banks": [b.bank.code for b in declaration.intended_banks.select_related("bank")],
    }
    added = {bank.code for bank in banks} - set(before["banks"])
    for key, value in need.items():
        setattr(declaration, key, value)
    declaration.basic_criteria = _criteria(basic_criteria, actor)
    if added and declaration.consent_given_at is not None:
        declaration.consent_given_at, declaration.consent_given_by = None, None
    declaration.save()
    _set_banks(declaration, banks)
    workflow.record(Action.EDIT, declaration=declaration, actor=actor, banks=[bank.code for bank in banks])
    audit_record(
        actor=actor, action="declaration.update", obj=declaration, before=before, after={**need, "banks": bank_codes}
    )
    if consent:
        declaration = declaration_consent_record(actor=actor, declaration_id=declaration.pk)
    return declaration


@transaction.atomic
def declaration_consent_record(*, actor, declaration_id: int) -> Declaration:
    """The enterprise agrees to share its data with the intended banks (workflow CONSENT): given
    by the enterprise itself, or recorded by task-force staff from its written consent on a
    declaration filed on its behalf. Recording it again keeps the first moment."""
    declaration = workflow.acting_on(Action.CONSENT, actor, declaration_id)
    if declaration.consent_given_at is None:
        declaration.consent_given_at, declaration.consent_given_by = timezone.now(), actor
        declaration.save(update_fields=["consent_given_at", "consent_given_by", "updated_at"])
        banks = [b.bank.code for b in declaration.intended_banks.select_related("bank")]
        workflow.record(Action.CONSENT, declaration=declaration, actor=actor, banks=banks)
        audit_record(actor=actor, action="declaration.consent", obj=declaration, after={"banks": banks})
    return declaration


@transaction.atomic
def declaration_submit(*, actor, declaration_id: int) -> Declaration:
    declaration = workflow.acting_on(Action.SUBMIT, actor, declaration_id)
    if declaration.consent_given_at is None:
        raise ApplicationError(
            "提交前须由企业同意向意向对接银行共享信息", field_errors={"consent": ["请勾选同意共享信息"]}
        )
    problems = _redirect_bank_problems(declaration, [b.bank for b in declaration.intended_banks.select_related("bank")])
    if problems:
        raise ApplicationError(problems[0], field_errors={"banks": problems}, code="conflict")
    workflow.apply(declaration, Action.SUBMIT)
    declaration.submitted_at = timezone.now()
    declaration.save()
    workflow.record(Action.SUBMIT, declaration=declaration, actor=actor)
    audit_record(actor=actor, action="declaration.submit", obj=declaration)
    for role in sorted(workflow.next_step(declaration.state).roles):  # the 初审
        notifications.to_role(
            organisation=declaration.task_force,
            role=role,
            key=f"decl-{declaration.pk}-submitted-{declaration.submitted_at:%s}",
            title=f"新的申报待初审: {declaration.entity.name}",
            url=f"/matching/declarations/{declaration.pk}/",
        )
    return declaration


@transaction.atomic
def declaration_recommend_by_bank(
    *, actor, entity_id: int, amount: int, term_months: int, purpose: str, note: str = ""
) -> Declaration:
    """银行推荐: a bank recommends an entity to the task force; the declaration starts in `submitted`.

    The entity is resolved through the restriction for what a bank does with it (VIEW: an
    entity in the bank's service region that agreed to share its data with banks). One the
    bank may not see is refused exactly like an unknown id (same code, same message), before
    anything about it — its county, an open declaration — is looked at."""

    workflow.require_role(Action.BANK_RECOMMEND, actor)
    scope = scope_for(actor)
    root = bank_root_organisation_id(scope)
    bank = restrict(Bank.objects.all(), actor, VIEW).filter(organisation_id=root).first() if root else None
    if bank is None:
        raise ApplicationError("只有银行工作人员可以向专班推荐企业", code="permission_denied")
    # the row lock serialises declarations of one entity
    entity = resolve(MarketEntity, actor, VIEW, lock=True, pk=entity_id, field="entity_id")
    need = _validate_need(amount, term_months, purpose)
    if _not_serving([bank], entity.region):  # the push could not route it back to the bank
        message = f"{bank.name}在{entity.region.name}没有服务机构, 不能推荐该县(区)的企业"
        raise ApplicationError(message, field_errors={"entity_id": [message]})
    if Declaration.objects.filter(entity=entity, state__in=OPEN_DECLARATION_STATES).exists():
        raise ApplicationError("该经营主体已有进行中的申报", code="conflict")
    declaration = Declaration(
        entity=entity,
        task_force=task_force_for(entity),
        region_id=entity.region_id,
        source=DeclarationSource.BANK,
        source_bank=bank,
        basic_criteria=_criteria({}, actor),
        created_by=actor,
        last_comment=note,
        **need,
    )
    try:
        with transaction.atomic():
            declaration.save()
    except IntegrityError:
        raise ApplicationError("该经营主体已有进行中的申报", code="conflict") from None
    DeclarationBank.objects.create(declaration=declaration, bank=bank, position=1)
    workflow.apply(declaration, Action.BANK_RECOMMEND)
    declaration.submitted_at = timezone.now()
    declaration.save()
    workflow.record(Action.BANK_RECOMMEND, declaration=declaration, actor=actor, bank=bank.code, note=note)
    audit_record(actor=actor, action="declaration.bank_recommend", obj=declaration, after={**need, "bank": bank.code})
    for role in sorted(workflow.next_step(declaration.state).roles):  # the 初审
        notifications.to_role(
            organisation=declaration.task_force,
            role=role,
            key=f"decl-{declaration.pk}-bank-recommended",
            title=f"{bank.name}推荐企业: {entity.name}",
            url=f"/matching/declarations/{declaration.pk}/",
        )
    return declaration


@transaction.atomic
def declaration_withdraw(*, actor, declaration_id: int, reason: str = "") -> Declaration:
    declaration = workflow.acting_on(Action.WITHDRAW, actor, declaration_id)
    workflow.apply(declaration, Action.WITHDRAW)
    declaration.last_comment = reason
    declaration.save()
    workflow.record(Action.WITHDRAW, declaration=declaration, actor=actor, reason=reason)
    audit_record(actor=actor, action="declaration.withdraw", obj=declaration, after={"reason": reason})
    return declaration


# --- three-level review --------------------------------------------------------------------


@transaction.atomic
def declaration_review(*, actor, declaration_id: int, decision: str, comment: str = "") -> Declaration:
    """专班初审, 专班银行审核 or 专班组长审核, whichever level the declaration waits for (the
    workflow table's REVIEW_* rule of its state): approve, return (to the draft) or reject."""
    resolve(Declaration, actor, VIEW, pk=declaration_id)
    if not any(workflow.may(action, actor) for action in workflow.REVIEWS):
        raise ApplicationError("您的角色无权审核申报", code="permission_denied")
    declaration = resolve(Declaration, actor, CHANGE, lock=True, pk=declaration_id)
    action = workflow.review_action(declaration.state)
    if action is None:
        raise ApplicationError(f"该申报当前不在审核环节(当前状态: {declaration.get_state_display()})", code="conflict")
    rule = workflow.require(action, actor, declaration)
    stage = rule.stage
    if decision not in ReviewDecision.values:
        raise ApplicationError("未知的审核结论", field_errors={"decision": ["应为 approve、return 或 reject"]})
    if decision != ReviewDecision.APPROVE and not comment.strip():
        raise ApplicationError("退回或不通过须填写意见", field_errors={"comment": ["请填写意见"]})
    from_state = declaration.state
    workflow.apply(declaration, action, decision)
    declaration.last_comment = comment
    declaration.save()
    ReviewStep.objects.create(declaration=declaration, stage=stage, decision=decision, comment=comment, actor=actor)
    workflow.record(
        action, outcome=decision, declaration=declaration, actor=actor, comment=comment, from_state=from_state
    )
    audit_record(actor=actor, action=f"declaration.{stage}.{decision}", obj=declaration, after={"comment": comment})
    _notify_after_review(declaration, stage, decision, comment)
    return declaration


def _notify_after_review(declaration: Declaration, stage: str, decision: str, comment: str) -> None:
    url = f"/matching/declarations/{declaration.pk}/"
    step = declaration.review_steps.count()
    if decision == ReviewDecision.APPROVE:
        waits_for = workflow.next_step(declaration.state)  # the next review level, or the sign-off
        if waits_for is None:
            return
        for role in sorted(waits_for.roles):
            organisation = declaration.task_force.parent if role == Role.CONVENER else declaration.task_force
            notifications.to_role(
                organisation=organisation,
                role=role,
                key=f"decl-{declaration.pk}-step-{step}",
                title=f"申报{declaration.get_state_display()}: {declaration.entity.name}",
                url=url,
            )
    else:
        verb = "被退回修改" if decision == ReviewDecision.RETURN else "未通过审核"
        notifications.to_entity_and_creator(
            declaration=declaration,
            key=f"decl-{declaration.pk}-step-{step}",
            title=f"您的融资申报{verb}",
            body=f"{ReviewStage(stage).label}意见: {comment}",
            url=url,
        )


def declarations_review_bulk(*, actor, declaration_ids: list[int], decision: str, comment: str = "") -> dict[int, str]:
    """Review many at once; each is its own transaction, so one refusal does not undo the rest.
    Returns {id: "ok" | the Chinese reason it was refused}."""
    results = {}
    for declaration_id in declaration_ids:
        try:
            declaration_review(actor=actor, declaration_id=declaration_id, decision=decision, comment=comment)
            results[declaration_id] = "ok"
        except ApplicationError as error:
            results[declaration_id] = error.message
    return results


# --- sign-off, batches and push ------------------------------------------------------------


@transaction.atomic
def batch_signoff(*, actor, declaration_ids: list[int], title: str = "") -> RecommendationBatch:
    """召集人签字确认 (workflow SIGNOFF): reviewed declarations become the recommendation list of a new batch."""
    workflow.require_role(Action.SIGNOFF, actor)
    if not declaration_ids:
        raise ApplicationError("请至少选择一条已通过组长审核的申报", field_errors={"declaration_ids": ["不能为空"]})
    declarations = resolve_many(Declaration, actor, CHANGE, ids=declaration_ids, lock=True, field="declaration_ids")
    not_ready = [d for d in declarations if not workflow.allows(Action.SIGNOFF, actor, d)]
    if not_ready:
        names = "、".join(f"{d.entity.name}({d.get_state_display()})" for d in not_ready)
        raise ApplicationError(f"以下申报尚未通过组长审核或已签字: {names}", code="conflict")
    task_forces = {d.task_force_id for d in declarations}
    if len(task_forces) != 1:
        raise ApplicationError("一个批次只能包含同一工作专班的申报")
    first = declarations[0]
    now = timezone.now()
    batch = RecommendationBatch.objects.create(
        task_force=first.task_force,
        region_id=first.region_id,
        created_by=actor,
        title=title or f"{first.region.name}推荐清单 {timezone.localtime(now):%Y-%m-%d %H:%M}",
    )
    for declaration in declarations:
        workflow.apply(declaration, Action.SIGNOFF)
        declaration.batch = batch
        declaration.save()
        ReviewStep.objects.create(
            declaration=declaration,
            stage=workflow.rule(Action.SIGNOFF).stage,
            decision=ReviewDecision.APPROVE,
            actor=actor,
        )
        workflow.record(Action.SIGNOFF, declaration=declaration, actor=actor, batch=batch.pk)
    audit_record(
        actor=actor, action="batch.signoff", obj=batch, after={"declarations": sorted(d.pk for d in declarations)}
    )
    return batch


@transaction.atomic
def batch_push(*, actor, batch_id: int) -> RecommendationBatch:
    """Push a batch (workflow PUSH): one recommendation per intended bank, routed to the serving
    branch, each starting its feedback clock. Idempotent: the batch row is locked and a pushed
    batch is refused with a message."""
    batch = workflow.acting_on(Action.PUSH, actor, batch_id)
    declarations = list(batch.declarations.select_related("entity", "region").prefetch_related("intended_banks__bank"))
    if not declarations:
        raise ApplicationError("批次中没有申报", code="conflict")
    now = timezone.now()
    created: list[Recommendation] = []
    signed_off = workflow.effect(Action.SIGNOFF).target  # only what the sign-off put on the list
    for declaration in declarations:
        if declaration.state != signed_off:
            continue
        for intended in declaration.intended_banks.all():
            created.append(
                _recommendation_create(batch=batch, declaration=declaration, bank=intended.bank, actor=actor, at=now)
            )
    workflow.apply(batch, Action.PUSH)
    batch.pushed_at, batch.pushed_by = now, actor
    batch.save()
    audit_record(actor=actor, action="batch.push", obj=batch, after={"recommendations": [r.pk for r in created]})
    return batch


def _recommendation_create(*, batch, declaration: Declaration, bank: Bank, actor, at) -> Recommendation:
    branch = branch_for(bank=bank, county_code=declaration.region_id)
    if branch is None:
        raise ApplicationError(
            f"{bank.name}在 {declaration.region.name} 没有服务机构, 无法推送 {declaration.entity.name}"
        )
    product = bank.products.filter(status=ProductStatus.ACTIVE).select_related("current_version").first()
    recommendation = Recommendation.objects.create(
        batch=batch,
        declaration=declaration,
        entity=declaration.entity,
        region_id=declaration.region_id,
        bank=bank,
        branch=branch,
        pushed_at=at,
        product_version=product.current_version if product else None,
    )
    # the push's event on the lead, and its clock rule: the feedback clock starts
    workflow.record(
        Action.PUSH,
        declaration=declaration,
        recommendation=recommendation,
        actor=actor,
        at=at,
        bank=bank.code,
        branch=branch.pk,
    )
    notifications.to_role(
        organisation=branch.organisation,
        role=Role.BANK_ADMIN,
        key=f"rec-{recommendation.pk}-pushed",
        with_ancestors=True,
        title=f"新推送线索: {declaration.entity.name}",
        url=f"/matching/leads/{recommendation.pk}/",
    )
    notifications.to_entity_and_creator(
        declaration=declaration,
        key=f"rec-{recommendation.pk}-pushed-entity",
        title=f"您的融资需求已推送至{branch.name}",
        url=f"/matching/declarations/{declaration.pk}/",
    )
    return recommendation


@transaction.atomic
def recommendation_redirect(*, actor, recommendation_id: int, bank_code: str, comment: str = "") -> Declaration:
    """改推 (workflow REDIRECT): after a bank's decline, the convener or the task-force lead
    proposes another bank. Nothing is pushed: this opens a new draft declaration of the entity
    (source 不予授信后改推) with the same need and the new bank, which needs the enterprise's
    consent for that bank, the three reviews and the sign-off before it is pushed. The entity
    is never worked by more than MAX_INTENDED_BANKS banks at a time, and has at most one open
    declaration (so at most one re-recommendation waits at a time)."""
    previous = workflow.acting_on(Action.REDIRECT, actor, recommendation_id)
    bank = Bank.objects.filter(code=str(bank_code or "").strip()).first()
    if bank is None:
        raise ApplicationError("未知银行", field_errors={"bank": ["未知银行"]})
    not_serving = _not_serving([bank], previous.region)
    if not_serving:
        raise ApplicationError(not_serving[0], field_errors={"bank": not_serving})
    original = previous.declaration
    entity = MarketEntity.objects.select_for_update().get(pk=previous.entity_id)  # serialise declarations of one entity
    if Declaration.objects.filter(entity=entity, state__in=OPEN_DECLARATION_STATES).exists():
        raise ApplicationError("该企业已有进行中的申报(含待确认的改推), 请在其办结后再改推", code="conflict")
    declaration = Declaration(
        entity=entity,
        task_force=task_force_for(entity),
        region_id=entity.region_id,
        source=DeclarationSource.REDIRECT,
        redirected_from=previous,
        amount=original.amount,
        term_months=original.term_months,
        purpose=original.purpose,
        basic_criteria=original.basic_criteria,
        visit_id=original.visit_id,
        created_by=actor,
        last_comment=comment,
    )
    problems = _redirect_bank_problems(declaration, [bank])
    if problems:
        raise ApplicationError(problems[0], field_errors={"bank": problems}, code="conflict")
    try:
        with transaction.atomic():
            declaration.save()
    except IntegrityError:
        raise ApplicationError("该企业已有进行中的申报(含待确认的改推), 请在其办结后再改推", code="conflict") from None
    _set_banks(declaration, [bank])
    workflow.record(
        Action.REDIRECT,
        outcome="proposal",
        declaration=declaration,
        actor=actor,
        from_recommendation=previous.pk,
        from_bank=previous.bank.code,
        bank=bank.code,
        comment=comment,
    )
    workflow.record(
        Action.REDIRECT,
        declaration=original,
        recommendation=previous,
        actor=actor,
        to_bank=bank.code,
        comment=comment,
        redirect_declaration=declaration.pk,
    )
    audit_record(
        actor=actor,
        action="recommendation.redirect",
        obj=declaration,
        after={"from": previous.pk, "bank": bank.code, "comment": comment},
    )
    url = f"/matching/declarations/{declaration.pk}/"
    notifications.to_entity_and_creator(
        declaration=declaration,
        key=f"decl-{declaration.pk}-redirect-proposed",
        title=f"专班建议将您的融资需求改推至{bank.name}",
        url=url,
        body="请确认同意向该行共享信息后提交, 经专班三级审核和召集人签字确认后推送; 如不需要可撤回。",
    )
    for role in sorted(workflow.roles(Action.CONSENT) - {Role.ENTERPRISE_USER}):
        notifications.to_role(
            organisation=declaration.task_force,
            role=role,
            key=f"decl-{declaration.pk}-redirect-proposed-tf",
            title=f"改推待企业确认: {entity.name} → {bank.name}",
            url=url,
        )
    return declaration


@transaction.atomic
def recommendation_remove(*, actor, recommendation_id: int, reason: str) -> Recommendation:
    """移出推荐清单 (workflow REMOVE): the lead's clocks stop; the declaration leaves the list
    with its last lead."""
    recommendation = workflow.acting_on(Action.REMOVE, actor, recommendation_id)
    if not reason.strip():
        raise ApplicationError(
            "移出推荐清单须说明原因", field_errors={"reason": ["请填写原因(如提供虚假材料、挪用资金)"]}
        )
    workflow.apply(recommendation, Action.REMOVE)
    now = timezone.now()
    recommendation.removed_at, recommendation.removed_reason = now, reason
    recommendation.save()
    workflow.record(
        Action.REMOVE,
        declaration=recommendation.declaration,
        recommendation=recommendation,
        actor=actor,
        at=now,
        reason=reason,
    )
    audit_record(actor=actor, action="recommendation.remove", obj=recommendation, after={"reason": reason})
    declaration = Declaration.objects.select_for_update().get(pk=recommendation.declaration_id)
    still_open = declaration.recommendations.exclude(state=RecommendationState.REMOVED).exists()
    if not still_open and declaration.state in workflow.effect(Action.REMOVE, "last_lead").source:
        workflow.apply(declaration, Action.REMOVE, "last_lead")
        declaration.last_comment = reason
        declaration.save()
        workflow.record(Action.REMOVE, outcome="last_lead", declaration=declaration, actor=actor, reason=reason)
    notifications.to_role(
        organisation=recommendation.branch.organisation,
        role=Role.BANK_ADMIN,
        key=f"rec-{recommendation.pk}-removed",
        with_ancestors=True,
        title=f"线索已移出推荐清单: {recommendation.entity.name}",
        body=reason,
        url=f"/matching/leads/{recommendation.pk}/",
    )
    return recommendation


# --- the bank side -------------------------------------------------------------------------


def _lead_for_work(actor, recommendation_id: int, action: Action = Action.CONTACT) -> Recommendation:
    """The lead the bank works on (workflow CONTACT … NOT_DRAWN): a bank administrator of its
    branch (or above), or the account manager it is assigned to."""
    return workflow.acting_on(action, actor, recommendation_id)


@transaction.atomic
def recommendations_assign(*, actor, recommendation_ids: list[int], manager_id: int) -> int:
    workflow.require_role(Action.ASSIGN, actor)
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
def recommendation_materials_complete(*, actor, recommendation_id: int) -> Recommendation:
    """材料收齐 (workflow MATERIALS_COMPLETE): starts the 30-day decision clock."""
    recommendation = _lead_for_work(actor, recommendation_id, Action.MATERIALS_COMPLETE)
    workflow.apply(recommendation, Action.MATERIALS_COMPLETE)
    now = timezone.now()
    recommendation.materials_complete_at = now
    recommendation.save()
    workflow.record(
        Action.MATERIALS_COMPLETE,
        declaration=recommendation.declaration,
        recommendation=recommendation,
        actor=actor,
        at=now,
    )
    audit_record(actor=actor, action="recommendation.materials_complete", obj=recommendation)
    return recommendation


def _wan(yuan: int) -> str:
    return f"{Decimal(yuan) / 10000:,.2f}".rstrip("0").rstrip(".")


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
            raise ApplicationError(
                f"放款金额超过剩余授信额度 {remaining} 元",
                field_errors={"amount": [f"不能超过剩余额度 {remaining} 元"]},
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
