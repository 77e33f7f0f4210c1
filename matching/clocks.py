"""Deadline clocks (seed 004 五(六), seed 002 item 5): the bank's feedback within 5 working
days of the push, its credit decision within 30 days of complete materials, and its answer
to submitted materials (confirm them complete, or name what is missing) within 5 working days
of the enterprise's 材料已提交, after which the decision clock starts on its own (自动起算).

A clock starts on a transition, is satisfied by the transition that answers it, stops on
removal, and is never reset: which transition does what is the clock column of the workflow
table (matching/workflow.py), which `workflow.record` applies through
`clock_rules.apply_rule` (how clocks are scheduled and started lives there, below the table).
The periodic scan (`deadline_scan`) sends a reminder one working day before due, starts the
decision clock of materials left unconfirmed when their clock runs out (the table's
MATERIALS_AUTO_START row, applied here through the table), marks the other clocks overdue and
escalates at due (branch administrators and the county task force), and escalates to the
city mechanism five working days later; each step records its event (SCAN_EVENTS, and the
auto-start row's) on the lead's timeline. The scan is idempotent: a PostgreSQL advisory lock
keeps two beats apart, every step is a conditional update (a claim), and notifications carry
a unique key."""

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

from matching import hooks, workflow
from matching.clock_rules import WORKING_DAY_CLOCKS, schedule
from matching.models import (
    ClockKind,
    ClockState,
    DeadlineClock,
    DeadlineScan,
    EventKind,
    LeadOrigin,
    MaterialsStage,
    Notification,
    Recommendation,
    WorkflowEvent,
)
from portal.celery import app as celery_app
from portal.models import Membership, OrganisationKind, Role
from portal.tenancy import restrict
from workdays.arithmetic import local_date
from workdays.loader import calendar_from_db

SCAN_BATCH = 2000
# the scan enqueues the e-mails by the task's registered name (matching/tasks.py imports this module)
SEND_EMAILS_TASK = "matching.tasks.send_notification_emails"
SCAN_LOCK_KEY = 0x5CA7_0001  # pg advisory lock of the deadline scan

# the event each step of the deadline scan records on the lead's timeline (the auto-start of
# the decision clock records the workflow table's MATERIALS_AUTO_START event instead)
SCAN_EVENTS = {
    "remind": EventKind.CLOCK_REMINDER,
    "overdue": EventKind.CLOCK_OVERDUE,
    "escalate": EventKind.CLOCK_ESCALATED,
}
# clocks that never go overdue: when they run out, the scan applies their consequence
LAPSING_CLOCKS = (ClockKind.MATERIALS,)


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
        if clock.kind not in LAPSING_CLOCKS:  # a lapsed one is shown as 自动起算, never as late
            flags[f"{clock.kind}_overdue"] = clock.is_late
    return flags


# --- countdowns ------------------------------------------------------------------------------


def countdown(clock: DeadlineClock, now: dt.datetime | None = None) -> tuple[str, str]:
    """("剩余 2 个工作日" | "已逾期 3 天" | …, css class)."""
    now = now or timezone.now()
    today, due_date = local_date(now), local_date(clock.due_at)
    suffix = "(暂定)" if clock.provisional else ""
    if clock.state in (ClockState.SATISFIED, ClockState.STOPPED, ClockState.LAPSED):
        return "", ""
    if now > clock.due_at and clock.kind in LAPSING_CLOCKS:
        return "材料确认期满, 30 日授信时限自动起算", "text-danger fw-semibold"
    if now > clock.due_at:
        # due_at is the end of the due date, so an overdue clock is at least one day late
        return f"已逾期 {max((today - due_date).days, 1)} 天{suffix}", "text-danger fw-semibold"
    if clock.kind in WORKING_DAY_CLOCKS:
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
    origin: str  # LeadOrigin: a 直接申请 says so in its reminders and escalations


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
    "recommendation__origin",
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

        self._clocks = clocks
        self._enterprise: dict[int, set[int]] | None = None

    def enterprise(self, clock: _Due) -> set[int]:
        """The enterprise's users and whoever filed its declaration (staff filing on its
        behalf), looked up once per batch when a step first asks."""
        if self._enterprise is None:
            leads = list(
                Recommendation.objects.filter(pk__in={c.recommendation_id for c in self._clocks}).values_list(
                    "pk", "entity__organisation_id", "declaration__created_by_id"
                )
            )
            users = defaultdict(set)
            for org_id, user_id in Membership.objects.filter(
                organisation_id__in={org for _, org, _ in leads if org}, role=Role.ENTERPRISE_USER
            ).values_list("organisation_id", "user_id"):
                users[org_id].add(user_id)
            self._enterprise = {pk: users.get(org, set()) | {filer} for pk, org, filer in leads}
        return self._enterprise.get(clock.recommendation_id, set())

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


