"""The mechanism's figures on the dashboard and in the KPIs, as of any past moment (issue 17: "The
dashboards show coverage, problems, renewals and direct applications, and the KPIs as of any past
date include them"): 应续尽续 (004 二(八)), 直接申请 (002 point 5), 批分单 (004 二(七)). Each figure is
counted by hand on both sides of an as-of date, and its drill-down lists exactly what it counts."""

import pytest
from django.test import Client

from reporting import dashboard, selectors
from reporting.factories import direct_application

pytestmark = pytest.mark.django_db


def _q(**params):
    return selectors.parse_query(params)


# --- 应续尽续 -------------------------------------------------------------------------------------------


FIGS = ("due_30", "due_60", "due_90", "past_due", "renewed", "renewed_other", "repaid", "refused")


def _counts(user, q):
    total = selectors.renewal_figures(user, q)["total"]
    return {k: total[k] for k in FIGS if total[k]}


def test_应续尽续_renewals_due_and_outcomes_as_of_a_past_date_count_what_was_known_then(history, hand_renewals):
    """004 二(八): "及时摸排掌握企业续贷需求 … 对符合条件的小微企业'应续尽续'". As of 03-20 R1's renewal
    (done 03-18, recorded 03-25) is not yet known: it is still due; R5 is not yet recorded."""
    city = history.world.users["city"]
    # 03-20: windows 03-20..04-19 / ..05-19 / ..06-18: R1 (due that day), R2; R3 is due 05-20
    assert _counts(city, _q(period="2026-03", as_of="2026-03-20")) == {"due_30": 2, "due_60": 2, "due_90": 3}
    # 03-31: R1 renewed in March (known since 03-25); R5 recorded; windows ..04-30 / ..05-30 / ..06-29
    assert _counts(city, _q(period="2026-03", as_of="2026-03-31")) == {
        "due_30": 2,
        "due_60": 3,
        "due_90": 4,
        "renewed": 1,
    }
    total = selectors.renewal_figures(city, _q(period="2026-03", as_of="2026-03-31"))["total"]
    assert (total["renewed_amount"], total["due_30_amount"]) == (500_000, 900_000)
    # 04-10, April: R2 refused (04-05); R5 past due unanswered; R1's renewal was in March
    assert _counts(city, _q(period="2026-04", as_of="2026-04-10")) == {
        "due_60": 1,
        "due_90": 2,
        "past_due": 1,
        "refused": 1,
    }
    # 04-04, the day before R2's refusal: R2 still due, nothing refused
    assert _counts(city, _q(period="2026-04", as_of="2026-04-04")) == {
        "due_30": 1,
        "due_60": 2,
        "due_90": 3,
        "past_due": 1,
    }


def test_each_renewal_figure_drills_down_to_the_records_it_counts(history, hand_renewals):
    city = history.world.users["city"]
    q = _q(period="2026-03", as_of="2026-03-31")
    by_name = {r.pk: name for name, r in hand_renewals.items()}
    assert sorted(by_name[r.pk] for r in selectors.renewal_records(city, q, "due_30")) == ["R2", "R5"]
    assert [by_name[r.pk] for r in selectors.renewal_records(city, q, "renewed")] == ["R1"]
    # as of 03-20 R1 is listed as 待续贷 (its renewal was recorded later)
    drilled = dashboard.drill(city, "renewals", {"period": "2026-03", "as_of": "2026-03-20", "figure": "due_30"})
    assert drilled["count"] == 2
    assert [(by_name[r.pk], label) for r, label, _ in drilled["renewal_states"]] == [
        ("R1", "待续贷"),
        ("R2", "待续贷"),
    ]
    page = Client()
    page.force_login(city)
    response = page.get("/reporting/drill/renewals/", {"period": "2026-03", "as_of": "2026-03-31", "figure": "renewed"})
    assert response.status_code == 200
    assert response.content.decode().count('data-testid="drill-row"') == 1
    assert Client().get("/reporting/drill/renewals/").status_code == 302  # signed out: to the login page
    assert page.get("/reporting/drill/elsewhere/").status_code == 404


def test_another_bank_neither_counts_nor_lists_中国银行s_renewals(history, hand_renewals):
    ccb = history.world.users["ccb_admin"]
    q = _q(period="2026-03", as_of="2026-03-31")
    assert _counts(ccb, q) == {}
    assert (
        dashboard.drill(ccb, "renewals", {"period": "2026-03", "as_of": "2026-03-31", "figure": "due_90"})["count"] == 0
    )
    boc = history.world.users["boc_admin"]
    assert _counts(boc, q)["due_90"] == 4


# --- 直接申请 ------------------------------------------------------------------------------------------


