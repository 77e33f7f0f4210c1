"""Leaf messages, explanation of groups, caps and the verdict."""

import pytest

from eligibility import Outcome, Verdict, evaluate, explain, trace_rules
from eligibility.caps import CapResult, offer

FACTS = {
    "operating_months": 18,
    "operator_age": 40,
    "annual_revenue": 150000,
    "net_assets": None,
    "tier": "survival",
    "dishonest_debtor": False,
    "region_code": "140502",
    "industry_code": "5291",
    "honors_valid": ["quality"],
    "nationality": "CN",
    "need_amount": None,
}


def leaf(field, op, value=None, **extra):
    node = {"field": field, "op": op, **extra}
    if value is not None:
        node["value"] = value
    return node


def reasons(tree, facts=FACTS):
    return [(r.rule, r.outcome.value, r.message) for r in explain(trace_rules(tree, facts))]


@pytest.mark.parametrize(
    "node, outcome, message",
    [
        (leaf("operating_months", ">=", 12), "pass", "已经营 18 个月, 要求不少于 12 个月"),
        (leaf("operating_months", ">=", 24), "fail", "已经营 18 个月, 经营未满 2 年, 还差 6 个月"),
        (leaf("operating_months", ">=", 20), "fail", "已经营 18 个月, 经营未满 20 个月, 还差 2 个月"),
        (leaf("operating_months", ">", 18), "fail", "已经营 18 个月, 经营未满 19 个月, 还差 1 个月"),
        (leaf("operator_age", ">=", 42), "fail", "年龄 40 岁, 未满 42 周岁, 还差 2 岁"),
        (leaf("operator_age", "<=", 35), "fail", "年龄 40 岁, 要求不超过 35 岁"),
        (leaf("annual_revenue", "<", 100), "fail", "年营业收入 150000 元, 要求少于 100 元"),
        (leaf("annual_revenue", "in", [150000]), "pass", "年营业收入 150000 元, 要求为 150000 元"),
        (leaf("tier", "==", "survival"), "pass", "三型标记为生存型, 要求为生存型"),
        (leaf("tier", "!=", "survival"), "fail", "三型标记为生存型, 要求不为生存型"),
        (leaf("tier", "not_in", ["growth", "development"]), "pass", "三型标记为生存型, 要求不为成长型、发展型"),
        (leaf("dishonest_debtor", "is_false"), "pass", "未列入失信被执行人名单"),
        (leaf("dishonest_debtor", "is_true"), "fail", "未列入失信被执行人名单, 要求已列入失信被执行人名单"),
        (leaf("honors_valid", "contains", "quality"), "pass", "有效期内的名特优新称号: 优质, 要求包含优质"),
        (leaf("honors_valid", "not_contains", "quality"), "fail", "有效期内的名特优新称号: 优质, 要求不含优质"),
        (
            leaf("region_code", "prefix_in", ["1405"], value_labels={"1405": "晋城市"}),
            "pass",
            "所在地区代码 140502, 要求属于 1405（晋城市）",
        ),
        (leaf("industry_code", "prefix_in", ["01", "03"]), "fail", "行业代码 5291, 要求属于 01、03之一"),
        (leaf("nationality", "==", "CN"), "pass", "经营者国籍为中国, 要求为中国"),
        (leaf("net_assets", ">=", 1), "unknown", "缺少净资产, 无法判断净资产条件"),
        (
            leaf("legal_rep_changed_months", ">=", 6, label="近 6 个月法定代表人未变更"),
            "unknown",
            "缺少法定代表人（经营者）最近变更日期, 无法判断近 6 个月法定代表人未变更",
        ),
    ],
)
def test_leaf_messages(node, outcome, message):
    ((rule, got_outcome, got_message),) = reasons(node)
    assert (got_outcome, got_message) == (outcome, message)
    assert rule == node["field"]


def test_unknown_operating_months_names_the_missing_date():
    assert reasons(leaf("operating_months", ">=", 12), {}) == [
        ("operating_months", "unknown", "缺少成立日期, 无法判断经营时间")
    ]


def test_veto_message_names_the_veto():
    node = leaf("dishonest_debtor", "is_false", id="veto_dishonest_debtor", veto=True)
    assert reasons(node, {**FACTS, "dishonest_debtor": True}) == [
        ("veto_dishonest_debtor", "fail", "否决: 已列入失信被执行人名单")
    ]


def test_passing_any_shows_only_the_alternative_that_passed():
    tree = {"any": [leaf("operating_months", ">=", 24), leaf("operator_age", ">=", 18)]}
    assert [r[0] for r in reasons(tree)] == ["operator_age"]


def test_failing_any_shows_every_alternative():
    tree = {"any": [leaf("operating_months", ">=", 24), leaf("operator_age", ">=", 50)]}
    assert [r[1] for r in reasons(tree)] == ["fail", "fail"]


def test_not_inverts_outcomes():
    tree = {"not": leaf("tier", "==", "survival")}
    assert trace_rules(tree, FACTS).outcome is Outcome.FAIL
    assert reasons(tree) == [("tier", "fail", "不得满足: 三型标记为生存型, 要求为生存型")]


SWITCH = {
    "switch": "tier",
    "id": "tier_standard",
    "cases": {
        "survival": leaf("annual_revenue", ">=", 100000),
        "growth": leaf("annual_revenue", ">=", 300000),
    },
}


