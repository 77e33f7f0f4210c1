"""Writes of batch matching: full runs, incremental re-matching, the swap, the sweep.

Full run (``run_start`` → ``chunk_process`` × N → ``run_finalize``)
-------------------------------------------------------------------
A full run is for one province (``province="14"``: the entities whose county code starts
with 14) or for all (every province of the region table, and 00 for entities without a
county code); either way it is one run with one generation and a leaf per province
(``schema``), swapped in at once. One full run builds at a time (a run for one province is
short: it matches only that province's entities). The admin page, the management command and
the beat (nightly run for all, sweep) all start runs through ``run_start``.

- ``run_start`` snapshots the catalogue (``RunProduct``: product → version) and the date
  (``as_of``), splits the ids of the entities it matches into ranges (``RunChunk``), creates
  the run's own results table (a leaf per province, ``schema.create_partition``) and enqueues
  one Celery task per chunk; any worker on any machine may take any chunk.
- ``chunk_process`` claims its chunk with ``SELECT … FOR UPDATE SKIP LOCKED``, writes the
  chunk's results with one ``INSERT … SELECT`` (``plan``: eligible pairs and near misses; the
  信息不全 pairs only counted, into the run's products), and marks the chunk done, all in
  one transaction: a chunk is written once or not at all. A killed worker's transaction
  rolls back and leaves the chunk open; a duplicate delivery finds it locked or done. So a
  run killed half-way and resumed (``run_resume``, the sweep, or the broker redelivering)
  ends with exactly the rows of an uninterrupted run: same catalogue, same date, every range
  written once.
- ``run_finalize`` (by whichever worker finishes the last chunk) indexes the leaves, brings
  in what changed meanwhile (entities marked dirty by incremental runs, products published
  since the snapshot), then, holding ``MatchingState`` ``FOR UPDATE``, attaches each leaf to
  its province's table and moves each of the run's provinces' pointers
  (``ProvinceGeneration``) to the run's generation in one transaction, then drops those
  provinces' previous leaves. Other provinces' leaves and pointers are not touched. Readers
  filter each province on its pointer inside the statement that reads the results
  (``selectors._in_force``): they see the old results until that commit and the new ones
  after it, never a dropped generation. One finalizer per run: a transaction-level
  advisory lock taken by a transaction of its own, on a connection of its own, kept open
  while the run is finalized (``_finalize_lock``). That holds behind PgBouncer's transaction
  pooling (an open transaction keeps its server connection), where a session-level lock
  would be taken on one server connection and released, or re-granted, on another.

Incremental runs (after commit, from ``ENTITY_CHANGED_HOOKS`` / ``PRODUCT_PUBLISHED_HOOKS``)
---------------------------------------------------------------------------------------
- ``entities_rematch(ids)``: deletes those entities' rows in force (in any province: an entity
  may have moved) and writes each entity's rows in its province's current generation (counts
  adjusted by the difference), and marks them dirty for a run being built;
- ``product_rematch(product)``: the same for one product over every entity, per province.
They hold ``MatchingState`` ``FOR SHARE`` (never writing into a generation being swapped out)
and transaction advisory locks: entity re-matches lock their id stripes, a product re-match
locks the whole generation, so two writers never rewrite the same rows at once.
Each is recorded (``MatchingRun``) when it starts and stamped finished (state, counts,
``finished_at``) by the last write of its transaction, after every row, count and mark it
writes: a run is never seen done without its rows, and ``finished_at`` follows its writes.

On SQLite (the embedded demo) rows are computed in Python by the engine (``rows``), chunk by
chunk through the same Celery path; the layout is one plain table, with the same pointers.

The sweep (beat) resumes stalled runs, drops leaves no longer in force, and starts a full run
for all when results were lost: a crash emptied a leaf in force, or the layout migration
(``batch_matching.0002``) dropped the results of the layout before.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import socket
import time
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.db.models import Count, Exists, F, Max, Min, OuterRef, Q, Sum
from django.utils import timezone

from batch_matching import schema
from batch_matching.compile import SQL
from batch_matching.models import (
    DirtyEntity,
    MatchingRun,
    MatchingState,
    MatchResult,
    ProvinceGeneration,
    ResultCount,
    RunChunk,
    RunKind,
    RunProduct,
    RunState,
    RunTrigger,
)
from batch_matching.plan import (
    ENTITY_TABLE,
    RESULT_COLUMNS,
    Planner,
    VersionSpec,
    count_select,
    county_code,
    county_sql,
)
from batch_matching.rows import ResultRow, active_versions, counts_of, is_stored, rows_for, version_specs
from entities.models import MarketEntity
from portal.celery import app as celery_app
from portal.models import Region, RegionLevel
from portal.services import ApplicationError, audit_record
from portal.tenancy import resolve
from products.eligibility import related_rows

log = logging.getLogger(__name__)

LOCK_NAMESPACE = 731_001  # advisory locks of batch matching: (namespace, key)
_WHOLE_GENERATION = -1  # product re-matching holds it exclusively, entity re-matching shared
_STRIPE_BITS = 12  # entity re-matching locks ids in stripes of 4096
_FINALIZE_KEY_OFFSET = 1 << 30
PYTHON_BELOW = 30  # fewer entities than this are re-matched in Python (planning the statement costs more)
ENTITY_BATCH = 10_000  # entity ids per incremental task
MAX_CHUNK_ATTEMPTS = 3

# The Celery tasks these services enqueue, by the names batch_matching.tasks registers them
# under: the tasks call these services, so this module does not import the task module (a
# task's name is its stable identity, as in the beat schedule).
PROCESS_CHUNK_TASK = "matching.batch.process_chunk"
FINALIZE_TASK = "matching.batch.finalize"


def near_miss_months() -> int:
    return int(getattr(settings, "MATCHING_NEAR_MISS_MONTHS", 6))


def _chunk_size(entities: int) -> int:
    configured = int(getattr(settings, "MATCHING_CHUNK_SIZE", 0) or 0)
    if configured:
        return configured
    # about 32 chunks: fine enough to share among workers, coarse enough that planning the
    # statement (~50 ms) stays small next to running it
    return max(1_000, min(100_000, math.ceil(entities / 32) if entities else 1_000))


def _postgresql() -> bool:
    return connection.vendor == "postgresql"


# --- the catalogue ---------------------------------------------------------------------------


def run_versions(run: MatchingRun) -> list[VersionSpec]:
    return version_specs(
        list(RunProduct.objects.filter(run=run).order_by("product_id").values_list("product_id", "version_id"))
    )


_PLANNERS: OrderedDict = OrderedDict()


def planner_for(versions: Sequence[VersionSpec], as_of, *, use_maps: bool = True) -> Planner:
    """Planners are pure functions of immutable versions and a date: cached per process."""
    key = (tuple((v.product_id, v.version_id) for v in versions), as_of, use_maps, near_miss_months())
    planner = _PLANNERS.get(key)
    if planner is None:
        planner = Planner(versions, as_of=as_of, near_miss_months=near_miss_months(), use_maps=use_maps)
        _PLANNERS[key] = planner
        while len(_PLANNERS) > 8:
            _PLANNERS.popitem(last=False)
    _PLANNERS.move_to_end(key)
    return planner


_MAPS_SEEN: set[str] = set()


def _ensure_maps(cursor, planner: Planner) -> None:
    """Fill the code maps the plan joins (once per signature; a missing map only costs speed)."""
    schema.ensure_codemap(cursor)
    for signature, statement in planner.map_statements():
        if signature in _MAPS_SEEN:
            continue
        cursor.execute("SELECT 1 FROM matching_batch_codemap WHERE signature = %s LIMIT 1", [signature])
        if cursor.fetchone() is None:
            cursor.execute(statement.sql, statement.params)
        _MAPS_SEEN.add(signature)


# --- the state row ---------------------------------------------------------------------------


def _state_ensure() -> None:
    if not MatchingState.objects.filter(pk=1).exists():
        MatchingState.objects.get_or_create(pk=1)


def _state_lock(mode: str) -> tuple[int | None, int | None]:
    """(generation, building run id), locked ``FOR SHARE`` or ``FOR UPDATE`` (PostgreSQL;
    SQLite serialises writers anyway). Inside a transaction."""
    if _postgresql():
        with connection.cursor() as cursor:
            for _ in range(2):
                cursor.execute(f"SELECT generation, building_id FROM matching_batch_state WHERE id = 1 FOR {mode}")
                row = cursor.fetchone()
                if row is not None:
                    return row
                _state_ensure()
    _state_ensure()
    state = MatchingState.objects.get(pk=1)
    return state.generation, state.building_id


def current_generation() -> int | None:
    """The generation swapped in last (in some province); a province's own: ``pointers``."""
    return MatchingState.objects.filter(pk=1).values_list("generation", flat=True).first()


