"""Tenant filters of 大走访 campaigns (registered from CampaignsConfig.ready). The mechanism sees the
campaigns of its area: a city the ones it opened, the province every city's, a county's task
force and convener the ones covering its county — and of those only its county's targets and
assignments. A city changes its own campaigns; a county task force changes (builds, imports,
assigns) its county's part. A visitor (a 走访人员, a 委办局's staff, an account manager, or a task-force
member given visits) sees his own assignments and their campaigns. Nobody else anything.

The VISIT action on market entities (entities.restrictions.visit_q) is extended from here: a
visitor may record a visit of an entity assigned to him, while the campaign runs."""

from __future__ import annotations

from django.db.models import Q

from campaigns.models import Assignment, Campaign, CampaignEvent, CampaignState, Target
from campaigns.policy import COUNTY, VISITOR_ROLES
from entities import restrictions as entity_restrictions
from entities.restrictions import region_range_q
from portal.models import Role
from portal.tenancy import CHANGE, EXPORT, VIEW, Scope, restriction

MECHANISM = COUNTY | {Role.CONVENER, Role.CITY_REGULATOR, Role.PROVINCE_REGULATOR, Role.TASK_FORCE_BANK_REVIEWER}


def _county(scope: Scope) -> str | None:
    return scope.region_prefix[:6] if scope.region_prefix and len(scope.region_prefix) >= 6 else None


def campaign_q(scope: Scope, action: str) -> Q | None:
    if scope.role in MECHANISM and scope.region_prefix:
        county = _county(scope)
        if county is not None:
            if action == CHANGE and scope.role not in COUNTY:
                return None
            covered = Campaign.counties.through.objects.filter(region_id=county).values("campaign_id")
            return Q(pk__in=covered)
        if action == CHANGE and scope.role != Role.CITY_REGULATOR:
            return None
        return region_range_q(scope.region_prefix, "region_id")
    if scope.role in VISITOR_ROLES and action == VIEW:
        return Q(pk__in=Assignment.objects.filter(visitor_id=scope.user_id).values("campaign_id"))
    return None


def target_q(scope: Scope, action: str) -> Q | None:
    """Targets (and, through `target__`, assignments): the mechanism's area; the county task force
    changes its county's; a visitor reads those assigned to him."""
    if scope.role in MECHANISM and scope.region_prefix:
        if action == CHANGE and scope.role not in COUNTY:
            return None
        return region_range_q(_county(scope) or scope.region_prefix, "region_id")
    if scope.role in VISITOR_ROLES and action in (VIEW, EXPORT):
        return Q(pk__in=Assignment.objects.filter(visitor_id=scope.user_id, ended_at__isnull=True).values("target_id"))
    return None


def assignment_q(scope: Scope, action: str) -> Q | None:
    if scope.role in MECHANISM and scope.region_prefix:
        if action == CHANGE and scope.role not in COUNTY:
            return None
        return region_range_q(_county(scope) or scope.region_prefix, "target__region_id")
    if scope.role in VISITOR_ROLES and action in (VIEW, EXPORT):
        return Q(visitor_id=scope.user_id)
    return None


def assigned_entities_q(scope: Scope) -> Q | None:
    """The entities a visitor may record a visit of: his open assignments of running campaigns."""
    if scope.role not in VISITOR_ROLES:
        return None
    assigned = Assignment.objects.filter(
        visitor_id=scope.user_id, ended_at__isnull=True, campaign__state=CampaignState.RUNNING
    ).values("target__entity_id")
    return Q(pk__in=assigned)


def register() -> None:
    restriction(Campaign)(campaign_q)
    restriction(Target)(target_q)
    restriction(Assignment)(assignment_q)

    @restriction(CampaignEvent)
    def _events(scope: Scope, action: str) -> Q | None:
        if action != VIEW:
            return None
        visible = campaign_q(scope, VIEW)
        return Q(campaign__in=Campaign.objects.filter(visible)) if visible is not None else None

    if assigned_entities_q not in entity_restrictions.ASSIGNED_VISIT_FILTERS:
        entity_restrictions.ASSIGNED_VISIT_FILTERS.append(assigned_entities_q)
