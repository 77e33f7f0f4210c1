"""Tenant filters of reporting's own rows (registered from ReportingConfig.ready).

Bank-reported figures: a bank administrator sees and reports for his branch and its
sub-branches; a mechanism reads those of branches located in its region. Targets are read
by everyone who reads dashboards, set by platform administrators. Scheduled reports: the
mechanism of the region and those above it. The statistics indexes (LedgerFact,
DeclarationFact, VisitFact) are seen by whoever sees the rows they index."""

from __future__ import annotations

from django.db.models import Q

from entities.restrictions import region_range_q
from matching.restrictions import declaration_q
from portal.models import Role
from portal.tenancy import VIEW, Scope, restriction
from reporting.models import (
    BankPeriodReport,
    DeclarationFact,
    LedgerFact,
    LedgerFactVersion,
    ScheduledReport,
    Target,
    VisitFact,
)


def region_and_ancestors_q(prefix: str, field: str = "region_id") -> Q:
    """Regions inside `prefix` and the province / city codes above it."""
    ancestors = {prefix[:2] + "0000"}
    if len(prefix) >= 4:
        ancestors.add(prefix[:4] + "00")
    return region_range_q(prefix, field) | Q(**{f"{field}__in": sorted(ancestors)})


def register() -> None:
    @restriction(LedgerFact)
    def _facts(scope: Scope, action: str) -> Q | None:
        # the index of a ledger row is seen by whoever sees the row (matching.restrictions.recommendation_q)
        if action != VIEW:
            return None
        if scope.is_enterprise:
            return Q(recommendation__entity__organisation_id=scope.organisation_id)
        if scope.is_government:
            return region_range_q(scope.region_prefix, "region") if scope.region_prefix else None
        if scope.role == Role.BANK_ADMIN:
            return Q(branch_path__startswith=scope.organisation_path)
        if scope.role == Role.ACCOUNT_MANAGER:
            return Q(recommendation__assigned_to_id=scope.user_id)
        return None

    # a row as it was before a correction is seen by whoever sees the row
    restriction(LedgerFactVersion)(_facts)

    @restriction(DeclarationFact)
    def _declaration_facts(scope: Scope, action: str) -> Q | None:
        # seen by whoever sees the declaration; a mechanism's region through the index's own column
        if action != VIEW:
            return None
        if scope.is_government:
            return region_range_q(scope.region_prefix, "region") if scope.region_prefix else None
        return declaration_q(scope, VIEW, "declaration__")

    @restriction(VisitFact)
    def _visit_facts(scope: Scope, action: str) -> Q | None:
        # visits are a mechanism's record (matching.restrictions: Visit); an enterprise sees its own
        if action != VIEW:
            return None
        if scope.is_government:
            return region_range_q(scope.region_prefix, "region") if scope.region_prefix else None
        if scope.is_enterprise:
            return Q(visit__entity__organisation_id=scope.organisation_id)
        return None

    @restriction(BankPeriodReport)
    def _bank_reports(scope: Scope, action: str) -> Q | None:
        if scope.role == Role.BANK_ADMIN:
            return Q(branch__organisation__path__startswith=scope.organisation_path)
        if scope.is_government and action == VIEW and scope.region_prefix:
            return region_range_q(scope.region_prefix)
        return None

    @restriction(Target)
    def _targets(scope: Scope, action: str) -> Q | None:
        if action != VIEW:
            return None
        if scope.is_government and scope.region_prefix:
            return region_and_ancestors_q(scope.region_prefix)
        if scope.role == Role.BANK_ADMIN:
            return Q()
        return None

    @restriction(ScheduledReport)
    def _scheduled(scope: Scope, action: str) -> Q | None:
        if action != VIEW:
            return None
        if (
            scope.is_government
            and scope.role not in (Role.TASK_FORCE_STAFF, Role.TASK_FORCE_BANK_REVIEWER)
            and scope.region_prefix
        ):
            return region_range_q(scope.region_prefix)
        return None