# --- provinces -------------------------------------------------------------------------------


def pointers() -> dict[int, int]:
    """province → the generation in force there (``ProvinceGeneration``)."""
    return dict(ProvinceGeneration.objects.values_list("province", "generation"))


def all_provinces() -> list[int]:
    """The provinces a run for all builds: every province of the region table (the first two
    digits of its codes) and 00, where entities whose region code is not a county's are."""
    codes = Region.objects.filter(level__in=[RegionLevel.PROVINCE, RegionLevel.CITY, RegionLevel.COUNTY]).values_list(
        "code", flat=True
    )
    return sorted({schema.province_of(county_code(code)) for code in codes} | {schema.UNKNOWN_PROVINCE})


def province_of_entity(region_code: str | None) -> int:
    """An entity's province: the first two digits of its county code (00 without one)."""
    return schema.province_of(county_code(region_code))


def _entity_sql(provinces: Sequence[int] | None) -> SQL:
    """The entities (rows of ``entities_marketentity``) of these provinces; TRUE for None."""
    if provinces is None:
        return SQL("TRUE")
    county = county_sql(ENTITY_TABLE)
    parts = [f"({county} >= {lo} AND {county} < {hi})" for lo, hi in map(schema.province_range, sorted(provinces))]
    return SQL("(" + " OR ".join(parts) + ")" if parts else "FALSE")


def _result_sql(placed: dict[int, int]) -> SQL:
    """Result rows of each province's given generation (``placed``: province → generation),
    in a form both partition levels are pruned by."""
    parts = [
        f"(county >= {lo} AND county < {hi} AND generation = {int(generation)})"
        for (lo, hi), generation in ((schema.province_range(p), g) for p, g in sorted(placed.items()))
    ]
    return SQL("(" + " OR ".join(parts) + ")" if parts else "FALSE")


def _result_q(placed: dict[int, int]) -> Q:
    """``_result_sql`` for the ORM."""
    combined = Q(generation__in=[])
    for province, generation in sorted(placed.items()):
        lo, hi = schema.province_range(province)
        combined |= Q(generation=generation, county__gte=lo, county__lt=hi)
    return combined


def _entities_by_province(ids: Sequence[int]) -> dict[int, list[int]]:
    by_province: dict[int, list[int]] = {}
    for pk, region_code in MarketEntity.objects.filter(pk__in=list(ids)).values_list("pk", "region_id"):
        by_province.setdefault(province_of_entity(region_code), []).append(pk)
    return {province: sorted(found) for province, found in by_province.items()}


def _province_input(actor, province) -> int | None:
    """A run's province from its input ("14", "140000"; empty: all), resolved as a
    province-level region (through ``restrict`` when a person starts the run)."""
    text = str(province or "").strip()
    if not text:
        return None
    code = text + "0000" if len(text) == 2 else text
    message = "请选择有效的省份"
    if not (len(code) == 6 and code.isdigit() and code.endswith("0000")):
        raise ApplicationError(message, code="invalid", field_errors={"province": [message]})
    provinces = Region.objects.filter(level=RegionLevel.PROVINCE)
    if getattr(actor, "is_authenticated", False):
        region = resolve(provinces, actor, message=message, field="province", code=code)
    else:
        region = provinces.filter(code=code).first()
        if region is None:
            raise ApplicationError(message, code="not_found", field_errors={"province": [message]})
    return int(region.code[:2])


