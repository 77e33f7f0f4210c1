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
