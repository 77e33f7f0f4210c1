"""Thin Celery tasks of 批分单."""

from celery import shared_task

from coordination.scan import problem_scan


@shared_task(name="coordination.tasks.scan_problems", acks_late=True)
def scan_problems() -> dict:
    """Beat runs this every few minutes; safe to run twice or concurrently."""
    scan = problem_scan()
    return {"overdue": scan.overdue, "escalations": scan.escalations}
