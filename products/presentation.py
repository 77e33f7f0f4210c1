"""Products and evaluations in plain Chinese for the pages: conditions, caps, terms, money in
万元, and the engine's trace as a tree a person can read."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Mapping

from eligibility.caps import OFFER_BASIS_RANK, percent_text
from eligibility.evaluate import NodeTrace
from eligibility.fields import ENTITY_TYPES, FIELDS, TIERS
from eligibility.messages import requirement
from eligibility.rules import node_kind
from products.catalog import BORROWERS, CHANNELS, GUARANTEES

VERDICT_LABELS = {"eligible": "符合条件", "incomplete": "信息不全", "ineligible": "暂不符合"}
VERDICT_STYLES = {"eligible": "success", "incomplete": "warning", "ineligible": "secondary"}
OUTCOME_LABELS = {"pass": "满足", "fail": "不满足", "unknown": "无法判断"}
OUTCOME_ICONS = {
    "pass": "bi-check-circle-fill text-success",
    "fail": "bi-x-circle-fill text-danger",
    "unknown": "bi-question-circle-fill text-warning",
}
CAP_LABELS = {
    "product_cap": "产品最高额度",
    "tier_cap": "分型额度上限",
    "honor_cap": "名特优新额度上限",
    "revenue_share": "营业收入比例上限",
    "net_assets_share": "净资产比例上限",
    "realisable_assets_share": "借款人自有可变现净资产比例上限",
    "requested_amount": "申请金额",
    "bank_decides": "银行审批额度",
}


def wan(amount: int | None) -> str:
    """Integer 元 as 万元 with at most two decimals: 30000 → "3", 15000 → "1.5", 12345 → "1.23"."""
    if amount is None:
        return "—"
    value = (Decimal(amount) / 10000).quantize(Decimal("0.01"))
    text = format(value, "f").rstrip("0").rstrip(".")
    return text or "0"


def wan_grouped(amount: int) -> str:
    """``wan`` with thousands grouped: 10000000 → "1,000", 123456789 → "12,345.68"."""
    whole, _, fraction = wan(amount).partition(".")
    return f"{int(whole):,}" + (f".{fraction}" if fraction else "")


def offer_text(max_amount: int | None, basis: str | None) -> str:
    """What an amount means to the entity (``eligibility.caps.offer_basis``): an offer computed
    from its own data, the amount it asked for, or only the product's own maximum, which is not
    an offer ("产品最高额度 1,000 万元（以银行审批为准）")."""
    if max_amount is None:
        return "额度由银行审批确定"
    if basis == "product_max":
        return f"产品最高额度 {wan_grouped(max_amount)} 万元（以银行审批为准）"
    if basis == "requested":
        return f"可按申请金额 {wan_grouped(max_amount)} 万元申请（以银行审批为准）"
    return f"最高可贷 {wan_grouped(max_amount)} 万元"


VERDICT_RANK = {"eligible": 0, "incomplete": 1, "ineligible": 2}


def fit_key(verdict: str, basis: str | None, max_amount: int | None) -> tuple:
    """Order by how well a product fits the entity: the verdict, then an offer computed from its
    own data before the amount it asked for before a product's bare maximum, then the amount."""
    return (VERDICT_RANK[verdict], OFFER_BASIS_RANK.get(basis, 3), -(max_amount or 0))


