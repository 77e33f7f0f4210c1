"""Per product: a profile that passes every rule, and for each rule a change that fails it.

``MUTATIONS[code][rule]`` changes the eligible profile so that exactly that rule (plus
possibly rules that follow from it) fails. A rule of the catalogue without an entry here,
and not listed in ``CANNOT_FAIL``, fails ``test_every_rule_has_a_failing_case``.
"""

import pytest

from eligibility.rules import iter_leaves, leaf_id
from products.catalog.factories import catalog, ccb_relationship, good_entity, merge, messages, outcomes, result_for

JINCHENG_OUTSIDE = {
    "region_code": "140105",
    "operating_region_code": "140105",
    "operator": {"residence_region_code": "140105"},
}
SHANXI_OUTSIDE = {"region_code": "110101"}
YOUNG = {"operator": {"birth_date": "2010-01-01"}}  # 16
OLD = {"operator": {"birth_date": "1955-01-01"}}  # 71
AGE_65 = {"operator": {"birth_date": "1961-06-01"}}  # 65: 65 + 1 year > 65
RECENT = {"established_on": "2026-05-10"}  # 6 months
NOT_REGISTERED = {"register_status": "abnormal"}
COOPERATIVE = {"entity_type": "farmer_cooperative"}
CREDIT = {
    "major_bad_record": {"credit": {"major_bad_record": True}},
    "pending_litigation": {"credit": {"pending_litigation": True}},
    "dishonest_debtor": {"credit": {"dishonest_debtor": True}},
    "joint_punishment": {"credit": {"joint_punishment": True}},
    "consumption_restricted": {"credit": {"consumption_restricted": True}},
}
RECENT_CHANGE = "2026-08-01"  # 3 months before AS_OF
BOC_CHANNELS = ("shang-e-dai", "yinong-kuaidai", "yanshang-e-dai", "huishangdai")


def term_over(months):
    return {"need": {"term_months": months + 1}}


SXRCC_COMMON = {
    "service_area": JINCHENG_OUTSIDE,
    "register_status": NOT_REGISTERED,
    "major_bad_record": CREDIT["major_bad_record"],
}
SHANXIBANK_COMMON = {
    "entity_type": COOPERATIVE,
    "service_area": SHANXI_OUTSIDE,
    "nationality": {"operator": {"nationality": "US"}},
    "operator_age_min": {"operator": {"birth_date": "2007-01-01"}},  # 19
    "operator_age_max": OLD,
    "register_status": NOT_REGISTERED,
    "operating_months": RECENT,
    "legal_rep_unchanged": {"legal_rep_changed_on": RECENT_CHANGE},
    "main_business_unchanged": {"main_business_changed_on": RECENT_CHANGE},
    "dishonest_debtor": CREDIT["dishonest_debtor"],
    "joint_punishment": CREDIT["joint_punishment"],
    "major_bad_record": CREDIT["major_bad_record"],
}
# 附件1 预授信基础条件, shared by both CCB products (the 附件2 否决条件 belong to 示范标杆商户 only)
CCB_BASE = {
    "entity_type": {"entity_type": "small_micro_enterprise"},
    "normal_operation": {"register_status": "revoked"},
    "service_area": SHANXI_OUTSIDE,
    "operator_age_min": YOUNG,
    "operator_age_max": OLD,
    "nationality": {"operator": {"nationality": "HK"}},
    "no_bad_credit_record": CREDIT["major_bad_record"],
}
# 中国银行 三、准入条件 (seeds/001 附件), shared by its four channels
BOC_ADMISSION = {
    "entity_type": COOPERATIVE,
    "service_area": SHANXI_OUTSIDE,
    "register_status": NOT_REGISTERED,
    "operating_months": {"established_on": "2025-12-01"},
    "overdue_consecutive": {"credit": {"overdue_consecutive_24m": 3, "overdue_total_24m": 3}},
    "overdue_total": {"credit": {"overdue_total_24m": 6}},
    "term_months": term_over(12),
}
VALID_TOBACCO_LICENCE = {
    "tobacco_licence": {"held": True, "number": "140502100001", "valid_from": "2024-01-01", "valid_until": "2028-12-31"}
}
CLUSTER = {"entity_type": COOPERATIVE, "service_area": SHANXI_OUTSIDE}

