"""Tenant filters of the lender side. Banks, branches and active products are public
(the product supermarket needs no login); drafts are read by the bank's own staff.

Writes: a bank administrator changes only his own subtree of branches (his branch and the
branches below it); the bank itself, its routing table and its products are changed only by
a head-office (行级, the bank's root organisation) administrator."""

from django.db.models import Q

from portal.models import Role
from portal.tenancy import VIEW, Scope, public, restriction
from products.models import (
    Bank,
    BankBranch,
    BranchRoute,
    BranchServiceArea,
    LoanProduct,
    LoanProductVersion,
    ProductStatus,
)


def bank_root_organisation_id(scope: Scope) -> int | None:
    """The bank a bank user belongs to: the root of his organisation path."""
    if not scope.is_bank or not scope.organisation_path:
        return None
    return int(scope.organisation_path.strip("/").split("/")[0])


def is_head_office_admin(scope: Scope | None) -> bool:
    """A bank administrator whose membership is at the bank's root organisation (行级)."""
    if scope is None or scope.role != Role.BANK_ADMIN:
        return False
    root = bank_root_organisation_id(scope)
    return root is not None and root == scope.organisation_id


def _head_office_change(scope: Scope, field: str) -> Q | None:
    """Bank-level data (the bank, its routes, its products): head-office administrators only."""
    if not is_head_office_admin(scope):
        return None
    return Q(**{field: bank_root_organisation_id(scope)})


def _subtree_change(scope: Scope, field: str) -> Q | None:
    """Branches: a bank administrator changes his own branch and the branches below it."""
    if scope.role != Role.BANK_ADMIN or not scope.organisation_path:
        return None
    return Q(**{f"{field}__startswith": scope.organisation_path})


@restriction(Bank)
def _banks(scope: Scope, action: str) -> Q | None:
    return Q() if action == VIEW else _head_office_change(scope, "organisation_id")


@restriction(BankBranch)
def _branches(scope: Scope, action: str) -> Q | None:
    return Q() if action == VIEW else _subtree_change(scope, "organisation__path")


restriction(BranchServiceArea)(public)


@restriction(BranchRoute)
def _routes(scope: Scope, action: str) -> Q | None:
    return Q() if action == VIEW else _head_office_change(scope, "bank__organisation_id")


@restriction(LoanProduct)
def _products(scope: Scope, action: str) -> Q | None:
    if action == VIEW:
        root = bank_root_organisation_id(scope)
        own = Q(bank__organisation_id=root) if root else Q(pk__in=[])
        return Q(status=ProductStatus.ACTIVE) | own
    return _head_office_change(scope, "bank__organisation_id")


@restriction(LoanProductVersion)
def _versions(scope: Scope, action: str) -> Q | None:
    if action == VIEW:
        root = bank_root_organisation_id(scope)
        own = Q(product__bank__organisation_id=root) if root else Q(pk__in=[])
        return Q(published_at__isnull=False, product__status=ProductStatus.ACTIVE) | own
    return _head_office_change(scope, "product__bank__organisation_id")
