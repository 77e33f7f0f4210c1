"""Benchmark: batch eligibility matching over ``--entities`` entities (default 1,000,000).

Run by `make bench-matching ENTITIES=N` (scripts/bench.sh: throwaway PostgreSQL and Redis,
migrated, static files collected, and a real Celery worker on the bench database —
NEEDS_WORKER below). Not timed: generating the synthetic entities (COPY) and loading the
seed catalogue. Every figure is timed on this process's monotonic clock, from the call that
starts the work until this process, polling the database from its own connection, sees the
result committed (the run done and its rows visible) — never from the runs' own timestamps:

* ``full_run_s``: a full run started as the admin page starts it (``run_start``), its chunks
  taken by the worker(s) through Redis, indexed and swapped in, until this process sees the
  new generation in force; ``phases_reported_by_the_run``: the run's own split (chunks /
  index / catch-up / swap), for orientation only;
* ``incremental_one_p50_ms`` / ``_p95_ms``: an entity edited through ``entity_update`` (the
  edit's commit included), until its re-match by the worker is seen committed;
* ``incremental_10k_contiguous_s`` / ``_random_s``: 10,000 changed entities (ids in one
  range, as an import creates them; ids scattered), from ``entities_changed`` until seen;
* ``product_publish_s``: a product version published until its rows are seen rewritten;
* ``lead_page_p50_ms`` / ``_p95_ms``: the 潜在客户 page (full Django stack in process:
  middleware, restriction, counts, query, template) of a city branch, first page of 50 for
  one product and one county, over its products × counties; ``lead_query_p95_ms``: the
  selector alone; ``lead_count_p95_ms``: the page's counts (per product, per county);
  ``lead_page_all_counties_p95_ms``: the same page without a county (counties merged);
* ``near_miss_page_p50_ms`` / ``_p95_ms``: the 差一点符合 page of the province regulator (50
  entities with what each is missing, evaluated live), per county and for the province.
* memory (MiB), sampled from /proc every 0.2 s from the full run's start to the end
  (``benchlib.PeakMemory``): the Celery worker — its main process found by the pidfile
  bench.sh writes (PORTAL_WORKER_PIDFILE) and its pool processes — as
  ``worker_peak_max_hwm_mib`` (the largest VmHWM of one process) and
  ``worker_peak_sum_hwm_mib`` (the largest sum of VmHWM of its processes alive together: an
  upper bound, pages shared copy-on-write after the fork counted in each; the figure held to
  the 2 GiB target); PostgreSQL — the server of the connection and its backends — as
  ``postgres_peak_max_hwm_mib``, ``postgres_peak_sum_hwm_mib`` and
  ``postgres_peak_private_plus_shared_buffers_mib``. Each backend's resident set counts the
  pages of shared memory (shared_buffers) it touched, so the sum of VmHWM counts shared_buffers
  once per process and overstates the server; its footprint is about the configured
  shared_buffers plus the processes' private memory (the peak sum of RssAnon), the third
  figure. A backend that exits between two samples keeps its last sample;
* disk (MiB), after the full run: ``disk_database_mib`` (``pg_database_size``),
  ``disk_results_mib`` (batch matching's tables, the results with every partition of every
  level: ``pg_total_relation_size`` over ``pg_partition_tree``), ``disk_entities_mib``.

Floors, measured in the same run on the same database: the full run, the 10,000-entity
re-matches and the publication against one plain ``INSERT … SELECT`` of the same compiled
rules (the same entities, the same versions) into an unindexed table, in one session; the
pages against their list query (the page's own SQL) run bare through a cursor. Each figure
is printed with its ratio to its floor and the load average (benchlib); last, one JSON line.
"""

import argparse
import datetime as dt
import gc
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

NEEDS_WORKER = True

import benchlib  # noqa: E402
import django  # noqa: E402

django.setup()

from benchlib import CollectorPauses, Figures, bare_seconds, captured, log, main_query, p50, p95, wait_for  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402

