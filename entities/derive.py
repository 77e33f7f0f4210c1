"""Derived classification columns (tier_computed, tier, size_class) for one entity or for a
whole import, and their Chinese explanations for the entity page.

`tier` is the regulator's 三型 mark (`tier_imported`) and nothing else: the estimate
`tier_computed` is kept beside it (shown as 预估) and never stands in for a missing mark, since
the products ask for the mark ("在名录库中被标记为三型", 001 附件 三(二)).

`entities.classification` decides; this module only feeds it. For bulk work the inputs are
first reduced to the threshold they reach (the rules only compare values against the
policy's and the size table's lower bounds with >=), so a million rows hit a few hundred
cached decisions instead of a million classifier calls.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

from entities import classification as cls

INDIVIDUAL_BUSINESS = "individual_business"


def province_code(region_code: str | None) -> str | None:
    return f"{region_code[:2]}0000" if region_code else None


def policy_for(policies: Iterable[cls.TierPolicy], region_code: str | None, as_of: dt.date) -> cls.TierPolicy | None:
    code = province_code(region_code)
    return cls.select_policy(policies, code, as_of) if code else None


def _reached(value, bounds: tuple[int, ...]):
    """The highest bound `value` reaches, or 0 (None stays None): same result under >=."""
    if value is None:
        return None
    for bound in bounds:  # descending
        if value >= bound:
            return bound
    return 0


@lru_cache(maxsize=8192)
def _tier(policy: cls.TierPolicy, revenue, has_tax_record, tax_status, insured) -> str | None:
    facts = cls.TierFacts(
        annual_revenue=revenue, has_tax_record=has_tax_record, tax_status=tax_status, social_insurance_headcount=insured
    )
    return cls.classify_tier(facts, policy).tier


def tier_computed(facts: Mapping[str, Any], policy: cls.TierPolicy | None) -> str | None:
    """三型 applies to individual businesses only; None when it cannot be decided."""
    if policy is None or facts.get("entity_type") != INDIVIDUAL_BUSINESS:
        return None
    revenue_bounds = (policy.development_revenue_min, policy.growth_revenue_min)
    insured_bounds = (policy.development_insured_min, policy.growth_insured_min)
    return _tier(
        policy,
        _reached(facts.get("annual_revenue"), revenue_bounds),
        facts.get("has_tax_record"),
        facts.get("tax_status"),
        _reached(facts.get("social_insurance_headcount"), insured_bounds),
    )


@lru_cache(maxsize=4096)
def _size_row(industry_code: str) -> tuple[str | None, dict[str, tuple[int, ...]]]:
    try:
        mapping = cls.map_industry_code(industry_code)
    except ValueError:
        return None, {}
    if mapping.row is None:
        return None, {}
    row = cls.SIZE_ROWS[mapping.row]
    bounds: dict[str, set[int]] = {}
    for size_class in ("large", "medium", "small"):
        for indicator, bound in row.bounds(size_class):
            scale = cls.YUAN_PER_WAN if indicator in (cls.REVENUE, cls.TOTAL_ASSETS) else 1
            bounds.setdefault(indicator, set()).add(bound * scale)
    return mapping.row, {k: tuple(sorted(v, reverse=True)) for k, v in bounds.items()}


@lru_cache(maxsize=8192)
def _size(row_key: str, employees, revenue, total_assets) -> str | None:
    return cls.classify_size_for_row(row_key, employees, revenue, total_assets).size_class


def size_class(facts: Mapping[str, Any]) -> str | None:
    code = facts.get("industry_id")
    if not code:
        return None
    row_key, bounds = _size_row(code)
    if row_key is None:
        return None
    return _size(
        row_key,
        _reached(facts.get("employees"), bounds[cls.EMPLOYEES]) if cls.EMPLOYEES in bounds else None,
        _reached(facts.get("annual_revenue"), bounds[cls.REVENUE]) if cls.REVENUE in bounds else None,
        _reached(facts.get("total_assets"), bounds[cls.TOTAL_ASSETS]) if cls.TOTAL_ASSETS in bounds else None,
    )


def classification_columns(facts: Mapping[str, Any], policy: cls.TierPolicy | None) -> dict[str, str | None]:
    computed = tier_computed(facts, policy)
    return {
        "tier_computed": computed,
        "tier": facts.get("tier_imported"),  # the mark only: an estimate never stands in for it
        "size_class": size_class(facts),
    }


# --- explanations for the entity page --------------------------------------------------


def tier_explanation(entity, policy: cls.TierPolicy | None) -> str:
    if entity.entity_type != INDIVIDUAL_BUSINESS:
        return "三型分类仅适用于个体工商户"
    if policy is None:
        return "所在省份未配置分型标准, 无法测算"
    return cls.classify_tier(entity, policy).explanation


def size_explanation(entity) -> str:
    if not entity.industry_id:
        return "缺少行业代码, 无法划型"
    return cls.classify_size(
        entity.industry_id, entity.employees, entity.annual_revenue, entity.total_assets
    ).explanation
