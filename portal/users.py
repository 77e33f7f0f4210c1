"""User management in the portal (用户管理): organisation administrators manage the users of
their own subtree without the Django admin.

Who manages whom: a task-force lead the users of his task force (and its townships), a bank
administrator those of his bank or branch and its branches below, a city or province
regulator those of his mechanism and the mechanisms and task forces below it, a platform
administrator everyone. Every user id, organisation id and membership an input names is
resolved through `portal.tenancy.resolve` for MANAGE_USERS: the user restriction admits only
users whose every membership lies in the administrator's subtree, so another tenant's user
(or one who also belongs elsewhere) answers "not found" like an unknown id.

Lifecycle of an account:
- invited (`user_invite`): created active, with a temporary password shown to the
  administrator once, holding one role in one organisation of the subtree; the role must be
  one the organisation's kind can hold (portal.models.ROLE_ORGANISATION_KINDS, as
  `membership_grant`) and one the administrator may grant (GRANTABLE_ROLES: never above
  his own); he must choose a new password at his first sign-in;
- changed (`user_update`): name, phone, email, and the organisation and role he acts as;
- deactivated / reactivated (`user_deactivate`, `user_reactivate`): a deactivated user
  cannot sign in and his API tokens are revoked (portal.tokens); nobody deactivates himself;
- password reset (`user_reset_password`): a new temporary password, shown once, to be
  changed at the next sign-in.

Each write locks the user's row through the restriction (`resolve(..., lock=True)`) and
compares the version the administrator saw (`user_version`): of two administrators editing
the same user, the second is told that someone else changed it first. Every write is
audited (user.invite, user.update, user.deactivate, user.reactivate, user.reset_password).
The Django admin stays for platform administrators: nobody else is made staff here."""

from __future__ import annotations

import hashlib
import re
import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q, QuerySet
from guardian.conf import settings as guardian_settings

from portal.errors import ApplicationError
from portal.models import ROLE_ORGANISATION_KINDS, AccountProfile, Membership, Organisation, Role
from portal.services import audit_record
from portal.tenancy import MANAGE_USERS, USER_ADMIN_ROLES, resolve, restrict, scope_for

_GOVERNMENT_BELOW_CITY = {
    Role.CONVENER,
    Role.TASK_FORCE_LEAD,
    Role.TASK_FORCE_STAFF,
    Role.TASK_FORCE_BANK_REVIEWER,
    Role.DEPARTMENT_STAFF,
    Role.VISITOR,
}

# the roles each administrator may grant: his own and those below it, in his own line
GRANTABLE_ROLES: dict[str, set[str]] = {
    Role.TASK_FORCE_LEAD: {Role.TASK_FORCE_LEAD, Role.TASK_FORCE_STAFF, Role.TASK_FORCE_BANK_REVIEWER},
    Role.BANK_ADMIN: {Role.BANK_ADMIN, Role.ACCOUNT_MANAGER},
    Role.CITY_REGULATOR: {Role.CITY_REGULATOR, *_GOVERNMENT_BELOW_CITY},
    Role.PROVINCE_REGULATOR: {Role.PROVINCE_REGULATOR, Role.CITY_REGULATOR, *_GOVERNMENT_BELOW_CITY},
    Role.PLATFORM_ADMIN: set(Role),
}
MANAGER_ROLES = {*USER_ADMIN_ROLES, Role.PLATFORM_ADMIN}

PHONE = re.compile(r"^1\d{10}$")
CONFLICT_MESSAGE = "该用户刚被其他管理员修改, 请刷新页面查看最新信息后再操作"
TEMPORARY_PASSWORD_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789"


def grantable_roles(actor) -> list[str]:
    """The roles the actor may give, in the order of Role."""
    scope = scope_for(actor)
    if scope is None:
        return []
    role = Role.PLATFORM_ADMIN if scope.is_platform_admin else scope.role
    allowed = GRANTABLE_ROLES.get(role, set())
    return [r for r in Role if r in allowed]


def may_manage_users(actor) -> bool:
    scope = scope_for(actor)
    return bool(scope and (scope.is_platform_admin or scope.role in USER_ADMIN_ROLES))


# --- reads --------------------------------------------------------------------------


