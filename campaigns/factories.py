"""Builders of 大走访 worlds for tests and demos, on the 泽州 world (products.factories.build_world):
two townships of 泽州县, a visitor of each kind (a township's 走访人员, a 工商联 one), a running
campaign of 晋城市 covering 泽州县, its targets built from the register."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.utils import timezone

from campaigns import services
from campaigns.models import Campaign
from portal.factories import OrganisationFactory, region, user_with_role
from portal.models import OrganisationKind, Region, RegionLevel, Role

TOWNSHIPS = (("140525108", "巴公镇"), ("140525109", "大阳镇"))


@dataclass
class CampaignWorld:
    campaign: Campaign
    townships: list
    users: dict = field(default_factory=dict)


def townships() -> list[Region]:
    county = region("140525")
    return [
        Region.objects.get_or_create(
            code=code, defaults={"name": name, "level": RegionLevel.TOWNSHIP, "parent": county}
        )[0]
        for code, name in TOWNSHIPS
    ]


def visitors(world) -> dict:
    """A 走访人员 of 巴公镇 and one of the county's 工商联 (both visit only what they are given)."""
    town = OrganisationFactory(
        kind=OrganisationKind.TOWNSHIP, region=region("140525"), parent=world.county, name="巴公镇"
    )
    federation = OrganisationFactory(
        kind=OrganisationKind.FEDERATION, region=region("140525"), parent=world.county, name="泽州县工商联"
    )
    return {
        "visitor": user_with_role(Role.VISITOR, organisation=town, username="cp-visitor", first_name="刘干事"),
        "federation_visitor": user_with_role(Role.VISITOR, organisation=federation, username="cp-federation"),
    }


def open_campaign(
    world, *, start: bool = True, deadline: dt.date | None = None, name: str = "晋城市千企万户大走访"
) -> Campaign:
    campaign = services.campaign_open(
        actor=world.users["city"],
        name=name,
        deadline=deadline or timezone.localdate() + dt.timedelta(days=20),
        county_codes=["140525"],
    )
    if start:
        services.campaign_start(actor=world.users["city"], campaign_id=campaign.pk)
        campaign.refresh_from_db()
    return campaign


def overdue_draft(world, *, days: int = 3, name: str = "晋城市冬季走访") -> Campaign:
    """A draft whose deadline passed `days` days ago (opened in time, never started): it cannot be
    started until the city edits its deadline."""
    campaign = open_campaign(world, start=False, name=name)
    Campaign.objects.filter(pk=campaign.pk).update(deadline=timezone.localdate() - dt.timedelta(days=days))
    campaign.refresh_from_db()
    return campaign


def campaign_world(world, *, entities: int = 3) -> CampaignWorld:
    """A running campaign with `entities` entities of 泽州 in the register (in 巴公镇 and 大阳镇) and one
    revoked one, its targets built by the task force's staff."""
    found = townships()
    made = []
    for n in range(entities):
        entity, _ = world.entity(name=f"泽州县走访测试{n}号店", with_user=False)
        entity.township = found[n % 2]
        entity.save(update_fields=["township"])
        made.append(entity)
    revoked, _ = world.entity(name="泽州县吊销测试店", with_user=False)
    revoked.register_status = "revoked"
    revoked.save(update_fields=["register_status"])
    campaign = open_campaign(world)
    services.targets_build(actor=world.users["staff"], campaign_id=campaign.pk)
    return CampaignWorld(campaign=campaign, townships=found, users=visitors(world))
