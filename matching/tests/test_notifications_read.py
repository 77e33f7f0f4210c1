"""Marking notifications read is one service (matching.notifications.notifications_mark_read)
for the 通知 page and the API, and the unread count one selector for the navigation badge and
the API: all of them work on the user's own inbox, a platform administrator's too."""

import pytest
from django.test import Client

from matching import notifications, selectors
from matching.models import Notification
from portal.factories import user_with_role
from portal.models import AuditEvent, Role

pytestmark = pytest.mark.django_db


@pytest.fixture
def inboxes():
    admin = user_with_role(Role.PLATFORM_ADMIN)
    staff = user_with_role(Role.TASK_FORCE_STAFF)
    for user, count in ((admin, 2), (staff, 3)):
        for n in range(count):
            notifications.to_user(user=user, key=f"test-{n}", title=f"通知 {n}")
    return admin, staff


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _unread(user) -> int:
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()


def test_the_badge_and_the_api_count_the_own_inbox(inboxes):
    admin, staff = inboxes
    client = _client(admin)
    # the platform administrator may see every row of every model, but his inbox is his own
    page = client.get("/matching/notifications/").content.decode()
    assert 'data-testid="unread-count">2<' in page
    assert client.get("/api/v1/notifications/unread-count/").json() == {"unread": 2}
    assert client.get("/api/v1/notifications/").json()["count"] == 2
    assert selectors.notification_unread_count(user=staff) == 3


def test_marking_all_read_on_the_page_marks_only_ones_own(inboxes):
    admin, staff = inboxes
    # when the platform administrator marks all read on the 通知 page
    response = _client(admin).post("/matching/notifications/")
    # then his two are read, the staff member's three still unread
    assert response.status_code == 302
    assert (_unread(admin), _unread(staff)) == (0, 3)
    event = AuditEvent.objects.get(action="notification.read")
    assert event.actor == admin and event.after["count"] == 2 and event.after["all"] is True
    # and marking again changes nothing and records nothing
    assert notifications.notifications_mark_read(actor=admin) == 0
    assert AuditEvent.objects.filter(action="notification.read").count() == 1


def test_the_api_reads_one_and_all_through_the_same_service(inboxes):
    admin, staff = inboxes
    client = _client(admin)
    others = Notification.objects.filter(recipient=staff).first()
    # someone else's notification is not found, for the platform administrator too
    refused = client.post(f"/api/v1/notifications/{others.pk}/read/")
    assert refused.status_code == 404 and refused.json()["code"] == "not_found"
    assert _unread(staff) == 3
    mine = Notification.objects.filter(recipient=admin).first()
    assert client.post(f"/api/v1/notifications/{mine.pk}/read/").json()["read_at"]
    assert client.post("/api/v1/notifications/read-all/").json() == {"updated": 1}
    assert (_unread(admin), _unread(staff)) == (0, 3)
    assert client.get("/api/v1/notifications/unread-count/").json() == {"unread": 0}
