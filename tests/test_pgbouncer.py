"""Behind PgBouncer in transaction pooling mode (issue 18, item 3: "the settings work behind
it (no server-side cursors, no session-level advisory locks or prepared statements that
transaction pooling breaks — the deadline scan's and the matching run's locks become
transaction-level); a test runs the workflow, a deadline scan and a small matching run through
a real PgBouncer (Debian's pgbouncer) started by the test command").

`make test` starts Debian's pgbouncer on loopback in front of its PostgreSQL
(scripts/lib.sh: pooler_up) and names it in PORTAL_PGBOUNCER_URL. The suite connects
directly; the `pgbouncer` fixture moves this test's connections (and those of the threads it
starts) onto PgBouncer with the settings DATABASE_POOLER_URL gives (portal/pooling.py)."""

import datetime as dt
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg2
import pytest
from django.db import connection

from batch_matching import services as batch
from batch_matching.factories import build, rows_of, run_inline
from batch_matching.models import MatchingRun, MatchResult, RunChunk, RunState
from entities.models import MarketEntity
from matching import services as s
from matching.clocks import deadline_scan
from matching.factories import push_one, pushed
from matching.models import ClockState, DeadlineClock, Notification, Recommendation, RecommendationState
from portal.pooling import through_pooler
from workdays.arithmetic import SHANGHAI

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PgBouncer pools PostgreSQL connections"),
]
ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Bouncer:
    url: str  # PgBouncer, to the test database
    database: str

    def admin(self, command: str) -> list[tuple]:
        """A command of PgBouncer's admin console (the `pgbouncer` database; simple protocol)."""
        parts = urlsplit(self.url)
        console = psycopg2.connect(
            host=parts.hostname, port=parts.port, user=parts.username, password=parts.password, dbname="pgbouncer"
        )
        console.autocommit = True
        try:
            with console.cursor() as cursor:
                cursor.execute(command)
                if cursor.description is None:
                    return []
                columns = [column[0] for column in cursor.description]
                return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
        finally:
            console.close()

    def transactions(self) -> int:
        """How many transactions PgBouncer has passed to the test database."""
        return sum(int(row["total_xact_count"]) for row in self.admin("SHOW STATS") if row["database"] == self.database)


@pytest.fixture
def pgbouncer(transactional_db):
    url = os.environ.get("PORTAL_PGBOUNCER_URL")
    if not url:
        pytest.fail("没有 PgBouncer: 请用 make test 运行 (scripts/test.sh 在 PostgreSQL 前启动 PgBouncer)")
    database = connection.settings_dict  # the dict every connection of this alias is made from
    direct = dict(database)
    bouncer = Bouncer(urlunsplit(urlsplit(url)._replace(path=f"/{direct['NAME']}")), direct["NAME"])
    assert {row["key"]: row["value"] for row in bouncer.admin("SHOW CONFIG")}["pool_mode"] == "transaction"
    connection.close()
    database.update(through_pooler(direct, bouncer.url))
    try:
        yield bouncer
    finally:
        connection.close()
        database.clear()
        database.update(direct)
        # PgBouncer lets go of its server connections to the test database (dropped at the end)
        bouncer.admin(f"KILL {bouncer.database}")
        bouncer.admin(f"RESUME {bouncer.database}")


def test_the_settings_of_database_pooler_url_are_those_of_transaction_pooling():
    # given DATABASE_POOLER_URL beside DATABASE_URL
    env = {
        **os.environ,
        "DATABASE_URL": "postgres://portal:secret@db.internal:5432/portal",
        "DATABASE_POOLER_URL": "postgres://portal:secret@pooler.internal:6432/portal",
    }
    script = "from django.conf import settings; import json; print(json.dumps(settings.DATABASES['default']))"
    output = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    ).stdout
    database = json.loads(output)
    # then the portal connects to the pooler, with no server-side cursors and no server-side binding
    assert (database["HOST"], database["PORT"]) == ("pooler.internal", 6432)
    assert database["DISABLE_SERVER_SIDE_CURSORS"] is True
    assert database["OPTIONS"].get("server_side_binding") is not True
    # and without it, the direct connection as before
    del env["DATABASE_POOLER_URL"]
    output = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    ).stdout
    assert json.loads(output)["HOST"] == "db.internal"
    assert "DISABLE_SERVER_SIDE_CURSORS" not in json.loads(output)


