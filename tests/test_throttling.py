"""Throttling (issue 13, finding 9): the client address comes from X-Forwarded-For only
through the configured number of trusted proxies (NUM_PROXIES, default 0), the same for the
API throttles, the login throttle and the audit log; the per-user and anonymous API rates
apply to every API view; a username tried from many addresses is locked, and so is an
address trying many usernames."""

import pytest
from django.core.cache import cache
from django.test import Client, RequestFactory
from rest_framework.test import APIClient

from portal.factories import TEST_PASSWORD, user_with_role
from portal.models import AuditEvent, Role
from portal.services import client_ip

pytestmark = pytest.mark.django_db

PREVIEW = "/api/v1/eligibility/preview"


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()  # the rate counters live in the cache
    yield
    cache.clear()


def _rates(settings, **rates):
    rest = settings.REST_FRAMEWORK
    settings.REST_FRAMEWORK = {**rest, "DEFAULT_THROTTLE_RATES": {**rest["DEFAULT_THROTTLE_RATES"], **rates}}


# --- the client address ---------------------------------------------------------------------------------


def test_without_trusted_proxies_x_forwarded_for_is_ignored(settings):
    settings.NUM_PROXIES = 0
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.7", HTTP_X_FORWARDED_FOR="1.2.3.4")
    assert client_ip(request) == "10.0.0.7"


