from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.utils import timezone

from matching.clocks import deadline_scan, recompute_provisional
from matching.models import Notification
from matching.watch import watch_scan


@shared_task(name="matching.tasks.send_notification_email", acks_late=True)
def send_notification_email(notification_id: int) -> bool:
    """Claim the notification with a conditional update, then send: a duplicate delivery
    of this task (worker killed and restarted) finds it claimed and sends nothing."""

    claimed = Notification.objects.filter(pk=notification_id, emailed_at__isnull=True).update(emailed_at=timezone.now())
    if not claimed:
        return False
    notification = Notification.objects.select_related("recipient").filter(pk=notification_id).first()
    if notification is None:  # deleted since (its recipient removed): nothing to send
        return False
    if notification.recipient.email:
        send_mail(
            subject=f"[政银企融资对接平台] {notification.title}",
            message=f"{notification.body}\n\n{notification.url}",
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=[notification.recipient.email],
            fail_silently=False,
        )
    return True


@shared_task(name="matching.tasks.sweep_notification_emails")
def sweep_notification_emails(limit: int = 500) -> int:
    stale = timezone.now() - timedelta(minutes=2)
    ids = list(
        Notification.objects.filter(emailed_at__isnull=True, created_at__lt=stale).values_list("pk", flat=True)[:limit]
    )
    return sum(1 for pk in ids if send_notification_email(pk))


@shared_task(name="matching.tasks.send_notification_emails")
def send_notification_emails(notification_ids: list[int]) -> int:
    return sum(1 for pk in notification_ids if send_notification_email(pk))


@shared_task(name="matching.tasks.scan_deadlines", acks_late=True)
def scan_deadlines() -> dict:
    """Beat runs this every few minutes; safe to run twice or concurrently."""

    scan = deadline_scan()
    return {
        "reminders": scan.reminders,
        "auto_started": scan.auto_started,
        "overdue": scan.overdue,
        "escalations": scan.escalations,
        "skipped": scan.skipped,
    }


@shared_task(name="matching.tasks.watch_credit_basis", acks_late=True)
def watch_credit_basis() -> int:
    """Beat runs this daily: approved and drawn leads whose 名特优新 title expired (or whose
    marks changed) get their 授信依据变化 event and notification; safe to run twice."""
    return watch_scan()


@shared_task(name="matching.tasks.recompute_provisional_clocks")
def recompute_provisional_clocks(year: int) -> int:
    return recompute_provisional(year)


from batch_matching import tasks as _batch_tasks  # noqa: E402,F401  (registers batch_matching.* tasks)