# Changes to the good profile that make each product eligible to begin with.
PROFILES = {
    "shang-e-dai": {"industry_code": "5251"},
    "yinong-kuaidai": {"industry_code": "0111"},
    "yanshang-e-dai": VALID_TOBACCO_LICENCE,
    "fangdi-e-dai": {"tier": "development"},
    "ccb-benchmark": {"tier": "development", "bank_relationships": [ccb_relationship()]},
}

MUTATIONS = {
    "jinxiangdai": {
        **SXRCC_COMMON,
        "register_status": {"register_status": "revoked"},
        "operator_age": YOUNG,
        "age_plus_term": {"need": {"term_months": 36}, "operator": {"birth_date": "1963-05-01"}},
        "term_months": term_over(36),
        "bullet_repayment_term": {"need": {"term_months": 24, "repayment": "bullet"}},
    },
    "chengxindai": {
        **SXRCC_COMMON,
        "entity_type": COOPERATIVE,
        "term_months": term_over(12),
        "operating_months": RECENT,
        "operator_age": YOUNG,
        "age_plus_term": AGE_65,
        "local_residence": {"operator": {"local_residence": False}},
        "size_class": {"entity_type": "small_micro_enterprise", "size_class": "medium"},
        "industry_experience": {
            "entity_type": "small_micro_enterprise",
            **RECENT,
            "operator": {"industry_experience_months": 0},
        },
        "pending_litigation": CREDIT["pending_litigation"],
    },
    "xinglongdai": {
        **SXRCC_COMMON,
        "entity_type": COOPERATIVE,
        "operator_age": YOUNG,
        "age_plus_term": AGE_65,
        "local_residence": {"operator": {"local_residence": False}},
        "term_months": term_over(36),
    },
    "xingwangdai": {
        **SXRCC_COMMON,
        "service_area": {"region_code": "110101", "operating_region_code": "110101"},
        "term_months": term_over(36),
    },
    "huishangdai": BOC_ADMISSION,
    "shang-e-dai": BOC_ADMISSION,
    "yinong-kuaidai": {
        **BOC_ADMISSION,
        "entity_type": {"entity_type": "family_farm"},
        "farming_industry": {"industry_code": "5291"},
    },
    "yanshang-e-dai": {
        **BOC_ADMISSION,
        "tobacco_licence": {"tobacco_licence": {"held": True, "number": "140502100001", "valid_until": "2026-10-31"}},
    },
    "boc-jinniudai": CLUSTER,
    "boc-falandai": CLUSTER,
    "boc-fenjiudai": CLUSTER,
    "boc-zaliangdai": CLUSTER,
    "boc-tunhui-shichang": CLUSTER,
    "huishang-yidai": {**SHANXIBANK_COMMON, "term_months": term_over(24)},
    "weiyedai": {**SHANXIBANK_COMMON, "tier": {"tier": "survival"}},
    "shui-e-dai": {
        **SHANXIBANK_COMMON,
        "tier": {"tier": "survival"},
        "has_tax_record": {"has_tax_record": False},
        "term_months": term_over(12),
    },
    "fangdi-e-dai": {**SHANXIBANK_COMMON, "tier": {"tier": "growth"}, "term_months": term_over(120)},
    "chuangdandai": {**SHANXIBANK_COMMON, "tier": {"tier": "survival"}},
    "mashangdai": {
        "service_area": SHANXI_OUTSIDE,
        "register_status": NOT_REGISTERED,
        "operating_months": RECENT,
        "operator_age_min": YOUNG,
        "operator_age_max": OLD,
        "pending_litigation": CREDIT["pending_litigation"],
        "major_bad_record": CREDIT["major_bad_record"],
        "entity_type": COOPERATIVE,
        "dishonest_debtor": CREDIT["dishonest_debtor"],
        "consumption_restricted": CREDIT["consumption_restricted"],
        "term_months": term_over(36),
    },
    "ccb-precredit": {
        **CCB_BASE,
        "operating_months": {"established_on": "2025-03-22"},
        "annual_revenue": {"annual_revenue": 299999},
        "industry_experience": {
            "tier": "survival",
            "established_on": "2026-03-01",
            "operator": {"industry_experience_months": 0},
        },
    },
    "ccb-benchmark": {
        **CCB_BASE,
        "veto_register_status": {"register_status": "abnormal"},
        "veto_joint_punishment": CREDIT["joint_punishment"],
        "veto_dishonest_debtor": CREDIT["dishonest_debtor"],
        "tier": {"tier": "growth"},
        "operating_months": {"established_on": "2025-03-22"},
        "annual_revenue": {"annual_revenue": 599999},
        "ccb_months_borrowed": {"bank_relationships": [ccb_relationship(months_borrowed=23)]},
        "ccb_non_performing": {"bank_relationships": [ccb_relationship(non_performing=True)]},
        "ccb_overdue_12m": {"bank_relationships": [ccb_relationship(overdue_12m=4)]},
        "ccb_credit_line": {"bank_relationships": [ccb_relationship(credit_line=499999)]},
    },
}

