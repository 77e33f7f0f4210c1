"""Weekly reports. Beat runs `weekly_reports` (Monday morning); it fans out one idempotent
task per mechanism, each building, storing and mailing that mechanism's 成效统计表."""
from celery import shared_task


@shared_task(name="reporting.tasks.weekly_reports")
def weekly_reports() -> int:
    from reporting.services import mechanisms

    ids = list(mechanisms().values_list("pk", flat=True))
    for pk in ids:
        build_mechanism_report.delay(pk)
    return len(ids)


@shared_task(name="reporting.tasks.build_mechanism_report", acks_late=True)
def build_mechanism_report(organisation_id: int) -> int | None:
    """Safe to run twice: a second run in the same week finds the report and does nothing."""
    from reporting.services import scheduled_report_build

    report = scheduled_report_build(organisation_id=organisation_id)
    return report.pk if report else None


@shared_task(name="reporting.tasks.sync_facts")
def sync_facts() -> int:
    """Keeps the statistics index warm between page views (reads sync it anyway)."""
    from reporting.facts import sync

    return sync()
