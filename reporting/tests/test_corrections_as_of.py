"""Corrections and the figures as of a date (issue 16 item 6: "the KPIs as of a past date still
show what was known then"): hand-counted figures of March 2026 as of 31 March, before and
after April's corrections of a decision, a drawdown and a decline, and as of 30 April.
Also checked against the reference definition (kpis.state_as_of over the raw events)."""

from decimal import Decimal

import pytest

from matching import services as s
from matching.models import ClockKind, DeadlineClock, WorkflowEvent
from products.factories import build_world
from reporting import kpis, selectors
from reporting.factories import at, manager, push, travel
from reporting.models import LedgerFact, LedgerFactVersion

pytestmark = pytest.mark.django_db

TERMS = dict(guarantee="credit", is_credit_loan=True, is_first_loan=False)


@pytest.fixture
def corrected(db, committed):
    """E1: approved 20 万 for 24 months on 5 March, 15 万 drawn on 10 March; in April the
    drawdown is corrected to 10 万 (2 April) and the decision to 12 万 for 12 months (3 April).
    E2: declined on 6 March by mistake; the decline is taken back on 5 April and 5 万 approved
    on 6 April."""
    with travel("2026-02-20"), committed():
        world = build_world()
        e1, e1_user = world.entity(name="泽州县更正测试一号店")
        e2, e2_user = world.entity(name="泽州县更正测试二号店")
    admin = world.users["boc_admin"]
    with travel("2026-03-02"), committed():
        one = push(world, e1, e1_user, ["boc"])["boc"]
        two = push(world, e2, e2_user, ["boc"])["boc"]
        worker = manager(world, one)
        manager(world, two)
    with travel("2026-03-03"), committed():
        for lead in (one, two):
            s.recommendation_contact(actor=worker, recommendation_id=lead.pk)
            s.recommendation_materials_complete(actor=worker, recommendation_id=lead.pk)
    with travel("2026-03-05"), committed():
        s.recommendation_approve(
            actor=admin,
            recommendation_id=one.pk,
            credit_amount=200_000,
            rate_percent="4.0",
            term_months=24,
            override_reason="项目周期长, 经审批给予 24 个月",
            **TERMS,
        )
    with travel("2026-03-06"), committed():
        s.recommendation_decline(actor=worker, recommendation_id=two.pk, reason_code="no_need")
    with travel("2026-03-10"), committed():
        drawdown = s.recommendation_disburse(
            actor=worker, recommendation_id=one.pk, amount=150_000, disbursed_on=at("2026-03-10").date()
        )
    with travel("2026-04-02"), committed():
        s.disbursement_correct(
            actor=admin, recommendation_id=one.pk, disbursement_id=drawdown.pk, amount=100_000, reason="放款金额录错"
        )
    with travel("2026-04-03"), committed():
        s.recommendation_decision_correct(
            actor=admin,
            recommendation_id=one.pk,
            credit_amount=120_000,
            rate_percent="3.5",
            term_months=12,
            reason="审批书为 12 万元、12 个月",
            **TERMS,
        )
    with travel("2026-04-05"), committed():
        s.recommendation_state_correct(actor=admin, recommendation_id=two.pk, reason="误选不予授信")
    with travel("2026-04-06"), committed():
        s.recommendation_approve(
            actor=admin, recommendation_id=two.pk, credit_amount=50_000, rate_percent="3.5", term_months=12, **TERMS
        )
    return world, one, two


def _total(user, as_of):
    q = selectors.parse_query({"period": "2026-03", "as_of": as_of})
    return selectors.figures(user, q)["total"][""]


def _reference(leads, as_of):
    """kpis.state_as_of over each lead's raw events (the definition the SQL follows)."""
    states = []
    for lead in leads:
        clocks = {c.kind: c for c in DeadlineClock.objects.filter(recommendation=lead)}
        feedback, decision = clocks.get(ClockKind.FEEDBACK), clocks.get(ClockKind.DECISION)
        ledger = kpis.Ledger(
            id=lead.pk,
            entity_id=lead.entity_id,
            pushed_at=lead.pushed_at,
            need_amount=lead.declaration.amount,
            events=[
                kpis.Event(e.kind, e.created_at, e.data)
                for e in WorkflowEvent.objects.filter(recommendation=lead).order_by("created_at", "id")
            ],
            feedback_clock=kpis.Clock(feedback.due_at, feedback.satisfied_at) if feedback else None,
            decision_clock=kpis.Clock(decision.due_at, decision.satisfied_at) if decision else None,
        )
        states.append(kpis.state_as_of(ledger, as_of))
    return kpis.figures_of(states)


def test_更正后_截至过去日期的指标仍为当时已登记的情况(corrected):
    world, one, two = corrected
    city = world.users["city"]

    # given March's figures as of 31 March, counted by hand from what was recorded by then:
    # E1 granted 20 万 for 24 months (中长期) and 15 万 drawn; E2 declined
    march = _total(city, "2026-03-31")
    assert (march.credited, march.credited_rows, march.credit_amount) == (1, 1, 200_000)
    assert (march.medium_long, march.medium_long_amount) == (1, 200_000)
    assert (march.disbursed, march.disbursed_amount, march.disbursements) == (1, 150_000, 1)
    assert march.declined_rows == 1
    assert march.rate_sum == Decimal("4.0")

    # when seen as of 30 April, after the corrections: E1's 12 万 for 12 months with 10 万
    # drawn, E2's decline taken back and 5 万 granted
    april = _total(city, "2026-04-30")
    assert (april.credited, april.credited_rows, april.credit_amount) == (2, 2, 170_000)
    assert (april.medium_long, april.medium_long_amount) == (0, 0)
    assert (april.disbursed, april.disbursed_amount, april.disbursements) == (1, 100_000, 1)
    assert april.declined_rows == 0
    assert april.rate_sum == Decimal("7.0")

    # and in between (2 April: the drawdown corrected, the decision not yet)
    between = _total(city, "2026-04-02")
    assert (between.credit_amount, between.disbursed_amount, between.declined_rows) == (200_000, 100_000, 1)

    # and the reference definition over the raw events agrees at each moment
    for day, figures in (("2026-03-31", march), ("2026-04-02", between), ("2026-04-30", april)):
        reference = _reference([one, two], selectors.parse_query({"as_of": day}).as_of)
        for name in ("credited", "credit_amount", "medium_long", "disbursed", "disbursed_amount", "declined_rows"):
            assert getattr(reference, name) == getattr(figures, name), (day, name)


def test_更正由写入同步统计索引_而非读取(corrected):
    world, one, two = corrected
    # given the corrections committed, before any figure is read: the index holds the
    # corrected facts, and the rows as they were before each correction, valid until it
    fact = LedgerFact.objects.get(pk=one.pk)
    assert (fact.credit_amount, fact.term_months, fact.disbursed_total) == (120_000, 12, 100_000)
    assert LedgerFact.objects.get(pk=two.pk).declined_at is None
    kept = LedgerFactVersion.objects.filter(recommendation=one).order_by("valid_until")
    assert [(v.credit_amount, v.disbursed_total) for v in kept] == [(200_000, 150_000), (200_000, 100_000)]
    assert kept[0].valid_from is None and kept[1].valid_from == kept[0].valid_until
    assert LedgerFactVersion.objects.get(recommendation=two).declined_at is not None
