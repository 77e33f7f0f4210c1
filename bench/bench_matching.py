"""Benchmark: batch eligibility matching over ``--entities`` entities (default 1,000,000).

Run by `make bench-matching ENTITIES=N` (scripts/bench.sh: throwaway PostgreSQL and Redis,
migrated, and a real Celery worker on the bench database — NEEDS_WORKER below). Not timed:
generating the synthetic entities (COPY) and loading the seed catalogue. Timed, through the
real paths:

* ``seconds``: a full run started as the admin page starts it, its chunks taken by the
  worker(s) through Redis, indexed and swapped in (the run's own start→finish timestamps);
  ``phases``: chunks / index build / catch-up / swap;
* ``incremental_one_p50_ms`` / ``_p95_ms``: an entity edited through ``entity_update``;
  from its commit until the worker's re-match of that entity has committed;
* ``incremental_10k_contiguous_s`` / ``_random_s``: 10,000 changed entities (ids in one
  range, as an import creates them; ids scattered), commit → committed;
* ``product_publish_s``: a product version published → its rows rewritten;
* ``lead_page_p95_ms``: the 潜在客户 page (full Django stack in process: middleware,
  restriction, counts, query, template) of a city branch, first page of 50 for one product
  and one county, over its products × counties; ``lead_query_p95_ms``: the list query alone;
  ``lead_count_p95_ms``: the counts of that page (per product, per county);
  ``lead_page_all_counties_p95_ms``: the same page without a county (counties merged);
* ``near_miss_page_p95_ms``: the 差一点符合 page of the province regulator (50 entities with
  what each is missing, evaluated live), per county and for the whole province.

Prints, last, one JSON line of figures.
"""
import argparse
import datetime as dt
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

NEEDS_WORKER = True

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

from entities.models import MarketEntity  # noqa: E402
from entities.services import entities_changed, entity_update  # noqa: E402
from entities.synthetic import Generator, insert_entities  # noqa: E402
from batch_matching import selectors, services  # noqa: E402
from batch_matching.models import MatchingRun, MatchResult, RunKind, RunState  # noqa: E402
from portal.models import Membership, Organisation, OrganisationKind, Role  # noqa: E402
from products.models import BankBranch, BranchLevel, LoanProduct  # noqa: E402
from products.services import catalog_load, product_edit, product_publish  # noqa: E402


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def p95(values):
    return statistics.quantiles(values, n=20)[18] if len(values) >= 20 else max(values)


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


def wait_run(predicate, timeout: float) -> MatchingRun:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = predicate()
        if run is not None:
            return run
        time.sleep(0.002)
    raise AssertionError("timed out waiting for a matching run")


def finished_after(kind: str, since_id: int, **filters):
    def find():
        return (MatchingRun.objects.filter(kind=kind, pk__gt=since_id, state=RunState.SUCCEEDED, **filters)
                .order_by("pk").first())
    return find


def last_run_id() -> int:
    return MatchingRun.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def full_run(timeout: float) -> MatchingRun:
    run = services.run_start(trigger="manual")  # dispatched to the worker on commit
    log(f"full run #{run.pk}: {run.entities} entities, {run.chunks_total} chunks")
    run = wait_run(lambda: MatchingRun.objects.filter(pk=run.pk, state__in=[RunState.SUCCEEDED, RunState.FAILED]).first(),
                   timeout)
    assert run.state == RunState.SUCCEEDED, run.message
    return run


def incremental_one(actor, samples: int) -> list[float]:
    rng = random.Random(3)
    ids = list(MarketEntity.objects.filter(region__code__startswith="14").order_by("?").values_list("pk", flat=True)[:samples])
    latencies = []
    for entity_id in ids:
        entity = MarketEntity.objects.get(pk=entity_id)
        since = last_run_id()
        founded = (entity.established_on or dt.date(2015, 1, 1)) - dt.timedelta(days=rng.randint(40, 400))
        entity_update(actor=actor, entity=entity, data={"established_on": founded})  # commits, then the hook enqueues
        committed = time.time()
        run = wait_run(finished_after(RunKind.ENTITIES, since), 30)
        latencies.append((run.finished_at.timestamp() - committed) * 1000)
    return latencies


def incremental_many(ids: list[int]) -> float:
    since = last_run_id()
    began = time.time()
    entities_changed(ids)  # outside a transaction: the hooks run now (a 10,000-row import's commit)
    run = wait_run(finished_after(RunKind.ENTITIES, since, entities=len(ids)), 120)
    return run.finished_at.timestamp() - began


def product_publish_seconds(code: str) -> float:
    product = LoanProduct.objects.select_related("current_version").get(code=code)
    definition = dict(product.current_version.definition)
    caps = list(definition.get("caps", []))
    caps.append({"kind": "product_cap", "amount": 900_000, "id": "bench_cap"} if not any(c.get("id") == "bench_cap" for c in caps)
                else {"kind": "product_cap", "amount": 800_000, "id": "bench_cap2"})
    definition["caps"] = caps
    product_edit(actor=None, product=product, definition=definition, effective_from=dt.date.today())
    since = last_run_id()
    began = time.time()
    product_publish(actor=None, product=product)
    run = wait_run(finished_after(RunKind.PRODUCT, since, product_id=product.pk), 300)
    return run.finished_at.timestamp() - began