def people() -> QuerySet:
    """The accounts of people: every user but django-guardian's stand-in for anonymous visitors
    (its `AnonymousUser` row, which no administrator manages and no page lists)."""
    return get_user_model().objects.exclude(username=guardian_settings.ANONYMOUS_USER_NAME)


def user_list(
    *, user, q: str | None = None, organisation_id=None, role: str | None = None, is_active: bool | None = None
) -> QuerySet:
    """The users the administrator manages, filtered: by name, username, email or phone (q),
    by organisation (its subtree), by role and by whether the account is active."""
    qs = restrict(people(), user, MANAGE_USERS)
    if q:
        qs = qs.filter(
            Q(username__icontains=q)
            | Q(first_name__icontains=q)
            | Q(last_name__icontains=q)
            | Q(email__icontains=q)
            | Q(account_profile__phone__contains=q)
        )
    if organisation_id:
        organisation = resolve(Organisation, user, MANAGE_USERS, field="organisation", pk=organisation_id)
        qs = qs.filter(memberships__organisation__path__startswith=organisation.path)
    if role:
        qs = qs.filter(memberships__role=role)
    if is_active is not None:
        qs = qs.filter(is_active=is_active)
    return (
        qs.distinct()
        .select_related("account_profile")
        .prefetch_related("memberships__organisation")
        .order_by("-is_active", "username")
    )


def organisation_choices(*, user) -> QuerySet[Organisation]:
    """The organisations the administrator may place users in (his subtree)."""
    return restrict(Organisation.objects.filter(is_active=True), user, MANAGE_USERS).order_by("path")


def user_for_manage(*, actor, user_id):
    """One user the administrator manages (404-equivalent ApplicationError otherwise)."""
    return resolve(people().select_related("account_profile"), actor, MANAGE_USERS, field="user", pk=user_id)


def primary_membership(user) -> Membership | None:
    return user.memberships.select_related("organisation").order_by("-is_primary", "id").first()


def user_version(user) -> str:
    """A digest of what an administrator sees and may change of a user: a write that names a
    different version is refused (someone changed the user in between)."""
    membership = primary_membership(user)
    profile = AccountProfile.objects.filter(user=user).first()
    parts = [
        user.first_name,
        user.email,
        str(user.is_active),
        profile.phone if profile else "",
        f"{membership.organisation_id}:{membership.role}" if membership else "",
        user.password,
    ]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:16]


# --- writes -------------------------------------------------------------------------


def _locked_user(actor, user_id, version: str | None):
    user = resolve(people(), actor, MANAGE_USERS, lock=True, field="user", pk=user_id)
    _check_manageable(actor, user)
    if version and version != user_version(user):
        raise ApplicationError(CONFLICT_MESSAGE, code="conflict")
    return user


def _check_manageable(actor, user) -> None:
    """A user who holds a role the actor may not grant (a peer above him) is not his."""
    allowed = set(grantable_roles(actor))
    if any(role not in allowed for role in user.memberships.values_list("role", flat=True)):
        raise ApplicationError("该用户的角色高于您可以管理的角色, 请联系上级管理员", code="permission_denied")


def _check_role(actor, organisation: Organisation, role: str, errors: dict[str, list[str]]) -> None:
    if role not in Role.values:
        errors.setdefault("role", []).append("请选择有效的角色")
        return
    if role not in grantable_roles(actor):
        errors.setdefault("role", []).append(f"您不能授予「{Role(role).label}」角色")
    elif organisation is not None and organisation.kind not in ROLE_ORGANISATION_KINDS[Role(role)]:
        errors.setdefault("role", []).append(
            f"「{organisation.get_kind_display()}」类型的机构不能有「{Role(role).label}」角色"
        )


def _check_contacts(phone: str, email: str, errors: dict[str, list[str]]) -> None:
    if phone and not PHONE.match(phone):
        errors.setdefault("phone", []).append("请输入 11 位手机号码")
    if email:
        try:
            validate_email(email)
        except ValidationError:
            errors.setdefault("email", []).append("请输入有效的电子邮箱地址")
    if not phone and not email:
        errors.setdefault("phone", []).append("手机号和电子邮箱至少填写一项")


