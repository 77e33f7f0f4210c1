"""Reads of 大走访 campaigns; every one is restricted (portal.tenancy.restrict)."""

from __future__ import annotations

import datetime as dt

from django.db.models import QuerySet
from django.utils import timezone

from campaigns import coverage
from campaigns.models import Assignment, Campaign, CampaignEvent, CampaignState, Target
from campaigns.policy import county_of
from portal.models import Region
from portal.tenancy import EXPORT, VIEW, resolve, restrict, scope_for


def campaign_list(*, user, state: str | None = None) -> QuerySet[Campaign]:
    rows = restrict(Campaign.objects.select_related("region"), user, VIEW)
    if state in CampaignState.values:
        rows = rows.filter(state=state)
    return rows.order_by("-created_at", "-id")


def campaign_get(*, user, pk) -> Campaign:
    return resolve(Campaign.objects.select_related("region"), user, VIEW, pk=pk)


def campaign_events(*, user, campaign: Campaign) -> QuerySet[CampaignEvent]:
    return restrict(CampaignEvent.objects.select_related("actor", "region"), user, VIEW).filter(campaign=campaign)


def targets(
    *,
    user,
    campaign: Campaign,
    action: str = VIEW,
    excluded: bool | None = None,
    township: str | None = None,
    q: str | None = None,
) -> QuerySet[Target]:
    rows = restrict(Target.objects.select_related("entity", "region", "township"), user, action).filter(
        campaign=campaign
    )
    if excluded is not None:
        rows = rows.filter(excluded=excluded)
    if township:
        rows = rows.filter(township_id=township)
    if q:
        rows = rows.filter(entity__name__icontains=q) | rows.filter(entity__uscc=q.upper())
    return rows


def target_rows(*, user, campaign: Campaign, action: str = VIEW, **filters) -> QuerySet[Target]:
    """The targets with their coverage flags and current visitor (coverage.annotated)."""
    return coverage.annotated(targets(user=user, campaign=campaign, action=action, **filters)).order_by(
        "region_id", "township_id", "entity__name", "pk"
    )


def campaign_coverage(*, user, campaign: Campaign | None = None, as_of: dt.datetime | None = None):
    """Coverage of the targets the user may see (one campaign, or every campaign he sees). Every
    county the campaigns cover within the user's region has a row, a county whose task force has
    not built its list included (zero targets: `Coverage.counties_without_list`); campaigns count
    once started (by `as_of`, when given)."""
    campaigns = Campaign.objects.filter(pk=campaign.pk) if campaign is not None else campaign_list(user=user)
    rows = restrict(Target.objects.all(), user, VIEW).filter(campaign__in=campaigns)
    result = coverage.compute(rows, as_of=as_of)
    scope = scope_for(user)
    if scope is not None and scope.is_government and scope.region_prefix:
        started = campaigns.filter(started_at__isnull=False, started_at__lte=as_of or timezone.now())
        covered = Campaign.counties.through.objects.filter(campaign__in=started)
        result.seed(
            covered.filter(region__code__startswith=scope.region_prefix).values_list("region_id", flat=True).distinct()
        )
    return result


def export_rows(*, user, campaign: Campaign) -> QuerySet[Target]:
    return target_rows(user=user, campaign=campaign, action=EXPORT)


def overdue(*, user, campaign: Campaign) -> QuerySet[Target]:
    return coverage.overdue_targets(targets(user=user, campaign=campaign, excluded=False)).order_by(
        "due_on", "region_id", "entity__name"
    )


def my_assignments(*, user, open_only: bool = True) -> QuerySet[Assignment]:
    """A visitor's own assignments (of every campaign he was given visits in)."""
    rows = restrict(
        Assignment.objects.select_related("campaign", "target__entity", "target__township", "visitor_organisation"),
        user,
        VIEW,
    ).filter(visitor_id=user.pk)
    if open_only:
        rows = rows.filter(ended_at__isnull=True)
    return rows.order_by("due_on", "target__entity__name", "pk")


def assignment_rows(*, user, campaign: Campaign) -> QuerySet[Assignment]:
    return (
        restrict(Assignment.objects.select_related("target__entity", "visitor", "visitor_organisation"), user, VIEW)
        .filter(campaign=campaign, ended_at__isnull=True)
        .order_by("due_on", "pk")
    )


def townships(*, user, campaign: Campaign) -> QuerySet[Region]:
    """The townships of the user's county (for assigning by township)."""
    county = county_of(scope_for(user))
    if county is None:
        return Region.objects.none()
    return restrict(Region.objects.filter(parent_id=county, level="township"), user, VIEW).order_by("code")


def assignment_get(*, user, pk) -> Assignment:
    return resolve(my_assignments(user=user), user, VIEW, pk=pk)
