"""How a deadline clock is scheduled, started and answered: the arithmetic of the statutory
clocks (seed 004 五(六), seed 002 item 5) and the one function that applies a transition's
clock rule (a row of the workflow table, matching/workflow.py) to a lead.

- feedback: 5 working days from the push for the bank's first answer (contact or decline);
- decision: 30 calendar days from complete materials for the credit decision;
- materials: 5 working days from the enterprise's 材料已提交 for the bank to confirm the
  materials complete or name what is missing; when it runs out the deadline scan starts the
  decision clock at its due moment (自动起算, matching/clocks.py). It runs once per
  submission (a REPEATABLE_CLOCKS kind), the others once per lead.

Below both the workflow table (`workflow.record` applies each row's clock rule here) and the
deadline scan (matching/clocks.py, which applies the table's auto-start row), so that neither
imports the other's importer."""

from __future__ import annotations

import datetime as dt

from matching.models import REPEATABLE_CLOCKS, ClockKind, ClockState, DeadlineClock, Recommendation
from workdays.arithmetic import SHANGHAI, due_after_calendar_days, end_of_local_day, local_date
from workdays.loader import calendar_from_db

FEEDBACK_WORKING_DAYS = 5
DECISION_CALENDAR_DAYS = 30
MATERIALS_WORKING_DAYS = 5
ESCALATION_WORKING_DAYS = 5
# clocks counted in working days (the others in calendar days)
WORKING_DAY_CLOCKS = {ClockKind.FEEDBACK: FEEDBACK_WORKING_DAYS, ClockKind.MATERIALS: MATERIALS_WORKING_DAYS}
OPEN_CLOCK_STATES = (ClockState.RUNNING, ClockState.OVERDUE)


def _start_of_local_day(d: dt.date) -> dt.datetime:
    return dt.datetime.combine(d, dt.time.min, tzinfo=SHANGHAI)


def schedule(kind: str, started_at: dt.datetime) -> dict:
    """due_at, remind_at, escalate_at and whether any of them is provisional."""
    calendar = calendar_from_db()
    if kind in WORKING_DAY_CLOCKS:
        due_at, provisional = calendar.due_after_working_days_provisional(started_at, WORKING_DAY_CLOCKS[kind])
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
    """Start the lead's clock of `kind` at `started_at`, unless it already runs: a clock is never
    reset. A repeatable clock (one per round) starts anew once the last round's is answered."""
    if kind in REPEATABLE_CLOCKS:
        running = DeadlineClock.objects.filter(
            recommendation=recommendation, kind=kind, state__in=OPEN_CLOCK_STATES
        ).first()
        return running or DeadlineClock.objects.create(
            recommendation=recommendation, kind=kind, started_at=started_at, **schedule(kind, started_at)
        )
    clock, _ = DeadlineClock.objects.get_or_create(
        recommendation=recommendation, kind=kind, defaults={"started_at": started_at, **schedule(kind, started_at)}
    )
    return clock


def apply_rule(recommendation: Recommendation, rule, at: dt.datetime, since: dt.datetime | None = None) -> None:
    """Apply one transition's clock rule (a workflow.Clock: `start`, `satisfy`, `stop`, and a
    correction's `reopen`, `discard`) to the lead at the transition's moment `at`. A correction
    reopens the clocks of its kinds answered from `since` (the corrected event's moment) on,
    with their due moments unchanged (overdue again if they were), and discards those it names
    (started by mistake: they start anew with the real event)."""
    open_states = list(OPEN_CLOCK_STATES)
    if rule.discard:
        DeadlineClock.objects.filter(recommendation=recommendation, kind__in=rule.discard).delete()
    if rule.reopen and since is not None:
        answered = DeadlineClock.objects.filter(
            recommendation=recommendation, kind__in=rule.reopen, state=ClockState.SATISFIED, satisfied_at__gte=since
        )
        answered.filter(overdue_at__isnull=True).update(state=ClockState.RUNNING, satisfied_at=None)
        answered.filter(overdue_at__isnull=False).update(state=ClockState.OVERDUE, satisfied_at=None)
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
