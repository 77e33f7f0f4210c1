"""The escalation scan of 督办单 ("unanswered ones escalate"), in the style of the deadline scan
(matching/clocks.py) and of coordination/scan.py: an order still unanswered at its due moment is
marked overdue (the target and the issuer are told), and one still unanswered a few working days
later is escalated to the mechanism above the issuer. Each step is a conditional update (a claim
on `overdue_at` / `escalated_at`) and each notification carries a unique key: run twice, or by
two workers at once, it acts once. No role: the platform's clock; it records the policy table's
SCAN_EVENTS on the order's timeline."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from reporting.models import SupervisionEvent, SupervisionEventKind, SupervisionOrder, SupervisionState
from reporting.supervision import services
from workdays.arithmetic import local_date

BATCH = 500
AWAITING = (SupervisionState.ISSUED, SupervisionState.ACKNOWLEDGED)


@dataclass
class SupervisionScan:
    overdue: int = 0
    escalations: int = 0


def _claimed(now: dt.datetime, *, due_field: str, claim: str):
    due = {"state__in": AWAITING, f"{due_field}__lt": now, f"{claim}__isnull": True}
    for pk in list(SupervisionOrder.objects.filter(**due).order_by("pk").values_list("pk", flat=True)[:BATCH]):
        with transaction.atomic():
            if SupervisionOrder.objects.filter(pk=pk, **due).update(**{claim: now}):
                yield SupervisionOrder.objects.select_related("target").get(pk=pk)


def mark_overdue(now: dt.datetime) -> int:
    count = 0
    for order in _claimed(now, due_field="due_at", claim="overdue_at"):
        SupervisionEvent.objects.create(order=order, kind=SupervisionEventKind.OVERDUE, created_at=now)
        services.tell(
            order,
            key="overdue",
            title=f"逾期未回复: 应于 {local_date(order.due_at):%Y-%m-%d} 前回复",
            user_ids=sorted(set(services.target_users(order)) | set(services.issuer_users(order))),
        )
        count += 1
    return count


def escalate_overdue(now: dt.datetime) -> int:
    count = 0
    for order in _claimed(now, due_field="escalate_at", claim="escalated_at"):
        SupervisionEvent.objects.create(order=order, kind=SupervisionEventKind.ESCALATED, created_at=now)
        services.tell(
            order,
            key="escalated",
            title="逾期仍未回复, 升级至上级协调机制督办",
            user_ids=sorted(set(services.upper_users(order)) | set(services.issuer_users(order))),
        )
        count += 1
    return count


def supervision_scan(now: dt.datetime | None = None) -> SupervisionScan:
    now = now or timezone.now()
    return SupervisionScan(overdue=mark_overdue(now), escalations=escalate_overdue(now))
