import copy
import json
import re
from pathlib import Path

import pytest

from eligibility import validate_caps, validate_rules
from eligibility.fields import ENTITY_TYPES
from eligibility.rules import iter_leaves
from products.catalog import (
    BANK_FILES,
    CATALOG_DIR,
    CatalogError,
    apply_scenarios,
    catalog_errors,
    load_catalog_data,
    product_problems,
    read_bank_file,
    resolve_product,
    scenarios_problems,
)

CATALOG = load_catalog_data()
PRODUCTS = CATALOG["products"]

# domain/products.md: code → (bank, name, highest amount, longest term in months)
PRODUCTS_MD = {
    "jinxiangdai": ("sxrcc", "晋享贷", 300000, 36),
    "chengxindai": ("sxrcc", "诚信贷", 1000000, 12),
    "xinglongdai": ("sxrcc", "兴隆贷", 5000000, 36),
    "xingwangdai": ("sxrcc", "兴旺贷", 10000000, 36),
    "huishangdai": ("boc", "惠商贷", 1000000, 12),
    "shang-e-dai": ("boc", "惠如愿·商E贷", 1000000, 12),
    "yinong-kuaidai": ("boc", "益农快贷", 1000000, 12),
    "yanshang-e-dai": ("boc", "烟商E贷", 1000000, 12),
    "huishang-yidai": ("shanxibank", "惠商易贷", 100000, 24),
    "weiyedai": ("shanxibank", "微业贷", 3000000, None),
    "shui-e-dai": ("shanxibank", "税e贷", 2000000, 12),
    "fangdi-e-dai": ("shanxibank", "房抵e贷", 5000000, 120),
    "chuangdandai": ("shanxibank", "创担贷", None, None),
    "mashangdai": ("jshb", "晋商e贷·码上贷", 500000, 36),
    "ccb-precredit": ("ccb", "个体工商户预授信", 300000, None),
    "ccb-benchmark": ("ccb", "示范标杆商户", None, None),
}
BANKS_MD = {"sxrcc": ["1405"], "boc": ["14"], "shanxibank": ["14"], "jshb": ["14"], "ccb": ["14"]}
# where a notice names another area than the bank's: 000 兴旺贷 "注册地或经营地位于山西省农村信用社服务区域内"
NOTICE_AREAS = {"xingwangdai": ["14"]}


def leaves(code):
    return list(iter_leaves(PRODUCTS[code]["rules"]))


def test_every_bank_file_is_loaded():
    assert sorted(p.stem for p in Path(CATALOG_DIR).glob("*.json")) == sorted(BANK_FILES)
    assert {code: bank["service_area_prefixes"] for code, bank in CATALOG["banks"].items()} == BANKS_MD
    for bank in CATALOG["banks"].values():
        assert bank["name"] and bank["branch_name"] and bank["service_area_name"]


@pytest.mark.parametrize("code, expected", PRODUCTS_MD.items())
def test_every_product_of_products_md(code, expected):
    product = PRODUCTS[code]
    assert (product["bank"], product["name"], product["max_amount"], product["term"]["max_months"]) == expected
    assert product["active"] is True


@pytest.mark.parametrize("code", PRODUCTS)
def test_rules_and_caps_validate(code):
    validate_rules(PRODUCTS[code]["rules"])
    validate_caps(PRODUCTS[code]["caps"])


@pytest.mark.parametrize("code", PRODUCTS)
def test_service_area_rules_match_the_bank(code):
    product = PRODUCTS[code]
    areas = [leaf for leaf in leaves(code) if leaf.get("id") == "service_area"]
    assert areas, "every product checks its bank's service area"
    for leaf in areas:
        assert leaf["value"] == NOTICE_AREAS.get(code, CATALOG["banks"][product["bank"]]["service_area_prefixes"])


@pytest.mark.parametrize("code", PRODUCTS)
def test_entity_types_match_the_rules(code):
    product = PRODUCTS[code]
    type_leaves = [leaf for leaf in leaves(code) if leaf["field"] == "entity_type" and leaf.get("id") == "entity_type"]
    if not type_leaves:
        assert sorted(product["entity_types"]) == sorted(ENTITY_TYPES)
        return
    (leaf,) = type_leaves
    allowed = [leaf["value"]] if leaf["op"] == "==" else leaf["value"]
    assert sorted(allowed) == sorted(product["entity_types"])


@pytest.mark.parametrize("code", PRODUCTS)
def test_max_amount_is_the_largest_stated_cap(code):
    stated = []
    for cap in PRODUCTS[code]["caps"]:
        stated += [cap["amount"]] if "amount" in cap else list(cap.get("amounts", {}).values())
    assert PRODUCTS[code]["max_amount"] == (max(stated) if stated else None)