# Rules no known value can fail (they can only pass or be unknown), with the reason.
CANNOT_FAIL = {
    # "标记为三型或持有有效名特优新称号": every tier value is a 三型 mark; a missing mark is unknown
    # (the admission of all four 中国银行 channels)
    *((code, rule) for code in BOC_CHANNELS for rule in ("tier", "has_valid_honor")),
    # the 17 scenario industries are an unpublished annex: an unlisted industry is unknown
    ("shang-e-dai", "scenario_industry"),
    # every tier value has a pre-credit branch
    ("ccb-precredit", "tier"),
}


def split_request(changes):
    changes = dict(changes)
    need = changes.pop("need", None)
    return changes, need


def profile(code):
    return merge(good_entity(), PROFILES.get(code, {}))


def cases():
    for code, mutations in MUTATIONS.items():
        for rule, change in mutations.items():
            yield pytest.param(code, rule, change, id=f"{code}-{rule}")


@pytest.mark.parametrize("code", list(MUTATIONS))
def test_the_profile_passes_every_rule(code):
    result = result_for(code, profile(code))

    failing = [r for r in result["reasons"] if r["outcome"] != "pass"]
    assert failing == []
    assert result["verdict"] == "eligible"


@pytest.mark.parametrize("code, rule, change", list(cases()))
def test_each_rule_fails_on_its_change(code, rule, change):
    entity_changes, need = split_request(change)

    result = result_for(code, merge(profile(code), entity_changes), need=need)

    assert result["verdict"] == "ineligible"
    assert result["max_amount"] is None
    assert "fail" in outcomes(result, rule), result["reasons"]


def test_every_product_is_in_the_table():
    assert set(MUTATIONS) == set(catalog()["products"])


@pytest.mark.parametrize("code", list(MUTATIONS))
def test_every_rule_has_a_failing_case(code):
    rule_ids = {leaf_id(leaf) for leaf in iter_leaves(catalog()["products"][code]["rules"])}
    covered = set(MUTATIONS[code]) | {rule for product, rule in CANNOT_FAIL if product == code}
    assert rule_ids - covered == set()


# --- boundaries: 以上/以下/以内/届满 include the number, 超过/不满 exclude it ----------------------


def test_age_plus_term_counts_whole_years_of_term_rounded_up():
    entity = merge(profile("jinxiangdai"), {"operator": {"birth_date": "1961-11-23"}})  # 64
    # 64 + 1 year = 65: "不超过65周岁（含）" passes
    assert result_for("jinxiangdai", entity, need={"term_months": 12})["verdict"] == "eligible"
    # 13 months count as 2 years: 64 + 2 = 66
    result = result_for("jinxiangdai", entity, need={"term_months": 13})
    assert result["verdict"] == "ineligible"
    assert "之和为 66 岁" in messages(result, "age_plus_term")[0]


@pytest.mark.parametrize(
    "established_on, outcome",
    [
        ("2025-11-22", "pass"),  # exactly 12 months: "成立一年及以上"
        ("2025-11-23", "fail"),  # one day short: 11 whole months
    ],
)
def test_huishangdai_one_year_includes_the_anniversary(established_on, outcome):
    entity = merge(profile("huishangdai"), {"established_on": established_on})
    result = result_for("huishangdai", entity)
    assert outcomes(result, "operating_months") == {outcome}
    if outcome == "fail":
        assert messages(result, "operating_months") == ["已经营 11 个月, 经营未满 1 年, 还差 1 个月"]


