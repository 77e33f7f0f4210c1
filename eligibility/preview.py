"""The eligibility preview (domain/eligibility-api.md): request validation and the response.

``catalog`` is ``{"banks": {code: bank}, "products": {code: product}}`` as produced by
``products.catalog.load_catalog_data`` (or built from the database the same way).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Callable, Iterable, Mapping

from .codes import industry_path, is_region_code
from .evaluate import Verdict, evaluate_product, max_drawdown_months, max_term_months
from .fields import (
    ENTITY_TYPES,
    HONOR_KINDS,
    REGISTER_STATUSES,
    REPAYMENT_MODES,
    SIZE_CLASSES,
    TAX_STATUSES,
    TIERS,
    SizeClassifier,
    from_request,
    resolved_term_months,
)

MAX_MONEY = 10**13  # 10 万亿元: above any real small-business figure, below float trouble
MAX_COUNT = 10**7
MAX_MONTHS = 1200
MAX_TERM_MONTHS = 360
VERDICT_ORDER = {Verdict.ELIGIBLE: 0, Verdict.INCOMPLETE: 1, Verdict.INELIGIBLE: 2}

Today = Callable[[], dt.date]
Errors = dict[str, list[str]]


class _Checker:
    """Collects field errors by path ("entity.operator.birth_date": ["…"])."""

    def __init__(self, as_of: dt.date | None, banks: Iterable[str] | None = None) -> None:
        self.errors: Errors = {}
        self.as_of = as_of
        self.banks = None if banks is None else frozenset(banks)  # known bank codes, if the catalogue says

    def error(self, path: str, message: str) -> None:
        self.errors.setdefault(path, []).append(message)

    # each check returns the clean value, or None after recording an error

    def choice(self, path: str, value: Any, choices: Mapping[str, str]) -> str | None:
        if isinstance(value, str) and value in choices:
            return value
        self.error(path, f"取值 {value!r} 无效, 可选: {'、'.join(choices)}")
        return None

    def boolean(self, path: str, value: Any) -> bool | None:
        if isinstance(value, bool):
            return value
        self.error(path, "应为 true 或 false")
        return None

    def integer(self, path: str, value: Any, *, minimum: int, maximum: int, unit: str) -> int | None:
        value = _whole_number(value)
        if value is None:
            self.error(path, f"应为整数（{unit}）")
            return None
        if value < minimum:
            self.error(path, "不能为负数" if minimum == 0 else f"不能小于 {minimum}")
            return None
        if value > maximum:
            self.error(path, f"不能大于 {maximum}")
            return None
        return value

    def money(self, path: str, value: Any, *, minimum: int = 0) -> int | None:
        return self.integer(path, value, minimum=minimum, maximum=MAX_MONEY, unit="元")

    def count(self, path: str, value: Any, maximum: int = MAX_COUNT, unit: str = "个") -> int | None:
        return self.integer(path, value, minimum=0, maximum=maximum, unit=unit)

    def date(self, path: str, value: Any, *, not_after_as_of: bool = False) -> dt.date | None:
        day = _parse_date(value)
        if day is None:
            self.error(path, "日期格式应为 YYYY-MM-DD")
        elif not_after_as_of and self.as_of is not None and day > self.as_of:
            self.error(path, f"不能晚于评估日期 {self.as_of.isoformat()}")
            return None
        return day

    def region(self, path: str, value: Any) -> str | None:
        if is_region_code(value):
            return value
        self.error(path, "应为 6 位行政区划代码（GB/T 2260）")
        return None

    def industry(self, path: str, value: Any) -> str | None:
        if isinstance(value, str) and industry_path(value) is not None:
            return value.strip().upper()
        self.error(path, "应为 GB/T 4754-2017 行业代码: 门类字母或 2 至 4 位数字")
        return None

    def nationality(self, path: str, value: Any) -> str | None:
        if isinstance(value, str) and len(value) == 2 and value.isascii() and value.isalpha():
            return value.upper()
        self.error(path, "应为 2 位国家或地区代码（ISO 3166-1, 如 CN）")
        return None

    def mapping(self, path: str, value: Any) -> Mapping[str, Any] | None:
        if isinstance(value, Mapping):
            return value
        self.error(path or "non_field_errors", "应为 JSON 对象")
        return None


def _whole_number(value: Any) -> int | None:
    """An int, or a float/Decimal with no fraction (JSON parsers may produce 150000.0)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
        return int(value)
    return None