@pytest.mark.parametrize("code", PRODUCTS)
def test_term_rule_matches_the_stated_term(code):
    # the product's longest term (other rules may read the term too: 晋享贷's bullet repayment ≤ 12 months)
    term_leaves = [leaf for leaf in leaves(code) if leaf["field"] == "term_months" and leaf.get("id") == "term_months"]
    max_months = PRODUCTS[code]["term"]["max_months"]
    if max_months is None:
        assert term_leaves == []
    else:
        assert [(leaf["op"], leaf["value"]) for leaf in term_leaves] == [("<=", max_months)]


@pytest.mark.parametrize("code", PRODUCTS)
def test_bank_checks_are_kept(code):
    assert PRODUCTS[code]["bank_checks"], "conditions only the bank can verify are never dropped"


def test_商E贷_药商酒商等17个重点场景_seeded_with_their_gbt4754_codes():
    """ "为药商、酒商等17个重点场景领域（附件1）的个体工商户提供" (seeds/001 附件 四(一)1): the annex is
    not in the notice, so the list is data seeded with the two it names, by their GB/T 4754-2017
    classes (portal/reference/industries.json: 5151 西药批发, 5152 中药批发, 5251 西药零售, 5252
    中药零售; 5127 酒、饮料及茶叶批发, 5226 酒、饮料及茶叶零售), and open: an unlisted industry is
    unknown until the bank marks its list complete."""
    product = PRODUCTS["shang-e-dai"]
    (leaf,) = [leaf for leaf in leaves("shang-e-dai") if leaf["id"] == "scenario_industry"]
    assert leaf["value"] == [code for s in product["scenarios"] for code in s["industry_codes"]]
    assert leaf["unmatched"] == "unknown" and product["scenarios_complete"] is False
    assert product["scenarios"] == [
        {"name": "药商", "industry_codes": ["5151", "5152", "5251", "5252"]},
        {"name": "酒商", "industry_codes": ["5127", "5226"]},
    ]
    names = {row["code"]: row["name"] for row in read_json_industries()}
    assert leaf["value_labels"] == {code: names[code] for code in leaf["value"]}


def read_json_industries():
    path = Path(CATALOG_DIR).parents[1] / "portal" / "reference" / "industries.json"
    return json.loads(path.read_text(encoding="utf-8"))


def test_scenario_list_is_applied_to_its_rule_and_checked():
    product = PRODUCTS["shang-e-dai"]
    scenarios = product["scenarios"] + [{"name": "粮油商", "industry_codes": ["5221"]}]
    changed = apply_scenarios(product, scenarios, complete=True, labels={"5221": "粮油零售"})
    (leaf,) = [leaf for leaf in iter_leaves(changed["rules"]) if leaf.get("id") == "scenario_industry"]
    assert leaf["value"][-1] == "5221" and "unmatched" not in leaf and leaf["value_labels"] == {"5221": "粮油零售"}
    assert product_problems(changed, CATALOG["banks"]) == []
    # a rule edited by hand no longer agrees with the list: refused
    stale = copy.deepcopy(changed)
    stale["scenarios"] = product["scenarios"]
    assert "规则 scenario_industry 须与场景清单一致（请在场景清单页修改场景）" in product_problems(
        stale, CATALOG["banks"]
    )
    assert scenarios_problems(
        [{"name": "药商", "industry_codes": ["5251"]}, {"name": "药商", "industry_codes": ["5251"]}]
    ) == [
        "场景名称“药商”重复",
        "行业代码 5251 同时列在“药商”和“药商”中",
    ]
    assert scenarios_problems([{"name": "", "industry_codes": ["F52"]}]) == [
        "第 1 个场景缺少名称",
        "场景“第 1 个场景”的行业代码 'F52' 应为 GB/T 4754-2017 的 2 至 4 位数字代码",
    ]
    assert scenarios_problems([]) == ["场景清单至少应有一个场景"]


def test_two_caps_of_one_kind_need_ids():
    # 益农快贷's two product caps: without ids both would be "product_cap" and share one label
    product = copy.deepcopy(PRODUCTS["yinong-kuaidai"])
    assert [cap["id"] for cap in product["caps"]] == ["planting_cap", "breeding_cap"]
    for cap in product["caps"]:
        del cap["id"]
    assert product_problems(product, CATALOG["banks"]) == [
        "额度 product_cap 出现多次: 同类额度有多个时须用不同的 id 区分"
    ]


