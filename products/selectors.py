import threading
from collections.abc import Sequence

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.db.models.functions import Length

from portal.services import ApplicationError
from portal.tenancy import CHANGE, VIEW, resolve, restrict
from products.models import Bank, BankBranch, BranchRoute, LoanProduct, LoanProductVersion, ProductStatus


def _routes(county_code: str) -> QuerySet[BranchRoute]:
    return BranchRoute.objects.filter(county_id=county_code or "")


def _serving_branches(county_code: str) -> QuerySet[BankBranch]:
    """Active branches whose service area covers the county (a prefix of its code)."""
    code = county_code or ""
    return BankBranch.objects.filter(
        is_active=True, service_areas__region_prefix__in=[code[:n] for n in (2, 4, 6) if code[:n]]
    )


def branch_for(*, bank: Bank, county_code: str) -> BankBranch | None:
    """The branch of `bank` that receives leads of entities in `county_code`: an explicit
    route first, else the deepest active branch whose service area covers the county."""
    route = _routes(county_code).select_related("branch").filter(bank=bank).first()
    if route is not None:
        return route.branch
    return (
        _serving_branches(county_code)
        .filter(bank=bank)
        .annotate(depth=Length("service_areas__region_prefix"))
        .order_by("-depth", "id")
        .first()
    )


def banks_serving(county_code: str) -> QuerySet[Bank]:
    """The banks that serve a county: those `branch_for` finds a branch for (a route for the
    county, or an active branch whose service area covers it). The declaration pages offer
    these, the banks API lists them for `?county=`, and declaring, re-recommending and
    pushing refuse any other."""
    return Bank.objects.filter(
        Exists(_routes(county_code).filter(bank=OuterRef("pk")))
        | Exists(_serving_branches(county_code).filter(bank=OuterRef("pk")))
    ).order_by("code")


# Published versions are immutable, so their definitions are cached by id in each process (a
# cache of immutable rows, not shared state: every process reads the same thing). The one cache
# of definitions: the eligibility preview and batch matching both read through it.
_DEFINITIONS: dict[int, dict] = {}
_DEFINITIONS_LOCK = threading.Lock()
_DEFINITIONS_MAX = 2000


def version_definitions(version_ids: Sequence[int]) -> dict[int, dict]:
    """{version id: definition} of the published versions among ``version_ids`` (public
    catalogue data: no restriction; unpublished drafts are never returned)."""
    missing = [pk for pk in version_ids if pk not in _DEFINITIONS]
    if missing:
        loaded = dict(
            LoanProductVersion.objects.filter(pk__in=missing, published_at__isnull=False).values_list(
                "pk", "definition"
            )
        )
        with _DEFINITIONS_LOCK:
            if len(_DEFINITIONS) + len(loaded) > _DEFINITIONS_MAX:
                _DEFINITIONS.clear()
            _DEFINITIONS.update(loaded)
    return {pk: _DEFINITIONS[pk] for pk in version_ids if pk in _DEFINITIONS}


def product_list(
    *, user, bank: str | None = None, status: str | None = None, q: str | None = None
) -> QuerySet[LoanProduct]:
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


def marketplace_products(
    *,
    user,
    bank: str | None = None,
    amount: int | None = None,
    term_months: int | None = None,
    guarantee: str | None = None,
    channel: str | None = None,
    entity_type: str | None = None,
) -> QuerySet[LoanProduct]:
    """产品超市: the active products (anonymous visitors too), filtered by what a borrower asks.
    A signed-in user's list still passes through restrict() (the tenant boundary is central)."""
    qs = active_products()
    if user is not None and user.is_authenticated:
        qs = restrict(qs, user)
    if bank:
        qs = qs.filter(bank__code=bank)
    if channel:
        qs = qs.filter(current_version__channel=channel)
    if amount:  # products that may lend this much (no stated maximum: the bank decides)
        qs = qs.filter(Q(current_version__max_amount__gte=amount) | Q(current_version__max_amount__isnull=True))
    if term_months:
        qs = qs.filter(
            Q(current_version__max_term_months__gte=term_months) | Q(current_version__max_term_months__isnull=True)
        )
    if guarantee or entity_type:
        # JSON list membership, portable to the embedded SQLite (a catalogue is a few dozen rows)
        keep = [
            pk
            for pk, guarantees, entity_types in qs.values_list(
                "pk", "current_version__guarantee", "current_version__entity_types"
            )
            if (not guarantee or guarantee in (guarantees or []))
            and (not entity_type or entity_type in (entity_types or []))
        ]
        qs = qs.filter(pk__in=keep)
    return qs.order_by("bank__code", "code")


def bank_products(*, user, q: str | None = None) -> QuerySet[LoanProduct]:
    """我行产品: the products the user may change (his bank's; every bank's for platform admins)."""
    qs = restrict(LoanProduct.objects.select_related("bank", "current_version"), user, CHANGE)
    if q:
        qs = qs.filter(Q(name__icontains=q) | Q(code__icontains=q))
    return qs.order_by("bank__code", "code")


def product_versions(*, user, product: LoanProduct) -> QuerySet[LoanProductVersion]:
    return restrict(LoanProductVersion.objects.filter(product=product).select_related("created_by"), user).order_by(
        "-number"
    )


OWNER_ONLY = "只有产品所属银行的行级(省分行)管理员可以修改此产品"


def product_for_change(*, user, code) -> LoanProduct:
    """The product `code` the user may change (head-office administrators of its bank). One
    he may only read (an active product of another bank, or of his own bank for a branch
    administrator) is refused as not his to change; one he may not read as not found."""
    try:
        return resolve(LoanProduct.objects.select_related("bank", "current_version"), user, CHANGE, code=code)
    except ApplicationError:
        if restrict(LoanProduct.objects.all(), user, VIEW).filter(code=code).exists():
            raise ApplicationError(OWNER_ONLY, code="permission_denied") from None
        raise


def products_missing_four_lists(*, user) -> list[LoanProduct]:
    """The products of the user's bank (those he may change: 我行产品) that have not published
    all of their 四张清单 (seed 002 point 5), flagged to the bank's administrator."""
    return [product for product in bank_products(user=user) if product.four_lists_missing]
