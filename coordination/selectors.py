"""Reads of 批分单; every queryset is restricted for the user (portal.tenancy.restrict)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass

from django.db.models import Count, Min, Q, QuerySet
from django.utils import timezone

from coordination import notices, policy
from coordination.models import (
    DEPARTMENT_STATES,
    Problem,
    ProblemEvent,
    ProblemEventKind,
    ProblemKind,
    ProblemLevel,
    ProblemState,
)
from coordination.policy import Action, actor_level
from entities.restrictions import region_range_q
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
        "can_open_problem": policy.TABLE.may(Action.OPEN, user),
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


# the state a problem is in after each step on its timeline (the table's rows; the scan's steps
# change no state)
EVENT_STATE = {r.event: r.target for r in policy.TABLE.rules}
ROUTING_EVENTS = (ProblemEventKind.OPENED, ProblemEventKind.ROUTED)
# the dashboard's 批分单 figures: name → label (the drill-down's title too)
PROBLEM_FIGURES = {"open": "未办结", "overdue": "部门逾期", "closed": "已办结"}


@dataclass(frozen=True)
class ProblemAsOf:
    """A problem as it stood at a moment: its state and department then, and whether its
    department's working-day deadline had passed."""

    problem: Problem
    state: str
    department_name: str
    overdue: bool
    age_days: int

    @property
    def state_label(self) -> str:
        return ProblemState(self.state).label

    @property
    def is_open(self) -> bool:
        """未办结: not closed (an answered problem awaits the mechanism's 办结)."""
        return self.state != ProblemState.CLOSED


def problems_as_of(
    *,
    user,
    moment: dt.datetime | None = None,
    opened_from: dt.date | None = None,
    opened_to: dt.date | None = None,
    region: str = "",
) -> list[ProblemAsOf]:
    """The problems the user may see that were filled in by `moment` (in the period
    opened_from..opened_to, local dates, and the region prefix when given), each as it stood
    then, read from its timeline (ProblemEvent: each step's state is the policy table's target,
    its department the one then holding it). A department's deadline had passed at the moment when
    the routing then running is the latest one and its due moment is before it, or, for an
    earlier routing, when the escalation scan recorded 逾期督办 for it by then."""
    now = moment or timezone.now()
    qs = problem_list(user=user).filter(created_at__lte=now)
    zone = timezone.get_current_timezone()
    if opened_from:
        qs = qs.filter(created_at__gte=dt.datetime.combine(opened_from, dt.time.min, tzinfo=zone))
    if opened_to:
        qs = qs.filter(created_at__lt=dt.datetime.combine(opened_to + dt.timedelta(days=1), dt.time.min, tzinfo=zone))
    if region:
        qs = qs.filter(region_range_q(region, "region_id"))
    problems = {p.pk: p for p in qs}
    timelines: dict[int, list] = {pk: [] for pk in problems}
    events = ProblemEvent.objects.filter(problem_id__in=problems).order_by("created_at", "id")
    for pk, kind, department, at in events.values_list("problem_id", "kind", "department__name", "created_at"):
        timelines[pk].append((kind, department, at))
    out = []
    for pk, problem in problems.items():
        timeline = timelines[pk]
        known = [e for e in timeline if e[2] <= now]
        state, department, routing, overdue_seen = ProblemState.ROUTED, "", None, False
        for kind, dept, _at in known:
            if kind in EVENT_STATE:
                state, department = EVENT_STATE[kind], dept or ""
            if kind in ROUTING_EVENTS:
                routing, overdue_seen = _at, False
            if kind == ProblemEventKind.OVERDUE:
                overdue_seen = True
        latest_routing = max((e[2] for e in timeline if e[0] in ROUTING_EVENTS), default=None)
        if state not in DEPARTMENT_STATES:
            overdue = False
        elif routing is not None and routing == latest_routing and problem.due_at is not None:
            overdue = problem.due_at < now
        else:
            overdue = overdue_seen
        age = (now - problem.created_at).days
        out.append(ProblemAsOf(problem, state, department, overdue, age))
    return sorted(out, key=lambda r: (r.problem.created_at, r.problem.pk), reverse=True)


def problem_records(rows: list[ProblemAsOf], figure: str, *, kind: str = "", department: str = "") -> list:
    """The problems behind one figure (PROBLEM_FIGURES) of `problems_as_of`'s rows, optionally of one
    kind or one department (its name as shown; "" for any)."""
    if figure == "open":
        picked = [r for r in rows if r.is_open]
    elif figure == "overdue":
        picked = [r for r in rows if r.is_open and r.overdue]
    elif figure == "closed":
        picked = [r for r in rows if r.state == ProblemState.CLOSED]
    else:
        return []
    if kind:
        picked = [r for r in picked if r.problem.kind == kind]
    if department:
        picked = [r for r in picked if (r.department_name or UNROUTED) == department]
    return picked


UNROUTED = "待上级机制转交"


def problem_figures(
    *,
    user,
    now: dt.datetime | None = None,
    opened_from: dt.date | None = None,
    opened_to: dt.date | None = None,
    region: str = "",
) -> dict:
    """The dashboard's 批分单 panel: of the problems filled in during the period (all when no
    period), those not yet closed at the moment by kind, by department and by age, the overdue
    ones and the closed ones, within the user's restriction, as they stood at the moment."""
    now = now or timezone.now()
    rows = problems_as_of(user=user, moment=now, opened_from=opened_from, opened_to=opened_to, region=region)
    unfinished = problem_records(rows, "open")
    by_kind = Counter(r.problem.kind for r in unfinished)
    by_department = Counter(r.department_name or UNROUTED for r in unfinished)
    ages = []
    for low, high, label in AGE_BUCKETS:
        ages.append((label, sum(1 for r in unfinished if r.age_days >= low and (high is None or r.age_days < high))))
    return {
        "total": len(unfinished),
        "overdue": len(problem_records(rows, "overdue")),
        "closed": len(problem_records(rows, "closed")),
        "by_kind": [(label, by_kind.get(value, 0)) for value, label in ProblemKind.choices],
        "by_department": sorted(by_department.items(), key=lambda item: (-item[1], item[0])),
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
