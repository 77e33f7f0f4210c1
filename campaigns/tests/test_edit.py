"""修改活动 (issue 17 part 1): a draft whose deadline has passed cannot be started ("截止日期已过,
请先修改截止日期"), so the city edits it — through the service, the API (PATCH) and the page;
who may edit in which state is the table's EDIT row (the city of the campaign, a draft or a
running campaign); a running campaign's new deadline is the one the overdue scan reads; two
edits of one campaign: the second is told it changed (seed 004_b2811ebd7ee390f8.txt 二(四))."""

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from campaigns import services
from campaigns.factories import open_campaign, overdue_draft
from campaigns.models import Assignment, Campaign, CampaignState, Target
from campaigns.scan import overdue_scan
from portal.errors import ApplicationError
from portal.factories import user_with_role
from portal.models import AuditEvent, Role

pytestmark = pytest.mark.django_db


def _days(n: int) -> dt.date:
    return timezone.localdate() + dt.timedelta(days=n)


def _refused(call, **kwargs) -> ApplicationError:
    with pytest.raises(ApplicationError) as caught:
        call(**kwargs)
    return caught.value


def _api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _page(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


# --- the service ---------------------------------------------------------------------------------


def test_a_draft_past_its_deadline_is_refused_a_start_until_the_city_edits_it(world):
    # given a draft whose deadline passed
    campaign = overdue_draft(world)
    city = world.users["city"]
    refused = _refused(services.campaign_start, actor=city, campaign_id=campaign.pk)
    assert refused.message == "截止日期已过, 请先修改截止日期"
    # when the city edits it (a new deadline, name and requirements)
    services.campaign_edit(
        actor=city,
        campaign_id=campaign.pk,
        name="晋城市冬季走访(延期)",
        deadline=_days(15),
        note="12 月底前摸排一遍",
        version=campaign.version,
    )
    # then it is changed, its version counted, the edit on its timeline and audited, and it starts
    campaign.refresh_from_db()
    assert (campaign.name, campaign.deadline, campaign.note) == ("晋城市冬季走访(延期)", _days(15), "12 月底前摸排一遍")
    assert campaign.version == 1
    event = campaign.events.get(kind="updated")
    assert f"截止日期 {_days(-3):%Y-%m-%d} → {_days(15):%Y-%m-%d}" in event.note and event.actor == city
    assert AuditEvent.objects.filter(action="campaign.edit", object_id=str(campaign.pk)).count() == 1
    services.campaign_start(actor=city, campaign_id=campaign.pk)
    campaign.refresh_from_db()
    assert campaign.state == CampaignState.RUNNING


def test_a_field_left_out_stays_and_an_unchanged_past_deadline_is_not_checked(world):
    campaign = overdue_draft(world)
    services.campaign_edit(actor=world.users["city"], campaign_id=campaign.pk, note="先补充要求")
    campaign.refresh_from_db()
    assert (campaign.name, campaign.deadline, campaign.note) == ("晋城市冬季走访", _days(-3), "先补充要求")


def test_bad_input_is_refused_beside_its_field_and_changes_nothing(world):
    campaign = overdue_draft(world)
    city = world.users["city"]
    past = _refused(services.campaign_edit, actor=city, campaign_id=campaign.pk, deadline=_days(-1))
    assert past.field_errors == {"deadline": ["截止日期不能早于今天"]}
    blank = _refused(services.campaign_edit, actor=city, campaign_id=campaign.pk, name="  ", deadline=_days(5))
    assert blank.field_errors == {"name": ["请填写活动名称"]}
    campaign.refresh_from_db()
    assert (campaign.name, campaign.deadline, campaign.version) == ("晋城市冬季走访", _days(-3), 0)
    assert not campaign.events.filter(kind="updated").exists()


def test_only_the_city_of_the_campaign_edits_it_and_not_once_it_ended(world):
    campaign = open_campaign(world)  # running
    edit = {"campaign_id": campaign.pk, "deadline": _days(30)}
    # another city's regulator does not see it; a bank administrator neither
    other_city = user_with_role(Role.CITY_REGULATOR, region_code="140100")
    assert _refused(services.campaign_edit, actor=other_city, **edit).code == "not_found"
    assert _refused(services.campaign_edit, actor=world.users["boc_admin"], **edit).code == "not_found"
    # the county task force and the province see it but may not edit it
    staff = _refused(services.campaign_edit, actor=world.users["staff"], **edit)
    assert staff.code == "permission_denied" and staff.message == "您的角色无权修改活动"
    province = user_with_role(Role.PROVINCE_REGULATOR)
    assert _refused(services.campaign_edit, actor=province, **edit).code == "permission_denied"
    # ended: refused with its state
    services.campaign_end(actor=world.users["city"], campaign_id=campaign.pk)
    ended = _refused(services.campaign_edit, actor=world.users["city"], **edit)
    assert ended.code == "conflict" and ended.message == "当前状态不能修改活动(当前状态: 已结束)"
    campaign.refresh_from_db()
    assert campaign.deadline == _days(20) and campaign.version == 0


def test_an_edit_made_from_an_older_version_is_refused_and_the_first_edit_stays(world):
    campaign = overdue_draft(world)
    seen = campaign.version
    services.campaign_edit(actor=world.users["city"], campaign_id=campaign.pk, deadline=_days(10), version=seen)
    stale = _refused(
        services.campaign_edit, actor=world.users["city"], campaign_id=campaign.pk, deadline=_days(40), version=seen
    )
    assert stale.code == "conflict" and stale.message == "该活动已被他人修改, 请刷新页面查看最新内容后重新修改"
    campaign.refresh_from_db()
    assert campaign.deadline == _days(10) and campaign.version == seen + 1


def test_a_running_campaigns_new_deadline_is_the_one_its_visits_and_the_overdue_scan_follow(world, cw):
    # given a running campaign due in 20 days: one target assigned with the deadline, one due in 5 days
    first, second, third = Target.objects.filter(campaign=cw.campaign, excluded=False).order_by("pk")[:3]
    visitor, staff, city = cw.users["visitor"], world.users["staff"], world.users["city"]
    services.assignments_make(actor=staff, campaign_id=cw.campaign.pk, visitor_id=visitor.pk, target_ids=[first.pk])
    services.assignments_make(
        actor=staff, campaign_id=cw.campaign.pk, visitor_id=visitor.pk, target_ids=[second.pk], due_on=_days(5)
    )
    # when the city moves the deadline to 30 days
    services.campaign_edit(actor=city, campaign_id=cw.campaign.pk, deadline=_days(30))
    # then the assignment that followed the deadline follows the new one, the earlier one stays
    due = dict(Assignment.objects.filter(campaign=cw.campaign).values_list("target_id", "due_on"))
    assert due == {first.pk: _days(30), second.pk: _days(5)}
    assert "1 户走访期限随之调整" in cw.campaign.events.get(kind="updated").note
    # and the scan on day 25 finds only the one due on day 5 late (the old deadline, day 20, passed)
    now = timezone.now()
    assert overdue_scan(now + dt.timedelta(days=25)) == 1
    assert Assignment.objects.get(target=second).overdue_notified_at is not None
    assert Assignment.objects.get(target=first).overdue_notified_at is None
    # and on day 31 the other one too
    assert overdue_scan(now + dt.timedelta(days=31)) == 1
    # a shorter deadline brings the later due dates back to it
    services.assignments_make(actor=staff, campaign_id=cw.campaign.pk, visitor_id=visitor.pk, target_ids=[third.pk])
    services.campaign_edit(actor=city, campaign_id=cw.campaign.pk, deadline=_days(4))
    due = dict(Assignment.objects.filter(campaign=cw.campaign).values_list("target_id", "due_on"))
    assert due == {first.pk: _days(4), second.pk: _days(4), third.pk: _days(4)}
    # a moved assignment that was reminded before is reminded again once late by its new date
    assert Assignment.objects.get(target=first).overdue_notified_at is None
    assert overdue_scan(now + dt.timedelta(days=5)) == 3


@pytest.mark.django_db(transaction=True)
def test_two_edits_of_one_campaign_at_once_one_wins_the_other_is_told(world, run_together):
    # given a draft past its deadline, and two people of the city mechanism with its edit form open
    campaign = overdue_draft(world)
    mechanism = world.users["city"].memberships.first().organisation
    colleague = user_with_role(Role.CITY_REGULATOR, organisation=mechanism, username="city-edit-2")
    seen = campaign.version
    # when both save at the same moment
    outcomes = run_together(
        lambda: services.campaign_edit(
            actor=world.users["city"], campaign_id=campaign.pk, deadline=_days(10), version=seen
        ),
        lambda: services.campaign_edit(actor=colleague, campaign_id=campaign.pk, deadline=_days(20), version=seen),
    )
    # then one edit is made and the other is told the campaign changed; nothing is mixed
    assert sorted(o[0] for o in outcomes) == ["ok", "refused"]
    assert "该活动已被他人修改, 请刷新页面查看最新内容后重新修改" in [o[1] for o in outcomes]
    campaign.refresh_from_db()
    winner = next(o[1] for o in outcomes if o[0] == "ok")
    assert campaign.version == seen + 1 and campaign.deadline == winner.deadline
    assert campaign.events.filter(kind="updated").count() == 1


# --- the API -------------------------------------------------------------------------------------


def test_the_city_patches_a_campaign_and_a_field_left_out_stays(world):
    campaign = overdue_draft(world)
    answer = _api(world.users["city"]).patch(
        f"/api/v1/campaigns/{campaign.pk}/", {"deadline": _days(12).isoformat(), "version": 0}, format="json"
    )
    assert answer.status_code == 200
    body = answer.json()
    assert body["deadline"] == _days(12).isoformat() and body["name"] == "晋城市冬季走访" and body["version"] == 1
    assert body["days_left"] == 12
    started = _api(world.users["city"]).post(f"/api/v1/campaigns/{campaign.pk}/start/")
    assert started.status_code == 200 and started.json()["state"] == "running"


def test_patch_refusals_outsiders_roles_states_bad_dates_and_stale_versions(world):
    campaign = overdue_draft(world)
    url = f"/api/v1/campaigns/{campaign.pk}/"
    body = {"deadline": _days(12).isoformat()}
    # an outsider (another city, a bank) does not find it; a county's staff and the province are refused
    assert _api(user_with_role(Role.CITY_REGULATOR, region_code="140100")).patch(url, body).status_code == 404
    assert _api(world.users["boc_admin"]).patch(url, body).status_code == 404
    forbidden = _api(world.users["staff"]).patch(url, body, format="json")
    assert forbidden.status_code == 403 and forbidden.json()["message"] == "您的角色无权修改活动"
    assert _api(user_with_role(Role.PROVINCE_REGULATOR)).patch(url, body, format="json").status_code == 403
    city = _api(world.users["city"])
    # a date that is not one, a past date, an empty name: field errors in Chinese
    bad = city.patch(url, {"deadline": "2026-13-45"}, format="json")
    assert bad.status_code == 400 and list(bad.json()["errors"]) == ["deadline"]
    assert not bad.json()["errors"]["deadline"][0].isascii()
    past = city.patch(url, {"deadline": _days(-1).isoformat()}, format="json")
    assert past.status_code == 400 and past.json()["errors"] == {"deadline": ["截止日期不能早于今天"]}
    blank = city.patch(url, {"name": ""}, format="json")
    assert blank.status_code == 400 and "name" in blank.json()["errors"]
    # a stale version: 409, the other edit stays
    assert city.patch(url, {**body, "version": 0}, format="json").status_code == 200
    stale = city.patch(url, {"deadline": _days(40).isoformat(), "version": 0}, format="json")
    assert stale.status_code == 409 and stale.json()["errors"]["version"][0].startswith("该活动已被他人修改")
    # ended: 409 with its state
    city.post(f"/api/v1/campaigns/{campaign.pk}/start/")
    city.post(f"/api/v1/campaigns/{campaign.pk}/end/")
    ended = city.patch(url, {"note": "补充"}, format="json")
    assert ended.status_code == 409 and "已结束" in ended.json()["message"]
    campaign.refresh_from_db()
    assert campaign.deadline == _days(12) and campaign.note == ""
    # PUT is not offered
    assert city.put(url, body, format="json").status_code == 405


# --- the page ------------------------------------------------------------------------------------


def test_the_city_edits_a_draft_past_its_deadline_from_its_page_and_starts_it(world):
    campaign = overdue_draft(world)
    city = _page(world.users["city"])
    detail = city.get(f"/campaigns/{campaign.pk}/").content.decode()
    assert 'data-testid="campaign-edit"' in detail
    # the start is refused with the reason
    city.post(f"/campaigns/{campaign.pk}/start/")
    assert "截止日期已过, 请先修改截止日期" in city.get(f"/campaigns/{campaign.pk}/").content.decode()
    # the edit form is the create form, pre-filled, without the counties
    form = city.get(f"/campaigns/{campaign.pk}/edit/").content.decode()
    assert 'value="晋城市冬季走访"' in form and f'value="{_days(-3):%Y-%m-%d}"' in form
    assert 'name="counties"' not in form and 'name="version" value="0"' in form and "保存修改" in form
    # a past date is refused beside its field, with what was typed kept
    answer = city.post(
        f"/campaigns/{campaign.pk}/edit/", {"name": "冬季走访", "deadline": _days(-1).isoformat(), "version": 0}
    )
    assert answer.status_code == 400
    assert (
        'data-testid="error-deadline"' in answer.content.decode() and "截止日期不能早于今天" in answer.content.decode()
    )
    answer = city.post(
        f"/campaigns/{campaign.pk}/edit/",
        {"name": "冬季走访", "deadline": _days(9).isoformat(), "note": "延期", "version": 0},
    )
    assert answer.status_code == 302 and answer["Location"] == f"/campaigns/{campaign.pk}/"
    city.post(f"/campaigns/{campaign.pk}/start/")
    campaign.refresh_from_db()
    assert (campaign.name, campaign.deadline, campaign.state) == ("冬季走访", _days(9), CampaignState.RUNNING)
    # the same form again, from the version it was drawn from: told the campaign changed
    stale = city.post(
        f"/campaigns/{campaign.pk}/edit/", {"name": "又改", "deadline": _days(9).isoformat(), "version": 0}
    )
    assert stale.status_code == 400 and "该活动已被他人修改" in stale.content.decode()
    assert Campaign.objects.get(pk=campaign.pk).name == "冬季走访"


def test_the_edit_button_and_page_follow_the_table(world):
    campaign = open_campaign(world)  # running: the city may edit it
    city, staff = _page(world.users["city"]), _page(world.users["staff"])
    assert 'data-testid="campaign-edit"' in city.get(f"/campaigns/{campaign.pk}/").content.decode()
    # the county task force sees the campaign but no button, and the page refuses it
    assert 'data-testid="campaign-edit"' not in staff.get(f"/campaigns/{campaign.pk}/").content.decode()
    refused = staff.get(f"/campaigns/{campaign.pk}/edit/")
    assert refused.status_code == 403 and "您的角色无权修改活动" in refused.content.decode()
    # another city: not found
    other = _page(user_with_role(Role.CITY_REGULATOR, region_code="140100"))
    assert other.get(f"/campaigns/{campaign.pk}/edit/").status_code == 404
    assert other.post(f"/campaigns/{campaign.pk}/edit/", {"name": "x"}).status_code == 404
    # ended: no button, the page sends back to the campaign with the reason
    services.campaign_end(actor=world.users["city"], campaign_id=campaign.pk)
    assert 'data-testid="campaign-edit"' not in city.get(f"/campaigns/{campaign.pk}/").content.decode()
    answer = city.get(f"/campaigns/{campaign.pk}/edit/", follow=True)
    assert "当前状态不能修改活动(当前状态: 已结束)" in answer.content.decode()
