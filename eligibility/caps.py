"""Amount caps as data. The offer is the minimum of every cap that applies, in whole 元.

A cap is ``{"kind": …, "when": rule tree (optional), "id"/"label" (optional), …}``:

- ``product_cap`` / ``honor_cap``: ``amount``;
- ``tier_cap``: ``amounts`` per tier (``{"survival": 100000, …}``);
- ``revenue_share`` / ``net_assets_share`` / ``realisable_assets_share``: ``percent`` of the
  entity's annual revenue / its net assets / the borrower's own realisable net assets
  (借款人自有可变现净资产, a fact about the operator) (an integer or a decimal string such as
  ``"12.5"``; never a float);
- ``bank_decides``: no amount stated in the seed; the bank sets it at review.

The amount the entity asked for (``requested_amount``) applies to every product and is
added by the evaluator. A cap whose ``when`` fails does not apply; one whose ``when`` or
input is unknown is ``unknown`` (no offer can be computed). Arithmetic is exact
(``Fraction``) and rounds down to whole 元.

What an offer rests on (``offer_basis``): ``entity_data`` when a cap computed from the entity's
own data applied (tier, honour, a share of revenue or assets), else ``requested`` when the
amount asked for bound it, else ``product_max``: the product's own maximum only, which is not an
offer to this entity ("产品最高额度 …（以银行审批为准）").
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any, Callable, Mapping, Sequence

from .fields import FIELDS, TIERS
from .logic import Outcome
from .rules import GROUP_EXTRA_KEYS, RULE_ID, RuleError, rule_errors

SHARE_BASES = {
    "revenue_share": "annual_revenue",
    "net_assets_share": "net_assets",
    "realisable_assets_share": "operator_realisable_net_assets",
}
CAP_PARAMS = {
    "product_cap": {"amount"},
    "honor_cap": {"amount"},
    "tier_cap": {"amounts"},
    "revenue_share": {"percent"},
    "net_assets_share": {"percent"},
    "realisable_assets_share": {"percent"},
    "bank_decides": set(),
}
REQUESTED_AMOUNT = "requested_amount"
CAP_KEYS = tuple(CAP_PARAMS) + (REQUESTED_AMOUNT,)
# caps computed from the entity's own data (its tier, honours, revenue, assets)
ENTITY_DATA_CAPS = frozenset({"tier_cap", "honor_cap", "revenue_share", "net_assets_share", "realisable_assets_share"})
OFFER_BASES = ("entity_data", "requested", "product_max")


@dataclass(frozen=True)
class CapResult:
    key: str  # binding_cap name: the cap's id, else its kind
    outcome: Outcome
    amount: int | None
    message: str
    kind: str = ""  # the cap's kind (REQUESTED_AMOUNT for the amount asked for)

    def as_reason(self) -> dict[str, str]:
        return {"rule": self.key, "outcome": self.outcome.value, "message": self.message}


def cap_key(cap: Mapping[str, Any]) -> str:
    return cap.get("id") or cap["kind"]


def percent_value(percent: Any) -> Fraction:
    return Fraction(Decimal(str(percent)))


def percent_text(percent: Any) -> str:
    return format(Decimal(str(percent)).normalize(), "f")


# --- validation ------------------------------------------------------------------------------


def validate_caps(caps: Any) -> None:
    errors = cap_errors(caps)
    if errors:
        raise errors[0]


def cap_errors(caps: Any) -> list[RuleError]:
    if not isinstance(caps, list):
        return [RuleError("额度规则应为列表", "", "额度规则")]
    errors: list[RuleError] = []
    for index, cap in enumerate(caps):
        path = f"caps[{index}]"
        errors.extend(RuleError(message, path, "额度规则") for message in _cap_problems(cap))
        if isinstance(cap, Mapping) and "when" in cap:
            errors.extend(rule_errors(cap["when"], f"{path}.when", "额度规则"))
    return errors


def _is_positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _cap_problems(cap: Any) -> list[str]:
    if not isinstance(cap, Mapping):
        return ["应为 JSON 对象"]
    kind = cap.get("kind")
    if kind not in CAP_PARAMS:
        return [f"未知额度类型 {kind!r}, 可选: {'、'.join(CAP_PARAMS)}"]
    problems = []
    extra = set(cap) - CAP_PARAMS[kind] - GROUP_EXTRA_KEYS - {"kind", "when"}
    if extra:
        problems.append(f"未知属性 {'、'.join(sorted(map(repr, extra)))}")
    missing = CAP_PARAMS[kind] - set(cap)
    if missing:
        return problems + [f"缺少 {'、'.join(sorted(missing))}"]
    if "id" in cap and not (isinstance(cap["id"], str) and RULE_ID.match(cap["id"])):
        problems.append(f"id {cap['id']!r} 应为小写字母开头的字母、数字或下划线")
    if "amount" in cap and not _is_positive_int(cap["amount"]):
        problems.append(f"amount 应为正整数（元）, 实际为 {cap['amount']!r}")
    if "amounts" in cap:
        problems.extend(_tier_amount_problems(cap["amounts"]))
    if "percent" in cap:
        problems.extend(_percent_problems(cap["percent"]))
    return problems


def _tier_amount_problems(amounts: Any) -> list[str]:
    if not isinstance(amounts, Mapping) or not amounts:
        return ["amounts 应为 分型 → 金额 的非空对象"]
    problems = [f"amounts 中没有分型 {tier!r}" for tier in amounts if tier not in TIERS]
    problems += [
        f"amounts[{tier}] 应为正整数（元）" for tier, amount in amounts.items() if not _is_positive_int(amount)
    ]
    return problems


def _percent_problems(percent: Any) -> list[str]:
    if isinstance(percent, (bool, float)) or not isinstance(percent, (int, str)):
        return [f"percent 应为整数或十进制字符串, 实际为 {percent!r}"]
    try:
        value = percent_value(percent)
    except (InvalidOperation, ValueError):
        return [f"percent {percent!r} 不是数字"]
    return [] if 0 < value <= 100 else [f"percent 应在 0 到 100 之间, 实际为 {percent}"]


# --- evaluation ------------------------------------------------------------------------------

WhenEvaluator = Callable[[Mapping[str, Any], Mapping[str, Any]], "tuple[Outcome, str]"]


def evaluate_caps(caps: Sequence[Mapping[str, Any]], facts: Mapping[str, Any], when: WhenEvaluator) -> list[CapResult]:
    """Every applicable cap, then the requested amount; ``when(tree, facts)`` gives the
    condition's outcome and, if unknown, the sentence saying what is missing."""
    results = []
    for cap in caps:
        result = _evaluate_cap(cap, facts, when)
        if result is not None:
            results.append(result)
    if facts.get("need_amount") is not None:
        requested = _with_amount(REQUESTED_AMOUNT, facts["need_amount"], f"申请金额 {facts['need_amount']} 元")
        results.append(replace(requested, kind=REQUESTED_AMOUNT))
    return results


