"""Product conditions read against the notices (issue 15, items 8–12): 晋享贷's cap and repayment
term, 兴旺贷's service area, 码上贷's credit line and drawdown, 建设银行's 预授信 base apart from
示范标杆商户's vetoes and its CCB relationship, and what an offer rests on. Each test quotes the
notice it pins."""

import pytest

from eligibility.fields import from_request, product_facts
from eligibility.preview import validate_preview_request
from products.catalog.factories import (
    AS_OF,
    catalog,
    ccb_relationship,
    good_entity,
    merge,
    messages,
    outcomes,
    result_for,
)

# --- 晋享贷 (000 附件 一) ------------------------------------------------------------------------


def test_晋享贷_额度不超过借款人自有可变现净资产总额的60():
    """000 一、晋享贷 (二) 1: "最高不超过30万元，且不得超过借款人自有可变现净资产总额的60%": the
    borrower's (the operator's) own assets, not the entity's net assets."""
    # given an operator whose own realisable net assets are 250,001 元 and an entity with 1 元 of net assets
    entity = merge(good_entity(), {"net_assets": 1, "operator": {"realisable_net_assets": 250001}})

    result = result_for("jinxiangdai", entity)

    # then the offer is 60% of the operator's assets, and the entity's net assets cap nothing
    assert (result["verdict"], result["max_amount"]) == ("eligible", 150000)
    assert result["binding_cap"] == "realisable_assets_share"
    assert messages(result, "realisable_assets_share") == [
        "额度不超过借款人自有可变现净资产总额 250001 元的 60%, 即 150000 元"
    ]
    assert "net_assets_share" not in {reason["rule"] for reason in result["reasons"]}


def test_晋享贷_借款人自有可变现净资产未知则额度无法计算():
    """ "不得超过借款人自有可变现净资产总额的60%" with those assets unknown: the cap is an unknown
    reason, so no offer and at best 信息不全 — never the entity's net assets instead."""
    entity = merge(good_entity(), {"operator": {"realisable_net_assets": None}})

    result = result_for("jinxiangdai", entity)

    assert (result["verdict"], result["max_amount"]) == ("incomplete", None)
    assert outcomes(result, "realisable_assets_share") == {"unknown"}
    (message,) = messages(result, "realisable_assets_share")
    assert message.startswith("缺少借款人（经营者）自有可变现净资产")


@pytest.mark.parametrize(
    "need, verdict",
    [
        ({"term_months": 24, "repayment": "bullet"}, "ineligible"),
        ({"term_months": 12, "repayment": "bullet"}, "eligible"),
        ({"term_months": 24, "repayment": "equal_installment"}, "eligible"),
        ({"term_months": 36, "repayment": "equal_principal"}, "eligible"),
        ({"term_months": 24}, "incomplete"),
    ],
)
def test_晋享贷_采用按月结息到期一次性还本的授信期限最长不超过1年(need, verdict):
    """000 一、晋享贷 (二) 2: "授信期限最长不超过3年；采用按月结息，到期一次性还本的授信期限最长不超过1年":
    a rule on the repayment mode the need asks for, not a bank check."""
    result = result_for("jinxiangdai", good_entity(), need=need)

    assert result["verdict"] == verdict
    if verdict == "ineligible":
        assert outcomes(result, "bullet_repayment_term") == {"fail"}
        assert (
            "采用按月结息、到期一次性还本的, 授信期限最长不超过 1 年: 贷款期限 24 个月, 要求不超过 12 个月"
            in messages(result, "bullet_repayment_term")
        )
    if verdict == "incomplete":
        assert "缺少申请的还款方式, 无法判断采用按月结息、到期一次性还本的, 授信期限最长不超过 1 年" in messages(
            result, "bullet_repayment_term"
        )
    product = catalog()["products"]["jinxiangdai"]
    assert not [line for line in product["bank_checks"] if "到期一次性还本" in line or "60%" in line]


def test_a_need_states_a_known_repayment_mode_or_is_refused():
    clean, errors = validate_preview_request({"need": {"repayment": "whenever"}}, catalog(), today=lambda: AS_OF)
    assert clean is None and "need.repayment" in errors


# --- 兴旺贷 (000 附件 四) ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "registered, operating, outcome",
    [
        ("140525", None, "pass"),  # registered in 泽州
        ("140105", None, "pass"),  # 太原: 山西省农村信用社 serves the province, not 晋城 only
        ("110101", "140525", "pass"),  # registered in Beijing, operating in 泽州
        ("110101", "411502", "fail"),
        ("110101", None, "unknown"),  # operating place unknown
    ],
)
def test_兴旺贷_注册地或经营地位于山西省农村信用社服务区域内(registered, operating, outcome):
    """000 四、兴旺贷 (一) 1: "注册地或经营地位于山西省农村信用社服务区域内": either place, in 山西省."""
    entity = merge(good_entity(), {"region_code": registered, "operating_region_code": operating})

    result = result_for("xingwangdai", entity)

    assert outcome in outcomes(result, "service_area")
    assert result["verdict"] == {"pass": "eligible", "fail": "ineligible", "unknown": "incomplete"}[outcome]
    if outcome == "fail":
        assert "经营地位于山西省农村信用社服务区域: 经营地地区代码 411502, 要求属于 14（山西省）" in messages(
            result, "service_area"
        )


