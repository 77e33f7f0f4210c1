"""Tenant restrictions of the entities app (registered from EntitiesConfig.ready).

Regions are filtered as a range on the code ("1405" → '1405' <= code < '1406') rather than
LIKE '1405%': a plain b-tree index serves a range under any collation, LIKE only under "C".
"""

from __future__ import annotations

from collections.abc import Callable

from django.db.models import Q

from entities.models import (
    BankRelationship,
    CreditFlagRecord,
    CreditRepair,
    EntityChange,
    EntityClaim,
    EntityImport,
    FinancialYear,
    Honor,
    HonorProposal,
    MarketEntity,
    Renewal,
    TierPolicy,
)
from portal.models import Role
from portal.tenancy import CHANGE, EXPORT, VIEW, Scope, public, restriction, subtree_q

# roles that keep the register of their region (may edit register fields and import)
REGISTER_KEEPERS = {Role.TASK_FORCE_STAFF, Role.TASK_FORCE_LEAD, Role.CITY_REGULATOR, Role.PROVINCE_REGULATOR}
# who decides a registrant's claim on an entity of the county (entities/onboarding.py)
CLAIM_DECIDERS = {Role.TASK_FORCE_STAFF, Role.TASK_FORCE_LEAD}
# who decides the regulator's marks (issue 15, 001 附件 三(二)): the 三型 mark of the provincial
# 名录库 is set by a city or provincial regulator (or an import of the provincial list); 名特优新
# is "被省市场监管局认定" — granted and revoked by the provincial regulator only (or the
# provincial list's import); county task forces (and city regulators) propose it, the province
# decides (HonorProposal). County staff and banks set neither.
TIER_MARKERS = {Role.CITY_REGULATOR, Role.PROVINCE_REGULATOR}
HONOR_GRANTERS = {Role.PROVINCE_REGULATOR}
HONOR_PROPOSERS = {Role.TASK_FORCE_STAFF, Role.TASK_FORCE_LEAD, Role.CITY_REGULATOR}
# roles that may reveal an operator's ID and phone number (they visit and review entities)
PERSONAL_DATA_ROLES = {Role.TASK_FORCE_STAFF, Role.TASK_FORCE_LEAD, Role.TASK_FORCE_BANK_REVIEWER, Role.CONVENER}


def region_range(prefix: str) -> tuple[str, str]:
    """[low, high): the county codes starting with `prefix` ("1405" → '1405' <= code < '1406')."""
    return prefix, str(int(prefix) + 1).zfill(len(prefix))


def region_range_q(prefix: str, field: str = "region_id") -> Q:
    """Codes starting with `prefix` (all codes of a level have the same length)."""
    if len(prefix) >= 6:
        return Q(**{field: prefix})
    low, high = region_range(prefix)
    return Q(**{f"{field}__gte": low, f"{field}__lt": high})


# --- where an actor may write register data ---------------------------------------------------
# One rule for creating an entity, moving it (update) and importing the register: the entity's
# county must lie inside the actor's region. The restriction above (CHANGE) says which existing
# entities an actor may change; this says where an entity may be put.

OUT_OF_SCOPE = "不在本机构管辖范围内"


def write_region_prefix(scope: Scope | None) -> str | None:
    """The region an actor may put entities in: "" anywhere (platform administrator), a code
    prefix (a register keeper: its region, the same prefix its CHANGE restriction uses), or
    None: nowhere (any other role, or a keeper whose organisation has no region)."""
    if scope is None:
        return None
    if scope.is_platform_admin:
        return ""
    if scope.role in REGISTER_KEEPERS and scope.region_prefix:
        return scope.region_prefix
    return None


def import_mark_rights(scope: Scope | None) -> tuple[bool, bool]:
    """(takes the 分型 column, takes the 名特优新 columns) of a register import by this actor:
    the provincial list is loaded by a provincial regulator, a platform administrator or the
    `import_entities` command (no actor: None); a city regulator's file may carry 三型 marks (he
    may set them), not 名特优新; a county's file carries neither (they keep what is known)."""
    if scope is None or scope.is_platform_admin or scope.role in HONOR_GRANTERS:
        return True, True
    return scope.role in TIER_MARKERS, False


def region_within(prefix: str | None, code: str | None) -> bool:
    """Does the county `code` lie inside the write region `prefix` ("" anywhere, None nowhere)?"""
    if prefix is None or not code:
        return False
    return code.startswith(prefix)


# 走访 (the workflow's VISIT, seed 004 二(四)): the action a visit is recorded under. The county's
# task force visits any entity of its county; anyone else (a 走访人员 of a township, village or the
# 工商联, a 委办局's staff, a bank's account manager) only the entities a county task force assigned
# to him in a running 大走访 campaign: those come from the campaigns app, above this one, which
# registers its filter here (campaigns.apps). Without a registered filter: nothing (deny by default).
VISIT = "visit"
COUNTY_VISITORS = {Role.TASK_FORCE_STAFF, Role.TASK_FORCE_LEAD}
ASSIGNED_VISIT_FILTERS: list[Callable[[Scope], Q | None]] = []


