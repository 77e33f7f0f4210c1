"""Thin Celery tasks of 大走访 campaigns."""

from celery import shared_task

from campaigns.scan import overdue_scan


@shared_task(name="campaigns.tasks.scan_overdue_visits", acks_late=True)
def scan_overdue_visits() -> dict:
    """Beat runs this every hour; safe to run twice or concurrently."""
    return {"reminded": overdue_scan()}
