"""The PostgreSQL layout of stored results (no-ops on other databases).

``matching_batch_result`` is a table partitioned by ``generation`` (LIST). A full run writes
into a table of its own, ``matching_batch_result_g<generation>``: created UNLOGGED and
without indexes (the fastest bulk write), indexed once filled, then attached as the
generation's partition in the transaction that moves ``MatchingState.generation`` to it.
Old generations are dropped afterwards, whole (no DELETE, no bloat).

UNLOGGED: results are derived data, recomputable from the register and the catalogue at
any time, so their writes skip the WAL (half of a bulk write's cost). After a database crash
PostgreSQL empties unlogged tables; ``services.sweep`` notices an empty current generation
that had results and starts a full run. (Unlogged tables are not on streaming replicas: the
per-product and per-county counts, ``matching_batch_count``, are logged.)

Indexes of a generation:
- UNIQUE (entity_id, product_id) (the model's key; the generation is constant in a
  partition): an entity's results (enterprise home, declaration review, re-matching);
- 潜在客户 (product_id, county, max_amount DESC NULLS LAST, entity_id) WHERE eligible AND
  shared: a branch's first page for a product and a county is the first 50 entries of one
  index range, whatever the county's size; several counties are merged index ranges;
- near misses (county, entity_id, product_id) WHERE near_miss: a page of entities in a
  county range is a streamed GROUP BY over it.

``matching_batch_codemap`` (UNLOGGED, see ``plan``): outcomes of region and industry rules
per code; a cache that the statements can do without.
"""

from __future__ import annotations

import threading

from django.db import OperationalError, connections, transaction
from django.db import connection as default_connection

from batch_matching.models import MatchResult
from batch_matching.plan import CODEMAP_TABLE, ELIGIBLE

PARENT = "matching_batch_result"
_INDEXES = {
    "leads": f"(product_id, county, max_amount DESC NULLS LAST, entity_id) WHERE verdict = {ELIGIBLE} AND shared",
    "near_entity": "(county, entity_id, product_id) WHERE near_miss",
}


def is_postgresql(connection=None) -> bool:
    return (connection or default_connection).vendor == "postgresql"


def partition(generation: int) -> str:
    return f"{PARENT}_g{int(generation)}"


def _parent_ddl(schema_editor, model) -> tuple[str, list]:
    columns, params = [], []
    for field in model._meta.local_concrete_fields:
        definition, field_params = schema_editor.column_sql(model, field)
        if definition is None:
            continue
        columns.append(f"{schema_editor.quote_name(field.column)} {definition}")
        params.extend(field_params or [])
    return f"CREATE TABLE {PARENT} ({', '.join(columns)}) PARTITION BY LIST (generation)", params


def create_parent(schema_editor, model) -> None:
    """The results table: partitioned by generation on PostgreSQL, plain elsewhere.

    On PostgreSQL the model's composite key (generation, entity_id, product_id) is enforced
    per partition, where the generation is constant, as UNIQUE (entity_id, product_id): half
    the index build of a three-column key."""
    if schema_editor.connection.vendor != "postgresql":
        schema_editor.create_model(model)
        return
    sql, params = _parent_ddl(schema_editor, model)
    schema_editor.execute(sql, params or None)


def ensure_partitioned(cursor) -> None:
    """A results table created by ``syncdb`` (tests with ``--nomigrations``) is a plain table:
    recreate it partitioned while it is still empty."""
    cursor.execute(
        "SELECT relkind FROM pg_class WHERE relname = %s AND relnamespace = 'public'::regnamespace", [PARENT]
    )
    row = cursor.fetchone()
    if row is None or row[0] == "p":
        return
    cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {PARENT})")
    if cursor.fetchone()[0]:
        raise RuntimeError(f"{PARENT} 不是分区表且已有数据")
    cursor.execute(f"DROP TABLE {PARENT}")
    with default_connection.schema_editor(atomic=False) as editor:
        sql, params = _parent_ddl(editor, MatchResult)
    cursor.execute(sql, params or None)


