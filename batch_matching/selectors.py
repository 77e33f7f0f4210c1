"""Reads of stored results, each restricted to what the actor may see (``restrict``).

- ``entity_matches``: an enterprise's matching products, the best fit first, with the reasons
  (为什么 / 还差什么) from a live evaluation of those products (home page), and the products
  it is 信息不全 for (not stored: evaluated live, ``_unstored_rows``);
- ``potential_customers`` / ``potential_counts``: a bank branch's 潜在客户, a page of 50 sorted
  by offer for a product (one county, or the branch's counties merged), and the counts per
  product and per county;
- ``near_misses``: entities ineligible only on rules time or a fix can cure, with what is
  missing ("经营未满 2 年, 还差 3 个月", "登记状态经营异常: 可申请信用修复"), for coaching;
- ``awaiting_mark``: entities with only the portal's 三型 estimate, 信息不全 for products that
  need the regulator's mark: worth asking the city or provincial regulator to mark (待标记三型;
  evaluated live, a page at a time);
- ``stored_results``: the stored results of one entity for given products (matching.verdicts
  sets them beside a declaration's verdicts for its own need, which it alone evaluates).

Every read of results names the provinces it reads (``_in_force``): a county's or a region's
page its own province, an entity's page the entity's province (from its region code), an
actor with no region (a platform administrator) every province. Each province's rows are
read in the generation in force there, so the planner keeps only those provinces' tables
(``batch_matching.schema``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

from django.db import connection
from django.db.models import F, Q, QuerySet, Subquery
from django.utils import timezone
from django.utils.dateformat import format as date_format

from batch_matching.models import (
    MatchingRun,
    MatchingState,
    MatchResult,
    ProvinceGeneration,
    ResultCount,
    RunKind,
    RunProduct,
    UnstoredEntity,
    Verdict,
)
from batch_matching.plan import (
    ELIGIBLE,
    FIX_HINTS,
    FIXES,
    INCOMPLETE,
    cap_keys,
    county_code,
    decode_cap,
    decode_reasons,
    reason_ids,
)
from batch_matching.restrictions import BranchScope, branch_scope, branch_scope_of, county_q
from batch_matching.rows import active_versions, entity_rows
from batch_matching.schema import province_of, province_range
from eligibility.caps import ENTITY_DATA_CAPS, REQUESTED_AMOUNT, cap_key
from eligibility.evaluate import evaluate_product
from eligibility.fields import FIELDS
from eligibility.rules import fields_used, iter_leaves, leaf_id
from entities.models import EntityType, MarketEntity, Tier
from entities.personal_data import masked
from entities.restrictions import region_range_q
from portal import bounds
from portal.models import Region, RegionLevel
from portal.tenancy import EXPORT, VIEW, restrict, scope_for
from products.eligibility import carries_related_rows, entity_facts, related_rows
from products.models import LoanProduct, LoanProductVersion, ProductStatus
from products.presentation import fit_key, offer_text

PAGE_SIZE = 50
EXPORT_LIMIT = 10_000
_CAP_LABELS = {
    "product_cap": "产品最高额度",
    "honor_cap": "名特优新额度",
    "tier_cap": "分型额度上限",
    "revenue_share": "营业收入比例",
    "net_assets_share": "净资产比例",
    "bank_decides": "银行审批额度",
    "requested_amount": "申请金额",
}


def _pointer(province: int):
    return Subquery(ProvinceGeneration.objects.filter(province=province).values("generation")[:1])


def _in_force(provinces: Iterable[int] | None = None) -> Q:
    """The rows in force in these provinces (all with results for None): each province's
    county range with its generation, the generation as a subquery. A reader filters on it in
    the statement that reads the results, so the generation and its rows come from one
    snapshot. Never a number remembered from an earlier read: the swap moves the pointer and
    drops the previous generation at once, so a remembered number reads a dropped generation
    (no rows: empty pages, every product "不符合") until it is forgotten. The county ranges
    are constants: the planner prunes the other provinces' tables."""
    if provinces is None:
        provinces = ProvinceGeneration.objects.values_list("province", flat=True)
    combined = Q(generation__in=[])
    for province in sorted(set(provinces)):
        lo, hi = province_range(province)
        combined |= Q(county__gte=lo, county__lt=hi, generation=_pointer(province))
    return combined


def provinces_of(prefixes: Iterable[str | None]) -> list[int] | None:
    """The provinces of region code prefixes ("14", "1405", "140525"); None (every province)
    when one is shorter than a province's code."""
    found = set()
    for prefix in prefixes:
        if not prefix or len(prefix) < 2 or not prefix[:2].isdigit():
            return None
        found.add(int(prefix[:2]))
    return sorted(found)


def _entity_province(region_code: str | None) -> list[int]:
    """An entity's province, from its region code (00 without a county code)."""
    return [province_of(county_code(region_code))]


