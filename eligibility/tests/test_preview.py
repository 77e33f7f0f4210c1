import datetime as dt

import pytest

from eligibility import preview, validate_preview_request
from products.catalog.factories import AS_OF, catalog, contract_example, good_entity, merge


def errors_of(request, today=AS_OF):
    clean, errors = validate_preview_request(request, catalog(), today=lambda: today)
    assert clean is None
    return errors


def test_contract_example_validates():
    clean, errors = validate_preview_request(contract_example(), catalog())
    assert errors == {}
    assert clean["as_of"] == AS_OF
    assert clean["entity"]["established_on"] == dt.date(2025, 5, 10)
    assert clean["products"] == ["huishangdai", "ccb-precredit"]


@pytest.mark.parametrize(
    "changes, path, message",
    [
        (
            {"entity": {"entity_type": "company"}},
            "entity.entity_type",
            "取值 'company' 无效, 可选: individual_business、small_micro_enterprise、farmer_cooperative、family_farm",
        ),
        ({"entity": {"tier": "huge"}}, "entity.tier", "取值 'huge' 无效, 可选: survival、growth、development"),
        ({"entity": {"established_on": "2025-13-01"}}, "entity.established_on", "日期格式应为 YYYY-MM-DD"),
        ({"entity": {"established_on": "10/05/2025"}}, "entity.established_on", "日期格式应为 YYYY-MM-DD"),
        ({"entity": {"established_on": "2026-11-23"}}, "entity.established_on", "不能晚于评估日期 2026-11-22"),
        (
            {"entity": {"operator": {"birth_date": "2030-01-01"}}},
            "entity.operator.birth_date",
            "不能晚于评估日期 2026-11-22",
        ),
        ({"entity": {"annual_revenue": -1}}, "entity.annual_revenue", "不能为负数"),
        ({"entity": {"annual_revenue": 150000.5}}, "entity.annual_revenue", "应为整数（元）"),
        ({"entity": {"annual_revenue": "150000"}}, "entity.annual_revenue", "应为整数（元）"),
        ({"entity": {"net_assets": True}}, "entity.net_assets", "应为整数（元）"),
        ({"entity": {"total_assets": 10**14}}, "entity.total_assets", "不能大于 10000000000000"),
        ({"entity": {"employees": -3}}, "entity.employees", "不能为负数"),
        ({"entity": {"has_tax_record": "yes"}}, "entity.has_tax_record", "应为 true 或 false"),
        ({"entity": {"region_code": "1405"}}, "entity.region_code", "应为 6 位行政区划代码（GB/T 2260）"),
        ({"entity": {"industry_code": "529"}}, None, None),  # 3 digits are a valid depth
        (
            {"entity": {"industry_code": "99"}},
            "entity.industry_code",
            "应为 GB/T 4754-2017 行业代码: 门类字母或 2 至 4 位数字",
        ),
        ({"entity": {"honors": {"kind": "quality"}}}, "entity.honors", "应为列表"),
        (
            {"entity": {"honors": [{"kind": "famous"}]}},
            "entity.honors[0].kind",
            "取值 'famous' 无效, 可选: renowned、distinctive、quality、emerging",
        ),
        ({"entity": {"honors": [{"valid_until": "2027-01-01"}]}}, "entity.honors[0].kind", "必填"),
        (
            {"entity": {"honors": [{"kind": "quality", "valid_from": "2027-01-01", "valid_until": "2026-01-01"}]}},
            "entity.honors[0].valid_until",
            "不能早于 valid_from",
        ),
        ({"entity": {"operator": "CN"}}, "entity.operator", "应为 JSON 对象"),
        (
            {"entity": {"operator": {"nationality": "China"}}},
            "entity.operator.nationality",
            "应为 2 位国家或地区代码（ISO 3166-1, 如 CN）",
        ),
        (
            {"entity": {"credit": {"overdue_consecutive_24m": 4, "overdue_total_24m": 3}}},
            "entity.credit.overdue_consecutive_24m",
            "连续逾期期数不能大于累计逾期期数",
        ),
        ({"entity": {"credit": {"dishonest_debtor": 0}}}, "entity.credit.dishonest_debtor", "应为 true 或 false"),
        ({"entity": {"tobacco_licence": True}}, "entity.tobacco_licence", "应为 JSON 对象"),
        ({"entity": {"tobacco_licence": {"held": "yes"}}}, "entity.tobacco_licence.held", "应为 true 或 false"),
        (
            {"entity": {"tobacco_licence": {"held": True, "number": 140502}}},
            "entity.tobacco_licence.number",
            "应为许可证号文本（不超过 32 个字符）",
        ),
        (
            {"entity": {"tobacco_licence": {"held": True, "valid_from": "2027-01-01", "valid_until": "2026-01-01"}}},
            "entity.tobacco_licence.valid_until",
            "不能早于 valid_from",
        ),
        (
            {"entity": {"tobacco_licence": {"held": False, "number": "140502100001"}}},
            "entity.tobacco_licence.number",
            "held 为 false（未持有）时不应填写许可证号",
        ),
        ({"entity": {"tobacco_licence": {"number": "140502100001", "valid_until": "2027-01-01"}}}, None, None),
        ({"need": {"amount": 0}}, "need.amount", "不能小于 1"),
        ({"need": {"term_months": 361}}, "need.term_months", "不能大于 360"),
        ({"need": [1]}, "need", "应为 JSON 对象"),
        ({"as_of": "22/11/2026"}, "as_of", "日期格式应为 YYYY-MM-DD"),
        ({"products": ["huishangdai", "nope"]}, "products[1]", "未知产品代码 'nope'"),
        ({"products": [7]}, "products[0]", "产品代码应为字符串"),
        ({"products": "huishangdai"}, "products", "应为产品代码列表"),
        ({"products": []}, "products", "不能为空; 省略此字段即评估全部在售产品"),
    ],
)
def test_field_errors(changes, path, message):
    request = merge(contract_example(), changes)
    if path is None:
        assert validate_preview_request(request, catalog())[1] == {}
        return
    assert errors_of(request) == {path: [message]}


