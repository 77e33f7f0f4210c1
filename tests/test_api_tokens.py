"""API tokens (issue 13, finding 10): bank administrators issue and revoke named tokens for
their systems (page and API); a token is shown once, stored hashed, expires, is revoked when
its user's password changes or the account is deactivated, and is refused while the user is
locked out by the login throttle."""

import datetime as dt
import hashlib

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from portal.factories import TEST_PASSWORD, api_token, user_with_role
from portal.models import ApiToken, AuditEvent, Membership, Role
from portal.tokens import import_legacy_tokens

pytestmark = pytest.mark.django_db


@pytest.fixture
def boc_sub_admin(world):
    """An administrator of 中国银行's 泽州 sub-branch, below the 晋城 branch of the same bank."""
    return user_with_role(Role.BANK_ADMIN, organisation=world.branches["boc"].organisation, username="wf-boc-sub-admin")


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def with_key(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def issue_on_page(user, name="信贷管理系统", days=90):
    response = signed_in(user).post("/accounts/tokens/", {"name": name, "days": days})
    assert response.status_code == 201, response.content.decode()[:500]
    return response, response.context["key"]


# --- issue, use, show once --------------------------------------------------------------------------


def test_a_bank_administrator_issues_a_named_token_shown_once_and_stored_hashed(world):
    admin = world.users["boc_admin"]
    # given the page linked from the bank administrator's navigation
    home = signed_in(admin).get("/")
    assert 'href="/accounts/tokens/"' in home.content.decode()
    # when he issues a token for the bank's credit system
    response, key = issue_on_page(admin, days=30)
    # then the key is shown once, not cached, and only its digest is stored
    page = response.content.decode()
    assert key in page and "令牌只显示这一次" in page and response["Cache-Control"] == "no-store"
    token = ApiToken.objects.get(user=admin)
    assert token.name == "信贷管理系统" and token.digest == hashlib.sha256(key.encode()).hexdigest()
    assert key not in str(ApiToken.objects.filter(pk=token.pk).values().first())
    assert dt.timedelta(days=29, hours=23) < token.expires_at - timezone.now() <= dt.timedelta(days=30)
    assert key not in signed_in(admin).get("/accounts/tokens/").content.decode()
    # and the system calls the API as him
    me = with_key(key).get("/api/v1/me/")
    assert me.status_code == 200 and me.json()["username"] == admin.username and me.json()["role"] == Role.BANK_ADMIN
    assert ApiToken.objects.get(pk=token.pk).last_used_at is not None
    assert AuditEvent.objects.filter(action="api_token.issue", object_id=str(token.pk), actor=admin).exists()


def test_a_token_expires(world):
    key = issue_on_page(world.users["boc_admin"], days=1)[1]
    assert with_key(key).get("/api/v1/me/").status_code == 200
    with time_machine.travel(timezone.now() + dt.timedelta(days=1, minutes=1), tick=False):
        response = with_key(key).get("/api/v1/me/")
    assert response.status_code in (401, 403) and response.json()["message"] == "令牌已过期, 请让银行管理员重新签发"


@pytest.mark.parametrize("days", ["0", "366", "9" * 30, "NaN", ""])
def test_a_validity_outside_one_to_the_maximum_is_a_field_error(world, days):
    response = signed_in(world.users["boc_admin"]).post("/accounts/tokens/", {"name": "系统", "days": days})
    assert response.status_code == 400 and response.context["form"].errors["days"]
    assert not ApiToken.objects.exists()


def test_only_bank_administrators_issue_and_a_token_cannot_issue_tokens(world):
    staff = world.users["staff"]
    assert signed_in(staff).get("/accounts/tokens/").status_code == 403
    client = APIClient()
    client.force_authenticate(staff)
    assert client.post("/api/v1/tokens/", {"name": "系统"}, format="json").status_code == 403
    # a bank administrator's token may call the API, but not mint new tokens
    key = issue_on_page(world.users["boc_admin"])[1]
    refused = with_key(key).post("/api/v1/tokens/", {"name": "续期"}, format="json")
    assert refused.status_code == 403 and "令牌不能用于签发新令牌" in refused.json()["message"]
    assert ApiToken.objects.count() == 1


def test_the_api_issues_once_lists_without_the_key_and_revokes(world):
    admin = world.users["boc_admin"]
    client = APIClient()
    client.force_login(admin)  # a signed-in session
    issued = client.post("/api/v1/tokens/", {"name": "数据报送接口", "days": 7}, format="json")
    assert issued.status_code == 201, issued.content
    key, token_id = issued.json()["key"], issued.json()["id"]
    listed = client.get("/api/v1/tokens/").json()["results"]
    assert [t["name"] for t in listed] == ["数据报送接口"] and "key" not in listed[0] and key not in str(listed)
    assert with_key(key).get("/api/v1/me/").status_code == 200
    revoked = client.post(f"/api/v1/tokens/{token_id}/revoke/", {"reason": "系统下线"}, format="json")
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    assert with_key(key).get("/api/v1/me/").json()["message"] == "令牌已被吊销"


# --- revoke ----------------------------------------------------------------------------------------------


def test_revoking_on_the_page_asks_for_confirmation_first(world):
    admin = world.users["boc_admin"]
    key = issue_on_page(admin)[1]
    token = ApiToken.objects.get(user=admin)
    client = signed_in(admin)
    # when he follows 吊销, a confirmation page shows and nothing is revoked yet
    confirm = client.get(f"/accounts/tokens/{token.pk}/revoke/")
    assert confirm.status_code == 200 and "确认吊销" in confirm.content.decode() and "取消" in confirm.content.decode()
    assert ApiToken.objects.get(pk=token.pk).revoked_at is None
    # when he confirms
    done = client.post(f"/accounts/tokens/{token.pk}/revoke/", {"reason": "令牌泄露"}, follow=True)
    # then the token is revoked with who and why, audited, and refused at once
    token.refresh_from_db()
    assert token.revoked_at and token.revoked_by == admin and token.revoke_reason == "令牌泄露"
    assert "已吊销" in done.content.decode()
    assert AuditEvent.objects.filter(action="api_token.revoke", object_id=str(token.pk), actor=admin).exists()
    assert with_key(key).get("/api/v1/me/").status_code in (401, 403)


def test_a_bank_administrator_manages_his_subtrees_tokens_and_no_other_banks(world, boc_sub_admin):
    city, sub, ccb = world.users["boc_admin"], boc_sub_admin, world.users["ccb_admin"]
    issue_on_page(sub, name="支行系统")
    issue_on_page(city, name="分行系统")
    sub_token = ApiToken.objects.get(user=sub)
    city_token = ApiToken.objects.get(user=city)
    # the 晋城 branch administrator sees and may revoke the 泽州 sub-branch's token
    assert "支行系统" in signed_in(city).get("/accounts/tokens/").content.decode()
    # the sub-branch administrator does not see his parent branch's token
    assert "分行系统" not in signed_in(sub).get("/accounts/tokens/").content.decode()
    assert signed_in(sub).get(f"/accounts/tokens/{city_token.pk}/revoke/").status_code == 404
    # another bank sees neither, and cannot revoke them (page or API)
    other = signed_in(ccb)
    assert "支行系统" not in other.get("/accounts/tokens/").content.decode()
    assert other.post(f"/accounts/tokens/{sub_token.pk}/revoke/").status_code == 404
    api = APIClient()
    api.force_authenticate(ccb)
    assert api.post(f"/api/v1/tokens/{sub_token.pk}/revoke/", {}, format="json").status_code == 404
    assert ApiToken.objects.get(pk=sub_token.pk).revoked_at is None
    # and the branch above revokes it
    signed_in(city).post(f"/accounts/tokens/{sub_token.pk}/revoke/", {"reason": "支行系统停用"})
    assert ApiToken.objects.get(pk=sub_token.pk).revoked_by == city


# --- credentials change, lockout ------------------------------------------------------------------------------


def test_changing_the_password_revokes_the_users_tokens(world):
    admin = world.users["boc_admin"]
    key = issue_on_page(admin)[1]
    response = signed_in(admin).post(
        "/accounts/password/",
        {"old_password": TEST_PASSWORD, "new_password1": "A-new-passw0rd-2026", "new_password2": "A-new-passw0rd-2026"},
    )
    assert response.status_code == 302
    token = ApiToken.objects.get(user=admin)
    assert token.revoked_at is not None and token.revoke_reason == "密码已修改"
    assert with_key(key).get("/api/v1/me/").json()["message"] == "令牌已被吊销"
    assert AuditEvent.objects.filter(action="api_token.revoke", object_id=str(token.pk), actor=None).exists()


def test_deactivating_the_account_revokes_its_tokens_for_good(world):
    admin = world.users["boc_admin"]
    key = issue_on_page(admin)[1]
    admin.is_active = False
    admin.save()
    admin.is_active = True  # reactivated later: the old tokens stay revoked
    admin.save()
    token = ApiToken.objects.get(user=admin)
    assert token.revoke_reason == "账号已停用"
    assert with_key(key).get("/api/v1/me/").status_code in (401, 403)


def test_a_token_is_refused_while_its_user_is_locked_out(world, settings):
    admin = world.users["boc_admin"]
    key = api_token(admin)
    # given someone failing to sign in as him five times (from anywhere)
    for i in range(settings.AXES_FAILURE_LIMIT):
        Client(REMOTE_ADDR=f"203.0.113.{i}").post(
            "/accounts/login/", {"username": admin.username, "password": "wrong-guess-1"}
        )
    # then his token is refused while the lockout lasts, and works again after the cool-off
    refused = with_key(key).get("/api/v1/me/")
    assert refused.status_code in (401, 403) and "锁定" in refused.json()["message"]
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=16), tick=False):
        assert with_key(key).get("/api/v1/me/").status_code == 200


