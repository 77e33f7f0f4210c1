"""The PostgreSQL layout of stored results (no-ops on other databases).

Two levels of partitions: by province, then by generation::

    matching_batch_result                 PARTITION BY RANGE (county)      (the parent readers query)
      matching_batch_result_p14           FOR VALUES FROM (140000) TO (150000)
                                          PARTITION BY LIST (generation)   (山西: one table per province)
        matching_batch_result_p14_g7      FOR VALUES IN (7)                (UNLOGGED, indexed: a leaf)

A result's province is the first two digits of its county code (``county // 10000``; the
entity's region code, ``plan.county_sql``); entities whose region code is not a county's are
stored with county 0, province 00. RANGE on ``county`` rather than LIST on a province column:
the same partitions, no extra column, and every query that already names a county or a
region range (a county's lead page, a city's or a province's near misses and counts) is
pruned by the planner to that province's table without a word more. Readers also put each
province's own generation in the WHERE (``selectors``): the province level is pruned while
planning (the plan names only the province's tables), the generation level at execution
(the pointer is read by a subquery in the same statement).

Lifecycle of a full run ``g`` over some provinces (one, or every province of the region
table and 00; ``services.run_start``):

- build: the run's own table ``matching_batch_result_g<g>`` (PARTITION BY RANGE (county), no
  storage) with one leaf ``matching_batch_result_p<P>_g<g>`` per province, created UNLOGGED,
  without indexes, with CHECK constraints of its county range and generation; the chunks
  insert into the run's table, which routes each row to its province's leaf;
- index: each leaf is indexed (a few sessions side by side) and analysed;
- swap (one transaction, ``services._finalize``): each leaf is detached from the run's table
  and attached to its province's table (the CHECK constraints spare ATTACH its validating
  scan; it takes SHARE UPDATE EXCLUSIVE, which readers do not wait for), the province's
  pointer (``ProvinceGeneration``) moves to ``g``, and the empty run's table is dropped;
- drop: the province's previous leaf is dropped (ACCESS EXCLUSIVE on that province's table
  only, with a lock timeout).

So a run for one province creates, indexes, attaches and drops only that province's tables;
the other provinces' leaves and pointers are not touched, and their readers never wait for it.
(A province seen for the first time gets its table, ``CREATE TABLE … PARTITION OF``: that
takes ACCESS EXCLUSIVE on the parent for a moment, once per province, at a run's start.)

One run for all provinces rather than a run per province: one generation, one set of chunks
over the entity ids (each entity read once; a chunk's rows are routed to their provinces'
leaves), one swap; a run for one province reads only that province's entities (the chunks'
statements filter on the county code).

UNLOGGED: results are derived data, recomputable from the register and the catalogue at
any time, so their writes skip the WAL (half of a bulk write's cost). After a database crash
PostgreSQL empties unlogged tables; ``services.sweep`` notices an empty leaf in force that had
results and starts a full run. (Unlogged tables are not on streaming replicas: results are
read from the primary, ``portal.replicas.PRIMARY_ONLY_MODELS``; the per-product and
per-county counts, ``matching_batch_count``, are logged.)

Indexes of a leaf:
- UNIQUE (entity_id, product_id) (the model's key; the generation is constant in a leaf, and
  a province's leaf holds an entity's rows of that generation): an entity's results
  (enterprise home, declaration review, re-matching);
- 潜在客户 (product_id, county, max_amount DESC NULLS LAST, entity_id) WHERE eligible AND
  shared: a branch's first page for a product and a county is the first 50 entries of one
  index range, whatever the county's size; several counties are merged index ranges;
- near misses (county, entity_id, product_id) WHERE near_miss: a page of entities in a
  county range is a streamed GROUP BY over it.

Not partitioned: ``matching_batch_count`` (a row per generation, product and county: it grows
with the catalogue and the counties, not with the entities) and ``matching_batch_codemap``
(UNLOGGED, see ``plan``: outcomes of region and industry rules per code; a cache that the
statements can do without, one row per code).

The layout before (one level, ``PARTITION BY LIST (generation)``, leaves
``matching_batch_result_g<g>``) is converted by migration ``batch_matching.0002``: it drops
the results (derived data) and the sweep starts a full run (``services.sweep``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence

from django.db import OperationalError, connections, transaction
from django.db import connection as default_connection

from batch_matching.models import MatchResult
from batch_matching.plan import CODEMAP_TABLE, ELIGIBLE

PARENT = "matching_batch_result"
UNKNOWN_PROVINCE = 0  # entities whose region code is not a county's (stored county 0)
_INDEXES = {
    "leads": f"(product_id, county, max_amount DESC NULLS LAST, entity_id) WHERE verdict = {ELIGIBLE} AND shared",
    "near_entity": "(county, entity_id, product_id) WHERE near_miss",
}
_INDEX_SESSIONS = 2  # the index builds' sessions (index_partition)


def is_postgresql(connection=None) -> bool:
    return (connection or default_connection).vendor == "postgresql"


# --- provinces and names ---------------------------------------------------------------------


def province_of(county: int) -> int:
    """The province of a stored county code (its first two digits; 0 for county 0)."""
    return int(county) // 10_000


def province_range(province: int) -> tuple[int, int]:
    """The stored county codes [lo, hi) of a province."""
    return int(province) * 10_000, (int(province) + 1) * 10_000


def province_table(province: int) -> str:
    return f"{PARENT}_p{int(province):02d}"


def leaf(province: int, generation: int) -> str:
    return f"{PARENT}_p{int(province):02d}_g{int(generation)}"


def partition(generation: int) -> str:
    """A full run's own table (the parent of its leaves until they are swapped in)."""
    return f"{PARENT}_g{int(generation)}"