def _evaluate_cap(cap, facts, when) -> CapResult | None:
    key = cap_key(cap)
    if "when" in cap:
        outcome, missing = when(cap["when"], facts)
        if outcome is Outcome.FAIL:
            return None
        if outcome is Outcome.UNKNOWN:
            return CapResult(key, Outcome.UNKNOWN, None, f"{missing}; 无法确定{_title(cap)}是否适用", cap["kind"])
    result = CAP_EVALUATORS[cap["kind"]](cap, key, facts)
    return None if result is None else replace(result, kind=cap["kind"])


def _title(cap: Mapping[str, Any]) -> str:
    return (
        cap.get("label")
        or {
            "product_cap": "产品最高额度",
            "honor_cap": "持有有效名特优新称号的最高额度",
            "tier_cap": "分型额度上限",
            "revenue_share": "营业收入比例额度上限",
            "net_assets_share": "净资产比例额度上限",
            "realisable_assets_share": "借款人自有可变现净资产比例额度上限",
            "bank_decides": "银行审批额度",
        }[cap["kind"]]
    )


def _with_amount(key: str, amount: int, message: str) -> CapResult:
    if amount <= 0:
        return CapResult(key, Outcome.FAIL, 0, f"{message}, 额度为 0 元, 无法授信")
    return CapResult(key, Outcome.PASS, amount, message)


def _fixed(cap, key, facts) -> CapResult:
    return _with_amount(key, cap["amount"], f"{_title(cap)} {cap['amount']} 元")


def _tier(cap, key, facts) -> CapResult | None:
    tier = facts.get("tier")
    if tier is None:
        field = FIELDS["tier"]
        missing = field.unknown_sentence(facts) or f"缺少{field.missing_text}"
        return CapResult(key, Outcome.UNKNOWN, None, f"{missing}, 无法确定分型额度上限")
    if tier not in cap["amounts"]:
        return None
    amount = cap["amounts"][tier]
    return _with_amount(key, amount, f"{TIERS[tier]}最高额度 {amount} 元")


def _share(cap, key, facts) -> CapResult:
    base_field = FIELDS[SHARE_BASES[cap["kind"]]]
    base_label = cap.get("label") or base_field.label
    percent = percent_text(cap["percent"])
    base = facts.get(base_field.key)
    if base is None:
        return CapResult(
            key,
            Outcome.UNKNOWN,
            None,
            f"缺少{base_field.missing_text}, 无法计算不超过{base_label} {percent}% 的额度上限",
        )
    amount = math.floor(Fraction(base) * percent_value(cap["percent"]) / 100)
    return _with_amount(key, amount, f"额度不超过{base_label} {base} 元的 {percent}%, 即 {amount} 元")


def _bank_decides(cap, key, facts) -> CapResult:
    return CapResult(key, Outcome.PASS, None, cap.get("label") or "额度由银行审批确定")


CAP_EVALUATORS = {
    "product_cap": _fixed,
    "honor_cap": _fixed,
    "tier_cap": _tier,
    "revenue_share": _share,
    "net_assets_share": _share,
    "realisable_assets_share": _share,
    "bank_decides": _bank_decides,
}


def offer(results: Sequence[CapResult]) -> tuple[int | None, str | None]:
    """(max_amount, binding_cap): the least amount, the first cap to reach it; (None, None)
    if any cap is unknown or failed, or if no cap states an amount."""
    if any(result.outcome is not Outcome.PASS for result in results):
        return None, None
    amounts = [result for result in results if result.amount is not None]
    if not amounts:
        return None, None
    binding = min(amounts, key=lambda result: result.amount)
    return binding.amount, binding.key


def offer_basis(results: Sequence[CapResult], max_amount: int | None) -> str | None:
    """What an offer rests on (see the module's docstring); None without an offer."""
    if max_amount is None:
        return None
    if any(result.kind in ENTITY_DATA_CAPS and result.amount is not None for result in results):
        return "entity_data"
    binding = [result for result in results if result.amount == max_amount]
    if binding and binding[0].kind == REQUESTED_AMOUNT:
        return "requested"
    return "product_max"


# how well an offer fits the entity, for lists ordered by fit (the enterprise's products): an
# offer computed from its own data first, then the amount it asked for, then a product's bare
# maximum, then no amount at all
OFFER_BASIS_RANK = {"entity_data": 0, "requested": 1, "product_max": 2, None: 3}