# --- counts ----------------------------------------------------------------------------------


def _apply_counts(generation, rows: Iterable[Sequence], sign: int = 1, *, minus: Iterable[Sequence] = ()) -> None:
    """Add counts rows (``COUNT_COLUMNS``; times ``sign``) to a generation's counts, less the
    ``minus`` rows, in one statement. ``generation``: a number, or province → generation (each
    row's county says its province)."""
    of = (lambda county: generation[schema.province_of(county)]) if isinstance(generation, dict) else None
    merged: dict[tuple[int, int, int], list[int]] = {}
    for factor, source in ((sign, rows), (-1, minus)):
        for product_id, county, eligible, eligible_shared, _incomplete, near_miss, *_ in source:
            into = merged.setdefault((of(county) if of else generation, product_id, county), [0, 0, 0])
            into[0] += factor * eligible
            into[1] += factor * eligible_shared
            into[2] += factor * near_miss  # 信息不全 pairs are not stored: a run counts them itself
    _add_counts(merged)


def _add_counts(merged: dict[tuple[int, int, int], list[int]]) -> None:
    merged = {key: values for key, values in merged.items() if any(values)}
    if not merged:
        return
    if _postgresql():
        values_sql = ", ".join(["(%s, %s, %s, %s, %s, %s)"] * len(merged))
        params = [p for key, v in sorted(merged.items()) for p in (*key, *v)]
        with connection.cursor() as cursor:
            # in key order: concurrent re-matches lock count rows in the same order
            cursor.execute(
                f"INSERT INTO matching_batch_count (generation, product_id, county, eligible, eligible_shared, "
                f"near_miss) VALUES {values_sql} ON CONFLICT (generation, product_id, county) DO UPDATE SET "
                f"eligible = matching_batch_count.eligible + EXCLUDED.eligible, "
                f"eligible_shared = matching_batch_count.eligible_shared + EXCLUDED.eligible_shared, "
                f"near_miss = matching_batch_count.near_miss + EXCLUDED.near_miss",
                params,
            )
        return
    for (generation, product_id, county), v in sorted(merged.items()):
        updated = ResultCount.objects.filter(generation=generation, product_id=product_id, county=county).update(
            eligible=F("eligible") + v[0],
            eligible_shared=F("eligible_shared") + v[1],
            near_miss=F("near_miss") + v[2],
        )
        if not updated:
            ResultCount.objects.create(
                generation=generation,
                product_id=product_id,
                county=county,
                eligible=v[0],
                eligible_shared=v[1],
                near_miss=v[2],
            )


# --- writing rows ----------------------------------------------------------------------------


def _insert_rows(table: str, rows: Sequence[ResultRow], *, generation: int, run_id: int) -> None:
    """Write the stored ones of these computed rows (not the 信息不全 ones, ``rows.is_stored``)."""
    rows = [row for row in rows if is_stored(row)]
    if not rows:
        return
    if not _postgresql():
        MatchResult.objects.bulk_create(
            [MatchResult(**dict(zip(RESULT_COLUMNS, r.values(generation, run_id)))) for r in rows], batch_size=500
        )
        return
    width = len(RESULT_COLUMNS)
    for start in range(0, len(rows), 2000):
        part = rows[start : start + 2000]
        placeholders = ", ".join(["(" + ", ".join(["%s"] * width) + ")"] * len(part))
        params = [value for row in part for value in row.values(generation, run_id)]
        with connection.cursor() as cursor:
            cursor.execute(f"INSERT INTO {table} ({', '.join(RESULT_COLUMNS)}) VALUES {placeholders}", params)


def _entity_q(provinces: Sequence[int] | None) -> Q | None:
    """``_entity_sql`` for the ORM (the SQLite path, a run's bounds)."""
    if provinces is None:
        return None
    counties = Region.objects.filter(code__regex=r"^[0-9]{6}$")
    combined = Q(pk__in=[])
    for province in sorted(provinces):
        if province == schema.UNKNOWN_PROVINCE:
            combined |= ~Q(region_id__in=counties.values("code")) | Q(region__isnull=True)
        else:
            combined |= Q(region_id__in=counties.filter(code__startswith=f"{province:02d}").values("code"))
    return combined


def _entities(
    ids: Sequence[int] | None = None,
    lo: int | None = None,
    hi: int | None = None,
    provinces: Sequence[int] | None = None,
):
    queryset = MarketEntity.objects.prefetch_related(*related_rows()).order_by("id")
    if ids is not None:
        queryset = queryset.filter(pk__in=list(ids))
    if lo is not None:
        queryset = queryset.filter(pk__gte=lo, pk__lt=hi)
    where = _entity_q(provinces)
    return queryset if where is None else queryset.filter(where)


def _delete_counted(table: str, where: SQL) -> list[tuple]:
    """Delete rows of ``table`` ``where`` says; their counts per product and county."""
    if not _postgresql():
        raise AssertionError("PostgreSQL only")
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH gone AS (DELETE FROM {table} WHERE {where.sql} RETURNING product_id, county, verdict, "
            f"shared, near_miss) {count_select('gone')}",
            where.params,
        )
        return cursor.fetchall()


def _sqlite_delete_counted(where: Q) -> list[tuple]:
    counts = _sqlite_counts(where)
    MatchResult.objects.filter(where).delete()
    return counts


def _delete_entities(table: str, placed: dict[int, int], ids: Sequence[int]) -> list[tuple]:
    """Delete the rows of these entities in each province's given generation (``placed``);
    their counts per product and county."""
    if _postgresql():
        where = _result_sql(placed)
        return _delete_counted(table, SQL(f"entity_id = ANY(%s) AND {where.sql}", (list(ids),)))
    return _sqlite_delete_counted(Q(entity_id__in=list(ids)) & _result_q(placed))


