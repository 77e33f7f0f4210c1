"""Entity changes and notices announced to later apps (no signals).

- ``ENTITY_CHANGED_HOOKS``: later apps append a callable (batch matching re-matches, the
  workflow's post-loan watch compares what approved loans relied on); it is called after
  commit with the ids of the entities created or changed.
- ``NOTICE_HOOKS``: the entities app writes no notifications of its own (they are the
  workflow's, ``matching.notifications``); where a register write must tell people — a
  名特优新 proposal waits for the province, the province decided one — it announces
  ``Notice``s, and the workflow, registered from its ``AppConfig.ready()``, delivers them
  inside the same transaction (so a notice is written with the change or not at all).

Its own module because both writers announce: the services (``entities.services``) and the
register import they run (``entities.register_import``), which the services import."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.db import transaction

ENTITY_CHANGED_HOOKS: list[Callable[[list[int]], None]] = []


@dataclass(frozen=True)
class Notice:
    """One in-portal notice to some users: ``key`` makes it idempotent (per user)."""

    key: str
    title: str
    url: str
    user_ids: tuple[int, ...]
    body: str = ""


NOTICE_HOOKS: list[Callable[[list[Notice]], None]] = []


def entities_changed(ids: Iterable[int]) -> None:
    """Call the hooks after the current transaction commits (at once outside one)."""
    ids = sorted(set(ids))
    if not ids:
        return

    def notify():
        for hook in list(ENTITY_CHANGED_HOOKS):
            hook(ids)

    transaction.on_commit(notify)


def announce(notices: Iterable[Notice]) -> None:
    """Hand notices to the hooks now, inside the caller's transaction."""
    notices = [n for n in notices if n.user_ids]
    if not notices:
        return
    for hook in list(NOTICE_HOOKS):
        hook(notices)
