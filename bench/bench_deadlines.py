"""Benchmark: one deadline scan over 200,000 open clocks, with work for each of its three steps.

Run by `make bench-deadlines` (scripts/bench.sh: throwaway PostgreSQL, migrated). Builds, not
timed, the demo county's organisations and users (`products.demo`, `portal.demo`: the 泽州
task force, 中国银行's 晋城 and 泽州 branches and their administrator, the 晋城 city
mechanism) and, set-based, `--clocks` pushed recommendations each with a feedback clock, of
which, at the scan's moment:
* `--reminders` (2,000) are a working day from due: the reminder step notifies the branch's
  administrator;
* `--overdue` (2,000) are past due: the overdue step marks them and notifies the branch's
  administrator and the task force (staff and lead);
* `--escalations` (1,000) have been overdue for five working days: the escalation step
  notifies the city mechanism;
* the rest run for days.
The statistics index (reporting.facts) is then built, not timed, as a running portal keeps it
(its writes sync it after each commit). Then times, on this process's clock,
`deadline_scan()` — the function beat runs — from the call until it has committed and the
index has folded its events (the sync that runs right after its commit), and each of its three
steps and that sync inside it; checks that each step did exactly its share, and times a
second scan, which must find nothing left to do.

Floor: the same writes as plain set-based SQL, in one transaction on copies of the tables
made before the scan: one UPDATE per step on a copy of the clocks (same indexes) and one
INSERT … SELECT per step of the notifications and events the scan wrote into unindexed
tables. Prints, last, one JSON line of figures (benchlib).
"""

import argparse
import datetime as dt
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

import django  # noqa: E402

django.setup()

from benchlib import Figures, insert_select, literal, log, timed  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection, transaction  # noqa: E402

from entities.models import MarketEntity  # noqa: E402
from entities.synthetic import Generator, insert_entities  # noqa: E402
from matching import clocks  # noqa: E402
from matching.models import (  # noqa: E402
    ClockState,
    DeadlineClock,
    DeadlineScan,
    Declaration,
    Notification,
    Recommendation,
    RecommendationBatch,
    WorkflowEvent,
)
from portal import demo as portal_demo  # noqa: E402
from portal.models import Organisation  # noqa: E402
from products import demo as products_demo  # noqa: E402
from products.models import BankBranch  # noqa: E402
from reporting import facts  # noqa: E402

# the steps of deadline_scan: (figure name, function in matching.clocks, notification key part, event kind)
STEPS = [
    ("reminders", "remind_due", "remind", "clock.reminder"),
    ("overdue", "mark_overdue", "overdue", "clock.overdue"),
    ("escalations", "escalate_overdue", "escalate", "clock.escalated"),
]