def _write_entities(
    *,
    generation: int,
    table: str,
    ids: Sequence[int],
    versions: Sequence[VersionSpec],
    as_of,
    run_id: int,
    provinces: Sequence[int] | None,
) -> list[tuple]:
    """Write the rows of these entities (those of ``provinces``; all for None) into a
    generation; their counts. ``table``: a partitioned table that routes each row to its
    province's leaf of that generation."""
    if not versions:
        return []
    if len(ids) < PYTHON_BELOW or not _postgresql():
        # a few entities: evaluated here (planning the statement would cost more)
        rows = rows_for(
            _entities(ids, provinces=provinces),
            versions,
            as_of=as_of,
            near_miss_months=near_miss_months(),
            with_incomplete=True,
        )
        _insert_rows(table, rows, generation=generation, run_id=run_id)
        return counts_of(rows)
    planner = planner_for(versions, as_of)
    among = _entity_sql(provinces)
    with connection.cursor() as cursor:
        _ensure_maps(cursor, planner)
        cursor.execute("SET LOCAL jit = off")
        statement = planner.insert(
            table,
            SQL(f"{ENTITY_TABLE}.id = ANY(%s) AND {among.sql}", (list(ids), *among.params)),
            generation=generation,
            run_id=run_id,
        )
        cursor.execute(statement.sql, statement.params)
        return cursor.fetchall()


def _rewrite_product(
    *,
    generation: int,
    table: str,
    product_id: int,
    version: VersionSpec | None,
    as_of,
    run_id: int,
    provinces: Sequence[int],
) -> list[tuple]:
    """Replace one product's rows in a generation, in these provinces (none when ``version``
    is None); its counts there are replaced too. Returns the new counts."""
    placed = {province: generation for province in provinces}
    if not _postgresql():
        _sqlite_delete_counted(Q(product_id=product_id) & _result_q(placed))
        rows = (
            rows_for(
                _entities(provinces=provinces),
                [version],
                as_of=as_of,
                near_miss_months=near_miss_months(),
                with_incomplete=True,
            )
            if version
            else []
        )
        _insert_rows(table, rows, generation=generation, run_id=run_id)
        new = counts_of(rows)
    else:
        where = _result_sql(placed)
        with connection.cursor() as cursor:  # its counts are replaced below: no need to count what goes
            cursor.execute(f"DELETE FROM {table} WHERE product_id = %s AND {where.sql}", [product_id])
        new = []
        if version is not None:
            planner = planner_for([version], as_of)
            with connection.cursor() as cursor:
                _ensure_maps(cursor, planner)
                cursor.execute("SET LOCAL jit = off")
                statement = planner.insert(table, _entity_sql(provinces), generation=generation, run_id=run_id)
                cursor.execute(statement.sql, statement.params)
                new = cursor.fetchall()
    ResultCount.objects.filter(Q(product_id=product_id) & _result_q(placed)).delete()
    _apply_counts(generation, new)
    return new


def _advisory(*keys: int, shared: bool = False) -> None:
    if not _postgresql() or not keys:
        return
    function = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {function}(%s, k) FROM unnest(%s::int[]) AS k ORDER BY k", [LOCK_NAMESPACE, sorted(set(keys))]
        )


# --- full runs -------------------------------------------------------------------------------


def _split(lo: int, hi: int, size: int) -> list[tuple[int, int]]:
    return [(start, min(start + size, hi + 1)) for start in range(lo, hi + 1, size)]


def run_start(
    *,
    actor=None,
    trigger: str = RunTrigger.MANUAL,
    as_of=None,
    chunk_size: int | None = None,
    dispatch: bool = True,
    province: str | None = None,
) -> MatchingRun:
    """Start a full run (see the module docstring) for one province ("14" or "140000") or,
    without one, for every province; its chunks are enqueued after commit."""
    as_of = as_of or timezone.localdate()
    only = _province_input(actor, province)
    with transaction.atomic():
        _, building_id = _state_lock("UPDATE")
        if building_id is not None:
            building = MatchingRun.objects.get(pk=building_id)
            if building.state in (RunState.RUNNING, RunState.FINALIZING):
                raise ApplicationError(f"全量匹配 #{building.pk} 正在进行, 请等待其完成", code="conflict")
            _abandon(building)
        versions = active_versions()
        provinces = [only] if only is not None else all_provinces()
        entities = MarketEntity.objects.all()
        if only is not None:
            entities = entities.filter(_entity_q(provinces))
        bounds = entities.aggregate(lo=Min("id"), hi=Max("id"), n=Count("id"))
        run = MatchingRun.objects.create(
            kind=RunKind.FULL,
            trigger=trigger,
            as_of=as_of,
            province="" if only is None else f"{only:02d}",
            provinces=provinces,
            entities=bounds["n"] or 0,
            started_by=actor if getattr(actor, "is_authenticated", False) else None,
        )
        run.generation = run.pk
        ranges = _split(bounds["lo"], bounds["hi"], chunk_size or _chunk_size(bounds["n"])) if bounds["n"] else []
        RunChunk.objects.bulk_create([RunChunk(run=run, number=i, lo=lo, hi=hi) for i, (lo, hi) in enumerate(ranges)])
        RunProduct.objects.bulk_create(
            [RunProduct(run=run, product_id=v.product_id, version_id=v.version_id) for v in versions]
        )
        run.chunks_total = len(ranges)
        run.save(update_fields=["generation", "chunks_total"])
        if _postgresql():
            with connection.cursor() as cursor:
                schema.create_partition(cursor, run.generation, provinces)
                if versions:
                    _ensure_maps(cursor, planner_for(versions, as_of))
        MatchingState.objects.filter(pk=1).update(building=run)
        audit_record(
            actor=actor,
            action="matching.run_start",
            obj=run,
            after={
                "entities": run.entities,
                "chunks": run.chunks_total,
                "products": len(versions),
                "as_of": as_of.isoformat(),
                "trigger": trigger,
                "province": run.province or "全部",
            },
        )
        if dispatch:
            transaction.on_commit(lambda: dispatch_chunks(run.pk))
    return run