def test_准入条件_is_one_block_named_by_the_four_channels():
    """seeds/001 附件 三、准入条件 holds for the whole programme: the four products of 四、贷款政策
    name the one admission block of the bank file (no copy per product)."""
    data = read_bank_file("boc")
    named = {p["code"] for p in data["products"] if p.get("admission") == "huishang_common"}
    assert named == {"shang-e-dai", "yinong-kuaidai", "yanshang-e-dai", "huishangdai"}
    block = [leaf["id"] for leaf in data["admissions"]["huishang_common"]["rules"]]
    for code in named:
        own = {leaf.get("id") for leaf in iter_leaves(next(p for p in data["products"] if p["code"] == code)["rules"])}
        assert not own & set(block), code


def test_seed_figures():
    huishangdai = PRODUCTS["huishangdai"]
    assert huishangdai["payment_rule"]["self_payment_max"] == 500000
    assert (huishangdai["rate"]["min_percent"], huishangdai["rate"]["max_percent"]) == ("3.5", "4.0")
    caps = {cap["kind"]: cap for cap in huishangdai["caps"]}
    assert caps["tier_cap"]["amounts"] == {"survival": 100000, "growth": 200000, "development": 300000}
    assert caps["honor_cap"]["amount"] == 1000000 and caps["revenue_share"]["percent"] == 20
    # 000 晋享贷: "不得超过借款人自有可变现净资产总额的60%" (the operator's, not the entity's net assets)
    assert {c["kind"]: c.get("percent") for c in PRODUCTS["jinxiangdai"]["caps"]}["realisable_assets_share"] == 60
    assert PRODUCTS["mashangdai"]["term"]["max_drawdown_months"] == 13  # "单笔用信期限最长 13 个月"
    assert [c["amount"] for c in PRODUCTS["yinong-kuaidai"]["caps"]] == [500000, 1000000]
    assert PRODUCTS["ccb-precredit"]["caps"][0]["amounts"] == {
        "survival": 100000,
        "growth": 200000,
        "development": 300000,
    }
    assert PRODUCTS["mashangdai"]["rate"]["min_percent"] == "3.75"
    assert PRODUCTS["fangdi-e-dai"]["guarantee"] == ["mortgage"]
    assert PRODUCTS["xinglongdai"]["guarantee"] == ["credit", "surety", "mortgage", "pledge"]


def test_admission_blocks_come_first():
    first_ids = [leaf.get("id") for leaf in PRODUCTS["weiyedai"]["rules"]["all"][:3]]
    assert first_ids == ["entity_type", "service_area", "nationality"]
    assert PRODUCTS["mashangdai"]["materials"][0] == "借款申请人及配偶的身份证原件"
    assert "借款人及配偶近两年征信逾期情况" in PRODUCTS["huishangdai"]["bank_checks"]


def test_cluster_products_are_inactive():
    clusters = [code for code, p in PRODUCTS.items() if code.startswith("boc-")]
    assert len(clusters) == 5
    assert all(not PRODUCTS[code]["active"] for code in clusters)


def test_validation_reports_bad_data():
    broken = copy.deepcopy(CATALOG)
    product = broken["products"]["huishangdai"]
    product["rules"]["all"][0] = {"field": "foo", "op": "=="}
    product["caps"][0]["amounts"]["survival"] = -1
    product["entity_types"] = ["company"]
    product["guarantee"] = ["handshake"]
    product["bank"] = "nobank"
    broken["banks"]["ccb"]["service_area_prefixes"] = ["99"]
    errors = catalog_errors(broken)
    assert "银行 ccb: 服务区域代码前缀无效: ['99']" in errors
    assert "产品 huishangdai: 规则 all[0]: 未知字段 'foo'" in errors
    assert "产品 huishangdai: 额度规则 caps[0]: amounts[survival] 应为正整数（元）" in errors
    assert "产品 huishangdai: 未知经营主体类型 'company'" in errors
    assert "产品 huishangdai: 未知担保方式 'handshake'" in errors
    assert "产品 huishangdai: 未知银行 'nobank'" in errors


def test_unknown_admission_block_is_an_error():
    with pytest.raises(CatalogError):
        resolve_product({"code": "x", "admission": "missing", "rules": {"all": []}}, {})


@pytest.mark.parametrize("package", ["eligibility", "products/catalog"])
def test_no_django_import(package):
    root = Path(__file__).resolve().parents[3]
    for path in (root / package).rglob("*.py"):
        assert not re.search(r"^\s*(import|from)\s+django\b", path.read_text(encoding="utf-8"), re.M), path
