"""Full runs through the real Celery path: several workers share a run and write what one
writes; a worker killed half-way leaves a run that, resumed, ends with exactly the rows of an
uninterrupted run; entity edits and product publications re-match after commit through the
worker, that entity or that product only."""

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings

from batch_matching import services, tasks
from batch_matching.factories import rows_of, run_inline
from batch_matching.models import MatchingRun, MatchResult, RunChunk, RunState
from entities.services import entity_update
from portal.queues import queues_argument
from products.models import LoanProduct
from products.services import product_edit, product_publish

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parents[2]
BATCH_ENTITIES = 400


def _test_database_url() -> str:
    db = settings.DATABASES["default"]
    return f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def start_worker(name: str, *, queue: str | None = None, concurrency: int = 1) -> subprocess.Popen:
    """Another Celery worker process (its own session, so it can be killed with its pool): on
    the queue named, or on every queue of portal/queues.py, as the suite's worker."""
    env = {**os.environ, "DATABASE_URL": _test_database_url()}
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "portal",
        "worker",
        "-l",
        "info",
        "-c",
        str(concurrency),
        "-n",
        f"{name}@%h",
        "--without-mingle",
        "--without-gossip",
        "--without-heartbeat",
    ]
    command += ["-Q", queue or queues_argument()]
    log = open(ROOT / "test-artifacts" / f"worker-{name}.log", "w")  # noqa: SIM115 - closed with the process
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    process.log = log
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if " ready." in (ROOT / "test-artifacts" / f"worker-{name}.log").read_text(errors="replace"):
            return process
        time.sleep(0.2)
    stop(process)
    raise AssertionError(f"worker {name} did not start")


def stop(process: subprocess.Popen, sig=signal.SIGTERM) -> None:
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        pass
    try:
        process.wait(timeout=30)
    finally:
        process.log.close()


def wait_for(run_id: int, timeout: float = 120) -> MatchingRun:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = MatchingRun.objects.get(pk=run_id)
        if run.is_finished:
            return run
        time.sleep(0.2)
    raise AssertionError(f"run {run_id} did not finish: {MatchingRun.objects.get(pk=run_id).state}")


def test_two_workers_share_a_full_run_and_write_what_one_writes(batch_world):
    # given the rows a run done by one process writes
    as_of = dt.date.today()
    alone = rows_of(run_inline(as_of=as_of).generation)

    # when a full run is dispatched to the suite's worker and a second worker process
    second = start_worker("second", concurrency=2)
    try:
        run = services.run_start(as_of=as_of, chunk_size=15)  # enqueued on commit
        run = wait_for(run.pk)
    finally:
        stop(second)

    # then both took chunks, and the rows are the same
    assert run.state == RunState.SUCCEEDED, run.message
    workers = set(RunChunk.objects.filter(run=run).values_list("worker", flat=True))
    assert len(workers) >= 2 and any(w.startswith("second@") for w in workers), workers
    assert rows_of(run.generation) == alone
    assert RunChunk.objects.filter(run=run, done=True).count() == run.chunks_total > 20


def test_a_run_killed_half_way_and_resumed_ends_with_the_rows_of_an_uninterrupted_run(batch_world):
    # given the rows of an uninterrupted run
    as_of = dt.date.today()
    uninterrupted = rows_of(run_inline(as_of=as_of).generation)

    # when a run's chunks go to a worker of their own, which is killed (SIGKILL) half-way
    queue = f"batch-kill-{os.getpid()}"
    doomed = start_worker("doomed", queue=queue)
    run = services.run_start(as_of=as_of, chunk_size=8, dispatch=False)
    for chunk_id in RunChunk.objects.filter(run=run).order_by("number").values_list("pk", flat=True):
        tasks.process_chunk.apply_async((run.pk, chunk_id), queue=queue)
    deadline = time.monotonic() + 60
    while RunChunk.objects.filter(run=run, done=True).count() < run.chunks_total // 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    stop(doomed, signal.SIGKILL)
    done = RunChunk.objects.filter(run=run, done=True).count()
    assert 0 < done < run.chunks_total
    assert MatchingRun.objects.get(pk=run.pk).state == RunState.RUNNING

    # and the worker is restarted, and beat's sweep finds the stalled run and resumes it
    # (the suite's worker and the restarted one take the open chunks)
    restarted = start_worker("restarted")
    try:
        assert services.sweep(stalled_seconds=0)["resumed"] == 1  # beat runs it every few minutes
        services.sweep(stalled_seconds=0)  # again before the chunks are done: duplicates are harmless
        run = wait_for(run.pk)
    finally:
        stop(restarted)

    # then its rows are exactly those of the uninterrupted run: no duplicates, no gaps
    assert run.state == RunState.SUCCEEDED, run.message
    assert rows_of(run.generation) == uninterrupted
    assert MatchResult.objects.filter(generation=run.generation).count() == len(uninterrupted)


def wait_until(check, timeout: float = 30) -> None:
    """Polls until the worker's effect is visible (the timeout only ends a test that would hang)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError("timed out")


def test_an_entity_edit_is_rematched_by_the_worker_after_commit(batch_world):
    run = run_inline()
    entity = batch_world.special["young"]
    assert MatchResult.objects.filter(generation=run.generation, entity_id=entity.pk, near_miss=True).exists()
    # when the register's founding date is corrected (the hook enqueues after commit)
    entity_update(
        actor=batch_world.users["staff"],
        entity=entity,
        data={"established_on": dt.date.today() - dt.timedelta(days=1500)},
    )
    # then the worker re-matches it: no longer short of operating time
    wait_until(
        lambda: not MatchResult.objects.filter(generation=run.generation, entity_id=entity.pk, run_id=run.pk).exists()
    )
    assert not MatchResult.objects.filter(generation=run.generation, entity_id=entity.pk, near_miss=True).exists()
    # and it rewrote that entity's rows only: every other row is still the full run's
    rewritten = MatchResult.objects.filter(generation=run.generation).exclude(run_id=run.pk)
    assert set(rewritten.values_list("entity_id", flat=True)) == {entity.pk}


def test_a_product_publication_is_rematched_by_the_worker_after_commit(batch_world):
    run = run_inline()
    product = LoanProduct.objects.get(code="huishang-yidai")
    product_edit(
        actor=None,
        product=product,
        definition={**product.current_version.definition, "caps": [{"kind": "product_cap", "amount": 50000}]},
        effective_from=dt.date.today(),
    )
    version = product_publish(actor=None, product=product)
    # then the worker re-matches that product with its new version
    wait_until(
        lambda: set(
            MatchResult.objects.filter(generation=run.generation, product_id=product.pk).values_list(
                "version_id", flat=True
            )
        )
        == {version.pk}
    )
    assert not MatchResult.objects.filter(
        generation=run.generation, product_id=product.pk, max_amount__gt=50000
    ).exists()
    # and it rewrote that product's rows only: every other row is still the full run's
    rewritten = MatchResult.objects.filter(generation=run.generation).exclude(run_id=run.pk)
    assert set(rewritten.values_list("product_id", flat=True)) == {product.pk}