@pytest.mark.parametrize(
    "birth_date, rule, outcome",
    [
        ("2006-11-22", "operator_age_min", "pass"),  # 20 today
        ("2006-11-23", "operator_age_min", "fail"),  # 19
        ("1961-11-22", "operator_age_max", "pass"),  # 65 today
        ("1960-11-22", "operator_age_max", "fail"),  # 66
    ],
)
def test_shanxibank_age_20_to_65_inclusive(birth_date, rule, outcome):
    entity = merge(profile("weiyedai"), {"operator": {"birth_date": birth_date}})
    result = result_for("weiyedai", entity)
    assert outcomes(result, rule) == {outcome}
    if (rule, outcome) == ("operator_age_min", "fail"):
        assert messages(result, rule) == ["年龄 19 岁, 未满 20 周岁, 还差 1 岁"]


@pytest.mark.parametrize(
    "consecutive, total, verdict",
    [
        (2, 5, "eligible"),
        (3, 5, "ineligible"),
        (2, 6, "ineligible"),
    ],
)
def test_huishangdai_three_consecutive_or_six_total_overdue_refuse(consecutive, total, verdict):
    entity = merge(
        profile("huishangdai"), {"credit": {"overdue_consecutive_24m": consecutive, "overdue_total_24m": total}}
    )
    assert result_for("huishangdai", entity)["verdict"] == verdict


@pytest.mark.parametrize(
    "tier, revenue, verdict",
    [
        ("survival", 100000, "eligible"),  # 10万元以上
        ("survival", 99999, "ineligible"),
        ("growth", 300000, "eligible"),  # 30万元（含）以上
        ("growth", 299999, "ineligible"),
        ("development", 600000, "eligible"),
        ("development", 599999, "ineligible"),
    ],
)
def test_ccb_precredit_revenue_thresholds_include_the_number(tier, revenue, verdict):
    entity = merge(profile("ccb-precredit"), {"tier": tier, "annual_revenue": revenue})
    result = result_for("ccb-precredit", entity)
    assert result["verdict"] == verdict
    if verdict == "eligible":
        assert result["max_amount"] == {"survival": 100000, "growth": 200000, "development": 300000}[tier]
        assert result["binding_cap"] == "tier_cap"


@pytest.mark.parametrize(
    "months_operating, experience, verdict",
    [
        (12, 0, "eligible"),
        (8, 24, "eligible"),  # prior industry experience relaxes 1 year to 6 months
        (6, 1, "eligible"),
        (8, 0, "ineligible"),
        (5, 24, "ineligible"),
    ],
)
def test_ccb_precredit_survival_relaxation(months_operating, experience, verdict):
    established = {12: "2025-11-22", 8: "2026-03-22", 6: "2026-05-22", 5: "2026-06-22"}[months_operating]
    entity = merge(
        profile("ccb-precredit"),
        {
            "tier": "survival",
            "annual_revenue": 150000,
            "established_on": established,
            "operator": {"industry_experience_months": experience},
        },
    )
    assert result_for("ccb-precredit", entity)["verdict"] == verdict


def test_ccb_precredit_growth_is_not_relaxed_by_experience():
    entity = merge(profile("ccb-precredit"), {"tier": "growth", "established_on": "2025-03-22"})
    result = result_for("ccb-precredit", entity)
    assert result["verdict"] == "ineligible"
    assert messages(result, "operating_months") == ["已经营 20 个月, 经营未满 2 年, 还差 4 个月"]
    assert "industry_experience" not in {r["rule"] for r in result["reasons"]}


def test_ccb_benchmark_allows_three_overdue_in_12_months():
    """001 附件2: "最近 12 个月内（含 12 个月）累计逾期次数不超过 3 次" (at 建设银行)."""
    entity = merge(profile("ccb-benchmark"), {"bank_relationships": [ccb_relationship(overdue_12m=3)]})
    assert result_for("ccb-benchmark", entity)["verdict"] == "eligible"


def test_ccb_revoked_is_a_named_veto_of_the_benchmark_only():
    entity = merge(profile("ccb-benchmark"), {"register_status": "revoked"})
    result = result_for("ccb-benchmark", entity)
    assert messages(result, "veto_register_status") == ["否决: 登记状态为吊销未注销"]
    result = result_for("ccb-precredit", merge(profile("ccb-precredit"), {"register_status": "revoked"}))
    assert "veto_register_status" not in {reason["rule"] for reason in result["reasons"]}


