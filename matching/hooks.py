"""The hook list matching offers to the apps above it (a cross-app hook, listed in
ARCHITECTURE.md). Inside matching, code calls code directly."""

from collections.abc import Callable

# Called inside the transaction of every write that records workflow events or visits, or
# moves deadline clocks' due moments — what the statistics index projects. Registered by
# reporting.apps: reporting.facts.sync_after_commit, one sync of the index after the commit.
LEDGER_CHANGED_HOOKS: list[Callable[[], None]] = []


def ledger_changed() -> None:
    """Say that this transaction recorded events or visits, or rescheduled clocks."""
    for hook in LEDGER_CHANGED_HOOKS:
        hook()


# Called inside the transaction of a correction (matching.services.corrections), before it
# changes anything, with the ids of the leads it corrects and its moment. Registered by
# reporting.apps: reporting.facts.keep_before_correction keeps the statistics index rows of
# those leads' push groups as they were, valid until that moment, so that the figures as of
# an earlier moment still show what was recorded then.
CORRECTION_HOOKS: list[Callable[[list[int], object], None]] = []


def correcting(recommendation_ids: list[int], moment) -> None:
    """Say that this transaction is about to correct these leads at `moment`."""
    for hook in CORRECTION_HOOKS:
        hook(recommendation_ids, moment)
