"""Writes of the portal package. Every write is keyword-only, atomic and audited.

Organisations and memberships named by input are resolved through the tenant restriction
for CHANGE (`portal.tenancy.resolve`): a bank administrator writes only inside his own
subtree, platform administrators everywhere; `actor=None` is the system (seed data,
management commands). Moving an organisation rewrites the materialised path of every
descendant in the same transaction (Organisation.save), and whatever derives from paths
follows through the `organisation_moved` signal."""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import Model

from portal.errors import ApplicationError  # the apps import it from here (portal.tenancy raises it too)
from portal.models import ROLE_ORGANISATION_KINDS, AuditEvent, Membership, Organisation, OrganisationKind, Role
from portal.tenancy import CHANGE, CONTACT, NOT_FOUND_MESSAGE, resolve, restrict, scope_for


def _ip_or_none(value) -> str | None:
    try:
        return str(ipaddress.ip_address(str(value).strip()))
    except ValueError:
        return None


def client_ip(request) -> str | None:
    """The client's address, the one source for the audit log, the API throttles and the
    login throttle (django-axes). Directly reachable (NUM_PROXIES = 0): the socket's
    REMOTE_ADDR; X-Forwarded-For is then the client's own claim and ignored. Behind
    NUM_PROXIES trusted reverse proxies, each of which appends the address it saw: the
    entry the outermost proxy wrote (the NUM_PROXIES-th from the end); anything before it
    is the client's to invent. An entry that is no address falls back to REMOTE_ADDR."""
    if request is None:
        return None
    remote = _ip_or_none(request.META.get("REMOTE_ADDR", ""))
    proxies = settings.NUM_PROXIES
    if proxies:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if forwarded:
            return _ip_or_none(forwarded[-min(proxies, len(forwarded))]) or remote
    return remote


def audit_record(
    *,
    actor,
    action: str,
    obj: Model | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    organisation: Organisation | None = None,
    request=None,
) -> AuditEvent:
    if organisation is None and actor is not None and getattr(actor, "is_authenticated", False):
        scope = scope_for(actor)
        organisation_id = scope.organisation_id if scope else None
    else:
        organisation_id = organisation.pk if organisation else None
    return AuditEvent.objects.create(
        actor=actor if actor is not None and getattr(actor, "is_authenticated", False) else None,
        organisation_id=organisation_id,
        action=action,
        object_type=ContentType.objects.get_for_model(obj) if obj is not None else None,
        object_id=str(obj.pk) if obj is not None else "",
        object_repr=str(obj)[:255] if obj is not None else "",
        before=before,
        after=after,
        ip_address=client_ip(request),
    )


@transaction.atomic
def membership_grant(*, actor, user, organisation: Organisation, role: str, primary: bool = True) -> Membership:
    """Give `user` a role in `organisation`. A signed-in actor grants only in organisations he
    may change (his own subtree) and only to users who belong nowhere else (a new user, or
    one whose every membership lies in his subtree): taking over another organisation's
    user is refused exactly like an unknown one."""
    if actor is not None:
        organisation = _organisation_for_change(actor, organisation.pk, field="organisation")
        _user_for_change(actor, user)
    if organisation.kind not in ROLE_ORGANISATION_KINDS[Role(role)]:
        raise ApplicationError(
            f"角色「{Role(role).label}」不能属于「{organisation.get_kind_display()}」类型的机构",
            field_errors={"role": ["角色与机构类型不符"]},
        )
    if primary:
        Membership.objects.filter(user=user, is_primary=True).update(is_primary=False)
    membership, _ = Membership.objects.update_or_create(
        user=user, organisation=organisation, role=role, defaults={"is_primary": primary}
    )
    audit_record(
        actor=actor,
        action="membership.grant",
        obj=membership,
        after={"user": user.username, "organisation": organisation.pk, "role": role},
        organisation=organisation,
    )
    return membership


@transaction.atomic
def user_create(
    *, actor, username: str, password: str, full_name: str = "", email: str = "", organisation: Organisation, role: str
):
    User = get_user_model()
    user = User.objects.create_user(username=username, password=password, email=email, first_name=full_name)
    membership_grant(actor=actor, user=user, organisation=organisation, role=role)
    return user


