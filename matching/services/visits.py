"""走访 (workflow VISIT): task-force staff record a visit to an entity and whether it found a
financing need; a declaration filed after it may name it."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from matching import hooks, workflow
from matching.models import Visit
from matching.services.common import _entity_for_declaring, task_force_for
from matching.workflow import Action
from portal.services import ApplicationError, audit_record


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