def current_generation(province: int | None = None) -> int | None:
    """The generation in force now in a province; without one, the generation swapped in last
    anywhere (read at each call; see ``_in_force``)."""
    if province is not None:
        return ProvinceGeneration.objects.filter(province=province).values_list("generation", flat=True).first()
    return MatchingState.objects.filter(pk=1).values_list("generation", flat=True).first()


def entity_generation(region_code: str | None) -> int | None:
    """The generation in force in the province of an entity of `region_code` (the caller's
    entity, already resolved for it; None: no full run has matched that province yet, so a
    missing row is not a stored "不符合")."""
    return current_generation(province=_entity_province(region_code)[0])


def last_full_run(user=None) -> MatchingRun | None:
    """The full run swapped in last (its date and time, for "截至 …")."""
    return MatchingRun.objects.filter(
        kind=RunKind.FULL, generation=Subquery(MatchingState.objects.filter(pk=1).values("generation")[:1])
    ).first()


# --- decoding --------------------------------------------------------------------------------


_VERSIONS: dict[int, LoanProductVersion] = {}


def _versions(ids: Sequence[int]) -> dict[int, LoanProductVersion]:
    missing = [pk for pk in set(ids) if pk not in _VERSIONS]
    if missing:
        if len(_VERSIONS) > 1000:
            _VERSIONS.clear()
        for version in LoanProductVersion.objects.select_related("product__bank").filter(pk__in=missing):
            _VERSIONS[version.pk] = version
    return {pk: _VERSIONS[pk] for pk in ids if pk in _VERSIONS}


# what a (immutable) version's definition gives, computed once per version and process: the
# rows of a page decode many results of few versions
_PER_VERSION: dict[str, dict[int, object]] = {"labels": {}, "reason_ids": {}, "rule_fields": {}, "cap_keys": {}}


def _per_version(kind: str, version: LoanProductVersion, compute):
    cache = _PER_VERSION[kind]
    if version.pk not in cache:
        if len(cache) > 2000:
            cache.clear()
        cache[version.pk] = compute(version.definition)
    return cache[version.pk]


def version_labels(version: LoanProductVersion) -> dict[str, str]:
    """``rule_labels`` of a version."""
    return _per_version("labels", version, rule_labels)


def version_reason_ids(version: LoanProductVersion) -> list[str]:
    """``reason_ids`` of a version: the order its stored masks use."""
    return _per_version("reason_ids", version, reason_ids)


def version_rule_fields(version: LoanProductVersion) -> dict[str, str]:
    """rule id → the field it reads, of a version's rules."""
    return _per_version(
        "rule_fields",
        version,
        lambda definition: {leaf_id(leaf): leaf["field"] for leaf in iter_leaves(definition["rules"])},
    )


def version_cap_keys(version: LoanProductVersion) -> list[str]:
    """``cap_keys`` of a version: the order its stored binding caps use."""
    return _per_version("cap_keys", version, cap_keys)


def rule_labels(definition: dict) -> dict[str, str]:
    """Chinese names of a definition's reason ids (a rule's label, else its field's)."""
    return _rule_labels(definition)


def _rule_labels(definition: dict) -> dict[str, str]:
    labels: dict[str, str] = {}
    for leaf in iter_leaves(definition["rules"]):
        labels.setdefault(leaf_id(leaf), leaf.get("label") or FIELDS[leaf["field"]].label)
    stack = [definition["rules"]]
    while stack:
        node = stack.pop()
        if "switch" in node:
            labels.setdefault(node.get("id") or node["switch"], node.get("label") or FIELDS[node["switch"]].label)
            stack.extend(node["cases"].values())
        for kind in ("all", "any"):
            stack.extend(node.get(kind, []))
        if "not" in node:
            stack.append(node["not"])
    for cap in definition.get("caps", []):
        labels.setdefault(cap_key(cap), cap.get("label") or _CAP_LABELS.get(cap["kind"], cap["kind"]))
    return labels


@dataclass
class StoredResult:
    """One stored row, decoded against its product version."""

    entity_id: int
    product: LoanProduct
    version: LoanProductVersion
    verdict: int
    max_amount: int | None
    binding_cap: str | None
    failed: list[str]
    unknown: list[str]
    near_miss: bool
    county: int
    labels: dict[str, str] = field(default_factory=dict)
    reasons: list[dict] = field(default_factory=list)  # live, when asked for
    offer_basis: str | None = None  # eligibility.caps.offer_basis (live, when asked for)

    @property
    def verdict_label(self) -> str:
        if self.near_miss:
            return "差一点符合"
        return Verdict(self.verdict).label

    @property
    def failed_labels(self) -> list[str]:
        return [self.labels.get(r, r) for r in self.failed]

    @property
    def unknown_labels(self) -> list[str]:
        return [self.labels.get(r, r) for r in self.unknown]

    @property
    def binding_label(self) -> str:
        return self.labels.get(self.binding_cap, self.binding_cap or "")

    @property
    def offer_text(self) -> str:
        return offer_text(self.max_amount, self.offer_basis)

    # the keys the home page template already reads
    @property
    def name(self) -> str:
        return self.product.name

    @property
    def bank(self) -> str:
        return self.product.bank.name