def test_an_unknown_or_malformed_token_is_refused_in_chinese(world):
    for header in ("Token nope", "Token", "Token a b", "Bearer zyq_00000000abc"):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=header)
        response = client.get("/api/v1/me/")
        assert response.status_code in (401, 403)
        assert set(response.json()) == {"code", "message", "errors"} and response.json()["message"].startswith("令牌")


# --- the tokens of rest_framework.authtoken -------------------------------------------------------------------


def test_clear_text_tokens_of_the_old_table_become_hashed_expiring_tokens(world):
    admin = world.users["boc_admin"]
    old_key = "0123456789abcdef0123456789abcdef01234567"
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE authtoken_token (key varchar(40) PRIMARY KEY, created timestamp with time zone, user_id "
            "bigint)"
        )
        cursor.execute("INSERT INTO authtoken_token VALUES (%s, now(), %s)", [old_key, admin.pk])
    with connection.schema_editor() as editor:
        assert import_legacy_tokens(editor, ApiToken, Membership) == 1
    assert "authtoken_token" not in connection.introspection.table_names()
    token = ApiToken.objects.get(user=admin)
    assert (
        token.digest == hashlib.sha256(old_key.encode()).hexdigest()
        and token.organisation_id == admin.memberships.get().organisation_id
    )
    assert token.expires_at < timezone.now() + dt.timedelta(days=91)
    assert with_key(old_key).get("/api/v1/me/").json()["username"] == admin.username
