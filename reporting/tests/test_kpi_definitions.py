"""The KPI definitions on a small hand-built history (reporting/factories.py), worked
out by hand, and the SQL over the statistics index against the pure reference
implementation (kpis.state_as_of) at several moments."""

import datetime as dt
from decimal import Decimal

import pytest

from matching.models import DeadlineClock, Recommendation, WorkflowEvent
from reporting import facts, kpis, selectors
from reporting.factories import at, later_activity, travel
from reporting.models import LedgerFact

pytestmark = pytest.mark.django_db


def test_march_figures_match_the_hand_count(history, march):
    # given the March history, as of the end of March
    # when the figures are computed for the county, by bank
    result = selectors.figures_with_activity(history.world.users["city"], march, ["county", "bank", "month"])
    f = result["total"][""]

    # then the funnel: visited 2, declared 4 (110 万), recommended 4 户 in 5 rows (110 万 need: E1's
    # 30 万 once, though pushed to two banks),
    # contacted 3 (E1, E2, E4), credited 2 (80 万), disbursed 1 (30 万 in 2 drawdowns)
    assert [s["count"] for s in f.funnel()] == [2, 4, 4, 3, 2, 1]
    assert (f.declared_amount, f.need_amount, f.credit_amount, f.disbursed_amount) == (
        1_100_000,
        1_100_000,
        800_000,
        300_000,
    )
    assert (f.rows, f.credited_rows, f.disbursements, f.declined_rows, f.removed) == (5, 2, 2, 1, 1)
    # and 三个100% over the list without E4 (removed): coverage 2/3, credit 2/3 (E3 still pending
    # counts as meeting the conditions), landing 1/1 (E2 gave its credit up)
    assert [(r.numerator, r.denominator) for r in f.three_100()] == [(2, 3), (2, 3), (1, 1)]
    assert [r.percent for r in f.three_100()] == [66.7, 66.7, 100.0]
    # and credit-loan share 1 of 2 loans, 30 of 80 万; one first loan; one medium/long-term (36 months)
    assert (
        f.credit_loans,
        f.credit_loan_amount,
        f.credit_loan_share_count().percent,
        f.credit_loan_share_amount().percent,
    ) == (1, 300_000, 50.0, 37.5)
    assert (f.first_loans, f.medium_long, f.medium_long_amount) == (1, 1, 500_000)
    # and rates: (3.65 + 4.2) / 2 = 3.925; weighted (3.65×30 + 4.2×50) / 80 = 3.99375
    assert (f.average_rate(), f.weighted_rate()) == (Decimal("3.925"), Decimal("3.994"))
    # and timeliness: feedback due 03-09 — E1 boc, E1 ccb, E4 on time; E2 (03-16) late, E3 never
    assert (f.feedback_determined, f.feedback_on_time, f.feedback_late) == (5, 3, 2)
    assert (f.decision_determined, f.decision_on_time, f.decision_late) == (2, 2, 0)
    # and satisfaction: one rating of 5
    assert (f.rated, f.satisfaction()) == (1, Decimal("5.00"))

    # and per bank (笔): 中国银行 3 rows, 2 credits, 1 late feedback; 建设银行 2 rows, 1 late (E3)
    banks = {selectors.bank_names([k])[k]: v for k, v in result["bank"].items()}
    assert (banks["中国银行"].rows, banks["中国银行"].credited_rows, banks["中国银行"].feedback_late) == (3, 2, 1)
    assert (banks["中国建设银行"].rows, banks["中国建设银行"].credited_rows, banks["中国建设银行"].feedback_late) == (
        2,
        0,
        1,
    )
    assert banks["中国银行"].satisfaction() == Decimal("5.00")
    # and the county row is the total; March is the only month
    assert result["county"]["140525"].three_100() == f.three_100()
    assert set(result["month"]) == {"2026-03"}


def test_early_march_as_of_the_8th(history):
    # given the same history, seen as of 8 March (before E2's contact, before any credit)
    q = selectors.parse_query({"period": "2026-03", "as_of": "2026-03-08"})
    f = selectors.figures_with_activity(history.world.users["city"], q, [])["total"][""]
    # then E1 and E4 were contacted, E4 already removed; nothing credited; no clock past due
    assert (f.contacted, f.credited, f.removed) == (2, 0, 1)
    assert [(r.numerator, r.denominator) for r in f.three_100()] == [(1, 3), (0, 3), (0, 0)]
    assert f.landing_rate().percent is None
    assert (f.feedback_determined, f.feedback_on_time, f.feedback_late) == (3, 3, 0)
    assert f.decision_determined == 0


def _first_declaration(declaration) -> int:
    """The declaration that first stated a need: a 改推 follows a declined recommendation back."""
    while declaration.redirected_from_id is not None:
        declaration = declaration.redirected_from.declaration
    return declaration.pk


def _reference(moment: dt.datetime, period=(dt.date(2026, 3, 1), dt.date(2026, 4, 30))) -> kpis.Figures:
    """The pure reference: kpis.state_as_of over each recommendation's raw events."""
    states = []
    for rec in Recommendation.objects.select_related("declaration"):
        local = rec.pushed_at.astimezone(dt.timezone(dt.timedelta(hours=8))).date()
        if not period[0] <= local <= period[1]:
            continue
        clocks = {
            c.kind: kpis.Clock(c.due_at, c.satisfied_at) for c in DeadlineClock.objects.filter(recommendation=rec)
        }
        ledger = kpis.Ledger(
            id=rec.pk,
            entity_id=rec.entity_id,
            pushed_at=rec.pushed_at,
            need_amount=rec.declaration.amount,
            need_id=_first_declaration(rec.declaration),
            events=[kpis.Event(e.kind, e.created_at, e.data) for e in WorkflowEvent.objects.filter(recommendation=rec)],
            feedback_clock=clocks.get("feedback"),
            decision_clock=clocks.get("decision"),
        )
        state = kpis.state_as_of(ledger, moment)
        if state is not None:
            states.append(state)
    return kpis.figures_of(states)