def test_the_workflow_runs_through_pgbouncer(pgbouncer, world):
    before = pgbouncer.transactions()
    port = urlsplit(pgbouncer.url).port
    # when a declaration is filed, reviewed three times, signed off and pushed, and the bank
    # assigns, contacts, completes the materials and declines, all through PgBouncer
    declaration, _, leads = pushed(world, ("boc",))
    assert connection.connection.info.port == port
    lead = leads["boc"]
    admin, manager = world.users["boc_admin"], world.users["boc_manager"]
    s.recommendations_assign(actor=admin, recommendation_ids=[lead.pk], manager_id=manager.pk)
    s.recommendation_contact(actor=manager, recommendation_id=lead.pk)
    s.recommendation_materials_complete(actor=manager, recommendation_id=lead.pk)
    s.recommendation_decline(actor=admin, recommendation_id=lead.pk, reason_code="operating_too_short")
    # then every step was recorded
    assert Recommendation.objects.get(pk=lead.pk).state == RecommendationState.DECLINED
    # and a read in chunks works without server-side cursors (each chunk may be another server connection)
    assert len(list(MarketEntity.objects.order_by("pk").iterator(chunk_size=2))) == MarketEntity.objects.count()
    # and it all went through PgBouncer
    assert pgbouncer.transactions() - before > 20


def at(y, m, d, h=10, minute=0):
    return dt.datetime(y, m, d, h, minute, tzinfo=SHANGHAI)


def test_two_deadline_scans_at_once_through_pgbouncer_send_nothing_twice(pgbouncer, world, run_together):
    # given 12 feedback clocks already overdue
    for _ in range(12):
        push_one(world, at(2026, 3, 2))
    before = pgbouncer.transactions()
    # when two scans start at the same moment, each on its own connection to PgBouncer
    outcomes = run_together(lambda: deadline_scan(now=at(2026, 3, 20)), lambda: deadline_scan(now=at(2026, 3, 20)))
    # then the transaction-level lock let one of them work: each clock marked once, each
    # administrator told once per clock
    assert [kind for kind, _ in outcomes] == ["ok", "ok"], outcomes
    assert sum(result.overdue for _, result in outcomes) == 12
    assert DeadlineClock.objects.filter(state=ClockState.OVERDUE).count() == 12
    assert Notification.objects.filter(recipient=world.users["boc_admin"], title__contains="已逾期").count() == 12
    assert pgbouncer.transactions() > before


def test_a_small_matching_run_through_pgbouncer_is_swapped_in_and_repeatable(pgbouncer):
    # given a small register (built through PgBouncer)
    build(count=60)
    before = pgbouncer.transactions()
    # when a full run is processed and swapped in through PgBouncer (the index builds side by
    # side, each on a connection of its own, with SET LOCAL)
    run = run_inline(as_of=dt.date.today(), chunk_size=20)
    # then it succeeded and wrote its results
    assert run.state == RunState.SUCCEEDED, run.message
    assert MatchResult.objects.filter(generation=run.generation).count() > 60
    assert pgbouncer.transactions() > before
    # and a second run, swapped in for it, writes the same rows
    first = rows_of(run.generation)
    assert rows_of(run_inline(as_of=dt.date.today(), chunk_size=20).generation) == first


def test_one_finalizer_per_run_through_pgbouncer(pgbouncer):
    # given a run whose chunks are all written
    build(count=30)
    run = batch.run_start(as_of=dt.date.today(), chunk_size=10, dispatch=False)
    for chunk_id in RunChunk.objects.filter(run=run).values_list("pk", flat=True):
        assert batch.chunk_process(run_id=run.pk, chunk_id=chunk_id, finalize=False)
    # when one finalizer holds the run (its lock in a transaction of its own, through PgBouncer)
    with batch._finalize_lock(run.pk) as locked:
        assert locked
        # then another, on another connection, neither finalizes it nor waits
        assert batch.run_finalize(run_id=run.pk) is False
        assert batch.run_finalize(run_id=run.pk, resume=True) is False
        assert MatchingRun.objects.get(pk=run.pk).state == RunState.FINALIZING
    # and once the holder is gone, the resumed finalizer swaps the run in
    assert batch.run_finalize(run_id=run.pk, resume=True) is True
    assert MatchingRun.objects.get(pk=run.pk).state == RunState.SUCCEEDED
