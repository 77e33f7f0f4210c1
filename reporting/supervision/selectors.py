"""Reads of supervision, every queryset restricted for the user: the 逾期督办 drill-down (the
overdue leads and 批分单 behind each count of the 逾期督办 page) and the 督办单 lists."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.utils import timezone

from coordination.models import DEPARTMENT_STATES, Problem
from coordination.selectors import problem_list
from entities.restrictions import region_range_q
from matching.models import ClockKind, ClockState, DeadlineClock, Recommendation
from portal.models import Organisation
from portal.tenancy import VIEW, resolve, restrict, scope_for
from reporting.models import SupervisionEvent, SupervisionOrder, SupervisionState
from reporting.supervision.policy import TARGET_KINDS


def overdue_clocks(*, user, branch_id=None, kind: str | None = None) -> QuerySet[DeadlineClock]:
    """The overdue clocks (leads) behind 逾期督办's counts: one row per clock, as counted there."""
    qs = restrict(DeadlineClock.objects.filter(state=ClockState.OVERDUE), user).select_related(
        "recommendation__entity", "recommendation__bank", "recommendation__branch"
    )
    if branch_id is not None:
        qs = qs.filter(recommendation__branch_id=branch_id)
    if kind in ClockKind.values:
        qs = qs.filter(kind=kind)
    return qs.order_by("due_at", "id")


def problems_overdue_q(moment) -> Q:
    """批分单 with a department, past its due moment at `moment` (coordination's own rule, read only)."""
    return Q(state__in=DEPARTMENT_STATES, due_at__lt=moment)


def overdue_problems(*, user, department_id=None) -> QuerySet[Problem]:
    """Open 批分单 past their department's due moment."""
    qs = problem_list(user=user).filter(problems_overdue_q(timezone.now()))
    if department_id is not None:
        qs = qs.filter(department_id=department_id)
    return qs.order_by("due_at", "id")


def targets_for(*, user) -> QuerySet[Organisation]:
    """The organisations a regulator may issue a 督办单 to: branches and departments of its region."""
    scope = scope_for(user)
    if scope is None or not scope.region_prefix:
        return Organisation.objects.none()
    qs = Organisation.objects.filter(kind__in=TARGET_KINDS, is_active=True).filter(
        region_range_q(scope.region_prefix, "region_id")
    )
    return restrict(qs, user, VIEW).order_by("kind", "name")


# a 督办单 not yet answered or closed
ORDERS_OPEN_Q = Q(state=SupervisionState.ISSUED) | Q(state=SupervisionState.ACKNOWLEDGED)


def _issued_by(moment) -> Q:
    return Q(created_at__lte=moment)


def _unanswered_at(moment) -> Q:
    return Q(answered_at__isnull=True) | Q(answered_at__gt=moment)


def orders_overdue_q(moment) -> Q:
    """督办单 issued by `moment`, unanswered then and past their reply deadline (orders_as_of's
    "overdue", as one condition)."""
    return _issued_by(moment) & _unanswered_at(moment) & Q(due_at__lt=moment)


def order_list(*, user, state: str | None = None, open_only: bool = False) -> QuerySet[SupervisionOrder]:
    qs = restrict(SupervisionOrder.objects.select_related("target", "issuer", "region"), user, VIEW)
    if state in SupervisionState.values:
        qs = qs.filter(state=state)
    if open_only:
        qs = qs.filter(ORDERS_OPEN_Q)
    return qs.order_by("-created_at", "-id")


def order_get(*, user, pk) -> SupervisionOrder:
    return resolve(
        SupervisionOrder.objects.select_related("target", "issuer", "region", "issued_by"), user, VIEW, pk=pk
    )


def order_events(*, user, order: SupervisionOrder) -> QuerySet[SupervisionEvent]:
    return restrict(SupervisionEvent.objects.select_related("actor"), user, VIEW).filter(order=order)


def order_items(*, user, order: SupervisionOrder) -> dict:
    """The items the order names, as the user may see them."""
    return {
        "leads": restrict(Recommendation.objects.select_related("entity", "branch"), user, VIEW).filter(
            pk__in=order.leads.values("pk")
        ),
        "problems": problem_list(user=user).filter(pk__in=order.problems.values("pk")),
    }


def orders_as_of(*, user, moment, region: str = "") -> dict[str, QuerySet[SupervisionOrder]]:
    """督办单 as they stood at `moment` (the 工作简报's overdue items): issued by then; unanswered
    then; of those, past their reply deadline. `region`: a region code prefix (the issuer's
    region or the target's)."""
    qs = order_list(user=user).filter(_issued_by(moment))
    if region:
        qs = qs.filter(region_range_q(region, "region_id") | region_range_q(region, "target__region_id"))
    unanswered = qs.filter(_unanswered_at(moment))
    return {"issued": qs, "unanswered": unanswered, "overdue": unanswered.filter(due_at__lt=moment)}
