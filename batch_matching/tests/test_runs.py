"""Full and incremental runs in one process (the Celery path: test_workers.py).

Readers never see a half-built generation; counts always equal the rows; an entity edit
re-matches that entity only, a product publication that product only; changes made while a
full run builds are in its results when it is swapped in."""

import datetime as dt

import pytest
from django.db import connection
from django.db.models import Count, Q, Sum

from batch_matching import schema, selectors, services, tasks
from batch_matching.factories import rows_of, run_inline
from batch_matching.models import MatchingRun, MatchResult, ResultCount, RunChunk, RunKind, RunState
from entities.services import entity_update
from portal.celery import app as celery_app
from portal.factories import user_with_role
from portal.models import Role
from products.models import LoanProduct
from products.services import product_edit, product_publish

pytestmark = pytest.mark.django_db
BATCH_ENTITIES = 150


def recount(generation):
    rows = (
        MatchResult.objects.filter(generation=generation)
        .values("product_id", "county")
        .annotate(
            eligible=Count("pk", filter=Q(verdict=2)),
            eligible_shared=Count("pk", filter=Q(verdict=2, shared=True)),
            near_miss=Count("pk", filter=Q(near_miss=True)),
        )
    )
    return {(r["product_id"], r["county"]): (r["eligible"], r["eligible_shared"], r["near_miss"]) for r in rows}


def counts(generation):
    return {
        (c.product_id, c.county): (c.eligible, c.eligible_shared, c.near_miss)
        for c in ResultCount.objects.filter(generation=generation)
        if (c.eligible, c.eligible_shared, c.near_miss) != (0, 0, 0)
    }


def test_a_full_run_is_swapped_in_at_once_and_readers_see_the_old_results_until_then(batch_world):
    # given results in force
    first = run_inline()
    admin = user_with_role(Role.PLATFORM_ADMIN)
    before = set(selectors.results(user=admin).values_list("entity_id", "product_id"))
    first_rows = rows_of(first.generation)
    assert before and selectors.current_generation() == first.generation

    # when a second full run has written half of its chunks
    second = services.run_start(dispatch=False, chunk_size=40)
    chunks = list(RunChunk.objects.filter(run=second).order_by("number").values_list("pk", flat=True))
    for chunk_id in chunks[: len(chunks) // 2]:
        services.chunk_process(run_id=second.pk, chunk_id=chunk_id, finalize=False)

    # then readers still see the first run's results, all of them
    assert selectors.current_generation() == first.generation
    assert set(selectors.results(user=admin).values_list("entity_id", "product_id")) == before
    assert MatchingRun.objects.get(pk=second.pk).progress_percent < 99

    # when the rest is written, the last chunk swaps the new generation in and drops the old one
    for chunk_id in chunks[len(chunks) // 2 :]:
        services.chunk_process(run_id=second.pk, chunk_id=chunk_id)
    second.refresh_from_db()
    assert second.state == RunState.SUCCEEDED and second.progress_percent == 100
    assert selectors.current_generation() == second.generation
    assert rows_of(second.generation) == first_rows  # same register, catalogue and date
    with connection.cursor() as cursor:
        assert schema.generations(cursor) == [second.generation]
    # and its history: who, when, counts per product
    assert second.finished_at and second.eligible == sum(p.eligible for p in second.products.all()) > 0
    assert counts(second.generation) == recount(second.generation)


def test_a_chunk_is_written_once_whatever_the_workers_do(batch_world):
    run = services.run_start(dispatch=False, chunk_size=50)
    chunk = RunChunk.objects.filter(run=run).order_by("number").first()
    # given a chunk written once
    assert services.chunk_process(run_id=run.pk, chunk_id=chunk.pk, finalize=False)
    # when it is delivered again (a redelivered task, a resumed run)
    assert not services.chunk_process(run_id=run.pk, chunk_id=chunk.pk, finalize=False)
    # then nothing more is written
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*), count(DISTINCT (entity_id, product_id)) FROM {schema.partition(run.generation)}"
        )
        total, distinct = cursor.fetchone()
    assert total == distinct == RunChunk.objects.get(pk=chunk.pk).rows > 0