from batch_matching import selectors, services  # noqa: E402
from batch_matching.compile import SQL  # noqa: E402
from batch_matching.models import MatchingRun, MatchingState, MatchResult, RunKind, RunState  # noqa: E402
from batch_matching.plan import ENTITY_TABLE  # noqa: E402
from entities.models import MarketEntity  # noqa: E402
from entities.services import entities_changed, entity_update  # noqa: E402
from entities.synthetic import Generator, insert_entities  # noqa: E402
from portal.models import Membership, Organisation, OrganisationKind, Role  # noqa: E402
from products.models import BankBranch, BranchLevel, LoanProduct  # noqa: E402
from products.services import catalog_load, product_edit, product_publish  # noqa: E402

FLOOR_TABLE = "bench_floor_result"
FULL_RUN_TARGETS = {1_000_000: 15, 4_000_000: 90}  # seconds, issue #18 (a county's million, a province's four)


def ensure_entities(count: int) -> int:
    have = MarketEntity.objects.count()
    if have < count:
        began = time.perf_counter()
        inserted = insert_entities(Generator(seed=1).entities(count - have, have), chunk=100_000)
        log(f"generated {inserted} entities in {time.perf_counter() - began:.0f} s")
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE entities_marketentity")
            cursor.execute("ANALYZE entities_honor")
    return MarketEntity.objects.count()


def ensure_user(username: str, organisation: Organisation, role: str):
    user, _ = get_user_model().objects.get_or_create(username=username)
    Membership.objects.get_or_create(user=user, organisation=organisation, role=role)
    return user


def last_run_id() -> int:
    return MatchingRun.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def observed(kind: str, since_id: int, visible, *, timeout: float, **filters) -> MatchingRun:
    """Poll from this process's connection until a run of ``kind`` after ``since_id`` is
    done and ``visible(run)`` sees its rows; that run. A failed run stops the benchmark."""

    def find():
        run = (
            MatchingRun.objects.filter(kind=kind, pk__gt=since_id, **filters)
            .exclude(state=RunState.RUNNING)
            .order_by("pk")
            .first()
        )
        if run is not None and run.state not in (RunState.SUCCEEDED, RunState.FINALIZING):
            raise AssertionError(f"{run}: {run.state} {run.message}")
        return run if run is not None and run.state == RunState.SUCCEEDED and visible(run) else None

    return wait_for(find, timeout=timeout)


def rows_rewritten_by(run: MatchingRun, **filters) -> bool:
    """The rows of these entities (or this product's first lead) in the run's generation are
    the run's (true when there are none)."""
    return all(
        r == run.pk
        for r in MatchResult.objects.filter(generation=run.generation, **filters).values_list("run_id", flat=True)[:200]
    )


def full_run(timeout: float) -> tuple[float, MatchingRun]:
    began = time.perf_counter()
    run = services.run_start(trigger="manual")  # dispatched to the worker on commit
    log(f"full run #{run.pk}: {run.entities} entities, {run.chunks_total} chunks")

    def swapped():
        done = MatchingRun.objects.filter(pk=run.pk).exclude(state__in=[RunState.RUNNING, RunState.FINALIZING]).first()
        if done is not None and done.state != RunState.SUCCEEDED:
            raise AssertionError(f"full run {done.state}: {done.message}")
        return (
            done
            if done is not None and MatchingState.objects.filter(pk=1, generation=done.generation).exists()
            else None
        )

    done = wait_for(swapped, timeout=timeout)
    return time.perf_counter() - began, done


def insert_select_floor(versions, as_of, where: SQL) -> float:
    """The floor of a re-match: one plain INSERT … SELECT of the same compiled rules over the
    same entities into an unindexed table, planning included, committed; seconds."""
    statement = services.planner_for(versions, as_of).insert(FLOOR_TABLE, where, generation=0, run_id=0, counted=False)
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE UNLOGGED TABLE {FLOOR_TABLE} (LIKE {MatchResult._meta.db_table})")
    try:
        began = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL jit = off")  # as the runs do
            cursor.execute(statement.sql, statement.params)
            rows = sum(written for _, written, _ in cursor.fetchall())  # per product: written, incomplete
        seconds = time.perf_counter() - began
        log(f"floor: INSERT … SELECT of {rows} rows in {seconds:.2f} s")
        return seconds
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE {FLOOR_TABLE}")


