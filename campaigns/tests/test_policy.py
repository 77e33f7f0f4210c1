"""The policy table of 大走访 campaigns (campaigns/policy.py) is complete, and its refusals say why:
role → 403, state → 409, another city or county → 403 or not found (seed 004_b2811ebd7ee390f8.txt
二(四): "市级协调工作机制指导 …", "县区专班依据走访目标企业清单科学制定走访计划")."""

import pytest

from campaigns import policy, services
from campaigns.factories import open_campaign
from campaigns.models import CampaignEventKind, CampaignState
from portal.audit_log import ACTION_LABELS
from portal.errors import ApplicationError
from portal.factories import user_with_role
from portal.models import Role


def test_every_state_is_reachable_and_ended_is_the_only_final_state():
    reached, frontier = set(), [policy.rule(policy.Action.OPEN).target]
    while frontier:
        state = frontier.pop()
        if state in reached:
            continue
        reached.add(state)
        frontier += [r.target for r in policy.RULES if state in r.states and r.target]
    assert reached == set(CampaignState)
    assert policy.final_states() == [CampaignState.ENDED]


def test_every_event_kind_is_recorded_by_a_row_or_the_scan_and_has_a_chinese_label():
    assert {r.event for r in policy.RULES} | set(policy.SCAN_EVENTS) == set(CampaignEventKind)
    assert all(kind.label and not kind.label.isascii() for kind in CampaignEventKind)


def test_every_action_has_roles_a_label_and_an_audit_label():
    for rule in policy.RULES:
        assert rule.roles and rule.label and rule.description
        assert ACTION_LABELS[str(rule.action)]


@pytest.mark.django_db
def test_refusals_by_role_state_city_and_county(world):
    campaign = open_campaign(world, start=False)

    def refused(call, **kwargs):
        with pytest.raises(ApplicationError) as caught:
            call(**kwargs)
        return caught.value

    # a county staff member may not start the city's campaign (role), nor assign in a draft (state)
    assert refused(services.campaign_start, actor=world.users["staff"], campaign_id=campaign.pk).code == (
        "permission_denied"
    )
    conflict = refused(
        services.assignments_make,
        actor=world.users["staff"],
        campaign_id=campaign.pk,
        visitor_id=world.users["staff"].pk,
        target_ids=[1],
    )
    assert conflict.code == "conflict" and "草稿" in conflict.message
    # another city's regulator does not see it; a bank administrator neither
    other_city = user_with_role(Role.CITY_REGULATOR, region_code="140100")
    assert refused(services.campaign_start, actor=other_city, campaign_id=campaign.pk).code == "not_found"
    assert refused(services.campaign_start, actor=world.users["boc_admin"], campaign_id=campaign.pk).code == "not_found"
    # the province sees it but may not act on it
    province = user_with_role(Role.PROVINCE_REGULATOR)
    assert refused(services.campaign_start, actor=province, campaign_id=campaign.pk).code == "permission_denied"
    # ended: no second end
    services.campaign_start(actor=world.users["city"], campaign_id=campaign.pk)
    services.campaign_end(actor=world.users["city"], campaign_id=campaign.pk)
    assert refused(services.campaign_end, actor=world.users["city"], campaign_id=campaign.pk).code == "conflict"