def test_直接申请_5个工作日内回复_as_of_both_sides_of_the_due_date(history, committed):
    """002 point 5: "小微“无贷户”授信申请原则上5个工作日内回复". Three direct applications on 03-02
    (reply due 03-09): D1 answered 03-04, D2 never, D3 answered 03-12 (late)."""
    with committed():
        d1 = direct_application(history, "泽州县直申甲店", contact_on="2026-03-04")
        d2 = direct_application(history, "泽州县直申乙店")
        d3 = direct_application(history, "泽州县直申丙店", contact_on="2026-03-12")
    city = history.world.users["city"]

    def seen(as_of):
        q = _q(period="2026-03", as_of=as_of)
        block = dashboard.mechanism_figures(city, q)["direct_applications"]
        ids = {k: selectors.direct_application_ids(city, q, k) for k in ("applications", "on_time", "late")}
        return (block["applications"], block["replied_on_time"], block["late"]), ids

    # 03-05: D1 on time; D2 and D3 are not yet due
    figures, ids = seen("2026-03-05")
    assert figures == (3, 1, 0)
    assert ids == {"applications": sorted([d1.pk, d2.pk, d3.pk]), "on_time": [d1.pk], "late": []}
    # 03-10: D2 and D3 unanswered past their due moment
    figures, ids = seen("2026-03-10")
    assert figures == (3, 1, 2) and ids["late"] == sorted([d2.pk, d3.pk])
    # 03-31: D3 answered late, D2 still overdue
    figures, ids = seen("2026-03-31")
    assert figures == (3, 1, 2) and ids["late"] == sorted([d2.pk, d3.pk])
    # the dashboard's table counts them apart from the 推荐清单
    table = dashboard.build(city, {"period": "2026-03", "as_of": "2026-03-31"})["tables"]["direct"]
    assert table.total[:4] == ["合计", 3, 1, 2]
    drilled = dashboard.drill(city, "direct", {"period": "2026-03", "as_of": "2026-03-10", "figure": "late"})
    assert sorted(lead.pk for lead in drilled["leads"]) == sorted([d2.pk, d3.pk])


# --- 批分单 -------------------------------------------------------------------------------------------


def _problems(user, **params):
    tables = dashboard.build(user, params)["tables"]
    status = {row[0]: row[1] for row in tables["problem_status"].rows}
    kinds = {row[0]: row[1] for row in tables["problem_kinds"].rows if row[1]}
    return status, kinds


def test_批分单_cards_honour_the_period_and_the_as_of_date(history, hand_problems):
    """004 二(七): "填写批分单后转交相关部门协调解决"; the dashboard counts them by kind, department and
    age as they stood at the as-of moment, among those filled in during the period."""
    city = history.world.users["city"]
    # 03-04: P1 accepted (open), P2 not yet filled in
    assert _problems(city, period="2026-03", as_of="2026-03-04") == (
        {"未办结": 1, "其中部门逾期": 0, "已办结": 0},
        {"抵质押登记": 1},
    )
    # 03-07: P1 answered, not yet closed: still open; P2 open
    assert _problems(city, period="2026-03", as_of="2026-03-07")[0] == {"未办结": 2, "其中部门逾期": 0, "已办结": 0}
    # 03-10: P1 closed; P2 within its 5 working days
    assert _problems(city, period="2026-03", as_of="2026-03-10") == (
        {"未办结": 1, "其中部门逾期": 0, "已办结": 1},
        {"行政许可": 1},
    )
    # 03-13: P2's department is past its due moment (end of 03-12)
    assert _problems(city, period="2026-03", as_of="2026-03-13")[0] == {"未办结": 1, "其中部门逾期": 1, "已办结": 1}
    # April as of 04-10: only P3 (P2 was filled in in March)
    assert _problems(city, period="2026-04", as_of="2026-04-10") == (
        {"未办结": 1, "其中部门逾期": 0, "已办结": 0},
        {"补充要素": 1},
    )
    # the year as of 04-10: all three; in 泽州县 the same, in another city's county none
    assert _problems(city, period="2026", as_of="2026-04-10")[0] == {"未办结": 2, "其中部门逾期": 1, "已办结": 1}
    assert _problems(city, period="2026", as_of="2026-04-10", region="140525")[0] == {
        "未办结": 2,
        "其中部门逾期": 1,
        "已办结": 1,
    }
    assert _problems(city, period="2026", as_of="2026-04-10", region="140522")[0] == {
        "未办结": 0,
        "其中部门逾期": 0,
        "已办结": 0,
    }


def test_批分单_figures_drill_down_to_their_problems(history, hand_problems):
    city = history.world.users["city"]
    params = {"period": "2026", "as_of": "2026-04-10"}
    overdue = dashboard.drill(city, "problems", {**params, "figure": "overdue"})
    assert [r.problem.pk for r in overdue["problems"]] == [hand_problems["P2"].pk]
    closed = dashboard.drill(city, "problems", {**params, "figure": "closed"})
    assert [r.problem.pk for r in closed["problems"]] == [hand_problems["P1"].pk]
    # as of 03-07 P1 is listed as answered
    answered = dashboard.drill(
        city, "problems", {"period": "2026-03", "as_of": "2026-03-07", "figure": "open", "kind": "collateral"}
    )
    assert [(r.problem.pk, r.state_label) for r in answered["problems"]] == [(hand_problems["P1"].pk, "部门已答复")]
    # an enterprise reads only its own 批分单: P2's owner sees P2 alone, another enterprise none
    _, stranger = history.world.entity(name="泽州县无关小店")
    assert dashboard.drill(stranger, "problems", {**params, "figure": "open"})["count"] == 0
    owner = hand_problems["P2_owner"]
    assert [r.problem.pk for r in dashboard.drill(owner, "problems", {**params, "figure": "open"})["problems"]] == [
        hand_problems["P2"].pk
    ]


def test_the_kpi_api_includes_the_mechanism_figures_as_of_the_date(history, hand_renewals, hand_problems):
    client = Client()
    client.force_login(history.world.users["city"])
    body = client.get("/api/v1/kpis/", {"period": "2026-03", "as_of": "2026-03-20"}).json()
    assert body["renewals"]["total"]["due_30"] == 2 and body["renewals"]["total"]["renewed"] == 0
    assert (body["problems"]["open"], body["problems"]["closed"], body["problems"]["overdue"]) == (1, 1, 1)
    assert body["direct_applications"]["applications"] == 0
    later = client.get("/api/v1/kpis/", {"period": "2026-03", "as_of": "2026-03-31"}).json()
    assert later["renewals"]["total"]["renewed"] == 1