def visit_q(scope: Scope) -> Q | None:
    """The entities the actor may record a visit of."""
    if scope.role in COUNTY_VISITORS and scope.region_prefix:
        return region_range_q(scope.region_prefix)
    parts = [q for q in (f(scope) for f in ASSIGNED_VISIT_FILTERS) if q is not None]
    if not parts:
        return None
    combined = parts[0]
    for part in parts[1:]:
        combined |= part
    return combined


def entity_q(scope: Scope, action: str, prefix: str = "") -> Q | None:
    """Which market entities (reached through `prefix`, e.g. "entity__") the actor may act on."""
    if action == VISIT:
        return visit_q(scope) if not prefix else None
    region_field = f"{prefix}region_id"
    if scope.is_enterprise:
        if action in (VIEW, CHANGE, EXPORT) and scope.organisation_id:
            return Q(**{f"{prefix}organisation_id": scope.organisation_id})
        return None
    if not scope.region_prefix:
        return None
    in_region = region_range_q(scope.region_prefix, region_field)
    if scope.is_government:
        if action == CHANGE and scope.role not in REGISTER_KEEPERS:
            return None
        return in_region
    if scope.is_bank:
        # later issues narrow this to the leads pushed to the bank; for now: shared entities
        # in the bank organisation's service region
        if action == CHANGE:
            return None
        return in_region & Q(**{f"{prefix}data_shared_with_banks": True})
    return None


def bank_root_id(scope: Scope | None) -> int | None:
    """The bank a bank user belongs to: the root of his organisation path (the same rule as
    products.restrictions.bank_root_organisation_id, which this app may not import)."""
    if scope is None or not scope.is_bank or not scope.organisation_path:
        return None
    return int(scope.organisation_path.strip("/").split("/")[0])


def bank_relationship_q(scope: Scope, action: str) -> Q | None:
    """A bank's records of its own customers' borrowing: the bank's staff read and keep its own
    rows only (never another bank's), and only of the entities they may see: a branch does not
    read or delete what a colleague of another city recorded about a customer outside its
    service region (nor a row of an entity that stopped sharing its data with banks); the
    enterprise reads its own; the government reads those of the entities it may read (they are
    facts the eligibility reasons show)."""
    if scope.is_bank:
        root = bank_root_id(scope)
        visible = entity_q(scope, VIEW, "entity__")
        return Q(bank_id=root) & visible if root is not None and visible is not None else None
    if action != VIEW:
        return None
    return entity_q(scope, VIEW, "entity__")


RENEWAL_KEEPERS = {Role.TASK_FORCE_STAFF, Role.TASK_FORCE_LEAD}


def renewal_q(scope: Scope, action: str) -> Q | None:
    """续贷需求: the bank the loan is owed to reads and answers its own rows of the customers it may
    see (never another bank's); the enterprise reads and withdraws its own; the county task force
    reads and keeps those of its region (it records them from visits), city and province read
    their area's. What each may do in which state is the table in entities.renewals."""
    if scope.is_bank:
        return bank_relationship_q(scope, action)
    if scope.is_enterprise:
        return entity_q(scope, VIEW, "entity__") if action in (VIEW, CHANGE, EXPORT) else None
    if scope.is_government:
        if action == CHANGE and scope.role not in RENEWAL_KEEPERS:
            return None
        return entity_q(scope, VIEW, "entity__")
    return None


def register():
    @restriction(MarketEntity)
    def _entities(scope: Scope, action: str) -> Q | None:
        return entity_q(scope, action)

    def _children(scope: Scope, action: str) -> Q | None:
        # rows hanging off an entity are read with it and written only through its services
        return entity_q(scope, VIEW, "entity__") if action == VIEW else None

    for model in (FinancialYear, CreditFlagRecord, CreditRepair, Honor, EntityChange):
        restriction(model)(_children)

    restriction(TierPolicy)(public)
    restriction(BankRelationship)(bank_relationship_q)
    restriction(Renewal)(renewal_q)

    @restriction(HonorProposal)
    def _honor_proposals(scope: Scope, action: str) -> Q | None:
        # the government's own work on its region's entities: seen by the regulators and task
        # forces of the region, decided (CHANGE) by the provincial regulator only
        if not scope.is_government:
            return None
        if action == CHANGE and scope.role not in HONOR_GRANTERS:
            return None
        return entity_q(scope, VIEW, "entity__")

    @restriction(EntityClaim)
    def _claims(scope: Scope, action: str) -> Q | None:
        # a registrant's claim: decided by the task force of its county (staff or lead), seen
        # by them and, without deciding, by the registrant himself
        if scope.role in CLAIM_DECIDERS and scope.region_prefix:
            return region_range_q(scope.region_prefix)
        return Q(user_id=scope.user_id) if action == VIEW else None

    @restriction(EntityImport)
    def _imports(scope: Scope, action: str) -> Q | None:
        if scope.role not in REGISTER_KEEPERS:
            return None
        # an import is seen by its organisation and the mechanisms above it
        return subtree_q(scope, "organisation__path")