def _decode(rows: Sequence[dict]) -> list[StoredResult]:
    versions = _versions([row["version_id"] for row in rows])
    decoded = []
    for row in rows:
        version = versions.get(row["version_id"])
        if version is None:
            continue
        definition = version.definition
        ids = version_reason_ids(version)
        decoded.append(
            StoredResult(
                entity_id=row["entity_id"],
                product=version.product,
                version=version,
                verdict=row["verdict"],
                max_amount=row["max_amount"],
                binding_cap=decode_cap(definition, row["binding_cap"], keys=version_cap_keys(version)),
                failed=decode_reasons(row["failed_mask"], ids),
                unknown=decode_reasons(row["unknown_mask"], ids),
                near_miss=row["near_miss"],
                county=row["county"],
                labels=version_labels(version),
            )
        )
    return decoded


_FIELDS = (
    "entity_id",
    "product_id",
    "version_id",
    "verdict",
    "max_amount",
    "binding_cap",
    "failed_mask",
    "unknown_mask",
    "near_miss",
    "county",
)


def results(*, user, action: str = VIEW, provinces: Iterable[int] | None = None) -> QuerySet[MatchResult]:
    """Stored results in force (in these provinces; all for None) the actor may see."""
    return restrict(MatchResult.objects.filter(_in_force(provinces)), user, action)


def _unstored_rows(entities: Iterable[MarketEntity], versions, as_of: dt.date) -> list[dict]:
    """The 信息不全 pairs of these entities (honours prefetched) for these versions, evaluated
    now by the engine that computes the stored rows (``rows.entity_rows``), as rows of
    ``_FIELDS``: they are not stored (``plan``)."""
    return [
        {name: getattr(row, name) for name in _FIELDS}
        for entity in entities
        for row in entity_rows(entity, versions, as_of=as_of, with_incomplete=True)
        if row.verdict == INCOMPLETE
    ]


def _active_product_ids() -> list[int]:
    return list(LoanProduct.objects.filter(status=ProductStatus.ACTIVE).values_list("id", flat=True))


class _EntityFacts(dict):
    """An entity's facts on a day (``entity_facts``), with ``key``: the text of all their values,
    which names them for the memo of live evaluations."""

    __slots__ = ("key",)

    def __init__(self, facts: dict):
        super().__init__(facts)
        self.key = repr(sorted(facts.items()))


def _facts(entity, as_of: dt.date) -> _EntityFacts:
    """The engine's facts of an entity, read once for all of its products."""
    return _EntityFacts(entity_facts(entity, as_of))


# The live reasons of a (version, facts) pair, per process. An evaluation is a pure function of
# the version's definition (a version never changes) and of the facts (the entity's values on
# the day, the key holding every one of them): the regulators of a county open the same first
# near misses on 差一点符合 and on their homes many times a day, and each pair's evaluation was
# most of those pages' own work. An entity edited, or the next day, gives other facts and so a
# new key; equal keys are equal facts. Bounded like the per-version caches (cleared when full).
_LIVE_REASONS: dict[tuple, tuple[dict, ...]] = {}
_LIVE_REASONS_MAX = 8192


def _live_reasons(facts: dict, result: StoredResult, *, failed_only: bool = False) -> list[dict]:
    """The live evaluation's reasons (rule, outcome, message) of a stored result's version, as
    the preview gives them (the same facts and evaluation, without building a whole result).
    ``failed_only``: only the failed reasons have their messages (``evaluate.trace_rules``).
    Facts read by ``_facts`` are evaluated once per version in the process (``_LIVE_REASONS``)."""
    key = getattr(facts, "key", None)
    if key is None:
        return _evaluated_reasons(facts, result, failed_only)
    memo = (result.version.pk, failed_only, key)
    reasons = _LIVE_REASONS.get(memo)
    if reasons is None:
        if len(_LIVE_REASONS) >= _LIVE_REASONS_MAX:
            _LIVE_REASONS.clear()
        reasons = _LIVE_REASONS[memo] = tuple(_evaluated_reasons(facts, result, failed_only))
    return [dict(reason) for reason in reasons]


def _evaluated_reasons(facts: dict, result: StoredResult, failed_only: bool) -> list[dict]:
    evaluation = evaluate_product(result.version.definition, facts, failed_only=failed_only)
    return [reason.as_dict() for reason in evaluation.reasons]


# --- the enterprise home ---------------------------------------------------------------------