def test_switch_applies_only_the_selected_case():
    assert reasons(SWITCH) == [("annual_revenue", "pass", "年营业收入 150000 元, 要求不少于 100000 元")]
    assert trace_rules(SWITCH, {**FACTS, "tier": "growth"}).outcome is Outcome.FAIL
    # a value without a case adds no condition
    development = trace_rules(SWITCH, {**FACTS, "tier": "development"})
    assert development.outcome is Outcome.PASS and explain(development) == []


def test_switch_with_unknown_selector():
    trace = trace_rules(SWITCH, {**FACTS, "tier": None})
    assert trace.outcome is Outcome.UNKNOWN
    assert reasons(SWITCH, {**FACTS, "tier": None}) == [
        ("tier_standard", "unknown", "缺少市场监管部门的三型标记, 无法确定按三型标记适用的条件")
    ]
    # if every case passes, the selector does not matter
    rich = {**FACTS, "tier": None, "annual_revenue": 500000}
    assert trace_rules(SWITCH, rich).outcome is Outcome.PASS


CAPS = [
    {"kind": "tier_cap", "amounts": {"survival": 100000, "growth": 200000}},
    {"kind": "revenue_share", "percent": 20},
]


def test_offer_is_the_least_cap_rounded_down():
    evaluation = evaluate(leaf("tier", "==", "survival"), CAPS, {**FACTS, "annual_revenue": 150004})
    assert evaluation.verdict is Verdict.ELIGIBLE
    assert (evaluation.max_amount, evaluation.binding_cap) == (30000, "revenue_share")
    assert evaluation.reasons[-1].message == "额度不超过年营业收入 150004 元的 20%, 即 30000 元"


def test_requested_amount_caps_the_offer_and_ties_go_to_the_product_side():
    facts = {**FACTS, "annual_revenue": 1000000, "need_amount": 100000}
    evaluation = evaluate(leaf("tier", "==", "survival"), CAPS, facts)
    assert (evaluation.max_amount, evaluation.binding_cap) == (100000, "tier_cap")
    evaluation = evaluate(leaf("tier", "==", "survival"), CAPS, {**facts, "need_amount": 50000})
    assert (evaluation.max_amount, evaluation.binding_cap) == (50000, "requested_amount")
    assert evaluation.reasons[-1].message == "申请金额 50000 元"


def test_unknown_cap_input_makes_the_offer_unknown_and_the_verdict_incomplete():
    evaluation = evaluate(leaf("tier", "==", "survival"), CAPS, {**FACTS, "annual_revenue": None})
    assert evaluation.verdict is Verdict.INCOMPLETE
    assert evaluation.max_amount is None and evaluation.binding_cap is None
    assert evaluation.reasons[-1].outcome is Outcome.UNKNOWN
    assert evaluation.reasons[-1].message == "缺少年营业收入, 无法计算不超过年营业收入 20% 的额度上限"


def test_incomplete_rules_keep_a_computable_offer():
    evaluation = evaluate(leaf("net_assets", ">=", 1), CAPS, FACTS)
    assert evaluation.verdict is Verdict.INCOMPLETE
    assert evaluation.max_amount == 30000


def test_ineligible_has_no_offer():
    evaluation = evaluate(leaf("tier", "==", "growth"), CAPS, FACTS)
    assert evaluation.verdict is Verdict.INELIGIBLE
    assert (evaluation.max_amount, evaluation.binding_cap) == (None, None)


def test_zero_revenue_gives_a_failing_cap():
    evaluation = evaluate(leaf("tier", "==", "survival"), CAPS, {**FACTS, "annual_revenue": 4})
    assert evaluation.verdict is Verdict.INELIGIBLE
    assert evaluation.reasons[-1].message.endswith("额度为 0 元, 无法授信")


def test_cap_conditions():
    honour = {"all": [leaf("tier", "in", ["growth", "development"]), leaf("has_valid_honor", "is_true")]}
    caps = [
        {"kind": "tier_cap", "amounts": {"survival": 1, "growth": 2}, "when": {"not": honour}},
        {"kind": "honor_cap", "amount": 10, "when": honour},
    ]
    facts = {**FACTS, "tier": "growth"}
    assert evaluate(leaf("tier", "!=", "development"), caps, {**facts, "has_valid_honor": True}).max_amount == 10
    assert evaluate(leaf("tier", "!=", "development"), caps, {**facts, "has_valid_honor": False}).max_amount == 2
    # survival: the honour does not matter, so its absence does not make the offer unknown
    assert evaluate(leaf("tier", "!=", "development"), caps, {**FACTS, "has_valid_honor": None}).max_amount == 1
    unknown = evaluate(leaf("tier", "!=", "development"), caps, {**facts, "has_valid_honor": None})
    assert unknown.verdict is Verdict.INCOMPLETE and unknown.max_amount is None
    assert "无法确定" in unknown.reasons[-1].message


def test_percent_may_be_a_decimal_string():
    caps = [{"kind": "net_assets_share", "percent": "12.5"}]
    evaluation = evaluate(leaf("tier", "==", "survival"), caps, {**FACTS, "net_assets": 100007})
    assert evaluation.max_amount == 12500
    assert evaluation.reasons[-1].message == "额度不超过净资产 100007 元的 12.5%, 即 12500 元"


def test_offer_without_amounts():
    assert offer([]) == (None, None)
    assert offer([CapResult("bank_decides", Outcome.PASS, None, "")]) == (None, None)
