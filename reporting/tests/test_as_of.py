"""Figures as of a past date stay fixed after new activity; today's figures move."""

import pytest

from reporting import exports, selectors
from reporting.factories import REPORT_FIGURES, at, later_activity

pytestmark = pytest.mark.django_db


def _snapshot(user, q):
    result = selectors.figures_with_activity(user, q, ["county", "bank", "month"])
    return {dim: {key: fig.as_dict() for key, fig in groups.items()} for dim, groups in result.items()}


def test_figures_as_of_the_end_of_march_do_not_change_after_april(history, march, committed, read_xlsx):
    city = history.world.users["city"]
    # given the figures of March as of 31 March, and the same month seen today
    before = _snapshot(city, march)
    today_before = selectors.figures(city, selectors.parse_query({"period": "2026-03"}))["total"][""]
    effectiveness_before = [
        [c.value for c in row]
        for row in read_xlsx(exports.effectiveness_xlsx(city, march).content).iter_rows(min_row=5, max_row=6)
    ]

    # when April brings new activity on March's recommendations (E3 contacted late, E2 rated)
    # and on a new one (E5)
    with committed():
        later_activity(history)

    # then March as of 31 March is unchanged, figure by figure, and so is its 成效统计表
    assert _snapshot(city, march) == before
    effectiveness_after = [
        [c.value for c in row]
        for row in read_xlsx(exports.effectiveness_xlsx(city, march).content).iter_rows(min_row=5, max_row=6)
    ]
    assert effectiveness_after == effectiveness_before
    # while March seen today reflects April's contact and rating
    today_after = selectors.figures(city, selectors.parse_query({"period": "2026-03"}))["total"][""]
    assert (today_before.contacted, today_after.contacted) == (3, 4)
    assert (today_before.rated, today_after.rated) == (1, 2)


def test_a_bank_correction_does_not_change_the_past(history):
    import time_machine

    from reporting import services

    admin = history.world.users["boc_admin"]
    branch = history.world.branches["boc"]
    figures = dict(REPORT_FIGURES)
    with time_machine.travel(at("2026-04-05"), tick=False):
        services.bank_report_submit(actor=admin, branch_id=branch.pk, period="2026-03", **figures)
    with time_machine.travel(at("2026-05-06"), tick=False):
        services.bank_report_submit(
            actor=admin, branch_id=branch.pk, period="2026-03", **{**figures, "small_business_balance": 120_000_000}
        )
    april = selectors.parse_query({"period": "2026-03", "as_of": "2026-04-30"})
    may = selectors.parse_query({"period": "2026-03", "as_of": "2026-05-31"})
    assert selectors.one_high(admin, april)["latest"]["small_business"] == 100_000_000
    assert selectors.one_high(admin, may)["latest"]["small_business"] == 120_000_000