def _stored_basis(match: StoredResult) -> str | None:
    """The offer's basis from the stored binding cap alone (without a live evaluation)."""
    if match.max_amount is None or match.binding_cap is None:
        return None
    kinds = {cap_key(cap): cap["kind"] for cap in match.version.definition.get("caps", [])}
    kind = kinds.get(match.binding_cap, match.binding_cap)
    if kind in ENTITY_DATA_CAPS:
        return "entity_data"
    return "requested" if kind == REQUESTED_AMOUNT else "product_max"


def entity_matches(
    *, user, entity: MarketEntity, with_reasons: bool = True, include_incomplete: bool = True, limit: int | None = None
) -> list[StoredResult]:
    """The products an entity qualifies for, the best fit first: eligible before incomplete,
    then an offer computed from the entity's own data (tier, revenue, assets) before a product's
    bare maximum (a snack shop does not see 兴旺贷's 1,000 万 first), then the amount. With
    reasons: ``result.reasons`` are the live evaluation's reasons (rule, outcome, message) and
    ``offer_basis`` the live evaluation's (products.presentation.offer_text). The eligible ones
    are the stored results; the incomplete ones, not stored, the live evaluation's of the other
    active products, once a full run has matched the entity's province (as the stored ones),
    for an actor ``UnstoredEntity``'s restriction lets see them."""
    province = _entity_province(entity.region_id)
    active = _active_product_ids()
    queryset = (
        results(user=user, provinces=province)
        .filter(entity_id=entity.pk, verdict=ELIGIBLE, product_id__in=active)
        .order_by(F("max_amount").desc(nulls_last=True), "product_id")
    )
    # an entity has a row per product at most: order them all by fit, then cut
    matches = _decode(list(queryset.values(*_FIELDS)))
    if include_incomplete and current_generation(province[0]) is not None:
        seen = restrict(UnstoredEntity.objects.filter(pk=entity.pk), user).prefetch_related(*related_rows()).first()
        if seen is not None:
            others = [pk for pk in active if pk not in {m.product.pk for m in matches}]
            versions = active_versions(others) if others else []
            matches += _decode(_unstored_rows([seen], versions, timezone.localdate()))
    if with_reasons and matches:
        if not carries_related_rows(entity):  # the caller's entity read without them: read them
            entity = MarketEntity.objects.prefetch_related(*related_rows()).get(pk=entity.pk)
        facts = _facts(entity, timezone.localdate())
        for match in matches:
            evaluation = evaluate_product(match.version.definition, facts)
            match.reasons = [reason.as_dict() for reason in evaluation.reasons]
            match.offer_basis = evaluation.offer_basis if evaluation.max_amount == match.max_amount else None
            if match.offer_basis is None:
                match.offer_basis = _stored_basis(match)
    else:
        for match in matches:
            match.offer_basis = _stored_basis(match)
    verdict_names = {ELIGIBLE: "eligible", INCOMPLETE: "incomplete"}
    matches.sort(key=lambda m: fit_key(verdict_names[m.verdict], m.offer_basis, m.max_amount))
    return matches[:limit] if limit else matches


# --- 潜在客户 ----------------------------------------------------------------------------------


@dataclass
class LeadScope:
    """Whose potential customers: a branch (a bank user's own; any, for an administrator)."""

    branch: BranchScope
    scope: BranchScope
    products: list[LoanProduct]
    counties: list[Region]


_COUNTIES: list[Region] = []


def _counties() -> list[Region]:
    """The county-level regions (reference data), read once per process."""
    if not _COUNTIES:
        _COUNTIES.extend(Region.objects.filter(level=RegionLevel.COUNTY).order_by("code"))
    return _COUNTIES


def lead_scope(*, user, branch_id: int | None = None) -> LeadScope | None:
    scope = scope_for(user)
    if scope is None:
        return None
    if scope.is_platform_admin and branch_id:
        own = branch_scope_of(branch_id=branch_id)
    else:
        own = branch_scope(scope)
    if own is None:
        return None
    counties = [c for c in _counties() if any(c.code.startswith(prefix) for prefix in own.prefixes)]
    products = list(LoanProduct.objects.filter(pk__in=own.product_ids, status=ProductStatus.ACTIVE).order_by("code"))
    return LeadScope(own, own, products, counties)


def _leads(
    *,
    user,
    scope: LeadScope,
    action: str = VIEW,
    base: QuerySet[MatchResult] | None = None,
    provinces: Iterable[int] | None = None,
) -> QuerySet[MatchResult]:
    return (results(user=user, action=action, provinces=provinces) if base is None else base).filter(
        Q(product_id__in=[p.pk for p in scope.products]), verdict=ELIGIBLE, shared=True
    )


