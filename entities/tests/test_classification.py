"""Tests for entities.classification (pure Python; run with ``-p no:django``).

The expected 划型 table below is typed again from classification.md (工信部联企业〔2011〕300号)
rather than read from the module, so a transcription error in either place fails a test.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eligibility.fields import honor_status
from entities.classification import (
    HONOR_KINDS,
    SHANXI_DEFAULT_POLICY,
    SIZE_CLASSES,
    SIZE_ROWS,
    TAX_STATUSES,
    TIERS,
    TierFacts,
    TierPolicy,
    classify_size,
    classify_size_for_row,
    classify_tier,
    format_wan,
    has_valid_honor,
    honor_validity,
    honors_valid,
    map_industry_code,
    policy_from_dict,
    policy_to_dict,
    select_policy,
    tier_disagreement,
)

WAN = 10_000

# ============================================================================ helpers


def facts(revenue=None, tax_record=None, tax_status=None, insured=None):
    return TierFacts(
        annual_revenue=revenue,
        has_tax_record=tax_record,
        tax_status=tax_status,
        social_insurance_headcount=insured,
    )


def tier_of(**kw):
    return classify_tier(facts(**kw)).tier


# ============================================================================ format_wan


@pytest.mark.parametrize(
    "yuan, text",
    [
        (850_000, "85"),
        (855_000, "85.5"),
        (855_500, "85.55"),
        (855_599, "85.55"),  # truncated, not rounded
        (599_999, "59.99"),  # never prints as the 60 万 threshold
        (0, "0"),
        (1, "0"),
        (100, "0.01"),
        (1_200_000, "120"),
        (400_000_000, "40000"),
        (Decimal("855000.00"), "85.5"),
    ],
)
def test_format_wan(yuan, text):
    # given an amount in 元, when formatted in 万元, then at most 2 decimals, trimmed
    assert format_wan(yuan) == text


@given(st.integers(min_value=0, max_value=10**13))
def test_format_wan_never_exceeds_the_amount(yuan):
    shown = Decimal(format_wan(yuan)) * WAN
    assert shown <= yuan < shown + 100


# ============================================================================ 三型: boundaries

GT, SST, NO = "general_taxpayer", "small_scale_taxpayer", "none"


@pytest.mark.parametrize(
    "revenue, tax_record, tax_status, insured, expected",
    [
        # --- exactly 60 万: growth lower bound is inclusive ("60 万元至 120 万元")
        (600_000, True, NO, 1, "growth"),
        (599_999, True, NO, 1, "survival"),
        # --- exactly 120 万: "120 万元以上" includes 120 万 -> development when the rest holds
        (1_200_000, True, SST, 4, "development"),
        (1_200_000, True, GT, 4, "development"),
        (1_199_999, True, SST, 4, "growth"),  # 4 insured but below 120 万: growth (lenient)
        # --- exactly 120 万 but development fails elsewhere -> growth if growth holds
        (1_200_000, True, SST, 3, "growth"),
        (1_200_000, True, NO, 5, "growth"),
        (1_200_000, False, NO, 5, "survival"),
        # --- 0 insured with 200 万 -> neither development nor growth
        (2_000_000, True, GT, 0, "survival"),
        (2_000_000, True, NO, 0, "survival"),
        # --- 4+ insured with 100 万 and a tax record -> growth (upper bounds are the dev line)
        (1_000_000, True, SST, 4, "growth"),
        (1_000_000, True, NO, 10, "growth"),
        (1_000_000, False, NO, 10, "survival"),
        # --- above growth's band but development misses one criterion -> growth, not survival
        (2_000_000, True, SST, 3, "growth"),
        (2_000_000, True, NO, 2, "growth"),
        # --- insured boundaries
        (850_000, True, NO, 1, "growth"),
        (850_000, True, NO, 0, "survival"),
        (1_500_000, True, SST, 4, "development"),
        (1_500_000, True, SST, 3, "growth"),
        # --- tax record / status
        (850_000, False, NO, 2, "survival"),
        (1_500_000, False, SST, 5, "development"),  # development does not require has_tax_record
        (1_500_000, True, NO, 5, "growth"),
        (0, True, GT, 0, "survival"),
    ],
)
def test_tier_boundaries(revenue, tax_record, tax_status, insured, expected):
    # given the four facts, when classified under the Shanxi default, then the stated tier
    assert tier_of(revenue=revenue, tax_record=tax_record, tax_status=tax_status, insured=insured) == expected


def test_tier_explanations_match_the_documented_shape():
    # given a growth business, then the explanation lists its facts and the unmet development line
    r = classify_tier(facts(850_000, True, NO, 2))
    assert r.tier == "growth" and r.label == "成长型"
    assert r.explanation == (
        "成长型: 有纳税记录, 年营业收入 85 万元, 参保 2 人, "
        "未达发展型标准(一般纳税人或小规模纳税人, 年营业收入 120 万元以上, 参保 4 人及以上)"
    )
    # given a survival business below 60 万
    r = classify_tier(facts(500_000, True, NO, 2))
    assert r.explanation == "生存型: 有纳税记录, 年营业收入 50 万元, 参保 2 人, 未达成长型标准(年营业收入 60 万元以上)"
    # given a development business
    r = classify_tier(facts(1_500_000, True, SST, 5))
    assert r.explanation == "发展型: 小规模纳税人, 年营业收入 150 万元, 参保 5 人"
    # given a fractional 万元 revenue, then it is shown with trimmed decimals
    r = classify_tier(facts(855_000, True, NO, 1))
    assert "年营业收入 85.5 万元" in r.explanation


def test_tier_growth_explanation_names_only_the_failed_development_criteria():
    r = classify_tier(facts(1_300_000, True, SST, 2))
    assert r.tier == "growth"
    assert r.explanation.endswith("未达发展型标准(参保 4 人及以上)")


def test_survival_explanation_names_every_failed_growth_criterion():
    r = classify_tier(facts(100_000, False, NO, 0))
    assert r.explanation == (
        "生存型: 无纳税记录, 年营业收入 10 万元, 参保 0 人, "
        "未达成长型标准(有纳税记录, 年营业收入 60 万元以上, 参保 1 人及以上)"
    )


# ============================================================================ 三型: missing data


@pytest.mark.parametrize(
    "kw, expected, missing",
    [
        # revenue unknown, but 0 insured rules out development and growth -> decided
        (dict(revenue=None, tax_record=True, tax_status=GT, insured=0), "survival", ()),
        # revenue unknown, no tax record, not a VAT taxpayer -> survival is certain
        (dict(revenue=None, tax_record=False, tax_status=NO, insured=5), "survival", ()),
        # revenue unknown and it could make the business development -> undecided
        (dict(revenue=None, tax_record=True, tax_status=GT, insured=5), None, ("annual_revenue",)),
        # development ruled out (status none), growth depends on revenue -> undecided
        (dict(revenue=None, tax_record=True, tax_status=NO, insured=2), None, ("annual_revenue",)),
        # tax status unknown with development-level revenue and headcount -> undecided
        (dict(revenue=2_000_000, tax_record=True, tax_status=None, insured=5), None, ("tax_status",)),
        # tax status unknown but only 2 insured -> development impossible, growth decided
        (dict(revenue=2_000_000, tax_record=True, tax_status=None, insured=2), "growth", ()),
        # tax record unknown, growth depends on it
        (dict(revenue=800_000, tax_record=None, tax_status=NO, insured=2), None, ("has_tax_record",)),
        # tax record unknown but revenue too low for growth
        (dict(revenue=100_000, tax_record=None, tax_status=None, insured=None), "survival", ()),
        # nothing known
        (dict(), None, ("tax_status", "annual_revenue", "social_insurance_headcount")),
        # headcount unknown
        (dict(revenue=2_000_000, tax_record=True, tax_status=GT, insured=None), None, ("social_insurance_headcount",)),
    ],
)
def test_tier_with_missing_data(kw, expected, missing):
    # given partially known facts, when classified, then None only if the unknowns matter
    r = classify_tier(facts(**kw))
    assert r.tier == expected
    assert r.missing == missing
    if expected is None:
        assert r.explanation.startswith("数据不足: 缺少")
        assert r.label is None


def test_undecided_explanation_names_missing_fields_in_chinese():
    r = classify_tier(facts())
    assert r.explanation == "数据不足: 缺少纳税人类型、年营业收入、参保人数, 无法判定是否达到发展型标准"


# ============================================================================ 三型: input forms and validation


def test_classify_tier_accepts_a_mapping_and_an_object():
    # given the same facts as a dict and as a plain object (e.g. a model instance)
    class Row:
        annual_revenue = 850_000
        has_tax_record = True
        tax_status = "none"
        social_insurance_headcount = 2

    as_dict = {
        "annual_revenue": 850_000,
        "has_tax_record": True,
        "tax_status": "none",
        "social_insurance_headcount": 2,
        "unrelated": 1,
    }
    # then both give the same result as TierFacts
    assert classify_tier(as_dict) == classify_tier(Row()) == classify_tier(facts(850_000, True, NO, 2))


def test_classify_tier_mapping_with_missing_keys_means_unknown():
    assert classify_tier({"social_insurance_headcount": 0}).tier == "survival"


@pytest.mark.parametrize(
    "kw, exc",
    [
        (dict(revenue=850_000.0), TypeError),  # float money refused
        (dict(revenue=True), TypeError),
        (dict(revenue=-1), ValueError),
        (dict(revenue=Decimal("NaN")), ValueError),
        (dict(insured=-1), ValueError),
        (dict(insured=2.0), TypeError),
        (dict(insured=True), TypeError),
        (dict(tax_status="vat"), ValueError),
        (dict(tax_record="yes"), TypeError),
    ],
)
def test_tier_facts_validation(kw, exc):
    with pytest.raises(exc):
        facts(**kw)


def test_decimal_revenue_is_compared_exactly():
    assert tier_of(revenue=Decimal("599999.99"), tax_record=True, tax_status=NO, insured=1) == "survival"
    assert tier_of(revenue=Decimal("600000.00"), tax_record=True, tax_status=NO, insured=1) == "growth"


# ============================================================================ 三型: policy as data


def test_shanxi_default_policy_values():
    p = SHANXI_DEFAULT_POLICY
    assert p.province_code == "140000"
    assert (p.growth_revenue_min, p.development_revenue_min) == (600_000, 1_200_000)
    assert (p.growth_insured_min, p.development_insured_min) == (1, 4)
    assert p.growth_revenue_max == 1_200_000 and p.growth_insured_max == 3
    assert p.development_tax_statuses == ("general_taxpayer", "small_scale_taxpayer")
    assert p.growth_requires_tax_record is True
    assert p.effective_from == dt.date(2024, 6, 17)


def test_policy_round_trips_through_json():
    # given the default policy, when stored as JSON and read back, then it is equal
    data = json.loads(json.dumps(policy_to_dict(SHANXI_DEFAULT_POLICY)))
    assert data["effective_from"] == "2024-06-17"
    assert policy_from_dict(data) == SHANXI_DEFAULT_POLICY


def test_policy_from_dict_fills_optional_defaults_and_refuses_unknown_keys():
    p = policy_from_dict({"province_code": "410000", "effective_from": "2025-01-01"})
    assert p.growth_revenue_min == 600_000 and p.province_code == "410000"
    with pytest.raises(ValueError, match="unknown"):
        policy_from_dict({"province_code": "140000", "effective_from": "2025-01-01", "growth_min": 1})
    with pytest.raises(ValueError, match="effective_from"):
        policy_from_dict({"province_code": "140000"})


@pytest.mark.parametrize(
    "kw",
    [
        dict(province_code="14"),
        dict(province_code="shanxi"),
        dict(growth_revenue_min=2_000_000),  # above development
        dict(growth_insured_min=5),  # above development
        dict(growth_revenue_min=-1),
        dict(development_insured_min=True),
        dict(development_tax_statuses=()),
        dict(development_tax_statuses=("vat",)),
        dict(development_tax_statuses=("general_taxpayer", "general_taxpayer")),
    ],
)
def test_policy_validation(kw):
    base = dict(province_code="140000", effective_from=dt.date(2024, 1, 1))
    with pytest.raises(ValueError):
        TierPolicy(**{**base, **kw})


def test_policy_effective_from_must_be_a_date():
    with pytest.raises(TypeError):
        TierPolicy(province_code="140000", effective_from="2024-01-01")
    with pytest.raises(TypeError):
        TierPolicy(province_code="140000", effective_from=dt.datetime(2024, 1, 1))


def test_other_policy_changes_the_outcome():
    # given a province with a 50 万 growth floor and 3-person development line
    p = TierPolicy(
        province_code="410000",
        effective_from=dt.date(2025, 1, 1),
        growth_revenue_min=500_000,
        development_revenue_min=1_000_000,
        development_insured_min=3,
        development_tax_statuses=("general_taxpayer",),
    )
    # then the same facts fall differently than under Shanxi's policy
    assert classify_tier(facts(550_000, True, NO, 1), p).tier == "growth"
    assert classify_tier(facts(550_000, True, NO, 1)).tier == "survival"
    assert classify_tier(facts(1_000_000, True, GT, 3), p).tier == "development"
    assert classify_tier(facts(1_000_000, True, SST, 3), p).tier == "growth"  # SST not accepted
    r = classify_tier(facts(1_000_000, True, SST, 3), p)
    assert "未达发展型标准(一般纳税人)" in r.explanation


def test_policy_without_tax_record_requirement():
    p = TierPolicy(province_code="140000", effective_from=dt.date(2025, 1, 1), growth_requires_tax_record=False)
    assert classify_tier(facts(800_000, None, NO, 1), p).tier == "growth"


def test_select_policy_picks_latest_effective_for_the_province():
    old = SHANXI_DEFAULT_POLICY
    new = TierPolicy(province_code="140000", effective_from=dt.date(2025, 7, 1), growth_revenue_min=700_000)
    other = TierPolicy(province_code="410000", effective_from=dt.date(2020, 1, 1))
    policies = [new, other, old]
    assert select_policy(policies, "140000", dt.date(2024, 6, 16)) is None
    assert select_policy(policies, "140000", dt.date(2024, 6, 17)) is old
    assert select_policy(policies, "140000", dt.date(2025, 6, 30)) is old
    assert select_policy(policies, "140000", dt.date(2025, 7, 1)) is new
    assert select_policy(policies, "140000", dt.datetime(2025, 7, 1, 9, 0)) is new
    assert select_policy(policies, "410000", dt.date(2025, 7, 1)) is other


# ============================================================================ 三型: disagreement


@pytest.mark.parametrize(
    "imported, computed, message",
    [
        ("growth", "growth", None),
        (None, "growth", None),
        ("growth", None, None),
        (None, None, None),
        ("growth", "development", "名录库标记为成长型, 按现行标准测算为发展型; 以名录库标记(成长型)为准"),
        ("development", "survival", "名录库标记为发展型, 按现行标准测算为生存型; 以名录库标记(发展型)为准"),
    ],
)
def test_tier_disagreement(imported, computed, message):
    assert tier_disagreement(imported, computed) == message


def test_tier_disagreement_every_differing_pair_has_a_message():
    for a, b in itertools.permutations(TIERS, 2):
        assert tier_disagreement(a, b)


@pytest.mark.parametrize("imported, computed", [("grow", "growth"), ("growth", "大型")])
def test_tier_disagreement_refuses_unknown_values(imported, computed):
    with pytest.raises(ValueError):
        tier_disagreement(imported, computed)


# ============================================================================ 三型: properties

revenues = st.one_of(st.none(), st.integers(0, 5_000_000), st.sampled_from([599_999, 600_000, 1_199_999, 1_200_000]))
headcounts = st.one_of(st.none(), st.integers(0, 20))
tax_records = st.sampled_from([None, True, False])
tax_statuses = st.sampled_from([None, *TAX_STATUSES])
RANK = {"survival": 0, "growth": 1, "development": 2}


@given(
    st.integers(0, 5_000_000),
    st.integers(0, 5_000_000),
    st.integers(0, 20),
    st.integers(0, 20),
    st.booleans(),
    st.sampled_from(TAX_STATUSES),
)
def test_tier_is_monotone_in_revenue_and_headcount(r1, r2, h1, h2, rec, status):
    # given two businesses differing only in revenue/headcount, the larger is never a lower tier
    lo = tier_of(revenue=min(r1, r2), tax_record=rec, tax_status=status, insured=min(h1, h2))
    hi = tier_of(revenue=max(r1, r2), tax_record=rec, tax_status=status, insured=max(h1, h2))
    assert RANK[lo] <= RANK[hi]


def _completions(f: TierFacts):
    """Extreme values suffice: every criterion is a threshold on one fact."""
    return [
        TierFacts(
            annual_revenue=f.annual_revenue if f.annual_revenue is not None else rev,
            has_tax_record=f.has_tax_record if f.has_tax_record is not None else rec,
            tax_status=f.tax_status if f.tax_status is not None else status,
            social_insurance_headcount=f.social_insurance_headcount if f.social_insurance_headcount is not None else n,
        )
        for rev, rec, status, n in itertools.product([0, 10**9], [False, True], TAX_STATUSES, [0, 10**3])
    ]


@settings(max_examples=300)
@given(revenues, tax_records, tax_statuses, headcounts)
def test_tier_none_exactly_when_unknowns_matter(rev, rec, status, n):
    # given partially known facts
    f = facts(rev, rec, status, n)
    result = classify_tier(f).tier
    outcomes = {classify_tier(c).tier for c in _completions(f)}
    if result is None:
        # then undecided only if some completions disagree
        assert len(outcomes) > 1
    else:
        # then a decided tier holds for every way of filling the gaps
        assert outcomes == {result}


@given(
    st.builds(
        TierPolicy,
        province_code=st.from_regex(r"\d{6}", fullmatch=True),
        effective_from=st.dates(),
        growth_revenue_min=st.integers(0, 10**6),
        development_revenue_min=st.integers(10**6, 10**8),
        growth_insured_min=st.integers(0, 3),
        development_insured_min=st.integers(3, 50),
        growth_requires_tax_record=st.booleans(),
        development_tax_statuses=st.sampled_from(
            [("general_taxpayer",), ("general_taxpayer", "small_scale_taxpayer"), ("small_scale_taxpayer", "none")]
        ),
        source=st.text(max_size=20),
    )
)
def test_any_policy_round_trips_through_json(policy):
    assert policy_from_dict(json.loads(json.dumps(policy_to_dict(policy)))) == policy


# ============================================================================ 划型: expected table
# (indicators, large, medium, small) -- people or 万元, typed from classification.md

E, R, A = "employees", "revenue", "total_assets"
EXPECTED_TABLE = {
    "agriculture": ("农、林、牧、渔业", (R,), (20000,), (500,), (50,)),
    "industry": ("工业", (E, R), (1000, 40000), (300, 2000), (20, 300)),
    "construction": ("建筑业", (R, A), (80000, 80000), (6000, 5000), (300, 300)),
    "wholesale": ("批发业", (E, R), (200, 40000), (20, 5000), (5, 1000)),
    "retail": ("零售业", (E, R), (300, 20000), (50, 500), (10, 100)),
    "transport": ("交通运输业", (E, R), (1000, 30000), (300, 3000), (20, 200)),
    "warehousing": ("仓储业", (E, R), (200, 30000), (100, 1000), (20, 100)),
    "postal": ("邮政业", (E, R), (1000, 30000), (300, 2000), (20, 100)),
    "accommodation": ("住宿业", (E, R), (300, 10000), (100, 2000), (10, 100)),
    "catering": ("餐饮业", (E, R), (300, 10000), (100, 2000), (10, 100)),
    "information_transmission": ("信息传输业", (E, R), (2000, 100000), (100, 1000), (10, 100)),
    "software_it": ("软件和信息技术服务业", (E, R), (300, 10000), (100, 1000), (10, 50)),
    "real_estate_development": ("房地产开发经营", (R, A), (200000, 10000), (1000, 5000), (100, 2000)),
    "property_management": ("物业管理", (E, R), (1000, 5000), (300, 1000), (100, 500)),
    "leasing_business_services": ("租赁和商务服务业", (E, A), (300, 120000), (100, 8000), (10, 100)),
    "other": ("其他未列明行业", (E,), (300,), (100,), (10,)),
}
LEVELS = ("large", "medium", "small")
LOWER = {"large": "medium", "medium": "small", "small": "micro"}


def _to_input(indicator, bound):
    return bound if indicator == E else bound * WAN


def _bounds(row, level):
    _label, inds, large, medium, small = EXPECTED_TABLE[row]
    return dict(zip(inds, {"large": large, "medium": medium, "small": small}[level]))


def _size(row, values):
    return classify_size_for_row(row, **values)


def test_module_table_has_the_sixteen_rows_of_300hao():
    assert list(SIZE_ROWS) == list(EXPECTED_TABLE)
    for key, (label, inds, large, medium, small) in EXPECTED_TABLE.items():
        row = SIZE_ROWS[key]
        assert row.label == label and row.indicators == inds
        assert row.large == tuple(zip(inds, large))
        assert row.medium == tuple(zip(inds, medium))
        assert row.small == tuple(zip(inds, small))


def _boundary_cases():
    """For every row and class: all indicators exactly at the class's lower bounds, and each
    indicator one unit below with the others at the bound (drops exactly one class)."""
    for row, (_l, inds, *_r) in EXPECTED_TABLE.items():
        for level in LEVELS:
            at = {ind: _to_input(ind, b) for ind, b in _bounds(row, level).items()}
            yield pytest.param(row, at, level, id=f"{row}-{level}-at")
            for ind in inds:
                below = {**at, ind: at[ind] - 1}  # 1 person or 1 元
                yield pytest.param(row, below, LOWER[level], id=f"{row}-{level}-{ind}-minus1")


@pytest.mark.parametrize("row, values, expected", list(_boundary_cases()))
def test_size_boundaries_for_every_row(row, values, expected):
    # given indicators exactly at / one unit below a class's lower bounds
    # when classified, then exactly at -> that class; one below -> the next class down
    result = _size(row, values)
    assert result.size_class == expected, result.explanation
    assert result.row == row


def _min_rule_cases():
    """Each indicator independently at the large/medium/small bound or one below small:
    the class is the lowest class any single indicator reaches (drop-one-class rule)."""
    order = ("large", "medium", "small", "micro")
    for row, (_l, inds, *_r) in EXPECTED_TABLE.items():
        for combo in itertools.product(order, repeat=len(inds)):
            values = {}
            for ind, lvl in zip(inds, combo):
                if lvl == "micro":
                    values[ind] = _to_input(ind, _bounds(row, "small")[ind]) - 1
                else:
                    values[ind] = _to_input(ind, _bounds(row, lvl)[ind])
            expected = max(combo, key=order.index)
            yield pytest.param(row, values, expected, id=f"{row}-{'-'.join(combo)}")


@pytest.mark.parametrize("row, values, expected", list(_min_rule_cases()))
def test_size_drop_one_class_rule(row, values, expected):
    # given indicators at different class levels, then the lowest one decides
    assert _size(row, values).size_class == expected


@pytest.mark.parametrize(
    "code, employees, revenue, assets, expected",
    [
        # 工业: 500 people (medium) but revenue 1000 万 (small) -> small, not medium
        ("C1310", 500, 1000 * WAN, None, "small"),
        # 工业: 1000 people and 39999.9999 万 -> not large (large needs both)
        ("C", 1000, 40000 * WAN - 1, None, "medium"),
        # 工业: 2000 people, revenue 50 万 -> micro (revenue < 300 万)
        ("B06", 2000, 50 * WAN, None, "micro"),
        # 批发业: 4 people, revenue 1 亿 -> micro (< 5 people)
        ("5110", 4, 10000 * WAN, None, "micro"),
        # 建筑业: revenue 1 亿 (medium), assets 400 万 (small) -> small
        ("E", None, 10000 * WAN, 400 * WAN, "small"),
        # 房地产开发经营: revenue 30 亿 (large) but assets 6000 万 (medium) -> medium
        ("7010", None, 300000 * WAN, 6000 * WAN, "medium"),
        # 租赁和商务服务业: 400 people (large) but assets 50 万 -> micro
        ("L7211", 400, None, 50 * WAN, "micro"),
        # 农林牧渔 uses revenue only: people do not matter
        ("A0511", 5000, 49 * WAN, None, "micro"),
        # 其他未列明: employees only
        ("M7310", 300, None, None, "large"),
    ],
)
def test_size_examples(code, employees, revenue, assets, expected):
    assert classify_size(code, employees, revenue, assets).size_class == expected


def test_size_explanations():
    # given a retail shop of 8 people and 80 万 revenue
    r = classify_size("5211", employees=8, revenue=800_000)
    assert r.size_class == "micro" and r.label == "微型" and r.row == "retail"
    assert (
        r.explanation == "零售业: 从业人员 8 人, 营业收入 80 万元 → 微型 (小型须从业人员 ≥ 10 人且营业收入 ≥ 100 万元)"
    )
    # drop-one-class example
    r = classify_size("C1310", employees=500, revenue=10_000_000)
    assert (
        r.explanation
        == "工业: 从业人员 500 人, 营业收入 1000 万元 → 小型 (中型须从业人员 ≥ 300 人且营业收入 ≥ 2000 万元)"
    )
    r = classify_size("C1310", employees=1000, revenue=400_000_000)
    assert (
        r.explanation
        == "工业: 从业人员 1000 人, 营业收入 40000 万元 → 大型 (达到大型标准: 从业人员 ≥ 1000 人且营业收入 ≥ 40000 "
        "万元)"
    )
    r = classify_size("C1310", employees=300, revenue=20_000_000)
    assert r.explanation.endswith("→ 中型 (大型须从业人员 ≥ 1000 人且营业收入 ≥ 40000 万元)")
    r = classify_size("E4710", revenue=3_005_000, total_assets=3_000_000)
    assert (
        r.explanation
        == "建筑业: 营业收入 300.5 万元, 资产总额 300 万元 → 小型 (中型须营业收入 ≥ 6000 万元且资产总额 ≥ 5000 万元)"
    )


# ============================================================================ 划型: missing data


@pytest.mark.parametrize(
    "code, employees, revenue, assets, expected, missing",
    [
        # 工业 with 10 people: micro whatever the revenue
        ("C", 10, None, None, "micro", ()),
        # 工业 with 500 people: revenue decides between medium, small and micro
        ("C", 500, None, None, None, ("revenue",)),
        # 工业 with 2000 people: large needs revenue
        ("C", 2000, None, None, None, ("revenue",)),
        # revenue known to be < 2000 万 but people unknown: still small-or-micro -> undecided
        ("C", None, 1000 * WAN, None, None, ("employees",)),
        # revenue below small: micro
        ("C", None, 299 * WAN, None, "micro", ()),
        # agriculture ignores employees and assets
        ("A", None, 600 * WAN, None, "medium", ()),
        ("A", None, None, None, None, ("revenue",)),
        # 其他未列明 ignores money
        ("O", 15, None, None, "small", ()),
        ("O", None, 10**9, 10**9, None, ("employees",)),
        # 建筑业 with assets unknown but revenue < 300 万
        ("E", None, 100 * WAN, None, "micro", ()),
        ("E", None, 100000 * WAN, None, None, ("total_assets",)),
        # 租赁和商务服务业 ignores revenue
        ("L", 50, None, 500 * WAN, "small", ()),
        ("L", None, None, None, None, ("employees", "total_assets")),
    ],
)
def test_size_with_missing_data(code, employees, revenue, assets, expected, missing):
    r = classify_size(code, employees, revenue, assets)
    assert r.size_class == expected
    assert r.missing == missing
    if expected is None:
        assert "无法划型 (缺少" in r.explanation
        assert r.label is None


def test_size_missing_explanation_names_the_indicator_and_the_test():
    r = classify_size("C", 500, None)
    assert r.explanation == (
        "工业: 从业人员 500 人, 营业收入 未提供 → 无法划型 "
        "(缺少营业收入, 无法判断是否达到中型标准: 从业人员 ≥ 300 人且营业收入 ≥ 2000 万元)"
    )


@pytest.mark.parametrize(
    "kw, exc",
    [
        (dict(employees=-1), ValueError),
        (dict(employees=1.5), TypeError),
        (dict(revenue=1.5), TypeError),
        (dict(total_assets=-5), ValueError),
    ],
)
def test_size_input_validation(kw, exc):
    with pytest.raises(exc):
        classify_size("C", **kw)
    with pytest.raises(exc):  # also checked when the code cannot be mapped
        classify_size("F", **kw)


def test_classify_size_for_row_refuses_an_unknown_row():
    with pytest.raises(ValueError):
        classify_size_for_row("mining", 10)


# ============================================================================ 划型: GB/T 4754-2017 mapping

# every division 01-97 -> expected row (None = not classifiable or needs a finer code)
DIVISION_ROWS = {
    **{d: "agriculture" for d in range(1, 6)},
    **{d: "industry" for d in range(6, 47)},
    **{d: "construction" for d in range(47, 51)},
    51: "wholesale",
    52: "retail",
    53: None,  # 铁路运输业 excluded
    **{d: "transport" for d in range(54, 59)},
    59: None,  # 591 transport vs 592-599 warehousing
    60: "postal",
    61: "accommodation",
    62: "catering",
    63: "information_transmission",
    64: "information_transmission",
    65: "software_it",
    **{d: None for d in range(66, 70)},  # 金融业: own standard
    70: None,  # needs the group digit
    71: "leasing_business_services",
    72: "leasing_business_services",
    **{d: "other" for d in range(73, 91)},  # M, N, O, P(参照), Q, R
    **{d: None for d in range(91, 98)},  # S, T
}


@pytest.mark.parametrize("division, expected", sorted(DIVISION_ROWS.items()))
def test_every_division_maps_to_its_row(division, expected):
    m = map_industry_code(f"{division:02d}")
    assert m.row == expected
    if expected is None:
        assert m.note  # a Chinese reason is always given


def test_all_97_divisions_are_covered():
    assert sorted(DIVISION_ROWS) == list(range(1, 98))


@pytest.mark.parametrize(
    "code, expected",
    [
        ("A", "agriculture"),
        ("B", "industry"),
        ("C", "industry"),
        ("D", "industry"),
        ("E", "construction"),
        ("F", None),
        ("G", None),
        ("H", None),
        ("I", None),
        ("J", None),
        ("K", None),
        ("L", "leasing_business_services"),
        ("M", "other"),
        ("N", "other"),
        ("O", "other"),
        ("P", "other"),
        ("Q", "other"),
        ("R", "other"),
        ("S", None),
        ("T", None),
    ],
)
def test_section_letters(code, expected):
    assert map_industry_code(code).row == expected


@pytest.mark.parametrize(
    "code, expected",
    [
        ("0511", "agriculture"),  # 农林牧渔专业及辅助性活动 is in A
        ("05", "agriculture"),
        ("5211", "retail"),
        ("F5211", "retail"),
        ("f5211", "retail"),
        (" 52 ", "retail"),
        ("5110", "wholesale"),
        ("541", "transport"),
        ("5810", "transport"),
        ("591", "transport"),
        ("5910", "transport"),  # 装卸搬运
        ("592", "warehousing"),
        ("5920", "warehousing"),
        ("G5990", "warehousing"),
        ("595", "warehousing"),
        ("6010", "postal"),
        ("6110", "accommodation"),
        ("6210", "catering"),
        ("6311", "information_transmission"),
        ("6410", "information_transmission"),
        ("6510", "software_it"),
        ("701", "real_estate_development"),
        ("7010", "real_estate_development"),
        ("K7010", "real_estate_development"),
        ("702", "property_management"),
        ("7020", "property_management"),
        ("7030", "other"),
        ("703", "other"),
        ("7090", "other"),
        ("7040", None),
        ("704", None),
        ("7111", "leasing_business_services"),
        ("7211", "leasing_business_services"),
        ("8010", "other"),
        ("8310", "other"),
        ("8411", "other"),
        ("8510", "other"),
        ("9010", "other"),
        ("5310", None),
        ("6610", None),
        ("9100", None),
        ("9700", None),
    ],
)
def test_finer_codes(code, expected):
    assert map_industry_code(code).row == expected


@pytest.mark.parametrize(
    "code, fragment",
    [
        ("F", "51 或 52"),
        ("59", "591"),
        ("70", "701"),
        ("K", "701"),
        ("53", "不含铁路运输业"),
        ("J", "银发〔2015〕309号"),
        ("7040", "自有房地产经营活动"),
        ("S", "不属企业"),
        ("T", "不属企业"),
        ("P", "参照其他未列明行业"),
        ("8411", "参照其他未列明行业"),
    ],
)
def test_mapping_notes_explain_in_chinese(code, fragment):
    assert fragment in map_industry_code(code).note


def test_plain_rows_carry_no_note():
    assert map_industry_code("5211").note == ""
    assert map_industry_code("M").note == ""


@pytest.mark.parametrize(
    "code",
    [
        "",
        "  ",
        "5",
        "12345",
        "00",
        "98",
        "99",
        "U",
        "Z",
        "FF",
        "F51X",
        "52-1",
        "F61",  # F61: 61 is H
        "C05",
        "5970",
        "7050",
        "590",
    ],
)
def test_malformed_codes_raise(code):
    with pytest.raises(ValueError):
        map_industry_code(code)


def test_code_must_be_a_string():
    with pytest.raises(TypeError):
        map_industry_code(52)


def test_unmappable_code_gives_none_with_reason():
    # given a section that spans rows, when classified, then no size and the reason
    r = classify_size("F", employees=8, revenue=800_000)
    assert r.size_class is None and r.row is None
    assert r.explanation == "行业代码 F: 无法划型 (门类 F(批发和零售业)跨批发业、零售业, 须提供大类代码(51 或 52))"
    r = classify_size("6610", employees=8, revenue=800_000)
    assert r.size_class is None and "金融业" in r.explanation


def test_reference_rows_say_so_in_the_explanation():
    r = classify_size("8310", employees=50)
    assert r.size_class == "small" and r.row == "other"
    assert "参照其他未列明行业" in r.explanation and "参照" in r.note


# ============================================================================ 划型: properties

row_keys = st.sampled_from(sorted(EXPECTED_TABLE))
people = st.integers(0, 5000)
money = st.integers(0, 3_000_000 * WAN)
ORDER = {c: i for i, c in enumerate(reversed(SIZE_CLASSES))}  # micro 0 .. large 3


@given(row_keys, people, people, money, money, money, money)
def test_size_is_monotone_in_every_indicator(row, e1, e2, r1, r2, a1, a2):
    # given two enterprises where one is at least as big on every indicator
    small = _size(row, dict(employees=min(e1, e2), revenue=min(r1, r2), total_assets=min(a1, a2)))
    big = _size(row, dict(employees=max(e1, e2), revenue=max(r1, r2), total_assets=max(a1, a2)))
    # then its class is never lower
    assert ORDER[small.size_class] <= ORDER[big.size_class]


@given(row_keys, st.one_of(st.none(), people), st.one_of(st.none(), money), st.one_of(st.none(), money))
def test_size_none_exactly_when_unknowns_matter(row, e, r, a):
    result = _size(row, dict(employees=e, revenue=r, total_assets=a)).size_class
    fill = lambda v, options: [v] if v is not None else options  # noqa: E731
    outcomes = {
        _size(row, dict(employees=ee, revenue=rr, total_assets=aa)).size_class
        for ee in fill(e, [0, 10**6])
        for rr in fill(r, [0, 10**13])
        for aa in fill(a, [0, 10**13])
    }
    if result is None:
        assert len(outcomes) > 1
    else:
        assert outcomes == {result}


@given(row_keys, people, money, money)
def test_size_is_always_decided_with_full_data(row, e, r, a):
    result = _size(row, dict(employees=e, revenue=r, total_assets=a))
    assert result.size_class in SIZE_CLASSES
    assert result.explanation.startswith(EXPECTED_TABLE[row][0] + ": ")


# ============================================================================ 名特优新


TODAY = dt.date(2025, 3, 1)


@pytest.mark.parametrize(
    "honors, expected",
    [
        ([], []),
        ([("renowned", TODAY)], ["renowned"]),  # last day is still valid
        ([("renowned", TODAY - dt.timedelta(days=1))], []),  # expired yesterday
        ([("quality", TODAY + dt.timedelta(days=365))], ["quality"]),
        ([("emerging", None)], None),  # no end date -> validity unknown (the engine's unknown)
        ([("emerging", None), ("quality", TODAY)], None),  # the list stays open while one is unknown
        (
            [("distinctive", TODAY), ("renowned", dt.date(2024, 1, 1)), ("quality", dt.date(2030, 1, 1))],
            ["distinctive", "quality"],
        ),
        # a renewed honour listed twice is returned once
        (
            [("renowned", dt.date(2024, 1, 1)), ("renowned", dt.date(2026, 1, 1)), ("renowned", dt.date(2027, 1, 1))],
            ["renowned"],
        ),
    ],
)
def test_honors_valid(honors, expected):
    # given honours with validity ends, when checked on TODAY, then only those in period remain
    assert honors_valid(honors, TODAY) == expected


def test_honors_valid_accepts_datetimes():
    assert honors_valid([("renowned", dt.datetime(2025, 3, 1, 0, 0))], dt.datetime(2025, 3, 1, 23, 59)) == ["renowned"]


def test_honors_valid_refuses_unknown_kinds():
    with pytest.raises(ValueError):
        honors_valid([("famous", TODAY)], TODAY)


@given(st.lists(st.tuples(st.sampled_from(HONOR_KINDS), st.one_of(st.none(), st.dates()))), st.dates())
def test_honors_valid_property(honors, as_of):
    valid = honors_valid(honors, as_of)
    if any(until is None for _, until in honors):
        assert valid is None
        return
    assert len(valid) == len(set(valid))
    assert set(valid) == {k for k, until in honors if until >= as_of}


_near = st.dates(dt.date(2024, 1, 1), dt.date(2026, 12, 31))


@given(
    st.lists(st.tuples(st.sampled_from(HONOR_KINDS), st.one_of(st.none(), _near), st.one_of(st.none(), _near))),
    _near,
)
def test_classifier_and_engine_agree_on_honour_validity_名特优新_且在有效期内(honors, as_of):
    """001 附件 三(二): "被省市场监管局认定为'名特优新'的个体工商户, 且在有效期内". An honour without
    an end date is *unknown* on the entity page, in the classifier and in the engine alike
    (never "valid", never "expired"): the classifier and the engine give the same answer for
    every list of honours (kind, valid_until, valid_from)."""
    engine_kinds, engine_any = honor_status(
        [{"kind": k, "valid_until": until, "valid_from": since} for k, until, since in honors], as_of
    )
    assert honors_valid(honors, as_of) == engine_kinds
    assert has_valid_honor(honors, as_of) is engine_any
    for kind, until, since in honors:
        validity = honor_validity(until, as_of, since)
        if since is not None and since > as_of:
            assert validity is False
        elif until is None:
            assert validity is None
        else:
            assert validity is (until >= as_of)
