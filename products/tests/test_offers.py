"""Offers as the enterprise reads them (issue 15, items 10 and 12): an amount computed from its own
data is an offer, a product's own maximum is not ("产品最高额度 1,000 万元（以银行审批为准）"; 001
附件1: "具体根据单个客户资信和经营情况进行预授信，最终以银行审批结果为准"), the list is ordered by
fit, and a credit line says how it is drawn (001 附件3: "授信期限最长 36 个月，单笔用信期限最长 13 个月")."""

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from products.presentation import offer_text, order_by_fit, wan_grouped

pytestmark = pytest.mark.django_db

# a snack shop of 泽州 (growth tier, revenue 90 万, operator 40, clean credit)
SNACK_SHOP = {
    "entity_type": "individual_business",
    "region_code": "140525",
    "industry_code": "62",
    "industry_detail": "6210",
    "established_on": "2019-03-01",
    "register_status": "active",
    "tier": "growth",
    "honor": "none",
    "annual_revenue": "90",
    "birth_date": "1985-05-05",
    "nationality": "CN",
    "local_residence": "yes",
    "dishonest_debtor": "no",
    "joint_punishment": "no",
    "consumption_restricted": "no",
    "major_bad_record": "no",
    "pending_litigation": "no",
    "overdue_consecutive_24m": "0",
    "overdue_total_24m": "0",
    "overdue_12m": "0",
}


@pytest.fixture(autouse=True)
def _fresh_throttle():
    cache.clear()
    yield
    cache.clear()


def test_a_products_bare_maximum_is_not_an_offer():
    assert wan_grouped(10_000_000) == "1,000" and wan_grouped(123_456_789) == "12,345.68"
    assert offer_text(10_000_000, "product_max") == "产品最高额度 1,000 万元（以银行审批为准）"
    assert offer_text(180_000, "entity_data") == "最高可贷 18 万元"
    assert offer_text(100_000, "requested") == "可按申请金额 10 万元申请（以银行审批为准）"
    assert offer_text(None, None) == "额度由银行审批确定"


def test_results_are_ordered_by_fit_then_amount():
    results = [
        {"product": "a", "verdict": "eligible", "offer_basis": "product_max", "max_amount": 10_000_000},
        {"product": "b", "verdict": "incomplete", "offer_basis": None, "max_amount": None},
        {"product": "c", "verdict": "eligible", "offer_basis": "entity_data", "max_amount": 30_000},
        {"product": "d", "verdict": "eligible", "offer_basis": "entity_data", "max_amount": 180_000},
        {"product": "e", "verdict": "eligible", "offer_basis": None, "max_amount": None},
        {"product": "f", "verdict": "eligible", "offer_basis": "requested", "max_amount": 50_000},
    ]
    assert [r["product"] for r in order_by_fit(results)] == ["d", "c", "f", "a", "e", "b"]


def test_the_self_test_lists_a_snack_shops_own_offers_before_a_products_bare_maximum(catalogue):
    # given a snack shop's self-test
    response = Client().post(reverse("products:self_test"), SNACK_SHOP)
    assert response.status_code == 200
    results = response.context["results"]
    eligible = [r for r in results if r["verdict"] == "eligible"]
    # then the first is an offer computed from its own data, and 兴旺贷's 1,000 万 is the product's maximum
    assert eligible[0]["offer_basis"] == "entity_data"
    xingwang = next(r for r in results if r["product"] == "xingwangdai")
    assert xingwang["offer_text"] == "产品最高额度 1,000 万元（以银行审批为准）"
    assert eligible.index(xingwang) > max(i for i, r in enumerate(eligible) if r["offer_basis"] == "entity_data")
    html = response.content.decode()
    assert "产品最高额度 1,000 万元（以银行审批为准）" in html
    assert '最高可贷 <strong class="fs-5">1000</strong>' not in html
    assert html.index("惠商贷") < html.index("兴旺贷")


def test_the_self_test_says_a_credit_lines_drawdown_and_reads_the_repayment_mode(catalogue):
    # given a 24-month need, to be repaid 按月结息、到期一次性还本
    data = dict(SNACK_SHOP, need_term_months="24", need_repayment="bullet", realisable_net_assets="40")
    response = Client().post(reverse("products:self_test"), data)
    results = {r["product"]: r for r in response.context["results"]}
    html = response.content.decode()
    # then 码上贷 is a 24-month line drawn 13 months at a time, said on its card
    assert results["mashangdai"]["drawdown"]["max_drawdown_months"] == 13
    assert "单笔用信最长 13 个月, 到期归还后可再借: 不是一笔 24 个月的贷款" in html
    # and 晋享贷 refuses the bullet repayment over a year ("采用按月结息，到期一次性还本的授信期限最长不超过1年")
    assert results["jinxiangdai"]["verdict"] == "ineligible"
    # while 等额本息 over 24 months passes, its cap being 60% of the operator's own 40 万
    data["need_repayment"] = "equal_installment"
    response = Client().post(reverse("products:self_test"), data)
    jinxiang = next(r for r in response.context["results"] if r["product"] == "jinxiangdai")
    assert (jinxiang["verdict"], jinxiang["max_amount"], jinxiang["binding_cap"]) == (
        "eligible",
        240_000,
        "realisable_assets_share",
    )
    assert jinxiang["offer_text"] == "最高可贷 24 万元"


def test_the_self_test_states_the_operating_place(catalogue):
    """000 兴旺贷: "注册地或经营地位于山西省农村信用社服务区域内": the form asks the operating place."""
    data = dict(SNACK_SHOP, operating_region_code="140105")
    response = Client().post(reverse("products:self_test"), data)
    assert response.status_code == 200
    assert response.context["form"].to_request()["entity"]["operating_region_code"] == "140105"
    form = Client().get(reverse("products:self_test")).content.decode()
    assert 'name="operating_region_code"' in form and 'name="need_repayment"' in form
    assert 'name="realisable_net_assets"' in form
