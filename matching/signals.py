"""Signals matching sends to the apps above it (cross-app hooks; ARCHITECTURE.md lists them).
Within matching, code calls code directly."""
from django.dispatch import Signal

# Sent inside the transaction of a write that moves deadline clocks' due moments without
# recording a workflow event (the recompute of provisional due dates after an administrator
# enters a calendar year). Receivers: reporting.facts (the statistics index carries the due
# moments). Workflow events and visits need no signal of their own: their post_save is it.
clocks_rescheduled = Signal()