@transaction.atomic
def organisation_move(*, actor, organisation_id, parent_id) -> Organisation:
    """Re-parent an organisation inside the actor's subtree. Organisation.save rewrites every
    descendant's materialised path (and sends `organisation_moved` for what derives from
    paths) in this transaction, so every restriction follows the move at once."""
    organisation = _organisation_for_change(actor, organisation_id, lock=True)
    parent = _organisation_for_change(actor, parent_id, field="parent")
    if parent.path.startswith(organisation.path):
        raise ApplicationError(
            "不能把机构移到其自身或下级机构之下", field_errors={"parent": ["不能移到本机构或其下级机构之下"]}
        )
    if parent.is_bank != organisation.is_bank:
        raise ApplicationError("上级机构的类型不符", field_errors={"parent": ["银行机构只能隶属于银行机构"]})
    if organisation.parent_id == parent.pk:
        return organisation
    before = {"parent": organisation.parent_id, "path": organisation.path}
    organisation.parent = parent
    organisation.save()
    audit_record(
        actor=actor,
        action="organisation.move",
        obj=organisation,
        before=before,
        after={"parent": parent.pk, "path": organisation.path},
    )
    return organisation


CONTACT_KINDS = (OrganisationKind.BANK, OrganisationKind.BANK_BRANCH, OrganisationKind.DEPARTMENT)
PHONE_PATTERN = re.compile(r"^[0-9][0-9-]{5,18}[0-9]$")


@transaction.atomic
def organisation_contact_update(*, actor, organisation_id, contact_name, contact_phone) -> Organisation:
    """The named contact (联系人, 联系电话) of a bank branch or a 职能部门, kept by its administrator:
    a bank administrator for his branch and those below it, a department's staff for it. Shown on
    leads, 批分单 and 督办单 (issue 17 part 5)."""
    organisation = resolve(
        Organisation.objects.filter(kind__in=CONTACT_KINDS),
        actor,
        CONTACT,
        lock=True,
        pk=organisation_id,
        field="organisation_id",
    )
    name = contact_name.strip() if isinstance(contact_name, str) else ""
    phone = contact_phone.strip() if isinstance(contact_phone, str) else ""
    errors = {}
    if not name or len(name) > 32:
        errors["contact_name"] = ["请填写联系人姓名(不超过 32 字)"]
    if not PHONE_PATTERN.match(phone):
        errors["contact_phone"] = ["请填写联系电话(手机号或区号-座机号)"]
    if errors:
        raise ApplicationError("联系人信息有误", field_errors=errors)
    before = {"contact_name": organisation.contact_name, "contact_phone": organisation.contact_phone}
    organisation.contact_name, organisation.contact_phone = name, phone
    Organisation.objects.filter(pk=organisation.pk).update(contact_name=name, contact_phone=phone)
    audit_record(
        actor=actor,
        action="organisation.contact_update",
        obj=organisation,
        before=before,
        after={"contact_name": name, "contact_phone": phone},
        organisation=organisation,
    )
    return organisation


@transaction.atomic
def organisation_admin_save(
    *, actor, organisation: Organisation, changed: dict[str, Any], before: dict[str, Any] | None, request=None
) -> Organisation:
    """An organisation added (`before` None) or changed in the Django admin by a platform
    administrator: saved — re-parented, it takes its descendants along (Organisation.save) —
    and audited as organisation.admin_add / organisation.admin_change with the changed fields
    before and after."""
    scope = scope_for(actor)
    if scope is None or not scope.is_platform_admin:
        raise ApplicationError("只有平台管理员可以在后台维护机构", code="permission_denied")
    organisation.save()
    audit_record(
        actor=actor,
        action="organisation.admin_change" if before is not None else "organisation.admin_add",
        obj=organisation,
        before=before,
        after=changed,
        organisation=organisation,
        request=request,
    )
    return organisation


def _organisation_for_change(actor, pk, *, field: str | None = None, lock: bool = False) -> Organisation:
    if actor is None:  # the system
        queryset = Organisation.objects.select_for_update() if lock else Organisation.objects.all()
        organisation = queryset.filter(pk=pk).first()
        if organisation is None:
            raise ApplicationError(
                "机构不存在", code="not_found", field_errors={field: ["机构不存在"]} if field else None
            )
        return organisation
    return resolve(Organisation, actor, CHANGE, lock=lock, field=field, pk=pk)


def _user_for_change(actor, user) -> None:
    """Refuse a user who belongs to an organisation outside the actor's reach."""

    if user.pk is None:
        return
    yours = restrict(Membership.objects.all(), actor, CHANGE).filter(user_id=user.pk).values("pk")
    if Membership.objects.filter(user_id=user.pk).exclude(pk__in=yours).exists():
        raise ApplicationError(NOT_FOUND_MESSAGE, code="not_found", field_errors={"user": [NOT_FOUND_MESSAGE]})