def incremental_one(actor, samples: int) -> list[float]:
    rng = random.Random(3)
    ids = list(
        MarketEntity.objects.filter(region__code__startswith="14").order_by("?").values_list("pk", flat=True)[:samples]
    )
    latencies = []
    for entity_id in ids:
        entity = MarketEntity.objects.get(pk=entity_id)
        since = last_run_id()
        founded = (entity.established_on or dt.date(2015, 1, 1)) - dt.timedelta(days=rng.randint(40, 400))
        began = time.perf_counter()
        entity_update(actor=actor, entity=entity, data={"established_on": founded})  # commits, then the hook enqueues
        observed(RunKind.ENTITIES, since, lambda run: rows_rewritten_by(run, entity_id=entity_id), timeout=30)
        latencies.append((time.perf_counter() - began) * 1000)
    return latencies


def incremental_many(ids: list[int]) -> float:
    since = last_run_id()
    began = time.perf_counter()
    entities_changed(ids)  # outside a transaction: the hooks run now (a 10,000-row import's commit)
    observed(
        RunKind.ENTITIES,
        since,
        lambda run: rows_rewritten_by(run, entity_id__in=[ids[0], ids[-1]]),
        timeout=120,
        entities=len(ids),
    )
    return time.perf_counter() - began


def product_publish_seconds(code: str) -> tuple[float, LoanProduct]:
    product = LoanProduct.objects.select_related("current_version").get(code=code)
    definition = dict(product.current_version.definition)
    caps = list(definition.get("caps", []))
    caps.append(
        {"kind": "product_cap", "amount": 900_000, "id": "bench_cap"}
        if not any(c.get("id") == "bench_cap" for c in caps)
        else {"kind": "product_cap", "amount": 800_000, "id": "bench_cap2"}
    )
    definition["caps"] = caps
    product_edit(actor=None, product=product, definition=definition, effective_from=dt.date.today())
    since = last_run_id()
    began = time.perf_counter()
    product_publish(actor=None, product=product)

    def first_lead_rewritten(run):
        return rows_rewritten_by(run, product_id=product.pk, verdict=2, shared=True)

    observed(RunKind.PRODUCT, since, first_lead_rewritten, timeout=600, product_id=product.pk)
    return time.perf_counter() - began, product


def lead_figures(user, rounds: int, figures: Figures) -> None:
    client = Client()
    client.force_login(user)
    scope = selectors.lead_scope(user=user)
    counties = [c.code for c in scope.counties]
    combos = [(p.pk, c) for p in scope.products for c in counties]
    page_ms, bare_ms, query_ms, count_ms, all_ms = [], [], [], [], []
    for round_number in range(rounds + 1):  # round 0 warms caches
        for product_id, county in combos:
            url = f"/matching-batch/potential-customers/?product={product_id}&county={county}"
            began = time.perf_counter()
            response, statements = captured(lambda: client.get(url, secure=True), connection)
            elapsed = (time.perf_counter() - began) * 1000
            assert response.status_code == 200
            sql = main_query(statements, MatchResult._meta.db_table)
            if (product_id, county) == combos[0] and not round_number:
                log(f"lead page: {len(statements)} statements; its list query (the floor): {sql}")
            bare = bare_seconds(sql, connection) * 1000
            began = time.perf_counter()
            page = selectors.potential_customers(user=user, scope=scope, product_id=product_id, county=county)
            query = (time.perf_counter() - began) * 1000
            began = time.perf_counter()
            selectors.potential_counts(user=user, scope=scope, product_id=product_id)
            counted = (time.perf_counter() - began) * 1000
            if round_number:
                page_ms.append(elapsed)
                bare_ms.append(bare)
                query_ms.append(query)
                count_ms.append(counted)
            assert len(page.rows) <= 50
        for product in scope.products:
            began = time.perf_counter()
            response = client.get(f"/matching-batch/potential-customers/?product={product.pk}", secure=True)
            assert response.status_code == 200
            if round_number:
                all_ms.append((time.perf_counter() - began) * 1000)
    figures.note(
        lead_branch=scope.branch.name,
        lead_counties=len(counties),
        lead_products=len(scope.products),
        lead_requests=len(page_ms),
    )
    floor_is = "the page's list query run bare through a cursor"
    figures.add("lead_page_p50_ms", p50(page_ms), "ms", floor=p50(bare_ms), floor_is=floor_is)
    figures.add("lead_page_p95_ms", p95(page_ms), "ms", floor=p95(bare_ms), floor_is=floor_is, target=30)
    figures.add("lead_query_p95_ms", p95(query_ms), "ms", floor=p95(bare_ms), floor_is=floor_is)
    figures.add("lead_count_p95_ms", p95(count_ms), "ms", target=20)
    figures.add("lead_page_all_counties_p95_ms", p95(all_ms), "ms")


