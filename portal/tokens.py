"""API tokens for the banks' systems: issue, use, expire, revoke.

Lifecycle of an `ApiToken`:

1. **Issued** by a bank administrator for one of his bank's systems (page 「API 令牌」, or
   `POST /api/v1/tokens/` from a signed-in session — a token cannot issue tokens, so a
   leaked one cannot renew itself): a name, a validity of 1 … `API_TOKEN_MAX_DAYS` days
   (default `API_TOKEN_DEFAULT_DAYS`). The key is shown once; only its SHA-256 digest is
   stored. At most `API_TOKEN_MAX_ACTIVE` valid tokens per administrator.
2. **Used** as `Authorization: Token <key>` (or `Bearer <key>`); it acts as the
   administrator who issued it, with his role and organisation. `last_used_at` is kept to
   the minute.
3. **Refused** when expired, revoked, when its user is inactive, and while its user's
   username is locked by the login throttle (`portal.login_throttle`).
4. **Revoked** (kept, with who, when and why) by an administrator of the bank (his own
   subtree) or the platform administrator, after a confirmation; by the portal when the
   user's password changes or the account is deactivated (any way: the password page, the
   admin, `manage.py changepassword`). Signing out of the portal does not revoke a system's
   token: it is not a session.

Every issue and revocation is audited (`api_token.issue`, `api_token.revoke`).
Tokens of the retired `rest_framework.authtoken` (kept in clear text) were converted by
migration portal 0003 into hashed tokens that expire after the default validity, and the old
table was dropped.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q, QuerySet
from django.db.models.signals import post_save, pre_save
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from rest_framework import authentication, exceptions

from portal import bounds
from portal.login_throttle import username_locked_out
from portal.models import ApiToken, Role
from portal.services import ApplicationError, audit_record
from portal.tenancy import CHANGE, VIEW, any_of, resolve, restrict, restriction, scope_for, subtree_q

KEY_PREFIX = "zyq_"
ISSUER_ROLES = {Role.BANK_ADMIN}
USED_AT_PRECISION = dt.timedelta(minutes=1)


def digest_of(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _new_key() -> tuple[str, str]:
    """(prefix, key): the prefix is the key's first 12 characters, unique among tokens."""
    while True:
        prefix = KEY_PREFIX + secrets.token_hex(4)
        if not ApiToken.objects.filter(prefix=prefix).exists():
            return prefix, f"{prefix}{secrets.token_urlsafe(32)}"


# --- tenancy ------------------------------------------------------------------------------------------


@restriction(ApiToken)
def _api_tokens(scope, action: str) -> Q | None:
    """A bank administrator: the tokens of his organisation and those below it; anyone else:
    his own (the platform administrator sees every token through restrict())."""
    own = Q(user_id=scope.user_id)
    return any_of(subtree_q(scope, "organisation__path"), own) if scope.role == Role.BANK_ADMIN else own


def api_token_list(*, user) -> QuerySet[ApiToken]:
    return restrict(ApiToken.objects.select_related("user", "organisation", "revoked_by"), user, VIEW)


# --- services -----------------------------------------------------------------------------------------


@transaction.atomic
def api_token_issue(*, actor, name: str, days: int | None = None, request=None) -> tuple[ApiToken, str]:
    """A new token acting as `actor`; returns it and its key (the only time the key exists)."""
    scope = scope_for(actor)
    if scope is None or scope.role not in ISSUER_ROLES:
        raise ApplicationError("只有银行管理员可以为本行系统签发 API 令牌", code="permission_denied")
    errors: dict[str, list[str]] = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = ["请填写令牌名称(如对接的系统名)"]
    elif len(name) > 64:
        errors["name"] = ["名称不能超过 64 个字"]
    try:
        days = bounds.to_int(
            settings.API_TOKEN_DEFAULT_DAYS if days in (None, "") else days,
            min_value=1,
            max_value=settings.API_TOKEN_MAX_DAYS,
        )
    except bounds.OutOfBounds as exc:
        errors["days"] = [f"有效期{exc.message}(1 至 {settings.API_TOKEN_MAX_DAYS} 天)"]
    if errors:
        raise ApplicationError(next(iter(errors.values()))[0], field_errors=errors)
    now = timezone.now()
    active = ApiToken.objects.select_for_update().filter(user=actor, revoked_at=None, expires_at__gt=now)
    if len(active) >= settings.API_TOKEN_MAX_ACTIVE:
        raise ApplicationError(
            f"有效令牌已达 {settings.API_TOKEN_MAX_ACTIVE} 个, 请先吊销不再使用的令牌", code="conflict"
        )
    prefix, key = _new_key()
    token = ApiToken.objects.create(
        user=actor,
        organisation_id=scope.organisation_id,
        name=name,
        prefix=prefix,
        digest=digest_of(key),
        created_by=actor,
        expires_at=now + dt.timedelta(days=days),
    )
    audit_record(
        actor=actor,
        action="api_token.issue",
        obj=token,
        request=request,
        after={"name": name, "prefix": prefix, "expires_at": token.expires_at.isoformat()},
    )
    return token, key


