"""Test factories of eligibility previews against the seed catalogue: requests (the example
of domain/eligibility-api.md, a good entity, deep merges of changes into them), the catalogue,
and the preview run on a fixed day with readers of its results.

Pure Python, no Django, like the engine and the catalogue loader: the engine's tests
(eligibility/tests) use it and run without Django (`-p no:django`). It sits here, not in
`eligibility`, because it reads the products' seed catalogue and the engine imports nothing
above it."""

from __future__ import annotations

import copy
import datetime as dt
from functools import lru_cache
from typing import Any

from eligibility import preview, validate_preview_request
from products.catalog import load_catalog_data

AS_OF = dt.date(2026, 11, 22)


def contract_example() -> dict[str, Any]:
    """The request of domain/eligibility-api.md, verbatim."""
    return {
        "as_of": "2026-11-22",
        "entity": {
            "entity_type": "individual_business",
            "established_on": "2025-05-10",
            "region_code": "140502",
            "industry_code": "5291",
            "tier": "survival",
            "honors": [{"kind": "quality", "valid_until": "2027-06-30"}],
            "annual_revenue": 150000,
            "net_assets": 400000,
            "total_assets": None,
            "employees": 3,
            "social_insurance_headcount": 1,
            "tax_status": "small_scale_taxpayer",
            "has_tax_record": True,
            "register_status": "active",
            "legal_rep_changed_on": None,
            "main_business_changed_on": None,
            "operator": {
                "birth_date": "1986-03-01",
                "nationality": "CN",
                "local_residence": True,
                "industry_experience_months": 0,
            },
            "credit": {
                "dishonest_debtor": False,
                "joint_punishment": False,
                "consumption_restricted": False,
                "overdue_consecutive_24m": 0,
                "overdue_total_24m": 0,
                "overdue_12m": 0,
                "major_bad_record": False,
                "pending_litigation": False,
            },
        },
        "need": {"amount": 100000, "term_months": 12},
        "products": ["huishangdai", "ccb-precredit"],
    }


def good_entity() -> dict[str, Any]:
    """An individual business in 晋城 that passes every rule the platform can check for most
    products: growth tier, operating 46 months, operator 40 (own realisable net assets 80万),
    clean credit, all data present."""
    entity = contract_example()["entity"]
    entity.update(
        {
            "established_on": "2023-01-10",
            "tier": "growth",
            "honors": [],
            "annual_revenue": 900000,
            "total_assets": 600000,
            "social_insurance_headcount": 2,
            "legal_rep_changed_on": "2023-01-10",
            "main_business_changed_on": "2023-01-10",
            "size_class": "micro",
        }
    )
    entity["operator"].update(
        {"industry_experience_months": 24, "residence_region_code": "140502", "realisable_net_assets": 800000}
    )
    return entity


def ccb_relationship(**changes: Any) -> dict[str, Any]:
    """The entity's borrowing at 建设银行 as CCB fills it in, meeting 示范标杆商户's 准入标准
    (24 months borrowed, no non-performing loan, ≤ 3 overdue in 12 months, a 50万 line)."""
    return {
        "bank": "ccb",
        "months_borrowed": 30,
        "credit_line": 600000,
        "non_performing": False,
        "overdue_12m": 1,
        **changes,
    }


def merge(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """Deep-merge ``changes`` into a copy of ``base`` (nested dicts merge, other values replace)."""
    merged = copy.deepcopy(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


@lru_cache(maxsize=1)
def catalog() -> dict[str, Any]:
    return load_catalog_data()


def run(request: dict[str, Any]) -> dict[str, Any]:
    clean, errors = validate_preview_request(request, catalog(), today=lambda: AS_OF)
    assert errors == {}, errors
    return preview(clean, catalog(), today=lambda: AS_OF)


def result_for(
    code: str, entity: dict[str, Any], need: dict[str, Any] | None = None, as_of: str = "2026-11-22"
) -> dict[str, Any]:
    request = {"as_of": as_of, "entity": entity, "products": [code]}
    if need is not None:
        request["need"] = need
    (result,) = run(request)["results"]
    return result


def reasons_by_rule(result: dict[str, Any]) -> dict[str, list[dict[str, str]]]:
    grouped: dict[str, list[dict[str, str]]] = {}
    for reason in result["reasons"]:
        grouped.setdefault(reason["rule"], []).append(reason)
    return grouped


def outcomes(result: dict[str, Any], rule: str) -> set[str]:
    return {reason["outcome"] for reason in reasons_by_rule(result).get(rule, [])}


def messages(result: dict[str, Any], rule: str) -> list[str]:
    return [reason["message"] for reason in reasons_by_rule(result).get(rule, [])]
