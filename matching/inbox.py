"""The choices of the lead inbox's filters (issue 16 item 3: "All filters are drop-downs or
searchable selects"): the counties the user's branch serves (its and its sub-branches'
service areas and explicit routes, and the counties of the leads it holds), the products of
its bank (a government user: the products of the leads he sees), the need-amount bands and,
for a bank administrator, the account managers he assigns to. The list itself is
`selectors.recommendation_list`, the same selector the API's filters narrow."""

from __future__ import annotations

from dataclasses import dataclass
from functools import reduce
from operator import or_

from django.db.models import Q

from matching.models import Recommendation
from portal.models import Region, RegionLevel
from portal.tenancy import VIEW, restrict, scope_for
from products.models import BankBranch, BranchRoute, BranchServiceArea, LoanProduct

# 融资需求 bands of the inbox (万元): key → (label, lowest, highest), in 元 for the selector
AMOUNT_BANDS = {
    "lt10": ("10 万元以下", None, 99_999),
    "10-50": ("10–50 万元", 100_000, 500_000),
    "50-100": ("50–100 万元", 500_001, 1_000_000),
    "100-300": ("100–300 万元", 1_000_001, 3_000_000),
    "gt300": ("300 万元以上", 3_000_001, None),
}


@dataclass(frozen=True)
class InboxChoices:
    counties: list[Region]
    products: list[LoanProduct]
    amount_bands: list[tuple[str, str]]


def _served_prefixes(user, scope) -> list[str]:
    """The region-code prefixes the branches of the user's subtree serve (service areas) or
    receive by an explicit route; a government user's own region."""
    if scope.is_bank:
        branches = restrict(BankBranch.objects.all(), user, VIEW).filter(
            organisation__path__startswith=scope.organisation_path, is_active=True
        )
        areas = restrict(BranchServiceArea.objects.filter(branch__in=branches), user, VIEW)
        routes = restrict(BranchRoute.objects.filter(branch__in=branches), user, VIEW)
        prefixes = set(areas.values_list("region_prefix", flat=True))
        prefixes |= set(routes.values_list("county_id", flat=True))
        return sorted(prefixes)
    return [scope.region_prefix] if scope.region_prefix else []


def inbox_choices(*, user) -> InboxChoices:
    scope = scope_for(user)
    leads = restrict(Recommendation.objects.all(), user, VIEW)
    held = Q(code__in=leads.values("region_id"))
    prefixes = _served_prefixes(user, scope) if scope is not None else []
    served = reduce(or_, (Q(code__startswith=p) for p in prefixes), Q(pk__in=[]))
    counties = list(Region.objects.filter(served | held, level=RegionLevel.COUNTY).order_by("code"))
    products = restrict(LoanProduct.objects.select_related("bank"), user, VIEW)
    root = scope.organisation_path.strip("/").split("/")[0] if scope is not None and scope.is_bank else None
    if root:
        products = products.filter(bank__organisation_id=int(root))
    else:
        products = products.filter(pk__in=leads.values("product_version__product_id"))
    return InboxChoices(
        counties=counties,
        products=list(products.order_by("bank__code", "name")),
        amount_bands=[(key, label) for key, (label, _, _) in AMOUNT_BANDS.items()],
    )


def amount_range(band: str | None) -> tuple[int | None, int | None]:
    """(lowest, highest) in 元 of an amount band of the inbox; (None, None) for any other value."""
    _, low, high = AMOUNT_BANDS.get(band or "", ("", None, None))
    return low, high