def test_behind_trusted_proxies_the_address_the_outermost_proxy_saw_counts(settings):
    # given one trusted proxy (nginx appends the address it saw)
    settings.NUM_PROXIES = 1
    factory = RequestFactory()
    # then the last entry is the client; what the client wrote before it is ignored
    assert (
        client_ip(factory.get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.9"))
        == "203.0.113.9"
    )
    # with two proxies, the one before the inner proxy's entry
    settings.NUM_PROXIES = 2
    assert (
        client_ip(factory.get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.9, 10.0.0.2"))
        == "203.0.113.9"
    )
    # and an entry that is no address falls back to the proxy's socket address
    assert client_ip(factory.get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="<script>, 10.0.0.2")) == "10.0.0.1"


def test_the_audit_log_records_the_same_client_address(settings):
    settings.NUM_PROXIES = 1
    user = user_with_role(Role.TASK_FORCE_STAFF, username="audited")
    from portal.services import audit_record

    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.9")
    event = audit_record(actor=user, action="test.address", request=request)
    assert AuditEvent.objects.get(pk=event.pk).ip_address == "203.0.113.9"


# --- the anonymous preview ------------------------------------------------------------------------------


def test_the_anonymous_preview_limit_holds_whatever_x_forwarded_for_says(catalogue):
    # given one anonymous caller (one socket address) who writes another X-Forwarded-For each time
    client = APIClient(REMOTE_ADDR="198.51.100.4")
    statuses = [
        client.post(
            PREVIEW, {"products": ["huishangdai"]}, format="json", HTTP_X_FORWARDED_FOR=f"10.9.{i}.{i}"
        ).status_code
        for i in range(31)
    ]
    # then the 31st preview within the minute is refused all the same, in Chinese
    assert statuses[:30] == [200] * 30 and statuses[30] == 429
    body = client.post(PREVIEW, {"products": ["huishangdai"]}, format="json", HTTP_X_FORWARDED_FOR="10.99.0.1").json()
    assert body["code"] == "throttled" and body["message"] == "请求过于频繁, 请稍后再试"


def test_behind_a_trusted_proxy_two_clients_have_their_own_limits(catalogue, settings):
    settings.NUM_PROXIES = 1
    proxy = APIClient(REMOTE_ADDR="10.0.0.1")  # every request arrives from the proxy's socket
    first = [
        proxy.post(PREVIEW, {}, format="json", HTTP_X_FORWARDED_FOR=f"6.6.{i}.6, 203.0.113.1").status_code
        for i in range(31)
    ]
    second = proxy.post(PREVIEW, {}, format="json", HTTP_X_FORWARDED_FOR="203.0.113.2").status_code
    assert first[30] == 429 and second != 429


# --- the API's default rates ----------------------------------------------------------------------------


def test_the_per_user_rate_applies_to_every_api_view(settings):
    # given a per-user rate of 3 a minute
    _rates(settings, user="3/min")
    client = APIClient()
    client.force_authenticate(user_with_role(Role.TASK_FORCE_STAFF))
    # when one user calls the API four times, on different endpoints
    statuses = [
        client.get(url).status_code
        for url in ("/api/v1/me/", "/api/v1/declarations/", "/api/v1/notifications/", "/api/v1/me/")
    ]
    # then the fourth is refused with the API's Chinese error
    assert statuses == [200, 200, 200, 429]
    assert client.get("/api/v1/me/").json()["message"] == "请求过于频繁, 请稍后再试"
    # and another user has his own allowance
    other = APIClient()
    other.force_authenticate(user_with_role(Role.TASK_FORCE_STAFF))
    assert other.get("/api/v1/me/").status_code == 200


def test_the_anonymous_rate_applies_per_client_address(settings):
    _rates(settings, anon="2/min")
    client = APIClient(REMOTE_ADDR="198.51.100.9")
    statuses = [client.get("/api/v1/schema/", HTTP_X_FORWARDED_FOR=f"10.0.0.{i}").status_code for i in range(3)]
    assert statuses == [200, 200, 429]


# --- login throttling (django-axes) -------------------------------------------------------------------------


def _login(address: str, username: str, password: str = "wrong-password-1"):
    return Client(REMOTE_ADDR=address).post("/accounts/login/", {"username": username, "password": password})


def test_a_username_guessed_from_many_addresses_is_locked():
    # given a user whose password is guessed five times, each time from another address
    user_with_role(Role.BANK_ADMIN, username="target")
    for i in range(5):
        _login(f"203.0.113.{i}", "target")
    # when the right password comes from yet another address
    response = _login("203.0.113.99", "target", TEST_PASSWORD)
    # then the username is locked, with the Chinese message
    assert response.status_code == 429 and "登录失败次数过多" in response.content.decode()


def test_one_password_sprayed_over_many_usernames_locks_the_address(settings):
    # given an address trying one password over as many usernames as the address limit
    user_with_role(Role.TASK_FORCE_STAFF, username="bystander")
    for i in range(settings.AXES_IP_FAILURE_LIMIT):
        _login("198.51.100.66", f"sprayed{i}")
    # when that address tries once more, even a real account with its password
    response = _login("198.51.100.66", "bystander", TEST_PASSWORD)
    # then it is locked out, while the same account from its own address signs in
    assert response.status_code == 429
    assert _login("192.0.2.10", "bystander", TEST_PASSWORD).status_code == 302


def test_a_few_typos_in_a_shared_office_do_not_lock_the_office():
    # given an office behind one address where four colleagues each mistype once
    for name in ("clerk1", "clerk2", "clerk3", "clerk4", "clerk5"):
        user_with_role(Role.TASK_FORCE_STAFF, username=name)
    for name in ("clerk1", "clerk2", "clerk3", "clerk4"):
        _login("192.0.2.50", name)
    # then a fifth colleague still signs in
    assert _login("192.0.2.50", "clerk5", TEST_PASSWORD).status_code == 302


def test_signing_in_to_ones_own_account_does_not_clear_the_address_count(settings):
    # given an attacker who holds an account and sprays one password just under the address limit
    user_with_role(Role.ENTERPRISE_USER, username="attacker")
    limit = settings.AXES_IP_FAILURE_LIMIT
    for i in range(limit - 1):
        _login("198.51.100.77", f"victim{i}")
    # when he signs in to his own account in between
    assert _login("198.51.100.77", "attacker", TEST_PASSWORD).status_code == 302
    _login("198.51.100.77", "victim-last")
    # then his address is locked all the same
    assert _login("198.51.100.77", "attacker", TEST_PASSWORD).status_code == 429


def test_x_forwarded_for_does_not_give_the_login_throttle_a_new_address(settings):
    settings.NUM_PROXIES = 0
    for i in range(settings.AXES_IP_FAILURE_LIMIT):
        Client(REMOTE_ADDR="198.51.100.88", HTTP_X_FORWARDED_FOR=f"10.1.{i}.1").post(
            "/accounts/login/", {"username": f"spray{i}", "password": "wrong-password-1"}
        )
    user_with_role(Role.TASK_FORCE_STAFF, username="innocent")
    assert _login("198.51.100.88", "innocent", TEST_PASSWORD).status_code == 429