# --- the parent ------------------------------------------------------------------------------


def _parent_ddl(schema_editor, model, by: str = "RANGE (county)") -> tuple[str, list]:
    columns, params = [], []
    for field in model._meta.local_concrete_fields:
        definition, field_params = schema_editor.column_sql(model, field)
        if definition is None:
            continue
        columns.append(f"{schema_editor.quote_name(field.column)} {definition}")
        params.extend(field_params or [])
    return f"CREATE TABLE {PARENT} ({', '.join(columns)}) PARTITION BY {by}", params


def create_parent(schema_editor, model, *, by: str = "RANGE (county)") -> None:
    """The results table: partitioned by province (county ranges) on PostgreSQL, plain
    elsewhere. ``by``: the partitioning of an earlier layout (migrations that step back).

    On PostgreSQL the model's composite key (generation, entity_id, product_id) is enforced
    per leaf, where the generation is constant, as UNIQUE (entity_id, product_id): half the
    index build of a three-column key."""
    if schema_editor.connection.vendor != "postgresql":
        schema_editor.create_model(model)
        return
    sql, params = _parent_ddl(schema_editor, model, by)
    schema_editor.execute(sql, params or None)


def layout(cursor) -> str | None:
    """'provinces' (this layout), 'generations' (the layout before), 'plain' (a table made by
    ``syncdb``), or None (no table)."""
    cursor.execute(
        "SELECT c.relkind, p.partstrat, a.attname FROM pg_class c "
        "LEFT JOIN pg_partitioned_table p ON p.partrelid = c.oid "
        "LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = p.partattrs[0] "
        "WHERE c.relname = %s AND c.relnamespace = 'public'::regnamespace",
        [PARENT],
    )
    row = cursor.fetchone()
    if row is None:
        return None
    kind, strategy, column = row
    if kind != "p":
        return "plain"
    return "provinces" if (strategy, column) == ("r", "county") else "generations"


def drop_all(cursor) -> None:
    """Drop the results table, its partitions and every run's table (derived data)."""
    cursor.execute(f"DROP TABLE IF EXISTS {PARENT} CASCADE")
    for name in _tables(cursor, rf"^{PARENT}_(p[0-9]+_)?g[0-9]+$|^{PARENT}_p[0-9]+$"):
        cursor.execute(f"DROP TABLE IF EXISTS {name} CASCADE")


