import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.test import Client

from portal.factories import TEST_PASSWORD, user_with_role
from portal.models import Role

pytestmark = pytest.mark.django_db


def test_login_is_throttled_after_five_failures_with_a_chinese_message():
    # given a user and someone guessing his password
    user_with_role(Role.TASK_FORCE_STAFF, username="guessed")
    client = Client(REMOTE_ADDR="10.1.2.3")
    for _ in range(5):
        client.post("/accounts/login/", {"username": "guessed", "password": "wrong-guess"})
    # when the right password comes next
    response = client.post("/accounts/login/", {"username": "guessed", "password": TEST_PASSWORD})
    # then the account is locked for a while, with a clear message
    assert response.status_code == 429
    assert "登录失败次数过多" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_a_successful_login_resets_the_failure_count():
    user_with_role(Role.TASK_FORCE_STAFF, username="forgetful")
    client = Client(REMOTE_ADDR="10.1.2.4")
    for _ in range(3):
        client.post("/accounts/login/", {"username": "forgetful", "password": "nope"})
    response = client.post("/accounts/login/", {"username": "forgetful", "password": TEST_PASSWORD})
    assert response.status_code == 302


@pytest.mark.parametrize("weak", ["12345678", "password", "qwerty123", "short1!"])
def test_weak_passwords_are_refused(weak):
    with pytest.raises(ValidationError):
        validate_password(weak)


def test_pages_carry_a_strict_content_security_policy(client):
    response = client.get("/accounts/login/")
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy and "frame-ancestors 'none'" in policy


def test_sessions_expire(settings):
    assert settings.SESSION_COOKIE_AGE <= 8 * 3600 and settings.SESSION_EXPIRE_AT_BROWSER_CLOSE
    assert settings.SESSION_COOKIE_HTTPONLY
