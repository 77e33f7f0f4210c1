"""The regulator's dashboard and the KPIs as of a moment include the 大走访 coverage (issue 17: "the
KPIs as of any past date include them"), counted by hand: what was recorded by that moment."""

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from campaigns import services
from campaigns.models import Target
from matching import services as matching_services

pytestmark = pytest.mark.django_db


def test_the_kpis_as_of_a_moment_count_the_coverage_known_then(world, cw):
    # given two of the three targets visited, the second after a moment `between`
    first, second, _ = Target.objects.filter(campaign=cw.campaign, excluded=False).order_by("pk")
    visitor = cw.users["visitor"]
    services.assignments_make(
        actor=world.users["staff"], campaign_id=cw.campaign.pk, visitor_id=visitor.pk, target_ids=[first.pk, second.pk]
    )
    today = timezone.localdate()
    matching_services.visit_record(actor=visitor, entity_id=first.entity_id, visited_on=today, people="刘干事")
    between = timezone.now()
    matching_services.visit_record(
        actor=visitor, entity_id=second.entity_id, visited_on=today, people="刘干事", need_found=True
    )
    client = APIClient()
    client.force_authenticate(world.users["city"])

    def coverage(as_of):
        return client.get("/api/v1/kpis/", {"as_of": as_of.isoformat()}).json()["campaign_coverage"]["total"]

    # then as of now: 3 targets, 2 visited (66.7%), 1 with a need; as of `between`: 1 visited, none with a need
    now = coverage(timezone.now())
    assert (now["targets"], now["visited"], now["rate"], now["with_need"], now["overdue"]) == (3, 2, 66.7, 1, 0)
    then = coverage(between)
    assert (then["targets"], then["visited"], then["with_need"]) == (3, 1, 0)
    # and before the campaign started: nothing
    assert coverage(cw.campaign.started_at - dt.timedelta(seconds=1))["targets"] == 0
    # the dashboard's card shows the same figures, for the city
    page = Client()
    page.force_login(world.users["city"])
    html = page.get("/reporting/").content.decode()
    assert "千企万户大走访 · 走访覆盖" in html and "66.7%" in html
