"""Celery tasks of batch matching: thin, take ids, call a service; safe to run twice."""
from celery import shared_task


@shared_task(name="matching.batch.process_chunk", acks_late=True)
def process_chunk(run_id: int, chunk_id: int) -> bool:
    from batch_matching.services import chunk_process

    return chunk_process(run_id=run_id, chunk_id=chunk_id, worker=process_chunk.request.hostname or "")


@shared_task(name="matching.batch.finalize", acks_late=True)
def finalize(run_id: int) -> bool:
    from batch_matching.services import run_finalize

    return run_finalize(run_id=run_id, resume=True)


@shared_task(name="matching.batch.rematch_entities", acks_late=True)
def rematch_entities(entity_ids: list[int]) -> int | None:
    from batch_matching.services import entities_rematch

    run = entities_rematch(ids=entity_ids)
    return run.pk if run else None


@shared_task(name="matching.batch.rematch_product", acks_late=True)
def rematch_product(product_id: int) -> int | None:
    from batch_matching.services import product_rematch

    run = product_rematch(product_id=product_id)
    return run.pk if run else None


@shared_task(name="matching.batch.nightly_run")
def nightly_run() -> int | None:
    from batch_matching.services import nightly_run as start

    return start()


@shared_task(name="matching.batch.sweep")
def sweep() -> dict:
    from batch_matching.services import sweep as run_sweep

    return run_sweep()
