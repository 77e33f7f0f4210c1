"""Tenant filters of the workflow. A county task force sees its county, a city or province
mechanism its region, a bank branch only what was pushed to it and its sub-branches (an
account manager only the leads assigned to him, and the declarations he recommended
himself), an enterprise only itself."""

from __future__ import annotations

from django.db.models import Q

from entities.restrictions import region_range_q
from matching import models as m
from matching.models import Recommendation
from portal.models import Role
from portal.tenancy import CHANGE, VIEW, Scope, public, restriction

COUNTY_WORKERS = {Role.TASK_FORCE_STAFF, Role.TASK_FORCE_BANK_REVIEWER, Role.TASK_FORCE_LEAD, Role.CONVENER}
# who records visits only of the entities assigned to him in a 大走访 campaign (campaigns app)
ASSIGNED_VISITORS = {Role.VISITOR, Role.DEPARTMENT_STAFF, Role.ACCOUNT_MANAGER}


def _bank_root(scope: Scope) -> int | None:
    return int(scope.organisation_path.strip("/").split("/")[0]) if scope.organisation_path else None


def recommendation_q(scope: Scope, action: str, prefix: str = "") -> Q | None:
    if scope.is_enterprise:
        return Q(**{f"{prefix}entity__organisation_id": scope.organisation_id}) if action == VIEW else None
    if scope.is_government:
        if action == CHANGE and scope.role not in COUNTY_WORKERS:
            return None
        return region_range_q(scope.region_prefix, f"{prefix}region_id") if scope.region_prefix else None
    if scope.role == Role.BANK_ADMIN:
        return Q(**{f"{prefix}branch__organisation__path__startswith": scope.organisation_path})
    if scope.role == Role.ACCOUNT_MANAGER:
        return Q(**{f"{prefix}assigned_to_id": scope.user_id})
    return None


def declaration_q(scope: Scope, action: str, prefix: str = "") -> Q | None:
    if scope.is_enterprise:
        return Q(**{f"{prefix}entity__organisation_id": scope.organisation_id})
    if scope.is_government:
        if action == CHANGE and scope.role not in COUNTY_WORKERS:
            return None
        return region_range_q(scope.region_prefix, f"{prefix}region_id") if scope.region_prefix else None
    if scope.is_bank and action == VIEW:
        leads = Recommendation.objects.filter(recommendation_q(scope, VIEW)).values("declaration_id")
        own = (
            Q(**{f"{prefix}source_bank__organisation_id": _bank_root(scope)})
            if scope.role == Role.BANK_ADMIN
            else Q(pk__in=[])
        )
        # a bank user follows the declarations he recommended himself (银行推荐)
        filed = Q(**{f"{prefix}created_by_id": scope.user_id, f"{prefix}source_bank__isnull": False})
        return Q(**{f"{prefix}pk__in": leads}) | own | filed
    return None


def register() -> None:
    restriction(m.Declaration)(declaration_q)
    restriction(m.Recommendation)(recommendation_q)
    restriction(m.DeclineReason)(public)

    @restriction(m.Visit)
    def _visits(scope: Scope, action: str) -> Q | None:
        if scope.is_enterprise and action == VIEW:
            return Q(entity__organisation_id=scope.organisation_id)
        if scope.role in ASSIGNED_VISITORS:
            # a 走访人员, a 委办局's staff or an account manager reads the visits he recorded
            return Q(recorded_by_id=scope.user_id) if action == VIEW else None
        if scope.is_government and scope.region_prefix:
            if action == CHANGE and scope.role not in COUNTY_WORKERS:
                return None
            return region_range_q(scope.region_prefix)
        return None

    @restriction(m.RecommendationBatch)
    def _batches(scope: Scope, action: str) -> Q | None:
        if scope.is_government and scope.region_prefix:
            if action == CHANGE and scope.role != Role.CONVENER:
                return None
            return region_range_q(scope.region_prefix)
        return None

    def _via_declaration(scope: Scope, action: str) -> Q | None:
        return declaration_q(scope, VIEW, "declaration__") if action == VIEW else None

    def _via_recommendation(scope: Scope, action: str) -> Q | None:
        return recommendation_q(scope, VIEW, "recommendation__") if action == VIEW else None

    for model in (m.ReviewStep, m.DeclarationBank):
        restriction(model)(_via_declaration)

    @restriction(m.DeclarationMaterial)
    def _materials(scope: Scope, action: str) -> Q | None:
        """A declaration's files, for whoever sees the declaration; a file a bank collected on
        its lead only for whoever sees that lead (the bank's branch, not the other intended
        bank; the enterprise and its county see both)."""
        if action != VIEW:
            return None
        declaration = declaration_q(scope, VIEW, "declaration__")
        if declaration is None:
            return None
        lead = recommendation_q(scope, VIEW, "recommendation__")
        collected = Q(recommendation__isnull=True) | lead if lead is not None else Q(recommendation__isnull=True)
        return declaration & collected

    for model in (m.Disbursement, m.Coaching, m.DeadlineClock):
        restriction(model)(_via_recommendation)

    @restriction(m.WorkflowEvent)
    def _events(scope: Scope, action: str) -> Q | None:
        if action != VIEW:
            return None
        if scope.is_bank:
            return recommendation_q(scope, VIEW, "recommendation__")
        return declaration_q(scope, VIEW, "declaration__")

    @restriction(m.Notification)
    def _notifications(scope: Scope, action: str) -> Q | None:
        return Q(recipient_id=scope.user_id)
