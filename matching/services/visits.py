"""走访 (workflow VISIT): the one way a visit is recorded (the visits page, its API, and the 大走访
campaign's 走访任务 pages, seed 004 二(四)). The entity is resolved through restrict() for the VISIT
action (entities.restrictions.visit_q): the county task force visits any entity of its county; a
走访人员 (a township, village, the 工商联, a 委办局) or a bank's account manager only the entities
assigned to him in a running campaign. A visit records whether it found a financing need and, for
a clear need, the 重点走访 record (basic situation, operation, the need, the real purpose, the five
basic criteria with their evidence); a declaration filed after it may name it and is pre-filled
from it."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from entities.models import MarketEntity
from entities.restrictions import VISIT as VISIT_ENTITY
from matching import hooks, workflow
from matching.models import BASIC_CRITERIA, Visit, VisitChannel
from matching.services.common import task_force_for
from matching.workflow import Action
from portal.services import ApplicationError, audit_record
from portal.tenancy import resolve, scope_for

TEXT_MAX = 5000
MAX_NEED_AMOUNT = 100_000_000  # 元: 1 亿, the declaration's own cap is checked when it is filed


def _visit_criteria(criteria: dict | None) -> dict:
    criteria = criteria or {}
    unknown = set(criteria) - set(BASIC_CRITERIA)
    if unknown:
        raise ApplicationError(
            "未知的基本标准: " + ", ".join(sorted(unknown)), field_errors={"basic_criteria": ["未知的基本标准"]}
        )
    return {
        key: {
            "met": bool((criteria.get(key) or {}).get("met")),
            "evidence": str((criteria.get(key) or {}).get("evidence") or "")[:255],
        }
        for key in BASIC_CRITERIA
        if key in criteria
    }


def _key_visit(need_found: bool, need_amount, need_term_months, loan_purpose: str) -> None:
    errors = {}
    if need_amount is not None and (isinstance(need_amount, bool) or not 1 <= need_amount <= MAX_NEED_AMOUNT):
        errors["need_amount"] = ["融资需求金额须大于 0 且不超过 1 亿元"]
    if need_term_months is not None and not 1 <= need_term_months <= 360:
        errors["need_term_months"] = ["融资需求期限须为 1 至 360 个月"]
    if not need_found and (need_amount or loan_purpose):
        errors["need_found"] = ["填写了融资需求金额或用途, 请勾选“发现融资需求”"]
    if errors:
        raise ApplicationError(next(iter(errors.values()))[0], field_errors=errors)


@transaction.atomic
def visit_record(
    *,
    actor,
    entity_id: int,
    visited_on: dt.date,
    people: str,
    findings: str = "",
    need_found: bool = False,
    channel: str = VisitChannel.ON_SITE,
    basic_situation: str = "",
    operation: str = "",
    need_amount: int | None = None,
    need_term_months: int | None = None,
    loan_purpose: str = "",
    basic_criteria: dict | None = None,
) -> Visit:
    workflow.require_role(Action.VISIT, actor)
    entity = resolve(
        MarketEntity, actor, VISIT_ENTITY, pk=entity_id, message="经营主体不存在或不是您的走访对象", field="entity_id"
    )
    if visited_on > timezone.localdate():
        raise ApplicationError("走访日期不能晚于今天", field_errors={"visited_on": ["走访日期不能晚于今天"]})
    if channel not in VisitChannel.values:
        raise ApplicationError("请选择走访方式", field_errors={"channel": ["请选择走访方式(实地走访或电话走访)"]})
    _key_visit(need_found, need_amount, need_term_months, loan_purpose or "")
    scope = scope_for(actor)
    visit = Visit.objects.create(
        entity=entity,
        task_force=task_force_for(entity),
        region_id=entity.region_id,
        visited_on=visited_on,
        channel=channel,
        people=people,
        findings=(findings or "")[:TEXT_MAX],
        need_found=need_found,
        basic_situation=(basic_situation or "")[:TEXT_MAX],
        operation=(operation or "")[:TEXT_MAX],
        need_amount=need_amount,
        need_term_months=need_term_months,
        loan_purpose=(loan_purpose or "")[:255],
        basic_criteria=_visit_criteria(basic_criteria),
        visitor_organisation_id=scope.organisation_id if scope else None,
        recorded_by=actor,
    )
    hooks.ledger_changed()  # the statistics index counts visits (after the commit)
    audit_record(
        actor=actor,
        action="visit.record",
        obj=visit,
        after={"entity": entity.pk, "need_found": need_found, "channel": channel},
    )
    return visit
