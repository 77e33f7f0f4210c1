"""Chinese sentences for rule outcomes: the actual value, the requirement, what is missing."""

from __future__ import annotations

from typing import Any, Mapping

from .fields import HIERARCHY_TYPES, NUMERIC_TYPES, Field, FieldType
from .logic import Outcome

OP_WORDS = {"==": "为", "!=": "不为", ">": "多于", ">=": "不少于", "<": "少于", "<=": "不超过"}

# Why an outcome is unknown although the value is present.
COARSE_CODE = "coarse_code"  # the entity's code is less specific than the rule's prefix
UNLISTED = "unlisted"  # not in a list the seed left incomplete


def value_text(field: Field, value: Any, labels: Mapping[str, str]) -> str:
    if field.type in NUMERIC_TYPES:
        return f"{value} {field.unit}".strip()
    if field.type in HIERARCHY_TYPES:
        return f"{value}（{labels[value]}）" if value in labels else str(value)
    return labels.get(value) or field.value_label_one(value)


def _spacer(field: Field) -> str:
    """Numbers and codes are set off by spaces in running Chinese text: "不少于 12 个月"."""
    return " " if field.type in NUMERIC_TYPES or field.type in HIERARCHY_TYPES else ""


def requirement(leaf: Mapping[str, Any], field: Field) -> str:
    op = leaf["op"]
    if op == "is_true":
        return f"要求{field.true_text}"
    if op == "is_false":
        return f"要求{field.false_text}"
    labels = leaf.get("value_labels", {})
    target = leaf["value"]
    if op in ("in", "not_in", "prefix_in"):
        items = "、".join(value_text(field, item, labels) for item in target)
        if op == "not_in":
            return f"要求不为{items}"
        verb = "属于" if op == "prefix_in" else "为"
        return f"要求{verb}{_spacer(field)}{items}{'之一' if len(target) > 1 else ''}"
    if op in ("contains", "not_contains"):
        verb = "包含" if op == "contains" else "不含"
        return f"要求{verb}{value_text(field, target, labels)}"
    return f"要求{OP_WORDS[op]}{_spacer(field)}{value_text(field, target, labels)}"


def _duration(months: int) -> str:
    return f"{months // 12} 年" if months % 12 == 0 else f"{months} 个月"


def _shortfall(leaf: Mapping[str, Any], field: Field, value: int) -> str | None:
    """For a fail that time will cure: "经营未满 2 年, 还差 4 个月"."""
    op, target = leaf["op"], leaf.get("value")
    if not (field.time_cured and op in (">=", ">") and isinstance(target, int)):
        return None
    needed = target - value + (1 if op == ">" else 0)
    reached = target + (1 if op == ">" else 0)
    what = (
        field.shortfall.format(value=reached, duration=_duration(reached))
        if field.shortfall
        else requirement(leaf, field)
    )
    return f"{what}, 还差 {needed} {field.unit}"


def _shorter_term_hint(leaf: Mapping[str, Any], facts: Mapping[str, Any]) -> str | None:
    if leaf["op"] not in ("<=", "<") or facts.get("operator_age") is None:
        return None
    limit = leaf["value"] - (1 if leaf["op"] == "<" else 0)
    years = limit - facts["operator_age"]
    if years < 1:
        return "年龄已不满足任何贷款期限"
    return f"贷款期限不超过 {years * 12} 个月可满足"


FAIL_HINTS = {"age_plus_term_years": _shorter_term_hint}


def leaf_message(
    leaf: Mapping[str, Any], field: Field, facts: Mapping[str, Any], outcome: Outcome, why_unknown: str | None = None
) -> str:
    value = facts.get(field.key)
    if value is None:
        return (
            field.unknown_sentence(facts)
            or f"缺少{field.missing_text}, 无法判断{leaf.get('label') or field.topic_text}"
        )
    actual = field.describe(value, facts)
    required = requirement(leaf, field)
    if outcome is Outcome.UNKNOWN:
        if why_unknown == UNLISTED:
            return f"{actual}, 不在已知清单中（清单不完整, 由银行确认）; {required}"
        return f"{actual}, 代码不够具体, 无法判断; {required}"
    if outcome is Outcome.PASS:
        return actual if field.type is FieldType.BOOLEAN else f"{actual}, {required}"
    if leaf.get("veto"):
        return f"否决: {actual}"
    message = f"{actual}, {_shortfall(leaf, field, value) or required}"
    hint = FAIL_HINTS.get(field.key)
    extra = [text for text in (hint(leaf, facts) if hint else None, leaf.get("note")) if text]
    message = "; ".join([message, *extra])
    # a labelled rule names the condition it fails ("预授信基础条件 无不良信用记录: …")
    return f"{leaf['label']}: {message}" if leaf.get("label") else message


def switch_message(node: Mapping[str, Any], field: Field, outcome: Outcome, facts: Mapping[str, Any]) -> str:
    topic = node.get("label") or f"按{field.label}适用的条件"
    missing = field.unknown_sentence(facts) or f"缺少{field.missing_text}"
    if outcome is Outcome.PASS:
        return f"{missing}, 但{topic}均已满足"
    return f"{missing}, 无法确定{topic}"
