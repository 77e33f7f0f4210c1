"""Amounts on the pages: integer 元 shown as 万元, also inside the engine's reason texts."""

import pytest

from portal.templatetags.portal_format import wan, yuan_text


@pytest.mark.parametrize(
    "message, shown",
    [
        ("产品最高额度 10000000 元", "产品最高额度 1,000 万元"),
        ("额度不超过年营业收入 150000 元的 20%, 即 30000 元", "额度不超过年营业收入 15 万元的 20%, 即 3 万元"),
        ("成长型最高额度 105000 元", "成长型最高额度 10.5 万元"),
        ("剩余 12345 元", "剩余 1.23 万元"),
        ("年营业收入 850000元", "年营业收入 85 万元"),
        ("已经营 18 个月, 要求不少于 12 个月", "已经营 18 个月, 要求不少于 12 个月"),  # no amount: unchanged
        ("额度为 0 元, 无法授信", "额度为 0 元, 无法授信"),  # small amounts stay in 元
        ("所在地区代码 140525, 要求属于 1405", "所在地区代码 140525, 要求属于 1405"),  # codes are not money
        (None, ""),
    ],
)
def test_reason_amounts_read_in_wan(message, shown):
    # given a reason text in whole 元, when it is shown on a page, then its amounts read in 万元
    assert yuan_text(message) == shown


def test_wan_has_two_decimals():
    assert (wan(300_000), wan(None), wan(12_345)) == ("30.00", "", "1.23")