def near_miss_figures(user, rounds: int, figures: Figures) -> None:
    """The 差一点符合 page of a regulator, per county and for the whole region: first page."""
    client = Client()
    client.force_login(user)
    counties = [c.code for c in selectors.near_miss_counties(user=user)][:12]
    page_ms, bare_ms, requests = [], [], []
    log(f"near-miss pages: this process tracks {len(gc.get_objects()):,} objects (the collector's full pass)")
    pauses = CollectorPauses()
    for round_number in range(rounds + 1):
        for county in counties + [""]:
            url = f"/matching-batch/near-misses/?county={county}"
            began = time.perf_counter()
            with pauses:
                response, statements = captured(lambda: client.get(url, secure=True), connection)
            elapsed = (time.perf_counter() - began) * 1000
            collected = pauses.take()
            assert response.status_code == 200 and b'data-testid="near-miss-row"' in response.content
            sql = main_query(statements, MatchResult._meta.db_table)
            if county == "" and not round_number:
                log(f"near-miss page: {len(statements)} statements; its list query (the floor): {sql}")
            bare = bare_seconds(sql, connection) * 1000
            if round_number:
                page_ms.append(elapsed)
                bare_ms.append(bare)
                gc_ms = round(sum(ms for _, ms in collected), 1)
                full = sum(1 for generation, _ in collected if generation == 2)
                requests.append(
                    (round(elapsed, 1), round_number, county or "全部", len(statements), round(bare, 1), gc_ms, full)
                )
    # the tail, request by request: which page, which round (a cold first read shows in round 1),
    # and the garbage collector's share (a full collection walks every object of the process)
    slowest = sorted(requests, reverse=True)[:5]
    log(
        "near-miss page, slowest requests (ms, round, county, statements, list query ms, "
        f"collector ms, full collections): {slowest!r}"
    )
    floor_is = "the page's list query run bare through a cursor"
    figures.note(near_miss_requests=len(page_ms), near_miss_slowest=slowest)
    figures.add("near_miss_page_p50_ms", p50(page_ms), "ms", floor=p50(bare_ms), floor_is=floor_is)
    figures.add("near_miss_page_p95_ms", p95(page_ms), "ms", floor=p95(bare_ms), floor_is=floor_is, target=100)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--entities", type=int, default=1_000_000)
    parser.add_argument("--samples", type=int, default=40, help="single-entity edits timed")
    parser.add_argument("--rounds", type=int, default=3, help="rounds over the lead pages")
    args = parser.parse_args()
    assert connection.vendor == "postgresql", "the matching benchmark runs on PostgreSQL"
    settings.ALLOWED_HOSTS = ["*"]

    total = ensure_entities(args.entities)
    catalog_load()
    products = services.active_versions()
    province = Organisation.objects.get_or_create(
        code="bench-province",
        defaults={"name": "bench-province", "kind": OrganisationKind.PROVINCE_MECHANISM, "region_id": "140000"},
    )[0]
    regulator = ensure_user("bench-regulator", province, Role.PROVINCE_REGULATOR)
    branch = BankBranch.objects.get(bank__code="boc", level=BranchLevel.CITY, region_id="140500")
    banker = ensure_user("bench-banker", branch.organisation, Role.BANK_ADMIN)
    figures = Figures("matching", entities=total, products=len(products))
    # the worker's and PostgreSQL's memory, sampled from here until the figures are emitted
    memory = benchlib.PeakMemory(benchlib.bench_processes(connection)).start()

    log("full run ...")
    seconds, run = full_run(timeout=1800)
    figures.note(
        results=MatchResult.objects.filter(generation=run.generation).count(),
        eligible=run.eligible,
        incomplete=run.incomplete,
        near_miss=run.near_miss,
        chunks=run.chunks_total,
        workers=sorted(set(run.chunks.values_list("worker", flat=True))),
        phases_reported_by_the_run=run.timings,
    )
    floor = insert_select_floor(services.run_versions(run), run.as_of, SQL("TRUE"))
    figures.add(
        "full_run_s",
        seconds,
        "s",
        floor=floor,
        digits=2,
        target=FULL_RUN_TARGETS.get(total),
        floor_is="one INSERT … SELECT of the compiled rules over every entity into an unindexed table",
    )
    # disk after the full run: the database, batch matching's tables (the results with every partition), the entities
    benchlib.add_disk_figures(figures, connection, {"results": "matching_batch_%", "entities": ENTITY_TABLE})

    log("incremental: single entities ...")
    singles = incremental_one(regulator, args.samples)
    figures.add("incremental_one_p50_ms", p50(singles), "ms")
    figures.add("incremental_one_p95_ms", p95(singles), "ms", target=50)

    all_ids = list(MarketEntity.objects.order_by("pk").values_list("pk", flat=True))
    contiguous = all_ids[len(all_ids) // 2 : len(all_ids) // 2 + 10_000]
    scattered = sorted(random.Random(9).sample(all_ids, min(10_000, len(all_ids))))
    log("incremental: 10,000 entities ...")
    versions = services.active_versions()
    floor_is = "one INSERT … SELECT of the compiled rules over the same entities into an unindexed table"
    for name, ids in (("contiguous", contiguous), ("random", scattered)):
        seconds = incremental_many(ids)
        floor = insert_select_floor(versions, run.as_of, SQL(f"{ENTITY_TABLE}.id = ANY(%s)", (ids,)))
        figures.add(
            f"incremental_10k_{name}_s",
            seconds,
            "s",
            floor=floor,
            floor_is=floor_is,
            digits=2,
            target=2,
            entities=len(ids),
        )

    log("product publication ...")
    seconds, product = product_publish_seconds("shang-e-dai")
    version = [v for v in services.active_versions() if v.product_id == product.pk]
    floor = insert_select_floor(version, run.as_of, SQL("TRUE"))
    figures.add(
        "product_publish_s",
        seconds,
        "s",
        floor=floor,
        digits=2,
        floor_is="one INSERT … SELECT of the new version's compiled rules over every entity into an unindexed table",
    )

    log("lead pages ...")
    # the pages are timed as a web worker serves them (deploy/gunicorn.conf.py): what this
    # process holds so far (the generation's, the run's) frozen out of the garbage collector, which
    # would otherwise walk it all again in a full collection during some request (~200 ms at
    # 1,000,000 entities, measured); the collector's pauses during each near-miss page are logged
    gc.collect()
    gc.freeze()
    lead_figures(banker, args.rounds, figures)
    log("near-miss pages ...")
    near_miss_figures(regulator, args.rounds, figures)
    memory.stop()
    benchlib.add_memory_figures(figures, memory, connection, worker_target_mib=2048)
    figures.emit()


if __name__ == "__main__":
    main()
