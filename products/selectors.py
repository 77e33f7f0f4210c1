from django.db.models import Q, QuerySet
from django.db.models.functions import Length

from portal.tenancy import restrict
from products.models import Bank, BankBranch, BranchRoute, LoanProduct, ProductStatus


def branch_for(*, bank: Bank, county_code: str) -> BankBranch | None:
    """The branch of `bank` that receives leads of entities in `county_code`: an explicit
    route first, else the deepest active branch whose service area covers the county."""
    route = BranchRoute.objects.select_related("branch").filter(bank=bank, county_id=county_code).first()
    if route is not None:
        return route.branch
    prefixes = [county_code[:n] for n in (2, 4, 6)]
    return (
        BankBranch.objects.filter(bank=bank, is_active=True, service_areas__region_prefix__in=prefixes)
        .annotate(depth=Length("service_areas__region_prefix"))
        .order_by("-depth", "id")
        .first()
    )


def product_list(*, user, bank: str | None = None, status: str | None = None, q: str | None = None) -> QuerySet[LoanProduct]:
    qs = restrict(LoanProduct.objects.select_related("bank", "current_version"), user)
    if bank:
        qs = qs.filter(bank__code=bank)
    if status:
        qs = qs.filter(status=status)
    if q:
        qs = qs.filter(Q(name__icontains=q) | Q(code__icontains=q))
    return qs.order_by("bank__code", "code")


def active_products() -> QuerySet[LoanProduct]:
    """The public product supermarket: active products of every bank (no tenant data)."""
    return LoanProduct.objects.filter(status=ProductStatus.ACTIVE).select_related("bank", "current_version")
