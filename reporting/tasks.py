"""Weekly reports. Beat runs `weekly_reports` (Monday morning); it fans out one idempotent
task per mechanism, each building, storing and mailing that mechanism's 成效统计表, and one per
mechanism with 工作简报 subscribers, building and mailing its brief to them."""

import datetime as dt

from celery import shared_task
from django.utils import timezone

from reporting.facts import sync
from reporting.models import ScheduledReport
from reporting.services import (
    brief_organisations,
    mechanisms,
    scheduled_brief_build,
    scheduled_report_build,
    scheduled_report_mail,
)
from reporting.supervision.scan import supervision_scan


@shared_task(name="reporting.tasks.weekly_reports")
def weekly_reports() -> int:
    ids = list(mechanisms().values_list("pk", flat=True))
    for pk in ids:
        build_mechanism_report.delay(pk)
    briefs = list(brief_organisations().values_list("pk", flat=True))
    for pk in briefs:
        build_mechanism_brief.delay(pk)
    return len(ids) + len(briefs)


@shared_task(name="reporting.tasks.build_mechanism_report", acks_late=True)
def build_mechanism_report(organisation_id: int) -> int | None:
    """Safe to run twice: a second run in the same week finds the report and does nothing."""

    report = scheduled_report_build(organisation_id=organisation_id)
    return report.pk if report else None


@shared_task(name="reporting.tasks.build_mechanism_brief", acks_late=True)
def build_mechanism_brief(organisation_id: int) -> int | None:
    """The mechanism's weekly 工作简报 for its subscribers; safe to run twice (one per week)."""

    report = scheduled_brief_build(organisation_id=organisation_id)
    return report.pk if report else None


@shared_task(name="reporting.tasks.mail_unsent_reports")
def mail_unsent_reports() -> int:
    """Retry mails that failed (the claim is released on failure), for the last week's reports."""

    recent = ScheduledReport.objects.filter(
        emailed_at__isnull=True, created_at__gte=timezone.now() - dt.timedelta(days=7)
    )
    sent = 0
    for pk in recent.exclude(recipients=[]).values_list("pk", flat=True):
        try:
            sent += scheduled_report_mail(report_id=pk)
        except Exception:  # mail server still down: next sweep
            continue
    return sent


@shared_task(name="reporting.tasks.sync_facts")
def sync_facts() -> int:
    """Folds into the statistics index what the writes' own syncs could not (a sync that
    failed after its commit, rows written in bulk without signals) and moves the watermark
    past settled events. Reads never sync."""

    return sync()


@shared_task(name="reporting.tasks.scan_supervision")
def scan_supervision() -> dict:
    """督办单 overdue marks and escalations (reporting/supervision/scan.py); idempotent."""

    scan = supervision_scan()
    return {"overdue": scan.overdue, "escalations": scan.escalations}
