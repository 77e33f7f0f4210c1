"""Tenant filters of the lender side. Banks, branches and active products are public
(the product supermarket needs no login); drafts and edits belong to the bank's own staff."""
from django.db.models import Q

from portal.models import Role
from portal.tenancy import VIEW, Scope, public, restriction
from products.models import Bank, BankBranch, BranchRoute, BranchServiceArea, LoanProduct, LoanProductVersion, ProductStatus


def bank_root_organisation_id(scope: Scope) -> int | None:
    """The bank a bank user belongs to: the root of his organisation path."""
    if not scope.is_bank or not scope.organisation_path:
        return None
    return int(scope.organisation_path.strip("/").split("/")[0])


def _bank_staff_change(scope: Scope, field: str) -> Q | None:
    if scope.role != Role.BANK_ADMIN:
        return None
    root = bank_root_organisation_id(scope)
    return Q(**{field: root}) if root else None


@restriction(Bank)
def _banks(scope: Scope, action: str) -> Q | None:
    return Q() if action == VIEW else _bank_staff_change(scope, "organisation_id")


@restriction(BankBranch)
def _branches(scope: Scope, action: str) -> Q | None:
    return Q() if action == VIEW else _bank_staff_change(scope, "bank__organisation_id")


restriction(BranchServiceArea)(public)


@restriction(BranchRoute)
def _routes(scope: Scope, action: str) -> Q | None:
    return Q() if action == VIEW else _bank_staff_change(scope, "bank__organisation_id")


@restriction(LoanProduct)
def _products(scope: Scope, action: str) -> Q | None:
    if action == VIEW:
        root = bank_root_organisation_id(scope)
        own = Q(bank__organisation_id=root) if root else Q(pk__in=[])
        return Q(status=ProductStatus.ACTIVE) | own
    return _bank_staff_change(scope, "bank__organisation_id")


@restriction(LoanProductVersion)
def _versions(scope: Scope, action: str) -> Q | None:
    if action == VIEW:
        root = bank_root_organisation_id(scope)
        own = Q(product__bank__organisation_id=root) if root else Q(pk__in=[])
        return Q(published_at__isnull=False, product__status=ProductStatus.ACTIVE) | own
    return _bank_staff_change(scope, "product__bank__organisation_id")