def lead_figures(user, rounds: int) -> dict:
    client = Client()
    client.force_login(user)
    scope = selectors.lead_scope(user=user)
    counties = [c.code for c in scope.counties]
    combos = [(p.pk, c) for p in scope.products for c in counties]
    page_ms, query_ms, count_ms, all_ms = [], [], [], []
    for round_number in range(rounds + 1):  # round 0 warms caches
        for product_id, county in combos:
            began = time.perf_counter()
            response = client.get(f"/matching-batch/potential-customers/?product={product_id}&county={county}", secure=True)
            elapsed = (time.perf_counter() - began) * 1000
            assert response.status_code == 200
            began = time.perf_counter()
            page = selectors.potential_customers(user=user, scope=scope, product_id=product_id, county=county)
            query = (time.perf_counter() - began) * 1000
            began = time.perf_counter()
            selectors.potential_counts(user=user, scope=scope, product_id=product_id)
            counted = (time.perf_counter() - began) * 1000
            if round_number:
                page_ms.append(elapsed)
                query_ms.append(query)
                count_ms.append(counted)
            assert len(page.rows) <= 50
        for product in scope.products:
            began = time.perf_counter()
            response = client.get(f"/matching-batch/potential-customers/?product={product.pk}", secure=True)
            if round_number:
                all_ms.append((time.perf_counter() - began) * 1000)
    return {
        "lead_branch": scope.branch.name, "lead_counties": len(counties), "lead_products": len(scope.products),
        "lead_requests": len(page_ms),
        "lead_page_p50_ms": round(statistics.median(page_ms), 1), "lead_page_p95_ms": round(p95(page_ms), 1),
        "lead_query_p95_ms": round(p95(query_ms), 1), "lead_count_p95_ms": round(p95(count_ms), 1),
        "lead_page_all_counties_p95_ms": round(p95(all_ms), 1),
    }


def near_miss_figures(user, rounds: int) -> dict:
    """The 差一点符合 page of a regulator, per county and for the whole region: first page."""
    client = Client()
    client.force_login(user)
    counties = [c.code for c in selectors.near_miss_counties(user=user)][:12]
    page_ms = []
    for round_number in range(rounds + 1):
        for county in counties + [""]:
            began = time.perf_counter()
            response = client.get(f"/matching-batch/near-misses/?county={county}", secure=True)
            elapsed = (time.perf_counter() - began) * 1000
            assert response.status_code == 200 and b'data-testid="near-miss-row"' in response.content
            if round_number:
                page_ms.append(elapsed)
    return {"near_miss_page_p50_ms": round(statistics.median(page_ms), 1),
            "near_miss_page_p95_ms": round(p95(page_ms), 1), "near_miss_requests": len(page_ms)}


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
    province = Organisation.objects.get_or_create(code="bench-province", defaults={
        "name": "bench-province", "kind": OrganisationKind.PROVINCE_MECHANISM, "region_id": "140000"})[0]
    regulator = ensure_user("bench-regulator", province, Role.PROVINCE_REGULATOR)
    branch = BankBranch.objects.get(bank__code="boc", level=BranchLevel.CITY, region_id="140500")
    banker = ensure_user("bench-banker", branch.organisation, Role.BANK_ADMIN)
    load_before = os.getloadavg()[0]

    log("full run ...")
    run = full_run(timeout=1800)
    log(f"full run: {run.seconds} s {run.timings}")
    results = MatchResult.objects.filter(generation=run.generation).count()

    log("incremental: single entities ...")
    singles = incremental_one(regulator, args.samples)
    all_ids = list(MarketEntity.objects.order_by("pk").values_list("pk", flat=True))
    contiguous = all_ids[len(all_ids) // 2: len(all_ids) // 2 + 10_000]
    scattered = sorted(random.Random(9).sample(all_ids, min(10_000, len(all_ids))))
    log("incremental: 10,000 entities ...")
    many_contiguous = incremental_many(contiguous)
    many_random = incremental_many(scattered)
    log("product publication ...")
    published = product_publish_seconds("shang-e-dai")

    log("lead pages ...")
    leads = lead_figures(banker, args.rounds)
    log("near-miss pages ...")
    near = near_miss_figures(regulator, args.rounds)

    figures = {
        "benchmark": "matching",
        "entities": total,
        "products": len(products),
        "results": results,
        "eligible": run.eligible,
        "incomplete": run.incomplete,
        "near_miss": run.near_miss,
        "seconds": run.seconds,
        "phases": run.timings,
        "chunks": run.chunks_total,
        "workers": sorted(set(run.chunks.values_list("worker", flat=True))),
        "target_seconds": 30,
        "incremental_one_p50_ms": round(statistics.median(singles), 1),
        "incremental_one_p95_ms": round(p95(singles), 1),
        "target_incremental_one_p95_ms": 50,
        "incremental_10k_contiguous_s": round(many_contiguous, 2),
        "incremental_10k_random_s": round(many_random, 2),
        "target_incremental_10k_s": 2,
        "product_publish_s": round(published, 2),
        **leads,
        "target_lead_page_p95_ms": 30,
        "target_lead_count_ms": 20,
        **near,
        "load_average_before": round(load_before, 2),
        "cpus": os.cpu_count(),
    }
    print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    main()