def _abandon(run: MatchingRun) -> None:
    """A failed run that a new one replaces: its table goes, its record stays."""
    MatchingRun.objects.filter(pk=run.pk).update(
        state=RunState.SUPERSEDED, finished_at=run.finished_at or timezone.now()
    )
    DirtyEntity.objects.filter(run=run).delete()
    if _postgresql() and run.generation:
        with connection.cursor() as cursor:
            schema.drop_build(cursor, run.generation)  # with its leaves


def dispatch_chunks(run_id: int) -> None:
    """Enqueue a task for every open chunk (duplicates are harmless); without a broker, do
    the work here."""
    open_chunks = list(
        RunChunk.objects.filter(run_id=run_id, done=False).order_by("number").values_list("pk", flat=True)
    )
    if not open_chunks:
        run_finalize(run_id=run_id)
        return
    try:
        for chunk_id in open_chunks:
            celery_app.send_task(PROCESS_CHUNK_TASK, args=(run_id, chunk_id))
    except Exception:  # no broker reachable: run it in this process rather than not at all
        log.warning("matching run %s: broker unavailable, processing inline", run_id, exc_info=True)
        for chunk_id in open_chunks:
            chunk_process(run_id=run_id, chunk_id=chunk_id, finalize=False)
        run_finalize(run_id=run_id)


def chunk_process(*, run_id: int, chunk_id: int, finalize: bool = True, worker: str = "") -> bool:
    """Write one chunk's results (see the module docstring). False when there was nothing to
    do: done already, taken by another worker right now, or the run is over."""
    try:
        with transaction.atomic():
            # no ORDER BY (the model's ordering joins the run, and FOR UPDATE would lock it too)
            chunk = (
                RunChunk.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(pk=chunk_id, run_id=run_id, done=False)
                .order_by()
                .first()
            )
            if chunk is None:
                return False
            run = MatchingRun.objects.get(pk=run_id)
            if run.state != RunState.RUNNING:
                return False
            versions = run_versions(run)
            chunk.rows, incomplete = _write_range(run, versions, chunk.lo, chunk.hi)
            _add_incomplete(run_id, incomplete)
            chunk.done = True
            chunk.worker = (worker or socket.gethostname())[:128]
            chunk.finished_at = timezone.now()
            chunk.save(update_fields=["done", "rows", "worker", "finished_at"])
            MatchingRun.objects.filter(pk=run_id).update(chunks_done=F("chunks_done") + 1)
    except Exception as exc:
        # a worker killed mid-chunk never gets here (its transaction just rolls back); an error
        # that repeats fails the run, which an administrator resumes once it is fixed
        RunChunk.objects.filter(pk=chunk_id, done=False).update(attempts=F("attempts") + 1)
        failed = RunChunk.objects.filter(pk=chunk_id, done=False, attempts__gte=MAX_CHUNK_ATTEMPTS).exists()
        message = f"分块 {chunk_id} 出错: {exc}"[:2000]
        MatchingRun.objects.filter(pk=run_id, state=RunState.RUNNING).update(
            message=message, **({"state": RunState.FAILED, "finished_at": timezone.now()} if failed else {})
        )
        raise
    if finalize and not RunChunk.objects.filter(run_id=run_id, done=False).exists():
        run_finalize(run_id=run_id)
    return True


def _only(run: MatchingRun) -> list[int] | None:
    """The provinces a run for one province confines its entities to (None: a run for all)."""
    return [int(run.province)] if run.province else None


def _write_range(run: MatchingRun, versions: Sequence[VersionSpec], lo: int, hi: int) -> tuple[int, dict[int, int]]:
    """Write the results of the entity ids [lo, hi) (of the run's province) into the run's
    table, which routes each row to its province's leaf; the rows written and, per product,
    the 信息不全 pairs found (not written)."""
    if not versions:
        return 0, {}
    if not _postgresql():
        rows = rows_for(
            _entities(lo=lo, hi=hi, provinces=_only(run)),
            versions,
            as_of=run.as_of,
            near_miss_months=near_miss_months(),
            with_incomplete=True,
        )
        _insert_rows(MatchResult._meta.db_table, rows, generation=run.generation, run_id=run.pk)
        counts = counts_of(rows)
        incomplete: dict[int, int] = {}
        for product_id, _county, _e, _es, i, _n, _rows in counts:
            incomplete[product_id] = incomplete.get(product_id, 0) + i
        return sum(row[6] for row in counts), incomplete
    planner = planner_for(versions, run.as_of)
    among = _entity_sql(_only(run))
    statement = planner.insert(
        schema.partition(run.generation),
        SQL(f"{ENTITY_TABLE}.id >= %s AND {ENTITY_TABLE}.id < %s AND {among.sql}", (lo, hi)),
        generation=run.generation,
        run_id=run.pk,
        counted=False,
    )
    with connection.cursor() as cursor:
        _ensure_maps(cursor, planner)
        cursor.execute("SET LOCAL jit = off")  # compiling this statement costs seconds, running it less
        cursor.execute(statement.sql, statement.params)
        tallies = cursor.fetchall()  # (product_id, rows written, incomplete pairs)
    return sum(rows for _, rows, _ in tallies), {product_id: n for product_id, _, n in tallies}


def _add_incomplete(run_id: int, incomplete: dict[int, int]) -> None:
    """Add a chunk's 信息不全 pairs to its run's products (in product order: two chunks
    committing at once lock the same rows in the same order)."""
    for product_id, n in sorted(incomplete.items()):
        if n:
            RunProduct.objects.filter(run_id=run_id, product_id=product_id).update(incomplete=F("incomplete") + n)


def _generation_counts(generation: int, table: str) -> list[tuple]:
    """Counts per product and county of a generation's rows (``COUNT_COLUMNS``)."""
    if not _postgresql():
        return _sqlite_counts(Q(generation=generation))
    with connection.cursor() as cursor:
        cursor.execute(count_select(table))
        return cursor.fetchall()


