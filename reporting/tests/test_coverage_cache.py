"""The dashboard's and the KPI API's 大走访 coverage is cached (reporting.selectors.campaign_coverage)
while nothing it counts changed: every write that changes a count changes its key — a target
list built, a visit given, a visit recorded, a declaration created, the campaign ended — and a
second read with nothing written is answered from the cache."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from campaigns import services
from campaigns.factories import campaign_world, open_campaign
from campaigns.models import Target
from matching import services as matching_services
from portal.factories import user_with_role
from portal.models import Role
from reporting import selectors

pytestmark = pytest.mark.django_db


def _coverage(user):
    return selectors.campaign_coverage(user=user).total


def _counting_reads(user) -> int:
    """How many statements read campaign targets to answer (0: the cache answered)."""
    with CaptureQueriesContext(connection) as queries:
        selectors.campaign_coverage(user=user)
    return sum('"campaigns_target"' in q["sql"] for q in queries.captured_queries)


def test_each_write_that_changes_coverage_is_seen_at_once_and_nothing_else_recounts(world):
    """Given the city regulator's coverage read once (counted) and again (from the cache), when
    targets are built, a visit is given and recorded and a declaration is created, then each
    read after a write has the new figures, and a read with nothing written recounts nothing."""
    city, staff = world.users["city"], world.users["staff"]
    cw = campaign_world(world)
    first = _coverage(city)
    assert (first.targets, first.assigned, first.visited, first.declared) == (3, 0, 0, 0)
    assert _counting_reads(city) == 0

    target = Target.objects.filter(campaign=cw.campaign, excluded=False).order_by("pk").first()
    services.assignments_make(
        actor=staff, campaign_id=cw.campaign.pk, visitor_id=cw.users["visitor"].pk, target_ids=[target.pk]
    )
    assert _coverage(city).assigned == 1

    matching_services.visit_record(
        actor=cw.users["visitor"],
        entity_id=target.entity_id,
        visited_on=timezone.localdate(),
        people="刘干事",
        need_found=True,
        need_amount=100_000,
        loan_purpose="进货",
    )
    assert (_coverage(city).visited, _coverage(city).with_need) == (1, 1)

    matching_services.declaration_create(
        actor=staff, entity_id=target.entity_id, amount=100_000, term_months=12, purpose="进货", bank_codes=["boc"]
    )
    assert _coverage(city).declared == 1

    # a second campaign of the city, started and its list built: its targets count too
    entity, _ = world.entity(name="泽州县第二次走访店", with_user=False)
    second = open_campaign(world, name="晋城市第二轮大走访")
    services.targets_build(actor=staff, campaign_id=second.pk)
    assert _coverage(city).targets == first.targets + Target.objects.filter(campaign=second, excluded=False).count()
    assert _counting_reads(city) == 0  # nothing written since: the cache answers


def test_each_user_has_his_own_coverage(world):
    """The key names the user and his scope: the county's staff and the city regulator each get
    their own figures, never each other's."""
    cw = campaign_world(world)
    assert _coverage(world.users["city"]).targets == 3
    other_county = user_with_role(Role.TASK_FORCE_STAFF, region_code="140522")
    assert _coverage(other_county).targets == 0
    assert Target.objects.filter(campaign=cw.campaign).count() == 4


@pytest.mark.parametrize("url", ["/api/v1/kpis/", "/reporting/"])
def test_the_kpi_api_and_the_dashboard_count_coverage_once_while_nothing_changes(world, client, url):
    """Given the city regulator's KPI API (or dashboard) read once, when he reads it again with
    nothing written, then the coverage comes from the cache: the API asked it "as of now" to the
    microsecond, a new key on every request, and recounted every time."""
    campaign_world(world)
    client.force_login(world.users["city"])
    assert client.get(url, secure=True).status_code == 200
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, secure=True)
    assert response.status_code == 200
    assert not [q for q in queries.captured_queries if '"campaigns_target"' in q["sql"]]