def _organisation(actor, organisation_id, errors: dict[str, list[str]]) -> Organisation | None:
    try:
        return resolve(Organisation, actor, MANAGE_USERS, field="organisation", pk=organisation_id)
    except ApplicationError as error:
        errors.setdefault("organisation", []).extend(error.field_errors.get("organisation", [error.message]))
        return None


def _refuse(errors: dict[str, list[str]]) -> None:
    if errors:
        not_found = any("无权操作" in m for m in errors.get("organisation", []))
        raise ApplicationError(
            "请修改标出的内容后重新提交", field_errors=errors, code="not_found" if not_found else "invalid"
        )


def _temporary_password() -> str:
    return "".join(secrets.choice(TEMPORARY_PASSWORD_ALPHABET) for _ in range(12))


def _state(user) -> dict:
    membership = primary_membership(user)
    profile = AccountProfile.objects.filter(user=user).first()
    return {
        "full_name": user.first_name,
        "phone": profile.masked_phone if profile else "",
        "email": user.email,
        "organisation": membership.organisation.name if membership else "",
        "role": membership.get_role_display() if membership else "",
        "is_active": "是" if user.is_active else "否",
    }


def _need_manager(actor) -> None:
    if not may_manage_users(actor):
        raise ApplicationError("您无权管理用户", code="permission_denied")


@transaction.atomic
def user_invite(
    *,
    actor,
    username: str,
    full_name: str,
    phone: str = "",
    email: str = "",
    organisation_id,
    role: str,
    request=None,
):
    """Create a user in an organisation of the actor's subtree with one role; returns the user
    and his temporary password (shown once; he must change it at his first sign-in)."""
    _need_manager(actor)
    User = get_user_model()
    username, full_name, phone, email = username.strip(), full_name.strip(), phone.strip(), email.strip()
    errors: dict[str, list[str]] = {}
    if not username:
        errors["username"] = ["请填写用户名"]
    else:
        try:
            UnicodeUsernameValidator()(username)
        except ValidationError:
            errors["username"] = ["用户名只能包含字母、数字和 @ . + - _"]
        if len(username) > 150:
            errors.setdefault("username", []).append("用户名不能超过 150 个字符")
        elif User.objects.filter(username__iexact=username).exists():
            errors.setdefault("username", []).append("该用户名已被使用")
    if not full_name:
        errors["full_name"] = ["请填写姓名"]
    elif len(full_name) > 150:
        errors["full_name"] = ["姓名不能超过 150 个字符"]
    _check_contacts(phone, email, errors)
    organisation = _organisation(actor, organisation_id, errors)
    _check_role(actor, organisation, role, errors)
    _refuse(errors)
    password = _temporary_password()
    user = User.objects.create_user(username=username, password=password, email=email, first_name=full_name)
    AccountProfile.objects.create(user=user, phone=phone, must_change_password=True, invited_by=actor)
    Membership.objects.create(user=user, organisation=organisation, role=role, is_primary=True)
    audit_record(
        actor=actor,
        action="user.invite",
        obj=user,
        after={"username": username, **_state(user)},
        organisation=organisation,
        request=request,
    )
    return user, password


