"""Deadline clocks (seed 004 五(六), seed 002 item 5): the bank's feedback within 5 working
days of the push, and its credit decision within 30 days of complete materials.

A clock starts on a transition, is satisfied by the transition that answers it, stops on
removal, and is never reset: which transition does what is the clock column of the workflow
table (matching/workflow.py), which `workflow.record` applies here through `apply_rule`.
The periodic scan (`deadline_scan`) sends a reminder one working day before due, marks
overdue and escalates at due (branch administrators and the county task force), and
escalates to the city mechanism five working days later; each step records its event
(SCAN_EVENTS) on the lead's timeline. The scan is idempotent: a PostgreSQL advisory lock keeps two beats
apart, every step is a conditional update, and notifications carry a unique key."""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import Count, F, Min, Q
from django.utils import timezone
from psycopg2.extras import execute_values

from matching import hooks
from matching.models import (
    ClockKind,
    ClockState,
    DeadlineClock,
    DeadlineScan,
    EventKind,
    Notification,
    Recommendation,
    WorkflowEvent,
)
from portal.celery import app as celery_app
from portal.models import Membership, OrganisationKind, Role
from portal.tenancy import restrict
from workdays.arithmetic import SHANGHAI, due_after_calendar_days, end_of_local_day, local_date
from workdays.loader import calendar_from_db

FEEDBACK_WORKING_DAYS = 5
DECISION_CALENDAR_DAYS = 30
ESCALATION_WORKING_DAYS = 5
SCAN_BATCH = 2000
# the scan enqueues the e-mails by the task's registered name (matching/tasks.py imports this module)
SEND_EMAILS_TASK = "matching.tasks.send_notification_emails"
SCAN_LOCK_KEY = 0x5CA7_0001  # pg advisory lock of the deadline scan

# the event each step of the deadline scan records on the lead's timeline
SCAN_EVENTS = {
    "remind": EventKind.CLOCK_REMINDER,
    "overdue": EventKind.CLOCK_OVERDUE,
    "escalate": EventKind.CLOCK_ESCALATED,
}


def _start_of_local_day(d: dt.date) -> dt.datetime:
    return dt.datetime.combine(d, dt.time.min, tzinfo=SHANGHAI)


def schedule(kind: str, started_at: dt.datetime) -> dict:
    """due_at, remind_at, escalate_at and whether any of them is provisional."""
    calendar = calendar_from_db()
    if kind == ClockKind.FEEDBACK:
        due_at, provisional = calendar.due_after_working_days_provisional(started_at, FEEDBACK_WORKING_DAYS)
    else:
        due_at, provisional = due_after_calendar_days(started_at, DECISION_CALENDAR_DAYS), False
    due_date = local_date(due_at)
    remind_date, p1 = calendar.add_working_days_provisional(due_date, -1)
    escalate_date, p2 = calendar.add_working_days_provisional(due_date, ESCALATION_WORKING_DAYS)
    remind_at = max(_start_of_local_day(remind_date), started_at)
    return {
        "due_at": due_at,
        "remind_at": remind_at,
        "escalate_at": end_of_local_day(escalate_date),
        "provisional": provisional or p1 or p2,
    }


def clock_start(recommendation: Recommendation, kind: str, started_at: dt.datetime) -> DeadlineClock:
    clock, _ = DeadlineClock.objects.get_or_create(
        recommendation=recommendation, kind=kind, defaults={"started_at": started_at, **schedule(kind, started_at)}
    )
    return clock


def apply_rule(recommendation: Recommendation, rule, at: dt.datetime) -> None:
    """Apply one transition's clock rule (a workflow.Clock: `start`, `satisfy`, `stop`) to the
    lead at the transition's moment `at`."""
    open_states = [ClockState.RUNNING, ClockState.OVERDUE]
    for kind in rule.start:
        clock_start(recommendation, kind, at)
    if rule.satisfy:
        DeadlineClock.objects.filter(
            recommendation=recommendation, kind__in=rule.satisfy, state__in=open_states
        ).update(state=ClockState.SATISFIED, satisfied_at=at)
    if rule.stop:
        DeadlineClock.objects.filter(recommendation=recommendation, state__in=open_states).update(
            state=ClockState.STOPPED, stopped_at=at
        )


