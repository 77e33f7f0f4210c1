"""Who sees which figures: the tenant restriction applies to the KPIs, the pages, the API
and the exports."""

import pytest
from django.test import Client

from portal.factories import user_with_role
from portal.models import Role
from reporting import selectors

pytestmark = pytest.mark.django_db


def _client(user):
    client = Client()
    client.force_login(user)
    return client


def test_a_bank_administrator_sees_his_own_branches_only(history, march):
    # given the March history with 中国银行 and 建设银行 leads in 泽州
    boc, ccb = history.world.users["boc_admin"], history.world.users["ccb_admin"]
    # when each bank administrator asks for the figures
    boc_total = selectors.figures(boc, march, ["bank"])
    ccb_total = selectors.figures(ccb, march, ["bank"])
    # then each sees his bank's rows only
    assert boc_total["total"][""].rows == 3 and set(boc_total["bank"]) == {str(history.recs["E1-boc"].bank_id)}
    assert ccb_total["total"][""].rows == 2 and set(ccb_total["bank"]) == {str(history.recs["E1-ccb"].bank_id)}
    # and asking for the other bank by filter gives nothing
    other = selectors.parse_query({"period": "2026-03", "as_of": "2026-03-31", "bank": "ccb"})
    assert selectors.figures(boc, other)["total"][""].rows == 0
    # and visits and declarations are not shown to banks
    assert selectors.figures_with_activity(boc, march, [])["total"][""].visited is None


def test_regulators_see_their_region_only(history, march):
    city = history.world.users["city"]
    other_city = user_with_role(Role.CITY_REGULATOR, region_code="140100")
    province = user_with_role(Role.PROVINCE_REGULATOR)
    assert selectors.figures(city, march)["total"][""].rows == 5
    assert selectors.figures(province, march)["total"][""].rows == 5
    assert selectors.figures(other_city, march)["total"][""].rows == 0
    # a filter outside the region does not widen it
    outside = selectors.parse_query({"period": "2026-03", "region": "1405"})
    assert selectors.figures(other_city, outside)["total"][""].rows == 0


def test_the_facts_scope_is_the_ledger_scope(history):
    from reporting import ledger

    q = selectors.parse_query({"period": "2026"})
    for user in [history.world.users[k] for k in ("city", "staff", "boc_admin", "ccb_admin", "boc_manager")] + [
        history.entities["E1"][1]
    ]:
        expected = set(ledger.ledger_queryset(user, q.filters).values_list("pk", flat=True))
        assert set(selectors.facts_queryset(user, q).values_list("recommendation_id", flat=True)) == expected, user


@pytest.mark.parametrize(
    "role, status",
    [
        (Role.ENTERPRISE_USER, 403),
        (Role.ACCOUNT_MANAGER, 403),
        (Role.TASK_FORCE_STAFF, 200),
        (Role.CONVENER, 200),
        (Role.CITY_REGULATOR, 200),
        (Role.PROVINCE_REGULATOR, 200),
        (Role.BANK_ADMIN, 200),
        (Role.PLATFORM_ADMIN, 200),
    ],
)
def test_who_may_open_the_dashboard_and_export(role, status):
    client = _client(user_with_role(role))
    assert client.get("/reporting/").status_code == status
    assert client.get("/reporting/export/effectiveness.xlsx?period=2026").status_code == status
    assert client.get("/reporting/tables/funnel.csv?period=2026").status_code == status
    assert client.get("/api/v1/kpis/?period=2026").status_code == status


def test_the_api_reports_only_for_own_branches(history):
    boc_admin, ccb_admin = history.world.users["boc_admin"], history.world.users["ccb_admin"]
    body = {
        "branch": history.world.branches["boc"].pk,
        "period": "2026-03",
        "small_business_balance": 100_000_000,
        "all_loans_balance": 500_000_000,
        "credit_loan_balance": 30_000_000,
        "average_rate": "4.150",
    }
    # a bank administrator reports for his sub-branch
    response = _client(boc_admin).post("/api/v1/bank-reports/", body, content_type="application/json")
    assert response.status_code == 201, response.content
    # another bank's administrator cannot report for it (answered as for an unknown branch), nor see it
    response = _client(ccb_admin).post("/api/v1/bank-reports/", body, content_type="application/json")
    assert response.status_code == 404 and "branch" in response.json()["errors"]
    unknown = _client(ccb_admin).post(
        "/api/v1/bank-reports/", {**body, "branch": 2_000_000_000}, content_type="application/json"
    )
    assert (unknown.status_code, unknown.json()) == (response.status_code, response.json())
    assert _client(ccb_admin).get("/api/v1/bank-reports/").json()["count"] == 0
    assert _client(boc_admin).get("/api/v1/bank-reports/").json()["count"] == 1
    # the city mechanism reads it; a task force worker cannot report
    assert _client(history.world.users["city"]).get("/api/v1/bank-reports/").json()["count"] == 1
    response = _client(history.world.users["staff"]).post(
        "/api/v1/bank-reports/", body, content_type="application/json"
    )
    assert response.status_code == 403


def test_targets_are_set_by_platform_administrators_only(history):
    body = {"region": "140500", "year": 2026, "metric": "sme_net_increase", "value": "2500000000"}
    assert (
        _client(history.world.users["city"]).post("/api/v1/targets/", body, content_type="application/json").status_code
        == 403
    )
    admin = user_with_role(Role.PLATFORM_ADMIN)
    assert _client(admin).post("/api/v1/targets/", body, content_type="application/json").status_code == 201
    assert _client(history.world.users["city"]).get("/api/v1/targets/").json()["count"] == 1
    assert (
        _client(user_with_role(Role.CITY_REGULATOR, region_code="140100")).get("/api/v1/targets/").json()["count"] == 0
    )


def test_nothing_to_see_is_zero_not_an_error(history):
    # given a branch that does not exist, and a role that sees no ledger rows
    city = history.world.users["city"]
    q = selectors.parse_query({"period": "2026-03", "branch": "999999"})
    # then the figures are zero (no SQL compiled from an empty queryset)
    assert selectors.figures_with_activity(city, q, ["county", "bank"])["total"][""].rows == 0
    assert _client(city).get("/api/v1/kpis/", {"branch": 999999}).status_code == 200
    assert _client(city).get("/reporting/", {"branch": 999999}).status_code == 200