@transaction.atomic
def api_token_revoke(*, actor, token_id, reason: str = "", request=None) -> ApiToken:
    """Revoke a token the actor may change (his bank's, or his own); it stops working at once."""
    token = resolve(ApiToken, actor, CHANGE, lock=True, field="token", pk=token_id)
    if token.revoked_at is not None:
        raise ApplicationError("该令牌已被吊销", code="conflict")
    token.revoked_at, token.revoked_by, token.revoke_reason = timezone.now(), actor, (reason or "").strip()[:255]
    token.save(update_fields=["revoked_at", "revoked_by", "revoke_reason"])
    audit_record(
        actor=actor,
        action="api_token.revoke",
        obj=token,
        request=request,
        after={"prefix": token.prefix, "reason": token.revoke_reason},
    )
    return token


@transaction.atomic
def api_tokens_revoke_for_user(*, user, reason: str) -> int:
    """The portal revokes every token of a user whose password changed or who was
    deactivated (no actor: the change itself is the cause)."""
    now = timezone.now()
    tokens = list(ApiToken.objects.select_for_update().filter(user=user, revoked_at=None))
    for token in tokens:
        token.revoked_at, token.revoke_reason = now, reason
        token.save(update_fields=["revoked_at", "revoke_reason"])
        audit_record(
            actor=None,
            action="api_token.revoke",
            obj=token,
            organisation=token.organisation,
            after={"prefix": token.prefix, "reason": reason},
        )
    return len(tokens)


# --- revoked when the password changes or the account is deactivated --------------------------------------


def _remember_credentials(sender, instance, update_fields=None, **kwargs):
    if instance.pk is None or (update_fields is not None and not {"password", "is_active"} & set(update_fields)):
        instance._token_credentials = None
        return
    instance._token_credentials = sender.objects.filter(pk=instance.pk).values_list("password", "is_active").first()


def _revoke_on_credential_change(sender, instance, created=False, **kwargs):
    before = getattr(instance, "_token_credentials", None)
    instance._token_credentials = None
    if created or before is None:
        return
    password, was_active = before
    if was_active and not instance.is_active:
        api_tokens_revoke_for_user(user=instance, reason="账号已停用")
    elif password != instance.password:
        api_tokens_revoke_for_user(user=instance, reason="密码已修改")


def connect_signals():
    user_model = get_user_model()
    pre_save.connect(_remember_credentials, sender=user_model, dispatch_uid="api-token-credentials")
    post_save.connect(_revoke_on_credential_change, sender=user_model, dispatch_uid="api-token-revoke")


# --- authentication -----------------------------------------------------------------------------------------


class TokenRefused(exceptions.AuthenticationFailed):
    """A token that is not (or no longer) accepted; the message says why, in Chinese."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message_zh = message


class ApiTokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Token <key>` or `Bearer <key>` → the token's user."""

    keywords = ("token", "bearer")

    def authenticate(self, request):
        parts = authentication.get_authorization_header(request).split()
        if not parts or parts[0].decode("latin-1").lower() not in self.keywords:
            return None
        if len(parts) != 2:
            raise TokenRefused("令牌格式有误: 应为「Token 令牌」")
        try:
            key = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise TokenRefused("令牌无效") from None
        return self.authenticate_key(key)

    def authenticate_key(self, key: str):
        token = ApiToken.objects.select_related("user").filter(digest=digest_of(key)).first()
        if token is None:
            raise TokenRefused("令牌无效")
        now = timezone.now()
        if token.revoked_at is not None:
            raise TokenRefused("令牌已被吊销")
        if token.expires_at <= now:
            raise TokenRefused("令牌已过期, 请让银行管理员重新签发")
        user = token.user
        if not user.is_active:
            raise TokenRefused("账号已停用")
        if username_locked_out(user.get_username()):
            raise TokenRefused("账号因多次登录失败被暂时锁定, 令牌暂不可用, 请稍后再试")
        if token.last_used_at is None or now - token.last_used_at >= USED_AT_PRECISION:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return user, token

    def authenticate_header(self, request):
        return "Token"


class ApiTokenScheme(OpenApiAuthenticationExtension):
    """The token in the OpenAPI schema (and Swagger UI's 「Authorize」)."""

    target_class = ApiTokenAuthentication
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return build_bearer_security_scheme_object(header_name="Authorization", token_prefix="Token")


# --- the tokens of django-rest-framework's authtoken, converted once ---------------------------------------


def import_legacy_tokens(schema_editor, token_model, membership_model) -> int:
    """Migration portal 0003: each clear-text `authtoken_token` key becomes a hashed token of
    the same user (it keeps working until it expires after the default validity), then the
    clear-text table is dropped. Nothing to do on a database that never had it."""
    connection = schema_editor.connection
    if "authtoken_token" not in connection.introspection.table_names():
        return 0
    with connection.cursor() as cursor:
        cursor.execute("SELECT key, user_id FROM authtoken_token")
        rows = cursor.fetchall()
    expires = timezone.now() + dt.timedelta(days=settings.API_TOKEN_DEFAULT_DAYS)
    for key, user_id in rows:
        membership = membership_model.objects.filter(user_id=user_id).order_by("-is_primary", "id").first()
        token_model.objects.create(
            user_id=user_id,
            organisation_id=membership.organisation_id if membership else None,
            name="旧版令牌(已迁移)",
            prefix=f"old_{key[:10]}",
            digest=digest_of(key),
            expires_at=expires,
        )
    schema_editor.execute("DROP TABLE authtoken_token")
    return len(rows)
