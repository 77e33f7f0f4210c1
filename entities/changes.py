"""Entity changes announced to later apps: they append a callable to ``ENTITY_CHANGED_HOOKS``
(batch matching does, from its ``AppConfig.ready()``), and it is called after commit with the
ids of the entities created or changed (no signals).

Its own module because both writers announce: the services (``entities.services``) and the
register import they run (``entities.register_import``), which the services import."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from django.db import transaction

ENTITY_CHANGED_HOOKS: list[Callable[[list[int]], None]] = []


def entities_changed(ids: Iterable[int]) -> None:
    """Call the hooks after the current transaction commits (at once outside one)."""
    ids = sorted(set(ids))
    if not ids:
        return

    def notify():
        for hook in list(ENTITY_CHANGED_HOOKS):
            hook(ids)

    transaction.on_commit(notify)
