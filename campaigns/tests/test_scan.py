"""The overdue scan of 大走访 visits: an unvisited target past its due date reminds its visitor and the
county task force, once (seed 004_b2811ebd7ee390f8.txt 二(四): "11 月 20 日前对辖区内小微企业融资需求摸排
一遍"; issue 17: "overdue visits listed")."""

import datetime as dt

import pytest
from django.utils import timezone

from campaigns import services
from campaigns.models import Assignment, CampaignEvent, Target
from campaigns.scan import overdue_scan
from matching import services as matching_services
from matching.models import Notification

pytestmark = pytest.mark.django_db


def test_an_unvisited_assignment_past_its_due_date_is_reminded_once_even_when_run_twice(world, cw):
    # given two targets given to the 巴公镇 visitor, one of them visited
    visitor = cw.users["visitor"]
    late, visited = Target.objects.filter(campaign=cw.campaign, excluded=False).order_by("pk")[:2]
    services.assignments_make(
        actor=world.users["staff"], campaign_id=cw.campaign.pk, visitor_id=visitor.pk, target_ids=[late.pk, visited.pk]
    )
    matching_services.visit_record(
        actor=visitor, entity_id=visited.entity_id, visited_on=timezone.localdate(), people="刘干事"
    )
    # when the scan runs on the due date: nothing is late yet
    due = Assignment.objects.get(target=late).due_on
    assert overdue_scan(timezone.now()) == 0
    # when it runs twice the day after the due date
    after = timezone.now() + dt.timedelta(days=(due - timezone.localdate()).days + 1)
    assert [overdue_scan(after), overdue_scan(after)] == [1, 0]
    # then the visitor and the county's task force (staff, lead) are told once each, of the late one only
    told = Notification.objects.filter(title__startswith="逾期未走访")
    assert set(told.values_list("recipient__username", flat=True)) == {"cp-visitor", "wf-staff", "wf-lead"}
    assert told.count() == 3 and all(late.entity.name in t.title for t in told)
    assert CampaignEvent.objects.filter(kind="overdue").count() == 1
