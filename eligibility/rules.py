"""Rule trees as data, and their validation against the field registry.

A tree is JSON:

- ``{"all": [node, …]}``, ``{"any": [node, …]}``, ``{"not": node}`` (Kleene logic);
- ``{"switch": "tier", "cases": {"survival": node, …}}``: the case of the field's value
  applies; a value without a case adds no condition. It is shorthand for
  ``{"all": [{"any": [{"field": "tier", "op": "!=", "value": k}, node_k]} for each k]}``
  (see ``desugar``), which is what a compiler to SQL may use;
- a leaf ``{"id": "operating_months", "field": "operating_months", "op": ">=", "value": 12}``
  with optional ``label`` (names the condition in messages), ``veto`` (a 否决条件),
  ``value_labels`` (Chinese names of listed values), ``note`` (said after the reason when the
  rule fails: an exception the bank may grant, what to do) and, for ``prefix_in`` over an
  incomplete list, ``"unmatched": "unknown"``.

Groups may carry ``id`` and ``label`` for people reading the data. A leaf's ``id``
(default: its field) is the ``rule`` of its reason in the eligibility response.
"""

from __future__ import annotations

import re
from typing import Any, Iterator, Mapping

from .codes import PATH_READERS
from .fields import FIELDS, NUMERIC_TYPES, Field, FieldType

GROUP_KINDS = ("all", "any", "not", "switch")
COMPARISONS = ("==", "!=", ">", ">=", "<", "<=")
MEMBERSHIP = ("in", "not_in")
OPS_BY_TYPE: dict[FieldType, tuple[str, ...]] = {
    FieldType.INTEGER: COMPARISONS + MEMBERSHIP,
    FieldType.MONEY: COMPARISONS + MEMBERSHIP,
    FieldType.BOOLEAN: ("is_true", "is_false"),
    FieldType.CHOICE: ("==", "!=") + MEMBERSHIP,
    FieldType.TEXT: ("==", "!=") + MEMBERSHIP,
    FieldType.REGION: ("prefix_in",),
    FieldType.INDUSTRY: ("prefix_in",),
    FieldType.CHOICE_LIST: ("contains", "not_contains"),
}
ALL_OPS = frozenset(op for ops in OPS_BY_TYPE.values() for op in ops)
TYPE_NAMES = {
    FieldType.INTEGER: "整数",
    FieldType.MONEY: "金额",
    FieldType.BOOLEAN: "布尔",
    FieldType.CHOICE: "枚举",
    FieldType.TEXT: "文本",
    FieldType.REGION: "地区代码",
    FieldType.INDUSTRY: "行业代码",
    FieldType.CHOICE_LIST: "列表",
}
LEAF_KEYS = frozenset({"id", "field", "op", "value", "label", "veto", "value_labels", "unmatched", "note"})
GROUP_EXTRA_KEYS = frozenset({"id", "label"})
RULE_ID = re.compile(r"^[a-z][a-z0-9_]*$")
MAX_DEPTH = 24


class RuleError(ValueError):
    """A rule tree (or cap list) that does not validate; the message names the node path."""

    def __init__(self, message: str, path: str = "", subject: str = "规则") -> None:
        self.message, self.path, self.subject = message, path, subject
        super().__init__(f"{subject} {path or '根节点'}: {message}")


def node_kind(node: Mapping[str, Any]) -> str:
    if "field" in node:  # a leaf (a group's keys never include "field": _check_node) — the hot path
        return "leaf"
    for kind in GROUP_KINDS:
        if kind in node:
            return kind
    return "leaf"


def leaf_id(leaf: Mapping[str, Any]) -> str:
    return leaf.get("id") or leaf["field"]