def _sqlite_counts(where: Q) -> list[tuple]:
    return counts_of(
        ResultRow(
            entity_id=0,
            product_id=r["product_id"],
            version_id=0,
            verdict=r["verdict"],
            max_amount=None,
            binding_cap=None,
            failed_mask=None,
            unknown_mask=None,
            county=r["county"],
            shared=r["shared"],
            near_miss=r["near_miss"],
        )
        for r in MatchResult.objects.filter(where).values("product_id", "verdict", "county", "shared", "near_miss")
    )


def run_finalize(*, run_id: int, resume: bool = False) -> bool:
    """Index, catch up and swap in a run whose chunks are all done (idempotent; one worker
    does it, others return False)."""
    open_chunks = RunChunk.objects.filter(run_id=OuterRef("pk"), done=False)
    claimed = (
        MatchingRun.objects.filter(pk=run_id, state=RunState.RUNNING)
        .exclude(Exists(open_chunks))
        .update(state=RunState.FINALIZING)
    )
    if not claimed and not (resume and MatchingRun.objects.filter(pk=run_id, state=RunState.FINALIZING).exists()):
        return False
    with _finalize_lock(run_id) as locked:
        if not locked:
            return False
        try:
            _finalize(MatchingRun.objects.get(pk=run_id))
        except Exception as exc:
            MatchingRun.objects.filter(pk=run_id).update(message=f"切换出错: {exc}"[:2000])
            raise
    _drop_old_generations()
    return True


@contextmanager
def _finalize_lock(run_id: int) -> Iterator[bool]:
    """True when this process may finalize the run (no other finalizer holds it). The lock is
    ``pg_try_advisory_xact_lock`` in a transaction of its own on a connection of its own,
    open until the block ends: transaction-level, so it works behind PgBouncer in transaction
    pooling mode, and a finalizer that dies drops its connection and the lock with it."""
    if not _postgresql():
        yield True
        return
    holder = connections.create_connection(DEFAULT_DB_ALIAS)
    try:
        with holder.cursor() as cursor:
            cursor.execute("BEGIN")
            cursor.execute(
                "SELECT pg_try_advisory_xact_lock(%s, %s)",
                [LOCK_NAMESPACE, _FINALIZE_KEY_OFFSET + run_id % _FINALIZE_KEY_OFFSET],
            )
            locked = bool(cursor.fetchone()[0])
        yield locked
    finally:
        try:
            if holder.connection is not None:
                with holder.cursor() as cursor:
                    cursor.execute("ROLLBACK")  # ends the transaction: the lock is released
        finally:
            holder.close()


def _finalize(run: MatchingRun) -> None:
    generation = run.generation
    table = schema.partition(generation) if _postgresql() else MatchResult._meta.db_table
    began = time.perf_counter()
    last_chunk = RunChunk.objects.filter(run=run).aggregate(last=Max("finished_at"))["last"]
    timings = {"chunks": round(((last_chunk or timezone.now()) - run.created_at).total_seconds(), 2)}
    counted: list[list[tuple]] = []
    needs_counts = not ResultCount.objects.filter(generation=generation).exists()

    def count():
        if needs_counts:
            counted.append(_generation_counts(generation, table))

    if _postgresql():
        # the index builds side by side in sessions of their own (and the counts beside them),
        # unless inside a transaction (tests)
        schema.index_partition(
            generation,
            run.provinces,
            memory=getattr(settings, "MATCHING_INDEX_MEMORY", "256MB"),
            parallel=not connection.in_atomic_block,
            also=count,
        )
    else:
        count()
    timings["index"] = round(time.perf_counter() - began, 2)
    began = time.perf_counter()
    with transaction.atomic():
        # the counts of what the chunks wrote (once: the catch-up below adjusts them)
        if counted and not ResultCount.objects.filter(generation=generation).exists():
            ResultCount.objects.bulk_create(
                [
                    ResultCount(
                        generation=generation,
                        product_id=p,
                        county=c,
                        eligible=e,
                        eligible_shared=es,
                        near_miss=n,
                    )
                    for p, c, e, es, _i, n, _ in counted[0]
                ],
                batch_size=2000,
            )
    # catch up outside the swap lock first (it may take a while), then the rest under it
    while _catch_up_dirty(run, table, limit=ENTITY_BATCH):
        pass
    _catch_up_catalogue(run, table)
    timings["catch_up"] = round(time.perf_counter() - began, 2)
    began = time.perf_counter()
    with transaction.atomic():
        previous, _ = _state_lock("UPDATE")
        while _catch_up_dirty(run, table, limit=ENTITY_BATCH):
            pass
        _catch_up_catalogue(run, table)
        if _postgresql():
            with connection.cursor() as cursor:
                # each leaf to its province's table (no scan: its CHECK constraint implies the
                # bounds), then the run's table goes, empty
                for province in run.provinces:
                    schema.attach_partition(cursor, province, generation)
                schema.drop_build(cursor, generation)
        now = timezone.now()
        for province in run.provinces:
            ProvinceGeneration.objects.update_or_create(
                province=province, defaults={"generation": generation, "run": run, "swapped_at": now}
            )
        MatchingState.objects.filter(pk=1).update(generation=generation, building=None, swapped_at=now)
        totals = ResultCount.objects.filter(generation=generation).aggregate(
            eligible=Sum("eligible"), near_miss=Sum("near_miss")
        )
        per_product = {
            row["product_id"]: row
            for row in ResultCount.objects.filter(generation=generation)
            .values("product_id")
            .annotate(
                eligible=Sum("eligible"),
                eligible_shared=Sum("eligible_shared"),
                near_miss=Sum("near_miss"),
            )
        }
        incomplete = 0  # the chunks counted them as they computed them (not stored: not in the counts)
        for run_product in RunProduct.objects.filter(run=run):
            row = per_product.get(run_product.product_id, {})
            for name in ("eligible", "eligible_shared", "near_miss"):
                setattr(run_product, name, row.get(name) or 0)
            run_product.save(update_fields=["eligible", "eligible_shared", "near_miss"])
            incomplete += run_product.incomplete
        eligible, near = (totals[k] or 0 for k in ("eligible", "near_miss"))
        timings["swap"] = round(time.perf_counter() - began, 2)
        MatchingRun.objects.filter(pk=run.pk).update(
            state=RunState.SUCCEEDED,
            finished_at=timezone.now(),
            eligible=eligible,
            incomplete=incomplete,
            near_miss=near,
            results=eligible + near,
            chunks_done=F("chunks_total"),
            message="",
            timings=timings,
        )
    log.info(
        "matching run %s swapped in (generation %s in provinces %s; last swapped before: %s)",
        run.pk,
        generation,
        run.provinces,
        previous,
    )


