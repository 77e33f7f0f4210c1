"""The escalation scan of 批分单 ("overdue items escalate"), in the style of the deadline scan
(matching/clocks.py): a department's problem past its due moment is marked overdue (逾期督办: the
department and the holding mechanism are told), and one still unanswered ESCALATION_WORKING_DAYS
working days later goes up to the holding mechanism's convener. Each step is a conditional
update (a claim on `overdue_at` / `escalated_at`, which a new routing clears), and each
notification a unique key: run twice, or by two workers at once, it acts once. No role: the
platform's clock; it records the policy table's SCAN_EVENTS on the problem's timeline."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from coordination import notices
from coordination.models import DEPARTMENT_STATES, Problem, ProblemEvent, ProblemEventKind, ProblemScan
from workdays.arithmetic import local_date

BATCH = 500


def _claimed(now: dt.datetime, *, due_field: str, claim: str):
    """The problems whose `due_field` passed and that this run claims (`claim` set to now)."""
    candidates = list(
        Problem.objects.filter(
            state__in=DEPARTMENT_STATES, **{f"{due_field}__lt": now, f"{claim}__isnull": True}
        ).values_list("pk", flat=True)[:BATCH]
    )
    for pk in candidates:
        with transaction.atomic():
            taken = Problem.objects.filter(
                pk=pk, state__in=DEPARTMENT_STATES, **{f"{due_field}__lt": now, f"{claim}__isnull": True}
            ).update(**{claim: now})
            if taken:
                yield Problem.objects.select_related("entity", "department").get(pk=pk)


def _routing_key(problem: Problem) -> str:
    return f"{int(problem.routed_at.timestamp())}" if problem.routed_at else "0"


def mark_overdue(now: dt.datetime) -> int:
    count = 0
    for problem in _claimed(now, due_field="due_at", claim="overdue_at"):
        ProblemEvent.objects.create(
            problem=problem, kind=ProblemEventKind.OVERDUE, department=problem.department, created_at=now
        )
        notices.tell(
            problem,
            key=f"overdue:{_routing_key(problem)}",
            title=f"已逾期: {problem.department.name}应于 {local_date(problem.due_at):%Y-%m-%d} 前办理",
            user_ids=sorted(set(notices.department_users(problem)) | set(notices.mechanism_users(problem))),
        )
        count += 1
    return count


def escalate_overdue(now: dt.datetime) -> int:
    count = 0
    for problem in _claimed(now, due_field="escalate_at", claim="escalated_at"):
        ProblemEvent.objects.create(
            problem=problem, kind=ProblemEventKind.OVERDUE_ESCALATED, department=problem.department, created_at=now
        )
        users = notices.convener_users(problem) or notices.mechanism_users(problem)
        notices.tell(
            problem,
            key=f"escalated:{_routing_key(problem)}",
            title=f"逾期未办升级督办: {problem.department.name}逾期仍未答复",
            user_ids=sorted(set(users) | set(notices.mechanism_users(problem))),
        )
        count += 1
    return count


def problem_scan(now: dt.datetime | None = None) -> ProblemScan:
    now = now or timezone.now()
    scan = ProblemScan.objects.create(started_at=now)
    scan.overdue = mark_overdue(now)
    scan.escalations = escalate_overdue(now)
    scan.finished_at = timezone.now()
    scan.save(update_fields=["overdue", "escalations", "finished_at"])
    return scan