def potential_counts(*, user, scope: LeadScope, product_id: int | None = None) -> dict[str, Any]:
    """Eligible, shared entities per product, and per county for ``product_id``: one read of
    the counts table (a few rows per product and county), no scan of the results."""
    base = restrict(ResultCount.objects.filter(_in_force(provinces_of(scope.scope.prefixes))), user)
    area = scope.scope.county_q()
    base = base.filter(area) if area is not None else base.none()
    per_product: dict[int, int] = {}
    per_county: dict[str, int] = {}  # by region code (text)
    rows = base.filter(product_id__in=[p.pk for p in scope.products]).values_list(
        "product_id", "county", "eligible_shared"
    )
    for pid, county, n in rows:
        per_product[pid] = per_product.get(pid, 0) + n
        if pid == product_id:
            per_county[str(county)] = per_county.get(str(county), 0) + n
    return {"per_product": per_product, "per_county": per_county}


def _cursor_q(after: tuple[int | None, int] | None) -> Q:
    """Rows after (offer, entity) in the order offer DESC NULLS LAST, entity."""
    if after is None:
        return Q()
    amount, entity_id = after
    if amount is None:
        return Q(max_amount__isnull=True, entity_id__gt=entity_id)
    return Q(max_amount__lt=amount) | Q(max_amount=amount, entity_id__gt=entity_id) | Q(max_amount__isnull=True)


@dataclass
class LeadPage:
    rows: list[dict]
    next_after: str | None


def potential_customers(
    *,
    user,
    scope: LeadScope,
    product_id: int,
    county: str | None = None,
    min_amount: int | None = None,
    after: tuple[int | None, int] | None = None,
    limit: int = PAGE_SIZE,
    action: str = VIEW,
    base: QuerySet[MatchResult] | None = None,
) -> LeadPage:
    """A page of a product's potential customers, highest offer first (from `base`, the
    actor's restricted results, when given). With a county, one
    range of the 潜在客户 index; without, each county of the branch's area is such a range
    and the page is their merge (never a sort of the whole area)."""
    counties = [county_code(county)] if county else [county_code(c.code) for c in scope.counties]
    if not counties:
        return LeadPage([], None)
    provinces = sorted({province_of(code) for code in counties})
    base = _leads(user=user, scope=scope, action=action, base=base, provinces=provinces).filter(product_id=product_id)
    if min_amount:
        base = base.filter(max_amount__gte=min_amount)
    base = base.filter(_cursor_q(after))
    order = (F("max_amount").desc(nulls_last=True), "entity_id")
    columns = ("entity_id", "max_amount", "binding_cap", "version_id", "county")
    if len(counties) == 1:
        rows = list(base.filter(county=counties[0]).order_by(*order).values(*columns)[: limit + 1])
    elif connection.vendor != "postgresql":  # the embedded demo: few rows, one sort
        rows = list(base.filter(county__in=counties).order_by(*order).values(*columns)[: limit + 1])
    else:
        parts = [base.filter(county=code).order_by(*order).values(*columns)[: limit + 1] for code in counties]
        merged = parts[0].union(*parts[1:], all=True)
        rows = sorted(merged, key=lambda r: (r["max_amount"] is None, -(r["max_amount"] or 0), r["entity_id"]))[
            : limit + 1
        ]
    more = len(rows) > limit
    rows = rows[:limit]
    return LeadPage(_lead_rows(rows), _cursor(rows[-1]) if more and rows else None)


def _cursor(row: dict) -> str:
    return f"{'' if row['max_amount'] is None else row['max_amount']}.{row['entity_id']}"


def parse_cursor(text: str | None) -> tuple[int | None, int] | None:
    if not text or "." not in text:
        return None
    amount, _, entity = text.partition(".")
    try:
        return (
            bounds.to_int(amount, field=bounds.column(MatchResult, "max_amount")) if amount else None
        ), bounds.to_id(entity)
    except bounds.OutOfBounds:
        return None


_COUNTY_NAMES: dict[str, str] = {}


def _county_name(code: str) -> str:
    if code not in _COUNTY_NAMES:
        _COUNTY_NAMES.update(Region.objects.filter(level=RegionLevel.COUNTY).values_list("code", "name"))
    return _COUNTY_NAMES.get(code, code)