@pytest.mark.parametrize("revenue, mode", [(2500000, "self_payment"), (2500005, "entrusted_payment")])
def test_huishangdai_payment_mode_threshold_is_500000_inclusive(revenue, mode):
    entity = merge(
        profile("huishangdai"),
        {"annual_revenue": revenue, "honors": [{"kind": "renowned", "valid_until": "2027-01-01"}]},
    )
    result = result_for("huishangdai", entity)
    assert result["max_amount"] == revenue // 5
    assert result["payment_mode"]["mode"] == mode


# --- product-specific behaviour ---------------------------------------------------------------


def test_chengxindai_enterprise_branch_accepts_industry_experience_instead_of_one_year():
    entity = merge(
        profile("chengxindai"),
        {
            "entity_type": "small_micro_enterprise",
            **RECENT,
            "size_class": "small",
            "operator": {"industry_experience_months": 36, "local_residence": False},
        },
    )
    result = result_for("chengxindai", entity)
    assert result["verdict"] == "eligible"
    # the individual-business conditions (local residence) do not apply to an enterprise
    assert "local_residence" not in {r["rule"] for r in result["reasons"]}


def test_chengxindai_enterprise_without_size_class_is_incomplete():
    entity = merge(profile("chengxindai"), {"entity_type": "small_micro_enterprise", "size_class": None})
    result = result_for("chengxindai", entity)
    assert result["verdict"] == "incomplete"
    assert outcomes(result, "size_class") == {"unknown"}


def test_jinxiangdai_residence_in_jincheng_is_enough():
    entity = merge(profile("jinxiangdai"), {"region_code": "140105"})  # premises in 太原
    assert result_for("jinxiangdai", entity)["verdict"] == "eligible"


def test_jinxiangdai_premises_outside_and_residence_unknown_is_incomplete():
    entity = merge(profile("jinxiangdai"), {"region_code": "140105", "operator": {"residence_region_code": None}})
    result = result_for("jinxiangdai", entity)
    assert result["verdict"] == "incomplete"


def test_jinxiangdai_offer_is_bound_by_60_percent_of_the_borrowers_realisable_net_assets():
    entity = merge(profile("jinxiangdai"), {"operator": {"realisable_net_assets": 250001}})
    result = result_for("jinxiangdai", entity)
    assert result["max_amount"] == 150000  # floor(250001 * 0.6) = 150000
    assert result["binding_cap"] == "realisable_assets_share"


@pytest.mark.parametrize(
    "industry, cap, binding",
    [
        ("0111", 500000, "planting_cap"),  # 稻谷种植
        ("0311", 1000000, "breeding_cap"),  # 牛的饲养 (03 畜牧业)
        ("03", 1000000, "breeding_cap"),
        ("0412", 1000000, "breeding_cap"),  # 内陆养殖 (041 水产养殖)
        ("041", 1000000, "breeding_cap"),
    ],
)
def test_益农快贷_种植类客户最高50万元_养殖类客户最高100万元(industry, cap, binding):
    """seeds/001 附件 四(一)1 益农快贷: "种植类客户最高50万元，养殖类客户最高100万元"; 养殖业 is
    畜牧业 (GB/T 4754 03) and 水产养殖 (041) alike, and the cap that binds says which kind."""
    entity = merge(profile("yinong-kuaidai"), {"industry_code": industry})
    result = result_for("yinong-kuaidai", entity)
    assert result["verdict"] == "eligible"
    assert (result["max_amount"], result["binding_cap"]) == (cap, binding)


def test_益农快贷_fishing_is_not_aquaculture():
    # 042 水产捕捞 is 渔业 but neither 种植业 nor 养殖业; a bare 04 (渔业) may be either
    assert result_for("yinong-kuaidai", merge(profile("yinong-kuaidai"), {"industry_code": "0422"}))["verdict"] == (
        "ineligible"
    )
    result = result_for("yinong-kuaidai", merge(profile("yinong-kuaidai"), {"industry_code": "04"}))
    assert result["verdict"] == "incomplete"


def test_yinong_kuaidai_section_only_industry_is_incomplete():
    entity = merge(profile("yinong-kuaidai"), {"industry_code": "A"})
    result = result_for("yinong-kuaidai", entity)
    assert result["verdict"] == "incomplete"
    assert result["max_amount"] is None
    assert "代码不够具体" in messages(result, "farming_industry")[0]