def test_an_entity_edit_rematches_that_entity_only(batch_world):
    # given results in force and a staff member of the entity's county
    run = run_inline()
    entity = batch_world.special["young"]
    staff = batch_world.users["staff"]
    before_other = set(
        MatchResult.objects.filter(generation=run.generation)
        .exclude(entity_id=entity.pk)
        .values_list("entity_id", "product_id", "run_id", "verdict", "max_amount")
    )
    assert MatchResult.objects.filter(generation=run.generation, entity_id=entity.pk, near_miss=True).exists()

    # when its register says it was founded three years ago
    entity_update(actor=staff, entity=entity, data={"established_on": dt.date.today() - dt.timedelta(days=3 * 366)})
    incremental = services.entities_rematch(ids=[entity.pk])

    # then its rows are rewritten by an incremental run, the others untouched, counts exact
    rows = MatchResult.objects.filter(generation=run.generation, entity_id=entity.pk)
    assert rows.exists() and set(rows.values_list("run_id", flat=True)) == {incremental.pk}
    assert not rows.filter(near_miss=True).exists()  # no longer short of operating time
    assert (
        set(
            MatchResult.objects.filter(generation=run.generation)
            .exclude(entity_id=entity.pk)
            .values_list("entity_id", "product_id", "run_id", "verdict", "max_amount")
        )
        == before_other
    )
    assert counts(run.generation) == recount(run.generation)
    assert (
        incremental.kind == RunKind.ENTITIES and incremental.state == RunState.SUCCEEDED and incremental.entities == 1
    )


def test_many_entities_are_rematched_with_the_statement_and_give_the_rows_of_a_full_run(batch_world):
    run = run_inline()
    full = rows_of(run.generation)
    ids = batch_world.entities[: services.PYTHON_BELOW + 20]
    # when many entities are re-matched at once (the SQL path)
    services.entities_rematch(ids=ids, as_of=run.as_of)
    # then the rows are those the full run wrote
    assert rows_of(run.generation) == full
    assert counts(run.generation) == recount(run.generation)


def test_withdrawing_consent_drops_the_entity_from_every_banks_potential_customers(batch_world):
    run = run_inline()
    entity = batch_world.special["model"]
    owner = batch_world.special["enterprise_user"]
    assert MatchResult.objects.filter(generation=run.generation, entity_id=entity.pk, verdict=2, shared=True).exists()
    entity_update(actor=owner, entity=entity, data={"data_shared_with_banks": False})
    services.entities_rematch(ids=[entity.pk])
    assert not MatchResult.objects.filter(generation=run.generation, entity_id=entity.pk, shared=True).exists()
    assert MatchResult.objects.filter(generation=run.generation, entity_id=entity.pk, verdict=2).exists()
    assert counts(run.generation) == recount(run.generation)


def test_a_product_publication_rematches_that_product_only(batch_world):
    # given results in force
    run = run_inline()
    product = LoanProduct.objects.get(code="yanshang-e-dai")
    untouched = set(
        MatchResult.objects.filter(generation=run.generation)
        .exclude(product_id=product.pk)
        .values_list("entity_id", "product_id", "run_id")
    )
    # when the bank publishes a version with a lower cap
    definition = {**product.current_version.definition, "caps": [{"kind": "product_cap", "amount": 200000}]}
    product_edit(actor=None, product=product, definition=definition, effective_from=dt.date.today())
    version = product_publish(actor=None, product=product)
    incremental = services.product_rematch(product_id=product.pk)
    # then that product's rows are the new version's, the others untouched
    rows = MatchResult.objects.filter(generation=run.generation, product_id=product.pk)
    assert rows.exists() and set(rows.values_list("version_id", flat=True)) == {version.pk}
    assert rows.filter(verdict=2).aggregate(m=Sum("max_amount"))["m"] <= 200000 * rows.filter(verdict=2).count()
    assert (
        set(
            MatchResult.objects.filter(generation=run.generation)
            .exclude(product_id=product.pk)
            .values_list("entity_id", "product_id", "run_id")
        )
        == untouched
    )
    assert counts(run.generation) == recount(run.generation)
    assert incremental.kind == RunKind.PRODUCT and incremental.product_id == product.pk


def test_changes_made_while_a_full_run_builds_are_in_its_results(batch_world):
    # given results in force and a full run half-way
    run_inline()
    building = services.run_start(dispatch=False, chunk_size=40)
    chunks = list(RunChunk.objects.filter(run=building).order_by("number").values_list("pk", flat=True))
    for chunk_id in chunks:
        services.chunk_process(run_id=building.pk, chunk_id=chunk_id, finalize=False)
    # when an entity changes and a product is published before the swap
    entity = batch_world.special["young"]
    entity_update(
        actor=batch_world.users["staff"],
        entity=entity,
        data={"established_on": dt.date.today() - dt.timedelta(days=1200)},
    )
    services.entities_rematch(ids=[entity.pk])
    product = LoanProduct.objects.get(code="yanshang-e-dai")
    product_edit(
        actor=None,
        product=product,
        definition={**product.current_version.definition, "caps": [{"kind": "product_cap", "amount": 300000}]},
        effective_from=dt.date.today(),
    )
    version = product_publish(actor=None, product=product)
    services.product_rematch(product_id=product.pk)
    assert services.run_finalize(run_id=building.pk)

    # then the new generation holds both changes, exactly as a fresh full run would
    building.refresh_from_db()
    swapped = rows_of(building.generation)
    assert {r[2] for r in swapped if r[1] == product.pk} == {version.pk}
    fresh = run_inline(as_of=building.as_of)
    assert rows_of(fresh.generation) == swapped


