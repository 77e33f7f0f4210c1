"""Reads of 批分单; every queryset is restricted for the user (portal.tenancy.restrict)."""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, Min, Q, QuerySet
from django.utils import timezone

from coordination import notices, policy
from coordination.models import Problem, ProblemEvent, ProblemKind, ProblemLevel, ProblemState
from coordination.policy import Action, actor_level
from portal.models import Organisation, OrganisationKind, Role
from portal.tenancy import VIEW, resolve, restrict, scope_for

# the age of an unfinished problem, in calendar days since it was filled in (the dashboard's buckets)
AGE_BUCKETS = ((0, 5, "5 天以内"), (5, 15, "5-15 天"), (15, 30, "15-30 天"), (30, None, "30 天以上"))


def problem_list(
    *, user, state: str | None = None, kind: str | None = None, q: str | None = None, open_only: bool = False
) -> QuerySet[Problem]:
    qs = restrict(Problem.objects.select_related("entity", "department", "region"), user, VIEW)
    if state in ProblemState.values:
        qs = qs.filter(state=state)
    if kind in ProblemKind.values:
        qs = qs.filter(kind=kind)
    if open_only:
        qs = qs.exclude(state=ProblemState.CLOSED)
    if q:
        qs = qs.filter(Q(entity__name__icontains=q) | Q(entity__uscc=q.strip().upper()))
    return qs.order_by("-created_at", "-id")


def problem_get(*, user, pk) -> Problem:
    return resolve(Problem.objects.select_related("entity", "department", "region", "created_by"), user, VIEW, pk=pk)


def problem_events(*, user, problem: Problem) -> QuerySet[ProblemEvent]:
    return restrict(ProblemEvent.objects.select_related("actor", "department"), user, VIEW).filter(problem=problem)


def open_problems_of_entity(*, user, entity_id: int) -> QuerySet[Problem]:
    """The entity's problems not yet closed, as the user may see them (the declaration's and the
    lead's pages show them)."""
    return problem_list(user=user, open_only=True).filter(entity_id=entity_id)


def entity_problems_context(*, user, entity_id: int, source: str) -> dict:
    """What the declaration's and the lead's pages show of the entity's 批分单 (read-only), and
    whether the user may open one for it from there (`source`: where it was found)."""
    return {
        "entity_problems": list(open_problems_of_entity(user=user, entity_id=entity_id)[:20]),
        "can_open_problem": policy.may(Action.OPEN, user),
        "problem_entity_id": entity_id,
        "problem_source": source,
    }


def departments_for(*, user, county_code: str | None = None, level: str | None = None) -> QuerySet[Organisation]:
    """The departments the user may route a problem to: those of his own mechanism level, in his
    region (a county task force: its county's departments)."""
    scope = scope_for(user)
    level = level or actor_level(scope)
    qs = restrict(Organisation.objects.filter(kind=OrganisationKind.DEPARTMENT, is_active=True), user, VIEW)
    if county_code is None:
        county_code = scope.region_code if scope and scope.region_code else ""
        if level == ProblemLevel.COUNTY:
            return qs.filter(region_id=county_code).order_by("name")
        if level == ProblemLevel.CITY:
            return qs.filter(region_id=(scope.region_prefix or "")[:4] + "00").order_by("name")
        if level == ProblemLevel.PROVINCE:
            return qs.filter(region_id=(scope.region_prefix or "")[:2] + "0000").order_by("name")
        return qs.none()
    return qs.filter(region_id=notices.level_region(county_code, level or ProblemLevel.COUNTY)).order_by("name")


def waiting_for(*, user) -> dict[str, int]:
    """What waits for the user now (his home page): a department's problems to accept or answer,
    a convener's escalations to decide, the mechanism's returned or escalated ones to route."""
    scope = scope_for(user)
    qs = problem_list(user=user)
    if scope is None:
        return {}
    if scope.role == Role.DEPARTMENT_STAFF:
        return {
            "to_accept": qs.filter(state=ProblemState.ROUTED).count(),
            "in_work": qs.filter(state=ProblemState.ACCEPTED).count(),
            "overdue": qs.filter(
                state__in=(ProblemState.ROUTED, ProblemState.ACCEPTED), due_at__lt=timezone.now()
            ).count(),
        }
    level = actor_level(scope)
    if level is None:
        return {}
    mine = qs.filter(level=level)
    if scope.role == Role.CONVENER:
        return {"to_decide": mine.filter(state=ProblemState.ESCALATION_PENDING).count()}
    return {
        "to_route": mine.filter(state__in=(ProblemState.RETURNED, ProblemState.ESCALATED)).count(),
        "answered": mine.filter(state=ProblemState.ANSWERED).count(),
        "overdue": mine.filter(
            state__in=(ProblemState.ROUTED, ProblemState.ACCEPTED), due_at__lt=timezone.now()
        ).count(),
    }


def problem_figures(*, user, now: dt.datetime | None = None) -> dict:
    """The dashboard's 批分单 panel: problems not yet closed by kind, by department and by age,
    and the overdue ones, within the user's restriction."""
    now = now or timezone.now()
    unfinished = problem_list(user=user, open_only=True)
    by_kind = dict(unfinished.values_list("kind").annotate(n=Count("id")).values_list("kind", "n"))
    by_department = list(
        unfinished.values("department__name").annotate(n=Count("id")).order_by("-n", "department__name")
    )
    ages = []
    for low, high, label in AGE_BUCKETS:
        window = unfinished.filter(created_at__lte=now - dt.timedelta(days=low))
        if high is not None:
            window = window.filter(created_at__gt=now - dt.timedelta(days=high))
        ages.append((label, window.count()))
    return {
        "total": unfinished.count(),
        "overdue": unfinished.filter(state__in=(ProblemState.ROUTED, ProblemState.ACCEPTED), due_at__lt=now).count(),
        "closed": problem_list(user=user, state=ProblemState.CLOSED).count(),
        "by_kind": [(label, by_kind.get(value, 0)) for value, label in ProblemKind.choices],
        "by_department": [(row["department__name"] or "待上级机制转交", row["n"]) for row in by_department],
        "by_age": ages,
    }


def overdue_by_department(*, user, now: dt.datetime | None = None) -> list[dict]:
    """逾期督办's 批分单 rows: per department, the problems past its due moment (the same rule as
    Problem.is_overdue) and the oldest due moment."""
    now = now or timezone.now()
    return list(
        problem_list(user=user)
        .filter(state__in=(ProblemState.ROUTED, ProblemState.ACCEPTED), due_at__lt=now)
        .values("department_id", "department__name")
        .annotate(count=Count("id"), oldest_due=Min("due_at"))
        .order_by("department__name")
    )
