"""Tenant filters of stored results (registered from ``MatchingConfig.ready``).

- a bank branch (administrator or account manager) sees 潜在客户: eligible results of its
  bank's products for entities in the branch's service area whose data the regulator shares
  with banks (``MarketEntity.data_shared_with_banks``; the enterprise may withdraw it on 我的
  企业, which re-matches it and drops it from every bank's list);
- a government body sees every result in its region (near misses for coaching, reviews);
- an enterprise sees its own entity's results;
- runs and their chunks are the platform administrators' (no one else).
"""
from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q

from entities.restrictions import region_range_q
from matching.batch.plan import ELIGIBLE
from portal.tenancy import EXPORT, VIEW, Scope, restriction


@dataclass(frozen=True)
class BranchScope:
    branch_id: int
    bank_id: int
    product_ids: tuple[int, ...]
    prefixes: tuple[str, ...]

    def county_q(self, field: str = "county") -> Q | None:
        if not self.prefixes:
            return None
        combined = Q(pk__in=[])
        for prefix in self.prefixes:
            combined |= region_range_q(prefix, field)
        return combined


def branch_scope(scope: Scope) -> BranchScope | None:
    """The bank branch an actor works for, its service area and its bank's products."""
    if not scope.is_bank or not scope.organisation_id:
        return None
    from products.models import BankBranch, LoanProduct

    branch = BankBranch.objects.filter(organisation_id=scope.organisation_id, is_active=True).first()
    if branch is None:
        return None
    prefixes = tuple(sorted(branch.service_areas.values_list("region_prefix", flat=True)))
    products = tuple(LoanProduct.objects.filter(bank_id=branch.bank_id).order_by("id").values_list("id", flat=True))
    return BranchScope(branch.pk, branch.bank_id, products, prefixes)


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
        return region_range_q(scope.region_prefix, "county") if scope.region_prefix else None
    if scope.is_enterprise and action == VIEW and scope.organisation_id:
        from entities.models import MarketEntity

        return Q(entity_id__in=MarketEntity.objects.filter(organisation_id=scope.organisation_id).values("id"))
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
        return region_range_q(scope.region_prefix, "county") if scope.region_prefix else None
    return None


def _administrators_only(scope: Scope, action: str) -> Q | None:
    return None  # platform administrators bypass restrictions; everyone else sees nothing


def register() -> None:
    from matching.batch import models as m

    restriction(m.MatchResult)(result_q)
    restriction(m.ResultCount)(count_q)
    for model in (m.MatchingRun, m.RunChunk, m.RunProduct, m.MatchingState, m.DirtyEntity):
        restriction(model)(_administrators_only)
