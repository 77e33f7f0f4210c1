"""Every worked example of domain/products.md, and the contract example of eligibility-api.md."""

import pytest

from products.catalog.factories import catalog, contract_example, merge, messages, outcomes, result_for, run

SURVIVAL_18_MONTHS = contract_example()["entity"]  # 18 months, revenue 150000, operator 40


def test_survival_tier_offer_is_bound_by_20_percent_of_revenue():
    result = result_for("huishangdai", SURVIVAL_18_MONTHS)

    assert result["verdict"] == "eligible"
    assert result["max_amount"] == 30000
    assert result["binding_cap"] == "revenue_share"
    assert "额度不超过年营业收入 150000 元的 20%, 即 30000 元" in messages(result, "revenue_share")
    assert "生存型最高额度 100000 元" in messages(result, "tier_cap")
    assert "已经营 18 个月, 要求不少于 12 个月" in messages(result, "operating_months")


def test_growth_tier_with_valid_honour_reaches_600000_and_needs_entrusted_payment():
    entity = merge(SURVIVAL_18_MONTHS, {"tier": "growth", "annual_revenue": 3000000})

    result = result_for("huishangdai", entity)

    assert result["verdict"] == "eligible"
    assert result["max_amount"] == 600000
    assert result["binding_cap"] == "revenue_share"
    assert outcomes(result, "honor_cap") == {"pass"}
    assert "tier_cap" not in {reason["rule"] for reason in result["reasons"]}
    assert result["payment_mode"]["mode"] == "entrusted_payment"


def test_honour_expired_last_month_falls_back_to_the_growth_tier_cap():
    entity = merge(
        SURVIVAL_18_MONTHS,
        {
            "tier": "growth",
            "annual_revenue": 3000000,
            "honors": [{"kind": "quality", "valid_until": "2026-10-31"}],
        },
    )

    result = result_for("huishangdai", entity)

    assert result["verdict"] == "eligible"
    assert result["max_amount"] == 200000
    assert result["binding_cap"] == "tier_cap"
    assert "成长型最高额度 200000 元" in messages(result, "tier_cap")
    assert result["payment_mode"]["mode"] == "self_payment"


@pytest.mark.parametrize("term, verdict", [(36, "ineligible"), (12, "eligible")])
def test_operator_aged_63_and_jinxiangdai_term(term, verdict):
    # the 60% cap is of the borrower's own realisable net assets: stated, so the offer can be computed
    entity = merge(SURVIVAL_18_MONTHS, {"operator": {"birth_date": "1963-05-01", "realisable_net_assets": 500000}})

    result = result_for("jinxiangdai", entity, need={"term_months": term})

    assert result["verdict"] == verdict
    if verdict == "ineligible":
        assert outcomes(result, "age_plus_term") == {"fail"}
        (message,) = messages(result, "age_plus_term")
        assert "年龄 63 岁与贷款期限 3 年之和为 66 岁, 要求不超过 65 岁" in message
        assert "贷款期限不超过 24 个月可满足" in message


SHANXIBANK = [code for code, p in catalog()["products"].items() if p["bank"] == "shanxibank"]


@pytest.mark.parametrize("code", ["mashangdai", *SHANXIBANK])
def test_operating_20_months_is_too_short_for_mashangdai_and_every_shanxibank_product(code):
    entity = merge(SURVIVAL_18_MONTHS, {"established_on": "2025-03-22", "tier": "growth"})

    result = result_for(code, entity)

    assert result["verdict"] == "ineligible"
    assert result["max_amount"] is None
    (message,) = messages(result, "operating_months")
    assert message == "已经营 20 个月, 经营未满 2 年, 还差 4 个月"


def test_shanxibank_has_five_products():
    assert sorted(SHANXIBANK) == sorted(["huishang-yidai", "weiyedai", "shui-e-dai", "fangdi-e-dai", "chuangdandai"])


def test_dishonest_debtor_fails_the_precredit_base_condition_not_a_veto():
    """001 附件1 预授信基础条件 (三) "信用观念强，资信状况良好，无不良信用记录": the reason names
    that condition; the 附件2 否决条件 are not the pre-credit's."""
    entity = merge(SURVIVAL_18_MONTHS, {"credit": {"dishonest_debtor": True}})

    result = result_for("ccb-precredit", entity)

    assert result["verdict"] == "ineligible"
    assert outcomes(result, "no_bad_credit_record") == {"pass", "fail"}
    assert "预授信基础条件: 无不良信用记录: 已列入失信被执行人名单, 要求未列入失信被执行人名单" in messages(
        result, "no_bad_credit_record"
    )
    assert not [reason for reason in result["reasons"] if reason["rule"].startswith("veto_")]


def test_dishonest_debtor_is_refused_by_the_benchmark_with_the_veto_named():
    """001 附件2 否决条件 3: "列入失信联合惩戒对象名单、失信被执行人名单的个体工商户" 不得准入."""
    entity = merge(SURVIVAL_18_MONTHS, {"credit": {"dishonest_debtor": True}})

    result = result_for("ccb-benchmark", entity)

    assert result["verdict"] == "ineligible"
    assert messages(result, "veto_dishonest_debtor") == ["否决: 已列入失信被执行人名单"]


def test_contract_example_response_shape():
    response = run(contract_example())

    assert response["as_of"] == "2026-11-22"
    assert [r["product"] for r in response["results"]] == ["ccb-precredit", "huishangdai"]
    huishangdai = response["results"][1]
    assert huishangdai["bank"] == "boc"
    assert huishangdai["name"] == "惠商贷"
    assert huishangdai["verdict"] == "eligible"
    assert huishangdai["max_amount"] == 30000
    assert huishangdai["binding_cap"] == "revenue_share"
    assert "借款人及配偶近两年征信逾期情况" in huishangdai["bank_checks"]
    for result in response["results"]:
        assert {"product", "bank", "name", "verdict", "max_amount", "binding_cap", "reasons", "bank_checks"} <= set(
            result
        )
        for reason in result["reasons"]:
            assert set(reason) == {"rule", "outcome", "message"}
            assert reason["outcome"] in {"pass", "fail", "unknown"}
