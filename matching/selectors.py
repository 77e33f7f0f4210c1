"""Reads of the workflow, each already restricted to what the actor may see. The review
queues are the workflow table's (matching/workflow.py): the states each role reviews or signs
off, without what a maker-checker rule keeps from the user (his own filings).

What a reviewer sees of each declaration before approving it — on its page, in the review
queue and in the API's queue (seed 004 三(五): "对照 5 项基本标准、征信报告和公共信用报告 …
三级审核"; 五(十二): "防范多头授信、过度授信") — is `review_briefs`: the five basic criteria and
their exception (matching/criteria.py), the verdicts of its intended banks' active products
for its own need (matching/verdicts.py, the one place that judges them), and its warnings
(多头授信, stale data)."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth import get_user_model
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Sum
from django.utils import timezone

from matching import criteria, workflow
from matching.models import (
    OPEN_RECOMMENDATION_STATES,
    Declaration,
    DeclarationState,
    LeadOrigin,
    Notification,
    Recommendation,
    RecommendationBatch,
    RecommendationState,
    Visit,
    WorkflowEvent,
)
from matching.verdicts import need_verdicts
from portal.models import Membership, Role
from portal.tenancy import VIEW, restrict
from products.eligibility import related_rows
from products.models import BankBranch
from products.selectors import branch_for

# the declaration states each reviewing role works on: the workflow table's review levels and
# sign-off (matching/workflow.py QUEUES)
QUEUE_STATES = {role: workflow.queue_states(role) for role in Role.values if workflow.queue_states(role)}

# a bank's inbox: one tab per state of the lead (its key, its label; 已放款 and 未提款 apart,
# issue 16); removed leads are not the bank's work any more
_R = RecommendationState
INBOX_TABS = {
    tab: (tab.label, states)
    for tab, states in (
        (_R.PUSHED, [_R.PUSHED]),
        (_R.CONTACTED, [_R.CONTACTED]),
        (_R.UNDER_REVIEW, [_R.UNDER_REVIEW]),
        (_R.APPROVED, [_R.APPROVED]),
        (_R.DISBURSED, [_R.DISBURSED]),
        (_R.NOT_DRAWN, [_R.NOT_DRAWN]),
        (_R.DECLINED, [_R.DECLINED]),
    )
}
UNASSIGNED = "none"  # the inbox's 客户经理 filter: leads not yet assigned
INBOX_FIRST_TAB = _R.PUSHED


def declaration_list(
    *, user, state: str | list | None = None, q: str | None = None, source: str | None = None, action: str = VIEW
) -> QuerySet[Declaration]:
    """The declarations ``user`` may see (or, ``action=EXPORT``, export: 申报清单's xlsx), filtered."""
    qs = restrict(Declaration.objects.select_related("entity", "region", "task_force"), user, action).prefetch_related(
        "intended_banks__bank"
    )
    if isinstance(state, (list, tuple)):
        qs = qs.filter(state__in=state)
    elif state:
        qs = qs.filter(state=state)
    if source:
        qs = qs.filter(source=source)
    if q:
        qs = qs.filter(Q(entity__name__icontains=q) | Q(entity__uscc=q.strip().upper()))
    return qs.order_by("-submitted_at", "-id")


def declaration_get(*, user, pk: int) -> Declaration | None:
    return (
        restrict(Declaration.objects.select_related("entity", "region", "task_force", "batch"), user)
        .prefetch_related("intended_banks__bank", "review_steps__actor", "materials")
        .filter(pk=pk)
        .first()
    )


def declaration_timeline(*, user, declaration: Declaration) -> QuerySet[WorkflowEvent]:
    return (
        restrict(WorkflowEvent.objects.filter(declaration=declaration), user)
        .select_related("actor", "recommendation__bank")
        .order_by("created_at", "id")
    )


def multi_credit_warnings(declarations) -> dict[int, list[str]]:
    """多头授信 (seed 004 五(十二) "防范多头授信、过度授信"): for each declaration, the entity's
    leads of other declarations still open at a bank — credit granted, or a recommendation in
    progress — one query for all."""
    declarations = list(declarations)
    found: dict[int, list[str]] = {d.pk: [] for d in declarations}
    by_entity: dict[int, list[Declaration]] = {}
    for d in declarations:
        by_entity.setdefault(d.entity_id, []).append(d)
    other_open = (
        Recommendation.objects.filter(entity_id__in=list(by_entity), state__in=OPEN_RECOMMENDATION_STATES)
        .select_related("bank")
        .order_by("pushed_at", "pk")
    )
    granted = (RecommendationState.APPROVED, RecommendationState.DISBURSED)
    for rec in other_open:
        what = "已获授信" if rec.state in granted else "已有在途推荐"
        for d in by_entity[rec.entity_id]:
            if rec.declaration_id != d.pk:
                found[d.pk].append(f"多头授信风险: 该主体在{rec.bank.name}{what}({rec.get_state_display()})")
    return found


def declaration_warnings(declaration: Declaration) -> list[str]:
    """What reviewers must see before approving: 多头授信, too many banks, stale data."""
    warnings = multi_credit_warnings([declaration])[declaration.pk]
    banks = declaration.intended_banks.count()
    if banks > 2:
        warnings.append(f"意向银行 {banks} 家, 超过 2 家的上限")
    entity = declaration.entity
    updated = getattr(entity, "updated_at", None)
    year = getattr(entity, "financial_year", None)
    if year and year < timezone.localdate().year - 1:
        warnings.append(f"财务数据为 {year} 年, 已超过一年, 请核实最新经营情况")
    elif updated and updated < timezone.now() - dt.timedelta(days=365):
        warnings.append(f"主体信息最近更新于 {timezone.localtime(updated):%Y-%m-%d}, 已超过一年")
    return warnings


def review_briefs(declarations) -> dict[int, dict]:
    """For each declaration (of a page of a queue): its five basic criteria and their exception
    (matching/criteria.py summary), the verdicts of its intended banks' products for its own
    need (matching/verdicts.py need_verdicts, the one evaluation the declaration's page also
    shows: bank, product, verdict, offer, the first reason it does not fit), and its warnings
    (多头授信: other leads of the entity open at a bank). Prefetch intended_banks__bank and the
    entity's related rows (``products.eligibility.related_rows("entity")``) on the
    declarations."""
    declarations = list(declarations)
    warnings = multi_credit_warnings(declarations)
    verdicts = need_verdicts(declarations)
    briefs = {}
    for declaration in declarations:
        rows = verdicts[declaration.pk]
        briefs[declaration.pk] = {
            "criteria": criteria.summary(declaration),
            "eligibility": [
                {
                    "bank": row.bank.name,
                    "bank_code": row.bank.code,
                    "product": row.product.name,
                    "product_code": row.product.code,
                    "verdict": row.verdict,
                    "verdict_label": row.verdict_label,
                    "max_amount": row.max_amount,
                    "reason": row.reason,
                }
                for row in rows
            ],
            "eligible_count": sum(1 for row in rows if row.verdict == "eligible"),
            "warnings": warnings[declaration.pk],
        }
    return briefs


def review_queue(*, user, role: str, q: str | None = None) -> QuerySet[Declaration]:
    """What waits for the user: the states his role reviews or signs off (the workflow table),
    without the declarations a maker-checker rule keeps from him (his own filings). Each row's
    review brief: `review_briefs`."""
    return (
        declaration_list(user=user, state=QUEUE_STATES.get(role, []), q=q)
        .filter(workflow.queue_q(user))
        # the entity's honours and bank relationships, for every row's evaluation at once
        .prefetch_related(*related_rows("entity"))
    )


def review_counts(*, user) -> dict[str, int]:
    counts = dict(
        restrict(Declaration.objects.all(), user)
        .filter(state__in=[state for state, _ in workflow.queue_counts_labels()])
        .values_list("state")
        .annotate(n=Count("id"))
    )
    return {state: counts.get(state, 0) for state in DeclarationState.values}


# A lead's row, in a list or on its page: the entity, its declaration and the branch are joined
# (the branch is also the join of a bank user's restriction); the small lookups are read in one
# query each. PostgreSQL plans every order of the joined relations with every index of each:
# with all seven joined, the inbox's query of 0.3 ms took 9 ms to plan (the ledger's, eleven
# relations, 13 ms; demo data, 2026-12-06); with these three, 0.6 ms.
LEAD_ROW_JOINS = ("entity", "declaration", "branch")
LEAD_ROW_LOOKUPS = ("region", "bank", "assigned_to", "decline_reason")


def lead_rows(queryset: QuerySet[Recommendation]) -> QuerySet[Recommendation]:
    """`queryset` with what a lead's row shows: LEAD_ROW_JOINS joined, LEAD_ROW_LOOKUPS prefetched."""
    return queryset.select_related(*LEAD_ROW_JOINS).prefetch_related(*LEAD_ROW_LOOKUPS)


def recommendation_list(
    *,
    user,
    tab: str | None = None,
    county: str | None = None,
    bank: str | None = None,
    q: str | None = None,
    min_amount: int | None = None,
    max_amount: int | None = None,
    state: str | None = None,
    product: str | None = None,
    manager: int | str | None = None,
    origin: str | None = None,
) -> QuerySet[Recommendation]:
    """`product`: a product code; `manager`: an account manager's id, or UNASSIGNED; `origin`:
    a LeadOrigin (pushed with the 推荐清单, or 直接申请)."""
    qs = restrict(lead_rows(Recommendation.objects.all()), user)
    if tab in INBOX_TABS:
        qs = qs.filter(state__in=INBOX_TABS[tab][1])
    if state:
        qs = qs.filter(state=state)
    if county:
        qs = qs.filter(region_id=county)
    if bank:
        qs = qs.filter(bank__code=bank)
    if product:
        qs = qs.filter(product_version__product__code=product)
    if origin in LeadOrigin.values:
        qs = qs.filter(origin=origin)
    if manager == UNASSIGNED:
        qs = qs.filter(assigned_to__isnull=True)
    elif manager:
        qs = qs.filter(assigned_to_id=manager)
    if q:
        qs = qs.filter(Q(entity__name__icontains=q) | Q(entity__uscc=q.strip().upper()))
    if min_amount is not None:
        qs = qs.filter(declaration__amount__gte=min_amount)
    if max_amount is not None:
        qs = qs.filter(declaration__amount__lte=max_amount)
    return qs.order_by("-pushed_at", "-id")


def declaration_leads(*, user, declaration_id: int) -> QuerySet[Recommendation]:
    """A declaration's leads as its enterprise's home lists them (bank, branch, state, materials,
    a decline's reason): one or two rows, with just what that line shows joined — not the lead
    list's row (lead_rows: its region, manager and three joins more, three statements more)."""
    return (
        restrict(Recommendation.objects.filter(declaration_id=declaration_id), user)
        .select_related("bank", "branch", "decline_reason")
        .order_by("-pushed_at", "-id")
    )


def inbox_counts(*, user) -> dict[str, int]:
    by_state = dict(restrict(Recommendation.objects.all(), user).values_list("state").annotate(n=Count("id")))
    return {tab: sum(by_state.get(s, 0) for s in states) for tab, (label, states) in INBOX_TABS.items()}


def recommendation_get(*, user, pk: int) -> Recommendation | None:
    return (
        restrict(lead_rows(Recommendation.objects.all()), user)
        .prefetch_related("disbursements", "coachings__actor")
        .filter(pk=pk)
        .first()
    )


def batch_list(*, user) -> QuerySet[RecommendationBatch]:
    return (
        restrict(RecommendationBatch.objects.select_related("region", "created_by", "pushed_by"), user)
        .annotate(
            declarations_count=Count("declarations", distinct=True),
            recommendations_count=Count("recommendations", distinct=True),
        )
        .order_by("-created_at")
    )


def _progress_counts(count) -> dict:
    return dict(
        total=count("id"),
        contacted=count("id", filter=~Q(state=RecommendationState.PUSHED)),
        approved=count(
            "id",
            filter=Q(
                state__in=[
                    RecommendationState.APPROVED,
                    RecommendationState.DISBURSED,
                    RecommendationState.NOT_DRAWN,
                ]
            ),
        ),
        declined=count("id", filter=Q(state=RecommendationState.DECLINED)),
        disbursed=count("id", filter=Q(state=RecommendationState.DISBURSED)),
    )


def batch_routes(batch: RecommendationBatch, declarations) -> dict[tuple[int, int], dict]:
    """(declaration id, bank id) → where each recommendation of a batch goes: once pushed, the
    branch its lead went to; before the push, the branch the push will route it to
    (``products.selectors.branch_for``, the push's own routing), or None when the bank has no
    serving branch for the declaration's county (the push would refuse it). Branches are
    looked up once per bank and county."""
    pushed = {(r.declaration_id, r.bank_id): r.branch for r in batch.recommendations.select_related("branch")}
    found: dict[tuple[str, int], BankBranch | None] = {}
    routes = {}
    for declaration in declarations:
        for intended in declaration.intended_banks.all():
            key = (declaration.pk, intended.bank_id)
            if key in pushed:
                routes[key] = {"bank": intended.bank, "branch": pushed[key], "pushed": True}
                continue
            county = (declaration.region_id, intended.bank_id)
            if county not in found:
                found[county] = branch_for(bank=intended.bank, county_code=declaration.region_id)
            routes[key] = {"bank": intended.bank, "branch": found[county], "pushed": False}
    return routes


def batch_progress(batch: RecommendationBatch) -> list[dict]:
    """Per-bank progress of a pushed batch (an entity pushed to two banks is in both rows)."""
    rows = batch.recommendations.values("bank__name").annotate(**_progress_counts(Count)).order_by("bank__name")
    return list(rows)


def batch_progress_total(batch: RecommendationBatch) -> dict:
    """The 合计 of a batch's progress, in 户: each entity once (in a state if one of its
    recommendations is), so it is not the sum of the banks' rows; and its need once."""

    def entities(_, **kwargs):
        return Count("entity_id", distinct=True, **kwargs)

    totals = batch.recommendations.aggregate(**_progress_counts(entities))
    totals["need_amount"] = batch.declarations.aggregate(n=Sum("amount"))["n"] or 0
    return totals


def declines_awaiting_coaching(*, user) -> QuerySet[Recommendation]:
    """Declined leads no one has coached yet, newest first, as the task force's home lists them
    (entity, bank, the decline's reason and advice): just those joined — not the lead list's
    row (lead_rows: its declaration, branch, region and manager, four statements more)."""
    return (
        restrict(
            Recommendation.objects.filter(state=RecommendationState.DECLINED, coachings__isnull=True),
            user,
        )
        .select_related("entity", "bank", "decline_reason")
        .order_by("-pushed_at", "-id")
    )


def visit_list(*, user) -> QuerySet[Visit]:
    return restrict(Visit.objects.select_related("entity", "recorded_by"), user).order_by("-visited_on", "-id")


def account_managers(*, user) -> QuerySet:
    """The account managers the user may assign leads to: active users holding the account-
    manager role in an organisation the user's restriction covers (a bank administrator: his
    branch and those below it). The inbox offers exactly these, and recommendations_assign
    accepts exactly these."""
    roles = restrict(Membership.objects.filter(role=Role.ACCOUNT_MANAGER, user_id=OuterRef("pk")), user)
    return (
        restrict(get_user_model().objects.filter(Exists(roles), is_active=True), user).distinct().order_by("username")
    )


def notification_list(*, user, unread_only: bool = False) -> QuerySet[Notification]:
    """The user's own inbox — a personal list for every role, a platform administrator's too
    (restrict() would let him see everyone's)."""
    qs = restrict(Notification.objects.filter(recipient_id=getattr(user, "pk", None)), user)
    if unread_only:
        qs = qs.filter(read_at__isnull=True)
    return qs.order_by("-created_at", "-id")


def notification_unread_count(*, user) -> int:
    """The unread count of the user's inbox: the 通知 badge of every page and the API's."""
    if user is None or not user.is_authenticated:
        return 0
    return notification_list(user=user, unread_only=True).order_by().count()


def open_declaration_of(*, user, entity_id: int) -> Declaration | None:
    return (
        restrict(Declaration.objects.filter(entity_id=entity_id), user)
        .exclude(state__in=[DeclarationState.REJECTED, DeclarationState.WITHDRAWN])
        .order_by("-created_at")
        .first()
    )