def ensure_codemap(cursor) -> None:
    # codes of any length: regions down to townships (9 digits) and villages (12), industries
    cursor.execute(
        f"CREATE UNLOGGED TABLE IF NOT EXISTS {CODEMAP_TABLE} (signature varchar(40) NOT NULL, "
        f"code text NOT NULL, outcomes boolean[] NOT NULL, PRIMARY KEY (signature, code))"
    )
    cursor.execute(
        "SELECT data_type FROM information_schema.columns WHERE table_name = %s AND column_name = 'code'",
        [CODEMAP_TABLE],
    )
    row = cursor.fetchone()
    if row and row[0] != "text":  # made by an earlier version as varchar(8): township codes did not fit
        cursor.execute(f"ALTER TABLE {CODEMAP_TABLE} ALTER COLUMN code TYPE text")


def create_partition(cursor, generation: int) -> None:
    """The empty, unindexed table a full run writes into (idempotent)."""
    ensure_partitioned(cursor)
    name = partition(generation)
    cursor.execute(
        f"CREATE UNLOGGED TABLE IF NOT EXISTS {name} (LIKE {PARENT} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"
    )
    cursor.execute("SELECT 1 FROM pg_constraint WHERE conname = %s", [f"{name}_generation"])
    if cursor.fetchone() is None:
        # lets ATTACH PARTITION skip its validating scan
        cursor.execute(f"ALTER TABLE {name} ADD CONSTRAINT {name}_generation CHECK (generation = {int(generation)})")


def index_statements(generation: int) -> list[str]:
    """The index builds of a filled generation (idempotent; SHARE locks, so they can run at
    the same time in several sessions)."""
    name = partition(generation)
    return [f"CREATE UNIQUE INDEX IF NOT EXISTS {name}_entity ON {name} (entity_id, product_id)"] + [
        f"CREATE INDEX IF NOT EXISTS {name}_{suffix} ON {name} {definition}" for suffix, definition in _INDEXES.items()
    ]


def index_partition(generation: int, *, memory: str = "256MB", parallel: bool = True, also=None) -> None:
    """Index a filled generation: the builds run side by side, one session each (each is one
    scan of the table and a sort); ``also`` (a callable) runs beside them in its own thread."""
    errors: list[BaseException] = []

    def build(statement: str) -> None:
        try:
            # SET LOCAL in the build's own transaction: no session setting, so a pooler in
            # transaction mode (PgBouncer) neither loses it nor hands it to another client
            with transaction.atomic(using="default"), connections["default"].cursor() as cursor:
                cursor.execute(f"SET LOCAL maintenance_work_mem = '{memory}'")
                cursor.execute(statement)
        except BaseException as exc:  # re-raised below, in the caller's thread
            errors.append(exc)
        finally:
            if parallel:
                connections["default"].close()

    statements = index_statements(generation)
    if parallel:
        threads = [threading.Thread(target=build, args=(statement,)) for statement in statements]
        if also is not None:
            threads.append(threading.Thread(target=_closing(also, errors)))
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    else:
        for statement in statements:
            build(statement)
        if also is not None:
            also()
    if errors:
        raise errors[0]
    with connections["default"].cursor() as cursor:
        cursor.execute(f"ANALYZE {partition(generation)}")


def _closing(function, errors: list):
    def run():
        try:
            function()
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections["default"].close()

    return run


def is_attached(cursor, generation: int) -> bool:
    cursor.execute(
        "SELECT 1 FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE c.relname = %s",
        [partition(generation)],
    )
    return cursor.fetchone() is not None


def attach_partition(cursor, generation: int) -> None:
    if not is_attached(cursor, generation):
        cursor.execute(
            f"ALTER TABLE {PARENT} ATTACH PARTITION {partition(generation)} FOR VALUES IN ({int(generation)})"
        )


def partition_exists(cursor, generation: int) -> bool:
    cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [partition(generation)])
    return cursor.fetchone()[0]


def generations(cursor) -> list[int]:
    """Generations that have a table (attached or not)."""
    cursor.execute("SELECT relname FROM pg_class WHERE relname ~ %s AND relkind = 'r'", [f"^{PARENT}_g[0-9]+$"])
    return sorted(int(name.rsplit("_g", 1)[1]) for (name,) in cursor.fetchall())


def drop_partition(cursor, generation: int, *, lock_timeout_ms: int = 2000) -> bool:
    """Drop a generation's table; False when readers held it longer than the timeout (the
    sweep tries again later rather than queue readers behind the lock)."""
    try:
        with transaction.atomic():
            cursor.execute(f"SET LOCAL lock_timeout = {int(lock_timeout_ms)}")
            cursor.execute(f"DROP TABLE IF EXISTS {partition(generation)}")
    except OperationalError:
        return False
    return True