def _parse_date(value: Any) -> dt.date | None:
    if not isinstance(value, str) or len(value) != 10:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return None


def _fields(
    checker: _Checker, data: Mapping[str, Any], path: str, spec: Mapping[str, Callable[[str, Any], Any]]
) -> dict[str, Any]:
    """Check the keys of ``spec`` present in ``data``; null stays null (unknown); other keys
    are ignored (the contract may be extended by newer clients)."""
    clean: dict[str, Any] = {}
    for key, check in spec.items():
        if key not in data:
            continue
        value = data[key]
        clean[key] = None if value is None else check(f"{path}.{key}", value)
    return clean


def _operator_spec(c: _Checker) -> dict[str, Callable[[str, Any], Any]]:
    return {
        "birth_date": lambda p, v: c.date(p, v, not_after_as_of=True),
        "nationality": c.nationality,
        "local_residence": c.boolean,
        "industry_experience_months": lambda p, v: c.count(p, v, MAX_MONTHS, "月"),
        "residence_region_code": c.region,
        "realisable_net_assets": c.money,
    }


def _credit_spec(c: _Checker) -> dict[str, Callable[[str, Any], Any]]:
    flags = ("dishonest_debtor", "joint_punishment", "consumption_restricted", "major_bad_record", "pending_litigation")
    counts = ("overdue_consecutive_24m", "overdue_total_24m", "overdue_12m")
    spec = {flag: c.boolean for flag in flags}
    spec.update({key: (lambda p, v: c.count(p, v, 1000, "期")) for key in counts})
    return spec


def _entity_spec(c: _Checker) -> dict[str, Callable[[str, Any], Any]]:
    return {
        "entity_type": lambda p, v: c.choice(p, v, ENTITY_TYPES),
        "established_on": lambda p, v: c.date(p, v, not_after_as_of=True),
        "region_code": c.region,
        "industry_code": c.industry,
        "tier": lambda p, v: c.choice(p, v, TIERS),  # the regulator's mark (名录库)
        "tier_estimate": lambda p, v: c.choice(p, v, TIERS),  # the portal's estimate: informative
        "honors": lambda p, v: _honors(c, p, v),
        "annual_revenue": c.money,
        "net_assets": c.money,
        "total_assets": c.money,
        "employees": lambda p, v: c.count(p, v, unit="人"),
        "social_insurance_headcount": lambda p, v: c.count(p, v, unit="人"),
        "tax_status": lambda p, v: c.choice(p, v, TAX_STATUSES),
        "has_tax_record": c.boolean,
        "register_status": lambda p, v: c.choice(p, v, REGISTER_STATUSES),
        "legal_rep_changed_on": lambda p, v: c.date(p, v, not_after_as_of=True),
        "main_business_changed_on": lambda p, v: c.date(p, v, not_after_as_of=True),
        "size_class": lambda p, v: c.choice(p, v, SIZE_CLASSES),
        "operator": lambda p, v: _nested(c, p, v, _operator_spec(c)),
        "credit": lambda p, v: _credit(c, p, v),
        "tobacco_licence": lambda p, v: _tobacco_licence(c, p, v),
        "operating_region_code": c.region,
        "bank_relationships": lambda p, v: _relationships(c, p, v),
    }


def _nested(c: _Checker, path: str, value: Any, spec) -> dict[str, Any] | None:
    data = c.mapping(path, value)
    return None if data is None else _fields(c, data, path, spec)


def _credit(c: _Checker, path: str, value: Any) -> dict[str, Any] | None:
    credit = _nested(c, path, value, _credit_spec(c))
    if credit:
        consecutive, total = credit.get("overdue_consecutive_24m"), credit.get("overdue_total_24m")
        if consecutive is not None and total is not None and consecutive > total:
            c.error(f"{path}.overdue_consecutive_24m", "连续逾期期数不能大于累计逾期期数")
    return credit


