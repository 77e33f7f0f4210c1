"""The refusals of the 大走访 policy table (campaigns/policy.py; its completeness is checked with
every table's in tests/test_policy_tables.py) say why:
role → 403, state → 409, another city or county → 403 or not found (seed 004_b2811ebd7ee390f8.txt
二(四): "市级协调工作机制指导 …", "县区专班依据走访目标企业清单科学制定走访计划")."""

import pytest

from campaigns import services
from campaigns.factories import open_campaign
from portal.errors import ApplicationError
from portal.factories import user_with_role
from portal.models import Role


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