def ensure_layout(cursor) -> None:
    """Make ``matching_batch_result`` this layout: a table created by ``syncdb`` (tests with
    ``--nomigrations``) while still empty; the layout before, dropping its results (derived
    data; ``batch_matching.0002``)."""
    found = layout(cursor)
    if found in (None, "provinces"):
        return
    if found == "plain":
        cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {PARENT})")
        if cursor.fetchone()[0]:
            raise RuntimeError(f"{PARENT} 不是分区表且已有数据")
    drop_all(cursor)
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


def _exists(cursor, name: str) -> bool:
    cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [name])
    return cursor.fetchone()[0]


def _tables(cursor, pattern: str) -> list[str]:
    cursor.execute(
        "SELECT relname FROM pg_class WHERE relname ~ %s AND relnamespace = 'public'::regnamespace "
        "AND relkind IN ('r', 'p') ORDER BY relname",
        [pattern],
    )
    return [name for (name,) in cursor.fetchall()]


def ensure_province(cursor, province: int) -> None:
    """A province's table (partitioned by generation), created the first time a run builds it."""
    name = province_table(province)
    if _exists(cursor, name):
        return
    lo, hi = province_range(province)
    cursor.execute(
        f"CREATE TABLE IF NOT EXISTS {name} PARTITION OF {PARENT} FOR VALUES FROM ({lo}) TO ({hi}) "
        f"PARTITION BY LIST (generation)"
    )


# --- a full run's tables ---------------------------------------------------------------------


