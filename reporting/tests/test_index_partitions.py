"""The statistics index is partitioned by province on PostgreSQL (reporting.partitions, issue
18 item 5): a province's rows sit in its own tables, a region's figures read only them (the
plan names no other province's table), a province written for the first time gets its
tables from the sync that wrote it, and the migration's conversion keeps every row."""

from __future__ import annotations

import psycopg2
import pytest
from django.apps import apps
from django.db import connection

from matching.models import Declaration, Recommendation, Visit
from portal.models import Region, RegionLevel
from portal.tenancy import restrict
from reporting import facts, partitions
from reporting.models import DeclarationFact, LedgerFact, VisitFact

pytestmark = pytest.mark.django_db

TABLES = ("reporting_ledgerfact", "reporting_declarationfact", "reporting_visitfact")


@pytest.fixture(autouse=True)
def _postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("the partitions exist on PostgreSQL only")


def _where(table: str) -> dict[str, int]:
    """How many of a table's rows sit in each of its partitions."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT tableoid::regclass::text, count(*) FROM {table} GROUP BY 1")
        return dict(cursor.fetchall())


def _exists(name: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [name])
        return cursor.fetchone()[0]


def _snapshot() -> dict[str, list]:
    return {
        "ledger": sorted(LedgerFact.objects.values_list("pk", "region", "need_amount", "contacted_at", "is_lead")),
        "declarations": sorted(DeclarationFact.objects.values_list("pk", "region", "amount", "submitted_at")),
        "visits": sorted(VisitFact.objects.values_list("pk", "region", "visited_on", "prev_visited_on")),
    }


def _move_to_hebei(history) -> Recommendation:
    """A lead of 河北 the index has not seen yet: the factories build 泽州 (山西), so the test
    moves one lead, its declaration and a visit to 石家庄市长安区 and drops their index rows."""
    Region.objects.get_or_create(code="130000", defaults={"name": "河北省", "level": RegionLevel.PROVINCE})
    Region.objects.get_or_create(code="130102", defaults={"name": "长安区", "level": RegionLevel.COUNTY})
    rec = history.recs["E3-ccb"]
    Recommendation.objects.filter(pk=rec.pk).update(region_id="130102")
    Declaration.objects.filter(pk=rec.declaration_id).update(region_id="130102")
    visit = Visit.objects.order_by("pk").first()
    Visit.objects.filter(pk=visit.pk).update(region_id="130102")
    LedgerFact.objects.filter(pk=rec.pk).delete()
    DeclarationFact.objects.filter(pk=rec.declaration_id).delete()
    VisitFact.objects.filter(pk=visit.pk).delete()
    return rec


def test_the_three_index_tables_are_partitioned_by_the_range_of_their_county_code(history):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, p.partstrat, a.attname FROM pg_partitioned_table p "
            "JOIN pg_class c ON c.oid = p.partrelid "
            "JOIN pg_attribute a ON a.attrelid = p.partrelid AND a.attnum = p.partattrs[0] "
            "WHERE c.relname LIKE 'reporting_%' ORDER BY 1"
        )
        assert cursor.fetchall() == [(table, "r", "region") for table in sorted(TABLES)]


def test_a_provinces_rows_sit_in_its_own_tables(history):
    # given 泽州县's history, written through the services and synced by their commits
    # then every index row sits in 山西's tables, none in the default ones
    for table in TABLES:
        where = _where(table)
        assert set(where) == {f"{table}_p14"}, where
        assert where[f"{table}_p14"] > 0


def test_a_regions_figures_read_only_its_provinces_tables(history):
    # given 河北 has index rows of its own too
    _move_to_hebei(history)
    facts.sync(full=True)
    assert set(_where("reporting_ledgerfact")) == {"reporting_ledgerfact_p13", "reporting_ledgerfact_p14"}
    city = history.world.users["city"]  # 晋城市 (1405)
    for model, table in ((LedgerFact, "reporting_ledgerfact"), (DeclarationFact, "reporting_declarationfact")):
        # when the city regulator's rows are planned
        plan = restrict(model.objects.all(), city).explain()
        # then the plan reads 山西's table only: not 河北's, not the default one
        assert f"{table}_p14" in plan, plan
        assert f"{table}_p13" not in plan and f"{table}_default" not in plan, plan
        # and a county's rows as well
        plan = model.objects.filter(region="140525").explain()
        assert f"{table}_p14" in plan and f"{table}_p13" not in plan, plan
    # while a figure over every province reads both
    plan = LedgerFact.objects.filter(bank_id=history.recs["E1-boc"].bank_id).explain()
    assert "reporting_ledgerfact_p13" in plan and "reporting_ledgerfact_p14" in plan, plan


def test_a_province_written_for_the_first_time_gets_its_tables_from_that_sync(history):
    # given a lead, its declaration and a visit in 河北, which has no tables yet
    rec = _move_to_hebei(history)
    assert not any(_exists(f"{table}_p13") for table in TABLES)
    # when the index is synced
    facts.sync(full=True)
    # then each of the three tables has 河北's, holding its rows, and the default ones are empty
    for table in TABLES:
        assert _where(table).get(f"{table}_p13") == 1, _where(table)
        assert f"{table}_default" not in _where(table)
    fact = LedgerFact.objects.get(pk=rec.pk)
    assert fact.region == "130102" and fact.need_amount == 200_000
    # and a later sync folds the lead's events into the row it already has (no second row)
    facts.sync(full=True)
    assert LedgerFact.objects.filter(pk=rec.pk).count() == 1


def test_a_split_that_cannot_lock_the_table_leaves_the_rows_in_the_default_table(history, monkeypatch):
    # given 河北's rows written into the default table (a sync whose split did not run)
    _move_to_hebei(history)
    monkeypatch.setattr(partitions, "split_new_provinces", lambda: [])
    facts.sync(full=True)
    monkeypatch.undo()
    before = _snapshot()
    assert _where("reporting_ledgerfact").get("reporting_ledgerfact_default") == 1
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('lock_timeout')")
        timeout = cursor.fetchone()[0]
    # when another session is reading the ledger's index (its lock held in an open transaction)
    reader = psycopg2.connect(**connection.get_connection_params())
    try:
        with reader.cursor() as cursor:
            cursor.execute("LOCK TABLE reporting_ledgerfact IN ACCESS SHARE MODE")
        # then the ledger's split gives up after its lock timeout, the others go ahead
        assert partitions.split_new_provinces() == [
            ("reporting_declarationfact", "13"),
            ("reporting_visitfact", "13"),
        ]
    finally:
        reader.rollback()
        reader.close()
    # and nothing moved or was lost: the ledger's attempt was undone by its savepoint
    assert _snapshot() == before
    assert _where("reporting_ledgerfact").get("reporting_ledgerfact_default") == 1
    assert not _exists("reporting_ledgerfact_p13")
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('lock_timeout')")
        assert cursor.fetchone()[0] == timeout  # the transaction's own timeout is back
    # and once the reader is gone, the next sync's split moves them
    assert partitions.split_new_provinces() == [("reporting_ledgerfact", "13")]
    assert _snapshot() == before
    assert set(_where("reporting_ledgerfact")) == {"reporting_ledgerfact_p13", "reporting_ledgerfact_p14"}


def test_the_migrations_conversion_keeps_every_row_both_ways(history):
    # given the index of 泽州县 and of 河北
    _move_to_hebei(history)
    facts.sync(full=True)
    before = _snapshot()
    with connection.cursor() as cursor:
        # as in a migration's own transaction: no foreign-key check of the test's writes pending
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    # when the tables are converted back to plain tables (the migration's reverse)
    with connection.schema_editor() as editor:
        partitions.unpartition(apps, editor)
    with connection.cursor() as cursor:
        assert not any(partitions.partitioned(cursor, table) for table in TABLES)
    assert _snapshot() == before
    # and partitioned again (the migration)
    with connection.schema_editor() as editor:
        partitions.partition_by_province(apps, editor)
    # then every row is where it was, in its province's table, with the keys and indexes
    assert _snapshot() == before
    assert set(_where("reporting_ledgerfact")) == {"reporting_ledgerfact_p13", "reporting_ledgerfact_p14"}
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'reporting_ledgerfact' ORDER BY 1")
        names = {row[0] for row in cursor.fetchall()}
    assert {"reporting_ledgerfact_pkey", "fact_region_pushed", "fact_bank_pushed", "fact_provisional"} <= names
    # and the sync's upserts still find their rows
    facts.sync(full=True)
    assert _snapshot() == before
