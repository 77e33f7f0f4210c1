"""Tenant filters of stored results (registered from ``MatchingConfig.ready``).

- a bank branch (administrator or account manager) sees 潜在客户: eligible results of its
  bank's products for entities in the branch's service area whose data the regulator shares
  with banks (``MarketEntity.data_shared_with_banks``; the enterprise may withdraw it on 我的
  企业, which re-matches it and drops it from every bank's list);
- a government body sees every result in its region (near misses for coaching, reviews);
- an enterprise sees its own entity's results;
- 信息不全 pairs, not stored, are read by evaluating entities live (``UnstoredEntity``): the
  same actors see them for the same entities (``unstored_q`` mirrors ``result_q`` for a row
  of verdict 1: never a bank, whose rows are eligible ones only);
- runs and their chunks are the platform administrators' (no one else).
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

from django.db import connection
from django.db.models import Q

from batch_matching.models import (
    DirtyEntity,
    MatchingRun,
    MatchingState,
    MatchResult,
    ResultCount,
    RunChunk,
    RunProduct,
    UnstoredEntity,
)
from batch_matching.plan import ELIGIBLE, county_range
from entities.models import MarketEntity
from entities.restrictions import region_range_q
from portal.models import RegionLevel
from portal.tenancy import EXPORT, VIEW, Scope, restriction
from products.models import BankBranch, BranchServiceArea, LoanProduct


def county_q(prefix: str, field: str = "county") -> Q:
    """Stored county codes (integers) inside a region code prefix."""
    lo, hi = county_range(prefix)
    return Q(**{f"{field}__gte": lo, f"{field}__lt": hi})


@dataclass(frozen=True)
class BranchScope:
    branch_id: int
    bank_id: int
    product_ids: tuple[int, ...]
    prefixes: tuple[str, ...]
    name: str = ""

    def county_q(self, field: str = "county") -> Q | None:
        """The service area over stored (integer) county codes; ``code``: over Region codes."""
        if not self.prefixes:
            return None
        combined = Q(pk__in=[])
        for prefix in self.prefixes:
            combined |= region_range_q(prefix, field) if field == "code" else county_q(prefix, field)
        return combined


# per actor's scope object (one per request: portal.tenancy.scope_for caches it on the user),
# so the several restrict() calls of one page look the branch up once
_BRANCHES: "weakref.WeakKeyDictionary[Scope, BranchScope | None]" = weakref.WeakKeyDictionary()


def branch_scope_of(*, organisation_id: int | None = None, branch_id: int | None = None) -> BranchScope | None:
    """A branch, its service area and its bank's products, in one query."""
    column, value = ("organisation_id", organisation_id) if branch_id is None else ("id", branch_id)
    if connection.vendor != "postgresql":
        branch = (
            BankBranch.objects.filter(**{column: value}, is_active=True)
            .order_by("id")
            .values("pk", "bank_id", "name")
            .first()
        )
        if branch is None:
            return None
        prefixes = BranchServiceArea.objects.filter(branch_id=branch["pk"]).order_by("region_prefix")
        products = LoanProduct.objects.filter(bank_id=branch["bank_id"]).order_by("id")
        return BranchScope(
            branch["pk"],
            branch["bank_id"],
            tuple(products.values_list("id", flat=True)),
            tuple(prefixes.values_list("region_prefix", flat=True)),
            branch["name"],
        )
    branches, areas, products = (
        BankBranch._meta.db_table,
        BranchServiceArea._meta.db_table,
        LoanProduct._meta.db_table,
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT b.id, b.bank_id, b.name, ARRAY(SELECT a.region_prefix FROM {areas} a WHERE a.branch_id = b.id "
            f"ORDER BY 1), ARRAY(SELECT p.id FROM {products} p WHERE p.bank_id = b.bank_id ORDER BY 1) "
            f"FROM {branches} b WHERE b.{column} = %s AND b.is_active ORDER BY b.id LIMIT 1",
            [value],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    return BranchScope(row[0], row[1], tuple(row[4]), tuple(row[3]), row[2])


def branch_scope(scope: Scope) -> BranchScope | None:
    """The bank branch an actor works for, its service area and its bank's products."""
    if not scope.is_bank or not scope.organisation_id:
        return None
    try:
        return _BRANCHES[scope]
    except KeyError:
        pass
    found = branch_scope_of(organisation_id=scope.organisation_id)
    _BRANCHES[scope] = found
    return found


def result_q(scope: Scope, action: str) -> Q | None:
    if action not in (VIEW, EXPORT):
        return None  # results are written by the matching services only
    if scope.is_bank:
        branch = branch_scope(scope)
        if branch is None or not branch.product_ids:
            return None
        area = branch.county_q()
        if area is None:
            return None
        return Q(product_id__in=branch.product_ids, verdict=ELIGIBLE, shared=True) & area
    if scope.is_government:
        return county_q(scope.region_prefix) if scope.region_prefix else None
    if scope.is_enterprise and action == VIEW and scope.organisation_id:
        return Q(entity_id__in=MarketEntity.objects.filter(organisation_id=scope.organisation_id).values("id"))
    return None


def unstored_q(scope: Scope, action: str) -> Q | None:
    """The entities whose 信息不全 pairs (evaluated live, not stored) an actor may see: those
    whose row of verdict 1 ``result_q`` would show him — a county of his region (an entity
    without a county code has no county: stored as 0, in no region), or his own entity."""
    if action not in (VIEW, EXPORT):
        return None
    if scope.is_bank:
        return None  # a bank sees eligible, shared rows only
    if scope.is_government:
        if not scope.region_prefix:
            return None
        return region_range_q(scope.region_prefix) & Q(region__level=RegionLevel.COUNTY)
    if scope.is_enterprise and action == VIEW and scope.organisation_id:
        return Q(organisation_id=scope.organisation_id)
    return None


def count_q(scope: Scope, action: str) -> Q | None:
    if action not in (VIEW, EXPORT):
        return None
    if scope.is_bank:
        branch = branch_scope(scope)
        if branch is None or not branch.product_ids:
            return None
        area = branch.county_q()
        return None if area is None else Q(product_id__in=branch.product_ids) & area
    if scope.is_government:
        return county_q(scope.region_prefix) if scope.region_prefix else None
    return None


def _administrators_only(scope: Scope, action: str) -> Q | None:
    return None  # platform administrators bypass restrictions; everyone else sees nothing


def register() -> None:
    restriction(MatchResult)(result_q)
    restriction(ResultCount)(count_q)
    restriction(UnstoredEntity)(unstored_q)
    for model in (MatchingRun, RunChunk, RunProduct, MatchingState, DirtyEntity):
        restriction(model)(_administrators_only)
