"""Benchmark: one deadline scan over 200,000 open clocks of which 5,000 are due.

Run by `make bench-deadlines` (scripts/bench.sh: throwaway PostgreSQL, migrated). Builds the
clocks set-based (not timed): one county, its task force and branch staff, 200,000 pushed
recommendations each with a running feedback clock; 5,000 of them already past due. Then
times `deadline_scan()` — the same function beat runs — and a second scan (which must find
nothing left to do). Prints, last, one JSON line of figures.
"""
import argparse
import datetime as dt
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

import django  # noqa: E402

django.setup()

from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from matching.clocks import deadline_scan  # noqa: E402
from matching.models import ClockState, DeadlineClock, Notification  # noqa: E402
from matching.tests.workflow_world import build_world  # noqa: E402


def populate(total: int, due: int) -> None:
    world = build_world()
    entity, _ = world.entity(name="基准测试商户")
    staff = world.users["staff"]
    branch = world.branches["boc"]
    now = timezone.now()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            """INSERT INTO matching_recommendationbatch (task_force_id, region_id, title, state, created_by_id, created_at, pushed_at, pushed_by_id)
               VALUES (%s, '140525', '基准批次', 'pushed', %s, %s, %s, %s) RETURNING id""",
            [world.task_force.pk, staff.pk, now, now, staff.pk],
        )
        batch_id = cursor.fetchone()[0]
        # recommended declarations are closed, so one entity may carry many of them
        cursor.execute(
            """INSERT INTO matching_declaration (entity_id, task_force_id, region_id, source, state, amount, term_months, purpose,
                   basic_criteria, created_by_id, created_at, updated_at, last_comment, batch_id, submitted_at)
               SELECT %s, %s, '140525', 'staff', 'recommended', 100000, 12, '基准', '{}'::jsonb, %s, %s, %s, '', %s, %s
               FROM generate_series(1, %s)""",
            [entity.pk, world.task_force.pk, staff.pk, now, now, batch_id, now, total],
        )
        cursor.execute(
            """INSERT INTO matching_recommendation (batch_id, declaration_id, entity_id, region_id, bank_id, branch_id, state, pushed_at,
                   contact_channel, contact_note, guarantee, decline_note, disbursed_total, removed_reason, satisfaction_comment, updated_at)
               SELECT %s, d.id, d.entity_id, '140525', %s, %s, 'pushed', %s, '', '', '', '', 0, '', '', %s
               FROM matching_declaration d WHERE d.batch_id = %s""",
            [batch_id, branch.bank_id, branch.pk, now, now, batch_id],
        )
        # the first `due` clocks are past due, the rest run for days
        cursor.execute(
            """INSERT INTO matching_deadlineclock (recommendation_id, kind, state, started_at, due_at, remind_at, escalate_at, provisional)
               SELECT r.id, 'feedback', 'running', %s,
                      CASE WHEN row_number() OVER (ORDER BY r.id) <= %s THEN %s ELSE %s END,
                      %s, %s, false
               FROM matching_recommendation r WHERE r.batch_id = %s""",
            [now - dt.timedelta(days=10), due, now - dt.timedelta(hours=1), now + dt.timedelta(days=5),
             now + dt.timedelta(days=4), now + dt.timedelta(days=12), batch_id],
        )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clocks", type=int, default=200_000)
    parser.add_argument("--due", type=int, default=5_000)
    args = parser.parse_args()
    started = time.perf_counter()
    populate(args.clocks, args.due)
    print(f"populated {args.clocks} clocks in {time.perf_counter() - started:.1f} s", file=sys.stderr)

    started = time.perf_counter()
    scan = deadline_scan()
    first = time.perf_counter() - started
    started = time.perf_counter()
    again = deadline_scan()
    second = time.perf_counter() - started
    print(json.dumps({
        "open_clocks": DeadlineClock.objects.filter(state__in=[ClockState.RUNNING, ClockState.OVERDUE]).count(),
        "due": args.due, "overdue_marked": scan.overdue, "notifications": Notification.objects.count(),
        "scan_seconds": round(first, 3), "second_scan_seconds": round(second, 3), "second_scan_overdue": again.overdue,
        "target_seconds": 5,
    }))


if __name__ == "__main__":
    main()
