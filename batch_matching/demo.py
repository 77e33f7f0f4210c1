"""Demo data: match the demo register against the catalogue once, so the pages that read
stored results (enterprise home, 潜在客户, 差一点符合) have something to show. Idempotent:
skipped when results exist. Runs in this process (the embedded default has no worker yet
when ``load_demo`` runs); on SQLite through the engine in Python, a few seconds."""

from __future__ import annotations

from batch_matching import services
from batch_matching.models import MatchingState, RunChunk


def load() -> dict:
    state = MatchingState.objects.filter(pk=1).first()
    if state is not None and (state.generation is not None or state.building_id is not None):
        return {"matching_run": "exists"}
    run = services.run_start(dispatch=False)
    for chunk_id in RunChunk.objects.filter(run=run).order_by("number").values_list("pk", flat=True):
        services.chunk_process(run_id=run.pk, chunk_id=chunk_id, finalize=False)
    services.run_finalize(run_id=run.pk)
    run.refresh_from_db()
    return {"matching_run": run.pk, "results": run.results, "eligible": run.eligible, "near_miss": run.near_miss}