def populate(total: int, reminders: int, overdue: int, escalations: int) -> dict:
    """The demo county's world and `total` clocks; the recipients each step will notify."""
    products_demo.load()
    portal_demo.load_organisations_and_users()
    if not MarketEntity.objects.exists():
        insert_entities(Generator(seed=1).entities(1, 0))
    entity = MarketEntity.objects.order_by("pk").first()
    task_force = Organisation.objects.get(code="demo-task-force")
    branch = BankBranch.objects.get(organisation__code="branch-boc-140525-county")
    staff = get_user_model().objects.get(username="staff")
    now = dt.datetime.now(dt.timezone.utc)
    at = literal(now)
    hour, day = f"({at} + interval '{{}} hours')", f"({at} + interval '{{}} days')"
    with transaction.atomic():
        batch = RecommendationBatch.objects.create(
            task_force=task_force,
            region_id="140525",
            title="基准批次",
            state="pushed",
            created_by=staff,
            pushed_at=now,
            pushed_by=staff,
        )
        # recommended declarations are closed, so one entity may carry many of them
        insert_select(
            Declaration,
            {
                "entity_id": str(entity.pk),
                "task_force_id": str(task_force.pk),
                "region_id": "'140525'",
                "source": "'staff'",
                "state": "'recommended'",
                "amount": "100000",
                "term_months": "12",
                "purpose": "'基准'",
                "basic_criteria": "'{}'::jsonb",
                "created_by_id": str(staff.pk),
                "created_at": at,
                "updated_at": at,
                "submitted_at": at,
                "batch_id": str(batch.pk),
            },
            f"generate_series(1, {int(total)})",
        )
        insert_select(
            Recommendation,
            {
                "batch_id": str(batch.pk),
                "declaration_id": "d.id",
                "entity_id": "d.entity_id",
                "region_id": "'140525'",
                "bank_id": str(branch.bank_id),
                "branch_id": str(branch.pk),
                "state": "'pushed'",
                "pushed_at": at,
                "updated_at": at,
            },
            f"{Declaration._meta.db_table} d WHERE d.batch_id = {batch.pk}",
        )
        # by position: reminders due, then newly overdue, then overdue for five working days
        # (marked and reminded by earlier scans), then clocks running for days
        first, second, third = reminders, reminders + overdue, reminders + overdue + escalations
        insert_select(
            DeadlineClock,
            {
                "recommendation_id": "id",
                "kind": "'feedback'",
                "started_at": day.format(-10),
                "provisional": "false",
                "state": f"CASE WHEN n > {second} AND n <= {third} THEN 'overdue' ELSE 'running' END",
                "due_at": f"CASE WHEN n <= {first} THEN {hour.format(20)} WHEN n <= {second} THEN {hour.format(-1)} "
                f"WHEN n <= {third} THEN {day.format(-7)} ELSE {day.format(5)} END",
                "remind_at": f"CASE WHEN n <= {first} THEN {hour.format(-1)} WHEN n <= {third} THEN {day.format(-8)} "
                f"ELSE {day.format(4)} END",
                "escalate_at": f"CASE WHEN n <= {second} THEN {day.format(6)} WHEN n <= {third} THEN {hour.format(-1)} "
                f"ELSE {day.format(12)} END",
                "reminded_at": f"CASE WHEN n > {first} AND n <= {third} THEN {day.format(-8)} END",
                "overdue_at": f"CASE WHEN n > {second} AND n <= {third} THEN {day.format(-7)} END",
            },
            f"(SELECT id, row_number() OVER (ORDER BY id) AS n FROM {Recommendation._meta.db_table} WHERE batch_id "
            f"= {batch.pk}) r",
        )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return {"reminders": reminders, "overdue": overdue, "escalations": escalations}


def copy_for_floor() -> None:
    """Copies the floor writes into (not timed): the clocks as they are before the scan, with
    the same indexes; empty unindexed tables shaped like the notifications and events."""
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE floor_clock (LIKE matching_deadlineclock INCLUDING ALL)")
        cursor.execute("INSERT INTO floor_clock SELECT * FROM matching_deadlineclock")
        cursor.execute("ANALYZE floor_clock")
        cursor.execute("CREATE TEMP TABLE floor_notification (LIKE matching_notification)")
        cursor.execute("CREATE TEMP TABLE floor_event (LIKE matching_workflowevent)")


FLOOR_UPDATES = {
    "reminders": "UPDATE floor_clock SET reminded_at = %(now)s WHERE state = 'running' AND reminded_at IS NULL "
    "AND remind_at <= %(now)s AND due_at > %(now)s",
    "overdue": "UPDATE floor_clock SET state = 'overdue', overdue_at = %(now)s WHERE state = 'running' AND due_at < "
    "%(now)s",
    "escalations": "UPDATE floor_clock SET escalated_at = %(now)s WHERE state = 'overdue' AND escalated_at IS NULL "
    "AND escalate_at <= %(now)s",
}


