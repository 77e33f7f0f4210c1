"""The statistics index partitioned by province (PostgreSQL; no-ops on other databases).

The index tables grow with the entities that declare, are pushed and visited: each of them
is partitioned by the province of its county code (issue 18 item 5), so a region's figures
read one province's tables::

    reporting_ledgerfact              PARTITION BY RANGE (region)   (the parent readers query)
      reporting_ledgerfact_p14        FOR VALUES FROM ('14') TO ('15')   (山西)
      reporting_ledgerfact_default    DEFAULT                       (a province without its table yet)

and the same for ``reporting_declarationfact`` and ``reporting_visitfact``. RANGE on the
county code itself rather than a province column: every figure already filters its region as
a code range (``entities.restrictions.region_range_q``: ``region >= '1405' AND region <
'1406'``, or ``region = '140525'``), so the planner keeps only that province's table without a
word more in the queries. A figure over every region (a bank's, the platform's) reads every
province's table.

A table's key is (its row's id, region): PostgreSQL wants the partition key in every unique
key of a partitioned table. The region of an index row is the county of its declaration,
recommendation or visit, written when that row is created and never changed, so the id alone
stays unique; the sync's upserts name both (``ON CONFLICT (recommendation_id, region)``).

Lifecycle of a province's tables:

- migration ``reporting.0010`` converts the three tables (rows copied) and creates the tables
  of the provinces they hold;
- a province seen for the first time lands in the default table; the sync that wrote it
  (``reporting.facts.sync``, under its advisory lock) then gives the province its own table
  (``split_new_provinces``): it moves the province's rows out of the default table, creates
  the province's table (which takes ACCESS EXCLUSIVE on the parent for a moment, once per
  province ever, with a lock timeout: a sync that cannot have it leaves the rows in the
  default table, still counted, and the next sync tries again), and writes the rows back.

Not partitioned: ``reporting_ledgerfactversion`` (a row per correction, a small fraction of
the rows) and the watermarks.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.db import OperationalError, connection, transaction

log = logging.getLogger(__name__)

# table → (its key column, the table that key refers to)
TABLES = {
    "reporting_ledgerfact": ("recommendation_id", "matching_recommendation"),
    "reporting_declarationfact": ("declaration_id", "matching_declaration"),
    "reporting_visitfact": ("visit_id", "matching_visit"),
}
MODELS = {
    "reporting_ledgerfact": "LedgerFact",
    "reporting_declarationfact": "DeclarationFact",
    "reporting_visitfact": "VisitFact",
}
SPLIT_LOCK_TIMEOUT = "2s"
# a region code that starts with a province's two digits (never run with parameters: one %)
# ("99…" stays in the default table: its upper bound would not be two digits)
_PROVINCE_CODE = "region ~ '^[0-9][0-9]' AND region NOT LIKE '99%'"


def is_postgresql(conn=None) -> bool:
    return (conn or connection).vendor == "postgresql"


def province_table(table: str, province: str) -> str:
    return f"{table}_p{province}"


def default_table(table: str) -> str:
    return f"{table}_default"


def province_bounds(province: str) -> tuple[str, str]:
    """['14', '15'): the county codes of a province (its two-digit code)."""
    return province, str(int(province) + 1).zfill(2)


def _provinces_in(cursor, table: str) -> list[str]:
    """The provinces (two-digit codes) of the rows in a table; other codes stay in the
    default table."""
    cursor.execute(f"SELECT DISTINCT left(region, 2) FROM {table} WHERE {_PROVINCE_CODE} ORDER BY 1")
    return [row[0] for row in cursor.fetchall()]


def partitioned(cursor, table: str) -> bool:
    cursor.execute("SELECT EXISTS (SELECT 1 FROM pg_partitioned_table WHERE partrelid = %s::regclass)", [table])
    return cursor.fetchone()[0]


# --- the conversion (migration reporting.0010) ----------------------------------------------


def _rebuild(schema_editor, model, *, by_province: bool, provinces: Iterable[str] = ()) -> None:
    """Re-create a model's table, partitioned by province (a table for each of `provinces`
    and each province of its rows) or plain, with its rows, key, indexes and foreign key."""
    table = model._meta.db_table
    key, target = TABLES[table]
    old = f"{table}_before"
    run = schema_editor.execute
    run(f"ALTER TABLE {table} RENAME TO {old}")
    if by_province:
        run(f"CREATE TABLE {table} (LIKE {old} INCLUDING DEFAULTS INCLUDING CONSTRAINTS) PARTITION BY RANGE (region)")
        run(f"CREATE TABLE {default_table(table)} PARTITION OF {table} DEFAULT")
        with schema_editor.connection.cursor() as cursor:
            provinces = sorted(set(provinces) | set(_provinces_in(cursor, old)))
        for province in provinces:
            low, high = province_bounds(province)
            run(
                f"CREATE TABLE {province_table(table, province)} PARTITION OF {table} FOR VALUES FROM (%s) TO (%s)",
                [low, high],
            )
    else:
        run(f"CREATE TABLE {table} (LIKE {old} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
    run(f"INSERT INTO {table} SELECT * FROM {old}")
    run(f"DROP TABLE {old}")  # its partitions too, when it was the partitioned one
    columns = f"{key}, region" if by_province else key
    run(f"ALTER TABLE {table} ADD CONSTRAINT {table}_pkey PRIMARY KEY ({columns})")
    run(
        f"ALTER TABLE {table} ADD CONSTRAINT {table}_{key}_fk FOREIGN KEY ({key}) REFERENCES {target} (id) "
        "DEFERRABLE INITIALLY DEFERRED"
    )
    for index in model._meta.indexes:
        schema_editor.add_index(model, index)
    run(f"ANALYZE {table}")


def partition_by_province(apps, schema_editor) -> None:
    """The migration: each table partitioned, with a table for every province of the region
    table (the reference data) and of its rows."""
    if not is_postgresql(schema_editor.connection):
        return
    codes = apps.get_model("portal", "Region").objects.filter(level="province").values_list("code", flat=True)
    known = {code[:2] for code in codes if code[:2].isdigit() and code[:2] != "99"}
    for table, name in MODELS.items():
        with schema_editor.connection.cursor() as cursor:
            if partitioned(cursor, table):
                continue
        _rebuild(schema_editor, apps.get_model("reporting", name), by_province=True, provinces=known)


def unpartition(apps, schema_editor) -> None:
    if not is_postgresql(schema_editor.connection):
        return
    for table, name in MODELS.items():
        with schema_editor.connection.cursor() as cursor:
            if not partitioned(cursor, table):
                continue
        _rebuild(schema_editor, apps.get_model("reporting", name), by_province=False)


# --- a province seen for the first time (reporting.facts.sync) ------------------------------

_IN_DEFAULT_SQL = " UNION ".join(
    f"SELECT '{table}', left(region, 2) FROM {default_table(table)} WHERE {_PROVINCE_CODE}" for table in TABLES
)


def split_new_provinces() -> list[tuple[str, str]]:
    """Give each province found in a default table its own table; returns the (table,
    province) pairs split. Called inside the sync's transaction, under its advisory lock (so
    two splits never race); one read-only statement when the default tables hold no province.
    A split that cannot lock the parent within SPLIT_LOCK_TIMEOUT is undone (its savepoint)
    and left to the next sync: the rows stay, counted, in the default table."""
    if not is_postgresql():
        return []
    with connection.cursor() as cursor:
        cursor.execute(_IN_DEFAULT_SQL)
        found = sorted(cursor.fetchall())
    done = []
    for table, province in found:
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                # the transaction's own lock timeout comes back after the split (set_config
                # local: a failed split's savepoint undoes it too)
                cursor.execute("SELECT current_setting('lock_timeout')")
                before = cursor.fetchone()[0]
                cursor.execute("SELECT set_config('lock_timeout', %s, true)", [SPLIT_LOCK_TIMEOUT])
                _split(cursor, table, province)
                cursor.execute("SELECT set_config('lock_timeout', %s, true)", [before])
        except OperationalError as error:
            log.warning("statistics index: %s province %s left in the default table (%s)", table, province, error)
            continue
        done.append((table, province))
    return done


def _split(cursor, table: str, province: str) -> None:
    low, high = province_bounds(province)
    moving = f"{table}_moving_p{province}"
    cursor.execute(f"CREATE TEMP TABLE {moving} (LIKE {table}) ON COMMIT DROP")
    cursor.execute(
        f"WITH moved AS (DELETE FROM {default_table(table)} WHERE region >= %s AND region < %s RETURNING *) "
        f"INSERT INTO {moving} SELECT * FROM moved",
        [low, high],
    )
    cursor.execute(
        f"CREATE TABLE {province_table(table, province)} PARTITION OF {table} FOR VALUES FROM (%s) TO (%s)", [low, high]
    )
    cursor.execute(f"INSERT INTO {table} SELECT * FROM {moving}")
    cursor.execute(f"DROP TABLE {moving}")
