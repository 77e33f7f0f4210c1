"""Read replicas (issue 18 items 1 and 2; portal/replicas.py): the routed pages, API and the
scheduled export read from the real streaming replica that `make test` starts
(scripts/replica.sh: `pg_basebackup -R`), write nothing there, and fall back to the primary
when the replica lags beyond DATABASE_REPLICA_MAX_LAG_SECONDS.

The replica only sees committed data, so these tests are transactional and wait for the
replica to replay the primary's WAL position (by LSN, never by sleeping a fixed time)."""

import time

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.db import DatabaseError, connections, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import URLResolver, get_resolver

from batch_matching.models import MatchResult
from campaigns.factories import open_campaign
from entities.models import MarketEntity
from portal import replicas
from portal.celery import app as celery_app
from portal.models import ApiToken, Membership, Organisation
from reporting.models import ScheduledReport
from reporting.services import scheduled_report_build
from reporting.tasks import build_mechanism_report

REPLICA = "replica1"
POLLS = 3000  # a ceiling of polls (20 ms apart) for a hung replica; no test depends on the time taken


def _view_names(resolver=None, namespace=""):
    for pattern in (resolver or get_resolver()).url_patterns:
        if isinstance(pattern, URLResolver):
            inner = namespace + (f"{pattern.namespace}:" if pattern.namespace else "")
            yield from _view_names(pattern, inner)
        elif pattern.name:
            yield namespace + pattern.name


def _primary_lsn() -> str:
    """A WAL position on the primary that includes everything committed so far, flushed (the
    test cluster commits with synchronous_commit=off: one synchronous commit flushes all before
    it) and at the end of a record, where the replica's receive and replay positions stop."""
    with connections["default"].cursor() as cursor:
        with transaction.atomic():
            cursor.execute("SET LOCAL synchronous_commit = on")
            # a transaction that writes WAL (a logical message), so its commit is flushed
            cursor.execute("SELECT pg_logical_emit_message(true, 'portal-tests', 'flush')")
        cursor.execute("SELECT pg_current_wal_flush_lsn()")
        return cursor.fetchone()[0]


def _poll_replica(sql: str, params=(), failure: str = "") -> None:
    """Runs `sql` (a boolean) on the replica until it is true."""
    with connections[REPLICA].cursor() as cursor:
        for _ in range(POLLS):
            cursor.execute(sql, params)
            if cursor.fetchone()[0]:
                return
            time.sleep(0.02)
    raise AssertionError(failure)