@transaction.atomic
def recompute_provisional(year: int | None = None) -> int:
    """After an administrator enters a year: recompute the clocks whose dates were guessed
    (and tell the statistics index, which carries the due moments: hooks.ledger_changed)."""
    changed = 0
    for clock in DeadlineClock.objects.filter(
        provisional=True, state__in=[ClockState.RUNNING, ClockState.OVERDUE]
    ).iterator():
        values = schedule(clock.kind, clock.started_at)
        DeadlineClock.objects.filter(pk=clock.pk, provisional=True).update(**values)
        changed += 1
    if changed:
        hooks.ledger_changed()
    return changed


def overdue_flags(recommendation: Recommendation) -> dict:
    """Whether each stored clock ran late: overdue now, or answered after its due moment.
    None when the clock never started (e.g. no decision clock before materials are complete).
    Reads `recommendation.clocks` (prefetch it for many)."""
    flags = {"feedback_overdue": None, "decision_overdue": None}
    for clock in recommendation.clocks.all():
        flags[f"{clock.kind}_overdue"] = clock.is_late
    return flags


# --- countdowns ------------------------------------------------------------------------------


def countdown(clock: DeadlineClock, now: dt.datetime | None = None) -> tuple[str, str]:
    """("剩余 2 个工作日" | "已逾期 3 天" | …, css class)."""
    now = now or timezone.now()
    today, due_date = local_date(now), local_date(clock.due_at)
    suffix = "(暂定)" if clock.provisional else ""
    if clock.state in (ClockState.SATISFIED, ClockState.STOPPED):
        return "", ""
    if now > clock.due_at:
        # due_at is the end of the due date, so an overdue clock is at least one day late
        return f"已逾期 {max((today - due_date).days, 1)} 天{suffix}", "text-danger fw-semibold"
    if clock.kind == ClockKind.FEEDBACK:
        remaining, provisional = calendar_from_db().working_days_between_provisional(today, due_date)
        label = f"剩余 {remaining} 个工作日" if remaining else "今日到期"
        return (
            f"{label}{'(暂定)' if (provisional or clock.provisional) else ''}",
            "text-danger" if remaining <= 1 else "text-warning" if remaining <= 2 else "text-muted",
        )
    remaining = (due_date - today).days
    label = f"剩余 {remaining} 天" if remaining else "今日到期"
    return f"{label}{suffix}", "text-danger" if remaining <= 1 else "text-warning" if remaining <= 5 else "text-muted"


def annotate_countdowns(
    recommendations: Iterable[Recommendation], now: dt.datetime | None = None
) -> list[Recommendation]:
    """Attach `clock_label`/`clock_class` (the most urgent open clock) to each recommendation."""
    items = list(recommendations)
    clocks = defaultdict(list)
    for clock in DeadlineClock.objects.filter(
        recommendation__in=[r.pk for r in items], state__in=[ClockState.RUNNING, ClockState.OVERDUE]
    ):
        clocks[clock.recommendation_id].append(clock)
    for item in items:
        open_clocks = sorted(clocks.get(item.pk, []), key=lambda c: c.due_at)
        item.clock_label, item.clock_class = countdown(open_clocks[0], now) if open_clocks else ("", "")
    return items


# --- the periodic scan -------------------------------------------------------------------------


def _try_lock() -> bool:
    if connection.vendor != "postgresql":
        return True
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [SCAN_LOCK_KEY])
        return bool(cursor.fetchone()[0])


@dataclass(frozen=True)
class _Due:
    """What the scan needs of one clock, read as plain values (no model instances: a scan
    handles thousands of clocks at once)."""

    id: int
    kind: str
    due_at: dt.datetime
    recommendation_id: int
    declaration_id: int
    assigned_to_id: int | None
    branch_path: str
    task_force_id: int
    region_id: str
    entity_name: str
    bank_name: str


_DUE_FIELDS = (
    "id",
    "kind",
    "due_at",
    "recommendation_id",
    "recommendation__declaration_id",
    "recommendation__assigned_to_id",
    "recommendation__branch__organisation__path",
    "recommendation__declaration__task_force_id",
    "recommendation__region_id",
    "recommendation__entity__name",
    "recommendation__bank__name",
)


