"""Masking of personal data (身份证号, 手机号) and who may see it in clear."""

from __future__ import annotations

from entities.restrictions import PERSONAL_DATA_ROLES
from portal.tenancy import Scope

PERSONAL_FIELDS = {"operator_id_number": "经营者身份证号", "operator_phone": "经营者手机号"}


def mask_id_number(value: str | None) -> str:
    """'140525198501011237' → '1405**********1237'."""
    if not value:
        return ""
    if len(value) <= 8:
        return "*" * len(value)
    return value[:4] + "*" * (len(value) - 8) + value[-4:]


def mask_phone(value: str | None) -> str:
    """'13812345678' → '138****5678'."""
    if not value:
        return ""
    if len(value) <= 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


MASKS = {"operator_id_number": mask_id_number, "operator_phone": mask_phone}


def masked(field: str, value: str | None) -> str:
    return MASKS[field](value)


def may_reveal(scope: Scope | None) -> bool:
    """Roles whose work needs an operator's numbers: they may reveal one (an audited action)."""
    return bool(scope and (scope.is_platform_admin or scope.role in PERSONAL_DATA_ROLES))


def sees_own(scope: Scope | None, entity) -> bool:
    """An enterprise user sees (and edits) the numbers of its own entity in clear."""
    return bool(
        scope and scope.is_enterprise and entity.organisation_id and entity.organisation_id == scope.organisation_id
    )