@transaction.atomic
def user_update(
    *,
    actor,
    user_id,
    full_name: str,
    phone: str | None = None,
    email: str = "",
    organisation_id,
    role: str,
    version: str | None = None,
    request=None,
):
    """Change a user's name and contacts and the organisation and role he acts as (his
    primary membership), inside the actor's subtree and the roles he may grant. The phone is
    never shown in clear: an empty phone keeps the stored one."""
    _need_manager(actor)
    user = _locked_user(actor, user_id, version)
    stored = AccountProfile.objects.filter(user=user).values_list("phone", flat=True).first() or ""
    full_name, phone, email = full_name.strip(), (phone or "").strip() or stored, email.strip()
    errors: dict[str, list[str]] = {}
    if not full_name:
        errors["full_name"] = ["请填写姓名"]
    elif len(full_name) > 150:
        errors["full_name"] = ["姓名不能超过 150 个字符"]
    _check_contacts(phone, email, errors)
    organisation = _organisation(actor, organisation_id, errors)
    _check_role(actor, organisation, role, errors)
    if user.pk == actor.pk and not errors:
        current = primary_membership(user)
        if current and (current.organisation_id, current.role) != (organisation.pk, role):
            errors["role"] = ["不能修改自己的机构或角色, 请联系上级管理员"]
    _refuse(errors)
    before = _state(user)
    user.first_name, user.email = full_name, email
    user.save(update_fields=["first_name", "email"])
    AccountProfile.objects.update_or_create(user=user, defaults={"phone": phone})
    membership = primary_membership(user)
    if membership is None:
        Membership.objects.create(user=user, organisation=organisation, role=role, is_primary=True)
    elif (membership.organisation_id, membership.role) != (organisation.pk, role):
        # the same role in the same organisation held as a second membership becomes the primary one
        user.memberships.filter(organisation=organisation, role=role).exclude(pk=membership.pk).delete()
        membership.organisation, membership.role = organisation, role
        membership.save(update_fields=["organisation", "role"])
    after = _state(user)
    changed = [key for key in after if after[key] != before[key]]
    if changed:
        audit_record(
            actor=actor,
            action="user.update",
            obj=user,
            before={k: before[k] for k in changed},
            after={k: after[k] for k in changed},
            organisation=organisation,
            request=request,
        )
    return user


@transaction.atomic
def user_deactivate(*, actor, user_id, version: str | None = None, request=None):
    """Stop a user from signing in (his API tokens are revoked with it, portal.tokens)."""
    return _user_set_active(actor=actor, user_id=user_id, version=version, request=request, active=False)


@transaction.atomic
def user_reactivate(*, actor, user_id, version: str | None = None, request=None):
    """Let a stopped user sign in again."""
    return _user_set_active(actor=actor, user_id=user_id, version=version, request=request, active=True)


def _user_set_active(*, actor, user_id, version: str | None, request, active: bool):
    """Deactivate or reactivate: the user locked through the restriction, the version the
    administrator saw checked, the change audited (user.deactivate / user.reactivate)."""
    _need_manager(actor)
    user = _locked_user(actor, user_id, None)
    if not active and user.pk == actor.pk:
        raise ApplicationError("不能停用自己的账号", code="invalid")
    if user.is_active == active:
        already = "已是启用状态" if active else "已被停用"
        raise ApplicationError(f"用户「{user.first_name or user.username}」{already}, 无需重复操作", code="conflict")
    if version and version != user_version(user):
        raise ApplicationError(CONFLICT_MESSAGE, code="conflict")
    user.is_active = active
    user.save(update_fields=["is_active"])
    audit_record(
        actor=actor,
        action="user.reactivate" if active else "user.deactivate",
        obj=user,
        before={"is_active": "否" if active else "是"},
        after={"is_active": "是" if active else "否"},
        request=request,
    )
    return user


@transaction.atomic
def user_reset_password(*, actor, user_id, version: str | None = None, request=None):
    """A new temporary password for the user (returned once, never stored in clear); he must
    change it at his next sign-in. His API tokens are revoked with the old password."""
    _need_manager(actor)
    user = _locked_user(actor, user_id, version)
    if user.pk == actor.pk:
        raise ApplicationError("不能在这里重置自己的密码, 请使用「修改密码」", code="invalid")
    password = _temporary_password()
    user.set_password(password)
    user.save(update_fields=["password"])
    AccountProfile.objects.update_or_create(user=user, defaults={"must_change_password": True})
    audit_record(
        actor=actor,
        action="user.reset_password",
        obj=user,
        after={"note": "已生成临时密码, 用户下次登录须修改"},
        request=request,
    )
    return user, password


def password_changed(*, user) -> None:
    """The user chose his own password: he no longer has to change it at sign-in."""
    AccountProfile.objects.filter(user=user, must_change_password=True).update(must_change_password=False)


# --- the first sign-in after an invitation or a reset ------------------------------

MUST_CHANGE_SESSION_KEY = "portal_must_change_password"


def _on_login(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session"):
        if AccountProfile.objects.filter(user=user, must_change_password=True).exists():
            request.session[MUST_CHANGE_SESSION_KEY] = True


def connect_signals() -> None:
    user_logged_in.connect(_on_login, dispatch_uid="portal.users.must_change_password")
