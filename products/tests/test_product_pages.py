"""Product pages: 产品超市 and 资格自测 (open to everyone), 我行产品 for a bank's administrators
(own bank only; rule editor refusing invalid rules with the node named; test run with the
trace; publish creates a new version that evaluations then record; retire)."""

import json

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from entities.models import MarketEntity
from portal.factories import user_with_role
from portal.models import AuditEvent, Organisation, OrganisationKind, Role
from products.eligibility import evaluate_entity
from products.models import Bank, LoanProduct, LoanProductVersion, ProductStatus

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_throttle():
    cache.clear()
    yield
    cache.clear()


def boc_admin():
    return user_with_role(Role.BANK_ADMIN, organisation=Bank.objects.get(code="boc").organisation)


def signed_in(user):
    client = Client()
    client.force_login(user)
    return client


def editor_post(product, **changes):
    """The editor's form as the page shows it for ``product``, with ``changes``."""
    definition = product.current_version.definition
    data = {
        "name": definition["name"],
        "max_amount": definition.get("max_amount") or "",
        "max_term_months": (definition.get("term") or {}).get("max_months") or "",
        "effective_from": "2026-12-01",
        "rules": json.dumps(definition["rules"], ensure_ascii=False),
        "caps": json.dumps(definition["caps"], ensure_ascii=False),
        "bank_checks": "\n".join(definition.get("bank_checks", [])),
        "action": "save",
        "test-sample": "survival",
        "test-as_of": "2026-11-22",
    }
    data.update(changes)
    return data


# --- 产品超市 ---------------------------------------------------------------------------------


def test_the_market_is_open_to_anonymous_visitors_with_every_active_product(catalogue):
    response = Client().get(reverse("products:market"))
    assert response.status_code == 200
    html = response.content.decode()
    for product in LoanProduct.objects.filter(status=ProductStatus.ACTIVE):
        assert product.name in html
    assert "资格自测" in html and "登录" in html


def test_the_market_hides_drafts_and_retired_products(catalogue):
    retired = LoanProduct.objects.get(code="shang-e-dai")
    retired.status = ProductStatus.RETIRED
    retired.save()
    codes = {p.code for p in Client().get(reverse("products:market")).context["products"]}
    assert "shang-e-dai" not in codes and "huishangdai" in codes
    assert not codes & set(LoanProduct.objects.exclude(status=ProductStatus.ACTIVE).values_list("code", flat=True))


@pytest.mark.parametrize(
    "params, present, absent",
    [
        ({"bank": "ccb"}, {"ccb-precredit"}, {"huishangdai"}),
        ({"amount": "500"}, {"xingwangdai"}, {"huishangdai", "mashangdai"}),  # 500 万元
        ({"term": "36"}, {"jinxiangdai", "mashangdai"}, {"huishangdai"}),
        ({"guarantee": "mortgage"}, {"xinglongdai"}, {"huishangdai"}),
        ({"channel": "online"}, {"shang-e-dai"}, {"huishangdai"}),
        ({"entity_type": "small_micro_enterprise"}, {"chengxindai"}, {"huishangdai"}),
    ],
)
def test_the_market_filters(catalogue, params, present, absent):
    codes = {p.code for p in Client().get(reverse("products:market"), params).context["products"]}
    assert present <= codes and not (absent & codes)


@pytest.mark.parametrize(
    "params",
    [
        {"amount": "NaN"},
        {"amount": "Infinity"},
        {"amount": "-3"},
        {"amount": "1e40"},
        {"term": "9" * 40},
        {"term": "abc"},
        {"bank": "nope"},
        {"guarantee": "gold"},
        {"page": "999"},
    ],
)
def test_odd_market_filters_never_fail(catalogue, params):
    assert Client().get(reverse("products:market"), params).status_code in (200, 404)


