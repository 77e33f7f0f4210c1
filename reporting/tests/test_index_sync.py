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

from matching import services as s
from matching.models import ClockKind, DeadlineClock, WorkflowEvent
from reporting import facts, kpis, selectors
from reporting.models import FactWatermark, LedgerFact

pytestmark = pytest.mark.django_db


def _event(rec, *, pk: int, kind: str = kpis.CONTACTED, at: dt.datetime | None = None) -> WorkflowEvent:
    # an explicit id: the order in which concurrent transactions commit is not the order of their ids
    return WorkflowEvent.objects.create(
        id=pk, declaration_id=rec.declaration_id, recommendation=rec, kind=kind, created_at=at or timezone.now()
    )


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
    with committed():  # the contact's write syncs the index after its commit
        s.recommendation_contact(actor=history.world.users["ccb_admin"], recommendation_id=history.recs["E3-ccb"].pk)
    after = selectors.figures(selectors.SYSTEM, selectors.parse_query({"period": "2026"}))["total"][""]
    assert after.contacted == before.contacted + 1


def test_recomputing_provisional_due_dates_keeps_the_index_in_step(history, committed):
    from matching.clocks import recompute_provisional

    # given a clock whose due date was a guess (its year not yet in the calendar), indexed so
    rec = history.recs["E3-ccb"]
    clock = DeadlineClock.objects.get(recommendation=rec, kind=ClockKind.FEEDBACK)
    guessed = clock.due_at + dt.timedelta(days=2)
    DeadlineClock.objects.filter(pk=clock.pk).update(provisional=True, due_at=guessed)
    facts.refresh([rec.pk])
    assert LedgerFact.objects.get(pk=rec.pk).feedback_due_at == guessed
    # when the year is entered and the clocks are recomputed (a committed write, no read)
    with committed():
        assert recompute_provisional(2026) >= 1
    # then the index carries the recomputed due moment at once
    recomputed = DeadlineClock.objects.get(pk=clock.pk)
    fact = LedgerFact.objects.get(pk=rec.pk)
    assert not recomputed.provisional and recomputed.due_at != guessed
    assert fact.feedback_due_at == recomputed.due_at and not fact.clock_provisional