def iter_leaves(node: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    kind = node_kind(node)
    if kind == "leaf":
        yield node
    elif kind == "not":
        yield from iter_leaves(node["not"])
    elif kind == "switch":
        for case in node["cases"].values():
            yield from iter_leaves(case)
    else:
        for child in node[kind]:
            yield from iter_leaves(child)


def fields_used(node: Mapping[str, Any]) -> set[str]:
    used = {leaf["field"] for leaf in iter_leaves(node)}
    stack = [node]
    while stack:
        current = stack.pop()
        kind = node_kind(current)
        if kind == "switch":
            used.add(current["switch"])
            stack.extend(current["cases"].values())
        elif kind == "not":
            stack.append(current["not"])
        elif kind in ("all", "any"):
            stack.extend(current[kind])
    return used


def desugar(node: Mapping[str, Any]) -> dict[str, Any]:
    """The same tree with every ``switch`` expanded into all/any (same outcome everywhere)."""
    kind = node_kind(node)
    if kind == "leaf":
        return dict(node)
    if kind == "not":
        return {"not": desugar(node["not"])}
    if kind == "switch":
        selector = node["switch"]
        return {
            "all": [
                {
                    "any": [
                        {"id": node.get("id") or selector, "field": selector, "op": "!=", "value": value},
                        desugar(case),
                    ]
                }
                for value, case in node["cases"].items()
            ]
        }
    return {kind: [desugar(child) for child in node[kind]]}


# --- validation ------------------------------------------------------------------------------


def validate_rules(tree: Any) -> None:
    """Raise the first ``RuleError`` of ``tree``; see ``rule_errors`` for all of them."""
    errors = rule_errors(tree)
    if errors:
        raise errors[0]


def rule_errors(tree: Any, path: str = "", subject: str = "规则") -> list[RuleError]:
    errors: list[RuleError] = []
    _check_node(tree, path, 0, errors, subject)
    return errors


def _join(path: str, step: str) -> str:
    return f"{path}.{step}" if path else step


def _check_node(node: Any, path: str, depth: int, errors: list[RuleError], subject: str) -> None:
    def fail(message: str) -> None:
        errors.append(RuleError(message, path, subject))

    if depth > MAX_DEPTH:
        return fail(f"嵌套超过 {MAX_DEPTH} 层")
    if not isinstance(node, Mapping):
        return fail("节点应为 JSON 对象")
    kinds = [kind for kind in GROUP_KINDS if kind in node]
    if len(kinds) > 1:
        return fail(f"一个节点只能有一种组合方式, 实际有 {'、'.join(kinds)}")
    if not kinds:
        return _check_leaf(node, fail)
    kind = kinds[0]
    allowed = GROUP_EXTRA_KEYS | {kind} | ({"cases"} if kind == "switch" else set())
    _check_keys(node, allowed, fail)
    _check_id(node, fail)
    if kind == "not":
        return _check_node(node["not"], _join(path, "not"), depth + 1, errors, subject)
    if kind == "switch":
        return _check_switch(node, path, depth, errors, subject, fail)
    children = node[kind]
    if not isinstance(children, list):
        return fail(f"{kind} 应为节点列表")
    if not children:
        return fail(f"{kind} 不能为空")
    for index, child in enumerate(children):
        _check_node(child, _join(path, f"{kind}[{index}]"), depth + 1, errors, subject)


def _check_switch(node, path, depth, errors, subject, fail) -> None:
    field = FIELDS.get(node["switch"]) if isinstance(node["switch"], str) else None
    if field is None:
        return fail(f"未知字段 {node['switch']!r}")
    if not field.rule_usable:
        return fail(_not_usable(field))
    if field.type is not FieldType.CHOICE:
        return fail(f"switch 只适用于枚举字段, '{field.label}' 是{TYPE_NAMES[field.type]}字段")
    cases = node.get("cases")
    if not isinstance(cases, Mapping) or not cases:
        return fail("switch 需要非空的 cases")
    for value, case in cases.items():
        if value not in field.choices:
            fail(_unknown_choice(field, value))
        else:
            _check_node(case, _join(path, f"cases[{value}]"), depth + 1, errors, subject)


def _check_keys(node: Mapping[str, Any], allowed: frozenset[str] | set[str], fail) -> None:
    extra = sorted(set(node) - set(allowed))
    if extra:
        fail(f"未知属性 {'、'.join(repr(k) for k in extra)}")


def _check_id(node: Mapping[str, Any], fail) -> None:
    if "id" in node and not (isinstance(node["id"], str) and RULE_ID.match(node["id"])):
        fail(f"id {node['id']!r} 应为小写字母开头的字母、数字或下划线")
    if "label" in node and not (isinstance(node["label"], str) and node["label"].strip()):
        fail("label 应为非空文本")


def _check_leaf(leaf: Mapping[str, Any], fail) -> None:
    if "field" not in leaf:
        return fail("节点应为 all、any、not、switch 之一, 或带 field 的条件")
    field = FIELDS.get(leaf["field"]) if isinstance(leaf["field"], str) else None
    if field is None:
        return fail(f"未知字段 {leaf['field']!r}")
    if not field.rule_usable:
        return fail(_not_usable(field))
    _check_keys(leaf, LEAF_KEYS, fail)
    _check_id(leaf, fail)
    op = leaf.get("op")
    if op not in ALL_OPS:
        return fail(f"未知运算符 {op!r}")
    if op not in OPS_BY_TYPE[field.type]:
        return fail(f"运算符 '{op}' 不适用于{TYPE_NAMES[field.type]}字段 '{field.label}'")
    _check_leaf_value(leaf, field, op, fail)
    if "veto" in leaf and not isinstance(leaf["veto"], bool):
        fail("veto 应为 true 或 false")
    if "note" in leaf and not (isinstance(leaf["note"], str) and leaf["note"].strip()):
        fail("note 应为非空文本")
    if "value_labels" in leaf and not _is_text_map(leaf["value_labels"]):
        fail("value_labels 应为 值 → 中文名称 的对象")
    if "unmatched" in leaf and (op != "prefix_in" or leaf["unmatched"] not in ("fail", "unknown")):
        fail("unmatched 只适用于 prefix_in, 取值 'fail' 或 'unknown'")


def _is_text_map(value: Any) -> bool:
    return isinstance(value, Mapping) and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())


