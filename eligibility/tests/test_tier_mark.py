"""The 三型 mark is not the platform's estimate, in the engine (issue 15 items 1 and 2).

001 附件 三(二): "经营实体在'全省个体工商户名录库'中被标记为'三型'的个体工商户; 被省市场监管局认定为
'名特优新'的个体工商户, 且在有效期内". `entity.tier` is the mark; `entity.tier_estimate` (optional,
informative) never satisfies a rule that needs the mark: without the mark the rule is `unknown`,
the verdict `incomplete`, and the reason names the estimate. An honour without an end date is
`unknown` too, and the reason asks for its validity."""

from __future__ import annotations

import pytest

from eligibility import Outcome, trace_rules
from eligibility.rules import rule_errors
from products.catalog.factories import good_entity, merge, messages, outcomes, result_for

MISSING_GROWTH = "尚无市场监管部门的三型标记（平台预估：成长型），请联系市场监管部门标记"


def test_惠商贷_标记为三型_an_estimate_alone_is_incomplete_with_the_estimate_named():
    """001 附件 三(二): "在'全省个体工商户名录库'中被标记为'三型'"."""
    # given an individual business the platform estimates 成长型 but the 名录库 has not marked
    entity = merge(good_entity(), {"tier": None, "tier_estimate": "growth"})
    # when 惠商贷 is evaluated
    result = result_for("huishangdai", entity)
    # then it is not eligible but incomplete, and the reason says the mark is missing and what the estimate is
    assert result["verdict"] == "incomplete" and result["max_amount"] is None
    assert outcomes(result, "tier") == {"unknown"}
    assert messages(result, "tier") == [MISSING_GROWTH]
    # and once marked (whatever the estimate) the same entity is eligible
    marked = result_for("huishangdai", merge(entity, {"tier": "growth"}))
    assert marked["verdict"] == "eligible" and marked["max_amount"] == 180_000


@pytest.mark.parametrize("estimate", ["survival", "growth", "development", None])
def test_the_estimate_never_satisfies_a_rule_that_needs_the_mark(estimate):
    entity = merge(good_entity(), {"tier": None, "tier_estimate": estimate})
    for code in ("huishangdai", "ccb-precredit", "weiyedai"):
        result = result_for(code, entity)
        assert result["verdict"] != "eligible", (code, estimate)
        assert outcomes(result, "tier") <= {"unknown"}


def test_without_an_estimate_the_reason_asks_for_the_mark():
    result = result_for("huishangdai", merge(good_entity(), {"tier": None}))
    assert result["verdict"] == "incomplete"
    assert messages(result, "tier") == ["缺少市场监管部门的三型标记, 无法判断三型标记条件"]


def test_the_estimate_beside_a_mark_changes_nothing():
    marked = merge(good_entity(), {"tier": "survival"})
    assert result_for("huishangdai", marked) == result_for(
        "huishangdai", merge(marked, {"tier_estimate": "development"})
    )


def test_a_rule_may_not_test_the_estimate():
    assert [e.message for e in rule_errors({"field": "tier_estimate", "op": "==", "value": "growth"})] == [
        "字段 '三型预估' 仅供参考, 不能作为规则条件(产品要求的是名录库的三型标记, 请使用 '三型标记')"
    ]
    assert rule_errors(
        {"switch": "tier_estimate", "cases": {"growth": {"field": "tier", "op": "==", "value": "growth"}}}
    )


def test_the_tier_cap_names_the_estimate_too():
    result = result_for("huishangdai", merge(good_entity(), {"tier": None, "tier_estimate": "growth"}))
    assert any(m.startswith(MISSING_GROWTH) for m in messages(result, "honor_cap") + messages(result, "tier_cap"))


def test_名特优新_且在有效期内_an_honour_without_an_end_date_is_unknown_and_asks_for_it():
    """001 附件 三(二): "被省市场监管局认定为'名特优新'的个体工商户, 且在有效期内": a title whose
    end is not known is neither valid nor expired — the verdict is incomplete and the reason asks
    for the validity period."""
    entity = merge(good_entity(), {"tier": None, "honors": [{"kind": "quality"}]})
    result = result_for("huishangdai", entity)
    assert result["verdict"] == "incomplete"
    assert outcomes(result, "has_valid_honor") == {"unknown"}
    assert messages(result, "has_valid_honor") == [
        "缺少名特优新称号或其有效期（有效期至）, 无法判断名特优新称号是否有效"
    ]
    leaf = {"field": "has_valid_honor", "op": "is_true"}
    assert trace_rules(leaf, {"has_valid_honor": None}).outcome is Outcome.UNKNOWN
    # with its end date it decides
    dated = merge(entity, {"honors": [{"kind": "quality", "valid_until": "2027-06-30"}]})
    assert outcomes(result_for("huishangdai", dated), "has_valid_honor") == {"pass"}
