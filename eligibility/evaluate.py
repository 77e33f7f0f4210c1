"""Evaluate a product's rules and caps over facts: a trace, reasons, verdict and offer."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Mapping, Sequence

from .caps import CapResult, evaluate_caps, offer, offer_basis
from .codes import PATH_READERS, match_path
from .fields import FIELDS, HIERARCHY_TYPES, Field, product_facts
from .logic import Outcome, all_of, any_of, from_bool, negate
from .messages import COARSE_CODE, UNLISTED, leaf_message, switch_message
from .rules import leaf_id, node_kind


class Verdict(str, Enum):
    ELIGIBLE = "eligible"
    INCOMPLETE = "incomplete"
    INELIGIBLE = "ineligible"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Reason:
    rule: str
    outcome: Outcome
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"rule": self.rule, "outcome": self.outcome.value, "message": self.message}


@dataclass
class NodeTrace:
    node: Mapping[str, Any]
    outcome: Outcome
    children: list["NodeTrace"] = field(default_factory=list)
    reason: Reason | None = None  # leaves, and a switch whose selector is unknown
    selected: str | None = None  # a switch's case key, when its selector is known


@dataclass
class Evaluation:
    verdict: Verdict
    rules_outcome: Outcome
    max_amount: int | None
    binding_cap: str | None
    reasons: list[Reason]
    caps: list[CapResult]
    trace: NodeTrace
    offer_basis: str | None = None  # caps.offer_basis: entity_data | requested | product_max


# --- leaves ----------------------------------------------------------------------------------

_COMPARE = {
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    "in": lambda a, b: a in b,
    "not_in": lambda a, b: a not in b,
    "contains": lambda a, b: b in a,
    "not_contains": lambda a, b: b not in a,
    "is_true": lambda a, b: a is True,
    "is_false": lambda a, b: a is False,
}


def _prefix_outcome(leaf: Mapping[str, Any], field: Field, value: Any) -> tuple[Outcome, str | None]:
    read_path = PATH_READERS[HIERARCHY_TYPES[field.type]]
    code = read_path(value)
    if code is None:
        return Outcome.UNKNOWN, COARSE_CODE
    outcome = any_of(match_path(code, read_path(prefix)) for prefix in leaf["value"])
    if outcome is Outcome.UNKNOWN:
        return outcome, COARSE_CODE
    if outcome is Outcome.FAIL and leaf.get("unmatched") == "unknown":
        return Outcome.UNKNOWN, UNLISTED
    return outcome, None


def leaf_outcome(leaf: Mapping[str, Any], facts: Mapping[str, Any]) -> tuple[Outcome, str | None]:
    """The leaf's outcome and, when unknown despite a value, why (coarse code, open list)."""
    field = FIELDS[leaf["field"]]
    value = facts.get(field.key)
    if value is None:
        return Outcome.UNKNOWN, None
    if leaf["op"] == "prefix_in":
        return _prefix_outcome(leaf, field, value)
    return from_bool(_COMPARE[leaf["op"]](value, leaf.get("value"))), None


# --- trees -----------------------------------------------------------------------------------


def trace_rules(
    node: Mapping[str, Any], facts: Mapping[str, Any], *, failed_only: bool = False, negated: bool = False
) -> NodeTrace:
    """The outcome of every node. ``failed_only``: a leaf's message is composed only where its
    reason can be a failure in ``explain`` (a failed leaf, or a passed one under an odd number of
    ``not``: ``negated``); the others carry an empty message. A page that shows only what fails,
    for many products, skips most of the messages."""
    kind = node_kind(node)
    if kind == "leaf":
        return _trace_leaf(node, facts, failed_only=failed_only, negated=negated)
    if kind == "not":
        child = trace_rules(node["not"], facts, failed_only=failed_only, negated=not negated)
        return NodeTrace(node, negate(child.outcome), [child])
    if kind == "switch":
        return _trace_switch(node, facts, failed_only=failed_only, negated=negated)
    children = [trace_rules(child, facts, failed_only=failed_only, negated=negated) for child in node[kind]]
    combine = all_of if kind == "all" else any_of
    return NodeTrace(node, combine(child.outcome for child in children), children)


def _trace_leaf(
    leaf: Mapping[str, Any], facts: Mapping[str, Any], *, failed_only: bool = False, negated: bool = False
) -> NodeTrace:
    outcome, why_unknown = leaf_outcome(leaf, facts)
    fails = outcome is (Outcome.PASS if negated else Outcome.FAIL)
    message = leaf_message(leaf, FIELDS[leaf["field"]], facts, outcome, why_unknown) if fails or not failed_only else ""
    return NodeTrace(leaf, outcome, reason=Reason(leaf_id(leaf), outcome, message))


def _trace_switch(
    node: Mapping[str, Any], facts: Mapping[str, Any], *, failed_only: bool = False, negated: bool = False
) -> NodeTrace:
    field = FIELDS[node["switch"]]
    value = facts.get(field.key)
    keys = list(node["cases"])
    children = [trace_rules(node["cases"][key], facts, failed_only=failed_only, negated=negated) for key in keys]
    if value is not None:
        if value not in node["cases"]:
            return NodeTrace(node, Outcome.PASS, children)
        selected = children[keys.index(value)]
        return NodeTrace(node, selected.outcome, children, selected=value)
    # unknown selector: each case is "selector != k (unknown) or case_k"
    outcome = all_of(any_of((Outcome.UNKNOWN, child.outcome)) for child in children)
    reason = Reason(node.get("id") or field.key, outcome, switch_message(node, field, outcome, facts))
    return NodeTrace(node, outcome, children, reason=reason)


