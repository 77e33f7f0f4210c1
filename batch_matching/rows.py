"""Result rows computed in Python with the engine itself (``eligibility``).

Used where a SQL statement does not pay: the embedded SQLite default (no compiled SQL
there), and re-matching a handful of entities on PostgreSQL (planning the catalogue's
statement costs ~50 ms, evaluating one entity here well under one). The rows are the same
as ``plan.Planner``'s: the tests check both against ``evaluate_entity``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

from batch_matching.plan import (
    ELIGIBLE,
    FIXES,
    INCOMPLETE,
    INELIGIBLE,
    NEAR_MISS_MONTHS,
    VersionSpec,
    county_code,
    curable,
    encode_cap,
    reason_bit,
    reason_ids,
)
from eligibility import evaluate_product, from_request, product_facts
from eligibility.evaluate import Verdict, leaf_outcome, max_term_months
from eligibility.fields import FIELDS, add_months
from eligibility.logic import Outcome, all_of, any_of, negate
from eligibility.rules import desugar, node_kind
from products.eligibility import entity_request
from products.models import LoanProduct, ProductStatus
from products.selectors import version_definitions

_VERDICTS = {Verdict.ELIGIBLE: ELIGIBLE, Verdict.INCOMPLETE: INCOMPLETE, Verdict.INELIGIBLE: INELIGIBLE}


@dataclass(frozen=True)
class ResultRow:
    entity_id: int
    product_id: int
    version_id: int
    verdict: int
    max_amount: int | None
    binding_cap: int | None  # position in plan.cap_keys
    failed_mask: int | None  # bits of plan.reason_ids
    unknown_mask: int | None
    county: int
    shared: bool
    near_miss: bool

    def values(self, generation: int, run_id: int) -> tuple:
        """In the order of ``plan.RESULT_COLUMNS``."""
        return (
            self.max_amount,
            self.failed_mask,
            self.unknown_mask,
            generation,
            self.entity_id,
            self.product_id,
            self.version_id,
            run_id,
            self.verdict,
            self.binding_cap,
            self.shared,
            self.near_miss,
            self.county,
        )


def version_specs(pairs: Sequence[tuple[int, int]]) -> list[VersionSpec]:
    """(product id, version id) pairs with their definitions."""
    definitions = version_definitions([vid for _, vid in pairs])
    return [VersionSpec(pid, vid, definitions[vid]) for pid, vid in pairs]


def active_versions(product_ids: Sequence[int] | None = None) -> list[VersionSpec]:
    """The active products' current published versions (of these products; all for None), by
    product id."""
    products = LoanProduct.objects.filter(
        status=ProductStatus.ACTIVE, current_version__isnull=False, current_version__published_at__isnull=False
    )
    if product_ids is not None:
        products = products.filter(pk__in=list(product_ids))
    return version_specs(list(products.order_by("id").values_list("id", "current_version_id")))


def _mask(ids: Sequence[str], reasons, outcome: Outcome) -> int | None:
    mask = 0
    for reason in reasons:
        if reason.outcome is outcome:
            mask |= reason_bit(ids, reason.rule)
    return mask or None


def _relaxed(
    node: Mapping[str, Any],
    facts: Mapping[str, Any],
    later: Mapping[str, Any],
    fixed: Mapping[str, Any],
    negated: bool = False,
) -> Outcome:
    """The rule tree with every curable rule (counting in favour) read as cured: time-cured
    rules on the later date, fixable ones on the fixed facts (``plan`` does the same in SQL)."""
    kind = node_kind(node)
    if kind == "leaf":
        source = facts
        if not negated and curable(node):
            source = fixed if FIELDS[node["field"]].key in FIXES else later
        return leaf_outcome(node, source)[0]
    if kind == "not":
        return negate(_relaxed(node["not"], facts, later, fixed, not negated))
    if kind == "switch":
        return _relaxed(desugar(node), facts, later, fixed, negated)
    outcomes = [_relaxed(child, facts, later, fixed, negated) for child in node[kind]]
    return all_of(outcomes) if kind == "all" else any_of(outcomes)


def _fixed_request(request: dict[str, Any]) -> dict[str, Any]:
    fixed = dict(request)
    for key, cures in FIXES.items():
        value = fixed.get(key)
        if value in cures:
            fixed[key] = cures[value]
    return fixed


def entity_rows(
    entity,
    versions: Sequence[VersionSpec],
    *,
    as_of: dt.date,
    near_miss_months: int = NEAR_MISS_MONTHS,
    with_incomplete: bool = False,
) -> list[ResultRow]:
    """The stored rows of one entity (honours prefetched or read through ``entity.honors``);
    ``with_incomplete``: and its 信息不全 pairs, which are counted and shown, never stored
    (``is_stored``)."""
    request = entity_request(entity)
    facts = from_request(request, None, as_of)
    later = fixed = None  # read only when some product is ineligible
    rows = []
    for spec in versions:
        definition = spec.definition
        evaluation = evaluate_product(definition, facts)
        verdict = _VERDICTS[evaluation.verdict]
        near_miss = False
        if verdict == INELIGIBLE:
            if later is None:
                later = from_request(request, None, add_months(as_of, near_miss_months))
                fixed = from_request(_fixed_request(request), None, as_of)
            term, bank = max_term_months(definition), definition.get("bank")
            relaxed_rules = _relaxed(
                definition["rules"],
                product_facts(facts, term, bank),
                product_facts(later, term, bank),
                product_facts(fixed, term, bank),
            )
            near_miss = all_of([relaxed_rules] + [cap.outcome for cap in evaluation.caps]) is not Outcome.FAIL
            if not near_miss:
                continue
        elif verdict == INCOMPLETE and not with_incomplete:
            continue
        ids = reason_ids(definition)
        rows.append(
            ResultRow(
                entity_id=entity.pk,
                product_id=spec.product_id,
                version_id=spec.version_id,
                verdict=verdict,
                max_amount=evaluation.max_amount,
                binding_cap=encode_cap(definition, evaluation.binding_cap),
                failed_mask=_mask(ids, evaluation.reasons, Outcome.FAIL),
                unknown_mask=_mask(ids, evaluation.reasons, Outcome.UNKNOWN),
                county=county_code(entity.region_id),
                shared=entity.data_shared_with_banks,
                near_miss=near_miss,
            )
        )
    return rows


def rows_for(
    entities: Iterable,
    versions: Sequence[VersionSpec],
    *,
    as_of: dt.date,
    near_miss_months: int = NEAR_MISS_MONTHS,
    with_incomplete: bool = False,
) -> list[ResultRow]:
    return [
        row
        for entity in entities
        for row in entity_rows(
            entity, versions, as_of=as_of, near_miss_months=near_miss_months, with_incomplete=with_incomplete
        )
    ]


def is_stored(row: ResultRow) -> bool:
    """Whether a computed row is written: eligible or a near miss, not 信息不全."""
    return row.verdict != INCOMPLETE


def counts_of(rows: Iterable[ResultRow]) -> list[tuple]:
    """Counts per product and county, as ``plan.count_select`` gives them (``rows``: the stored
    ones)."""
    counts: dict[tuple[int, str], list[int]] = {}
    for row in rows:
        c = counts.setdefault((row.product_id, row.county), [0, 0, 0, 0, 0])
        c[0] += row.verdict == ELIGIBLE
        c[1] += row.verdict == ELIGIBLE and row.shared
        c[2] += row.verdict == INCOMPLETE
        c[3] += row.near_miss
        c[4] += is_stored(row)
    return [(product, county, *c) for (product, county), c in sorted(counts.items())]