def test_shang_e_dai_unlisted_industry_is_unknown_not_fail():
    entity = merge(profile("shang-e-dai"), {"industry_code": "5291"})
    result = result_for("shang-e-dai", entity)
    assert result["verdict"] == "incomplete"
    assert "不在已知清单中" in messages(result, "scenario_industry")[0]


def test_shang_e_dai_other_section_is_still_unknown_because_the_list_is_open():
    entity = merge(profile("shang-e-dai"), {"industry_code": "C"})
    assert result_for("shang-e-dai", entity)["verdict"] == "incomplete"


# --- 中国银行 惠商贷 programme: 三、准入条件 for all four channels (seeds/001 附件) ---------------


@pytest.mark.parametrize("code", BOC_CHANNELS)
def test_准入条件_经营实体成立一年及以上_applies_to_every_channel(code):
    """ "（一）经营实体成立一年及以上，拥有合法有效经营资质及经营实体。" — 三、准入条件 of the
    “三型四类”优质个体工商户普惠金融服务方案 (seeds/001), which every 贷款渠道 of 四、贷款政策
    follows: 商E贷, 益农快贷, 烟商E贷 (线上) and 惠商贷 (线下)."""
    entity = merge(profile(code), {"established_on": "2025-11-23"})  # 11 whole months
    result = result_for(code, entity)
    assert result["verdict"] == "ineligible"
    assert messages(result, "operating_months") == ["已经营 11 个月, 经营未满 1 年, 还差 1 个月"]


@pytest.mark.parametrize("code", BOC_CHANNELS)
def test_准入条件_标记为三型或有效期内的名特优新_applies_to_every_channel(code):
    """ "（二）经营实体在“全省个体工商户名录库”中被标记为“三型”的个体工商户；被省市场监管局认定为
    “名特优新”的个体工商户，且在有效期内。" (seeds/001 附件 三)"""
    # given neither a 三型 mark nor an honour: unknown mark, the honour list known to be empty
    entity = merge(profile(code), {"tier": None, "honors": []})
    result = result_for(code, entity)
    assert result["verdict"] == "incomplete"
    assert "unknown" in outcomes(result, "tier")
    # a valid honour satisfies it without a mark; an expired one does not
    honoured = merge(entity, {"honors": [{"kind": "distinctive", "valid_until": "2027-06-30"}]})
    result = result_for(code, honoured)
    assert outcomes(result, "has_valid_honor") == {"pass"} and outcomes(result, "tier") == set()
    # (惠商贷's amount is by tier: without the mark its tier cap, not the admission, is unknown)
    assert result["verdict"] == ("incomplete" if code == "huishangdai" else "eligible")
    expired = merge(entity, {"honors": [{"kind": "distinctive", "valid_until": "2026-11-21"}]})
    assert outcomes(result_for(code, expired), "tier") == {"unknown"}


@pytest.mark.parametrize("code", BOC_CHANNELS)
@pytest.mark.parametrize(
    "consecutive, total, verdict",
    [(2, 5, "eligible"), (3, 5, "ineligible"), (2, 6, "ineligible")],
)
def test_准入条件_近两年无连续3期或累计6期及以上逾期_applies_to_every_channel(code, consecutive, total, verdict):
    """ "（三）原则上借款人或配偶近两年无连续3期或累计6期及以上逾期记录。〔单笔逾期金额小于人民币500元
    （含）、每次逾期不超过10天等非恶意拖欠的可视具体情况除外〕" (seeds/001 附件 三): 3 consecutive or 6
    in total refuse ("及以上"); the reason names the exception the bank may grant."""
    entity = merge(profile(code), {"credit": {"overdue_consecutive_24m": consecutive, "overdue_total_24m": total}})
    result = result_for(code, entity)
    assert result["verdict"] == verdict
    if verdict == "ineligible":
        (message,) = [r["message"] for r in result["reasons"] if r["outcome"] == "fail"]
        assert "单笔逾期金额 500 元（含）以下、每次逾期不超过 10 天等非恶意拖欠的, 银行可视具体情况除外" in message
    assert "借款人及配偶近两年征信逾期情况" in result["bank_checks"]


