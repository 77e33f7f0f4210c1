"""Read replicas: which reads may go to a streaming replica, and the database router.

The rule. Every read and every write goes to the primary (`default`), except the reads of a
request or task that opted in: the GET/HEAD requests whose URL name is in ROUTED_URL_NAMES and
the Celery tasks in ROUTED_TASKS — dashboards, KPIs (pages and API), reports and their
scheduled exports, 潜在客户, 差一点符合, entity search and exports. There they run inside
`replica_reads()`, and the router (`ReplicaRouter`, DATABASE_ROUTERS) sends their reads to one
replica of DATABASE_REPLICA_URLS (aliases `replica1`, `replica2`, …), chosen once for the
request among those in bounds. The moment such a request writes (the router's db_for_write:
an export's audit event, a scheduled report's row), the write goes to the primary and every
later read of that request goes there too, so a request never misses what it wrote.
ROUTED_URL_NAMES and ROUTED_TASKS are the one declared list; tests/test_replicas.py checks that
each name exists and each routed page reads from the real replica and writes nothing there.

The lag bound. A replica is in bounds when it has replayed all the WAL it received
(`pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn()`: an idle primary is not lag) or
when `now() - pg_last_xact_replay_timestamp()` is at most DATABASE_REPLICA_MAX_LAG_SECONDS;
a replica out of bounds or unreachable is skipped and, none left, the reads go to the
primary. The check is one query per replica, kept for DATABASE_REPLICA_CHECK_SECONDS in the
process (never a query per queryset). A request served by a replica shows "数据截至 …"
(`portal.context_processors.replica_as_of`, templates/portal/_replica_as_of.html; the API
sends the header `X-Data-As-Of`): the moment the replica's data is known to be current — the
check's moment when it had replayed everything, otherwise its last replayed commit.

Tenancy is untouched: querysets are restricted as always (`restrict()`), only the connection
they read through changes. Who is signed in and what he may see (the session, the login
throttle, the user, his API token, his membership) is always read from the primary.
Migrations run on the primary only.

A replica serves the primary's database: its alias is used only while it names the same
database NAME as `default` on another server; an alias naming the primary's own server and
database reads through `default`. In tests the replica aliases are test mirrors of `default`
(TEST MIRROR: pytest-django creates nothing on the replica) and the root conftest points them at
the primary's server, so routed pages in ordinary tests read the test's own transaction
(and the Celery worker of `make test`, on the test database, never reads the replica's
non-test database). The routing tests point the alias at the real replica's copy of the test
database (`real_replica_settings`, tests/test_replicas.py)."""

from __future__ import annotations

import contextvars
import datetime as dt
import logging
import random
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field

from celery.signals import task_postrun, task_prerun
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.urls import Resolver404, resolve

logger = logging.getLogger(__name__)

REPLICA_PREFIX = "replica"

# --- the one declared list of what reads from a replica ----------------------------------------------
ROUTED_URL_NAMES = frozenset(
    {
        # dashboards and KPIs (pages and API), reports and their downloads
        "reporting:dashboard",
        "reporting:table_download",
        "reporting:export",
        "reporting:reports",
        "reporting:scheduled_download",
        "reporting:brief",
        "reporting:drill",
        "kpi-list",
        "scheduled-report-list",
        "scheduled-report-detail",
        # 潜在客户 (page and export), 差一点符合
        "matching_batch:potential_customers",
        "matching_batch:potential_export",
        "matching_batch:near_misses",
        # entity search (page, suggestions, API) and export
        "entities:entity_list",
        "entities:entity_suggest",
        "entities:entity_export",
        "entity-list",
        # 千企万户大走访's coverage export (per county, township and visitor)
        "campaigns:coverage_export",
    }
)
# the scheduled exports: each mechanism's weekly 成效统计表 and 工作简报
ROUTED_TASKS = frozenset({"reporting.tasks.build_mechanism_report", "reporting.tasks.build_mechanism_brief"})
SAFE_METHODS = frozenset({"GET", "HEAD"})
# always read from the primary: who is signed in and what he may see — the session, the login
# throttle, the user, his API token and his membership (a revoked token, a deactivated user or a
# removed role takes effect at once, never a replica's lag later)
PRIMARY_ONLY_APPS = frozenset({"sessions", "axes"})
PRIMARY_ONLY_MODELS = frozenset(
    {
        "auth.user",
        "portal.apitoken",
        "portal.membership",
        # batch matching's stored results: each generation is an UNLOGGED partition
        # (batch_matching/schema.py), and unlogged tables are not on streaming replicas ("cannot
        # access temporary or unlogged relations during recovery"); 潜在客户 and 差一点符合 read
        # their results from the primary and the rest of their page (counts, products) from the replica
        "batch_matching.matchresult",
    }
)


def replica_aliases() -> list[str]:
    return [alias for alias in settings.DATABASES if alias.startswith(REPLICA_PREFIX)]


def serves_primary_database(alias: str) -> bool:
    """True when `alias` is a separate server holding a copy of the primary's database: it names
    the same database, not on the primary's own server (then it is the primary)."""
    primary, replica = connections[DEFAULT_DB_ALIAS].settings_dict, connections[alias].settings_dict
    if replica.get("NAME") != primary.get("NAME"):
        return False
    return (replica.get("HOST"), str(replica.get("PORT"))) != (primary.get("HOST"), str(primary.get("PORT")))


