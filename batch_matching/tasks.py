"""Celery tasks of batch matching: thin, take ids, call a service; safe to run twice.

The services enqueue the chunk and finalize tasks by their registered names
(``services.PROCESS_CHUNK_TASK``, ``services.FINALIZE_TASK``), so this module imports the
services and not the other way round."""

from celery import shared_task

from batch_matching import services


@shared_task(name="matching.batch.process_chunk", acks_late=True)
def process_chunk(run_id: int, chunk_id: int) -> bool:
    return services.chunk_process(run_id=run_id, chunk_id=chunk_id, worker=process_chunk.request.hostname or "")


@shared_task(name="matching.batch.finalize", acks_late=True)
def finalize(run_id: int) -> bool:
    return services.run_finalize(run_id=run_id, resume=True)


@shared_task(name="matching.batch.rematch_entities", acks_late=True)
def rematch_entities(entity_ids: list[int]) -> int | None:
    run = services.entities_rematch(ids=entity_ids)
    return run.pk if run else None


@shared_task(name="matching.batch.rematch_product", acks_late=True)
def rematch_product(product_id: int) -> int | None:
    run = services.product_rematch(product_id=product_id)
    return run.pk if run else None


@shared_task(name="matching.batch.nightly_run")
def nightly_run() -> int | None:
    return services.nightly_run()


@shared_task(name="matching.batch.sweep")
def sweep() -> dict:
    return services.sweep()