def test_errors_are_collected_across_fields():
    request = merge(contract_example(), {"entity": {"tier": "x", "employees": -1}, "need": {"amount": -5}})
    assert set(errors_of(request)) == {"entity.tier", "entity.employees", "need.amount"}


@pytest.mark.parametrize("body", [None, [], "x", 3, True])
def test_a_body_that_is_not_an_object(body):
    assert errors_of(body) == {"non_field_errors": ["应为 JSON 对象"]}


def test_nulls_and_absent_fields_are_unknown_not_errors():
    request = {"entity": {key: None for key in contract_example()["entity"]}, "need": None}
    clean, errors = validate_preview_request(request, catalog(), today=lambda: AS_OF)
    assert errors == {}
    response = preview(clean, catalog())
    assert {r["verdict"] for r in response["results"]} <= {"incomplete", "ineligible"}
    assert validate_preview_request({}, catalog())[1] == {}


def test_integral_floats_are_accepted_as_money():
    request = merge(contract_example(), {"entity": {"annual_revenue": 150000.0}})
    clean, errors = validate_preview_request(request, catalog())
    assert errors == {} and clean["entity"]["annual_revenue"] == 150000
    assert isinstance(clean["entity"]["annual_revenue"], int)


def test_unknown_keys_are_ignored():
    request = merge(contract_example(), {"entity": {"colour": "red"}, "extra": 1})
    assert validate_preview_request(request, catalog())[1] == {}


def test_as_of_defaults_to_an_injectable_today():
    request = contract_example()
    del request["as_of"]
    clean, _ = validate_preview_request(request, catalog(), today=lambda: dt.date(2027, 5, 10))
    response = preview(clean, catalog())
    assert response["as_of"] == "2027-05-10"
    assert preview({"entity": {}}, catalog(), today=lambda: dt.date(2030, 1, 1))["as_of"] == "2030-01-01"


def test_default_products_are_all_active_ones():
    request = {"as_of": "2026-11-22", "entity": good_entity()}
    clean, _ = validate_preview_request(request, catalog())
    codes = {r["product"] for r in preview(clean, catalog())["results"]}
    active = {code for code, p in catalog()["products"].items() if p["active"]}
    assert codes == active
    assert "boc-jinniudai" not in codes


def test_results_are_ordered_by_verdict_then_amount():
    request = {"as_of": "2026-11-22", "entity": good_entity()}
    clean, _ = validate_preview_request(request, catalog())
    results = preview(clean, catalog())["results"]
    rank = {"eligible": 0, "incomplete": 1, "ineligible": 2}
    keys = [(rank[r["verdict"]], r["max_amount"] is None, -(r["max_amount"] or 0)) for r in results]
    assert keys == sorted(keys)
    assert results[0]["verdict"] == "eligible"
    assert results[0]["max_amount"] == max(r["max_amount"] or 0 for r in results if r["verdict"] == "eligible")


def test_products_keep_requested_order_on_ties():
    request = {"as_of": "2026-11-22", "entity": good_entity(), "products": ["ccb-benchmark", "fangdi-e-dai"]}
    clean, _ = validate_preview_request(request, catalog())
    assert [r["product"] for r in preview(clean, catalog())["results"]] == ["ccb-benchmark", "fangdi-e-dai"]


def test_result_extras():
    request = {"as_of": "2026-11-22", "entity": good_entity(), "products": ["huishang-yidai"]}
    clean, _ = validate_preview_request(request, catalog())
    (result,) = preview(clean, catalog())["results"]
    assert result["bank_name"] == "山西银行"
    assert result["term_months"] == 12
    assert result["payment_mode"] is None