def wait_for_replay() -> None:
    """Everything committed on the primary so far is visible on the replica."""
    lsn = _primary_lsn()
    _poll_replica("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [lsn], f"只读副本未回放到主库的 {lsn}")


def wait_for_receipt() -> None:
    """The replica has received (not necessarily replayed) everything committed so far."""
    lsn = _primary_lsn()
    _poll_replica("SELECT pg_last_wal_receive_lsn() >= %s::pg_lsn", [lsn], f"只读副本未收到主库的 {lsn}")


def pause_replay() -> None:
    """Pauses replay on the replica and waits until it has paused (a request alone may still
    replay what arrives before the next record boundary)."""
    _replica_sql("SELECT pg_wal_replay_pause()")
    _poll_replica("SELECT pg_get_wal_replay_pause_state() = 'paused'", failure="只读副本未能暂停回放")


def _replica_sql(sql: str) -> None:
    with connections[REPLICA].cursor() as cursor:
        cursor.execute(sql)


@pytest.fixture
def real_replica(settings, real_replica_settings):
    """The alias replica1 reads from the real replica's copy of the test database (in other
    tests it names the primary); replay is resumed and the lag checks forgotten afterwards."""
    assert REPLICA in real_replica_settings, "make test 会启动只读副本并设置 DATABASE_REPLICA_URLS (scripts/replica.sh)"
    connection = connections[REPLICA]
    mirrored = connection.settings_dict
    connection.close()
    connection.settings_dict = real_replica_settings[REPLICA]
    settings.DATABASE_REPLICA_MAX_LAG_SECONDS = 3600.0
    replicas.forget()
    wait_for_replay()  # the test's world is on the replica
    yield connection
    _replica_sql("SELECT pg_wal_replay_resume()")
    connection.close()
    connection.settings_dict = mirrored
    replicas.forget()


def _data_queries(captured) -> list[str]:
    return [q["sql"] for q in captured.captured_queries if "pg_last_wal_replay_lsn" not in q["sql"]]


def _writes(captured) -> list[str]:
    return [q["sql"] for q in captured.captured_queries if q["sql"].lstrip().split(" ", 1)[0] in WRITE_VERBS]


WRITE_VERBS = {"INSERT", "UPDATE", "DELETE", "TRUNCATE", "CREATE", "ALTER", "DROP"}


def test_the_declared_list_names_existing_pages_api_and_tasks():
    """The one list of what is routed (portal/replicas.py) names pages, API endpoints and tasks
    that exist, and covers what issue 18 names: "dashboards, KPIs (pages and API), reports and
    their scheduled exports, potential customers, near misses, entity search and exports"."""
    # given the URL configuration and the registered tasks (every app's tasks module imported)
    celery_app.loader.import_default_modules()
    names = set(_view_names())
    # then every routed name is a page or endpoint, every routed task is registered
    assert replicas.ROUTED_URL_NAMES <= names, replicas.ROUTED_URL_NAMES - names
    assert replicas.ROUTED_TASKS <= set(celery_app.tasks), replicas.ROUTED_TASKS - set(celery_app.tasks)
    # and each kind the issue names is in the list
    for required in (
        "reporting:dashboard",
        "kpi-list",
        "reporting:reports",
        "reporting:export",
        "matching_batch:potential_customers",
        "matching_batch:near_misses",
        "entities:entity_list",
        "entities:entity_export",
    ):
        assert required in replicas.ROUTED_URL_NAMES
    assert "reporting.tasks.build_mechanism_report" in replicas.ROUTED_TASKS


@pytest.mark.django_db
def test_in_ordinary_tests_the_replica_alias_mirrors_the_primary():
    """A test mirror of `default` is the primary: routed reads in ordinary tests read the test's
    own transaction, so the routing never breaks the suite."""
    # given a row that only this test's (uncommitted) transaction holds
    Organisation.objects.create(name="镜像测试机构")
    # when it is read inside replica_reads()
    with replicas.replica_reads():
        # then the read goes through the primary's connection and sees it
        assert Organisation.objects.all().db == "default"
        assert Organisation.objects.filter(name="镜像测试机构").exists()


pytestmark_transactional = pytest.mark.django_db(transaction=True, databases=["default", REPLICA])


@pytestmark_transactional
def test_the_replica_refuses_writes(real_replica):
    """ "a write never reaches it (the replica refuses writes)" (issue 18, 2)."""
    # when anything writes through the replica's connection
    # then PostgreSQL refuses: a hot standby is read-only
    with pytest.raises(DatabaseError, match="read-only"):
        _replica_sql("CREATE TABLE replica_write_probe (x int)")


@pytestmark_transactional
def test_reads_inside_replica_reads_go_to_the_replica_until_the_first_write(real_replica, world):
    """ "everything else, including any read in a request that has written, to the primary"."""
    with replicas.replica_reads():
        # given reads of an opted-in request: the replica
        assert MarketEntity.objects.all().db == REPLICA
        # when it writes: the write goes to the primary
        written = Organisation.objects.create(name="写后读测试机构")
        assert Organisation.objects.filter(pk=written.pk).exists()
        # then its later reads go to the primary as well (the new row is there at once)
        assert MarketEntity.objects.all().db == "default"
    # and outside replica_reads() everything reads from the primary
    assert MarketEntity.objects.all().db == "default"


@pytestmark_transactional
def test_who_is_signed_in_and_what_he_may_see_is_read_from_the_primary(real_replica):
    """A revoked API token, a deactivated user or a removed role takes effect at once: the
    session, the user, his token and his membership are read from the primary even in a
    routed request."""
    with replicas.replica_reads():
        assert MarketEntity.objects.all().db == REPLICA
        for model in (get_user_model(), ApiToken, Membership, Session):
            assert model.objects.all().db == "default", model


@pytestmark_transactional
def test_batch_matching_results_are_read_from_the_primary(real_replica):
    """A generation of batch-matching results is an UNLOGGED partition, which a streaming replica
    does not have ("cannot access temporary or unlogged relations during recovery"): 潜在客户 and
    差一点符合, routed, read their results from the primary."""
    with replicas.replica_reads():
        assert MarketEntity.objects.all().db == REPLICA
        assert MatchResult.objects.all().db == "default"


@pytestmark_transactional
def test_routed_page_reads_from_the_replica_and_says_as_of_when(real_replica, world):
    """The entity search reads from the replica: a marker committed on the primary while the
    replica's replay is paused is not on the page, and the page says "数据截至 …"; once replay
    resumes and catches up, the marker is there."""
    # given a staff user, and replay paused on the replica after the world was replayed
    client = Client()
    client.force_login(world.users["staff"])
    wait_for_replay()
    pause_replay()
    # when a marker entity is committed on the primary
    world.entity(name="副本标记小吃店", with_user=False)
    wait_for_receipt()
    # then the search page (within the lag bound) reads the replica: no marker, with the as-of line
    with CaptureQueriesContext(connections[REPLICA]) as on_replica:
        page = client.get("/entities/", {"q": "副本标记"})
    assert page.status_code == 200
    assert "副本标记小吃店" not in page.content.decode()
    assert "数据截至" in page.content.decode()
    assert any("entities_marketentity" in sql for sql in _data_queries(on_replica))
    # and after replay resumes and catches up, the replica shows the marker
    _replica_sql("SELECT pg_wal_replay_resume()")
    wait_for_replay()
    replicas.forget()
    page = client.get("/entities/", {"q": "副本标记"})
    assert "副本标记小吃店" in page.content.decode()
    assert "数据截至" in page.content.decode()


@pytestmark_transactional
def test_a_replica_lagging_beyond_the_bound_is_skipped_for_the_primary(real_replica, world, settings):
    """ "When a replica lags more than a configurable bound (read from
    pg_last_xact_replay_timestamp()), those reads go to the primary" — and the page says
    nothing of 数据截至."""
    # given replay paused, a marker committed on the primary and received by the replica
    client = Client()
    client.force_login(world.users["staff"])
    wait_for_replay()
    pause_replay()
    world.entity(name="滞后标记小吃店", with_user=False)
    wait_for_receipt()
    # when the bound is below the replica's lag (any lag at all)
    settings.DATABASE_REPLICA_MAX_LAG_SECONDS = 0.0
    replicas.forget()
    with CaptureQueriesContext(connections[REPLICA]) as on_replica:
        page = client.get("/entities/", {"q": "滞后标记"})
    # then the page reads the primary: the marker is there, no as-of line, no data read on the replica
    assert page.status_code == 200
    assert "滞后标记小吃店" in page.content.decode()
    assert "数据截至" not in page.content.decode()
    assert _data_queries(on_replica) == []
    assert replicas.check(REPLICA).lag > 0


@pytestmark_transactional
def test_an_idle_replica_that_replayed_everything_is_not_lagging(real_replica, world, settings):
    """An idle primary is not lag: a replica that replayed all it received is in bounds
    however old its last replayed commit is (pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn())."""
    # given everything replayed (the replay position reached all the primary flushed), and a
    # bound of zero seconds
    wait_for_replay()
    _poll_replica("SELECT pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn()", failure="只读副本未回放完")
    settings.DATABASE_REPLICA_MAX_LAG_SECONDS = 0.0
    # when its state is checked
    health = replicas.check(REPLICA)
    # then it is usable, with no lag
    assert health.usable and health.lag == 0.0


def _routed_urls(world) -> list[tuple[str, str, str]]:
    """(user key, URL, view name) for every routed page and endpoint."""
    report = scheduled_report_build(organisation_id=world.county.pk)
    campaign = open_campaign(world)
    return [
        ("convener", "/reporting/", "reporting:dashboard"),
        ("convener", "/reporting/tables/funnel.xlsx", "reporting:table_download"),
        ("convener", "/reporting/export/effectiveness.xlsx", "reporting:export"),
        ("convener", "/reporting/reports/", "reporting:reports"),
        ("convener", f"/reporting/reports/{report.pk}/download/", "reporting:scheduled_download"),
        ("convener", "/reporting/brief/", "reporting:brief"),
        ("convener", "/reporting/drill/renewals/?figure=due_90", "reporting:drill"),
        ("convener", "/api/v1/kpis/?by=county", "kpi-list"),
        ("convener", "/api/v1/scheduled-reports/", "scheduled-report-list"),
        ("convener", f"/api/v1/scheduled-reports/{report.pk}/", "scheduled-report-detail"),
        ("boc_admin", "/matching-batch/potential-customers/", "matching_batch:potential_customers"),
        ("boc_admin", "/matching-batch/potential-customers/export.xlsx", "matching_batch:potential_export"),
        ("staff", "/matching-batch/near-misses/", "matching_batch:near_misses"),
        ("staff", "/entities/?q=泽州", "entities:entity_list"),
        ("staff", "/entities/suggest/?q=泽州", "entities:entity_suggest"),
        ("staff", "/entities/export.xlsx", "entities:entity_export"),
        ("staff", "/api/v1/entities/?search=泽州", "entity-list"),
        ("city", f"/campaigns/{campaign.pk}/export/coverage.xlsx", "campaigns:coverage_export"),
    ]


@pytestmark_transactional
def test_every_routed_page_reads_the_replica_and_writes_nothing_on_a_get(real_replica, pushed_world):
    """ "Nothing is ever written on a GET" (issue 18, 1): every routed page and endpoint answers
    from the replica, and the primary receives no write but an export's audit event."""
    world = pushed_world
    urls = _routed_urls(world)
    # the list here covers the declared list
    assert {name for _, _, name in urls} == replicas.ROUTED_URL_NAMES
    wait_for_replay()
    failures = []
    for user_key, url, _name in urls:
        client = Client()
        client.force_login(world.users[user_key])
        with (
            CaptureQueriesContext(connections[REPLICA]) as on_replica,
            CaptureQueriesContext(connections["default"]) as on_primary,
        ):
            response = client.get(url)
        writes = [sql for sql in _writes(on_primary) if 'INSERT INTO "portal_auditevent"' not in sql]
        if response.status_code != 200:
            failures.append(f"{url}: HTTP {response.status_code}")
        if not _data_queries(on_replica):
            failures.append(f"{url}: 未从只读副本读取")
        if writes:
            failures.append(f"{url}: GET 写入了主库 {writes}")
        if url.startswith("/api/") and "X-Data-As-Of" not in response.headers:
            failures.append(f"{url}: 缺少 X-Data-As-Of")
    assert not failures, "\n".join(failures)


@pytestmark_transactional
def test_pages_not_in_the_list_and_posts_read_the_primary(real_replica, pushed_world):
    """Only the declared list is routed: the ledger (a work list) and any POST read the primary."""
    client = Client()
    client.force_login(pushed_world.users["staff"])
    with CaptureQueriesContext(connections[REPLICA]) as on_replica:
        assert client.get("/matching/ledger/").status_code == 200
        client.post("/entities/", {})
    assert on_replica.captured_queries == []


@pytestmark_transactional
def test_the_scheduled_export_reads_the_replica_and_stores_on_the_primary(real_replica, world):
    """The weekly 成效统计表 task (ROUTED_TASKS) computes from the replica and stores its row on
    the primary."""
    # given the mechanism replayed on the replica
    wait_for_replay()
    # when the task runs (eagerly, in this process: the same task signals as on a worker)
    with CaptureQueriesContext(connections[REPLICA]) as on_replica:
        result = build_mechanism_report.apply(args=[world.county.pk])
    # then it read the replica and wrote its report on the primary
    assert result.successful() and result.result
    assert _data_queries(on_replica)
    assert not _writes(on_replica)
    assert ScheduledReport.objects.filter(pk=result.result).exists()


def test_replicas_are_never_migrated():
    router = replicas.ReplicaRouter()
    assert router.allow_migrate("default", "entities") is True
    assert router.allow_migrate(REPLICA, "entities") is False
    assert settings.DATABASE_ROUTERS == ["portal.replicas.ReplicaRouter"]


@pytestmark_transactional
def test_the_replica_streams_through_a_slot_the_primary_keeps_its_wal_for(real_replica):
    # given the replica make test started (scripts/replica.sh)
    # when the primary and the replica are asked how it streams
    with connections[REPLICA].cursor() as cursor:
        cursor.execute("SELECT slot_name, status FROM pg_stat_wal_receiver")
        slot, status = cursor.fetchone()
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT active, slot_type FROM pg_replication_slots WHERE slot_name = %s", [slot])
        kept = cursor.fetchone()
    # then it streams through a physical slot of the primary: the primary keeps every WAL segment
    # the replica has not received, also across its own restart (tests/test_faults.py restarts it;
    # without the slot the restarted primary recycled the segment the replica was in, and the
    # replica never caught up again)
    assert status == "streaming" and slot and slot.startswith("portal_test_replica_")
    assert kept == (True, "physical")
