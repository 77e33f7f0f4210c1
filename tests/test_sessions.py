"""The session store (portal/sessions.py): Django's database sessions, the row read with one
statement written once. Signed in, expired, unknown, signed out — as Django's store behaves."""

import datetime as dt

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from portal.factories import TEST_PASSWORD, MembershipFactory
from portal.models import Role
from portal.sessions import SessionStore

pytestmark = pytest.mark.django_db

PAGE = "matching:notification_list"


def _signed_in(client):
    membership = MembershipFactory(role=Role.TASK_FORCE_STAFF)
    response = client.post(
        reverse("login"), {"username": membership.user.username, "password": TEST_PASSWORD}, secure=True
    )
    assert response.status_code == 302
    return membership.user


def _to_login(response) -> bool:
    return response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_the_portal_uses_its_store():
    assert settings.SESSION_ENGINE == "portal.sessions"


def test_a_signed_in_request_reads_its_session_row_once(client):
    # given a user signed in through the login form
    user = _signed_in(client)
    # when he opens a page
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse(PAGE), secure=True)
    # then it answers for him, and his session row was read by one statement: the store's own,
    # which reads only the data of an unexpired row (Django's store reads the whole row)
    assert response.status_code == 200 and response.wsgi_request.user.pk == user.pk
    reads = [
        q["sql"] for q in queries.captured_queries if q["sql"].startswith("SELECT") and "django_session" in q["sql"]
    ]
    assert len(reads) == 1
    assert reads[0].startswith('SELECT "session_data" FROM "django_session"') and '"expire_date" >' in reads[0]


def test_an_expired_session_signs_him_out(client):
    # given a signed-in user whose session has expired
    _signed_in(client)
    Session.objects.update(expire_date=timezone.now() - dt.timedelta(seconds=1))
    # then his next request is sent to the login page
    assert _to_login(client.get(reverse(PAGE), secure=True))


def test_an_unknown_session_key_is_nobody(client):
    # given a browser holding a session cookie the portal never issued
    client.cookies[settings.SESSION_COOKIE_NAME] = "x" * 32
    # then it is signed out, and signing in gives it a new session that works
    assert _to_login(client.get(reverse(PAGE), secure=True))
    _signed_in(client)
    assert client.cookies[settings.SESSION_COOKIE_NAME].value != "x" * 32
    assert client.get(reverse(PAGE), secure=True).status_code == 200


def test_signing_out_ends_the_session_for_its_cookie(client):
    # given a signed-in user, his cookie kept
    _signed_in(client)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    # when he signs out
    client.post(reverse("logout"), secure=True)
    # then his session row is gone and the old cookie, shown again, is nobody's
    assert not Session.objects.filter(session_key=cookie).exists()
    client.cookies[settings.SESSION_COOKIE_NAME] = cookie
    assert _to_login(client.get(reverse(PAGE), secure=True))


def test_the_store_reads_what_it_saved():
    # given a session saved by the store
    store = SessionStore()
    store["portal_must_change_password"] = True
    store["numbers"] = [1, 2, 3]
    store.save()
    # then a new store with its key reads the same data, and an unknown key reads nothing
    again = SessionStore(session_key=store.session_key)
    assert again["portal_must_change_password"] is True and again["numbers"] == [1, 2, 3]
    unknown = SessionStore(session_key="y" * 32)
    assert unknown.load() == {} and unknown.session_key is None