def _tobacco_licence(c: _Checker, path: str, value: Any) -> dict[str, Any] | None:
    """烟草专卖零售许可证: ``held`` (false: holds none), ``number``, ``valid_from``, ``valid_until``."""
    licence = _nested(
        c,
        path,
        value,
        {
            "held": c.boolean,
            "number": lambda p, v: _licence_number(c, p, v),
            "valid_from": c.date,
            "valid_until": c.date,
        },
    )
    if licence:
        starts, ends = licence.get("valid_from"), licence.get("valid_until")
        if starts and ends and starts > ends:
            c.error(f"{path}.valid_until", "不能早于 valid_from")
        if licence.get("held") is False and licence.get("number"):
            c.error(f"{path}.number", "held 为 false（未持有）时不应填写许可证号")
    return licence


def _licence_number(c: _Checker, path: str, value: Any) -> str | None:
    if isinstance(value, str) and 0 < len(value.strip()) <= 32:
        return value.strip()
    c.error(path, "应为许可证号文本（不超过 32 个字符）")
    return None


def _honors(c: _Checker, path: str, value: Any) -> list[dict[str, Any]] | None:
    if not isinstance(value, list):
        c.error(path, "应为列表")
        return None
    honors = []
    for index, item in enumerate(value):
        item_path = f"{path}[{index}]"
        data = c.mapping(item_path, item)
        if data is None:
            continue
        if data.get("kind") is None:
            c.error(f"{item_path}.kind", "必填")
            continue
        honor = _fields(
            c,
            data,
            item_path,
            {
                "kind": lambda p, v: c.choice(p, v, HONOR_KINDS),
                "valid_from": c.date,
                "valid_until": c.date,
            },
        )
        starts, ends = honor.get("valid_from"), honor.get("valid_until")
        if starts and ends and starts > ends:
            c.error(f"{item_path}.valid_until", "不能早于 valid_from")
        honors.append(honor)
    return honors


def _relationships(c: _Checker, path: str, value: Any) -> list[dict[str, Any]] | None:
    """``bank_relationships``: the entity's borrowing at banks, one row per bank (its code)."""
    if not isinstance(value, list):
        c.error(path, "应为列表")
        return None
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    for index, item in enumerate(value):
        item_path = f"{path}[{index}]"
        data = c.mapping(item_path, item)
        if data is None:
            continue
        bank = data.get("bank")
        if not isinstance(bank, str) or not bank:
            c.error(f"{item_path}.bank", "必填: 银行代码")
            continue
        if c.banks is not None and bank not in c.banks:
            c.error(f"{item_path}.bank", f"未知银行代码 {bank!r}")
            continue
        if bank in seen:
            c.error(f"{item_path}.bank", f"银行 {bank} 重复: 每家银行一行")
            continue
        seen.add(bank)
        row = _fields(
            c,
            data,
            item_path,
            {
                "months_borrowed": lambda p, v: c.count(p, v, MAX_MONTHS, "月"),
                "credit_line": c.money,
                "non_performing": c.boolean,
                "overdue_12m": lambda p, v: c.count(p, v, 1000, "次"),
            },
        )
        rows.append({"bank": bank, **row})
    return rows


def _need(c: _Checker, value: Any) -> dict[str, Any] | None:
    return _nested(
        c,
        "need",
        value,
        {
            "amount": lambda p, v: c.money(p, v, minimum=1),
            "term_months": lambda p, v: c.integer(p, v, minimum=1, maximum=MAX_TERM_MONTHS, unit="月"),
            "repayment": lambda p, v: c.choice(p, v, REPAYMENT_MODES),
        },
    )


def _products(c: _Checker, value: Any, catalog: Mapping[str, Any]) -> list[str] | None:
    if not isinstance(value, list):
        c.error("products", "应为产品代码列表")
        return None
    if not value:
        c.error("products", "不能为空; 省略此字段即评估全部在售产品")
        return None
    codes: list[str] = []
    for index, code in enumerate(value):
        if not isinstance(code, str):
            c.error(f"products[{index}]", "产品代码应为字符串")
        elif code not in catalog["products"]:
            c.error(f"products[{index}]", f"未知产品代码 {code!r}")
        elif code not in codes:
            codes.append(code)
    return codes