KIND_LABELS = {ClockKind.FEEDBACK: "反馈", ClockKind.DECISION: "授信决定", ClockKind.MATERIALS: "材料确认"}


def _kind_label(clock) -> str:
    """The clock's name; a direct application's feedback clock is the notice's reply (seed 002
    point 5: "小微“无贷户”授信申请原则上5个工作日内回复")."""
    if clock.origin == LeadOrigin.DIRECT and clock.kind == ClockKind.FEEDBACK:
        return "直接申请回复"
    return KIND_LABELS[clock.kind]


def _remind_title(clock) -> str:
    due = f"{timezone.localtime(clock.due_at):%Y-%m-%d}"
    if clock.kind in LAPSING_CLOCKS:
        return (
            f"材料确认时限将到: {clock.entity_name} 已提交申请材料, 请于 {due} 前确认收齐或列明需补充的材料, "
            "逾期 30 日授信时限自动起算"
        )
    return f"{_kind_label(clock)}时限将到: {clock.entity_name}, 须于 {due} 前办理"


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
            title=_remind_title,
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
            .exclude(kind__in=LAPSING_CLOCKS)
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


def _auto_start(now: dt.datetime, clock: _Due) -> bool:
    """Start the decision clock of one lead whose materials clock ran out (the workflow table's
    MATERIALS_AUTO_START row), under the lead's row lock: the lock the bank's own 材料已收齐 and
    补充材料 take. The clock is claimed first (RUNNING → LAPSED): a bank that answered in time,
    or a scan that got there first, leaves nothing to claim. A lead the row does not allow (the
    clock should have been answered or stopped with it) only has its clock stopped."""
    lead = (
        Recommendation.objects.select_for_update(of=("self",))
        .select_related("declaration")
        .get(pk=clock.recommendation_id)
    )
    if not DeadlineClock.objects.filter(pk=clock.id, state=ClockState.RUNNING).update(
        state=ClockState.LAPSED, overdue_at=now
    ):
        return False
    action = workflow.Action.MATERIALS_AUTO_START
    if workflow.state_refusal(action, lead) is not None:
        DeadlineClock.objects.filter(pk=clock.id).update(state=ClockState.STOPPED, stopped_at=now)
        return False
    workflow.apply(lead, action)
    submitted_at = lead.materials_submitted_at
    lead.materials_stage, lead.materials_complete_at = MaterialsStage.AUTO_STARTED, clock.due_at
    lead.save()
    workflow.record(
        action,
        declaration=lead.declaration,
        recommendation=lead,
        at=clock.due_at,
        submitted_at=submitted_at.isoformat() if submitted_at else None,
        started_at=clock.due_at.isoformat(),
    )
    return True


