"""Tenant filters of 批分单. The mechanism sees the problems of the entities in its region (a
county task force and convener its county, the city its counties, the province every city) and
changes them there (the policy table then says which level acts); a department sees and works
only the problems routed to it; a bank reads those of the entities it may read (its leads'
pages show them), the enterprise its own; nobody else anything."""

from __future__ import annotations

from django.db.models import Q

from coordination.models import Problem, ProblemEvent
from coordination.policy import CONVENER, MECHANISM_STAFF
from entities.restrictions import entity_q, region_range_q
from portal.models import Role
from portal.tenancy import VIEW, Scope, restriction

MECHANISM = MECHANISM_STAFF | CONVENER


def problem_q(scope: Scope, action: str, prefix: str = "") -> Q | None:
    if scope.role == Role.DEPARTMENT_STAFF:
        return Q(**{f"{prefix}department_id": scope.organisation_id}) if scope.organisation_id else None
    if scope.role in MECHANISM and scope.region_prefix:
        return region_range_q(scope.region_prefix, f"{prefix}region_id")
    if action != VIEW:
        return None
    if scope.is_government and scope.region_prefix:  # the task force's seconded bank reviewer: reads
        return region_range_q(scope.region_prefix, f"{prefix}region_id")
    if scope.is_bank or scope.is_enterprise:
        return entity_q(scope, VIEW, f"{prefix}entity__")
    return None


def register() -> None:
    restriction(Problem)(problem_q)

    @restriction(ProblemEvent)
    def _events(scope: Scope, action: str) -> Q | None:
        return problem_q(scope, VIEW, "problem__") if action == VIEW else None
