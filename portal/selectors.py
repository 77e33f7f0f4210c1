import datetime as dt

from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db.models import Q, QuerySet
from django.utils import timezone

from portal.models import AuditEvent, Organisation
from portal.tenancy import VIEW, restrict


def organisation_list(*, user, kind: str | None = None, q: str | None = None) -> QuerySet[Organisation]:
    qs = restrict(Organisation.objects.select_related("region", "parent"), user)
    if kind:
        qs = qs.filter(kind=kind)
    if q:
        qs = qs.filter(name__icontains=q)
    return qs.order_by("path")


def audit_event_list(
    *,
    user,
    action: str | None = None,
    actor: str | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    object_type: str | None = None,
    q: str | None = None,
    purpose: str = VIEW,
) -> QuerySet[AuditEvent]:
    """The audit events the user may see, newest first, filtered (portal.forms.AuditFilterForm's
    cleaned data): an action ("*.export": every export), the actor's username, a date range in
    Beijing dates (both ends included), the object's kind ("app_label.model") and its name or
    number. `purpose` is the restriction's action (EXPORT for the xlsx)."""
    qs = restrict(AuditEvent.objects.select_related("actor", "organisation", "object_type"), user, purpose)
    local = timezone.get_default_timezone()  # the portal's dates are Beijing dates (TIME_ZONE)
    if action:
        qs = qs.filter(action__endswith=action[1:]) if action.startswith("*") else qs.filter(action=action)
    if actor:
        qs = qs.filter(actor__username=actor)
    if date_from:
        qs = qs.filter(created_at__gte=dt.datetime.combine(date_from, dt.time.min, tzinfo=local))
    if date_to:
        qs = qs.filter(created_at__lt=dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time.min, tzinfo=local))
    if object_type:
        app_label, _, model = object_type.partition(".")
        qs = qs.filter(object_type__app_label=app_label, object_type__model=model)
    if q:
        qs = qs.filter(Q(object_repr__icontains=q) | Q(object_id=q))
    return qs.order_by("-created_at", "-id")


def audit_filter_choices(*, user) -> dict[str, list[tuple[str, str]]]:
    """The drop-downs of the audit log's filters: the users and the kinds of object that occur
    in the events the user may see."""
    events = restrict(AuditEvent.objects.all(), user)
    actors = (
        get_user_model()
        .objects.filter(pk__in=events.exclude(actor=None).values("actor_id"))
        .order_by("username")
        .values_list("username", "first_name", "last_name")
    )
    types = ContentType.objects.filter(pk__in=events.exclude(object_type=None).values("object_type_id"))
    kinds = sorted(
        ((f"{t.app_label}.{t.model}", str(t.model_class()._meta.verbose_name)) for t in types if t.model_class()),
        key=lambda item: item[1],
    )
    return {
        "actors": [(u, f"{(last + first) or u} ({u})") for u, first, last in actors],
        "object_types": kinds,
    }
