"""Migration batch_matching.0002: results partitioned by generation only (the layout before)
become partitioned by province, then generation.

Given a database stepped back to batch_matching.0001 (the layout before) holding a swapped-in
generation of that layout (a leaf ``matching_batch_result_g<N>`` with rows, its counts, the
state row pointing at it, the run that built it), when the migration is applied, then the
table is partitioned by province (RANGE on the county code), the old results, counts and
pointer are gone (derived data), and the sweep starts a full run for every province whose
results are then in force, province by province."""

from __future__ import annotations

import json

import pytest
from django.db import connection

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="needs a second PostgreSQL database")

OLD_LAYOUT_DATA = r"""
import json
from django.db import connection
from batch_matching import schema
from batch_matching.factories import make_entity
entity = make_entity(region_id="140525")
with connection.cursor() as cursor:
    layout = schema.layout(cursor)
    cursor.execute(
        "INSERT INTO matching_batch_run (kind, state, trigger, as_of, generation, entities, chunks_total, "
        "chunks_done, results, eligible, incomplete, near_miss, message, timings, created_at, finished_at) "
        "VALUES ('full', 'succeeded', 'manual', current_date, NULL, 1, 1, 1, 1, 1, 0, 0, '', '{}', now(), now()) "
        "RETURNING id"
    )
    generation = cursor.fetchone()[0]
    cursor.execute("UPDATE matching_batch_run SET generation = %s WHERE id = %s", [generation, generation])
    cursor.execute(f"CREATE UNLOGGED TABLE matching_batch_result_g{generation} (LIKE matching_batch_result)")
    cursor.execute(
        f"ALTER TABLE matching_batch_result ATTACH PARTITION matching_batch_result_g{generation} "
        f"FOR VALUES IN ({generation})"
    )
    cursor.execute(
        "SELECT id, current_version_id FROM products_loanproduct WHERE current_version_id IS NOT NULL LIMIT 1"
    )
    product_id, version_id = cursor.fetchone()
    cursor.execute(
        "INSERT INTO matching_batch_result (generation, entity_id, product_id, version_id, run_id, verdict, shared, "
        "near_miss, county) VALUES (%s, %s, %s, %s, %s, 2, true, false, 140525)",
        [generation, entity.pk, product_id, version_id, generation],
    )
    cursor.execute(
        "INSERT INTO matching_batch_count (generation, product_id, county, eligible, eligible_shared, incomplete, "
        "near_miss) VALUES (%s, %s, 140525, 1, 1, 0, 0)",
        [generation, product_id],
    )
    cursor.execute(
        "INSERT INTO matching_batch_state (id, generation, swapped_at) VALUES (1, %s, now()) "
        "ON CONFLICT (id) DO UPDATE SET generation = EXCLUDED.generation",
        [generation],
    )
    cursor.execute("SELECT count(*) FROM matching_batch_result")
    rows = cursor.fetchone()[0]
print(json.dumps({"layout": layout, "generation": generation, "rows": rows, "entity": entity.pk}))
"""

AFTER_MIGRATION = r"""
import json
from django.db import connection
from batch_matching import schema, services
from batch_matching.models import MatchingRun, MatchingState, MatchResult, ResultCount, RunChunk
from batch_matching.rows import is_stored, rows_for
from entities.models import MarketEntity
with connection.cursor() as cursor:
    layout = schema.layout(cursor)
    cursor.execute("SELECT count(*) FROM pg_class WHERE relname ~ '^matching_batch_result_g[0-9]+$'")
    old_tables = cursor.fetchone()[0]
before = {
    "layout": layout,
    "old_tables": old_tables,
    "rows": MatchResult.objects.count(),
    "counts": ResultCount.objects.count(),
    "state": MatchingState.objects.filter(pk=1).values_list("generation", flat=True).first(),
    "pointers": services.pointers(),
}
report = services.sweep()
run = MatchingRun.objects.get(pk=report["started"])
for chunk_id in RunChunk.objects.filter(run=run).order_by("number").values_list("pk", flat=True):
    services.chunk_process(run_id=run.pk, chunk_id=chunk_id, finalize=False)
services.run_finalize(run_id=run.pk, resume=True)
run.refresh_from_db()
after = {
    "trigger": run.trigger,
    "state": run.state,
    "province": run.province,
    "pointers": {str(k): v for k, v in services.pointers().items()},
    "generation": run.generation,
    "entities": run.entities,
    "all_entities": MarketEntity.objects.count(),
    "pairs": run.results + run.incomplete,
}
# the old layout's entity: its rows in the new generation are what the engine computes for it
entity = MarketEntity.objects.prefetch_related("honors").get(pk=ENTITY)
computed = rows_for([entity], services.run_versions(run), as_of=run.as_of, with_incomplete=True)
stored = {(r.product_id, r.verdict) for r in computed if is_stored(r)}
after["entity_pairs"] = len(computed)
after["entity_rows_as_computed"] = stored == set(
    MatchResult.objects.filter(generation=run.generation, entity_id=ENTITY).values_list("product_id", "verdict")
)
after["entity_incomplete_counted"] = sum(1 for r in computed if not is_stored(r)) <= run.incomplete
print(json.dumps({"before": before, "after": after}))
"""


def _run(manage_py, env: dict, script: str) -> dict:
    return json.loads(manage_py(env, "shell", "-c", script).strip().splitlines()[-1])


@pytest.mark.django_db(transaction=True)
def test_the_old_layout_is_converted_and_a_full_run_rebuilds_the_results(scratch_database, manage_py):
    env = scratch_database
    # given a database in the layout before, with a generation in force
    manage_py(env, "migrate", "--noinput", "-v0")
    manage_py(env, "load_catalog")
    manage_py(env, "migrate", "batch_matching", "0001", "--noinput", "-v0")
    old = _run(manage_py, env, OLD_LAYOUT_DATA)
    assert old["layout"] == "generations" and old["rows"] == 1

    # when the migration is applied
    manage_py(env, "migrate", "--noinput", "-v0")
    found = _run(manage_py, env, AFTER_MIGRATION.replace("ENTITY", str(old["entity"])))

    # then the table is partitioned by province, and the old results are gone with their counts
    before = found["before"]
    assert before["layout"] == "provinces" and before["old_tables"] == 0
    assert before["rows"] == 0 and before["counts"] == 0 and before["state"] is None and before["pointers"] == {}
    # and the sweep started a full run for every province, whose results are in force
    after = found["after"]
    assert after["trigger"] == "system" and after["state"] == "succeeded" and after["province"] == ""
    assert after["pointers"]["14"] == after["generation"] and after["pointers"]["41"] == after["generation"]
    # and the rebuild matched the old layout's entity (and every other): its rows are the engine's
    assert after["entities"] == after["all_entities"] and after["pairs"] > 0
    assert after["entity_pairs"] > 0 and after["entity_rows_as_computed"] and after["entity_incomplete_counted"]