def validate_preview_request(
    data: Any, catalog: Mapping[str, Any], *, today: Today = dt.date.today
) -> tuple[dict[str, Any] | None, Errors]:
    """(clean request, {}) or (None, {path: [messages]}); never raises on any JSON value."""
    banks = catalog.get("banks")
    checker = _Checker(None, None if banks is None else list(banks))
    if checker.mapping("", data) is None:
        return None, checker.errors
    as_of = today()
    if data.get("as_of") is not None:
        as_of = checker.date("as_of", data["as_of"])
    checker.as_of = as_of
    clean: dict[str, Any] = {"as_of": as_of}
    entity = data.get("entity")
    clean["entity"] = {} if entity is None else _nested(checker, "entity", entity, _entity_spec(checker))
    clean["need"] = None if data.get("need") is None else _need(checker, data["need"])
    products = data.get("products")
    clean["products"] = None if products is None else _products(checker, products, catalog)
    if checker.errors:
        return None, checker.errors
    return clean, {}


# --- the response ----------------------------------------------------------------------------


def _payment_mode(product: Mapping[str, Any], amount: int | None) -> dict[str, str] | None:
    rule = product.get("payment_rule")
    if not rule or amount is None:
        return None
    limit = rule["self_payment_max"]
    if amount <= limit:
        return {"mode": "self_payment", "message": f"额度 {amount} 元, 在 {limit} 元（含）以下可采用自主支付"}
    return {"mode": "entrusted_payment", "message": f"额度 {amount} 元, 超过 {limit} 元, 须采用受托支付"}


def _drawdown(product: Mapping[str, Any], term_months: int) -> dict[str, Any] | None:
    limit = max_drawdown_months(product)
    if limit is None:
        return None
    return {"line_months": term_months, "max_drawdown_months": limit, "drawdown_months": min(term_months, limit)}


def product_result(product: Mapping[str, Any], bank: Mapping[str, Any], facts: Mapping[str, Any]) -> dict[str, Any]:
    term_months = resolved_term_months(facts.get("need_term_months"), max_term_months(product))
    evaluation = evaluate_product(product, facts)
    return {
        "product": product["code"],
        "bank": product["bank"],
        "name": product["name"],
        "verdict": evaluation.verdict.value,
        "max_amount": evaluation.max_amount,
        "binding_cap": evaluation.binding_cap,
        "reasons": [reason.as_dict() for reason in evaluation.reasons],
        "bank_checks": list(product.get("bank_checks", [])),
        "bank_name": bank.get("name"),
        "term_months": term_months,
        "payment_mode": _payment_mode(product, evaluation.max_amount),
        "offer_basis": evaluation.offer_basis,
        "drawdown": _drawdown(product, term_months),
    }


def _result_order(indexed: tuple[int, dict[str, Any]]) -> tuple:
    index, result = indexed
    amount = result["max_amount"]
    return (VERDICT_ORDER[Verdict(result["verdict"])], amount is None, -(amount or 0), index)


def order_results(results: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Eligible first (largest offer first), then incomplete, then ineligible; ties keep
    catalogue (or requested) order."""
    return [result for _, result in sorted(enumerate(results), key=_result_order)]


def preview(
    clean: Mapping[str, Any],
    catalog: Mapping[str, Any],
    *,
    today: Today = dt.date.today,
    size_classifier: SizeClassifier | None = None,
) -> dict[str, Any]:
    as_of = clean.get("as_of") or today()
    facts = from_request(clean.get("entity") or {}, clean.get("need"), as_of, size_classifier=size_classifier)
    codes = clean.get("products") or [
        code for code, product in catalog["products"].items() if product.get("active", True)
    ]
    products = [catalog["products"][code] for code in codes]
    results = [product_result(product, catalog["banks"].get(product["bank"], {}), facts) for product in products]
    return {"as_of": as_of.isoformat(), "results": order_results(results)}
