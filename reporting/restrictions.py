"""Tenant filters of reporting's own rows (registered from ReportingConfig.ready).

Bank-reported figures: a bank administrator sees and reports for his branch and its
sub-branches; a mechanism reads those of branches located in its region. Targets are read
by everyone who reads dashboards, set by platform administrators. Scheduled reports: the
mechanism of the region and those above it. The statistics indexes (LedgerFact,
DeclarationFact, VisitFact) are seen by whoever sees the rows they index. 督办单: the mechanisms of
the issuer's region and above read them, the issuing roles there change them (the policy table
then says who acts); the bank administrators of the target branch (or a bank organisation above
it; its account managers read them) and the staff of a target department read and change
theirs; nobody else anything. A 工作简报 subscription is its subscriber's own."""

from __future__ import annotations

from django.db.models import Q

from entities.restrictions import region_range_q
from matching.restrictions import declaration_q
from portal.models import Role
from portal.tenancy import VIEW, Scope, restriction
from reporting.models import (
    BankPeriodReport,
    BriefSubscription,
    DeclarationFact,
    LedgerFact,
    LedgerFactVersion,
    ScheduledReport,
    SupervisionEvent,
    SupervisionOrder,
    Target,
    VisitFact,
)
from reporting.supervision.policy import ISSUERS


def region_and_ancestors_q(prefix: str, field: str = "region_id") -> Q:
    """Regions inside `prefix` and the province / city codes above it."""
    ancestors = {prefix[:2] + "0000"}
    if len(prefix) >= 4:
        ancestors.add(prefix[:4] + "00")
    return region_range_q(prefix, field) | Q(**{f"{field}__in": sorted(ancestors)})


def register() -> None:
    register_supervision()

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

    @restriction(BriefSubscription)
    def _brief_subscriptions(scope: Scope, action: str) -> Q | None:
        # a subscription is its subscriber's own
        return Q(user_id=scope.user_id) if scope.user_id else None

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


def supervision_q(scope: Scope, action: str, prefix: str = "") -> Q | None:
    if scope.role == Role.DEPARTMENT_STAFF:
        return Q(**{f"{prefix}target_id": scope.organisation_id}) if scope.organisation_id else None
    if scope.role == Role.BANK_ADMIN or (scope.role == Role.ACCOUNT_MANAGER and action == VIEW):
        # an account manager reads the orders to his branch (they name his leads); only the administrator acts
        return Q(**{f"{prefix}target__path__startswith": scope.organisation_path}) if scope.organisation_path else None
    if scope.is_government and scope.region_prefix and (action == VIEW or scope.role in ISSUERS):
        return region_range_q(scope.region_prefix, f"{prefix}region_id")
    return None


def register_supervision() -> None:
    restriction(SupervisionOrder)(supervision_q)

    @restriction(SupervisionEvent)
    def _events(scope: Scope, action: str) -> Q | None:
        return supervision_q(scope, VIEW, "order__") if action == VIEW else None