class _Recipients:
    """Who hears of a clock, looked up once per batch."""

    def __init__(self, clocks: list[_Due]):
        ancestor_ids = {int(p) for c in clocks for p in c.branch_path.strip("/").split("/") if p}
        self.bank_admins = defaultdict(set)
        for org_id, user_id in Membership.objects.filter(
            organisation_id__in=ancestor_ids, role=Role.BANK_ADMIN
        ).values_list("organisation_id", "user_id"):
            self.bank_admins[org_id].add(user_id)
        task_forces = {c.task_force_id for c in clocks}
        self.staff = defaultdict(set)
        for org_id, user_id in Membership.objects.filter(
            organisation_id__in=task_forces, role__in=[Role.TASK_FORCE_STAFF, Role.TASK_FORCE_LEAD]
        ).values_list("organisation_id", "user_id"):
            self.staff[org_id].add(user_id)
        cities = {c.region_id[:4] + "00" for c in clocks}
        self.city = defaultdict(set)
        for region_id, user_id in Membership.objects.filter(
            organisation__kind=OrganisationKind.CITY_MECHANISM,
            organisation__region_id__in=cities,
            role=Role.CITY_REGULATOR,
        ).values_list("organisation__region_id", "user_id"):
            self.city[region_id].add(user_id)

    def branch_admins(self, clock: _Due) -> set[int]:
        return {u for p in clock.branch_path.strip("/").split("/") if p for u in self.bank_admins.get(int(p), ())}

    def task_force(self, clock: _Due) -> set[int]:
        return self.staff.get(clock.task_force_id, set())

    def city_of(self, clock: _Due) -> set[int]:
        return self.city.get(clock.region_id[:4] + "00", set())


def _insert_notifications(rows: list[tuple]) -> list[int]:
    """(recipient, title, url, dedupe_key, created_at) rows; those already sent are skipped.
    Returns the ids of the new ones, to email."""
    if not rows:
        return []
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            new = execute_values(
                cursor,
                "INSERT INTO matching_notification (recipient_id, title, url, dedupe_key, created_at, body) VALUES %s "
                "ON CONFLICT (dedupe_key) DO NOTHING RETURNING id",
                rows,
                template="(%s, %s, %s, %s, %s, '')",
                page_size=2000,
                fetch=True,
            )
        return [r[0] for r in new]
    Notification.objects.bulk_create(
        [Notification(recipient_id=r[0], title=r[1], url=r[2], dedupe_key=r[3]) for r in rows],
        ignore_conflicts=True,
    )
    return list(
        Notification.objects.filter(dedupe_key__in=[r[3] for r in rows], emailed_at__isnull=True).values_list(
            "pk", flat=True
        )
    )


def _insert_events(rows: list[tuple]) -> None:
    """(declaration, recommendation, kind, data json, created_at) rows."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            execute_values(
                cursor,
                "INSERT INTO matching_workflowevent (declaration_id, recommendation_id, kind, data, created_at) "
                "VALUES %s",
                rows,
                template="(%s, %s, %s, %s::jsonb, %s)",
                page_size=2000,
            )
    else:
        WorkflowEvent.objects.bulk_create(
            [
                WorkflowEvent(declaration_id=d, recommendation_id=r, kind=k, data=json.loads(data), created_at=at)
                for d, r, k, data, at in rows
            ]
        )
    if rows:
        hooks.ledger_changed()


def _step(now, *, name: str, queryset, claim: dict, recipients, title) -> int:
    ids = list(queryset.order_by("id").values_list("id", flat=True)[:SCAN_BATCH])
    if not ids:
        return 0
    # the claim is conditional on the step not having run: a second scan finds nothing to claim
    filters = {f"{next(iter(claim))}__isnull": True}
    claimed = DeadlineClock.objects.filter(pk__in=ids, **filters).update(**claim)
    if not claimed:
        return 0
    clocks = [_Due(*row) for row in DeadlineClock.objects.filter(pk__in=ids).values_list(*_DUE_FIELDS)]
    lookup = _Recipients(clocks)
    kind = SCAN_EVENTS[name].value
    notifications, events = [], []
    for clock in clocks:
        text = title(clock)[:200]
        url = f"/matching/leads/{clock.recommendation_id}/"
        for user_id in recipients(clock, lookup):
            notifications.append((user_id, text, url, f"clock-{clock.id}-{name}:{user_id}", now))
        events.append(
            (
                clock.declaration_id,
                clock.recommendation_id,
                kind,
                json.dumps({"clock": clock.kind, "due_at": clock.due_at.isoformat()}),
                now,
            )
        )
    _insert_events(events)
    new_ids = _insert_notifications(notifications)
    if new_ids:
        transaction.on_commit(lambda: _enqueue_emails(new_ids))
    return len(clocks)


def _enqueue_emails(ids: list[int]) -> None:
    try:
        celery_app.send_task(SEND_EMAILS_TASK, args=(ids,))
    except Exception:  # broker down: the sweep sends them later
        pass


def _kind_label(clock) -> str:
    return "反馈" if clock.kind == ClockKind.FEEDBACK else "授信决定"


def remind_due(now: dt.datetime) -> int:
    """Step 1 of the scan: a reminder one working day before due, to the assigned account
    manager and the branch's administrators. Returns the clocks reminded."""
    total = 0
    while True:
        n = _step(
            now,
            name="remind",
            queryset=DeadlineClock.objects.filter(
                state=ClockState.RUNNING, reminded_at__isnull=True, remind_at__lte=now, due_at__gt=now
            ),
            claim={"reminded_at": now},
            recipients=lambda c, r: ({c.assigned_to_id} - {None}) | r.branch_admins(c),
            title=lambda c: f"{_kind_label(c)}时限将到: {c.entity_name}, 须于 "
            f"{timezone.localtime(c.due_at):%Y-%m-%d} 前办理",
        )
        total += n
        if n < SCAN_BATCH:
            return total