def _catch_up_dirty(run: MatchingRun, table: str, *, limit: int) -> bool:
    """Re-match (into the run's table) up to ``limit`` entities that changed while it was
    built; True when some were."""
    with transaction.atomic():
        ids = list(
            DirtyEntity.objects.filter(run=run).order_by("entity_id").values_list("entity_id", flat=True)[:limit]
        )
        if not ids:
            return False
        versions = run_versions(run)
        placed = {province: run.generation for province in run.provinces}
        old = _delete_entities(table, placed, ids)
        new = _write_entities(
            generation=run.generation,
            table=table,
            ids=ids,
            versions=versions,
            as_of=run.as_of,
            run_id=run.pk,
            provinces=run.provinces,
        )
        _apply_counts(run.generation, new, minus=old)
        DirtyEntity.objects.filter(run=run, entity_id__in=ids).delete()
    return True


def _catch_up_catalogue(run: MatchingRun, table: str) -> None:
    """Products published (or newly active, or retired) since the run's snapshot: re-match
    them into the run's table and record the version matched."""
    now = {v.product_id: v for v in active_versions()}
    then = {v.product_id: v.version_id for v in run_versions(run)}
    changed = [pid for pid in set(now) | set(then) if now.get(pid) is None or then.get(pid) != now[pid].version_id]
    for product_id in sorted(changed):
        with transaction.atomic():
            version = now.get(product_id)
            new = _rewrite_product(
                generation=run.generation,
                table=table,
                product_id=product_id,
                version=version,
                as_of=run.as_of,
                run_id=run.pk,
                provinces=run.provinces,
            )
            if version is None:
                RunProduct.objects.filter(run=run, product_id=product_id).delete()
            else:
                RunProduct.objects.update_or_create(
                    run=run,
                    product_id=product_id,
                    defaults={"version_id": version.version_id, "incomplete": sum(row[4] for row in new)},
                )


def _drop_old_generations() -> None:
    """Drop the leaves (and counts) of generations no longer in force in their province, other
    than those of the run being built; and tables of runs left behind. Only generations older
    than the newest one kept: a run that starts meanwhile has a newer one."""
    state = MatchingState.objects.filter(pk=1).first()
    keep = set(pointers().items())
    if state is None or not keep:
        return
    building = None
    if state.building_id:
        building = MatchingRun.objects.filter(pk=state.building_id).values_list("generation", "provinces").first()
    if building is not None:
        keep |= {(province, building[0]) for province in building[1]}
    newest = max(generation for _, generation in keep)
    kept_q = _result_q({})
    for province, generation in keep:
        lo, hi = schema.province_range(province)
        kept_q |= Q(generation=generation, county__gte=lo, county__lt=hi)
    ResultCount.objects.filter(generation__lt=newest).exclude(kept_q).delete()
    if _postgresql():
        with connection.cursor() as cursor:
            for province, generation in schema.leaves(cursor):
                if (province, generation) not in keep and generation < newest:
                    schema.drop_partition(cursor, province, generation)
            for generation in schema.builds(cursor):
                if generation < newest and (building is None or generation != building[0]):
                    schema.drop_build(cursor, generation)
    else:
        MatchResult.objects.filter(generation__lt=newest).exclude(kept_q).delete()


def run_resume(*, run_id: int, actor=None) -> MatchingRun:
    """Continue a full run that stopped (workers killed, broker lost, a failed chunk fixed):
    re-enqueue its open chunks, or finish it. Chunks already written are not written again."""
    run = MatchingRun.objects.get(pk=run_id, kind=RunKind.FULL)
    if run.state == RunState.FAILED:
        if MatchingState.objects.filter(pk=1, building_id=run.pk).exists():
            RunChunk.objects.filter(run=run, done=False).update(attempts=0)
            MatchingRun.objects.filter(pk=run.pk).update(state=RunState.RUNNING, finished_at=None, message="")
        else:
            raise ApplicationError("该运行已被新的全量匹配取代, 无法继续", code="conflict")
    elif run.state not in (RunState.RUNNING, RunState.FINALIZING):
        raise ApplicationError("该运行已结束", code="conflict")
    audit_record(actor=actor, action="matching.run_resume", obj=run)
    run.refresh_from_db()
    if run.state == RunState.FINALIZING:
        _enqueue_finalize(run.pk)
    else:
        dispatch_chunks(run.pk)
    return run


def _enqueue_finalize(run_id: int) -> None:
    try:
        celery_app.send_task(FINALIZE_TASK, args=(run_id,))
    except Exception:
        run_finalize(run_id=run_id, resume=True)


# --- incremental runs ------------------------------------------------------------------------