def _lead_rows(rows: Sequence[dict]) -> list[dict]:
    """The page's rows with what it shows already formatted (50 rows × 9 cells)."""
    entities = MarketEntity.objects.only(
        "id",
        "name",
        "uscc",
        "entity_type",
        "tier",
        "tier_computed",
        "established_on",
        "operator_name",
        "operator_phone",
        "region_id",
    ).in_bulk([r["entity_id"] for r in rows])
    versions = _versions([r["version_id"] for r in rows])
    types, tiers = dict(EntityType.choices), dict(Tier.choices)
    out = []
    for r in rows:
        entity = entities.get(r["entity_id"])
        version = versions.get(r["version_id"])
        if entity is None or version is None:
            continue
        binding = decode_cap(version.definition, r["binding_cap"])
        amount = r["max_amount"]
        out.append(
            {
                "entity": entity,
                "max_amount": amount,
                "county": _county_name(str(r["county"])),
                "amount_wan": f"{amount / 10_000:.2f}" if amount is not None else "",
                "binding_label": version_labels(version).get(binding, "") if binding else "",
                "entity_type": types.get(entity.entity_type, ""),
                # the 名录库 mark; without one, the platform's estimate, labelled as such
                "tier": tiers[entity.tier]
                if entity.tier in tiers
                else (f"{tiers[entity.tier_computed]}(预估)" if entity.tier_computed in tiers else "—"),
                "established": entity.established_on.isoformat() if entity.established_on else "",
                "phone": masked("operator_phone", entity.operator_phone),
                "product": version.product,
            }
        )
    return out


def potential_export_rows(
    *, user, scope: LeadScope | None, product_id: int | None, county: str | None = None, min_amount: int | None = None
) -> list[dict]:
    """The rows of the 潜在客户 export (at most EXPORT_LIMIT), through restrict(MatchResult,
    EXPORT); none for an actor without a branch or a product."""
    exportable = results(user=user, action=EXPORT)
    if scope is None or product_id is None:
        return []
    rows: list[dict] = []
    after = None
    while len(rows) < EXPORT_LIMIT:
        page = potential_customers(
            user=user,
            scope=scope,
            product_id=product_id,
            county=county,
            min_amount=min_amount,
            after=after,
            limit=1000,
            base=exportable,
        )
        rows.extend(page.rows)
        if not page.next_after:
            break
        after = parse_cursor(page.next_after)
    return rows[:EXPORT_LIMIT]


# --- near misses -----------------------------------------------------------------------------


def _cures(entity: MarketEntity, result: StoredResult, facts: dict) -> list[str]:
    """What would make the entity eligible: the failed reasons' messages (time-cured ones say
    how long is left), a fix's hint where a fix cures."""
    fields_by_rule = version_rule_fields(result.version)
    cures = []
    for reason in _live_reasons(facts, result, failed_only=True):
        if reason["outcome"] != "fail":
            continue
        field_key = fields_by_rule.get(reason["rule"])
        value = getattr(entity, FIELDS[field_key].sql, None) if field_key in FIXES else None
        cures.append(FIX_HINTS.get((field_key, value)) or reason["message"])
    return cures or ["按当前信息已符合条件"]


def _region_provinces(user, county: str | None) -> list[int] | None:
    """The provinces a region page reads: the county filter's, else the actor's region's."""
    if county and county.isdigit() and 2 <= len(county) <= 6:
        return provinces_of([county])
    scope = scope_for(user)
    return provinces_of([scope.region_prefix]) if scope is not None and scope.is_government else None


def near_miss_counties(*, user) -> list[Region]:
    """The counties of the actor's region (the near-miss page's filter)."""
    scope = scope_for(user)
    if scope is None or not scope.is_government:
        return []
    prefix = scope.region_prefix or ""
    return [c for c in _counties() if c.code.startswith(prefix)]


def near_misses(
    *, user, product_id: int | None = None, county: str | None = None, after: tuple | None = None, limit: int = 20
) -> tuple[list[dict], tuple | None]:
    """Near misses in the actor's region, one entry per entity (by county, then entity): the
    products it narrowly misses, each with ``cures`` (what would make it eligible), and
    ``fixes``: the distinct cures over its products, what a visit should talk about.
    ``after``: the (county, entity id) of the previous page's last entity."""
    queryset = results(user=user, provinces=_region_provinces(user, county)).filter(
        near_miss=True, product_id__in=_active_product_ids()
    )
    if product_id:
        queryset = queryset.filter(product_id=product_id)
    if county and county.isdigit() and 2 <= len(county) <= 6:
        queryset = queryset.filter(county_q(county))
    page_q = queryset
    if after:
        c, e = after
        page_q = page_q.filter(Q(county__gt=c) | Q(county=c, entity_id__gt=e))
    # a page of entities (a streamed GROUP BY over the (county, entity_id, product_id) index),
    # then every near-miss row of those entities
    keys = list(page_q.order_by("county", "entity_id").values_list("county", "entity_id").distinct()[: limit + 1])
    more = len(keys) > limit
    keys = keys[:limit]
    ids = [entity_id for _, entity_id in keys]
    rows = list(queryset.filter(entity_id__in=ids).order_by("entity_id", "product_id").values(*_FIELDS)) if ids else []
    decoded = _decode(rows)
    entities = MarketEntity.objects.select_related("region").prefetch_related(*related_rows()).in_bulk(ids)
    today = timezone.localdate()
    by_entity: dict[int, dict] = {}
    facts_of: dict[int, dict] = {}
    for result in decoded:
        entity = entities.get(result.entity_id)
        if entity is None:
            continue
        entry = by_entity.setdefault(entity.pk, {"entity": entity, "products": [], "fixes": []})
        if entity.pk not in facts_of:
            facts_of[entity.pk] = _facts(entity, today)
        cures = _cures(entity, result, facts_of[entity.pk])
        entry["products"].append({"result": result, "cures": cures})
        for cure in cures:
            if cure not in entry["fixes"]:
                entry["fixes"].append(cure)
    out = [by_entity[entity_id] for entity_id in ids if entity_id in by_entity]
    last = keys[-1] if keys else None
    return out, (tuple(last) if more and last else None)


