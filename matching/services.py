"""Every write of the 申报 → 推荐 workflow. Each service is keyword-only and atomic: it locks
its row (select_for_update) through the tenant restriction, checks the role and the current
state, applies the django-fsm transition, records a WorkflowEvent and an audit event, and
creates notifications whose emails go out after commit. Two users acting on one record:
the second waits for the lock, then finds the state changed and gets a clear message."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Model, QuerySet
from django.utils import timezone
from django_fsm import TransitionNotAllowed
from guardian.shortcuts import assign_perm, remove_perm

from entities.models import MarketEntity
from matching import notifications
from matching.models import (
    BASIC_CRITERIA,
    OPEN_DECLARATION_STATES,
    Coaching,
    ContactChannel,
    Declaration,
    DeclarationBank,
    DeclarationSource,
    DeclarationState,
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
    WorkflowEvent,
)
from portal.models import Membership, Organisation, OrganisationKind, Role
from portal.services import ApplicationError, audit_record
from portal.tenancy import CHANGE, VIEW, resolve, restrict, scope_for
from products.models import Bank, ProductStatus
from products.selectors import branch_for

MAX_INTENDED_BANKS = 2
WORK_PERMISSION = "matching.work_recommendation"

# who reviews at each stage, and the transition that approves it
REVIEW_STAGES = {
    DeclarationState.SUBMITTED: (ReviewStage.PRELIMINARY_REVIEW, Role.TASK_FORCE_STAFF, "preliminary_approve"),
    DeclarationState.PRELIMINARY_APPROVED: (ReviewStage.BANK_REVIEW, Role.TASK_FORCE_BANK_REVIEWER, "bank_review_approve"),
    DeclarationState.BANK_REVIEWED: (ReviewStage.LEAD_REVIEW, Role.TASK_FORCE_LEAD, "lead_approve"),
}
NEXT_REVIEWER = {
    DeclarationState.SUBMITTED: Role.TASK_FORCE_STAFF,
    DeclarationState.PRELIMINARY_APPROVED: Role.TASK_FORCE_BANK_REVIEWER,
    DeclarationState.BANK_REVIEWED: Role.TASK_FORCE_LEAD,
    DeclarationState.LEAD_APPROVED: Role.CONVENER,
}


# --- helpers -------------------------------------------------------------------------------


def _require_role(actor, roles: set[str], what: str) -> None:
    scope = scope_for(actor)
    if scope is None or not (scope.is_platform_admin or scope.role in roles):
        raise ApplicationError(f"您的角色无权{what}", code="permission_denied")


def _locked(model: type[Model], pk: int, actor, action: str = CHANGE) -> Model:
    """Row-lock one object the actor may act on, or refuse as if it did not exist."""
    return resolve(model, actor, action, lock=True, pk=pk)


def _transition(obj, name: str, message: str) -> None:
    try:
        getattr(obj, name)()
    except TransitionNotAllowed:
        raise ApplicationError(f"{message}(当前状态: {obj.get_state_display()})", code="conflict") from None


def _event(*, declaration: Declaration, kind: str, actor=None, recommendation: Recommendation | None = None, **data) -> WorkflowEvent:
    return WorkflowEvent.objects.create(
        declaration=declaration, recommendation=recommendation, kind=kind,
        actor=actor if actor is not None and actor.is_authenticated else None,
        data=data, created_at=timezone.now(),
    )


def task_force_for(entity: MarketEntity) -> Organisation:
    task_force = (
        Organisation.objects.filter(kind=OrganisationKind.TASK_FORCE, region_id=entity.region_id, is_active=True)
        .order_by("id")
        .first()
    )
    if task_force is None:
        raise ApplicationError(f"{entity.region} 尚未设立融资协调工作专班, 无法申报")
    return task_force


def _banks_from_codes(codes: Iterable[str]) -> list[Bank]:
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
        raise ApplicationError("未知的基本标准: " + ", ".join(sorted(unknown)), field_errors={"basic_criteria": ["未知的基本标准"]})
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
    entity = restrict(MarketEntity.objects.all(), actor, VIEW).filter(pk=entity_id).first()
    if entity is None:
        raise ApplicationError("经营主体不存在或不在您的辖区", code="not_found")
    return entity


# --- visits and declarations -------------------------------------------------------------


@transaction.atomic
def visit_record(*, actor, entity_id: int, visited_on: dt.date, people: str, findings: str = "", need_found: bool = False) -> Visit:
    _require_role(actor, {Role.TASK_FORCE_STAFF, Role.TASK_FORCE_LEAD}, "登记走访")
    entity = _entity_for_declaring(actor, entity_id)
    if visited_on > timezone.localdate():
        raise ApplicationError("走访日期不能晚于今天", field_errors={"visited_on": ["走访日期不能晚于今天"]})
    visit = Visit.objects.create(
        entity=entity, task_force=task_force_for(entity), region_id=entity.region_id, visited_on=visited_on,
        people=people, findings=findings, need_found=need_found, recorded_by=actor,
    )
    audit_record(actor=actor, action="visit.record", obj=visit, after={"entity": entity.pk, "need_found": need_found})
    return visit


@transaction.atomic
def declaration_create(
    *, actor, entity_id: int, amount: int, term_months: int, purpose: str, bank_codes: list[str],
    basic_criteria: dict | None = None, consent: bool = False, submit: bool = False, visit_id: int | None = None,
    source: str | None = None,
) -> Declaration:
    scope = scope_for(actor)
    _require_role(actor, {Role.ENTERPRISE_USER, Role.TASK_FORCE_STAFF, Role.TASK_FORCE_LEAD}, "申报融资需求")
    entity = _entity_for_declaring(actor, entity_id)
    MarketEntity.objects.select_for_update().filter(pk=entity.pk).first()  # serialise declarations of one entity
    need = _validate_need(amount, term_months, purpose)
    banks = _banks_from_codes(bank_codes)
    if Declaration.objects.filter(entity=entity, state__in=OPEN_DECLARATION_STATES).exists():
        raise ApplicationError("该经营主体已有进行中的申报, 不能重复申报", code="conflict")
    if source is None:
        source = DeclarationSource.ENTERPRISE if scope.is_enterprise else DeclarationSource.STAFF
    declaration = Declaration(
        entity=entity, task_force=task_force_for(entity), region_id=entity.region_id, source=source,
        basic_criteria=_criteria(basic_criteria, actor), created_by=actor, visit_id=visit_id, **need,
    )
    if consent:
        declaration.consent_given_at, declaration.consent_given_by = timezone.now(), actor
    try:
        with transaction.atomic():
            declaration.save()
    except IntegrityError:
        raise ApplicationError("该经营主体已有进行中的申报, 不能重复申报", code="conflict") from None
    DeclarationBank.objects.bulk_create(
        [DeclarationBank(declaration=declaration, bank=bank, position=i) for i, bank in enumerate(banks, start=1)]
    )
    _event(declaration=declaration, kind="declaration.created", actor=actor, source=source)
    audit_record(actor=actor, action="declaration.create", obj=declaration, after={**need, "banks": bank_codes})
    if submit:
        declaration = declaration_submit(actor=actor, declaration_id=declaration.pk)
    return declaration


@transaction.atomic
def declaration_update(
    *, actor, declaration_id: int, amount: int, term_months: int, purpose: str, bank_codes: list[str],
    basic_criteria: dict | None = None, consent: bool | None = None,
) -> Declaration:
    declaration = _locked(Declaration, declaration_id, actor)
    if declaration.state != DeclarationState.DRAFT:
        raise ApplicationError(f"只有草稿或被退回的申报可以修改(当前状态: {declaration.get_state_display()})", code="conflict")
    need = _validate_need(amount, term_months, purpose)
    banks = _banks_from_codes(bank_codes)
    before = {"amount": declaration.amount, "term_months": declaration.term_months, "purpose": declaration.purpose}
    for key, value in need.items():
        setattr(declaration, key, value)
    declaration.basic_criteria = _criteria(basic_criteria, actor)
    if consent and declaration.consent_given_at is None:
        declaration.consent_given_at, declaration.consent_given_by = timezone.now(), actor
    declaration.save()
    declaration.intended_banks.all().delete()
    DeclarationBank.objects.bulk_create(
        [DeclarationBank(declaration=declaration, bank=bank, position=i) for i, bank in enumerate(banks, start=1)]
    )
    audit_record(actor=actor, action="declaration.update", obj=declaration, before=before, after={**need, "banks": bank_codes})
    return declaration


@transaction.atomic
def declaration_submit(*, actor, declaration_id: int) -> Declaration:
    declaration = _locked(Declaration, declaration_id, actor)
    if declaration.consent_given_at is None:
        raise ApplicationError("提交前须由企业同意向意向对接银行共享信息", field_errors={"consent": ["请勾选同意共享信息"]})
    _transition(declaration, "submit", "该申报不能提交")
    declaration.submitted_at = timezone.now()
    declaration.save()
    _event(declaration=declaration, kind="declaration.submitted", actor=actor)
    audit_record(actor=actor, action="declaration.submit", obj=declaration)
    notifications.to_role(
        organisation=declaration.task_force, role=Role.TASK_FORCE_STAFF, key=f"decl-{declaration.pk}-submitted-{declaration.submitted_at:%s}",
        title=f"新的申报待初审: {declaration.entity.name}", url=f"/matching/declarations/{declaration.pk}/",
    )
    return declaration


@transaction.atomic
def declaration_recommend_by_bank(*, actor, entity_id: int, amount: int, term_months: int, purpose: str, note: str = "") -> Declaration:
    """银行推荐: a bank recommends an entity to the task force; the declaration starts in `submitted`.

    The entity is resolved through the restriction for what a bank does with it (VIEW: an
    entity in the bank's service region that agreed to share its data with banks). One the
    bank may not see is refused exactly like an unknown id (same code, same message), before
    anything about it — its county, an open declaration — is looked at."""
    from products.restrictions import bank_root_organisation_id

    _require_role(actor, {Role.BANK_ADMIN, Role.ACCOUNT_MANAGER}, "向专班推荐企业")
    scope = scope_for(actor)
    root = bank_root_organisation_id(scope)
    bank = restrict(Bank.objects.all(), actor, VIEW).filter(organisation_id=root).first() if root else None
    if bank is None:
        raise ApplicationError("只有银行工作人员可以向专班推荐企业", code="permission_denied")
    # the row lock serialises declarations of one entity
    entity = resolve(MarketEntity, actor, VIEW, lock=True, pk=entity_id, field="entity_id")
    need = _validate_need(amount, term_months, purpose)
    if Declaration.objects.filter(entity=entity, state__in=OPEN_DECLARATION_STATES).exists():
        raise ApplicationError("该经营主体已有进行中的申报", code="conflict")
    declaration = Declaration(
        entity=entity, task_force=task_force_for(entity), region_id=entity.region_id, source=DeclarationSource.BANK,
        source_bank=bank, basic_criteria=_criteria({}, actor), created_by=actor, last_comment=note, **need,
    )
    try:
        with transaction.atomic():
            declaration.save()
    except IntegrityError:
        raise ApplicationError("该经营主体已有进行中的申报", code="conflict") from None
    DeclarationBank.objects.create(declaration=declaration, bank=bank, position=1)
    _transition(declaration, "submit", "该申报不能提交")
    declaration.submitted_at = timezone.now()
    declaration.save()
    _event(declaration=declaration, kind="declaration.bank_recommended", actor=actor, bank=bank.code, note=note)
    audit_record(actor=actor, action="declaration.bank_recommend", obj=declaration, after={**need, "bank": bank.code})
    notifications.to_role(
        organisation=declaration.task_force, role=Role.TASK_FORCE_STAFF, key=f"decl-{declaration.pk}-bank-recommended",
        title=f"{bank.name}推荐企业: {entity.name}", url=f"/matching/declarations/{declaration.pk}/",
    )
    return declaration


@transaction.atomic
def declaration_withdraw(*, actor, declaration_id: int, reason: str = "") -> Declaration:
    _require_role(actor, {Role.ENTERPRISE_USER}, "撤回申报")
    declaration = _locked(Declaration, declaration_id, actor)
    _transition(declaration, "withdraw", "签字确认后的申报不能撤回")
    declaration.last_comment = reason
    declaration.save()
    _event(declaration=declaration, kind="declaration.withdrawn", actor=actor, reason=reason)
    audit_record(actor=actor, action="declaration.withdraw", obj=declaration, after={"reason": reason})
    return declaration


# --- three-level review --------------------------------------------------------------------


@transaction.atomic
def declaration_review(*, actor, declaration_id: int, decision: str, comment: str = "") -> Declaration:
    declaration = _locked(Declaration, declaration_id, actor)
    stage_info = REVIEW_STAGES.get(declaration.state)
    if stage_info is None:
        raise ApplicationError(f"该申报当前不在审核环节(当前状态: {declaration.get_state_display()})", code="conflict")
    stage, role, approve = stage_info
    _require_role(actor, {role}, f"进行{stage.label}")
    if decision not in ReviewDecision.values:
        raise ApplicationError("未知的审核结论", field_errors={"decision": ["应为 approve、return 或 reject"]})
    if decision != ReviewDecision.APPROVE and not comment.strip():
        raise ApplicationError("退回或不通过须填写意见", field_errors={"comment": ["请填写意见"]})
    from_state = declaration.state
    if decision == ReviewDecision.APPROVE:
        _transition(declaration, approve, "该申报不能审核通过")
    elif decision == ReviewDecision.RETURN:
        _transition(declaration, "return_for_fix", "该申报不能退回")
    else:
        _transition(declaration, "reject", "该申报不能驳回")
    declaration.last_comment = comment
    declaration.save()
    ReviewStep.objects.create(declaration=declaration, stage=stage, decision=decision, comment=comment, actor=actor)
    _event(declaration=declaration, kind=f"review.{stage}.{decision}", actor=actor, comment=comment, from_state=from_state)
    audit_record(actor=actor, action=f"declaration.{stage}.{decision}", obj=declaration, after={"comment": comment})
    _notify_after_review(declaration, stage, decision, comment)
    return declaration


def _notify_after_review(declaration: Declaration, stage: str, decision: str, comment: str) -> None:
    url = f"/matching/declarations/{declaration.pk}/"
    step = declaration.review_steps.count()
    if decision == ReviewDecision.APPROVE:
        role = NEXT_REVIEWER[declaration.state]
        organisation = declaration.task_force.parent if role == Role.CONVENER else declaration.task_force
        notifications.to_role(
            organisation=organisation, role=role, key=f"decl-{declaration.pk}-step-{step}",
            title=f"申报待{ {Role.TASK_FORCE_BANK_REVIEWER: '银行审核', Role.TASK_FORCE_LEAD: '组长审核', Role.CONVENER: '签字推送'}[role] }: {declaration.entity.name}",
            url=url,
        )
    else:
        verb = "被退回修改" if decision == ReviewDecision.RETURN else "未通过审核"
        notifications.to_entity_and_creator(
            declaration=declaration, key=f"decl-{declaration.pk}-step-{step}",
            title=f"您的融资申报{verb}", body=f"{ReviewStage(stage).label}意见: {comment}", url=url,
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
    """召集人签字确认: reviewed declarations become the recommendation list of a new batch."""
    _require_role(actor, {Role.CONVENER}, "签字确认推荐清单")
    if not declaration_ids:
        raise ApplicationError("请至少选择一条已通过组长审核的申报", field_errors={"declaration_ids": ["不能为空"]})
    declarations = list(
        restrict(Declaration.objects.all(), actor, CHANGE)
        .select_for_update(of=("self",))
        .filter(pk__in=declaration_ids)
        .order_by("pk")
    )
    found = {d.pk for d in declarations}
    missing = [i for i in declaration_ids if i not in found]
    if missing:
        raise ApplicationError(f"申报 {missing} 不存在或不在您的辖区", code="not_found")
    not_ready = [d for d in declarations if d.state != DeclarationState.LEAD_APPROVED]
    if not_ready:
        names = "、".join(f"{d.entity.name}({d.get_state_display()})" for d in not_ready)
        raise ApplicationError(f"以下申报尚未通过组长审核或已签字: {names}", code="conflict")
    task_forces = {d.task_force_id for d in declarations}
    if len(task_forces) != 1:
        raise ApplicationError("一个批次只能包含同一工作专班的申报")
    first = declarations[0]
    now = timezone.now()
    batch = RecommendationBatch.objects.create(
        task_force=first.task_force, region_id=first.region_id, created_by=actor,
        title=title or f"{first.region.name}推荐清单 {timezone.localtime(now):%Y-%m-%d %H:%M}",
    )
    for declaration in declarations:
        _transition(declaration, "convener_signoff", "该申报不能签字确认")
        declaration.batch = batch
        declaration.save()
        ReviewStep.objects.create(declaration=declaration, stage=ReviewStage.CONVENER_SIGNOFF, decision=ReviewDecision.APPROVE, actor=actor)
        _event(declaration=declaration, kind="declaration.signed_off", actor=actor, batch=batch.pk)
    audit_record(actor=actor, action="batch.signoff", obj=batch, after={"declarations": sorted(found)})
    return batch


@transaction.atomic
def batch_push(*, actor, batch_id: int) -> RecommendationBatch:
    """Push a batch: one recommendation per intended bank, routed to the serving branch.
    Idempotent: the batch row is locked and a pushed batch is refused with a message."""
    _require_role(actor, {Role.CONVENER}, "推送推荐清单")
    batch = _locked(RecommendationBatch, batch_id, actor)
    if batch.state != "building":
        raise ApplicationError(f"该批次已于 {timezone.localtime(batch.pushed_at):%Y-%m-%d %H:%M} 推送, 未重复推送", code="conflict")
    declarations = list(batch.declarations.select_related("entity", "region").prefetch_related("intended_banks__bank"))
    if not declarations:
        raise ApplicationError("批次中没有申报", code="conflict")
    now = timezone.now()
    created: list[Recommendation] = []
    for declaration in declarations:
        if declaration.state != DeclarationState.RECOMMENDED:
            continue
        for intended in declaration.intended_banks.all():
            created.append(_recommendation_create(batch=batch, declaration=declaration, bank=intended.bank, actor=actor, at=now))
    _transition(batch, "push", "该批次不能推送")
    batch.pushed_at, batch.pushed_by = now, actor
    batch.save()
    audit_record(actor=actor, action="batch.push", obj=batch, after={"recommendations": [r.pk for r in created]})
    return batch


def _recommendation_create(*, batch, declaration: Declaration, bank: Bank, actor, at) -> Recommendation:
    branch = branch_for(bank=bank, county_code=declaration.region_id)
    if branch is None:
        raise ApplicationError(f"{bank.name}在 {declaration.region.name} 没有服务机构, 无法推送 {declaration.entity.name}")
    product = bank.products.filter(status=ProductStatus.ACTIVE).select_related("current_version").first()
    recommendation = Recommendation.objects.create(
        batch=batch, declaration=declaration, entity=declaration.entity, region_id=declaration.region_id,
        bank=bank, branch=branch, pushed_at=at, product_version=product.current_version if product else None,
    )
    _event(declaration=declaration, recommendation=recommendation, kind="recommendation.pushed", actor=actor,
           bank=bank.code, branch=branch.pk)
    for hook in RECOMMENDATION_PUSHED_HOOKS:
        hook(recommendation)
    notifications.to_role(
        organisation=branch.organisation, role=Role.BANK_ADMIN, key=f"rec-{recommendation.pk}-pushed", with_ancestors=True,
        title=f"新推送线索: {declaration.entity.name}", url=f"/matching/leads/{recommendation.pk}/",
    )
    notifications.to_entity_and_creator(
        declaration=declaration, key=f"rec-{recommendation.pk}-pushed-entity",
        title=f"您的融资需求已推送至{branch.name}", url=f"/matching/declarations/{declaration.pk}/",
    )
    return recommendation


# clock start/stop hooks (deadline clocks register here): fn(recommendation)
RECOMMENDATION_PUSHED_HOOKS: list = []
RECOMMENDATION_TRANSITION_HOOKS: list = []  # fn(recommendation, transition_name, at)


def _after_transition(recommendation: Recommendation, name: str, at) -> None:
    for hook in RECOMMENDATION_TRANSITION_HOOKS:
        hook(recommendation, name, at)


@transaction.atomic
def recommendation_redirect(*, actor, recommendation_id: int, bank_code: str, comment: str = "") -> Recommendation:
    """After a decline, the task force re-recommends the entity to another bank."""
    _require_role(actor, {Role.CONVENER, Role.TASK_FORCE_LEAD}, "重新推荐")
    previous = _locked(Recommendation, recommendation_id, actor)
    if previous.state != RecommendationState.DECLINED:
        raise ApplicationError("只有不予授信的推荐可以改推其他银行", code="conflict")
    bank = Bank.objects.filter(code=bank_code).first()
    if bank is None:
        raise ApplicationError("未知银行", field_errors={"bank": ["未知银行"]})
    declaration = Declaration.objects.select_for_update().get(pk=previous.declaration_id)
    if declaration.recommendations.filter(bank=bank).exists():
        raise ApplicationError(f"该企业已推荐给{bank.name}", code="conflict")
    now = timezone.now()
    batch = RecommendationBatch.objects.create(
        task_force=declaration.task_force, region_id=declaration.region_id, created_by=actor,
        title=f"{declaration.entity.name} 改推{bank.name}",
    )
    recommendation = _recommendation_create(batch=batch, declaration=declaration, bank=bank, actor=actor, at=now)
    batch.push()
    batch.pushed_at, batch.pushed_by = now, actor
    batch.save()
    _event(declaration=declaration, recommendation=previous, kind="recommendation.redirected", actor=actor, to_bank=bank.code, comment=comment)
    audit_record(actor=actor, action="recommendation.redirect", obj=recommendation, after={"from": previous.pk, "bank": bank.code})
    return recommendation


@transaction.atomic
def recommendation_remove(*, actor, recommendation_id: int, reason: str) -> Recommendation:
    _require_role(actor, {Role.CONVENER, Role.TASK_FORCE_LEAD}, "移出推荐清单")
    if not reason.strip():
        raise ApplicationError("移出推荐清单须说明原因", field_errors={"reason": ["请填写原因(如提供虚假材料、挪用资金)"]})
    recommendation = _locked(Recommendation, recommendation_id, actor)
    _transition(recommendation, "remove", "该推荐不能移出")
    now = timezone.now()
    recommendation.removed_at, recommendation.removed_reason = now, reason
    recommendation.save()
    _event(declaration=recommendation.declaration, recommendation=recommendation, kind="recommendation.removed", actor=actor, reason=reason)
    audit_record(actor=actor, action="recommendation.remove", obj=recommendation, after={"reason": reason})
    _after_transition(recommendation, "remove", now)
    declaration = Declaration.objects.select_for_update().get(pk=recommendation.declaration_id)
    still_open = declaration.recommendations.exclude(state="removed").exists()
    if not still_open and declaration.state == DeclarationState.RECOMMENDED:
        declaration.remove()
        declaration.last_comment = reason
        declaration.save()
        _event(declaration=declaration, kind="declaration.removed", actor=actor, reason=reason)
    notifications.to_role(
        organisation=recommendation.branch.organisation, role=Role.BANK_ADMIN, key=f"rec-{recommendation.pk}-removed", with_ancestors=True,
        title=f"线索已移出推荐清单: {recommendation.entity.name}", body=reason, url=f"/matching/leads/{recommendation.pk}/",
    )
    return recommendation


# --- the bank side -------------------------------------------------------------------------


def _lead_for_work(actor, recommendation_id: int) -> Recommendation:
    _require_role(actor, {Role.BANK_ADMIN, Role.ACCOUNT_MANAGER}, "办理线索")
    recommendation = _locked(Recommendation, recommendation_id, actor)
    scope = scope_for(actor)
    if scope.role == Role.ACCOUNT_MANAGER and not actor.has_perm(WORK_PERMISSION, recommendation):
        raise ApplicationError("该线索未分配给您", code="permission_denied")
    return recommendation


@transaction.atomic
def recommendations_assign(*, actor, recommendation_ids: list[int], manager_id: int) -> int:
    _require_role(actor, {Role.BANK_ADMIN}, "分配线索")
    scope = scope_for(actor)
    manager = (
        get_user_model().objects.filter(
            pk=manager_id, memberships__role=Role.ACCOUNT_MANAGER,
            memberships__organisation__path__startswith=scope.organisation_path,
        ).first()
        if not scope.is_platform_admin
        else get_user_model().objects.filter(pk=manager_id, memberships__role=Role.ACCOUNT_MANAGER).first()
    )
    if manager is None:
        raise ApplicationError("只能分配给本机构(含下级)的客户经理", field_errors={"manager": ["无效的客户经理"]})
    leads = list(restrict(Recommendation.objects.all(), actor, CHANGE).select_for_update(of=("self",)).filter(pk__in=recommendation_ids))
    if len(leads) != len(set(recommendation_ids)):
        raise ApplicationError("部分线索不存在或不属于本机构", code="not_found")
    for lead in leads:
        if lead.assigned_to_id and lead.assigned_to_id != manager.pk:
            remove_perm(WORK_PERMISSION, lead.assigned_to, lead)
        lead.assigned_to = manager
        lead.save(update_fields=["assigned_to", "updated_at"])
        assign_perm(WORK_PERMISSION, manager, lead)
        _event(declaration=lead.declaration, recommendation=lead, kind="recommendation.assigned", actor=actor, manager=manager.username)
    notifications.to_user(
        user=manager, key=f"assign-{manager.pk}-{'-'.join(str(lead.pk) for lead in leads)}"[:200],
        title=f"您有 {len(leads)} 条新分配的线索", url="/matching/leads/",
    )
    audit_record(actor=actor, action="recommendation.assign", after={"ids": [lead.pk for lead in leads], "manager": manager.pk})
    return len(leads)


@transaction.atomic
def recommendation_contact(*, actor, recommendation_id: int, contacted_at: dt.datetime | None = None, channel: str = ContactChannel.PHONE, note: str = "") -> Recommendation:
    recommendation = _lead_for_work(actor, recommendation_id)
    if channel not in ContactChannel.values:
        raise ApplicationError("未知的对接方式", field_errors={"channel": ["未知的对接方式"]})
    now = timezone.now()
    contacted_at = contacted_at or now
    if contacted_at > now + dt.timedelta(minutes=5) or contacted_at < recommendation.pushed_at:
        raise ApplicationError("对接时间应在推送之后、不晚于现在", field_errors={"contacted_at": ["对接时间无效"]})
    _transition(recommendation, "contact", "该线索不能登记对接")
    recommendation.contacted_at, recommendation.contact_channel, recommendation.contact_note = contacted_at, channel, note
    recommendation.save()
    _event(declaration=recommendation.declaration, recommendation=recommendation, kind="recommendation.contacted", actor=actor, channel=channel)
    audit_record(actor=actor, action="recommendation.contact", obj=recommendation, after={"channel": channel})
    _after_transition(recommendation, "contact", contacted_at)
    notifications.to_entity_and_creator(
        declaration=recommendation.declaration, key=f"rec-{recommendation.pk}-contacted",
        title=f"{recommendation.branch.name}已与您对接", url=f"/matching/declarations/{recommendation.declaration_id}/",
    )
    return recommendation


@transaction.atomic
def recommendation_materials_complete(*, actor, recommendation_id: int) -> Recommendation:
    recommendation = _lead_for_work(actor, recommendation_id)
    _transition(recommendation, "mark_materials_complete", "该线索不能登记材料收齐")
    now = timezone.now()
    recommendation.materials_complete_at = now
    recommendation.save()
    _event(declaration=recommendation.declaration, recommendation=recommendation, kind="recommendation.materials_complete", actor=actor)
    audit_record(actor=actor, action="recommendation.materials_complete", obj=recommendation)
    _after_transition(recommendation, "materials_complete", now)
    return recommendation


@transaction.atomic
def recommendation_approve(
    *, actor, recommendation_id: int, credit_amount: int, rate_percent: Decimal, term_months: int, guarantee: str,
    is_credit_loan: bool, is_first_loan: bool,
) -> Recommendation:
    recommendation = _lead_for_work(actor, recommendation_id)
    errors: dict[str, list[str]] = {}
    if not isinstance(credit_amount, int) or isinstance(credit_amount, bool) or credit_amount <= 0:
        errors["credit_amount"] = ["授信金额须为正整数(元)"]
    try:
        rate = Decimal(str(rate_percent))
        if not Decimal("0") < rate < Decimal("36"):
            errors["rate_percent"] = ["年利率须在 0% 至 36% 之间"]
    except Exception:
        errors["rate_percent"] = ["年利率格式错误"]
    if not isinstance(term_months, int) or not 1 <= term_months <= 360:
        errors["term_months"] = ["授信期限须为 1 至 360 个月"]
    if guarantee not in Guarantee.values:
        errors["guarantee"] = ["未知的担保方式"]
    if is_credit_loan and guarantee != Guarantee.CREDIT:
        errors["is_credit_loan"] = ["信用贷款的担保方式应为「信用」"]
    if errors:
        raise ApplicationError(next(iter(errors.values()))[0], field_errors=errors)
    _transition(recommendation, "approve", "该线索不能授信(须先登记材料收齐)")
    now = timezone.now()
    recommendation.decided_at = now
    recommendation.credit_amount, recommendation.rate_percent = credit_amount, rate
    recommendation.credit_term_months, recommendation.guarantee = term_months, guarantee
    recommendation.is_credit_loan, recommendation.is_first_loan = bool(is_credit_loan), bool(is_first_loan)
    recommendation.save()
    _event(declaration=recommendation.declaration, recommendation=recommendation, kind="recommendation.approved", actor=actor,
           credit_amount=credit_amount, rate_percent=str(rate), term_months=term_months, guarantee=guarantee,
           is_credit_loan=bool(is_credit_loan), is_first_loan=bool(is_first_loan))
    audit_record(actor=actor, action="recommendation.approve", obj=recommendation, after={"credit_amount": credit_amount, "rate": str(rate)})
    _after_transition(recommendation, "approve", now)
    notifications.to_entity_and_creator(
        declaration=recommendation.declaration, key=f"rec-{recommendation.pk}-approved",
        title=f"{recommendation.bank.name}已为您授信 {credit_amount / 10000:.2f} 万元",
        url=f"/matching/declarations/{recommendation.declaration_id}/",
    )
    return recommendation


@transaction.atomic
def recommendation_decline(*, actor, recommendation_id: int, reason_code: str, note: str = "") -> Recommendation:
    recommendation = _lead_for_work(actor, recommendation_id)
    reason = DeclineReason.objects.filter(code=reason_code, is_active=True).first()
    if reason is None:
        raise ApplicationError("请选择不予授信原因", field_errors={"reason_code": ["未知的原因代码"]})
    _transition(recommendation, "decline", "该线索不能登记不予授信")
    now = timezone.now()
    recommendation.decided_at, recommendation.decline_reason, recommendation.decline_note = now, reason, note
    recommendation.save()
    _event(declaration=recommendation.declaration, recommendation=recommendation, kind="recommendation.declined", actor=actor,
           reason=reason.code, curable=reason.curable, note=note)
    audit_record(actor=actor, action="recommendation.decline", obj=recommendation, after={"reason": reason.code, "note": note})
    _after_transition(recommendation, "decline", now)
    body = f"原因: {reason.label}{('; ' + reason.advice) if reason.advice else ''}{('。' + note) if note else ''}"
    notifications.to_entity_and_creator(
        declaration=recommendation.declaration, key=f"rec-{recommendation.pk}-declined",
        title=f"{recommendation.bank.name}暂不予授信", body=body, url=f"/matching/declarations/{recommendation.declaration_id}/",
    )
    # the decline reaches the task force at once (seed 004: within 5 working days)
    notifications.to_role(
        organisation=recommendation.declaration.task_force, role=Role.TASK_FORCE_STAFF, key=f"rec-{recommendation.pk}-declined-tf",
        title=f"不予授信待辅导: {recommendation.entity.name}({recommendation.bank.name})", body=body,
        url=f"/matching/declarations/{recommendation.declaration_id}/",
    )
    return recommendation


@transaction.atomic
def recommendation_disburse(*, actor, recommendation_id: int, amount: int, disbursed_on: dt.date) -> Disbursement:
    recommendation = _lead_for_work(actor, recommendation_id)
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise ApplicationError("放款金额须为正整数(元)", field_errors={"amount": ["放款金额须为正整数(元)"]})
    if disbursed_on > timezone.localdate():
        raise ApplicationError("放款日期不能晚于今天", field_errors={"disbursed_on": ["放款日期不能晚于今天"]})
    if recommendation.state in (RecommendationState.APPROVED, RecommendationState.DISBURSED):
        remaining = recommendation.credit_amount - recommendation.disbursed_total
        if amount > remaining:
            raise ApplicationError(
                f"放款金额超过剩余授信额度 {remaining} 元", field_errors={"amount": [f"不能超过剩余额度 {remaining} 元"]}
            )
        if recommendation.decided_at and disbursed_on < timezone.localtime(recommendation.decided_at).date():
            raise ApplicationError("放款日期不能早于授信日期", field_errors={"disbursed_on": ["放款日期不能早于授信日期"]})
    _transition(recommendation, "disburse", "该线索不能登记放款(须先授信)")
    disbursement = Disbursement.objects.create(recommendation=recommendation, amount=amount, disbursed_on=disbursed_on, recorded_by=actor)
    recommendation.disbursed_total += amount
    recommendation.save()
    _event(declaration=recommendation.declaration, recommendation=recommendation, kind="recommendation.disbursed", actor=actor,
           amount=amount, disbursed_on=disbursed_on.isoformat(), disbursement=disbursement.pk)
    audit_record(actor=actor, action="recommendation.disburse", obj=recommendation, after={"amount": amount, "on": disbursed_on.isoformat()})
    notifications.to_entity_and_creator(
        declaration=recommendation.declaration, key=f"disbursement-{disbursement.pk}",
        title=f"{recommendation.bank.name}已放款 {amount / 10000:.2f} 万元", url=f"/matching/declarations/{recommendation.declaration_id}/",
    )
    return disbursement


@transaction.atomic
def recommendation_not_drawn(*, actor, recommendation_id: int, note: str = "") -> Recommendation:
    recommendation = _lead_for_work(actor, recommendation_id)
    _transition(recommendation, "give_up", "只有已授信且未放款的线索可以登记未提款")
    recommendation.save()
    _event(declaration=recommendation.declaration, recommendation=recommendation, kind="recommendation.not_drawn", actor=actor, note=note)
    audit_record(actor=actor, action="recommendation.not_drawn", obj=recommendation, after={"note": note})
    return recommendation


@transaction.atomic
def coaching_record(*, actor, recommendation_id: int, note: str) -> Coaching:
    _require_role(actor, {Role.TASK_FORCE_STAFF, Role.TASK_FORCE_LEAD}, "登记辅导")
    recommendation = _locked(Recommendation, recommendation_id, actor, VIEW)
    if recommendation.state != RecommendationState.DECLINED:
        raise ApplicationError("只有不予授信的企业需要辅导", code="conflict")
    if not note.strip():
        raise ApplicationError("请填写辅导情况", field_errors={"note": ["请填写辅导情况"]})
    coaching = Coaching.objects.create(recommendation=recommendation, note=note, actor=actor)
    _event(declaration=recommendation.declaration, recommendation=recommendation, kind="recommendation.coached", actor=actor, note=note)
    audit_record(actor=actor, action="recommendation.coach", obj=recommendation, after={"note": note})
    return coaching


@transaction.atomic
def satisfaction_rate(*, actor, recommendation_id: int, score: int, comment: str = "") -> Recommendation:
    _require_role(actor, {Role.ENTERPRISE_USER}, "评价银行服务")
    recommendation = _locked(Recommendation, recommendation_id, actor, VIEW)
    if recommendation.decided_at is None:
        raise ApplicationError("银行作出授信决定后才能评价", code="conflict")
    if not isinstance(score, int) or not 1 <= score <= 5:
        raise ApplicationError("评分须为 1 至 5", field_errors={"score": ["评分须为 1 至 5"]})
    if recommendation.satisfaction is not None:
        raise ApplicationError("您已评价过该银行的服务", code="conflict")
    recommendation.satisfaction, recommendation.satisfaction_comment = score, comment
    recommendation.save(update_fields=["satisfaction", "satisfaction_comment", "updated_at"])
    _event(declaration=recommendation.declaration, recommendation=recommendation, kind="recommendation.rated", actor=actor, score=score)
    audit_record(actor=actor, action="recommendation.rate", obj=recommendation, after={"score": score})
    return recommendation
