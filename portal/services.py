"""Writes of the portal package. Every write is keyword-only, atomic and audited."""
from __future__ import annotations

import ipaddress
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import Model

from portal.models import AuditEvent, Membership, Organisation, Role, ROLE_ORGANISATION_KINDS


class ApplicationError(Exception):
    """A business rule refused the action; `message` is shown to the user as it is (Chinese)."""

    def __init__(self, message: str, *, field_errors: dict[str, list[str]] | None = None, code: str = "invalid"):
        super().__init__(message)
        self.message = message
        self.field_errors = field_errors or {}
        self.code = code


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
    from portal.tenancy import scope_for

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
def user_create(*, actor, username: str, password: str, full_name: str = "", email: str = "", organisation: Organisation, role: str):
    User = get_user_model()
    user = User.objects.create_user(username=username, password=password, email=email, first_name=full_name)
    membership_grant(actor=actor, user=user, organisation=organisation, role=role)
    return user