def test_准入条件_is_one_definition_the_four_channels_name():
    products = catalog()["products"]
    blocks = [[leaf_id(leaf) for leaf in iter_leaves(products[code]["rules"])][:8] for code in BOC_CHANNELS]
    assert all(block == blocks[0] for block in blocks)
    assert blocks[0] == [
        "entity_type",
        "service_area",
        "register_status",
        "operating_months",
        "tier",
        "has_valid_honor",
        "overdue_consecutive",
        "overdue_total",
    ]


# --- 烟商E贷: 为全省烟草零售商借款人提供 (seeds/001 附件 四(一)1) ---------------------------------


def test_烟商E贷_仅限持有烟草专卖零售许可证的烟草零售商():
    """ "“烟商E贷”产品……为全省烟草零售商借款人提供的信用类线上个人经营贷款" (seeds/001 附件
    四(一)1): a licensed tobacco retailer is eligible, a business that holds no licence is not."""
    assert result_for("yanshang-e-dai", profile("yanshang-e-dai"))["verdict"] == "eligible"
    no_licence = merge(
        merge(profile("yanshang-e-dai"), {"tobacco_licence": None}), {"tobacco_licence": {"held": False}}
    )
    result = result_for("yanshang-e-dai", no_licence)
    assert result["verdict"] == "ineligible"
    assert messages(result, "tobacco_licence")[0].startswith("烟草专卖零售许可证: 未持有, 要求为有效期内")


def test_烟商E贷_许可证信息未知为信息不全():
    result = result_for("yanshang-e-dai", merge(profile("yanshang-e-dai"), {"tobacco_licence": None}))
    assert result["verdict"] == "incomplete"
    assert messages(result, "tobacco_licence") == [
        "缺少烟草专卖零售许可证信息, 无法判断是否持有有效的烟草专卖零售许可证"
    ]


@pytest.mark.parametrize(
    "valid_from, valid_until, verdict, status",
    [
        ("2023-11-22", "2026-11-22", "eligible", None),  # the last day of validity counts
        ("2023-11-21", "2026-11-21", "ineligible", "已过期"),
        ("2026-11-23", "2031-11-22", "ineligible", "尚未生效"),
        (None, None, "incomplete", None),  # held, but the validity is not known
    ],
)
def test_烟商E贷_许可证须在有效期内(valid_from, valid_until, verdict, status):
    licence = {"held": True, "number": "140502100001", "valid_from": valid_from, "valid_until": valid_until}
    result = result_for("yanshang-e-dai", merge(profile("yanshang-e-dai"), {"tobacco_licence": licence}))
    assert result["verdict"] == verdict
    if status:
        assert messages(result, "tobacco_licence")[0].startswith(f"烟草专卖零售许可证: {status}, 要求为有效期内")


def test_烟商E贷_a_tobacco_shop_without_a_licence_on_record_is_not_eligible_by_its_industry():
    # 5227 烟草制品零售: the industry code is not the licence
    entity = merge(profile("yanshang-e-dai"), {"industry_code": "5227", "tobacco_licence": None})
    assert result_for("yanshang-e-dai", entity)["verdict"] == "incomplete"


def test_chuangdandai_amount_is_set_by_the_bank():
    result = result_for("chuangdandai", profile("chuangdandai"))
    assert result["verdict"] == "eligible"
    assert result["max_amount"] is None
    assert result["binding_cap"] is None
    result = result_for("chuangdandai", profile("chuangdandai"), need={"amount": 250000})
    assert (result["max_amount"], result["binding_cap"]) == (250000, "requested_amount")


def test_shanxibank_without_change_dates_is_incomplete():
    entity = merge(profile("weiyedai"), {"legal_rep_changed_on": None})
    result = result_for("weiyedai", entity)
    assert result["verdict"] == "incomplete"
    assert messages(result, "legal_rep_unchanged") == [
        "缺少法定代表人（经营者）最近变更日期, 无法判断近 6 个月法定代表人未变更"
    ]


def test_legal_rep_change_shortfall_counts_months_to_the_six_month_mark():
    entity = merge(profile("weiyedai"), {"legal_rep_changed_on": RECENT_CHANGE})
    result = result_for("weiyedai", entity)
    (message,) = messages(result, "legal_rep_unchanged")
    assert message.endswith("还差 3 个月")


def test_need_above_product_cap_is_capped_not_refused():
    result = result_for("mashangdai", profile("mashangdai"), need={"amount": 900000})
    assert (result["verdict"], result["max_amount"], result["binding_cap"]) == ("eligible", 500000, "product_cap")
