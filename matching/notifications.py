"""In-portal notifications, written in the transaction of the change they announce.
`dedupe_key` is unique, so a retried service or a scan run twice never notifies twice;
emails go out after commit from a Celery task, and a periodic sweep sends any whose
task was lost (e.g. Redis was down at commit time)."""
from __future__ import annotations

import logging

from django.contrib.auth import get_user_model
from django.db import transaction

from matching.models import Declaration, Notification
from portal.models import Membership, Organisation, Role

logger = logging.getLogger(__name__)


def to_user(*, user, key: str, title: str, body: str = "", url: str = "") -> Notification | None:
    if user is None or not user.is_active:
        return None
    notification, created = Notification.objects.get_or_create(
        dedupe_key=f"{key}:{user.pk}"[:200], defaults={"recipient": user, "title": title[:200], "body": body, "url": url}
    )
    if created:
        transaction.on_commit(lambda: _enqueue_email(notification.pk))
    return notification if created else None


def to_role(
    *, organisation: Organisation | None, role: str, key: str, title: str, body: str = "", url: str = "",
    with_ancestors: bool = False,
) -> int:
    """Notify holders of `role` in `organisation` (and, for bank branches, in the branches
    above it, whose administrators also oversee its leads)."""
    if organisation is None:
        return 0
    organisations = list(organisation.ancestors()) if with_ancestors else [organisation]
    users = get_user_model().objects.filter(
        memberships__organisation__in=organisations, memberships__role=role, is_active=True
    ).distinct()
    return sum(1 for user in users if to_user(user=user, key=key, title=title, body=body, url=url))


def to_entity_and_creator(*, declaration: Declaration, key: str, title: str, body: str = "", url: str = "") -> int:
    recipients = {}
    if declaration.entity.organisation_id:
        for membership in Membership.objects.filter(
            organisation_id=declaration.entity.organisation_id, role=Role.ENTERPRISE_USER
        ).select_related("user"):
            recipients[membership.user_id] = membership.user
    recipients.setdefault(declaration.created_by_id, declaration.created_by)
    return sum(1 for user in recipients.values() if to_user(user=user, key=key, title=title, body=body, url=url))


def _enqueue_email(notification_id: int) -> None:
    from matching.tasks import send_notification_email

    try:
        send_notification_email.delay(notification_id)
    except Exception:  # broker down: the periodic sweep sends it later, nothing is lost
        logger.warning("could not enqueue email for notification %s; the sweep will send it", notification_id)


def unread_count(user) -> int:
    if not user.is_authenticated:
        return 0
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()