def _log_writes() -> None:
    """Log every row written to the results, their counts and the dirty marks, with the
    database's clock at the moment of each write (``clock_timestamp()``, not the transaction's
    start). Row triggers on the partitioned results table reach its partitions."""
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE test_write_log (relation text, operation text, at timestamptz)")
        cursor.execute(
            "CREATE FUNCTION test_log_write() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "INSERT INTO test_write_log VALUES (TG_TABLE_NAME, TG_OP, clock_timestamp()); RETURN NULL; END $$"
        )
        for table in ("matching_batch_result", "matching_batch_count", "matching_batch_dirty"):
            cursor.execute(
                f"CREATE TRIGGER test_log_write AFTER INSERT OR UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION test_log_write()"
            )


def _logged_writes() -> dict[str, tuple[int, dt.datetime]]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT relation, count(*), max(at) FROM test_write_log GROUP BY relation")
        return {relation: (n, last) for relation, n, last in cursor.fetchall()}


@pytest.mark.parametrize("case", ["one entity", "many entities", "one entity while a full run builds", "a product"])
def test_an_incremental_run_is_stamped_finished_after_its_last_write(batch_world, case):
    # given results in force (in one case a full run being built too), an entity whose
    # counts change when re-matched, and every write of results, counts and marks logged
    run = run_inline()
    if case == "one entity while a full run builds":
        services.run_start(dispatch=False, chunk_size=40)
    young = batch_world.special["young"]
    entity_update(
        actor=batch_world.users["staff"],
        entity=young,
        data={"established_on": dt.date.today() - dt.timedelta(days=3 * 366)},
    )
    _log_writes()

    # when an incremental run re-matches (the Python path for one entity, the statement for many)
    if case == "a product":
        incremental = services.product_rematch(
            product_id=LoanProduct.objects.get(code="yanshang-e-dai").pk, as_of=run.as_of
        )
    elif case == "many entities":
        incremental = services.entities_rematch(
            ids=batch_world.entities[: services.PYTHON_BELOW + 5] + [young.pk], as_of=run.as_of
        )
    else:
        incremental = services.entities_rematch(ids=[young.pk], as_of=run.as_of)

    # then it wrote its rows and counts (and marks for the run being built) ...
    writes = _logged_writes()
    expected = {schema.leaf(14, run.generation), "matching_batch_count"}  # the world's entities are in 山西
    if case == "one entity while a full run builds":
        expected.add("matching_batch_dirty")
    assert expected <= set(writes), writes
    # ... and was stamped finished after the last of them, in the same transaction
    incremental.refresh_from_db()
    assert incremental.state == RunState.SUCCEEDED
    assert incremental.finished_at >= max(last for _, last in writes.values())


def test_lost_results_start_a_full_run(batch_world):
    run = run_inline()
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {schema.leaf(14, run.generation)}")  # what a crash does to an unlogged table
    report = services.sweep()
    assert report["started"] and MatchingRun.objects.get(pk=report["started"]).trigger == "system"


def test_the_nightly_run_starts_once(batch_world, settings):
    first = services.nightly_run()
    assert MatchingRun.objects.get(pk=first).trigger == "schedule"
    assert services.nightly_run() is None  # one is building
    assert any(entry["task"] == "matching.batch.nightly_run" for entry in settings.CELERY_BEAT_SCHEDULE.values())
    assert any(entry["task"] == "matching.batch.sweep" for entry in settings.CELERY_BEAT_SCHEDULE.values())


def test_the_services_enqueue_the_tasks_by_the_names_the_tasks_are_registered_under():
    # given the names the services send (the task module imports the services, not the reverse)
    # then each names the task batch_matching.tasks registers, which calls that service back
    assert celery_app.tasks[services.PROCESS_CHUNK_TASK] == tasks.process_chunk
    assert celery_app.tasks[services.FINALIZE_TASK] == tasks.finalize


def test_the_demo_loader_matches_once(batch_world):
    from batch_matching import demo
    from portal.models import Region, RegionLevel

    # given townships in the reference data (9-digit codes, as the entity demo adds them)
    Region.objects.get_or_create(
        code="140525100", defaults={"name": "南村镇", "level": RegionLevel.TOWNSHIP, "parent_id": "140525"}
    )
    first = demo.load()
    assert first["results"] > 0 and selectors.current_generation() == first["matching_run"]
    assert demo.load() == {"matching_run": "exists"}