def explain(trace: NodeTrace) -> list[Reason]:
    """Reasons in tree order. A passing ``any`` shows only the alternative that passed."""
    kind = node_kind(trace.node)
    if kind == "leaf":
        return [trace.reason]
    if kind == "not":
        return [_negated(reason) for reason in explain(trace.children[0])]
    if kind == "switch":
        if trace.reason is not None:
            return [trace.reason]
        if trace.selected is None:
            return []
        keys = list(trace.node["cases"])
        return explain(trace.children[keys.index(trace.selected)])
    if kind == "any" and trace.outcome is Outcome.PASS:
        return explain(next(child for child in trace.children if child.outcome is Outcome.PASS))
    return [reason for child in trace.children for reason in explain(child)]


def _negated(reason: Reason) -> Reason:
    return Reason(reason.rule, negate(reason.outcome), f"不得满足: {reason.message}")


def first_unknown_message(trace: NodeTrace) -> str:
    for reason in explain(trace):
        if reason.outcome is Outcome.UNKNOWN:
            return reason.message
    return "条件无法判断"


def _when(tree: Mapping[str, Any], facts: Mapping[str, Any]) -> tuple[Outcome, str]:
    trace = trace_rules(tree, facts)
    missing = first_unknown_message(trace) if trace.outcome is Outcome.UNKNOWN else ""
    return trace.outcome, missing


# --- products --------------------------------------------------------------------------------


def evaluate(
    rules: Mapping[str, Any], caps: Sequence[Mapping[str, Any]], facts: Mapping[str, Any], *, failed_only: bool = False
) -> Evaluation:
    """Verdict, offer and reasons of one product over ``facts`` (already read at the
    evaluation date, with the product's term: see ``fields.product_facts``). ``failed_only``:
    only the rules' failed reasons have their messages (``trace_rules``)."""
    trace = trace_rules(rules, facts, failed_only=failed_only)
    cap_results = evaluate_caps(caps, facts, _when)
    reasons = explain(trace) + [Reason(result.key, result.outcome, result.message) for result in cap_results]
    verdict = _verdict(trace.outcome, cap_results)
    max_amount, binding = offer(cap_results) if verdict is not Verdict.INELIGIBLE else (None, None)
    basis = offer_basis(cap_results, max_amount)
    return Evaluation(verdict, trace.outcome, max_amount, binding, reasons, cap_results, trace, basis)


def _verdict(rules_outcome: Outcome, cap_results: Sequence[CapResult]) -> Verdict:
    outcomes = [rules_outcome] + [result.outcome for result in cap_results]
    overall = all_of(outcomes)
    if overall is Outcome.FAIL:
        return Verdict.INELIGIBLE
    return Verdict.INCOMPLETE if overall is Outcome.UNKNOWN else Verdict.ELIGIBLE


def max_term_months(product: Mapping[str, Any]) -> int | None:
    return (product.get("term") or {}).get("max_months")


def max_drawdown_months(product: Mapping[str, Any]) -> int | None:
    """A credit line's longest single drawdown (码上贷: 单笔用信期限最长 13 个月), if it has one."""
    return (product.get("term") or {}).get("max_drawdown_months")


DRAWDOWN_RULE = "drawdown_term"


def drawdown_message(term_months: int, drawdown_months: int) -> str:
    """How a need's term maps onto a credit line with a shorter single drawdown."""
    if term_months <= drawdown_months:
        return f"授信期限 {term_months} 个月, 单笔用信期限最长 {drawdown_months} 个月: 可一次用款至到期"
    return (
        f"授信期限 {term_months} 个月为额度期限, 不是一笔 {term_months} 个月的贷款: 额度内随借随还, "
        f"单笔用信期限最长 {drawdown_months} 个月, 到期归还后可再次用款"
    )


def product_facts_for(product: Mapping[str, Any], facts: Mapping[str, Any]) -> dict[str, Any]:
    """Request facts (``fields.from_request``) with the product's own: its term and its bank."""
    return product_facts(facts, max_term_months(product), product.get("bank"))


def evaluate_product(product: Mapping[str, Any], facts: Mapping[str, Any], *, failed_only: bool = False) -> Evaluation:
    """``evaluate`` for a catalogue product over request facts (``fields.from_request``):
    adds the product's facts first (``product_facts_for``). A credit line whose single
    drawdown is shorter than its term says so in a reason (``drawdown_term``, informative:
    it never changes the verdict)."""
    product_specific = product_facts_for(product, facts)
    evaluation = evaluate(product["rules"], product.get("caps", []), product_specific, failed_only=failed_only)
    drawdown = max_drawdown_months(product)
    if drawdown is not None:
        message = drawdown_message(product_specific["term_months"], drawdown)
        evaluation.reasons.append(Reason(DRAWDOWN_RULE, Outcome.PASS, message))
    return evaluation
