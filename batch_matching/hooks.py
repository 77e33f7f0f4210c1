"""Incremental re-matching after commit: ``ENTITY_CHANGED_HOOKS`` (edits and imports) and
``PRODUCT_PUBLISHED_HOOKS`` call these with what changed; they enqueue a Celery task (or do
the work at once when no broker is reachable). Registered by ``register()`` from
``MatchingConfig.ready``."""

from __future__ import annotations

import logging

from batch_matching import services, tasks
from batch_matching.models import MatchingState
from entities.changes import ENTITY_CHANGED_HOOKS
from products.services import PRODUCT_PUBLISHED_HOOKS

log = logging.getLogger(__name__)


def _has_results() -> bool:
    return MatchingState.objects.filter(pk=1).exclude(generation=None, building=None).exists()


def on_entities_changed(ids: list[int]) -> None:
    if not ids or not _has_results():
        return
    ids = sorted(set(ids))
    for start in range(0, len(ids), services.ENTITY_BATCH):
        batch = ids[start : start + services.ENTITY_BATCH]
        try:
            tasks.rematch_entities.delay(batch)
        except Exception:  # no broker reachable: re-match now rather than leave results stale
            log.warning("broker unavailable: re-matching %s entities inline", len(batch), exc_info=True)
            services.entities_rematch(ids=batch)


def on_product_published(version) -> None:
    if not _has_results():
        return
    try:
        tasks.rematch_product.delay(version.product_id)
    except Exception:
        log.warning("broker unavailable: re-matching product %s inline", version.product_id, exc_info=True)
        services.product_rematch(product_id=version.product_id)


def register() -> None:
    if on_entities_changed not in ENTITY_CHANGED_HOOKS:
        ENTITY_CHANGED_HOOKS.append(on_entities_changed)
    if on_product_published not in PRODUCT_PUBLISHED_HOOKS:
        PRODUCT_PUBLISHED_HOOKS.append(on_product_published)