# --- the lag check, cached per process ----------------------------------------------------------------
LAG_SQL = (
    "SELECT now(), pg_is_in_recovery(), pg_last_xact_replay_timestamp(),"
    " COALESCE(pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn(), false)"
)


@dataclass(frozen=True)
class Health:
    usable: bool
    as_of: dt.datetime | None = None  # the moment the replica's data is known to be current
    lag: float | None = None  # seconds; 0 when it has replayed everything it received


_health: dict[str, tuple[float, Health]] = {}
_health_lock = threading.Lock()


def check(alias: str) -> Health:
    """The replica's state now (one query; an unreachable replica is not usable)."""
    try:
        with connections[alias].cursor() as cursor:
            cursor.execute(LAG_SQL)
            now, in_recovery, replayed_at, caught_up = cursor.fetchone()
    except DatabaseError as error:
        logger.warning("只读副本 %s 不可用: %s", alias, error)
        connections[alias].close()
        return Health(usable=False)
    if not in_recovery or caught_up:
        return Health(usable=True, as_of=now, lag=0.0)
    if replayed_at is None:
        return Health(usable=False)
    lag = max((now - replayed_at).total_seconds(), 0.0)
    return Health(usable=lag <= settings.DATABASE_REPLICA_MAX_LAG_SECONDS, as_of=replayed_at, lag=lag)


def health(alias: str) -> Health:
    """`check(alias)`, kept for DATABASE_REPLICA_CHECK_SECONDS in this process."""
    moment = time.monotonic()
    with _health_lock:
        kept = _health.get(alias)
    if kept is not None and moment - kept[0] < settings.DATABASE_REPLICA_CHECK_SECONDS:
        return kept[1]
    found = check(alias)
    with _health_lock:
        _health[alias] = (moment, found)
    return found


def forget() -> None:
    """Drop the kept lag checks (tests that pause or resume a replica's replay)."""
    with _health_lock:
        _health.clear()


# --- the reads of one request or task --------------------------------------------------------------
@dataclass
class ReplicaReads:
    wrote: bool = False
    chosen: bool = False
    alias: str | None = None
    as_of: dt.datetime | None = None
    aliases: list[str] = field(default_factory=replica_aliases)

    def choose(self) -> str | None:
        """The replica this request reads from (decided once), or None: the primary."""
        if not self.chosen:
            self.chosen = True
            candidates = [alias for alias in self.aliases if serves_primary_database(alias)]
            random.shuffle(candidates)
            for alias in candidates:
                found = health(alias)
                if found.usable:
                    self.alias, self.as_of = alias, found.as_of
                    break
        return self.alias


_current: contextvars.ContextVar[ReplicaReads | None] = contextvars.ContextVar("portal_replica_reads", default=None)


@contextmanager
def replica_reads():
    """Inside: reads may go to a replica in bounds, until the first write (then the primary)."""
    token = _current.set(ReplicaReads())
    try:
        yield _current.get()
    finally:
        _current.reset(token)


def current_as_of() -> dt.datetime | None:
    """When the current request reads from a replica: the moment its data is current."""
    reads = _current.get()
    if reads is None or reads.wrote or reads.choose() is None:
        return None
    return reads.as_of


def _primary_only(model) -> bool:
    meta = model._meta
    return meta.app_label in PRIMARY_ONLY_APPS or meta.label_lower in PRIMARY_ONLY_MODELS


class ReplicaRouter:
    """DATABASE_ROUTERS: reads inside replica_reads() (until a write) go to the chosen replica,
    everything else to the primary; the replicas are never migrated."""

    def db_for_read(self, model, **hints):
        reads = _current.get()
        if reads is None or reads.wrote or _primary_only(model):
            return DEFAULT_DB_ALIAS
        return reads.choose() or DEFAULT_DB_ALIAS

    def db_for_write(self, model, **hints):
        reads = _current.get()
        if reads is not None:
            reads.wrote = True
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints):
        return True  # the same rows, wherever they were read

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return not db.startswith(REPLICA_PREFIX)


# --- where replica_reads() is entered: routed requests and tasks ----------------------------------------
def is_routed(request) -> bool:
    if request.method not in SAFE_METHODS:
        return False
    try:
        match = resolve(request.path_info)
    except Resolver404:
        return False
    return match.view_name in ROUTED_URL_NAMES


class ReplicaReadsMiddleware:
    """Runs the routed requests (ROUTED_URL_NAMES, GET and HEAD) inside replica_reads(); the API
    response of one served by a replica says when its data was current (X-Data-As-Of)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not replica_aliases() or not is_routed(request):
            return self.get_response(request)
        with replica_reads() as reads:
            response = self.get_response(request)
            if reads.alias is not None and not reads.wrote and reads.as_of is not None:
                response["X-Data-As-Of"] = reads.as_of.isoformat()
        return response


_task_tokens: dict[str, contextvars.Token] = {}


def _task_started(task_id=None, task=None, **kwargs):
    if task is not None and task.name in ROUTED_TASKS and replica_aliases():
        _task_tokens[task_id] = _current.set(ReplicaReads())


def _task_finished(task_id=None, **kwargs):
    token = _task_tokens.pop(task_id, None)
    if token is not None:
        _current.reset(token)


def connect_signals() -> None:
    """PortalConfig.ready(): the routed tasks enter replica_reads() in every worker process,
    before their first query (the router itself is imported only at the first query)."""
    task_prerun.connect(_task_started, dispatch_uid="portal.replicas.task_started")
    task_postrun.connect(_task_finished, dispatch_uid="portal.replicas.task_finished")
