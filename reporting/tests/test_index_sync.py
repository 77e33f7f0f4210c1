"""The statistics index is synced by the writes after their commit (and by the beat task),
never by a read. When nothing changed since the last sync a sync must cost one read-only
statement (no lock, no write), and anything that did change — a new event, an event
committed late with a smaller id, a provisional due date recomputed — must still be folded,
and must change the cache's data version."""
from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from matching.models import ClockKind, DeadlineClock, WorkflowEvent
from reporting import facts, kpis, selectors
from reporting.models import FactWatermark, LedgerFact

pytestmark = pytest.mark.django_db


def _event(rec, *, pk: int, kind: str = kpis.CONTACTED, at: dt.datetime | None = None) -> WorkflowEvent:
    # an explicit id: the order in which concurrent transactions commit is not the order of their ids
    return WorkflowEvent.objects.create(id=pk, declaration_id=rec.declaration_id, recommendation=rec, kind=kind,
                                        created_at=at or timezone.now())


def test_a_sync_with_nothing_new_is_one_read(history):
    facts.sync()
    version = facts.version()
    with CaptureQueriesContext(connection) as ctx:
        assert facts.sync() == 0
    sql = [q["sql"] for q in ctx.captured_queries]
    assert len(sql) <= 2, sql  # the state, and the check of provisional clocks if there are any
    assert not any(word in s.upper() for s in sql for word in ("UPDATE ", "INSERT ", "ADVISORY", "FOR UPDATE"))
    assert facts.version() == version


def test_the_index_is_built_once_not_on_every_read(history):
    # events recorded a moment ago have not settled: the watermark stays where it is
    rec = history.recs["E3-ccb"]
    FactWatermark.objects.all().delete()
    LedgerFact.objects.all().delete()
    newest = WorkflowEvent.objects.order_by("-id").first().pk
    _event(rec, pk=newest + 1)
    facts.sync()
    generation = FactWatermark.objects.get(name="ledger").generation
    assert LedgerFact.objects.get(pk=rec.pk).contacted_at is not None
    facts.sync()
    facts.sync()
    assert FactWatermark.objects.get(name="ledger").generation == generation
    assert facts.up_to_date()


def test_an_event_committed_late_with_a_smaller_id_is_folded(history):
    facts.sync()
    newest = WorkflowEvent.objects.order_by("-id").first().pk
    e3, e5 = history.recs["E3-ccb"], history.recs["E5-ccb"]
    # a later transaction commits first
    _event(e5, pk=newest + 5)
    facts.sync()
    version = facts.version()
    assert LedgerFact.objects.get(pk=e3.pk).contacted_at is None
    assert facts.up_to_date()
    # then the earlier one: its id is below the newest, above the watermark
    _event(e3, pk=newest + 2)
    assert not facts.up_to_date()
    assert facts.version() != version
    facts.sync()
    assert LedgerFact.objects.get(pk=e3.pk).contacted_at is not None
    assert facts.up_to_date()


def test_a_recomputed_provisional_due_date_is_folded(history):
    rec = history.recs["E3-ccb"]
    clock = DeadlineClock.objects.get(recommendation=rec, kind=ClockKind.FEEDBACK)
    DeadlineClock.objects.filter(pk=clock.pk).update(provisional=True)
    facts.refresh([rec.pk])
    facts.sync()
    assert LedgerFact.objects.get(pk=rec.pk).clock_provisional
    assert facts.up_to_date()
    # an administrator enters the year: the clock is recomputed (what matching.clocks.recompute_provisional does)
    moved = clock.due_at + dt.timedelta(days=1)
    DeadlineClock.objects.filter(pk=clock.pk).update(due_at=moved, provisional=False)
    assert not facts.up_to_date()
    facts.sync()
    fact = LedgerFact.objects.get(pk=rec.pk)
    assert fact.feedback_due_at == moved and not fact.clock_provisional
    assert facts.up_to_date()


def test_cached_figures_change_with_a_new_event(history, committed):
    q = selectors.parse_query({"period": "2026"})
    before = selectors.figures(selectors.SYSTEM, q)["total"][""]
    assert selectors.figures(selectors.SYSTEM, q)["total"][""].contacted == before.contacted  # from the cache
    newest = WorkflowEvent.objects.order_by("-id").first().pk
    with committed():  # the event's write syncs the index after its commit
        _event(history.recs["E3-ccb"], pk=newest + 1, at=timezone.now() - dt.timedelta(seconds=1))
    after = selectors.figures(selectors.SYSTEM, selectors.parse_query({"period": "2026"}))["total"][""]
    assert after.contacted == before.contacted + 1