# --- 待标记三型: an estimate but no mark -------------------------------------------------------


def reads_tier_mark(definition: dict) -> bool:
    """Whether a product version's rules or caps read the 三型 mark (惠商贷's "标记为三型",
    CCB's and 山西银行's tier conditions)."""
    trees = [definition["rules"]] + [cap["when"] for cap in definition.get("caps", []) if "when" in cap]
    return any("tier" in fields_used(tree) for tree in trees) or any(
        cap.get("kind") == "tier_cap" for cap in definition.get("caps", [])
    )


def mark_products() -> list[LoanProduct]:
    """The active products whose current version needs the 三型 mark."""
    products = (
        LoanProduct.objects.filter(status=ProductStatus.ACTIVE, current_version__isnull=False)
        .select_related("bank", "current_version")
        .order_by("bank__code", "code")
    )
    return [p for p in products if reads_tier_mark(p.current_version.definition)]


def _if_marked(facts: dict, result: StoredResult) -> dict:
    """The live evaluation as if the regulator marked the entity as its estimate."""
    evaluation = evaluate_product(result.version.definition, {**facts, "tier": facts.get("tier_estimate")})
    return {"verdict": evaluation.verdict.value, "max_amount": evaluation.max_amount}


def awaiting_mark(
    *, user, product_id: int | None = None, county: str | None = None, after: tuple | None = None, limit: int = 20
) -> tuple[list[dict], tuple | None]:
    """待标记三型: entities of the actor's region that have only the portal's 三型 estimate (no
    mark in the 名录库) and are 信息不全 for a product that needs the mark — worth asking the
    city or provincial regulator to mark ("在'全省个体工商户名录库'中被标记为'三型'", 001 附件
    三(二)). One entry per entity (by county, then entity): its estimate and, per product, the
    live reason and what a mark equal to the estimate would give. ``after``: the (county,
    entity id) of the previous page's last entity.

    信息不全 pairs are not stored: the unmarked entities of the region are read in order, a
    batch at a time, and evaluated live for the products that need the mark, until the page is
    full or ``AWAITING_SCAN`` entities were read (the page then ends early; the cursor goes on
    from the last entity read)."""
    versions = active_versions([p.pk for p in mark_products() if not product_id or p.pk == product_id])
    if not versions:
        return [], None
    # a county's entities (the stored rows' counties: an entity without a county code is in none)
    candidates = restrict(
        UnstoredEntity.objects.filter(tier__isnull=True, tier_computed__isnull=False, region__level=RegionLevel.COUNTY),
        user,
    )
    if county and county.isdigit() and 2 <= len(county) <= 6:
        candidates = candidates.filter(region_range_q(county))
    if after:
        c, e = after
        candidates = candidates.filter(_after_q(f"{int(c):06d}", e))
    candidates = candidates.select_related("region").prefetch_related(*related_rows()).order_by("region_id", "pk")
    today = timezone.localdate()
    found: list[tuple[MarketEntity, list[dict]]] = []
    last_read, read, exhausted = None, 0, False
    while len(found) <= limit and read < AWAITING_SCAN:
        query = candidates.filter(_after_q(last_read.region_id, last_read.pk)) if last_read else candidates
        batch = list(query[:AWAITING_BATCH])
        for entity in batch:
            read, last_read = read + 1, entity
            got = _unstored_rows([entity], versions, today)
            if got:
                found.append((entity, got))
                if len(found) > limit:
                    break
        if len(batch) < AWAITING_BATCH:
            exhausted = True
            break
    if len(found) > limit:
        found = found[:limit]
        cursor = found[-1][0]
    else:
        cursor = None if exhausted or last_read is None else last_read  # read as many as one page may
    rows = [row for _, got in found for row in got]
    found_entities = [entity for entity, _ in found]
    entities = {entity.pk: entity for entity in found_entities}
    entity_ids = [entity.pk for entity in found_entities]
    by_entity: dict[int, dict] = {}
    facts_of: dict[int, dict] = {}
    tiers = dict(Tier.choices)
    for result in _decode(rows):
        entity = entities[result.entity_id]
        if entity.pk not in facts_of:
            facts_of[entity.pk] = _facts(entity, today)
        facts = facts_of[entity.pk]
        entry = by_entity.setdefault(
            entity.pk, {"entity": entity, "estimate": tiers.get(entity.tier_computed, ""), "products": []}
        )
        reasons = [r for r in _live_reasons(facts, result) if r["outcome"] == "unknown"]
        entry["products"].append({"result": result, "reasons": reasons, "if_marked": _if_marked(facts, result)})
    out = [by_entity[entity_id] for entity_id in entity_ids if entity_id in by_entity]
    return out, ((county_code(cursor.region_id), cursor.pk) if cursor is not None else None)