def test_a_product_page_states_conditions_and_caps_in_chinese(catalogue):
    response = Client().get(reverse("products:detail", args=["huishangdai"]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "经营时间: 要求不少于 12 个月" in html
    assert "不超过年营业收入的 20%" in html and "生存型最高 10 万元" in html
    assert "借款人及配偶近两年征信逾期情况" in html  # a bank check
    assert Client().get(reverse("products:detail", args=["no-such"])).status_code == 404


# --- 资格自测 ---------------------------------------------------------------------------------

SELF_TEST = {
    "entity_type": "individual_business",
    "region_code": "140502",
    "industry_code": "52",
    "industry_detail": "5291",
    "established_on": "2025-05-10",
    "register_status": "active",
    "tier": "survival",
    "honor": "none",
    "annual_revenue": "15",
    "birth_date": "1986-03-01",
    "nationality": "CN",
    "dishonest_debtor": "no",
}


def test_an_anonymous_visitor_checks_eligibility_and_sees_verdicts_offers_and_reasons(catalogue):
    # given the self-test filled in for the survival shop of products.md (as of today)
    response = Client().post(reverse("products:self_test"), SELF_TEST)
    # then every active product has a verdict, and 惠商贷 names its offer and reasons
    assert response.status_code == 200
    results = {r["product"]: r for r in response.context["results"]}
    assert set(results) == set(LoanProduct.objects.filter(status=ProductStatus.ACTIVE).values_list("code", flat=True))
    huishangdai = results["huishangdai"]
    assert huishangdai["max_amount"] == 30000 and huishangdai["max_amount_wan"] == "3"
    html = response.content.decode()
    assert "还差什么" in html and "为什么" in html and "最高可贷" in html
    # and a product the visitor did not give enough for is incomplete, not refused
    assert any(r["verdict"] == "incomplete" for r in results.values())


def test_the_self_test_form_shows_field_errors_in_chinese(catalogue):
    data = dict(SELF_TEST, established_on="2099-01-01", annual_revenue="abc")
    response = Client().post(reverse("products:self_test"), data)
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert "annual_revenue" in errors
    response = Client().post(reverse("products:self_test"), dict(SELF_TEST, established_on="2099-01-01"))
    assert response.status_code == 400 and "不能晚于评估日期" in response.context["form"].errors["established_on"][0]


def test_an_enterprise_user_gets_the_form_prefilled_and_results_from_its_profile(catalogue):
    # given an enterprise user whose organisation holds a market entity
    user = user_with_role(Role.ENTERPRISE_USER)
    organisation = Organisation.objects.get(memberships__user=user)
    MarketEntity.objects.create(
        uscc="92140525MA0000001X",
        name="泽州县金辉便利店",
        entity_type="individual_business",
        region_id="140525",
        industry_id="5291",
        tier="survival",
        annual_revenue=150000,
        organisation=organisation,
    )
    # when he opens the self-test
    response = signed_in(user).get(reverse("products:self_test"))
    # then the form carries his profile and the results are already shown
    assert response.status_code == 200
    form = response.context["form"]
    assert form.initial["region_code"] == "140525" and form.initial["tier"] == "survival"
    assert str(form.initial["annual_revenue"]) == "15"
    assert response.context["results"] and "已按「泽州县金辉便利店」" in response.content.decode()


def test_anonymous_self_tests_are_rate_limited(catalogue):
    client = Client()
    statuses = [
        client.post(reverse("products:self_test"), {"entity_type": "individual_business"}).status_code
        for _ in range(31)
    ]
    assert statuses[:30] == [200] * 30 and statuses[30] == 429


# --- 我行产品 ---------------------------------------------------------------------------------


def test_a_bank_admin_lists_only_his_own_banks_products(catalogue):
    response = signed_in(boc_admin()).get(reverse("products:bank_products"))
    assert response.status_code == 200
    assert {p.bank.code for p in response.context["products"]} == {"boc"}


@pytest.mark.parametrize("role", [Role.ENTERPRISE_USER, Role.TASK_FORCE_STAFF, Role.ACCOUNT_MANAGER])
def test_other_roles_cannot_manage_products(catalogue, role):
    client = signed_in(user_with_role(role))
    assert client.get(reverse("products:bank_products")).status_code == 403
    assert client.get(reverse("products:bank_product_detail", args=["huishangdai"])).status_code == 403


def test_a_bank_admin_cannot_open_another_banks_product(catalogue):
    client = signed_in(boc_admin())
    assert client.get(reverse("products:bank_product_detail", args=["ccb-precredit"])).status_code == 404
    assert client.post(reverse("products:bank_product_retire", args=["ccb-precredit"])).status_code == 404
    assert LoanProduct.objects.get(code="ccb-precredit").status == ProductStatus.ACTIVE


def test_an_invalid_rule_is_refused_with_the_chinese_message_naming_the_node(catalogue):
    product = LoanProduct.objects.get(code="huishangdai")
    rules = {
        "all": [
            {"field": "operating_months", "op": ">=", "value": 12},
            {
                "any": [
                    {"field": "no_such_field", "op": "==", "value": 1},
                    {"field": "tier", "op": ">=", "value": "growth"},
                ]
            },
        ]
    }
    versions = product.versions.count()
    # when the administrator saves it
    response = signed_in(boc_admin()).post(
        reverse("products:bank_product_detail", args=["huishangdai"]), editor_post(product, rules=json.dumps(rules))
    )
    # then nothing is saved and each bad node is named, in Chinese
    assert response.status_code == 400
    errors = response.context["form"].errors["rules"]
    assert "规则 all[1].any[0]: 未知字段 'no_such_field'" in errors
    assert "规则 all[1].any[1]: 运算符 '>=' 不适用于枚举字段 '三型标记'" in errors
    assert product.versions.count() == versions


def test_bad_json_and_bad_caps_are_refused(catalogue):
    product = LoanProduct.objects.get(code="huishangdai")
    client = signed_in(boc_admin())
    response = client.post(
        reverse("products:bank_product_detail", args=["huishangdai"]), editor_post(product, rules="{oops")
    )
    assert "JSON 格式错误: 第 1 行第 2 列" in response.context["form"].errors["rules"][0]
    caps = json.dumps([{"kind": "revenue_share", "percent": 120}])
    response = client.post(
        reverse("products:bank_product_detail", args=["huishangdai"]), editor_post(product, caps=caps)
    )
    assert "额度规则 caps[0]: percent 应在 0 到 100 之间, 实际为 120" in response.context["form"].errors["caps"]


def test_the_test_run_shows_the_trace_of_the_rules_in_the_editor_without_saving(catalogue):
    product = LoanProduct.objects.get(code="huishangdai")
    rules = {"all": [{"id": "operating_months", "field": "operating_months", "op": ">=", "value": 24}]}
    versions = product.versions.count()
    response = signed_in(boc_admin()).post(
        reverse("products:bank_product_detail", args=["huishangdai"]),
        editor_post(product, rules=json.dumps(rules), action="test", **{"test-sample": "survival"}),
    )
    assert response.status_code == 200
    trial = response.context["trial"]
    assert trial["result"]["verdict"] == "ineligible"
    assert trial["trace"]["children"][0]["text"] == "已经营 18 个月, 经营未满 2 年, 还差 6 个月"
    assert "还差 6 个月" in response.content.decode()
    assert product.versions.count() == versions


def test_the_test_run_takes_a_custom_request_or_a_registered_entity(catalogue):
    product = LoanProduct.objects.get(code="huishangdai")
    client = signed_in(boc_admin())
    url = reverse("products:bank_product_detail", args=["huishangdai"])
    custom = json.dumps({"entity_type": "individual_business", "tier": "growth", "annual_revenue": 500000})
    trial = client.post(
        url, editor_post(product, action="test", **{"test-sample": "custom", "test-entity_json": custom})
    ).context["trial"]
    assert trial["result"]["verdict"] == "incomplete"
    bad = client.post(
        url, editor_post(product, action="test", **{"test-sample": "custom", "test-entity_json": '{"tier": "x"}'})
    )
    assert bad.status_code == 400 and "entity.tier" in bad.context["test_form"].errors["entity_json"][0]
    unknown = client.post(url, editor_post(product, action="test", **{"test-uscc": "91140000000000000X"}))
    assert "未找到该主体" in unknown.context["test_form"].errors["uscc"][0]


def test_saving_then_publishing_creates_a_new_version_that_evaluations_record(catalogue):
    # given 惠商贷 v1 and an entity
    product = LoanProduct.objects.get(code="huishangdai")
    v1 = product.current_version
    entity = MarketEntity.objects.create(
        uscc="92140525MA0000002X",
        name="测试个体户",
        entity_type="individual_business",
        region_id="140525",
        tier="survival",
        annual_revenue=150000,
    )
    client = signed_in(boc_admin())
    url = reverse("products:bank_product_detail", args=["huishangdai"])
    caps = [dict(c, percent=10) if c["kind"] == "revenue_share" else c for c in v1.definition["caps"]]
    # when the administrator saves a draft
    response = client.post(url, editor_post(product, caps=json.dumps(caps)))
    assert response.status_code == 302
    draft = product.versions.get(number=2)
    product.refresh_from_db()
    # then v1 is still the current version until publishing
    assert draft.published_at is None and product.current_version_id == v1.pk
    assert "草稿" in client.get(url).content.decode()
    # when he publishes
    assert client.post(reverse("products:bank_product_publish", args=["huishangdai"])).status_code == 302
    product.refresh_from_db()
    # then v2 is current, and evaluations use and record it
    assert product.current_version.number == 2 and product.current_version.is_published
    version = LoanProductVersion.objects.select_related("product__bank").get(pk=product.current_version_id)
    outcome = evaluate_entity(entity, version)
    assert outcome.version_id == version.pk and outcome.result["version"] == version.pk
    assert AuditEvent.objects.filter(action="product.publish").exists()
    # and the history lists both versions
    html = client.get(url).content.decode()
    assert "第 1 版" in html and "第 2 版" in html


def test_retiring_takes_a_product_off_the_market_and_out_of_the_preview(catalogue):
    client = signed_in(boc_admin())
    assert client.post(reverse("products:bank_product_retire", args=["huishangdai"])).status_code == 302
    assert LoanProduct.objects.get(code="huishangdai").status == ProductStatus.RETIRED
    assert "huishangdai" not in {p.code for p in Client().get(reverse("products:market")).context["products"]}
    response = Client().post(
        "/api/v1/eligibility/preview", {"products": ["huishangdai"]}, content_type="application/json"
    )
    assert response.status_code == 400


def test_navigation_offers_the_market_to_every_role_and_my_products_to_bank_admins(catalogue):
    for role in Role:
        user = user_with_role(role) if role != Role.BANK_ADMIN else boc_admin()
        items = signed_in(user).get(reverse("products:market")).context["nav_items"]
        labels = {item["label"] for item in items}
        assert "产品超市" in labels, role
        assert ("我行产品" in labels) == (role == Role.BANK_ADMIN), role


def test_a_bank_without_its_own_organisation_tree_manages_nothing(catalogue):
    # a bank administrator of an organisation that is no bank sees no products to manage
    stray = Organisation.objects.create(name="某机构", kind=OrganisationKind.BANK_BRANCH)
    response = signed_in(user_with_role(Role.BANK_ADMIN, organisation=stray)).get(reverse("products:bank_products"))
    assert response.status_code == 200 and list(response.context["products"]) == []
