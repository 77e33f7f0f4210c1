"""The seed catalogue: the five banks and every product of domain/products.md, as data.

One JSON file per bank (``<bank code>.json``): ``bank``, optional ``admissions`` (condition
blocks shared by several of its products: ``rules`` leaves, ``bank_checks``, ``materials``)
and ``products``. A product naming an ``admission`` gets that block's rules first, then its
own, and the block's bank checks and materials before its own: 中国银行's 准入条件 (seeds/001
附件 三) is one block that its four channels (商E贷, 益农快贷, 烟商E贷, 惠商贷) name.

Scenario lists (商E贷's 17 重点场景, an annex the notice does not include): a product may carry
``scenarios`` (``[{"name", "industry_codes"}]``) and ``scenarios_complete``; its rule leaf
``scenario_industry`` is derived from them (``apply_scenarios``), never edited by hand, and
``product_problems`` refuses a definition where the two disagree. The bank's head-office
administrator edits the list (``products.services.product_scenarios_update``).

Pure Python, no Django: ``load_catalog`` (the management command) and the demo set-up read
``load_catalog_data()`` and write it to the database.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Mapping

from eligibility.caps import cap_errors
from eligibility.codes import region_path
from eligibility.fields import ENTITY_TYPES
from eligibility.rules import rule_errors

CATALOG_DIR = Path(__file__).resolve().parent
BANK_FILES = ("sxrcc", "boc", "shanxibank", "jshb", "ccb")
GUARANTEES = {"credit": "信用", "surety": "保证", "mortgage": "抵押", "pledge": "质押"}
CHANNELS = {"online": "线上", "offline": "线下"}
BORROWERS = {"operator": "经营者个人", "entity": "经营主体", "operator_or_entity": "经营者个人或经营主体"}
PAYMENT_MODES = {"self_payment": "自主支付", "entrusted_payment": "受托支付"}
PRODUCT_CODE = re.compile(r"^[a-z][a-z0-9-]*$")


class CatalogError(ValueError):
    def __init__(self, errors: list[str]) -> None:
        self.errors = errors
        super().__init__("商品目录数据有误:\n" + "\n".join(errors))


def read_bank_file(name: str) -> dict[str, Any]:
    with open(CATALOG_DIR / f"{name}.json", encoding="utf-8") as handle:
        return json.load(handle)


def _children(tree: Mapping[str, Any]) -> list[Any]:
    return list(tree["all"]) if set(tree) == {"all"} else [tree]


def resolve_product(product: Mapping[str, Any], admissions: Mapping[str, Any]) -> dict[str, Any]:
    resolved = dict(product)
    name = product.get("admission")
    if name is None:
        return resolved
    if name not in admissions:
        raise CatalogError([f"产品 {product.get('code')}: 未知准入条件块 {name!r}"])
    block = admissions[name]
    resolved["rules"] = {"all": list(block.get("rules", [])) + _children(product["rules"])}
    resolved["bank_checks"] = list(block.get("bank_checks", [])) + list(product.get("bank_checks", []))
    resolved["materials"] = list(block.get("materials", [])) + list(product.get("materials", []))
    return resolved


# --- scenario lists -------------------------------------------------------------------------

SCENARIO_RULE = "scenario_industry"
MAX_SCENARIOS = 50
MAX_SCENARIO_NAME = 20
_INDUSTRY_DIGITS = re.compile(r"^[0-9]{2,4}$")


def scenario_codes(scenarios: list[Mapping[str, Any]]) -> list[str]:
    return [code for scenario in scenarios for code in scenario["industry_codes"]]


def scenarios_problems(scenarios: Any) -> list[str]:
    """What is wrong with a scenario list (names, codes, duplicates); [] when it is usable."""
    if not isinstance(scenarios, list) or not scenarios:
        return ["场景清单至少应有一个场景"]
    if len(scenarios) > MAX_SCENARIOS:
        return [f"场景不能超过 {MAX_SCENARIOS} 个"]
    problems: list[str] = []
    names: set[str] = set()
    codes: dict[str, str] = {}
    for index, scenario in enumerate(scenarios, start=1):
        if not isinstance(scenario, Mapping):
            problems.append(f"第 {index} 个场景应为对象")
            continue
        name = scenario.get("name")
        if not isinstance(name, str) or not name.strip():
            problems.append(f"第 {index} 个场景缺少名称")
            name = f"第 {index} 个场景"
        elif len(name) > MAX_SCENARIO_NAME:
            problems.append(f"场景名称“{name}”超过 {MAX_SCENARIO_NAME} 个字")
        elif name in names:
            problems.append(f"场景名称“{name}”重复")
        names.add(name)
        items = scenario.get("industry_codes")
        if not isinstance(items, list) or not items:
            problems.append(f"场景“{name}”至少应有一个行业代码")
            continue
        for code in items:
            if not isinstance(code, str) or not _INDUSTRY_DIGITS.match(code):
                problems.append(f"场景“{name}”的行业代码 {code!r} 应为 GB/T 4754-2017 的 2 至 4 位数字代码")
            elif code in codes:
                problems.append(f"行业代码 {code} 同时列在“{codes[code]}”和“{name}”中")
            else:
                codes[code] = name
    return problems


def _scenario_leaf(scenarios: list[Mapping[str, Any]], complete: bool, labels: Mapping[str, str]) -> dict[str, Any]:
    codes = scenario_codes(scenarios)
    leaf: dict[str, Any] = {
        "id": SCENARIO_RULE,
        "field": "industry_code",
        "op": "prefix_in",
        "value": codes,
        "value_labels": {code: labels[code] for code in codes if code in labels},
        "label": "重点场景行业",
    }
    if not complete:  # the annex is not all here: an industry not (yet) listed is unknown
        leaf["unmatched"] = "unknown"
    return leaf


def _replace_leaf(node: Mapping[str, Any], leaf: Mapping[str, Any]) -> tuple[Any, bool]:
    if node.get("id") == leaf["id"] and "field" in node:
        return dict(leaf), True
    for kind in ("all", "any"):
        if kind in node:
            children, found = [], False
            for child in node[kind]:
                new, hit = _replace_leaf(child, leaf)
                children.append(new)
                found = found or hit
            return {**node, kind: children}, found
    if "not" in node:
        new, found = _replace_leaf(node["not"], leaf)
        return {**node, "not": new}, found
    return dict(node), False


def apply_scenarios(
    definition: Mapping[str, Any], scenarios: list[Mapping[str, Any]], *, complete: bool, labels: Mapping[str, str]
) -> dict[str, Any]:
    """``definition`` with its scenario list replaced and the ``scenario_industry`` rule rebuilt
    from it (``labels``: industry code → name, for the rule's messages)."""
    clean = [{"name": s["name"].strip(), "industry_codes": list(s["industry_codes"])} for s in scenarios]
    rules, found = _replace_leaf(definition["rules"], _scenario_leaf(clean, complete, labels))
    if not found:
        raise CatalogError([f"产品 {definition.get('code')}: 规则中没有 {SCENARIO_RULE}"])
    return {**definition, "scenarios": clean, "scenarios_complete": complete, "rules": rules}


BANK_SOURCE = "bank"


def keep_bank_scenarios(seed: Mapping[str, Any], current: Mapping[str, Any]) -> Mapping[str, Any]:
    """The seed definition of a product whose scenario list the bank has edited
    (``scenarios_source`` "bank"), with the bank's list in place of the seed's: reloading the
    catalogue never undoes the bank's edit."""
    if current.get("scenarios_source") != BANK_SOURCE or "scenarios" not in seed or "scenarios" not in current:
        return seed
    labels: dict[str, str] = {}
    for leaf in _leaves(current.get("rules") or {}):
        if leaf.get("id") == SCENARIO_RULE:
            labels = dict(leaf.get("value_labels") or {})
    kept = apply_scenarios(seed, current["scenarios"], complete=bool(current.get("scenarios_complete")), labels=labels)
    return {**kept, "scenarios_source": BANK_SOURCE}


def _scenario_rule_problems(product: Mapping[str, Any]) -> list[str]:
    if "scenarios" not in product:
        return []
    problems = scenarios_problems(product["scenarios"])
    if problems:
        return problems
    if not isinstance(product.get("scenarios_complete", False), bool):
        return ["scenarios_complete 应为 true 或 false"]
    rules = [leaf for leaf in _leaves(product.get("rules") or {}) if leaf.get("id") == SCENARIO_RULE]
    expected = _scenario_leaf(product["scenarios"], product.get("scenarios_complete", False), {})
    keys = ("field", "op", "value", "unmatched")
    if len(rules) != 1 or any(rules[0].get(key) != expected.get(key) for key in keys):
        return [f"规则 {SCENARIO_RULE} 须与场景清单一致（请在场景清单页修改场景）"]
    return []


def _leaves(node: Any) -> list[Mapping[str, Any]]:
    if not isinstance(node, Mapping):
        return []
    if "field" in node:
        return [node]
    found: list[Mapping[str, Any]] = []
    for kind in ("all", "any"):
        for child in node.get(kind) or []:
            found += _leaves(child)
    return found + _leaves(node.get("not"))


def load_catalog_data(*, validate: bool = True) -> dict[str, Any]:
    """``{"banks": {code: bank}, "products": {code: product}}`` in catalogue order, with
    shared admission blocks resolved into each product's rules."""
    banks: dict[str, Any] = {}
    products: dict[str, Any] = {}
    duplicates: list[str] = []
    for name in BANK_FILES:
        data = read_bank_file(name)
        banks[data["bank"]["code"]] = data["bank"]
        for product in data["products"]:
            if product["code"] in products:
                duplicates.append(f"产品代码重复: {product['code']}")
            products[product["code"]] = resolve_product(product, data.get("admissions", {}))
    catalog = {"banks": banks, "products": products}
    if validate:
        errors = duplicates + catalog_errors(catalog)
        if errors:
            raise CatalogError(errors)
    return catalog


# --- validation ------------------------------------------------------------------------------


def catalog_errors(catalog: Mapping[str, Any]) -> list[str]:
    errors = [f"银行 {code}: {problem}" for code, bank in catalog["banks"].items() for problem in bank_problems(bank)]
    for code, product in catalog["products"].items():
        errors.extend(f"产品 {code}: {problem}" for problem in product_problems(product, catalog["banks"]))
    return errors


def bank_problems(bank: Mapping[str, Any]) -> list[str]:
    problems = [f"缺少 {key}" for key in ("code", "name", "branch_name", "service_area_name") if not bank.get(key)]
    prefixes = bank.get("service_area_prefixes")
    if not prefixes or any(region_path(prefix) is None for prefix in prefixes):
        problems.append(f"服务区域代码前缀无效: {prefixes!r}")
    return problems


def _is_positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _is_decimal_text(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        return Decimal(value) > 0
    except InvalidOperation:
        return False


def _text_list_problems(product: Mapping[str, Any], key: str) -> list[str]:
    items = product.get(key, [])
    if not isinstance(items, list) or not all(isinstance(i, str) and i.strip() for i in items):
        return [f"{key} 应为非空文本的列表"]
    return []


def product_problems(product: Mapping[str, Any], banks: Mapping[str, Any]) -> list[str]:
    problems: list[str] = []
    if not PRODUCT_CODE.match(product.get("code", "")):
        problems.append("产品代码应为小写字母、数字和连字符")
    if product.get("bank") not in banks:
        problems.append(f"未知银行 {product.get('bank')!r}")
    if not product.get("name"):
        problems.append("缺少 name")
    problems += [f"未知经营主体类型 {t!r}" for t in product.get("entity_types") or [None] if t not in ENTITY_TYPES]
    problems += [f"未知担保方式 {g!r}" for g in product.get("guarantee", []) if g not in GUARANTEES]
    if product.get("channel") not in (None, *CHANNELS):
        problems.append(f"未知渠道 {product['channel']!r}")
    if product.get("borrower") not in BORROWERS:
        problems.append(f"未知借款人类型 {product.get('borrower')!r}")
    if product.get("max_amount") is not None and not _is_positive_int(product["max_amount"]):
        problems.append("max_amount 应为正整数（元）或 null")
    problems += _term_problems(product.get("term") or {})
    problems += _rate_problems(product.get("rate"))
    payment = product.get("payment_rule")
    if payment is not None and not _is_positive_int(payment.get("self_payment_max")):
        problems.append("payment_rule.self_payment_max 应为正整数（元）")
    for key in ("bank_checks", "materials", "repayment"):
        problems += _text_list_problems(product, key)
    problems += [str(error) for error in rule_errors(product.get("rules"))]
    problems += [str(error) for error in cap_errors(product.get("caps"))]
    problems += _duplicate_cap_problems(product.get("caps"))
    problems += _scenario_rule_problems(product)
    return problems


def _duplicate_cap_problems(caps: Any) -> list[str]:
    """Each cap of a product is named by its key (``id``, else its kind) in results, stored
    matches and labels: two caps with one key would be shown under the first one's label
    (益农快贷's 养殖类 cap labelled 种植类), so they need distinct ids."""
    if not isinstance(caps, list):
        return []
    keys = [cap.get("id") or cap.get("kind") for cap in caps if isinstance(cap, Mapping)]
    repeated = sorted({key for key in keys if keys.count(key) > 1 and isinstance(key, str)})
    return [f"额度 {key} 出现多次: 同类额度有多个时须用不同的 id 区分" for key in repeated]


def _term_problems(term: Mapping[str, Any]) -> list[str]:
    months = term.get("max_months")
    problems = [] if months is None or _is_positive_int(months) else ["term.max_months 应为正整数或 null"]
    if not isinstance(term.get("revolving", False), bool):
        problems.append("term.revolving 应为 true 或 false")
    drawdown = term.get("max_drawdown_months")
    if drawdown is not None:
        # a credit line's single drawdown (码上贷: 授信期限最长 36 个月, 单笔用信期限最长 13 个月)
        if not _is_positive_int(drawdown):
            problems.append("term.max_drawdown_months 应为正整数或省略")
        elif _is_positive_int(months) and drawdown > months:
            problems.append("term.max_drawdown_months 不能超过 term.max_months")
    return problems


def _rate_problems(rate: Mapping[str, Any] | None) -> list[str]:
    if rate is None:
        return []
    return [
        f"rate.{key} 应为十进制字符串（年利率 %）"
        for key in ("min_percent", "max_percent")
        if rate.get(key) is not None and not _is_decimal_text(rate[key])
    ]
