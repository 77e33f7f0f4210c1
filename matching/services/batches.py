"""The 推荐清单: the convener's sign-off of reviewed declarations into a batch, the push (one
recommendation per intended bank, routed to the branch serving the county, each starting its
feedback clock), the re-recommendation (改推) to another bank after a decline (a new draft
that needs the enterprise's consent, the three reviews and the sign-off again, never leaving
the entity with more than two banks at a time) and the removal of a lead from the list."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone

from entities.models import MarketEntity
from matching import notifications, verdicts, workflow
from matching.models import (
    Declaration,
    DeclarationSource,
    Recommendation,
    RecommendationBatch,
    RecommendationState,
    ReviewDecision,
    ReviewStep,
)
from matching.services.common import _not_serving, _redirect_bank_problems, _set_banks, open_case, task_force_for
from matching.workflow import Action
from portal.models import Role
from portal.services import ApplicationError, audit_record
from portal.tenancy import CHANGE, resolve_many
from products.models import Bank
from products.selectors import branch_for


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
    # the bank's product that fits this need best (matching.verdicts, the one place products are
    # judged for a declaration): the lead's approval is held to its limits
    product = verdicts.best_product(declaration, bank)
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
    (source 不予授信后改推) with the same need (amount, term, purpose, repayment mode) and the new
    bank, which needs the enterprise's consent for that bank, the three reviews and the sign-off
    before it is pushed. The entity
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
    # the one-open-case rule of every path; the declined case's own leads at other banks are
    # bounded by the two-bank rule below (_redirect_bank_problems)
    problem = open_case(entity, actor=actor, continuing=original)
    if problem:
        raise ApplicationError(f"暂不能改推: {problem}", code="conflict")
    declaration = Declaration(
        entity=entity,
        task_force=task_force_for(entity),
        region_id=entity.region_id,
        source=DeclarationSource.REDIRECT,
        redirected_from=previous,
        amount=original.amount,
        term_months=original.term_months,
        purpose=original.purpose,
        repayment=original.repayment,
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
