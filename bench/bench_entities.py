"""Benchmark: the entity list page with two filters over 1,000,000 entities.

Run by `make bench-entities` (scripts/bench.sh: throwaway PostgreSQL, migrated). Makes sure
the database holds `--entities` synthetic entities across Shanxi (generated with COPY when
missing, not timed), then requests the real page (`/entities/`, full Django stack in
process: middleware, restriction, query, template) as a county task force, a city regulator
and the province regulator, each with two filters, first pages and following keyset pages.
Server time is measured around each request; the queries of every request are counted.
Floor, in the same run: right after each request, its list query (the page's own SQL, bound
parameters) run bare through a cursor, rows fetched; the page's p50/p95 are printed as
ratios to the bare query's. Prints, last, one JSON line of figures (benchlib).
"""

import argparse
import os
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

import django  # noqa: E402

django.setup()

from benchlib import Figures, bare_seconds, log, main_query, p50, p95  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from entities.models import MarketEntity  # noqa: E402
from entities.synthetic import Generator, insert_entities  # noqa: E402
from portal.models import Membership, Organisation, OrganisationKind, Role  # noqa: E402

SCENARIOS = [
    # (user, query string): two filters each
    ("bench-county", "tier=growth&register_status=active"),
    ("bench-county", "entity_type=individual_business&credit=adverse"),
    ("bench-county", "honor=any&register_status=active"),
    ("bench-city", "tier=survival&revenue_min=50"),
    ("bench-city", "entity_type=small_micro_enterprise&size_class=small"),
    ("bench-city", "region=140525&tier=development"),
    ("bench-province", "register_status=abnormal&entity_type=individual_business"),
    ("bench-province", "credit=dishonest_debtor&tier=survival"),
    ("bench-province", "region=1401&size_class=micro"),
]
PAGES = 5  # first page and 4 keyset pages per scenario and round
NEXT_PAGE = re.compile(r'after=(\d+)" data-testid="next-page"')


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


def ensure_user(username: str, kind: str, region: str, role: str):
    organisation, _ = Organisation.objects.get_or_create(
        code=username, defaults={"name": username, "kind": kind, "region_id": region}
    )
    user, _ = get_user_model().objects.get_or_create(username=username)
    Membership.objects.get_or_create(user=user, organisation=organisation, role=role)
    return user


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--entities", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args()
    assert connection.vendor == "postgresql", "the list benchmark runs on PostgreSQL"
    settings.ALLOWED_HOSTS = ["*"]
    total = ensure_entities(args.entities)
    users = {
        "bench-county": ensure_user("bench-county", OrganisationKind.TASK_FORCE, "140525", Role.TASK_FORCE_STAFF),
        "bench-city": ensure_user("bench-city", OrganisationKind.CITY_MECHANISM, "140500", Role.CITY_REGULATOR),
        "bench-province": ensure_user(
            "bench-province", OrganisationKind.PROVINCE_MECHANISM, "140000", Role.PROVINCE_REGULATOR
        ),
    }
    clients = {}
    for name, user in users.items():
        clients[name] = Client()
        clients[name].force_login(user)

    figures = Figures("entities", entities=total, target_p95_ms=50)
    timings: list[float] = []
    bare: list[float] = []
    per_scenario: dict[str, list[float]] = {}
    query_counts: set[int] = set()
    counted_entities = False
    for round_number in range(args.rounds + 1):  # round 0 warms caches and is not counted
        for username, query in SCENARIOS:
            client = clients[username]
            after = ""
            for _ in range(PAGES):
                url = f"/entities/?{query}{after}"
                with CaptureQueriesContext(connection) as ctx:
                    began = time.perf_counter()
                    response = client.get(url, secure=True)
                    elapsed = (time.perf_counter() - began) * 1000
                assert response.status_code == 200, (url, response.status_code)
                statements = [q["sql"] for q in ctx.captured_queries]
                sql = main_query(statements, MarketEntity._meta.db_table)
                if not round_number and (username, query) == SCENARIOS[0] and not after:
                    log(f"{url}: {len(statements)} statements; its list query (the floor): {sql}")
                query_ms = bare_seconds(sql, connection) * 1000
                if round_number:
                    timings.append(elapsed)
                    bare.append(query_ms)
                    per_scenario.setdefault(f"{username} {query}", []).append(elapsed)
                    query_counts.add(len(ctx.captured_queries))
                    counted_entities |= any(
                        "count(" in q["sql"].lower() and "entities_marketentity" in q["sql"]
                        for q in ctx.captured_queries
                    )
                found = NEXT_PAGE.search(response.content.decode())
                if found is None:
                    break
                after = f"&after={found.group(1)}"

    floor_is = "the page's list query run bare through a cursor"
    figures.note(requests=len(timings), queries_per_request=sorted(query_counts), count_over_entities=counted_entities)
    figures.add("page_p50_ms", p50(timings), "ms", floor=p50(bare), floor_is=floor_is)
    figures.add(
        "page_p95_ms",
        p95(timings),
        "ms",
        floor=p95(bare),
        floor_is=floor_is,
        max_ms=round(max(timings), 1),
        p95_ms_by_scenario={name: round(p95(values), 1) for name, values in per_scenario.items()},
    )
    figures.emit()


if __name__ == "__main__":
    main()