def test_兴旺贷_service_area_is_the_province_the_notice_names():
    """The catalogue holds 兴旺贷's area as the notice gives it ("山西省农村信用社服务区域"), the
    other 晋城 products keep 晋城市."""
    rules = catalog()["products"]["xingwangdai"]["rules"]["all"][0]
    assert rules["label"] == "注册地或经营地位于山西省农村信用社服务区域内"
    assert {leaf["field"]: leaf["value"] for leaf in rules["any"]} == {
        "region_code": ["14"],
        "operating_region": ["14"],
    }


def test_晋享贷_经营场所位于农村信用社服务区域内_counts_the_operating_place():
    """000 一、晋享贷 (一) 2: "固定（长期）住所或经营场所位于农村信用社服务区域内"."""
    entity = merge(
        good_entity(),
        {"region_code": "140105", "operating_region_code": "140525", "operator": {"residence_region_code": "140105"}},
    )
    assert result_for("jinxiangdai", entity)["verdict"] == "eligible"


# --- 码上贷 (001 晋商银行 附件3) ----------------------------------------------------------------


def test_码上贷_授信期限最长36个月_单笔用信期限最长13个月():
    """001 附件3 三(二): "授信期限最长 36 个月，单笔用信期限最长 13 个月": a 24-month need is a
    24-month line drawn 13 months at a time, and the result says so."""
    result = result_for("mashangdai", good_entity(), need={"term_months": 24})

    assert result["verdict"] == "eligible"
    assert result["drawdown"] == {"line_months": 24, "max_drawdown_months": 13, "drawdown_months": 13}
    (message,) = messages(result, "drawdown_term")
    assert "授信期限 24 个月为额度期限, 不是一笔 24 个月的贷款" in message
    assert "单笔用信期限最长 13 个月" in message
    assert outcomes(result, "drawdown_term") == {"pass"}


def test_码上贷_a_need_within_13_months_is_one_drawdown_and_over_36_months_fails():
    short = result_for("mashangdai", good_entity(), need={"term_months": 12})
    assert short["drawdown"]["drawdown_months"] == 12
    assert messages(short, "drawdown_term") == ["授信期限 12 个月, 单笔用信期限最长 13 个月: 可一次用款至到期"]

    long = result_for("mashangdai", good_entity(), need={"term_months": 37})
    assert long["verdict"] == "ineligible"
    assert messages(long, "term_months") == [
        "授信期限最长 36 个月（单笔用信期限最长 13 个月）: 贷款期限 37 个月, 要求不超过 36 个月"
    ]


def test_other_products_have_no_drawdown():
    assert result_for("huishangdai", good_entity())["drawdown"] is None


# --- 建设银行 (001 附件1 预授信, 附件2 示范标杆商户) ---------------------------------------------


def ccb_profile(**changes):
    return merge(good_entity(), {"tier": "development", "bank_relationships": [ccb_relationship()], **changes})


@pytest.mark.parametrize("status", ["revoked", "abnormal"])
def test_建设银行预授信_吊销未注销或经营异常不符合连续正常经营_不是否决条件(status):
    """001 附件1 一(一): "具有合法登记在册的个体工商户营业执照，且连续正常经营 1 年（含）以上": a
    revoked or abnormal entity fails this base condition; 附件2's 否决条件 are not 预授信's."""
    result = result_for("ccb-precredit", ccb_profile(register_status=status))

    assert result["verdict"] == "ineligible"
    assert outcomes(result, "normal_operation") == {"fail"}
    (message,) = messages(result, "normal_operation")
    assert message.startswith("预授信基础条件: 连续正常经营")
    assert not [reason for reason in result["reasons"] if reason["rule"].startswith("veto_")]


@pytest.mark.parametrize("flag", ["dishonest_debtor", "joint_punishment"])
def test_建设银行预授信_失信记录不符合无不良信用记录(flag):
    """001 附件1 一(三): "信用观念强，资信状况良好，无不良信用记录"."""
    result = result_for("ccb-precredit", ccb_profile(credit={flag: True}))

    assert result["verdict"] == "ineligible"
    assert "fail" in outcomes(result, "no_bad_credit_record")
    assert any(m.startswith("预授信基础条件: 无不良信用记录: 已列入") for m in messages(result, "no_bad_credit_record"))
    assert not [reason for reason in result["reasons"] if reason["rule"].startswith("veto_")]