def _check_leaf_value(leaf: Mapping[str, Any], field: Field, op: str, fail) -> None:
    if field.type is FieldType.BOOLEAN:
        if "value" in leaf:
            fail(f"运算符 '{op}' 不需要 value")
        return
    if "value" not in leaf:
        return fail(f"字段 '{field.label}' 的条件缺少 value")
    value = leaf["value"]
    if op in MEMBERSHIP or op == "prefix_in":
        if not isinstance(value, list) or not value:
            return fail(f"运算符 '{op}' 的 value 应为非空列表")
        for item in value:
            _check_scalar(field, item, op, fail)
    else:
        _check_scalar(field, value, op, fail)


def _check_scalar(field: Field, value: Any, op: str, fail) -> None:
    if field.type in NUMERIC_TYPES:
        if not isinstance(value, int) or isinstance(value, bool):
            fail(f"字段 '{field.label}' 的取值应为整数, 实际为 {value!r}")
    elif field.type in (FieldType.CHOICE, FieldType.CHOICE_LIST):
        if value not in field.choices:
            fail(_unknown_choice(field, value))
    elif field.type is FieldType.TEXT:
        if not isinstance(value, str) or not value:
            fail(f"字段 '{field.label}' 的取值应为非空文本, 实际为 {value!r}")
    elif PATH_READERS[field.type.value](value) is None:
        fail(f"字段 '{field.label}' 的代码前缀 {value!r} 无效")


def _not_usable(field: Field) -> str:
    """The portal's 三型 estimate informs; the products ask for the regulator's mark."""
    return f"字段 '{field.label}' 仅供参考, 不能作为规则条件(产品要求的是名录库的三型标记, 请使用 '三型标记')"


def _unknown_choice(field: Field, value: Any) -> str:
    return f"字段 '{field.label}' 没有取值 {value!r}, 可选: {'、'.join(field.choices)}"
