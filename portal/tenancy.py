"""The tenant boundary: one function restricts any queryset for a user and an action.

Each scoped model registers how an actor's scope maps to a filter (`@restriction(Model)`).
A model without a registered restriction cannot be listed at all (deny by default), and
`tests/test_restriction_coverage.py` fails when a list page or API is wired without
`restrict`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured
from django.db import connections, router
from django.db.models import Model, Q, QuerySet

from portal.errors import ApplicationError
from portal.models import AuditEvent, Industry, Membership, Organisation, OrganisationKind, Region, Role

VIEW = "view"
CHANGE = "change"
# an organisation's contact person (Organisation.contact_name / contact_phone)
CONTACT = "contact"
EXPORT = "export"
# managing users (portal/users.py): an organisation administrator's own subtree only
MANAGE_USERS = "manage_users"
# giving a user 大走访 visits (campaigns app, seed 004 二(四)): a county task force picks visitors
# among the visiting roles of organisations of its county (乡镇/街道, 村组/社区, 工商联, 委办局, the task
# force) and the account managers of bank branches of its city
VISIT_ASSIGN = "visit_assign"
VISIT_ASSIGNERS = {Role.TASK_FORCE_STAFF, Role.TASK_FORCE_LEAD}
VISITING_ROLES = {Role.TASK_FORCE_STAFF, Role.TASK_FORCE_LEAD, Role.VISITOR, Role.DEPARTMENT_STAFF}

GOVERNMENT_ROLES = {
    Role.TASK_FORCE_STAFF,
    Role.TASK_FORCE_BANK_REVIEWER,
    Role.TASK_FORCE_LEAD,
    Role.CONVENER,
    Role.CITY_REGULATOR,
    Role.PROVINCE_REGULATOR,
}
BANK_ROLES = {Role.BANK_ADMIN, Role.ACCOUNT_MANAGER}
# the organisation administrators who manage the users of their subtree (platform admins: all)
USER_ADMIN_ROLES = {Role.TASK_FORCE_LEAD, Role.BANK_ADMIN, Role.CITY_REGULATOR, Role.PROVINCE_REGULATOR}


@dataclass(frozen=True)
class Scope:
    """What an actor acts as: one membership, its organisation and the region it covers."""

    user_id: int
    membership_id: int | None
    role: str | None
    organisation_id: int | None
    organisation_kind: str | None
    organisation_path: str
    region_code: str | None
    region_prefix: str | None  # "14" province, "1405" city, "140525" county
    is_platform_admin: bool
    organisation_name: str = ""  # shown beside the role (the home page's header)

    @property
    def is_government(self) -> bool:
        return self.role in GOVERNMENT_ROLES

    @property
    def is_bank(self) -> bool:
        return self.role in BANK_ROLES

    @property
    def is_enterprise(self) -> bool:
        return self.role == Role.ENTERPRISE_USER


Restriction = Callable[[Scope, str], Q | None]
_RESTRICTIONS: dict[type[Model], Restriction] = {}
_observers: list[Callable[[type[Model], Scope | None, str], None]] = []


def restriction(model: type[Model]):
    """Register the tenant filter of a model: fn(scope, action) -> Q, or None for nothing."""

    def decorator(fn: Restriction) -> Restriction:
        _RESTRICTIONS[model] = fn
        return fn

    return decorator


def public(scope: Scope, action: str) -> Q | None:
    """Reference data everyone may read; only platform administrators change it."""
    return Q() if action == VIEW else None


# the values a scope is built from: the user's primary membership (else his first), its
# organisation and the organisation's region
_SCOPE_VALUES = (
    "pk",
    "role",
    "organisation_id",
    "organisation__kind",
    "organisation__path",
    "organisation__region_id",
    "organisation__region__level",
    "organisation__name",
)


def _scope_of(user, membership: dict | None) -> Scope:
    if membership is None:
        return Scope(user.pk, None, None, None, None, "", None, None, bool(user.is_superuser))
    code = membership["organisation__region_id"]
    return Scope(
        user_id=user.pk,
        membership_id=membership["pk"],
        role=membership["role"],
        organisation_id=membership["organisation_id"],
        organisation_kind=membership["organisation__kind"],
        organisation_path=membership["organisation__path"],
        region_code=code,
        region_prefix=Region(code=code, level=membership["organisation__region__level"]).scope_prefix if code else None,
        is_platform_admin=membership["role"] == Role.PLATFORM_ADMIN or bool(user.is_superuser),
        organisation_name=membership["organisation__name"],
    )


def scope_for(user) -> Scope | None:
    if user is None or not user.is_authenticated:
        return None
    cached = getattr(user, "_portal_scope", None)
    if cached is not None:
        return cached
    # read once per request (then kept on the user object): one row of values, not three model
    # instances (membership, organisation, region). A session's user comes with it already
    # (`signed_in_user`); a token's, or one a test signs in, is read here.
    membership = Membership.objects.filter(user=user).order_by("-is_primary", "id").values(*_SCOPE_VALUES).first()
    user._portal_scope = _scope_of(user, membership)
    return user._portal_scope


@dataclass(frozen=True)
class _SignedInRead:
    sql: str
    attnames: list[str]
    converters: list[tuple]  # (position, converter, column) as the ORM applies them


def _signed_in_read(alias: str) -> _SignedInRead:
    """The user's columns and the values of his scope in one statement (a correlated subquery
    picks the membership `scope_for` would: the primary one, else the first; SQLite and
    PostgreSQL), with the converters the ORM would apply to the user's columns (SQLite's dates)."""
    connection = connections[alias]
    qn = connection.ops.quote_name
    User = get_user_model()
    user, membership = User._meta, Membership._meta
    organisation, region = Organisation._meta, Region._meta
    fields = user.concrete_fields
    columns = [field.get_col(user.db_table) for field in fields]
    converters = [
        (position, converter, column)
        for position, column in enumerate(columns)
        for converter in connection.ops.get_db_converters(column) + column.get_db_converters(connection)
    ]
    sql = (
        "SELECT "
        + ", ".join(f"u.{qn(field.column)}" for field in fields)
        + f", m.{qn('id')}, m.{qn('role')}, o.{qn('id')}, o.{qn('kind')}, o.{qn('path')}, o.{qn('region_id')},"
        f" r.{qn('level')}, o.{qn('name')}"
        f" FROM {qn(user.db_table)} u"
        f" LEFT JOIN {qn(membership.db_table)} m ON m.{qn('id')} = ("
        f"SELECT m2.{qn('id')} FROM {qn(membership.db_table)} m2 WHERE m2.{qn('user_id')} = u.{qn('id')}"
        f" ORDER BY m2.{qn('is_primary')} DESC, m2.{qn('id')} LIMIT 1)"
        f" LEFT JOIN {qn(organisation.db_table)} o ON o.{qn('id')} = m.{qn('organisation_id')}"
        f" LEFT JOIN {qn(region.db_table)} r ON r.{qn('code')} = o.{qn('region_id')}"
        f" WHERE u.{qn('id')} = %s"
    )
    return _SignedInRead(sql, [field.attname for field in fields], converters)


def signed_in_user(user_id):
    """The session's user with his scope already on him (`scope_for` then reads nothing): every
    signed-in request reads both, and one statement written once, instead of two the ORM
    compiles on each request (or a raw queryset's column matching), was a measurable part of a
    page's cost (bench-load). The same membership as `scope_for` (tests/test_signed_in_user.py
    holds them equal for every role)."""
    User = get_user_model()
    alias = router.db_for_read(User)
    read = _SIGNED_IN_READS.get(alias)
    if read is None:
        read = _SIGNED_IN_READS[alias] = _signed_in_read(alias)
    connection = connections[alias]
    with connection.cursor() as cursor:
        cursor.execute(read.sql, [user_id])
        row = cursor.fetchone()
    if row is None:
        return None
    width = len(read.attnames)
    values = list(row[:width])
    for position, converter, column in read.converters:
        values[position] = converter(values[position], column, connection)
    user = User.from_db(alias, read.attnames, values)
    pk, role, organisation_id, kind, path, region_id, level, organisation_name = row[width:]
    membership = None
    if pk is not None:
        membership = {
            "pk": pk,
            "role": role,
            "organisation_id": organisation_id,
            "organisation__kind": kind,
            "organisation__path": path,
            "organisation__region_id": region_id,
            "organisation__region__level": level,
            "organisation__name": organisation_name,
        }
    user._portal_scope = _scope_of(user, membership)
    return user


_SIGNED_IN_READS: dict[str, _SignedInRead] = {}


def restrict(queryset: QuerySet, user, action: str = VIEW) -> QuerySet:
    """Narrow `queryset` to the rows `user` may `action`. The one tenant filter of the portal."""
    model = queryset.model
    scope = scope_for(user)
    for observer in _observers:
        observer(model, scope, action)
    if scope is None:
        return queryset.none()
    if scope.is_platform_admin:
        return queryset
    rule = _lookup(model)
    q = rule(scope, action)
    return queryset.none() if q is None else queryset.filter(q)


NOT_FOUND_MESSAGE = "记录不存在或您无权操作"


def resolve(
    source,
    user,
    action: str = VIEW,
    *,
    lock: bool = False,
    message: str = NOT_FOUND_MESSAGE,
    field: str | None = None,
    **lookup,
) -> Model:
    """The one way a service turns an input (a path or body id, a USCC, a code, a file row)
    into an object: through `restrict()` for the action performed. An object the actor may
    not act on is refused exactly like one that does not exist (same code, same message), so
    an answer never tells another tenant's ids, keys or states apart from unknown ones.

    `source` is a model or a queryset of it (already narrowed by the caller, never widened);
    `lock` row-locks the object (inside the caller's transaction); `field` names the input
    field for the API's field errors."""
    queryset = source if isinstance(source, QuerySet) else source._default_manager.all()
    queryset = restrict(queryset, user, action)
    if lock:
        queryset = queryset.select_for_update(of=("self",))
    try:
        return queryset.get(**lookup)
    except (queryset.model.DoesNotExist, ValueError, TypeError, OverflowError):
        raise ApplicationError(message, code="not_found", field_errors={field: [message]} if field else None) from None


def resolve_many(
    source,
    user,
    action: str = VIEW,
    *,
    ids,
    field: str | None = None,
    lock: bool = False,
    key: str = "pk",
    message: str = NOT_FOUND_MESSAGE,
) -> list[Model]:
    """Several objects named by input (an id list), each through `restrict()` for the action;
    all or nothing: one unknown or foreign id refuses the whole list. Returned in input order."""
    wanted = list(dict.fromkeys(ids))
    if any(isinstance(i, bool) or (key == "pk" and not str(i).lstrip("-").isdigit()) for i in wanted):
        raise ApplicationError(message, code="not_found", field_errors={field: [message]} if field else None)
    queryset = source if isinstance(source, QuerySet) else source._default_manager.all()
    queryset = restrict(queryset, user, action)
    if lock:
        queryset = queryset.select_for_update(of=("self",)).order_by("pk")
    try:
        found = {str(getattr(obj, key)): obj for obj in queryset.filter(**{f"{key}__in": wanted})}
    except (ValueError, TypeError, OverflowError):
        found = {}
    if len(found) != len(wanted):
        raise ApplicationError(message, code="not_found", field_errors={field: [message]} if field else None)
    return [found[str(i)] for i in wanted]


def _lookup(model: type[Model]) -> Restriction:
    for klass in model.__mro__:
        if klass in _RESTRICTIONS:
            return _RESTRICTIONS[klass]
    raise ImproperlyConfigured(f"{model.__name__} has no tenant restriction registered (portal.tenancy.restriction)")


def has_restriction(model: type[Model]) -> bool:
    try:
        _lookup(model)
    except ImproperlyConfigured:
        return False
    return True


def region_q(scope: Scope, field: str) -> Q | None:
    """Rows whose region code (at `field`) lies inside the actor's region."""
    if not scope.region_prefix:
        return None
    return Q(**{f"{field}__startswith": scope.region_prefix})


def subtree_q(scope: Scope, field: str = "path") -> Q | None:
    if not scope.organisation_path:
        return None
    return Q(**{f"{field}__startswith": scope.organisation_path})


def any_of(*parts: Q | None) -> Q | None:
    """OR of the given filters, ignoring the ones that do not apply (None)."""
    present = [p for p in parts if p is not None]
    if not present:
        return None
    combined = present[0]
    for part in present[1:]:
        combined |= part
    return combined


def observe(callback) -> Callable[[], None]:
    """Test hook: call `callback(model, scope, action)` on every restrict(); returns an undo."""
    _observers.append(callback)
    return lambda: _observers.remove(callback)


# --- restrictions of the portal's own models -----------------------------------------


def _register_portal_restrictions():
    restriction(Region)(public)
    restriction(Industry)(public)

    @restriction(Organisation)
    def _organisations(scope: Scope, action: str) -> Q | None:
        own_subtree = subtree_q(scope, "path")
        if action == MANAGE_USERS:
            return own_subtree if scope.role in USER_ADMIN_ROLES else None
        if action == CONTACT:
            # the contact person: a bank administrator for his branches, a department's staff for it
            if scope.role == Role.BANK_ADMIN:
                return own_subtree
            return Q(pk=scope.organisation_id) if scope.role == Role.DEPARTMENT_STAFF else None
        if action != VIEW:
            return own_subtree if scope.role in {Role.BANK_ADMIN} else None
        if scope.is_government:
            # a mechanism sees organisations in its region, and the banks that serve it
            return any_of(own_subtree, region_q(scope, "region__code"), Q(kind=OrganisationKind.BANK))
        if scope.is_bank:
            return own_subtree
        if scope.is_enterprise:
            return Q(pk=scope.organisation_id) | Q(kind__in=[OrganisationKind.BANK])
        return None

    @restriction(Membership)
    def _memberships(scope: Scope, action: str) -> Q | None:
        if action == MANAGE_USERS:
            return subtree_q(scope, "organisation__path") if scope.role in USER_ADMIN_ROLES else None
        if scope.role in {
            Role.BANK_ADMIN,
            Role.CONVENER,
            Role.TASK_FORCE_LEAD,
            Role.CITY_REGULATOR,
            Role.PROVINCE_REGULATOR,
        }:
            return subtree_q(scope, "organisation__path")
        return Q(user_id=scope.user_id) if action == VIEW else None

    @restriction(get_user_model())
    def _users(scope: Scope, action: str) -> Q | None:
        if action == VISIT_ASSIGN:
            if scope.role not in VISIT_ASSIGNERS or not scope.region_code:
                return None
            county = scope.region_code[:6]
            local = Membership.objects.filter(
                role__in=sorted(VISITING_ROLES), organisation__region__code__startswith=county
            )
            managers = Membership.objects.filter(
                role=Role.ACCOUNT_MANAGER, organisation__region__code__startswith=county[:4]
            )
            return Q(pk__in=local.values("user_id")) | Q(pk__in=managers.values("user_id"))
        if action == MANAGE_USERS:
            # users whose every membership lies in the administrator's subtree: one who also
            # belongs elsewhere is not his to manage
            if scope.role not in USER_ADMIN_ROLES or not scope.organisation_path:
                return None
            inside = Membership.objects.filter(organisation__path__startswith=scope.organisation_path)
            outside = Membership.objects.exclude(organisation__path__startswith=scope.organisation_path)
            return Q(pk__in=inside.values("user_id")) & ~Q(pk__in=outside.values("user_id"))
        if scope.role in {
            Role.BANK_ADMIN,
            Role.CONVENER,
            Role.TASK_FORCE_LEAD,
            Role.CITY_REGULATOR,
            Role.PROVINCE_REGULATOR,
        }:
            return subtree_q(scope, "memberships__organisation__path")
        return Q(pk=scope.user_id) if action == VIEW else None

    @restriction(AuditEvent)
    def _audit_events(scope: Scope, action: str) -> Q | None:
        # read and exported (the log's xlsx) by whoever may read it; never changed
        if action not in (VIEW, EXPORT):
            return None
        if scope.role in {Role.BANK_ADMIN, Role.CITY_REGULATOR, Role.PROVINCE_REGULATOR, Role.CONVENER}:
            return subtree_q(scope, "organisation__path")
        return Q(actor_id=scope.user_id)
