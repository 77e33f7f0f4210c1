"""Coverage of a 大走访 campaign (seed 004 二(四): "11 月 20 日前对辖区内小微企业融资需求摸排一遍"), computed
from matching's tables, never copied: a target (not excluded) counts as

* visited — a visit of its entity was recorded (matching.Visit) since the campaign started, by
  whoever recorded it (the task force, the visitor given it, a bank's account manager);
* with a need — one of those visits found a financing need;
* with a declaration — a declaration of its entity was created since the campaign started;
* overdue — not visited, and its assignment's due date or the campaign's deadline has passed.

`as_of` counts what was known at that moment (targets added, assignments open, visits and
declarations recorded by then): the KPIs as of a past date read the same function. Days left are
calendar days to the deadline (the notice names a date), the deadline day counted."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Exists, F, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from campaigns.models import Assignment, Target
from matching.models import Declaration, Visit
from workdays.arithmetic import local_date


@dataclass
class Figures:
    targets: int = 0
    assigned: int = 0
    visited: int = 0
    with_need: int = 0
    declared: int = 0
    overdue: int = 0
    excluded: int = 0

    @property
    def unvisited(self) -> int:
        return self.targets - self.visited

    @property
    def rate(self) -> float:
        """走访覆盖率 in per cent (one decimal)."""
        return round(100 * self.visited / self.targets, 1) if self.targets else 0.0

    def add(self, row: dict) -> None:
        if row["excluded"]:
            self.excluded += 1
            return
        self.targets += 1
        self.assigned += bool(row["visitor_id"])
        self.visited += row["visited"]
        self.with_need += row["with_need"]
        self.declared += row["declared"]
        self.overdue += row["overdue"]


@dataclass
class Coverage:
    total: Figures = field(default_factory=Figures)
    by_county: dict = field(default_factory=lambda: defaultdict(Figures))
    by_township: dict = field(default_factory=lambda: defaultdict(Figures))
    by_visitor: dict = field(default_factory=lambda: defaultdict(Figures))

    def seed(self, county_codes) -> None:
        """Give every county the campaign covers a row, even one whose task force has not yet
        built its 走访目标企业清单 (no target at all): the city sees who has not started."""
        for code in county_codes:
            self.by_county[code]  # noqa: B018 (the defaultdict creates the empty row)

    @property
    def counties_without_list(self) -> list[str]:
        """Covered counties with no target yet (none listed, none excluded): 未生成清单."""
        return sorted(code for code, f in self.by_county.items() if not f.targets and not f.excluded)


def annotated(targets: QuerySet[Target], *, as_of: dt.datetime | None = None) -> QuerySet[Target]:
    """The targets with their coverage flags as of `as_of` (now by default)."""
    as_of = as_of or timezone.now()
    visits = Visit.objects.filter(
        entity_id=OuterRef("entity_id"), created_at__gte=OuterRef("campaign__started_at"), created_at__lte=as_of
    )
    declarations = Declaration.objects.filter(
        entity_id=OuterRef("entity_id"), created_at__gte=OuterRef("campaign__started_at"), created_at__lte=as_of
    )
    open_assignment = Assignment.objects.filter(target_id=OuterRef("pk"), assigned_at__lte=as_of).filter(
        Q(ended_at__isnull=True) | Q(ended_at__gt=as_of)
    )
    return targets.filter(added_at__lte=as_of, campaign__started_at__isnull=False).annotate(
        visited=Exists(visits),
        with_need=Exists(visits.filter(need_found=True)),
        declared=Exists(declarations),
        visitor_id=Subquery(open_assignment.order_by("-assigned_at").values("visitor_id")[:1]),
        due_on=Subquery(open_assignment.order_by("-assigned_at").values("due_on")[:1]),
    )


def _overdue(row: dict, today: dt.date) -> bool:
    if row["visited"] or row["excluded"]:
        return False
    return row["deadline"] < today or (row["due_on"] is not None and row["due_on"] < today)


FIELDS = ("region_id", "township_id", "excluded", "visited", "with_need", "declared", "visitor_id", "due_on")


def compute(targets: QuerySet[Target], *, as_of: dt.datetime | None = None) -> Coverage:
    """Coverage of `targets` (already restricted by the caller) per county, township and visitor."""
    today = local_date(as_of) if as_of else timezone.localdate()
    result = Coverage()
    for row in annotated(targets, as_of=as_of).values(*FIELDS, deadline=F("campaign__deadline")):
        row["overdue"] = _overdue(row, today)
        for figures in (
            result.total,
            result.by_county[row["region_id"]],
            result.by_township[(row["region_id"], row["township_id"])],
            result.by_visitor[row["visitor_id"]],
        ):
            figures.add(row)
    return result


def overdue_targets(targets: QuerySet[Target], *, today: dt.date | None = None) -> QuerySet[Target]:
    """The targets not yet visited whose assignment's due date or campaign's deadline passed."""
    today = today or timezone.localdate()
    rows = annotated(targets).filter(visited=False, excluded=False)
    return rows.filter(Q(campaign__deadline__lt=today) | Q(due_on__lt=today))
