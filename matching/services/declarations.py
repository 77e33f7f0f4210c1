"""申报 and its three-level review.

A declaration is filed (by the enterprise, or by task-force staff on its behalf, one by one or
in bulk; a bank may recommend an entity) as a draft, gets the enterprise's consent to share its
data with the intended banks, is submitted, and passes 专班初审 → 专班银行审核 → 专班组长审核:
each level may approve, return it to the draft with reasons, or reject it. The enterprise may
withdraw it until the sign-off (matching/services/batches.py).

Rules of seed 004 every path obeys (the services, so the pages, the API and the import alike):
* one open case per entity: no new declaration while the entity has an open declaration or a
  lead not yet decided at a bank (`common.open_case`, a field error naming the case);
* a bank's recommendation is a draft that waits for the enterprise's consent: nothing reaches
  the 初审 that the enterprise did not agree to share with that bank;
* the five basic criteria (matching/criteria.py): not all met → submitted only with an
  exception reason, which the task-force lead confirms explicitly
  (`declaration_criteria_exception_confirm`) before his approval; bulk approval refuses a
  declaration whose exception is not confirmed, one result per declaration."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone

from entities.models import MarketEntity
from matching import criteria, notifications, workflow
from matching.models import (
    Declaration,
    DeclarationBank,
    DeclarationSource,
    ReviewDecision,
    ReviewStage,
    ReviewStep,
    Visit,
)
from matching.services.common import (
    _banks_from_codes,
    _criteria,
    _entity_for_declaring,
    _not_serving,
    _redirect_bank_problems,
    _set_banks,
    _validate_need,
    refuse_open_case,
    task_force_for,
)
from matching.workflow import Action
from portal.models import Role
from portal.services import ApplicationError, audit_record
from portal.tenancy import CHANGE, VIEW, resolve, restrict, scope_for
from products.models import Bank
from products.restrictions import bank_root_organisation_id


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
    criteria_exception: str = "",
    repayment: str = "",
) -> Declaration:
    """申报 (workflow FILE): the enterprise for itself, or task-force staff on its behalf. With
    `consent` the consent is recorded (CONSENT), with `submit` it is submitted (SUBMIT).
    `criteria_exception`: why it is filed although some of the five basic criteria are not met
    (kept only then). `repayment`: the requested repayment mode (a code of REPAYMENT_CHOICES,
    the engine's need.repayment; "" = 未定). Refused while the entity has an open case
    (`common.open_case`)."""
    scope = scope_for(actor)
    workflow.require_role(Action.FILE, actor)
    entity = _entity_for_declaring(actor, entity_id)
    visit = resolve(Visit, actor, VIEW, pk=visit_id, field="visit_id") if visit_id is not None else None
    MarketEntity.objects.select_for_update().filter(pk=entity.pk).first()  # serialise declarations of one entity
    refuse_open_case(entity, actor=actor, field="entity_id")
    need = _validate_need(amount, term_months, purpose, repayment)
    banks = _banks_from_codes(bank_codes, entity.region)
    reason = _exception_text(criteria_exception)
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
    _set_exception(declaration, reason, actor)
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
    workflow.record(
        Action.FILE,
        declaration=declaration,
        actor=actor,
        source=source,
        consent=bool(consent),
        **_exception_data(declaration),
    )
    audit_record(
        actor=actor,
        action="declaration.create",
        obj=declaration,
        after={**need, "banks": bank_codes, "consent": bool(consent), **_exception_data(declaration)},
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
    criteria_exception: str | None = None,
    repayment: str | None = None,
) -> Declaration:
    """Edit a draft (workflow EDIT). The consent covers the banks it was given for: adding a bank
    clears it, unless the consent is given again in the same edit. `criteria_exception` None
    keeps the recorded reason; a change of the criteria or of the reason clears the lead's
    confirmation of an exception (he confirms what the reviewers see). `repayment` None keeps
    the requested repayment mode, "" sets it to 未定."""
    declaration = workflow.acting_on(Action.EDIT, actor, declaration_id)
    reason = declaration.criteria_exception if criteria_exception is None else _exception_text(criteria_exception)
    need = _validate_need(amount, term_months, purpose, declaration.repayment if repayment is None else repayment)
    banks = _banks_from_codes(bank_codes, declaration.region)
    problems = _redirect_bank_problems(declaration, banks)
    if problems:
        raise ApplicationError(problems[0], field_errors={"banks": problems})
    before = {
        "amount": declaration.amount,
        "term_months": declaration.term_months,
        "purpose": declaration.purpose,
        "repayment": declaration.repayment,
        "banks": [b.bank.code for b in declaration.intended_banks.select_related("bank")],
    }
    added = {bank.code for bank in banks} - set(before["banks"])
    for key, value in need.items():
        setattr(declaration, key, value)
    before_exception = _exception_data(declaration)
    declaration.basic_criteria = _criteria(basic_criteria, actor)
    if added and declaration.consent_given_at is not None:
        declaration.consent_given_at, declaration.consent_given_by = None, None
    _set_exception(declaration, reason, actor)
    declaration.save()
    _set_banks(declaration, banks)
    changed = _exception_data(declaration) if _exception_data(declaration) != before_exception else {}
    workflow.record(Action.EDIT, declaration=declaration, actor=actor, banks=[bank.code for bank in banks], **changed)
    audit_record(
        actor=actor,
        action="declaration.update",
        obj=declaration,
        before={**before, **before_exception},
        after={**need, "banks": bank_codes, **_exception_data(declaration)},
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
    unmet = criteria.submit_problem(declaration)
    if unmet:
        raise ApplicationError(unmet["basic_criteria"][0], field_errors=unmet)
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
    if criteria.standing(declaration) == criteria.Standing.PENDING:  # the lead confirms the exception
        for role in sorted(workflow.roles(Action.CRITERIA_EXCEPTION_CONFIRM)):
            notifications.to_role(
                organisation=declaration.task_force,
                role=role,
                key=f"decl-{declaration.pk}-exception-{declaration.submitted_at:%s}",
                title=f"五项基本标准例外待确认: {declaration.entity.name}",
                body=f"未满足: {'、'.join(criteria.unmet_labels(declaration.basic_criteria))}; "
                f"例外理由: {declaration.criteria_exception}",
                url=f"/matching/declarations/{declaration.pk}/",
            )
    return declaration


@transaction.atomic
def declaration_recommend_by_bank(
    *, actor, entity_id: int, amount: int, term_months: int, purpose: str, note: str = "", repayment: str = ""
) -> Declaration:
    """银行推荐 (seed 004 三(五): "辖区内银行机构也可向工作专班推荐小微企业"): a bank recommends an
    entity to the task force. It opens a draft declaration naming the bank, which waits for the
    enterprise's consent to share its data with that bank, the five basic criteria and its
    submission (by the enterprise, or by task-force staff from its written consent) before it
    enters the 初审 like any other. Refused while the entity has an open case.

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
    need = _validate_need(amount, term_months, purpose, repayment)
    if _not_serving([bank], entity.region):  # the push could not route it back to the bank
        message = f"{bank.name}在{entity.region.name}没有服务机构, 不能推荐该县(区)的企业"
        raise ApplicationError(message, field_errors={"entity_id": [message]})
    refuse_open_case(entity, actor=actor, field="entity_id")
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
    workflow.record(Action.BANK_RECOMMEND, declaration=declaration, actor=actor, bank=bank.code, note=note)
    audit_record(actor=actor, action="declaration.bank_recommend", obj=declaration, after={**need, "bank": bank.code})
    url = f"/matching/declarations/{declaration.pk}/"
    # the enterprise decides: nothing is shared with the bank through the workflow before it consents
    notifications.to_entity_and_creator(
        declaration=declaration,
        key=f"decl-{declaration.pk}-bank-recommended-entity",
        title=f"{bank.name}向专班推荐您申报融资, 待您确认",
        body="请核对融资需求和五项基本标准, 同意向该行共享信息后提交; 经专班三级审核和召集人签字确认后推送。"
        "如不需要可撤回。",
        url=url,
    )
    for role in sorted(workflow.roles(Action.CONSENT) - {Role.ENTERPRISE_USER}):  # staff may record written consent
        notifications.to_role(
            organisation=declaration.task_force,
            role=role,
            key=f"decl-{declaration.pk}-bank-recommended",
            title=f"{bank.name}推荐企业(待企业同意): {entity.name}",
            url=url,
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
    workflow table's REVIEW_* rule of its state): approve, return (to the draft) or reject. The
    lead approves only when the five basic criteria are met or their exception is confirmed."""
    return _review(actor=actor, declaration_id=declaration_id, decision=decision, comment=comment, bulk=False)


def _review(*, actor, declaration_id: int, decision: str, comment: str, bulk: bool) -> Declaration:
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
    if decision == ReviewDecision.APPROVE:
        problem = criteria.approval_problem(declaration, bulk=bulk, lead=action == Action.REVIEW_LEAD)
        if problem:
            raise ApplicationError(problem, field_errors={"basic_criteria": [problem]}, code="conflict")
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
    Returns {id: "ok" | the Chinese reason it was refused}. A bulk approval refuses each
    declaration whose five basic criteria are not all met unless its exception is confirmed by
    the lead (it is reviewed one by one, on its page)."""
    results = {}
    for declaration_id in declaration_ids:
        try:
            with transaction.atomic():
                _review(actor=actor, declaration_id=declaration_id, decision=decision, comment=comment, bulk=True)
            results[declaration_id] = "ok"
        except ApplicationError as error:
            results[declaration_id] = error.message
    return results


@transaction.atomic
def declaration_criteria_exception_confirm(*, actor, declaration_id: int, comment: str = "") -> Declaration:
    """专班组长 confirms the exception reason of a declaration whose five basic criteria are not
    all met (workflow CRITERIA_EXCEPTION_CONFIRM): explicitly, once, before his own approval;
    audited and on the timeline. Without it neither his approval nor any bulk approval passes."""
    declaration = workflow.acting_on(Action.CRITERIA_EXCEPTION_CONFIRM, actor, declaration_id)
    comment = str(comment or "").strip()[:2000]
    declaration.criteria_exception_confirmed_at, declaration.criteria_exception_confirmed_by = timezone.now(), actor
    declaration.save(update_fields=["criteria_exception_confirmed_at", "criteria_exception_confirmed_by", "updated_at"])
    unmet = criteria.unmet_labels(declaration.basic_criteria)
    workflow.record(
        Action.CRITERIA_EXCEPTION_CONFIRM,
        declaration=declaration,
        actor=actor,
        unmet=unmet,
        unmet_keys=criteria.unmet_keys(declaration.basic_criteria),
        criteria_exception=declaration.criteria_exception,
        comment=comment,
    )
    audit_record(
        actor=actor,
        action="declaration.criteria_exception.confirm",
        obj=declaration,
        after={"unmet": unmet, "criteria_exception": declaration.criteria_exception, "comment": comment},
    )
    return declaration


# --- the exception reason of the five basic criteria -----------------------------------------

MAX_EXCEPTION_CHARS = 2000


def _exception_text(value) -> str:
    text = str(value or "").strip()
    if len(text) > MAX_EXCEPTION_CHARS:
        message = f"例外理由不能超过 {MAX_EXCEPTION_CHARS} 字"
        raise ApplicationError(message, field_errors={"criteria_exception": [message]})
    return text


def _set_exception(declaration: Declaration, reason: str, actor) -> None:
    """Keep the reason only while some criterion is unmet; a new reason or other unmet
    criteria than those confirmed clear the lead's confirmation."""
    unmet = criteria.unmet_keys(declaration.basic_criteria)
    reason = reason if unmet else ""
    changed = reason != declaration.criteria_exception
    if changed:
        declaration.criteria_exception = reason
        declaration.criteria_exception_by, declaration.criteria_exception_at = (
            (actor, timezone.now()) if reason else (None, None)
        )
    if declaration.criteria_exception_confirmed_at is not None and (changed or unmet != _confirmed_unmet(declaration)):
        declaration.criteria_exception_confirmed_at, declaration.criteria_exception_confirmed_by = None, None


def _confirmed_unmet(declaration: Declaration) -> list[str] | None:
    """The unmet criteria the lead's confirmation was given for (from its event)."""
    event = (
        declaration.events.filter(kind=workflow.effect(Action.CRITERIA_EXCEPTION_CONFIRM).event)
        .order_by("-created_at", "-id")
        .first()
        if declaration.pk
        else None
    )
    if event is None:
        return None
    return event.data.get("unmet_keys")


def _exception_data(declaration: Declaration) -> dict:
    """The exception as event and audit data (empty when all five are met)."""
    if not declaration.criteria_exception:
        return {}
    return {
        "unmet": criteria.unmet_labels(declaration.basic_criteria),
        "criteria_exception": declaration.criteria_exception,
    }