def floor_seconds(now: dt.datetime, notifications_after: int, events_after: int) -> dict[str, float]:
    """Per step: its clock update and the copy of the rows it wrote, as plain SQL (one
    transaction, committed)."""
    seconds = {}
    began = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        for name, _, key, kind in STEPS:
            step_began = time.perf_counter()
            cursor.execute(FLOOR_UPDATES[name], {"now": now})
            cursor.execute(
                "INSERT INTO floor_notification SELECT * FROM matching_notification WHERE id > %s AND dedupe_key "
                "LIKE %s",
                [notifications_after, f"%-{key}:%"],
            )
            cursor.execute(
                "INSERT INTO floor_event SELECT * FROM matching_workflowevent WHERE id > %s AND kind = %s",
                [events_after, kind],
            )
            seconds[name] = time.perf_counter() - step_began
    seconds["scan"] = time.perf_counter() - began
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clocks", type=int, default=200_000)
    parser.add_argument("--reminders", type=int, default=2_000)
    parser.add_argument("--overdue", type=int, default=2_000)
    parser.add_argument("--escalations", type=int, default=1_000)
    parser.add_argument(
        "--entities", type=int, default=None, help=argparse.SUPPRESS
    )  # accepted from `make bench ENTITIES=`
    args = parser.parse_args()
    assert connection.vendor == "postgresql", "the deadline benchmark runs on PostgreSQL"
    assert args.reminders + args.overdue + args.escalations <= args.clocks
    seconds, due = timed(lambda: populate(args.clocks, args.reminders, args.overdue, args.escalations))
    log(f"populated {args.clocks} clocks in {seconds:.1f} s: due {due}")
    copy_for_floor()
    notifications_after = Notification.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    events_after = WorkflowEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0

    # the statistics index as a running portal has it: built once, then kept in step by writes
    seconds, _ = timed(lambda: facts.sync(full=True))
    log(f"statistics index built in {seconds:.1f} s (not timed)")

    # each step of the scan timed from outside, around the function deadline_scan calls
    step_seconds = {name: 0.0 for name, *_ in STEPS}
    sync_seconds = [0.0]
    sync = facts.sync

    def timed_sync(*args, **kwargs):
        began = time.perf_counter()
        try:
            return sync(*args, **kwargs)
        finally:
            sync_seconds[0] += time.perf_counter() - began

    facts.sync = timed_sync

    def timing(name, step):
        def timed_step(now):
            began = time.perf_counter()
            try:
                return step(now)
            finally:
                step_seconds[name] += time.perf_counter() - began

        return timed_step

    for name, function, _, _ in STEPS:
        setattr(clocks, function, timing(name, getattr(clocks, function)))

    # the scan: from the call until this process sees it committed
    began = time.perf_counter()
    scan = clocks.deadline_scan()
    assert DeadlineScan.objects.filter(pk=scan.pk, finished_at__isnull=False).exists()
    scan_seconds = time.perf_counter() - began
    now = scan.started_at
    done = {
        "reminders": DeadlineClock.objects.filter(reminded_at=now).count(),
        "overdue": DeadlineClock.objects.filter(overdue_at=now, state=ClockState.OVERDUE).count(),
        "escalations": DeadlineClock.objects.filter(escalated_at=now).count(),
    }
    assert done == due == {"reminders": scan.reminders, "overdue": scan.overdue, "escalations": scan.escalations}, (
        done,
        due,
        scan,
    )

    floors = floor_seconds(now, notifications_after, events_after)
    figures = Figures(
        "deadlines",
        open_clocks=args.clocks,
        due=due,
        notifications=Notification.objects.filter(pk__gt=notifications_after).count(),
        events=WorkflowEvent.objects.filter(pk__gt=events_after).count(),
    )
    figures.add(
        "scan_s",
        scan_seconds,
        "s",
        floor=floors["scan"],
        floor_is="the same writes as plain SQL (one UPDATE and "
        "two INSERT … SELECT per step, same clock indexes, unindexed notification and event copies)",
        digits=3,
    )
    for name, *_ in STEPS:
        figures.add(
            f"{name}_step_s",
            step_seconds[name],
            "s",
            floor=floors[name],
            floor_is="this step's writes as plain SQL",
            digits=3,
            clocks=done[name],
        )

    assert sync_seconds[0] > 0, "the scan's commit did not sync the statistics index"
    figures.add("index_sync_s", sync_seconds[0], "s", digits=3, note="the sync after the scan's commit")

    # a second scan: nothing left to do
    began = time.perf_counter()
    again = clocks.deadline_scan()
    figures.add("second_scan_s", time.perf_counter() - began, "s", digits=3)
    assert (again.reminders, again.overdue, again.escalations) == (0, 0, 0), again
    figures.note(target_scan_s=5)
    figures.emit()


if __name__ == "__main__":
    main()