AWAITING_BATCH = 200  # unmarked entities read and evaluated at a time
AWAITING_SCAN = 4000  # at most read for one page of 待标记三型 (~1 ms each)


def _after_q(region_id: str, entity_id: int) -> Q:
    """After (region code, entity id) in the 待标记三型 order."""
    return Q(region_id__gt=region_id) | Q(region_id=region_id, pk__gt=entity_id)


# --- declarations ----------------------------------------------------------------------------


def stored_results(*, user, entity: MarketEntity, product_ids: Sequence[int]) -> dict[int, StoredResult]:
    """product id → the stored result of one entity (the caller's, already resolved for it;
    what ``user`` may see of its results, read in its province), for the products a
    declaration's page judges (``matching.verdicts.declaration_verdicts``); a product without a
    row has none here (a stored "不符合" once a run exists)."""
    rows = (
        results(user=user, provinces=_entity_province(entity.region_id))
        .filter(entity_id=entity.pk, product_id__in=list(product_ids))
        .values(*_FIELDS)
    )
    return {result.product.pk: result for result in _decode(list(rows))}


# --- runs (administrators) -------------------------------------------------------------------


def run_list(*, user, kind: str | None = RunKind.FULL) -> QuerySet[MatchingRun]:
    queryset = restrict(MatchingRun.objects.select_related("started_by", "product"), user)
    if kind:
        queryset = queryset.filter(kind=kind)
    return queryset.order_by("-id")


def run_get(*, user, pk: int) -> MatchingRun | None:
    return restrict(MatchingRun.objects.select_related("started_by", "product"), user).filter(pk=pk).first()


def run_products(*, user, run: MatchingRun) -> QuerySet[RunProduct]:
    return restrict(RunProduct.objects.filter(run=run).select_related("product__bank", "version"), user).order_by(
        "product__bank__code", "product__code"
    )


def _moment(value) -> str:
    return date_format(timezone.localtime(value), "Y-m-d H:i:s") if value else ""


def run_progress(*, user, pk: int) -> dict[str, Any] | None:
    """What the run pages show of a run, as JSON for their polling script (``run_progress.js``):
    through ``run_get`` and ``run_products``, the pages' own selectors and restriction."""
    run = run_get(user=user, pk=pk)
    if run is None:
        return None
    in_force = (
        run.succeeded
        and run.generation is not None
        and ProvinceGeneration.objects.filter(generation=run.generation).exists()
    )
    return {
        "id": run.pk,
        "state": run.state,
        "state_label": run.get_state_display(),
        "finished": run.is_finished,
        "succeeded": run.succeeded,
        "failed": run.failed,
        "finalizing": run.finalizing,
        "resumable": run.resumable,
        "in_force": in_force,
        "percent": run.progress_percent,
        "chunks_done": run.chunks_done,
        "chunks_total": run.chunks_total,
        "entities": run.entities,
        "results": run.results,
        "eligible": run.eligible,
        "incomplete": run.incomplete,
        "near_miss": run.near_miss,
        "message": run.message,
        "started_at": _moment(run.created_at),
        "finished_at": _moment(run.finished_at),
        "seconds": run.seconds,
        "timings": run.timings or {},
        "products": [
            {
                "id": p.pk,
                "eligible": p.eligible,
                "eligible_shared": p.eligible_shared,
                "incomplete": p.incomplete,
                "near_miss": p.near_miss,
            }
            for p in run_products(user=user, run=run)
        ],
    }


def matching_state() -> dict[str, Any]:
    """The run page's state: the run swapped in last, the one being built, each province's
    generation in force, and the provinces a run can be started for."""
    state = MatchingState.objects.select_related("building").filter(pk=1).first()
    names = dict(Region.objects.filter(level=RegionLevel.PROVINCE).values_list("code", "name"))
    return {
        "generation": state.generation if state else None,
        "swapped_at": state.swapped_at if state else None,
        "building": state.building if state else None,
        "run": last_full_run(),
        "provinces": [
            {
                "code": f"{p.province:02d}",
                "name": names.get(f"{p.province:02d}0000", "无县级代码的主体" if p.province == 0 else ""),
                "generation": p.generation,
                "run": p.run,
                "swapped_at": p.swapped_at,
            }
            for p in ProvinceGeneration.objects.select_related("run")
        ],
        "choices": sorted(names.items()),
    }
