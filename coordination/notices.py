"""Who hears of a 批分单's step, delivered as in-portal notifications through the entities app's
notice hook (entities.changes.announce; matching delivers them in the same transaction: this
app sits below the workflow and writes no notification rows itself). A notice's key makes it
idempotent per user."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.urls import reverse

from coordination.models import Problem, ProblemLevel
from entities.changes import Notice, announce
from portal.models import OrganisationKind, Role

MECHANISM_OF_LEVEL = {
    ProblemLevel.COUNTY: (OrganisationKind.TASK_FORCE, (Role.TASK_FORCE_STAFF, Role.TASK_FORCE_LEAD)),
    ProblemLevel.CITY: (OrganisationKind.CITY_MECHANISM, (Role.CITY_REGULATOR,)),
    ProblemLevel.PROVINCE: (OrganisationKind.PROVINCE_MECHANISM, (Role.PROVINCE_REGULATOR,)),
}
CONVENER_OF_LEVEL = {
    ProblemLevel.COUNTY: OrganisationKind.COUNTY_MECHANISM,
    ProblemLevel.CITY: OrganisationKind.CITY_MECHANISM,
}


def level_region(county_code: str, level: str) -> str:
    """The region code of the mechanism at `level` above a county (140525 → 140500 → 140000)."""
    if level == ProblemLevel.CITY:
        return county_code[:4] + "00"
    if level == ProblemLevel.PROVINCE:
        return county_code[:2] + "0000"
    return county_code


def _users(*, kind: str, region: str, roles, organisation_id: int | None = None) -> tuple[int, ...]:
    memberships = {"memberships__role__in": list(roles)}
    if organisation_id is not None:
        memberships["memberships__organisation_id"] = organisation_id
    else:
        memberships["memberships__organisation__kind"] = kind
        memberships["memberships__organisation__region_id"] = region
    ids = get_user_model().objects.filter(is_active=True, **memberships).values_list("pk", flat=True).distinct()
    return tuple(sorted(ids))


def department_users(problem: Problem) -> tuple[int, ...]:
    if problem.department_id is None:
        return ()
    return _users(kind="", region="", roles=(Role.DEPARTMENT_STAFF,), organisation_id=problem.department_id)


def mechanism_users(problem: Problem, level: str | None = None) -> tuple[int, ...]:
    """The staff of the mechanism holding the problem (or of `level`)."""
    level = level or problem.level
    kind, roles = MECHANISM_OF_LEVEL[level]
    found = set(_users(kind=kind, region=level_region(problem.region_id, level), roles=roles))
    if problem.created_by_id and level == ProblemLevel.COUNTY:
        found.add(problem.created_by_id)
    return tuple(sorted(found))


def convener_users(problem: Problem) -> tuple[int, ...]:
    kind = CONVENER_OF_LEVEL.get(problem.level)
    if kind is None:
        return ()
    return _users(kind=kind, region=level_region(problem.region_id, problem.level), roles=(Role.CONVENER,))


def tell(problem: Problem, *, key: str, title: str, user_ids, body: str = "") -> None:
    url = reverse("coordination:problem_detail", args=[problem.pk])
    full = f"批分单 {problem.number}({problem.entity.name} · {problem.get_kind_display()}): {title}"
    announce(
        [Notice(key=f"problem:{problem.pk}:{key}", title=full[:200], url=url, user_ids=tuple(user_ids), body=body)]
    )