def mark_overdue(now: dt.datetime) -> int:
    """Step 2: running clocks past due become overdue, escalated to the branch's
    administrators and the county task force. Returns the clocks marked."""
    total = 0
    while True:
        ids = list(
            DeadlineClock.objects.filter(state=ClockState.RUNNING, due_at__lt=now)
            .order_by("id")
            .values_list("id", flat=True)[:SCAN_BATCH]
        )
        if not ids:
            return total
        DeadlineClock.objects.filter(pk__in=ids, state=ClockState.RUNNING).update(state=ClockState.OVERDUE)
        total += _step(
            now,
            name="overdue",
            queryset=DeadlineClock.objects.filter(pk__in=ids, overdue_at__isnull=True),
            claim={"overdue_at": now},
            recipients=lambda c, r: r.branch_admins(c) | r.task_force(c),
            title=lambda c: f"{_kind_label(c)}已逾期: {c.bank_name} · {c.entity_name}",
        )
        if len(ids) < SCAN_BATCH:
            return total


def escalate_overdue(now: dt.datetime) -> int:
    """Step 3: overdue clocks five working days past due, escalated to the city mechanism.
    Returns the clocks escalated."""
    total = 0
    while True:
        n = _step(
            now,
            name="escalate",
            queryset=DeadlineClock.objects.filter(
                state=ClockState.OVERDUE, escalated_at__isnull=True, escalate_at__lte=now
            ),
            claim={"escalated_at": now},
            recipients=lambda c, r: r.city_of(c),
            title=lambda c: f"逾期升级督办: {c.bank_name} · {c.entity_name}({_kind_label(c)}逾期 5 个工作日未办)",
        )
        total += n
        if n < SCAN_BATCH:
            return total


def deadline_scan(now: dt.datetime | None = None) -> DeadlineScan:
    """One scan: reminders, overdue marks with escalation, second escalations (the three
    steps above, in this order, in one transaction). Batches of SCAN_BATCH per step, each
    step repeated until nothing is due."""
    now = now or timezone.now()
    scan = DeadlineScan.objects.create(started_at=now)
    with transaction.atomic():
        if not _try_lock():
            DeadlineScan.objects.filter(pk=scan.pk).update(skipped=True, finished_at=timezone.now())
            scan.skipped = True
            return scan
        totals = {"reminders": remind_due(now), "overdue": mark_overdue(now), "escalations": escalate_overdue(now)}
        DeadlineScan.objects.filter(pk=scan.pk).update(finished_at=timezone.now(), **totals)
    for key, value in totals.items():
        setattr(scan, key, value)
    return scan


# --- reads for regulators -------------------------------------------------------------------


def overdue_by_branch(*, user):
    """Overdue clocks per bank and branch with the oldest age, for 逾期督办."""

    return (
        restrict(DeadlineClock.objects.filter(state=ClockState.OVERDUE), user)
        .values("recommendation__bank__name", "recommendation__branch__name", "kind")
        .annotate(count=Count("id"), oldest_due=models_min("due_at"))
        .order_by("recommendation__bank__name", "recommendation__branch__name")
    )


def late_feedback_counts(*, user, start: dt.datetime, end: dt.datetime):
    """Per bank: feedback clocks due in [start, end) and how many were answered late or not at all."""

    return (
        restrict(DeadlineClock.objects.filter(kind=ClockKind.FEEDBACK, due_at__gte=start, due_at__lt=end), user)
        .exclude(state=ClockState.STOPPED)
        .values("recommendation__bank__name")
        .annotate(
            total=Count("id"),
            late=Count("id", filter=Q(state=ClockState.OVERDUE) | Q(satisfied_at__gt=F("due_at"))),
        )
        .order_by("-late", "recommendation__bank__name")
    )


def models_min(field):
    return Min(field)
