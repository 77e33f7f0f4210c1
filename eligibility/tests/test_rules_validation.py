import pytest

from eligibility import RuleError, validate_caps, validate_rules
from eligibility.rules import desugar, fields_used, rule_errors

OK_LEAF = {"id": "operating_months", "field": "operating_months", "op": ">=", "value": 12}


def error_of(tree) -> str:
    with pytest.raises(RuleError) as caught:
        validate_rules(tree)
    return str(caught.value)


def test_a_valid_tree_passes():
    validate_rules(
        {
            "all": [
                OK_LEAF,
                {
                    "any": [
                        {"field": "dishonest_debtor", "op": "is_false"},
                        {"not": {"field": "tier", "op": "in", "value": ["survival"]}},
                        {"switch": "tier", "cases": {"growth": {"field": "annual_revenue", "op": ">=", "value": 1}}},
                        {"field": "industry_code", "op": "prefix_in", "value": ["01", "A"], "unmatched": "unknown"},
                        {"field": "honors_valid", "op": "contains", "value": "quality"},
                        {"field": "nationality", "op": "in", "value": ["CN"]},
                    ]
                },
            ]
        }
    )


def test_unknown_field_names_the_path():
    tree = {"all": [OK_LEAF, OK_LEAF, {"any": [{"field": "foo", "op": "==", "value": 1}]}]}
    assert error_of(tree) == "规则 all[2].any[0]: 未知字段 'foo'"


def test_operator_not_applicable_to_boolean_field():
    assert (
        error_of({"field": "dishonest_debtor", "op": ">=", "value": 1})
        == "规则 根节点: 运算符 '>=' 不适用于布尔字段 '失信被执行人'"
    )


def test_value_type_mismatch():
    assert (
        error_of({"field": "operating_months", "op": ">=", "value": "12"})
        == "规则 根节点: 字段 '经营时间' 的取值应为整数, 实际为 '12'"
    )
    assert "应为整数" in error_of({"field": "annual_revenue", "op": ">=", "value": True})
    assert "应为整数" in error_of({"field": "annual_revenue", "op": ">=", "value": 1.5})


def test_unknown_enum_value():
    assert (
        error_of({"all": [{"field": "tier", "op": "==", "value": "huge"}]})
        == "规则 all[0]: 字段 '三型标记' 没有取值 'huge', 可选: survival、growth、development"
    )


@pytest.mark.parametrize(
    "tree, message",
    [
        ({"all": []}, "规则 根节点: all 不能为空"),
        ({"any": []}, "规则 根节点: any 不能为空"),
        ({"all": {}}, "规则 根节点: all 应为节点列表"),
        ({"all": [OK_LEAF], "any": [OK_LEAF]}, "规则 根节点: 一个节点只能有一种组合方式, 实际有 all、any"),
        ([], "规则 根节点: 节点应为 JSON 对象"),
        ({"not": {"op": "=="}}, "规则 not: 节点应为 all、any、not、switch 之一, 或带 field 的条件"),
        ({"field": "tier", "op": "~", "value": "growth"}, "规则 根节点: 未知运算符 '~'"),
        ({"field": "tier", "op": "in", "value": []}, "规则 根节点: 运算符 'in' 的 value 应为非空列表"),
        ({"field": "tier", "op": "=="}, "规则 根节点: 字段 '三型标记' 的条件缺少 value"),
        ({"field": "has_tax_record", "op": "is_true", "value": True}, "规则 根节点: 运算符 'is_true' 不需要 value"),
        ({**OK_LEAF, "colour": 1}, "规则 根节点: 未知属性 'colour'"),
        ({**OK_LEAF, "id": "Bad Id"}, "规则 根节点: id 'Bad Id' 应为小写字母开头的字母、数字或下划线"),
        (
            {"field": "region_code", "op": "prefix_in", "value": ["99"]},
            "规则 根节点: 字段 '所在地区' 的代码前缀 '99' 无效",
        ),
        (
            {"field": "region_code", "op": "==", "value": "140502"},
            "规则 根节点: 运算符 '==' 不适用于地区代码字段 '所在地区'",
        ),
        ({**OK_LEAF, "unmatched": "unknown"}, "规则 根节点: unmatched 只适用于 prefix_in, 取值 'fail' 或 'unknown'"),
        ({"switch": "annual_revenue", "cases": {}}, "规则 根节点: switch 只适用于枚举字段, '年营业收入' 是金额字段"),
        ({"switch": "tier", "cases": {}}, "规则 根节点: switch 需要非空的 cases"),
        (
            {"switch": "tier", "cases": {"huge": OK_LEAF}},
            "规则 根节点: 字段 '三型标记' 没有取值 'huge', 可选: survival、growth、development",
        ),
        ({"switch": "tier", "cases": {"growth": {"all": []}}}, "规则 cases[growth]: all 不能为空"),
    ],
)
def test_structural_errors(tree, message):
    assert error_of(tree) == message


def test_deep_nesting_is_refused():
    tree = OK_LEAF
    for _ in range(40):
        tree = {"not": tree}
    assert "嵌套超过" in error_of(tree)


def test_all_errors_are_collected():
    errors = rule_errors({"all": [{"field": "foo", "op": "=="}, {"field": "tier", "op": "==", "value": "x"}]})
    assert [e.path for e in errors] == ["all[0]", "all[1]"]


@pytest.mark.parametrize(
    "caps, message",
    [
        ({}, "额度规则 根节点: 额度规则应为列表"),
        (
            [{"kind": "magic"}],
            "额度规则 caps[0]: 未知额度类型 'magic', 可选: product_cap、honor_cap、tier_cap、revenue_share、"
            "net_assets_share、realisable_assets_share、bank_decides",
        ),
        ([{"kind": "product_cap"}], "额度规则 caps[0]: 缺少 amount"),
        ([{"kind": "product_cap", "amount": 0}], "额度规则 caps[0]: amount 应为正整数（元）, 实际为 0"),
        ([{"kind": "product_cap", "amount": 1.5}], "额度规则 caps[0]: amount 应为正整数（元）, 实际为 1.5"),
        ([{"kind": "revenue_share", "percent": 0.2}], "额度规则 caps[0]: percent 应为整数或十进制字符串, 实际为 0.2"),
        ([{"kind": "revenue_share", "percent": "120"}], "额度规则 caps[0]: percent 应在 0 到 100 之间, 实际为 120"),
        ([{"kind": "revenue_share", "percent": "abc"}], "额度规则 caps[0]: percent 'abc' 不是数字"),
        ([{"kind": "tier_cap", "amounts": {"big": 1}}], "额度规则 caps[0]: amounts 中没有分型 'big'"),
        ([{"kind": "bank_decides", "when": {"field": "foo", "op": "=="}}], "额度规则 caps[0].when: 未知字段 'foo'"),
    ],
)
def test_cap_errors(caps, message):
    with pytest.raises(RuleError) as caught:
        validate_caps(caps)
    assert str(caught.value) == message


def test_desugar_expands_switch_and_keeps_fields():
    tree = {"switch": "tier", "cases": {"growth": OK_LEAF}}
    expanded = desugar(tree)
    assert expanded == {"all": [{"any": [{"id": "tier", "field": "tier", "op": "!=", "value": "growth"}, OK_LEAF]}]}
    validate_rules(expanded)
    assert fields_used(tree) == fields_used(expanded) == {"tier", "operating_months"}
