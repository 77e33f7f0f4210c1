from django.db.models import QuerySet

from portal.models import AuditEvent, Organisation
from portal.tenancy import restrict


def organisation_list(*, user, kind: str | None = None, q: str | None = None) -> QuerySet[Organisation]:
    qs = restrict(Organisation.objects.select_related("region", "parent"), user)
    if kind:
        qs = qs.filter(kind=kind)
    if q:
        qs = qs.filter(name__icontains=q)
    return qs.order_by("path")


def audit_event_list(*, user, action: str | None = None, actor: str | None = None) -> QuerySet[AuditEvent]:
    qs = restrict(AuditEvent.objects.select_related("actor", "organisation", "object_type"), user)
    if action:
        # a prefix ("entity.") or, with a leading *, a suffix ("*.export": every export)
        qs = qs.filter(action__endswith=action[1:]) if action.startswith("*") else qs.filter(action__startswith=action)
    if actor:
        qs = qs.filter(actor__username=actor)
    return qs.order_by("-created_at", "-id")