def order_by_fit(results: list[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Preview results as an enterprise reads them (the API keeps the contract's order)."""
    return sorted(results, key=lambda r: fit_key(r["verdict"], r.get("offer_basis"), r["max_amount"]))


def drawdown_text(drawdown: Mapping[str, Any] | None) -> str:
    """A credit line whose single drawdown is shorter than the need's term (码上贷)."""
    if not drawdown:
        return ""
    line, limit = drawdown["line_months"], drawdown["max_drawdown_months"]
    if line <= limit:
        return f"授信期限 {line} 个月, 单笔用信最长 {limit} 个月"
    return (
        f"授信额度期限 {line} 个月（额度内随借随还）, 单笔用信最长 {limit} 个月, "
        f"到期归还后可再借: 不是一笔 {line} 个月的贷款"
    )


def term_text(term: Mapping[str, Any] | None) -> str:
    term = term or {}
    parts = []
    if term.get("max_months"):
        parts.append(f"最长 {term['max_months']} 个月")
    if term.get("max_drawdown_months"):
        parts.append(f"单笔用信最长 {term['max_drawdown_months']} 个月")
    if term.get("revolving"):
        parts.append("可循环")
    return "，".join(parts) or (term.get("note") or "以银行审批为准")


def rate_text(rate: Mapping[str, Any] | None) -> str:
    if not rate:
        return "以银行审批为准"
    low, high = rate.get("min_percent"), rate.get("max_percent")
    if low and high and low != high:
        return f"年利率 {low}%–{high}%"
    if low:
        return f"年利率低至 {low}%"
    return rate.get("note") or "以银行审批为准"


def labels(codes, names: Mapping[str, str]) -> str:
    return "、".join(names.get(code, code) for code in codes or []) or "—"


def product_summary(definition: Mapping[str, Any]) -> dict[str, Any]:
    """What a borrower compares at a glance: amount, term, rate, guarantee, who may borrow."""
    return {
        "max_amount_wan": wan(definition.get("max_amount")) if definition.get("max_amount") else "以银行审批为准",
        "term": term_text(definition.get("term")),
        "rate": rate_text(definition.get("rate")),
        "guarantee": labels(definition.get("guarantee"), GUARANTEES),
        "channel": CHANNELS.get(definition.get("channel") or "", "—"),
        "entity_types": labels(definition.get("entity_types"), ENTITY_TYPES),
        "borrower": BORROWERS.get(definition.get("borrower") or "", ""),
    }


# --- rule trees as sentences -----------------------------------------------------------------


def _leaf_text(leaf: Mapping[str, Any]) -> str:
    field = FIELDS[leaf["field"]]
    name = leaf.get("label") or field.label
    text = f"{name}: {requirement(leaf, field)}"
    if leaf.get("unmatched") == "unknown":
        text += "（清单不完整, 清单外由银行确认）"
    return f"否决条件 · {text}" if leaf.get("veto") else text


def describe_rules(node: Mapping[str, Any], top: bool = True) -> list[dict[str, Any]]:
    """The tree as nested ``{"text", "children"}`` items; a top-level ``all`` is a plain list."""
    kind = node_kind(node)
    if kind == "leaf":
        return [{"text": _leaf_text(node), "children": []}]
    if kind == "all" and top:
        return [item for child in node["all"] for item in describe_rules(child, top=True)]
    label = node.get("label")
    if kind == "all":
        children = [item for child in node["all"] for item in describe_rules(child, top=False)]
        return [{"text": label or "同时满足以下条件", "children": children}]
    if kind == "any":
        children = [item for child in node["any"] for item in describe_rules(child, top=False)]
        return [{"text": f"{label}（满足其一即可）" if label else "满足以下条件之一", "children": children}]
    if kind == "not":
        return [{"text": label or "不得满足以下条件", "children": describe_rules(node["not"], top=False)}]
    field = FIELDS[node["switch"]]
    cases = [
        {"text": f"{field.label}为{field.choices.get(value, value)}时", "children": describe_rules(case, top=False)}
        for value, case in node["cases"].items()
    ]
    return [{"text": label or f"按{field.label}分别适用", "children": cases}]


def _when_text(tree: Mapping[str, Any]) -> str:
    return "；".join(_flat(item) for item in describe_rules(tree))


def _flat(item: Mapping[str, Any]) -> str:
    if not item["children"]:
        return item["text"]
    return f"{item['text']}: " + "，".join(_flat(child) for child in item["children"])


def describe_caps(caps: list[Mapping[str, Any]]) -> list[str]:
    lines = []
    for cap in caps or []:
        kind = cap["kind"]
        if kind in ("product_cap", "honor_cap"):
            text = f"{cap.get('label') or CAP_LABELS[kind]} {wan(cap['amount'])} 万元"
        elif kind == "tier_cap":
            text = "按分型: " + "，".join(f"{TIERS.get(t, t)}最高 {wan(a)} 万元" for t, a in cap["amounts"].items())
        elif kind in ("revenue_share", "net_assets_share", "realisable_assets_share"):
            base = {
                "revenue_share": "年营业收入",
                "net_assets_share": "净资产",
                "realisable_assets_share": "借款人自有可变现净资产总额",
            }[kind]
            text = f"不超过{base}的 {percent_text(cap['percent'])}%"
        else:
            text = cap.get("label") or "额度由银行审批确定"
        if cap.get("when"):
            text += f"（适用于: {_when_text(cap['when'])}）"
        lines.append(text)
    return lines


# --- the engine's trace ----------------------------------------------------------------------


def trace_tree(trace: NodeTrace) -> dict[str, Any]:
    """An evaluation trace as nested dicts for the "test run" page: every node, its outcome,
    and for leaves the engine's sentence."""
    node = trace.node
    kind = node_kind(node)
    if kind == "leaf":
        text = trace.reason.message
        title = node.get("label") or FIELDS[node["field"]].label
    elif kind == "switch":
        field = FIELDS[node["switch"]]
        title = node.get("label") or f"按{field.label}分别适用"
        text = (
            trace.reason.message
            if trace.reason
            else (
                f"{field.label}为{field.choices.get(trace.selected, trace.selected)}"
                if trace.selected
                else "无适用分支"
            )
        )
    else:
        title = node.get("label") or {"all": "全部满足", "any": "满足其一", "not": "不得满足"}[kind]
        text = ""
    outcome = trace.outcome.value
    return {
        "title": title,
        "text": text,
        "outcome": outcome,
        "outcome_label": OUTCOME_LABELS[outcome],
        "icon": OUTCOME_ICONS[outcome],
        "rule": node.get("id") or node.get("field") or "",
        "children": [trace_tree(child) for child in trace.children],
    }


def result_view(result: Mapping[str, Any]) -> dict[str, Any]:
    """One preview result, arranged for a card: 为什么 (what holds) and 还差什么 (what fails or
    is missing), offer in 万元."""
    reasons = result["reasons"]
    return {
        **result,
        "verdict_label": VERDICT_LABELS[result["verdict"]],
        "verdict_style": VERDICT_STYLES[result["verdict"]],
        "max_amount_wan": wan(result["max_amount"]) if result["max_amount"] is not None else None,
        "binding_cap_label": CAP_LABELS.get(result.get("binding_cap") or "", result.get("binding_cap") or ""),
        "offer_text": offer_text(result["max_amount"], result.get("offer_basis")),
        "drawdown_text": drawdown_text(result.get("drawdown")),
        "passed": [r for r in reasons if r["outcome"] == "pass"],
        "missing": [r for r in reasons if r["outcome"] != "pass"],
    }
