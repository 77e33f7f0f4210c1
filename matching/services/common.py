"""What the workflow's services share: the task force of an entity's county, the intended
banks (named by code, 1 to MAX_INTENDED_BANKS, each serving the county, a re-recommendation's
rules), the declared need and the five basic criteria. The service modules import it; it
imports none of them."""

from __future__ import annotations

from collections.abc import Iterable

from django.utils import timezone

from entities.models import MarketEntity
from matching.models import BASIC_CRITERIA, OPEN_RECOMMENDATION_STATES, Declaration, DeclarationBank, Recommendation
from portal.models import Organisation, OrganisationKind
from portal.services import ApplicationError
from portal.tenancy import VIEW, resolve
from products.models import Bank
from products.selectors import banks_serving

MAX_INTENDED_BANKS = 2


def task_force_for(entity: MarketEntity) -> Organisation:
    task_force = (
        Organisation.objects.filter(kind=OrganisationKind.TASK_FORCE, region_id=entity.region_id, is_active=True)
        .order_by("id")
        .first()
    )
    if task_force is None:
        raise ApplicationError(f"{entity.region} 尚未设立融资协调工作专班, 无法申报")
    return task_force


def _not_serving(banks: Iterable[Bank], region) -> list[str]:
    """Why each bank cannot take leads of the county (`region`): no branch serves it, so the
    push could not route them (products.selectors.banks_serving, the same rule as the push)."""
    banks = list(banks)
    serving = set(banks_serving(region.pk).filter(pk__in=[b.pk for b in banks]).values_list("pk", flat=True))
    return [f"{bank.name}在{region.name}没有服务机构, 请选择其他银行" for bank in banks if bank.pk not in serving]


def _banks_from_codes(codes: Iterable[str], region) -> list[Bank]:
    """The intended banks named by code: 1 to MAX_INTENDED_BANKS known banks, each serving the
    entity's county (`region`)."""
    codes = [c for c in codes if c]
    errors = []
    if not codes:
        errors.append("请选择 1 至 2 家意向对接银行")
    if len(codes) > MAX_INTENDED_BANKS:
        errors.append(f"意向对接银行最多 {MAX_INTENDED_BANKS} 家, 您选择了 {len(codes)} 家")
    if len(set(codes)) != len(codes):
        errors.append("意向对接银行不能重复")
    banks = {b.code: b for b in Bank.objects.filter(code__in=codes)}
    unknown = [c for c in codes if c not in banks]
    if unknown:
        errors.append(f"未知银行: {', '.join(unknown)}")
    errors += _not_serving([banks[c] for c in codes if c in banks], region)
    if errors:
        raise ApplicationError(errors[0], field_errors={"banks": errors})
    return [banks[c] for c in codes]


def _validate_need(amount, term_months, purpose) -> dict:
    errors: dict[str, list[str]] = {}
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        errors["amount"] = ["融资金额须为正整数(元)"]
    elif amount > 100_000_000:
        errors["amount"] = ["融资金额超过 1 亿元, 请核实"]
    if not isinstance(term_months, int) or isinstance(term_months, bool) or not 1 <= term_months <= 360:
        errors["term_months"] = ["期限须为 1 至 360 个月"]
    if not purpose or not str(purpose).strip():
        errors["purpose"] = ["请填写资金用途"]
    if errors:
        raise ApplicationError(next(iter(errors.values()))[0], field_errors=errors)
    return {"amount": amount, "term_months": term_months, "purpose": str(purpose).strip()}


def _criteria(criteria: dict | None, actor) -> dict:
    criteria = criteria or {}
    unknown = set(criteria) - set(BASIC_CRITERIA)
    if unknown:
        raise ApplicationError(
            "未知的基本标准: " + ", ".join(sorted(unknown)), field_errors={"basic_criteria": ["未知的基本标准"]}
        )
    now = timezone.now().isoformat()
    return {
        key: {
            "met": bool((criteria.get(key) or {}).get("met")),
            "evidence": str((criteria.get(key) or {}).get("evidence") or ""),
            "checked_by": actor.pk if (criteria.get(key) or {}).get("met") else None,
            "checked_at": now if (criteria.get(key) or {}).get("met") else None,
        }
        for key in BASIC_CRITERIA
    }


def _entity_for_declaring(actor, entity_id: int) -> MarketEntity:
    return resolve(MarketEntity, actor, VIEW, pk=entity_id, message="经营主体不存在或不在您的辖区", field="entity_id")


def _set_banks(declaration: Declaration, banks: list[Bank]) -> None:
    declaration.intended_banks.all().delete()
    DeclarationBank.objects.bulk_create(
        [DeclarationBank(declaration=declaration, bank=bank, position=i) for i, bank in enumerate(banks, start=1)]
    )


def _redirect_bank_problems(declaration: Declaration, banks: list[Bank]) -> list[str]:
    """A re-recommendation (改推) goes to banks other than the declined declaration's, and never
    leaves the entity with more than MAX_INTENDED_BANKS banks working it at a time."""
    if declaration.redirected_from_id is None:
        return []
    original = declaration.redirected_from.declaration
    problems = []
    already = {r.bank_id: r.bank for r in original.recommendations.select_related("bank")}
    for bank in banks:
        if bank.pk in already:
            problems.append(f"该企业已推荐给{bank.name}, 改推须选择其他银行")
    working = {
        r.bank_id: r.bank.name
        for r in Recommendation.objects.filter(
            entity_id=declaration.entity_id, state__in=OPEN_RECOMMENDATION_STATES
        ).select_related("bank")
    }
    total = set(working) | {bank.pk for bank in banks}
    if len(total) > MAX_INTENDED_BANKS:
        names = "、".join(working.values())
        room = max(MAX_INTENDED_BANKS - len(working), 0)
        problems.append(
            f"同一企业同时对接的银行不超过 {MAX_INTENDED_BANKS} 家: 该企业仍在与{names}对接, 改推最多还能选择 {room} 家"
        )
    return problems