def _auto_start_notices(now: dt.datetime, clock: _Due, lookup: _Recipients) -> list[tuple]:
    """Who hears of an auto-start: the bank (the assigned account manager and the branch's
    administrators) and the enterprise (its users and whoever filed the declaration)."""
    decision = DeadlineClock.objects.get(recommendation_id=clock.recommendation_id, kind=ClockKind.DECISION)
    due = f"{timezone.localtime(decision.due_at):%Y-%m-%d}"
    started = f"{timezone.localtime(clock.due_at):%Y-%m-%d}"
    bank_title = (
        f"30 日授信时限已自动起算: {clock.entity_name} 提交申请材料后 5 个工作日内未确认收齐或要求补充, "
        f"须于 {due} 前作出授信决定"
    )
    entity_title = (
        f"{clock.bank_name}未在 5 个工作日内确认您提交的申请材料, 30 日授信时限已于 {started} 自动起算, "
        f"银行须于 {due} 前作出授信决定"
    )
    rows = []
    for user_id in ({clock.assigned_to_id} - {None}) | lookup.branch_admins(clock):
        rows.append(
            (
                user_id,
                bank_title[:200],
                f"/matching/leads/{clock.recommendation_id}/",
                f"clock-{clock.id}-auto:{user_id}",
                now,
            )
        )
    declaration = f"/matching/declarations/{clock.declaration_id}/"
    for user_id in lookup.enterprise(clock):
        rows.append((user_id, entity_title[:200], declaration, f"clock-{clock.id}-auto:{user_id}", now))
    return rows


def auto_start_decisions(now: dt.datetime) -> int:
    """Step 2 of the scan: materials the enterprise declared submitted (材料已提交) that the bank
    neither confirmed complete (材料已收齐) nor sent back for more (补充材料) within 5 working
    days (seed 004 五(六): the decision within 30 days of complete materials; the bank cannot
    hold that clock back). At the end of those days the 30-day decision clock starts (自动起算):
    the lead moves to 审批中 by the workflow table's MATERIALS_AUTO_START row, its event says
    so, the ledger shows it, and the bank and the enterprise are told (one notification per
    clock and recipient, unique key). Returns the leads started."""
    total = 0
    while True:
        clocks = [
            _Due(*row)
            for row in DeadlineClock.objects.filter(kind__in=LAPSING_CLOCKS, state=ClockState.RUNNING, due_at__lt=now)
            .order_by("id")
            .values_list(*_DUE_FIELDS)[:SCAN_BATCH]
        ]
        if not clocks:
            return total
        lookup = _Recipients(clocks)
        notifications = []
        for clock in clocks:
            if _auto_start(now, clock):
                total += 1
                notifications += _auto_start_notices(now, clock, lookup)
        new_ids = _insert_notifications(notifications)
        if new_ids:
            transaction.on_commit(lambda ids=new_ids: _enqueue_emails(ids))
        if len(clocks) < SCAN_BATCH:
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
    """One scan: reminders, auto-starts of decision clocks whose materials went unconfirmed,
    overdue marks with escalation, second escalations (the four steps above, in this order, in
    one transaction). Batches of SCAN_BATCH per step, each step repeated until nothing is due."""
    now = now or timezone.now()
    scan = DeadlineScan.objects.create(started_at=now)
    with transaction.atomic():
        if not _try_lock():
            DeadlineScan.objects.filter(pk=scan.pk).update(skipped=True, finished_at=timezone.now())
            scan.skipped = True
            return scan
        totals = {
            "reminders": remind_due(now),
            "auto_started": auto_start_decisions(now),
            "overdue": mark_overdue(now),
            "escalations": escalate_overdue(now),
        }
        DeadlineScan.objects.filter(pk=scan.pk).update(finished_at=timezone.now(), **totals)
    for key, value in totals.items():
        setattr(scan, key, value)
    return scan


# --- reads for regulators -------------------------------------------------------------------


def overdue_by_branch(*, user):
    """Overdue clocks per bank and branch with the oldest age, for 逾期督办."""

    return (
        restrict(DeadlineClock.objects.filter(state=ClockState.OVERDUE), user)
        .values("recommendation__bank__name", "recommendation__branch__name", "recommendation__branch_id", "kind")
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