def entities_rematch(*, ids: Iterable[int], trigger: str = RunTrigger.ENTITY_CHANGE, as_of=None) -> MatchingRun | None:
    """Re-match these entities, each in the generation in force in its province (and mark
    them for a run being built). None when there are no results yet."""
    ids = sorted({int(i) for i in ids})
    if not ids:
        return None
    as_of = as_of or timezone.localdate()
    with transaction.atomic():
        latest, building_id = _state_lock("SHARE")
        placed = pointers()
        if not placed and building_id is None:
            return None
        run = MatchingRun.objects.create(
            kind=RunKind.ENTITIES,
            trigger=trigger,
            as_of=as_of,
            generation=latest if placed else None,
            entities=len(ids),
        )
        new: list[tuple] = []
        if placed:
            if _postgresql():
                # the whole generation shared (a product re-match takes it exclusively), then
                # these ids' stripes exclusively: no two writers rewrite the same rows at once
                with connection.cursor() as cursor:
                    cursor.execute(
                        "SELECT pg_advisory_xact_lock_shared(%s, %s), "
                        "(SELECT count(pg_advisory_xact_lock(%s, k)) FROM unnest(%s::int[]) AS k)",
                        [LOCK_NAMESPACE, _WHOLE_GENERATION, LOCK_NAMESPACE, sorted({i >> _STRIPE_BITS for i in ids})],
                    )
            versions = active_versions()
            # their rows go wherever they are in force (an entity may have moved to another
            # province), then each entity's rows are written in its province's generation
            old = _delete_entities(_table(), placed, ids)
            by_generation: dict[int, list[int]] = {}
            for province, found in _entities_by_province(ids).items():
                if province in placed:  # a province without results yet gets them from its first full run
                    by_generation.setdefault(placed[province], []).extend(found)
            for generation, group in sorted(by_generation.items()):
                new.extend(
                    _write_entities(
                        generation=generation,
                        table=_table(),
                        ids=sorted(group),
                        versions=versions,
                        as_of=as_of,
                        run_id=run.pk,
                        provinces=sorted(p for p, g in placed.items() if g == generation),
                    )
                )
            _apply_counts(placed, new, minus=old)
        if building_id is not None:
            DirtyEntity.objects.bulk_create(
                [DirtyEntity(run_id=building_id, entity_id=i) for i in ids], ignore_conflicts=True
            )
        # the last write: finished_at is stamped after every row, count and mark above
        _finish_incremental(run, *(sum(row[i] for row in new) for i in (2, 4, 5)))
    return run


def product_rematch(*, product_id: int, trigger: str = RunTrigger.PRODUCT_PUBLISH, as_of=None) -> MatchingRun | None:
    """Re-match one product (its current version, or none if it is no longer active) over
    every entity, in the generation in force in each province. A run being built catches up
    at its swap."""
    as_of = as_of or timezone.localdate()
    with transaction.atomic():
        latest, _ = _state_lock("SHARE")
        placed = pointers()
        if not placed:
            return None
        _advisory(_WHOLE_GENERATION)
        version = next((v for v in active_versions() if v.product_id == product_id), None)
        run = MatchingRun.objects.create(
            kind=RunKind.PRODUCT,
            trigger=trigger,
            as_of=as_of,
            generation=latest,
            product_id=product_id,
            entities=MarketEntity.objects.count(),
        )
        provinces_of: dict[int, list[int]] = {}
        for province, generation in placed.items():
            provinces_of.setdefault(generation, []).append(province)
        new: list[tuple] = []
        for generation, provinces in sorted(provinces_of.items()):
            new.extend(
                _rewrite_product(
                    generation=generation,
                    table=_table(),
                    product_id=product_id,
                    version=version,
                    as_of=as_of,
                    run_id=run.pk,
                    provinces=sorted(provinces),
                )
            )
        eligible, incomplete, near = (sum(row[i] for row in new) for i in (2, 4, 5))
        _finish_incremental(run, eligible, incomplete, near)
    return run


def _finish_incremental(run: MatchingRun, eligible: int, incomplete: int, near: int) -> None:
    run.state, run.finished_at = RunState.SUCCEEDED, timezone.now()
    run.eligible, run.incomplete, run.near_miss, run.results = eligible, incomplete, near, eligible + near
    run.save(update_fields=["state", "finished_at", "eligible", "incomplete", "near_miss", "results"])


def _table() -> str:
    """Where results in force are written: the parent (PostgreSQL routes each row to its
    province's leaf of the row's generation), or the plain table."""
    return schema.PARENT if _postgresql() else MatchResult._meta.db_table


# --- the sweep (beat) ------------------------------------------------------------------------


def sweep(*, stalled_seconds: int = 180) -> dict:
    """Periodic: resume stalled full runs, drop leftover generations, and start a full run
    when the results were lost (an unlogged table emptied by a database crash)."""
    report = {"resumed": 0, "started": None}
    cutoff = timezone.now() - dt.timedelta(seconds=stalled_seconds)
    for run in MatchingRun.objects.filter(kind=RunKind.FULL, state__in=[RunState.RUNNING, RunState.FINALIZING]):
        last = RunChunk.objects.filter(run=run, done=True).aggregate(last=Max("finished_at"))["last"] or run.created_at
        if last < cutoff:
            try:
                run_resume(run_id=run.pk)
                report["resumed"] += 1
            except ApplicationError:
                pass
    state = MatchingState.objects.filter(pk=1).first()
    if state is not None and state.building_id is None:
        _drop_old_generations()
        if _results_lost():
            try:
                report["started"] = run_start(trigger=RunTrigger.SYSTEM).pk
            except ApplicationError:
                pass
    return report


def _results_lost() -> bool:
    """Results that were there are not: no province has any after a full run succeeded (the
    layout migration dropped them), or a leaf in force that had rows is gone or empty (a
    crash empties unlogged tables)."""
    placed = pointers()
    if not placed:
        return MatchingRun.objects.filter(kind=RunKind.FULL, state=RunState.SUCCEEDED).exists()
    if not _postgresql():
        return False
    with connection.cursor() as cursor:
        for province, generation in sorted(placed.items()):
            lo, hi = schema.province_range(province)
            had = ResultCount.objects.filter(generation=generation, county__gte=lo, county__lt=hi).aggregate(
                n=Sum("eligible") + Sum("near_miss")
            )["n"]
            if not had:
                continue
            if not schema.partition_exists(cursor, province, generation):
                return True
            cursor.execute(f"SELECT NOT EXISTS (SELECT 1 FROM {schema.leaf(province, generation)})")
            if cursor.fetchone()[0]:
                return True
    return False


def nightly_run() -> int | None:
    """Beat: the nightly full run (skipped while one is being built)."""
    try:
        return run_start(trigger=RunTrigger.SCHEDULE).pk
    except ApplicationError:
        return None