@pytest.mark.parametrize(
    "day",
    ["2026-03-02", "2026-03-04", "2026-03-10", "2026-03-13", "2026-03-20", "2026-03-31", "2026-04-05", "2026-11-01"],
)
def test_the_sql_agrees_with_the_reference_at_every_moment(history, day, committed):
    # given the history with April's activity too
    with committed():
        later_activity(history)
    moment = at(day, 23)
    q = selectors.parse_query({"date_from": "2026-03-01", "date_to": "2026-04-30", "as_of": day})
    # when the database computes the figures as of the end of the day
    sql = selectors.figures(selectors.SYSTEM, q)["total"][""]
    # then they equal the reference implementation's, field by field
    reference = _reference(q.as_of)
    assert moment.date() == q.as_of.date()
    for name in (
        "rows",
        "recommended",
        "contacted",
        "credited",
        "credited_rows",
        "credit_amount",
        "credit_loans",
        "credit_loan_amount",
        "first_loans",
        "medium_long",
        "medium_long_amount",
        "disbursed",
        "disbursed_amount",
        "disbursements",
        "declined_rows",
        "removed",
        "list_entities",
        "list_contacted",
        "list_eligible",
        "list_credited",
        "list_need_funds",
        "list_disbursed",
        "feedback_determined",
        "feedback_on_time",
        "feedback_late",
        "decision_determined",
        "decision_on_time",
        "decision_late",
        "rated",
        "score_sum",
        "need_amount",
    ):
        assert getattr(sql, name) == getattr(reference, name), (day, name)
    assert sql.average_rate() == reference.average_rate() and sql.weighted_rate() == reference.weighted_rate()


def test_the_python_index_equals_the_sql_index(history):
    # given the index built set-based in PostgreSQL
    facts.sync(full=True)
    sql_rows = {f.pk: f for f in LedgerFact.objects.all()}
    # when each row is folded in Python instead (the path of other databases)
    LedgerFact.objects.all().delete()
    facts._refresh_python(None, None)
    # then every field is the same
    fields = [f.name for f in LedgerFact._meta.fields]
    for fact in LedgerFact.objects.all():
        for name in fields:
            assert getattr(fact, name) == getattr(sql_rows[fact.pk], name), name
    assert set(sql_rows) == set(LedgerFact.objects.values_list("pk", flat=True))


def test_ratios_without_denominator_show_a_dash():
    ratio = kpis.Ratio(0, 0, "贷款落地率")
    assert ratio.percent is None and ratio.display() == "—"
    assert kpis.Ratio(1, 3).percent == 33.3


def test_ranking_shares_ranks_on_ties():
    rows = kpis.rank(
        [{"name": "乙", "credit_amount": 5}, {"name": "甲", "credit_amount": 9}, {"name": "丙", "credit_amount": 5}]
    )
    assert [(r["name"], r["rank"]) for r in rows] == [("甲", 1), ("丙", 2), ("乙", 2)]


def test_growth_and_verdicts():
    base = kpis.Balances(dt.date(2025, 12, 1), 100, 1000, 20, Decimal(450))
    latest = kpis.Balances(dt.date(2026, 3, 1), 112, 1040, 28, Decimal("481.6"))
    assert kpis.growth(112, 100) == 12.0 and kpis.growth(1040, 1000) == 4.0
    # 一高: 12% > 4%; 一提: 25% > 20%; 一降: 4.3% <= 4.5%
    assert kpis.one_high_verdict(latest, base, latest) == {"high": True, "up": True, "down": True}
    assert kpis.one_high_verdict(None, None, None) == {"high": None, "up": None, "down": None}


def test_todays_index_paths_count_visits_and_declarations_like_grouping(history, committed):
    from matching import services as s

    staff = history.world.users["staff"]
    e1, e3 = history.entities["E1"][0], history.entities["E3"][0]
    # given E1 visited twice in March, E3 once in February and once in March
    with travel("2026-03-07"), committed():
        s.visit_record(actor=staff, entity_id=e1.pk, visited_on=dt.date(2026, 3, 5), people="李四")
        s.visit_record(actor=staff, entity_id=e3.pk, visited_on=dt.date(2026, 3, 6), people="李四")
        s.visit_record(actor=staff, entity_id=e3.pk, visited_on=dt.date(2026, 2, 25), people="李四")  # recorded late
    city = history.world.users["city"]
    # when March is counted today (index path) and as of the end of today (grouping path)
    today = selectors.figures_with_activity(city, selectors.parse_query({"period": "2026-03"}), ["county"])
    exact = selectors.figures_with_activity(
        city, selectors.parse_query({"period": "2026-03", "as_of": dt.date.today().isoformat()}), ["county"]
    )
    # then both count E1, E2 and E3 once each, and the four declarations
    for result in (today, exact):
        f = result["total"][""]
        assert (f.visited, f.declared, f.declared_amount) == (3, 4, 1_100_000)
        assert result["county"]["140525"].visited == 3
    # and the whole year counts E3's February visit in the same entity
    year = selectors.figures_with_activity(city, selectors.parse_query({"period": "2026"}), [])["total"][""]
    assert year.visited == 3 and year.declared == 5
