"""What the workflow's services share: the task force of an entity's county, the intended
banks (named by code, 1 to MAX_INTENDED_BANKS, each serving the county, a re-recommendation's
rules), the declared need (with its requested repayment mode), the five basic criteria and the
one-open-case rule (`open_case`). The service modules import it; it imports none of them."""

from __future__ import annotations

from collections.abc import Iterable

from django.utils import timezone

from entities.models import MarketEntity
from matching.models import (
    BASIC_CRITERIA,
    OPEN_DECLARATION_STATES,
    OPEN_RECOMMENDATION_STATES,
    REPAYMENT_CHOICES,
    REPAYMENT_UNDECIDED,
    Declaration,
    DeclarationBank,
    DeclarationState,
    Recommendation,
)
from portal.models import Organisation, OrganisationKind
from portal.services import ApplicationError
from portal.tenancy import VIEW, resolve, restrict
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


REPAYMENT_MODES = dict(REPAYMENT_CHOICES)
REPAYMENT_ERROR = (
    f"还款方式应为 {'、'.join(REPAYMENT_MODES.values())} 之一, 或留空({REPAYMENT_UNDECIDED}); "
    f"可填写代码: {'、'.join(REPAYMENT_MODES)}"
)


def repayment_mode(value) -> str:
    """The requested repayment mode as stored: a code of REPAYMENT_CHOICES (the engine's
    need.repayment), or "" for 未定 (the engine reads it as unknown). Raises ValueError with
    REPAYMENT_ERROR otherwise (the service turns it into a field error, the import into a row's)."""
    text = str(value or "").strip()
    if text and text not in REPAYMENT_MODES:
        raise ValueError(REPAYMENT_ERROR)
    return text


def _validate_need(amount, term_months, purpose, repayment="") -> dict:
    """The declared need (amount in 元, term in months, purpose, requested repayment mode) as
    the model stores it; every path that writes a declaration's need goes through it."""
    errors: dict[str, list[str]] = {}
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        errors["amount"] = ["融资金额须为正整数(元)"]
    elif amount > 100_000_000:
        errors["amount"] = ["融资金额超过 10000 万元(1 亿元), 请核实"]
    if not isinstance(term_months, int) or isinstance(term_months, bool) or not 1 <= term_months <= 360:
        errors["term_months"] = ["期限须为 1 至 360 个月"]
    if not purpose or not str(purpose).strip():
        errors["purpose"] = ["请填写资金用途"]
    try:
        repayment = repayment_mode(repayment)
    except ValueError as error:
        errors["repayment"] = [str(error)]
    if errors:
        raise ApplicationError(next(iter(errors.values()))[0], field_errors=errors)
    return {"amount": amount, "term_months": term_months, "purpose": str(purpose).strip(), "repayment": repayment}


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


# --- one open case per entity (seed 004 三(四): "明确 1-2 家意向对接银行, 避免后期重复对接和多头过度授信")


def _banks_of(declaration: Declaration) -> str:
    return "、".join(b.bank.name for b in declaration.intended_banks.select_related("bank")) or "—"


def open_case(entity: MarketEntity, *, actor, continuing: Declaration | None = None) -> str | None:
    """Why no new declaration of `entity` may be opened now, naming the open case, or None.

    The one rule of every path that opens a declaration — the enterprise's own form, 代为申报,
    the bulk import, 银行推荐 and 改推 — so that an entity is worked as one case at a time: no
    new declaration while the entity has
    * an open declaration (a draft, or one in the three-level review: OPEN_DECLARATION_STATES),
    * a declaration signed off into the 推荐清单 whose batch is not pushed yet, or
    * a lead not yet decided at a bank (pushed, contacted, materials collected: no decision).
    A decided lead (授信 or 不予授信) closes the case at that bank: after a decline a new need goes
    through the task force's coaching and a new declaration (or the task force's 改推, which
    continues the declined case: `continuing` is the declaration it continues; the leads of that
    case — the first declaration and every 改推 of it — are bounded by the 改推's two-bank rule
    instead, `_redirect_bank_problems`).

    The message names the case as far as the actor may see it: its number, state and banks for
    whoever may view the declaration; for another bank only that a case is open."""
    open_declaration, waiting, lead = _open_case_parts(entity, continuing)
    case = open_declaration or waiting or (lead.declaration if lead else None)
    if case is None:
        return None
    visible = restrict(Declaration.objects.filter(pk=case.pk), actor, VIEW).exists()
    if not visible:
        return f"{entity.name}已有进行中的融资申报或推荐, 尚未办结, 不能新增申报(一个经营主体同一时间只办理一件申报)"
    named = f"申报 #{case.pk}({case.get_state_display()}, 意向银行: {_banks_of(case)})"
    if open_declaration is not None:
        return f"{entity.name}已有进行中的{named}, 不能重复申报; 请在原申报上修改、补充或撤回后再申报"
    if waiting is not None:
        return f"{entity.name}的{named}已列入推荐清单, 待推送至银行, 不能新增申报"
    return (
        f"{entity.name}的{named}在{lead.bank.name}尚未作出授信决定({lead.get_state_display()}), 不能新增申报; "
        "银行作出决定后方可再申报(不予授信的, 经专班辅导后重新申报)"
    )


