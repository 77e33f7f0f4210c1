"""The overdue scan of 大走访 visits, in the style of coordination/scan.py: an open assignment of a
running campaign whose target is still unvisited after its due date (or the campaign's deadline)
reminds its visitor and the county task force once. The claim is a conditional update of
`overdue_notified_at`, each notification has a dedupe key: run twice, or by two workers at once,
it tells once. No role: the platform's clock; the reminder is a CampaignEvent (SCAN_EVENTS)."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from campaigns import coverage, notices
from campaigns.models import Assignment, CampaignEvent, CampaignEventKind, CampaignState, Target
from workdays.arithmetic import local_date

BATCH = 500


def overdue_scan(now: dt.datetime | None = None) -> int:
    now = now or timezone.now()
    today = local_date(now)
    late = coverage.overdue_targets(
        Target.objects.filter(campaign__state=CampaignState.RUNNING, assignments__ended_at__isnull=True), today=today
    )
    candidates = list(
        Assignment.objects.filter(target__in=late.values("pk"), ended_at__isnull=True, overdue_notified_at__isnull=True)
        .filter(Q(due_on__lt=today) | Q(campaign__deadline__lt=today))
        .values_list("pk", flat=True)[:BATCH]
    )
    told = 0
    for pk in candidates:
        with transaction.atomic():
            taken = Assignment.objects.filter(pk=pk, ended_at__isnull=True, overdue_notified_at__isnull=True).update(
                overdue_notified_at=now
            )
            if not taken:
                continue
            assignment = Assignment.objects.select_related("campaign", "target__entity", "visitor").get(pk=pk)
            CampaignEvent.objects.create(
                campaign=assignment.campaign,
                kind=CampaignEventKind.OVERDUE,
                region_id=assignment.target.region_id,
                note=f"{assignment.target.entity.name} 逾期未走访(期限 {assignment.due_on:%Y-%m-%d})",
                created_at=now,
            )
            notices.overdue(assignment)
            told += 1
    return told
