"""Reads of the entities app; every one is restricted to what the actor may see."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from entities import classification as cls
from entities import derive
from entities import renewals as renewal_policy
from entities.models import (
    ADVERSE_CREDIT_Q,
    CREDIT_FLAG_LABELS,
    CREDIT_FLAGS,
    BankRelationship,
    EntityChange,
    EntityImport,
    EntityType,
    Honor,
    HonorKind,
    HonorProposal,
    HonorProposalState,
    MarketEntity,
    RegisterStatus,
    Renewal,
    SizeClass,
    Tier,
    TierPolicy,
)
from entities.personal_data import MASKS, mask_phone
from entities.renewals import RenewalStatus
from entities.restrictions import bank_root_id, region_range_q
from entities.services import TRACKED
from portal import bounds
from portal.models import Organisation, OrganisationKind, Region, RegionLevel
from portal.tenancy import VIEW, restrict, scope_for

CREDIT_FILTERS = {
    "adverse": ("有不良信用记录", ADVERSE_CREDIT_Q),
    "clean": ("无不良信用记录", ~ADVERSE_CREDIT_Q),
    "dishonest_debtor": ("失信被执行人", Q(dishonest_debtor=True)),
    "joint_punishment": ("失信联合惩戒对象", Q(joint_punishment=True)),
    "consumption_restricted": ("限制高消费", Q(consumption_restricted=True)),
    "overdue": ("有逾期记录", Q(overdue_consecutive_24m__gt=0) | Q(overdue_total_24m__gt=0) | Q(overdue_12m__gt=0)),
    "major_bad_record": ("重大不良信用记录", Q(major_bad_record=True)),
    "pending_litigation": ("未决诉讼", Q(pending_litigation=True)),
}
LIST_COLUMNS = (
    "id",
    "uscc",
    "name",
    "entity_type",
    "register_status",
    "established_on",
    "region",
    "township",
    "industry",
    "annual_revenue",
    "employees",
    "social_insurance_headcount",
    "tier",
    "tier_imported",
    "tier_computed",
    "size_class",
    "operator_name",
    "operator_phone",
    "dishonest_debtor",
    "joint_punishment",
    "consumption_restricted",
    "overdue_consecutive_24m",
    "overdue_total_24m",
    "overdue_12m",
    "major_bad_record",
    "pending_litigation",
    "honors_imported",
    "data_shared_with_banks",
    "organisation",
)
_USCC_RE = re.compile(r"[0-9A-Z]{18}")
PAGE_SIZE = 50


@dataclass
class EntityFilters:
    """Search criteria of the entity list (page and API share them)."""

    q: str = ""
    region: str = ""  # a region code prefix: 2 (province), 4 (city) or 6 (county) digits
    township: str = ""
    entity_type: str = ""
    tier: str = ""
    honor: str = ""
    size_class: str = ""
    register_status: str = ""
    credit: str = ""
    revenue_min: int | None = None  # 元
    revenue_max: int | None = None
    tier_disagreement: bool = False

    @classmethod
    def from_params(cls, params: Mapping[str, Any], *, money_unit: int = 1) -> tuple[EntityFilters, dict[str, str]]:
        """Read query parameters; unknown values are reported, not silently widened.
        `money_unit` 10000 reads revenue bounds given in 万元 (the page), 1 in 元 (the API)."""
        errors: dict[str, str] = {}

        def choice(name: str, allowed) -> str:
            value = (params.get(name) or "").strip()
            if value and value not in allowed:
                errors[name] = "不是允许的值"
                return ""
            return value

        def money(name: str) -> int | None:
            value = (params.get(name) or "").strip()
            if not value:
                return None
            try:
                amount = bounds.to_decimal(
                    value, field=bounds.column(MarketEntity, "annual_revenue"), unit=money_unit, min_value=0
                )
            except bounds.OutOfBounds as exc:
                errors[name] = exc.message
                return None
            return int(amount * money_unit)

        region = (params.get("region") or "").strip()
        if region and not (region.isdigit() and len(region) in (2, 4, 6)):
            # a full 6-digit city/province code ("140500") is read as its prefix
            errors["region"] = "应为 2、4 或 6 位行政区划代码"
            region = ""
        region = _prefix_of(region)
        township = (params.get("township") or "").strip()
        if township and not township.isdigit():
            errors["township"] = "应为乡镇(街道)代码"
            township = ""
        filters = cls(
            q=(params.get("q") or "").strip()[:100],
            region=region,
            township=township,
            entity_type=choice("entity_type", EntityType.values),
            tier=choice("tier", Tier.values + ["none"]),
            honor=choice("honor", HonorKind.values + ["any"]),
            size_class=choice("size_class", SizeClass.values),
            register_status=choice("register_status", RegisterStatus.values),
            credit=choice("credit", CREDIT_FILTERS),
            revenue_min=money("revenue_min"),
            revenue_max=money("revenue_max"),
            tier_disagreement=(params.get("tier_disagreement") or "") in ("1", "true", "on"),
        )
        return filters, errors


def _prefix_of(code: str) -> str:
    if len(code) == 6 and code.endswith("0000"):
        return code[:2]
    if len(code) == 6 and code.endswith("00"):
        return code[:4]
    return code


def entity_search(
    *, user, filters: EntityFilters, as_of: dt.date | None = None, action: str = VIEW
) -> QuerySet[MarketEntity]:
    """Entities the user may see that match `filters`, newest first (order by -id: page with
    `entity_page`, never COUNT the whole result)."""
    as_of = as_of or timezone.localdate()
    qs = restrict(MarketEntity.objects.all(), user, action)
    if filters.township:
        qs = qs.filter(township_id=filters.township)
        township = Region.objects.filter(pk=filters.township).values_list("parent_id", flat=True).first()
        if township:
            qs = qs.filter(region_id=township)  # lets the region index serve the township filter
    if filters.region:
        qs = qs.filter(region_range_q(filters.region))
    if filters.q:
        code = filters.q.upper()
        # `contains` is `name::text LIKE '%…%'`, which the GIN trigram index entity_name_trgm
        # (migration 0004, PostgreSQL only) serves for 3 or more characters: the province's
        # million rows in ~3 ms instead of ~350 ms. A 1-2 character query has no trigram and
        # walks the region/id index like the other filters (fine in a county, slower
        # province-wide); SQLite (make run) simply scans.
        qs = qs.filter(uscc=code) if _USCC_RE.fullmatch(code) else qs.filter(name__contains=filters.q)
    if filters.entity_type:
        qs = qs.filter(entity_type=filters.entity_type)
    if filters.tier == "none":
        qs = qs.filter(tier__isnull=True)
    elif filters.tier:
        qs = qs.filter(tier=filters.tier)
    if filters.size_class:
        qs = qs.filter(size_class=filters.size_class)
    if filters.register_status:
        qs = qs.filter(register_status=filters.register_status)
    if filters.credit:
        qs = qs.filter(CREDIT_FILTERS[filters.credit][1])
    if filters.revenue_min is not None:
        qs = qs.filter(annual_revenue__gte=filters.revenue_min)
    if filters.revenue_max is not None:
        qs = qs.filter(annual_revenue__lte=filters.revenue_max)
    if filters.tier_disagreement:
        qs = qs.filter(tier_imported__isnull=False, tier_computed__isnull=False).exclude(
            tier_imported=F("tier_computed")
        )
    if filters.honor:
        valid = _valid_honors(as_of).filter(entity=OuterRef("pk"))
        if filters.honor != "any":
            valid = valid.filter(kind=filters.honor)
        qs = qs.filter(Exists(valid))
    return qs.order_by("-id")


@dataclass(frozen=True)
class EntityRow:
    """One line of the list, its labels resolved once (the template only prints)."""

    pk: int
    url: str
    name: str
    uscc: str
    entity_type: str
    register_status: str | None  # label, None when active
    place: str
    tier: str | None
    tier_label: str
    tier_disagrees: bool
    tier_estimate_label: str  # the platform's estimate, shown (as 预估) only where there is no mark
    size_label: str
    revenue_wan: str
    operator: str
    phone_masked: str
    adverse: bool
    honoured: bool


_TYPE_LABELS = dict(EntityType.choices)
_STATUS_LABELS = dict(RegisterStatus.choices)
_TIER_LABELS = dict(Tier.choices)
_SIZE_LABELS = dict(SizeClass.choices)


def list_rows(entities: list[MarketEntity], *, honoured: set[int] | None = None) -> list[EntityRow]:
    """`honoured`: ids of the entities with a 名特优新 valid today (from Honor rows, which the
    import and the 认定 page both write; without it, the register's last mark is used)."""
    url = reverse("entities:entity_detail", args=[0])[:-2]  # ".../0/" without "0/"
    rows = []
    for e in entities:
        rows.append(
            EntityRow(
                pk=e.pk,
                url=f"{url}{e.pk}/",
                name=e.name,
                uscc=e.uscc,
                entity_type=_TYPE_LABELS.get(e.entity_type, e.entity_type),
                register_status=None
                if e.register_status == RegisterStatus.ACTIVE
                else _STATUS_LABELS.get(e.register_status),
                place=e.region.name + (f"·{e.township.name}" if e.township_id else ""),
                tier=e.tier,
                tier_label=_TIER_LABELS.get(e.tier, "") if e.tier else "",
                tier_disagrees=bool(e.tier_imported and e.tier_computed and e.tier_imported != e.tier_computed),
                tier_estimate_label="" if e.tier else _TIER_LABELS.get(e.tier_computed, ""),
                size_label=_SIZE_LABELS.get(e.size_class, "—") if e.size_class else "—",
                revenue_wan="—" if e.annual_revenue is None else f"{e.annual_revenue / 10000:,.2f}",
                operator=e.operator_name or "—",
                phone_masked=mask_phone(e.operator_phone),
                adverse=e.has_adverse_credit,
                honoured=e.pk in honoured if honoured is not None else bool(e.honors_imported),
            )
        )
    return rows


@dataclass
class EntityPage:
    rows: list[EntityRow]
    next_after: int | None  # id to continue after, None on the last page
    after: int | None


def entity_page(queryset: QuerySet[MarketEntity], *, after: int | None, size: int = PAGE_SIZE) -> EntityPage:
    """One keyset page (id < after) of an id-descending queryset: one query, no COUNT."""
    if after is not None:
        queryset = queryset.filter(id__lt=after)
    rows = list(
        queryset.select_related("region", "township", "industry").only(
            *LIST_COLUMNS, "region__name", "township__name", "industry__name"
        )[: size + 1]
    )
    has_more = len(rows) > size
    rows = rows[:size]
    # one more query per page (not per row): which of these entities hold a valid honour today
    honoured = (
        set(
            _valid_honors(timezone.localdate())
            .filter(entity_id__in=[e.pk for e in rows])
            .values_list("entity_id", flat=True)
        )
        if rows
        else set()
    )
    return EntityPage(
        rows=list_rows(rows, honoured=honoured), next_after=rows[-1].pk if has_more else None, after=after
    )


def _valid_honors(as_of: dt.date) -> QuerySet[Honor]:
    return Honor.objects.filter(valid_until__gte=as_of).filter(Q(valid_from__isnull=True) | Q(valid_from__lte=as_of))


def entity_get(*, user, pk: int, action: str = VIEW) -> MarketEntity | None:
    return (
        restrict(MarketEntity.objects.select_related("region", "township", "industry", "organisation"), user, action)
        .filter(pk=pk)
        .first()
    )


def entity_of_enterprise(*, user) -> MarketEntity | None:
    scope = scope_for(user)
    if scope is None or not scope.is_enterprise:
        return None
    return restrict(MarketEntity.objects.all(), user, VIEW).order_by("id").first()


def entity_detail(*, user, entity: MarketEntity, as_of: dt.date | None = None) -> dict[str, Any]:
    """Everything the entity page shows besides the entity row itself: its profile
    (``entity_profile``) and what only that page shows (proposals, bank relationships, changes)."""
    return {
        **entity_profile(user=user, entity=entity, as_of=as_of),
        "honor_proposals": list(honor_proposals(user=user, entity=entity)[:20]),
        "bank_relationships": list(bank_relationship_list(user=user, entity_id=entity.pk)),
        "own_bank_id": bank_root_id(scope_for(user)),
        "may_record_renewal": renewal_policy.allowed(
            renewal_policy.RenewalAction.RECORD, getattr(scope_for(user), "role", None), None
        ),
        "changes": [
            _with_lines(c)
            for c in EntityChange.objects.filter(entity=entity)
            .select_related("actor", "entity_import")
            .order_by("-changed_at", "-id")[:50]
        ],
    }


def entity_profile(*, user, entity: MarketEntity, as_of: dt.date | None = None) -> dict[str, Any]:
    """The entity's facts as the entity page and a declaration's review page show them (the
    templates ``entities/_profile_*.html``): register facts (with the operating region), the
    三型 mark and the platform's estimate with their explanations, the enterprise size class,
    名特优新 with their validity on ``as_of``, the credit flags (each flag's latest record),
    repairs and history, and the yearly financials, newest first. ``entity`` is one the user
    may see (read through ``entity_get``)."""
    as_of = as_of or timezone.localdate()
    policies = [p.as_policy() for p in TierPolicy.objects.all()]
    policy = derive.policy_for(policies, entity.region_id, as_of)
    records = list(entity.credit_records.order_by("-observed_on", "-id"))
    latest = {}
    for record in records:
        latest.setdefault(record.flag, record)
    return {
        "tier_explanation": derive.tier_explanation(entity, policy),
        "size_explanation": derive.size_explanation(entity),
        "tier_disagreement": entity.tier_disagreement,
        "honors": entity_honors(user=user, entity=entity, as_of=as_of),
        "credit_records": records,
        "credit_latest": latest,
        "credit_flags": CREDIT_FLAGS,
        "credit_labels": CREDIT_FLAG_LABELS,
        "credit_repairs": list(entity.credit_repairs.select_related("recorded_by").order_by("-repaired_on", "-id")),
        "financial_years": list(entity.financial_years.order_by("-year")),
        "operating_region": Region.objects.filter(pk=entity.operating_region_code).first()
        if entity.operating_region_code
        else None,
    }


def bank_relationship_list(*, user, entity_id: int | None = None) -> QuerySet[BankRelationship]:
    """The bank relationships (借贷往来) the actor may read: a bank's own rows, an enterprise's
    own, the government's in its region."""
    queryset = restrict(BankRelationship.objects.select_related("bank", "entity", "updated_by"), user, VIEW)
    if entity_id is not None:
        queryset = queryset.filter(entity_id=entity_id)
    return queryset.order_by("entity_id", "bank_id")


def own_bank_relationship(*, user, entity: MarketEntity) -> BankRelationship | None:
    """The row the actor's own bank keeps for this entity (None: none yet, or not a bank user)."""
    root = bank_root_id(scope_for(user))
    if root is None:
        return None
    return bank_relationship_list(user=user, entity_id=entity.pk).filter(bank_id=root).first()


def entity_honors(*, user, entity: MarketEntity, as_of: dt.date | None = None) -> list[Honor]:
    """The entity's 名特优新, each marked `is_valid` on `as_of` (today): True, False, or None
    when its end date is unknown (cls.honor_validity, the engine's `unknown`)."""
    as_of = as_of or timezone.localdate()
    honors = list(restrict(Honor.objects.filter(entity=entity), user, VIEW).order_by("kind", "-valid_until"))
    for honor in honors:
        honor.is_valid = cls.honor_validity(honor.valid_until, as_of, honor.valid_from)
    return honors


def honor_proposals(*, user, state: str = "", entity: MarketEntity | None = None) -> QuerySet[HonorProposal]:
    """名特优新 proposals the actor may see (the government of the entity's region), newest
    first; `state` filters (pending: the province's queue)."""
    queryset = restrict(
        HonorProposal.objects.select_related(
            "entity", "entity__region", "honor", "proposed_by", "proposed_by_organisation", "decided_by"
        ),
        user,
        VIEW,
    )
    if state in HonorProposalState.values:
        queryset = queryset.filter(state=state)
    if entity is not None:
        queryset = queryset.filter(entity=entity)
    return queryset.order_by("-created_at", "-id")


def _with_lines(change: EntityChange) -> EntityChange:
    """Attach (Chinese label, before, after) lines, personal numbers masked."""
    labels = {
        **TRACKED,
        "region_code": TRACKED["region_id"],
        "industry_code": TRACKED["industry_id"],
        "township_code": TRACKED["township_id"],
        "honor": "名特优新认定",
        "tier_mark_note": "三型标记说明",
    }
    lines = []
    for name, (before, after) in (change.changes or {}).items():
        if name in MASKS:
            before, after = MASKS[name](before), MASKS[name](after)
        else:
            before, after = _shown(name, before), _shown(name, after)
        lines.append((labels.get(name, name), before, after))
    change.lines = lines
    return change


_CHOICE_LABELS = {f.attname: dict(f.flatchoices) for f in MarketEntity._meta.concrete_fields if f.choices}
_BOOLEAN_FIELDS = {f.attname for f in MarketEntity._meta.concrete_fields if f.get_internal_type() == "BooleanField"}


def _shown(name: str, value: Any) -> Any:
    """A stored value as the history shows it: choice labels (生存型, not "survival"), 是/否."""
    if value is None:
        return None
    if name in _CHOICE_LABELS:
        return _CHOICE_LABELS[name].get(value, value)
    if name in _BOOLEAN_FIELDS and isinstance(value, bool):
        return "是" if value else "否"
    return value


def region_choices(*, user) -> list[tuple[str, str]]:
    """(code prefix, label) of the cities and counties inside the user's region."""
    scope = scope_for(user)
    if scope is None:
        return []
    regions = Region.objects.filter(level__in=[RegionLevel.PROVINCE, RegionLevel.CITY, RegionLevel.COUNTY]).order_by(
        "code"
    )
    if not scope.is_platform_admin:
        if not scope.region_prefix:
            return []
        regions = regions.filter(region_range_q(scope.region_prefix, "code"))
    result = []
    for region in regions:
        indent = {"province": "", "city": "　", "county": "　　"}[region.level]
        result.append(
            (_prefix_of(region.code) if region.level != RegionLevel.COUNTY else region.code, f"{indent}{region.name}")
        )
    return result


def township_choices(*, region: str) -> list[tuple[str, str]]:
    if not region or len(region) != 6:
        return []
    return list(
        Region.objects.filter(parent_id=region, level=RegionLevel.TOWNSHIP).order_by("code").values_list("code", "name")
    )


def entity_import_list(*, user) -> QuerySet[EntityImport]:
    return (
        restrict(EntityImport.objects.select_related("uploaded_by", "organisation"), user, VIEW)
        .defer("content")
        .order_by("-created_at", "-id")
    )


def entity_import_get(*, user, pk: int) -> EntityImport | None:
    return entity_import_list(user=user).filter(pk=pk).first()


def entity_as_request(entity: MarketEntity, *, as_of: dt.date | None = None) -> dict[str, Any]:
    """The entity in the shape of the eligibility preview request (`eligibility-api.md`)."""
    honors = [
        {
            "kind": h.kind,
            "valid_from": h.valid_from and h.valid_from.isoformat(),
            "valid_until": h.valid_until and h.valid_until.isoformat(),
        }
        for h in entity.honors.all()
    ]

    def iso(value):
        return value.isoformat() if value else None

    return {
        "entity_type": entity.entity_type,
        "established_on": iso(entity.established_on),
        "region_code": entity.region_id,
        "industry_code": entity.industry_id,
        "tier": entity.tier,
        "tier_estimate": entity.tier_computed,
        "honors": honors,
        "annual_revenue": entity.annual_revenue,
        "net_assets": entity.net_assets,
        "total_assets": entity.total_assets,
        "employees": entity.employees,
        "social_insurance_headcount": entity.social_insurance_headcount,
        "tax_status": entity.tax_status,
        "has_tax_record": entity.has_tax_record,
        "register_status": entity.register_status,
        "size_class": entity.size_class,
        "legal_rep_changed_on": iso(entity.legal_rep_changed_on),
        "main_business_changed_on": iso(entity.main_business_changed_on),
        "operator": {
            "birth_date": iso(entity.operator_birth_date),
            "nationality": entity.operator_nationality,
            "local_residence": entity.operator_local_residence,
            "residence_region_code": entity.operator_residence_region_code,
            "industry_experience_months": entity.operator_industry_experience_months,
            "realisable_net_assets": entity.operator_realisable_net_assets,
        },
        "credit": {flag: getattr(entity, flag) for flag in CREDIT_FLAGS},
        "operating_region_code": entity.operating_region_code,
    }


# --- 无还本续贷: renewal needs ------------------------------------------------------------------

RENEWAL_WINDOWS = (30, 60, 90)  # 应续尽续: due in the next 30 / 60 / 90 days


def renewal_list(*, user, params: Mapping | None = None, today: dt.date | None = None) -> QuerySet[Renewal]:
    """The renewal needs the actor may read (a bank: its own customers'; the enterprise: its own;
    the government: its area's), filtered by `window` (30/60/90: open needs due by then,
    overdue ones included), `status`, `entity_id`. Unknown filter values are ignored."""
    params = params or {}
    queryset = restrict(Renewal.objects.select_related("entity", "bank", "recorded_by"), user, VIEW)
    today = today or timezone.localdate()
    window = str(params.get("window") or "")
    if window in {str(days) for days in RENEWAL_WINDOWS}:
        queryset = queryset.filter(
            status__in=renewal_policy.OPEN_STATES, due_date__lte=today + dt.timedelta(days=int(window))
        )
    status = params.get("status")
    if status in RenewalStatus.values:
        queryset = queryset.filter(status=status)
    entity_id = bounds.query_id(params.get("entity_id"))
    if entity_id is not None:
        queryset = queryset.filter(entity_id=entity_id)
    return queryset.order_by("due_date", "pk")


def renewal_window_counts(*, user, today: dt.date | None = None) -> dict[int, int]:
    """How many open needs fall due in each window (the tabs' counts)."""
    today = today or timezone.localdate()
    open_needs = restrict(Renewal.objects.all(), user, VIEW).filter(status__in=renewal_policy.OPEN_STATES)
    # every window in one statement (a filtered count each), not a statement per window
    counts = open_needs.aggregate(
        **{
            f"within_{days}": Count("pk", filter=Q(due_date__lte=today + dt.timedelta(days=days)))
            for days in RENEWAL_WINDOWS
        }
    )
    return {days: counts[f"within_{days}"] for days in RENEWAL_WINDOWS}


def renewal_banks(*, user) -> list[tuple[str, str]]:
    """The banks a need may be owed to (public bank codes and names), for the record form."""
    banks = restrict(Organisation.objects.filter(kind=OrganisationKind.BANK, parent__isnull=True), user, VIEW)
    return [(org.code.removeprefix("bank-"), org.name) for org in banks.order_by("name") if org.code]