def case_in_progress(entity: MarketEntity, *, continuing: Declaration | None = None) -> Declaration | None:
    """The declaration of the entity's open case (the case `open_case` names), or None when a new
    declaration may be opened: the same three conditions, for a page that only asks whether
    (the enterprise's home: "申报融资需求" or its open case), without composing the message."""
    open_declaration, waiting, lead = _open_case_parts(entity, continuing)
    return open_declaration or waiting or (lead.declaration if lead else None)


def case_shown_open(declaration: Declaration, leads: Iterable[Recommendation]) -> bool:
    """Whether rows a page has already read show the entity's case open by `case_in_progress`'s
    rule: `declaration` (the entity's) open, or one of its `leads` not yet decided at a bank —
    the first and third of its conditions, met by the rows in hand. False says only that these
    rows do not show it: ask `case_in_progress` then (the enterprise's home: its case's
    declaration and leads are on the page; three statements fewer when they show it)."""
    if declaration.state in OPEN_DECLARATION_STATES:
        return True
    return any(lead.state in OPEN_RECOMMENDATION_STATES and lead.decided_at is None for lead in leads)


def _open_case_parts(
    entity: MarketEntity, continuing: Declaration | None
) -> tuple[Declaration | None, Declaration | None, Recommendation | None]:
    """`open_case`'s three conditions in its order — an open declaration, else one waiting in the
    推荐清单, else a lead undecided at a bank — each read only when the one before found none."""
    open_declaration = (
        Declaration.objects.filter(entity=entity, state__in=OPEN_DECLARATION_STATES).order_by("-created_at").first()
    )
    if open_declaration is not None:
        return open_declaration, None, None
    waiting = (
        Declaration.objects.filter(entity=entity, state=DeclarationState.RECOMMENDED, recommendations__isnull=True)
        .order_by("-created_at")
        .first()
    )
    if waiting is not None:
        return None, waiting, None
    undecided = Recommendation.objects.filter(
        entity=entity, state__in=OPEN_RECOMMENDATION_STATES, decided_at__isnull=True
    ).select_related("bank", "declaration")
    if continuing is not None:
        undecided = undecided.exclude(declaration_id__in=_case_of(continuing))
    return None, None, undecided.order_by("pushed_at", "pk").first()


def _case_of(declaration: Declaration) -> set[int]:
    """The declarations of one case: the first one and every 改推 that continues it."""
    root = declaration
    while root.redirected_from_id is not None:
        root = root.redirected_from.declaration
    ids, frontier = {root.pk}, [root.pk]
    while frontier:
        frontier = list(
            Declaration.objects.filter(redirected_from__declaration_id__in=frontier)
            .exclude(pk__in=ids)
            .values_list("pk", flat=True)
        )
        ids.update(frontier)
    return ids


def refuse_open_case(entity: MarketEntity, *, actor, field: str, continuing: Declaration | None = None) -> None:
    """`open_case` as a refusal: a conflict with the message as the error of `field` (the
    input that names the entity: a field error in the API, a row error in the import)."""
    problem = open_case(entity, actor=actor, continuing=continuing)
    if problem:
        raise ApplicationError(problem, field_errors={field: [problem]}, code="conflict")
