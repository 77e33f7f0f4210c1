"""Direct applications in the ledger and the figures, counted apart (issue 17 part 4; seed
002_d26ed7e686b841c7.txt point 5: "小微“无贷户”授信申请原则上5个工作日内回复"). The notice's 成效
figures (三个100%, the funnel of the 推荐清单) are about the pushed leads; the direct applications
are their own figures (origin=direct) and a column and filter of the ledger."""

import pytest

from portal.errors import ApplicationError
from reporting import ledger, selectors
from reporting.factories import direct_application


def test_直接申请_are_counted_apart_from_the_推荐清单_figures_by_hand(history, committed):
    """ "小微“无贷户”授信申请原则上5个工作日内回复": two direct applications on 03-02 — D1 answered on
    03-04 (in time), D2 never (its reply overdue after 03-09)."""
    with committed():
        d1 = direct_application(history, "泽州县直申甲店", contact_on="2026-03-04")
        d2 = direct_application(history, "泽州县直申乙店")
    city = history.world.users["city"]
    march = selectors.parse_query({"period": "2026-03", "as_of": "2026-03-31"})
    # the 推荐清单's figures are as before the direct applications (the March hand count)
    pushed = selectors.figures(city, march)["total"][""]
    assert (pushed.rows, pushed.recommended, pushed.contacted) == (5, 4, 3)
    assert [(r.numerator, r.denominator) for r in pushed.three_100()] == [(2, 3), (2, 3), (1, 1)]
    # the direct applications' own: 2 rows, 2 户, 1 contacted; reply 1 on time, 1 late
    direct = selectors.figures(
        city, selectors.parse_query({"period": "2026-03", "as_of": "2026-03-31", "origin": "direct"})
    )
    f = direct["total"][""]
    assert (f.rows, f.recommended, f.contacted) == (2, 2, 1)
    assert (f.feedback_on_time, f.feedback_late) == (1, 1)
    # the ledger shows all 7 rows by default, the two direct ones marked, and filters them
    rows = [ledger.ledger_row(r) for r in ledger.ledger_queryset(city, {"period": "2026-03"})]
    assert len(rows) == 7
    marked = {r["id"]: (r["origin_label"], r["no_loan_entity"]) for r in rows if r["origin"] == "direct"}
    assert marked == {d1.pk: ("直接申请", True), d2.pk: ("直接申请", True)}
    only = ledger.ledger_queryset(city, {"period": "2026-03", "origin": "direct"})
    assert sorted(r.pk for r in only) == sorted([d1.pk, d2.pk])


def test_an_unknown_origin_is_refused_in_chinese():
    with pytest.raises(ApplicationError) as refused:
        ledger.parse_filters({"origin": "elsewhere"})
    assert refused.value.field_errors["origin"] == ["来源应为 pushed(推荐清单推送) 或 direct(直接申请)"]
