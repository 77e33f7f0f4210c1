"""Results partitioned by province (batch_matching.schema): a run for one province touches only
that province's tables and pointer; a run for all builds a leaf per province; a region's page
reads only its province's tables (EXPLAIN); runs for a province start from the admin page and
the management command through run_start, for platform administrators only.

The batch world's entities are in 山西 (14); these tests add some in 河南 (41)."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from batch_matching import schema, selectors, services
from batch_matching.factories import HENAN_COUNTIES, add_entities, rows_of, run_inline
from batch_matching.models import MatchingRun, MatchResult, ProvinceGeneration, ResultCount, RunChunk, RunState
from entities.models import MarketEntity
from entities.services import entity_update
from portal.factories import user_with_role
from portal.models import Region, Role
from products.models import LoanProduct

pytestmark = pytest.mark.django_db
BATCH_ENTITIES = 120
SHANXI, HENAN = 14, 41


@pytest.fixture
def two_provinces(batch_world):
    """The batch world (山西) and 60 entities in 河南."""
    henan = add_entities(HENAN_COUNTIES, 60)
    assert len(henan) == 60
    return batch_world, henan


def _rows_in(province: int, generation: int) -> set[tuple]:
    lo, hi = schema.province_range(province)
    return {row for row in rows_of(generation) if lo <= row[8] < hi}  # row[8]: the county


def _table_oid(name: str) -> int | None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s)::oid", [name])
        return cursor.fetchone()[0]


def _explain(sql: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN {sql}")
        return "\n".join(line for (line,) in cursor.fetchall())


def test_a_full_run_for_all_provinces_builds_a_leaf_per_province_and_moves_every_pointer(two_provinces):
    world, henan = two_provinces
    # when a full run for all provinces runs
    run = run_inline()

    # then it matched every entity, and each province's rows are in that province's leaf of
    # the run's generation, which is the province's generation in force
    assert run.state == RunState.SUCCEEDED and run.province == ""
    assert run.entities == MarketEntity.objects.count()
    assert {SHANXI, HENAN, schema.UNKNOWN_PROVINCE} <= set(run.provinces)
    assert services.pointers() == {province: run.generation for province in run.provinces}
    with connection.cursor() as cursor:
        assert schema.leaves(cursor) == [(province, run.generation) for province in sorted(run.provinces)]
        for province in (SHANXI, HENAN):
            assert schema.is_attached(cursor, province, run.generation)
            cursor.execute(f"SELECT count(*), min(county), max(county) FROM {schema.leaf(province, run.generation)}")
            count, low, high = cursor.fetchone()
            lo, hi = schema.province_range(province)
            assert count > 0 and lo <= low and high < hi
        assert schema.builds(cursor) == []  # the run's own table is gone after the swap
    henan_rows = _rows_in(HENAN, run.generation)
    assert henan_rows and {row[0] for row in henan_rows} <= set(henan)
    # and the counts of each county are those of its rows
    stored = {
        (c.product_id, c.county): c.eligible + c.near_miss
        for c in ResultCount.objects.filter(generation=run.generation)
        if c.eligible + c.near_miss
    }
    recounted: dict[tuple[int, int], int] = {}
    for row in MatchResult.objects.filter(generation=run.generation).values_list("product_id", "county"):
        recounted[row] = recounted.get(row, 0) + 1
    assert stored == recounted


def test_a_run_for_one_province_leaves_the_other_provinces_results_and_generation_untouched(two_provinces):
    world, henan = two_provinces
    admin = user_with_role(Role.PLATFORM_ADMIN)
    # given results in force in both provinces (one run for all)
    first = run_inline()
    henan_before = _rows_in(HENAN, first.generation)
    shanxi_before = _rows_in(SHANXI, first.generation)
    henan_leaf = _table_oid(schema.leaf(HENAN, first.generation))
    assert henan_before and shanxi_before and henan_leaf

    # when a run for 山西 has written its chunks
    run = services.run_start(dispatch=False, chunk_size=40, province="14", actor=admin)
    assert run.province == "14" and run.provinces == [SHANXI]
    shanxi = MarketEntity.objects.filter(region_id__in=Region.objects.filter(code__regex=r"^14[0-9]{4}$"))
    assert run.entities == shanxi.count() < MarketEntity.objects.count()
    for chunk_id in RunChunk.objects.filter(run=run).order_by("number").values_list("pk", flat=True):
        assert services.chunk_process(run_id=run.pk, chunk_id=chunk_id, finalize=False)
    # then it built a leaf for 山西 only
    with connection.cursor() as cursor:
        assert [leaf for leaf in schema.leaves(cursor) if leaf[1] == run.generation] == [(SHANXI, run.generation)]
    # and while it builds, an edit of a 河南 entity is re-matched into 河南's generation in force
    changed = MarketEntity.objects.get(pk=henan[0])
    entity_update(actor=admin, entity=changed, data={"name": "河南改名后的经营主体"})
    services.entities_rematch(ids=[changed.pk])
    henan_now = _rows_in(HENAN, first.generation)

    # when it is swapped in
    assert services.run_finalize(run_id=run.pk)
    run.refresh_from_db()

    # then 山西 reads the new generation, with the same results (same register and date) ...
    assert run.state == RunState.SUCCEEDED
    assert services.pointers()[SHANXI] == run.generation
    assert _rows_in(SHANXI, run.generation) == shanxi_before
    shanxi_read = set(selectors.results(user=admin, provinces=[SHANXI]).values_list("entity_id", "product_id"))
    assert shanxi_read == {(row[0], row[1]) for row in shanxi_before}
    # ... and 河南's pointer, leaf (the same table) and rows are as they were
    assert services.pointers()[HENAN] == first.generation
    assert ProvinceGeneration.objects.get(province=HENAN).run_id == first.pk
    assert _table_oid(schema.leaf(HENAN, first.generation)) == henan_leaf
    assert _rows_in(HENAN, first.generation) == henan_now
    henan_read = set(selectors.results(user=admin, provinces=[HENAN]).values_list("entity_id", "product_id"))
    assert henan_read == {(row[0], row[1]) for row in henan_now}
    # and 山西's previous leaf is dropped, 河南's kept
    with connection.cursor() as cursor:
        assert schema.leaves(cursor) == sorted(
            [(p, first.generation) for p in first.provinces if p != SHANXI] + [(SHANXI, run.generation)]
        )


def _plans_of(call) -> list[str]:
    """EXPLAIN of every statement ``call`` runs against the results."""
    with CaptureQueriesContext(connection) as captured:
        call()
    statements = [q["sql"] for q in captured.captured_queries if schema.PARENT + '"' in q["sql"]]
    assert statements, [q["sql"] for q in captured.captured_queries]
    return [_explain(sql) for sql in statements]


@pytest.mark.parametrize(
    "reader, province",
    [
        ("lead page of a county", SHANXI),
        ("near misses of a county", SHANXI),
        ("near misses of a city", SHANXI),
        ("near misses of a province", SHANXI),
        ("near misses of a county of the other province", HENAN),
    ],
)
def test_a_page_for_a_region_reads_only_its_provinces_partitions(two_provinces, reader, province):
    world, _ = two_provinces
    # given results in force in both provinces, in two generations (a run for all, then one
    # for 河南), so each province has a leaf of its own generation
    first = run_inline()
    second = run_inline(province="41")
    assert services.pointers()[SHANXI] == first.generation and services.pointers()[HENAN] == second.generation
    admin = user_with_role(Role.PLATFORM_ADMIN)
    product = LoanProduct.objects.get(code="yanshang-e-dai")

    # when the page is read
    if reader == "lead page of a county":
        user = world.users["boc_manager"]  # the 泽州 branch

        def read():
            scope = selectors.lead_scope(user=user)
            rows = selectors.potential_customers(user=user, scope=scope, product_id=product.pk, county="140525")
            assert rows.rows

    else:
        user, county = {
            "near misses of a county": (world.users["staff"], None),  # 泽州 task force
            "near misses of a city": (world.users["city"], None),  # 晋城
            "near misses of a province": (admin, "14"),
            "near misses of a county of the other province": (admin, HENAN_COUNTIES[0]),
        }[reader]

        def read():
            selectors.near_misses(user=user, county=county)

    plans = _plans_of(read)

    # then every plan names only that province's tables
    other = HENAN if province == SHANXI else SHANXI
    for plan in plans:
        assert f"{schema.PARENT}_p{province:02d}_g" in plan, plan
        assert f"_p{other:02d}_" not in plan and "_p00_" not in plan, plan


def test_a_run_for_a_province_starts_from_the_admin_page_and_the_command_for_administrators_only(two_provinces):
    world, henan = two_provinces
    admin = Client()
    admin.force_login(user_with_role(Role.PLATFORM_ADMIN))
    # when an administrator starts a run for 河南 on the page
    response = admin.post("/matching-batch/runs/", {"province": "410000"})
    # then it is a run for 河南's entities only
    assert response.status_code == 302
    run = MatchingRun.objects.latest("pk")
    assert run.province == "41" and run.provinces == [HENAN] and run.entities == len(henan)
    page = admin.get("/matching-batch/runs/").content.decode()
    assert 'data-testid="run-province"' in page and "河南省" in page

    # when another province is asked for while it builds, or a code that is not a province
    for province, message in (("140000", "正在进行"), ("140500", "请选择有效的省份"), ("99", "请选择有效的省份")):
        answer = admin.post("/matching-batch/runs/", {"province": province}, follow=True).content.decode()
        # then nothing starts, with the reason
        assert message in answer
    assert MatchingRun.objects.filter(kind="full").count() == 1

    # and someone who is not a platform administrator cannot start one
    staff = Client()
    staff.force_login(world.users["staff"])
    assert staff.post("/matching-batch/runs/", {"province": "410000"}).status_code == 403
    assert MatchingRun.objects.filter(kind="full").count() == 1

    # when the management command runs one for 山西 (after the first is swapped in)
    for chunk_id in RunChunk.objects.filter(run=run, done=False).values_list("pk", flat=True):
        services.chunk_process(run_id=run.pk, chunk_id=chunk_id, finalize=False)
    services.run_finalize(run_id=run.pk, resume=True)
    out = StringIO()
    call_command("run_matching", "--inline", "--province", "14", stdout=out)
    report = json.loads(out.getvalue())
    # then it ran for 山西 and each province has its own generation
    assert report["state"] == "succeeded" and report["province"] == "14"
    assert services.pointers()[SHANXI] == report["run"] and services.pointers()[HENAN] == run.generation


def test_an_entity_of_a_province_without_results_has_no_stored_verdict_yet(two_provinces):
    world, henan = two_provinces
    # given results for 山西 only (its first full run)
    run = run_inline(province="14")
    assert services.pointers() == {SHANXI: run.generation}
    shanxi_entity = world.special["model"]
    # then a 山西 entity reads its province's generation (a missing row there is a stored 不符合) ...
    assert selectors.entity_generation(shanxi_entity.region_id) == run.generation
    assert selectors.stored_results(
        user=user_with_role(Role.PLATFORM_ADMIN),
        entity=shanxi_entity,
        product_ids=list(LoanProduct.objects.values_list("pk", flat=True)),
    )
    # ... and a 河南 entity none: no run has matched it yet, nothing is read for it
    henan_entity = MarketEntity.objects.get(pk=henan[0])
    assert selectors.entity_generation(henan_entity.region_id) is None
    assert (
        selectors.stored_results(
            user=user_with_role(Role.PLATFORM_ADMIN),
            entity=henan_entity,
            product_ids=list(LoanProduct.objects.values_list("pk", flat=True)),
        )
        == {}
    )


def test_the_planner_counts_a_provinces_entities_from_the_statistics_on_their_county(two_provinces):
    # given the register analysed (migration 0003 keeps statistics on the stored county)
    lo, hi = schema.province_range(HENAN)
    henan = sum(1 for code in MarketEntity.objects.values_list("region_id", flat=True) if code and code[:2] == "41")
    assert henan >= 60
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE entities_marketentity")
        # when PostgreSQL plans a statement over the entities of one province (a product
        # re-match, a province's run)
        where = services._entity_sql([HENAN])
        cursor.execute(f"EXPLAIN (FORMAT JSON) SELECT id FROM entities_marketentity WHERE {where.sql}", where.params)
        plan = cursor.fetchone()[0]
    # then it expects about as many rows as there are (without the statistics: 0.5 % of the
    # register, and the code maps joined in a nested loop over every entity)
    estimate = plan[0]["Plan"]["Plan Rows"]
    assert henan / 2 <= estimate <= henan * 2, (estimate, henan, lo, hi)
