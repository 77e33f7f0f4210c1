"""In-portal notifications, written in the transaction of the change they announce.
`dedupe_key` is unique, so a retried service or a scan run twice never notifies twice;
emails go out after commit from a Celery task, and a periodic sweep sends any whose
task was lost (e.g. Redis was down at commit time).

Lifecycle: created unread (to_user / to_role / to_entity_and_creator), emailed once, read by
its recipient (`notifications_mark_read`, the one write of the 通知 page and the API). What a
user sees and counts is his own inbox (matching.selectors.notification_list and
notification_unread_count)."""

from __future__ import annotations

import logging

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from matching import selectors
from matching.models import Declaration, Notification
from matching.tasks import send_notification_email
from portal.models import Membership, Organisation, Role
from portal.services import audit_record
from portal.tenancy import CHANGE, resolve_many

logger = logging.getLogger(__name__)


def to_user(*, user, key: str, title: str, body: str = "", url: str = "") -> Notification | None:
    if user is None or not user.is_active:
        return None
    notification, created = Notification.objects.get_or_create(
        dedupe_key=f"{key}:{user.pk}"[:200],
        defaults={"recipient": user, "title": title[:200], "body": body, "url": url},
    )
    if created:
        transaction.on_commit(lambda: _enqueue_email(notification.pk))
    return notification if created else None


def to_role(
    *,
    organisation: Organisation | None,
    role: str,
    key: str,
    title: str,
    body: str = "",
    url: str = "",
    with_ancestors: bool = False,
) -> int:
    """Notify holders of `role` in `organisation` (and, for bank branches, in the branches
    above it, whose administrators also oversee its leads)."""
    if organisation is None:
        return 0
    organisations = list(organisation.ancestors()) if with_ancestors else [organisation]
    users = (
        get_user_model()
        .objects.filter(memberships__organisation__in=organisations, memberships__role=role, is_active=True)
        .distinct()
    )
    return sum(1 for user in users if to_user(user=user, key=key, title=title, body=body, url=url))


def to_entity_and_creator(*, declaration: Declaration, key: str, title: str, body: str = "", url: str = "") -> int:
    """A notice meant for the enterprise (已推送, 已对接, 审核未通过, …): to the enterprise's own
    users; whoever filed on its behalf (task-force staff, a bank's account manager) gets it only
    as a copy (抄送), which says whose notice it is."""
    recipients = {}
    if declaration.entity.organisation_id:
        for membership in Membership.objects.filter(
            organisation_id=declaration.entity.organisation_id, role=Role.ENTERPRISE_USER
        ).select_related("user"):
            recipients[membership.user_id] = membership.user
    sent = sum(1 for user in recipients.values() if to_user(user=user, key=key, title=title, body=body, url=url))
    filer = declaration.created_by
    if filer is not None and filer.pk not in recipients:
        owner = "" if recipients else "(该企业尚无平台账号, 请转告企业)"
        copy = f"本通知发给{declaration.entity.name}, 您为其代为申报, 抄送知悉{owner}。"
        if to_user(user=filer, key=key, title=f"抄送: {title}", body=f"{copy}\n{body}" if body else copy, url=url):
            sent += 1
    return sent


def deliver_notices(notices) -> int:
    """The entities app's notices (entities.changes.announce: a 名特优新 proposal waits for the
    province, the province decided one), delivered to each user inside the announcing
    transaction. Registered on entities.changes.NOTICE_HOOKS by matching.apps."""
    users = get_user_model().objects.in_bulk({user_id for notice in notices for user_id in notice.user_ids})
    sent = 0
    for notice in notices:
        for user_id in notice.user_ids:
            user = users.get(user_id)
            if user is not None and to_user(
                user=user, key=notice.key, title=notice.title, body=notice.body, url=notice.url
            ):
                sent += 1
    return sent


def _enqueue_email(notification_id: int) -> None:
    try:
        send_notification_email.delay(notification_id)
    except Exception:  # broker down: the periodic sweep sends it later, nothing is lost
        logger.warning("could not enqueue email for notification %s; the sweep will send it", notification_id)


@transaction.atomic
def notifications_mark_read(*, actor, notification_ids: list[int] | None = None) -> int:
    """Mark the actor's own notifications read: the ones named, or every unread one (the 通知
    page's 全部标为已读, the API's read and read-all). Named ids are resolved in the actor's own
    inbox for CHANGE, all or nothing: someone else's — a platform administrator's included —
    is refused as not found. One already read keeps its moment. Returns how many changed;
    audited (notification.read) when any did."""
    inbox = selectors.notification_list(user=actor)
    if notification_ids is not None:
        named = resolve_many(inbox, actor, CHANGE, ids=notification_ids, field="ids")
        inbox = inbox.filter(pk__in=[n.pk for n in named])
    unread = list(inbox.filter(read_at__isnull=True).select_for_update().values_list("pk", flat=True))
    if not unread:
        return 0
    changed = Notification.objects.filter(pk__in=unread, read_at__isnull=True).update(read_at=timezone.now())
    audit_record(
        actor=actor,
        action="notification.read",
        after={"count": changed, "ids": unread[:100], "all": notification_ids is None},
    )
    return changed