def create_partition(cursor, generation: int, provinces: Iterable[int]) -> None:
    """The empty, unindexed tables a full run writes into: its own table and a leaf per
    province (idempotent). The provinces' tables are created here too (when new), so the swap
    only attaches."""
    ensure_layout(cursor)
    build = partition(generation)
    cursor.execute(f"CREATE TABLE IF NOT EXISTS {build} (LIKE {PARENT} INCLUDING DEFAULTS) PARTITION BY RANGE (county)")
    for province in sorted(set(provinces)):
        ensure_province(cursor, province)
        name = leaf(province, generation)
        if _exists(cursor, name):
            continue
        lo, hi = province_range(province)
        cursor.execute(f"CREATE UNLOGGED TABLE {name} (LIKE {PARENT} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
        # let ATTACH PARTITION (to the run's table now, to the province's at the swap) skip
        # its validating scan
        cursor.execute(
            f"ALTER TABLE {name} ADD CONSTRAINT {name}_in CHECK (generation = {int(generation)} "
            f"AND county >= {lo} AND county < {hi})"
        )
        cursor.execute(f"ALTER TABLE {build} ATTACH PARTITION {name} FOR VALUES FROM ({lo}) TO ({hi})")


def index_statements(province: int, generation: int) -> list[str]:
    """The index builds of a filled leaf (idempotent; SHARE locks, so they can run at the same
    time in several sessions)."""
    name = leaf(province, generation)
    return [f"CREATE UNIQUE INDEX IF NOT EXISTS {name}_entity ON {name} (entity_id, product_id)"] + [
        f"CREATE INDEX IF NOT EXISTS {name}_{suffix} ON {name} {definition}" for suffix, definition in _INDEXES.items()
    ]


def index_partition(
    generation: int, provinces: Sequence[int], *, memory: str = "256MB", parallel: bool = True, also=None
) -> None:
    """Index and analyse a run's filled leaves; ``also`` (a callable, e.g. the counts) is one
    more job among them. The jobs run in ``_INDEX_SESSIONS`` sessions side by side, the
    longest first (each leaf's unique index, then its partial ones, ``also``, the ANALYZEs):
    measured at 1,000,000 entities on 2 cores, two sessions built the three indexes and the
    counts in 3.5–3.8 s where four (one per job) took 4.0–4.7 s and one took 6 s."""
    ordered = sorted(provinces)
    builds = [index_statements(province, generation) for province in ordered]
    jobs = [lambda s=statements[0]: _build(s, memory) for statements in builds]
    jobs += [lambda s=statement: _build(s, memory) for statements in builds for statement in statements[1:]]
    if also is not None:
        jobs.append(also)
    jobs += [lambda p=province: _analyze(p, generation) for province in ordered]
    if not parallel:
        for job in jobs:
            job()
        return
    errors: list[BaseException] = []
    lock = threading.Lock()

    def session() -> None:
        try:
            while not errors:
                with lock:
                    if not jobs:
                        return
                    job = jobs.pop(0)
                job()
        except BaseException as exc:  # re-raised below, in the caller's thread
            errors.append(exc)
        finally:
            connections["default"].close()

    threads = [threading.Thread(target=session) for _ in range(min(_INDEX_SESSIONS, len(jobs)) or 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


def _build(statement: str, memory: str) -> None:
    # SET LOCAL in the build's own transaction: no session setting, so a pooler in
    # transaction mode (PgBouncer) neither loses it nor hands it to another client
    with transaction.atomic(using="default"), connections["default"].cursor() as cursor:
        cursor.execute(f"SET LOCAL maintenance_work_mem = '{memory}'")
        cursor.execute(statement)


def _analyze(province: int, generation: int) -> None:
    with connections["default"].cursor() as cursor:
        cursor.execute(f"ANALYZE {leaf(province, generation)}")


def _parent_of(cursor, name: str) -> str | None:
    cursor.execute(
        "SELECT p.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "JOIN pg_class p ON p.oid = i.inhparent WHERE c.relname = %s",
        [name],
    )
    row = cursor.fetchone()
    return row[0] if row else None


def is_attached(cursor, province: int, generation: int) -> bool:
    """Whether a leaf is in force's reach: attached to its province's table."""
    return _parent_of(cursor, leaf(province, generation)) == province_table(province)


def attach_partition(cursor, province: int, generation: int) -> None:
    """Move a run's leaf from the run's table to its province's table (idempotent)."""
    name = leaf(province, generation)
    parent = _parent_of(cursor, name)
    if parent == province_table(province):
        return
    if parent is not None:
        cursor.execute(f"ALTER TABLE {parent} DETACH PARTITION {name}")
    cursor.execute(f"ALTER TABLE {province_table(province)} ATTACH PARTITION {name} FOR VALUES IN ({int(generation)})")


def drop_build(cursor, generation: int) -> None:
    """Drop a run's own table (with the leaves still in it: an abandoned run's)."""
    cursor.execute(f"DROP TABLE IF EXISTS {partition(generation)} CASCADE")


def partition_exists(cursor, province: int, generation: int) -> bool:
    return _exists(cursor, leaf(province, generation))


def leaves(cursor) -> list[tuple[int, int]]:
    """(province, generation) of every leaf (attached or not)."""
    names = _tables(cursor, rf"^{PARENT}_p[0-9]+_g[0-9]+$")
    found = []
    for name in names:
        province, generation = name[len(PARENT) + 2 :].split("_g")
        found.append((int(province), int(generation)))
    return sorted(found)


def builds(cursor) -> list[int]:
    """Generations that have a run's own table (being built, or left behind)."""
    return sorted(int(name.rsplit("_g", 1)[1]) for name in _tables(cursor, rf"^{PARENT}_g[0-9]+$"))


def generations(cursor) -> list[int]:
    """Generations that have a leaf or a run's table."""
    return sorted({generation for _, generation in leaves(cursor)} | set(builds(cursor)))


def drop_partition(cursor, province: int, generation: int, *, lock_timeout_ms: int = 2000) -> bool:
    """Drop a leaf; False when readers of its province held it longer than the timeout (the
    sweep tries again later rather than queue readers behind the lock)."""
    try:
        with transaction.atomic():
            cursor.execute(f"SET LOCAL lock_timeout = {int(lock_timeout_ms)}")
            cursor.execute(f"DROP TABLE IF EXISTS {leaf(province, generation)}")
    except OperationalError:
        return False
    return True