@pytest.mark.parametrize(
    "changes, veto",
    [
        ({"register_status": "revoked"}, "veto_register_status"),
        ({"register_status": "abnormal"}, "veto_register_status"),
        ({"credit": {"joint_punishment": True}}, "veto_joint_punishment"),
        ({"credit": {"dishonest_debtor": True}}, "veto_dishonest_debtor"),
    ],
)
def test_示范标杆商户_否决条件(changes, veto):
    """001 附件2 二、否决条件: "标记为吊销未注销状态、异常状态的个体工商户" and "列入失信联合惩戒对象名单、
    失信被执行人名单的个体工商户" 不得准入."""
    result = result_for("ccb-benchmark", ccb_profile(**changes))

    assert result["verdict"] == "ineligible"
    assert outcomes(result, veto) == {"fail"}
    assert messages(result, veto)[0].startswith("否决: ")


def test_示范标杆商户_准入标准是与建设银行的借贷往来():
    """001 附件2 一: "在建设银行累计用款期限 24 个月（含）以上，并且在建设银行无不良贷款记录，最近 12 个月
    内（含 12 个月）累计逾期次数不超过 3 次" and "在建设银行授信额度在 50 万元以上（含 50 万元）"."""
    assert result_for("ccb-benchmark", ccb_profile())["verdict"] == "eligible"
    for changes, rule in (
        ({"months_borrowed": 23}, "ccb_months_borrowed"),
        ({"non_performing": True}, "ccb_non_performing"),
        ({"overdue_12m": 4}, "ccb_overdue_12m"),
        ({"credit_line": 499999}, "ccb_credit_line"),
    ):
        result = result_for("ccb-benchmark", ccb_profile(bank_relationships=[ccb_relationship(**changes)]))
        assert result["verdict"] == "ineligible", changes
        assert outcomes(result, rule) == {"fail"}, changes
    boundary = ccb_relationship(months_borrowed=24, overdue_12m=3, credit_line=500000)
    assert result_for("ccb-benchmark", ccb_profile(bank_relationships=[boundary]))["verdict"] == "eligible"


def test_示范标杆商户_without_ccbs_record_is_incomplete_and_another_banks_record_does_not_count():
    """The relationship is with 建设银行: unknown until CCB records it; 中国银行's record of the
    same customer is not read by a CCB product."""
    boc = {**ccb_relationship(), "bank": "boc"}
    for relationships in ([], [boc], None):
        result = result_for("ccb-benchmark", ccb_profile(bank_relationships=relationships))
        assert result["verdict"] == "incomplete", relationships
        assert outcomes(result, "ccb_months_borrowed") == {"unknown"}
        assert messages(result, "ccb_months_borrowed") == [
            "缺少本行填报的借贷往来（累计用款期限）, 无法判断在建设银行累计用款期限 24 个月（含）以上"
        ]


def test_relationship_facts_are_read_for_the_products_own_bank_only():
    facts = from_request(
        {"bank_relationships": [ccb_relationship(), {"bank": "boc", "months_borrowed": 2}]}, None, AS_OF
    )
    assert product_facts(facts, None, "ccb")["bank_months_borrowed"] == 30
    assert product_facts(facts, None, "boc")["bank_months_borrowed"] == 2
    assert product_facts(facts, None, "jshb")["bank_months_borrowed"] is None
    assert product_facts(facts, None)["bank_credit_line"] is None


@pytest.mark.parametrize(
    "rows, path, message",
    [
        ([{"bank": "nope"}], "entity.bank_relationships[0].bank", "未知银行代码 'nope'"),
        ([{"bank": "ccb"}, {"bank": "ccb"}], "entity.bank_relationships[1].bank", "银行 ccb 重复: 每家银行一行"),
        ([{"bank": "ccb", "months_borrowed": -1}], "entity.bank_relationships[0].months_borrowed", "不能为负数"),
        ([{"months_borrowed": 3}], "entity.bank_relationships[0].bank", "必填: 银行代码"),
    ],
)
def test_bank_relationships_in_a_preview_request_are_validated(rows, path, message):
    clean, errors = validate_preview_request({"entity": {"bank_relationships": rows}}, catalog(), today=lambda: AS_OF)
    assert clean is None and errors[path] == [message]


# --- offers -----------------------------------------------------------------------------------


def test_what_an_offer_rests_on():
    """An offer computed from the entity's own data, the amount asked for, or only the product's
    maximum (兴旺贷 "最高授信1000万元", which is no offer to this entity)."""
    entity = good_entity()
    assert result_for("xingwangdai", entity)["offer_basis"] == "product_max"
    assert result_for("huishangdai", entity)["offer_basis"] == "entity_data"
    assert result_for("xingwangdai", entity, need={"amount": 100000})["offer_basis"] == "requested"
    assert result_for("ccb-precredit", entity)["offer_basis"] == "entity_data"  # the tier's pre-credit
    assert result_for("chuangdandai", entity)["offer_basis"] is None  # the bank decides
    # a cap computed from the entity's data that did not bind still grounds the offer
    rich = merge(entity, {"operator": {"realisable_net_assets": 10_000_000}})
    result = result_for("jinxiangdai", rich)
    assert (result["binding_cap"], result["offer_basis"]) == ("product_cap", "entity_data")
