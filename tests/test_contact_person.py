"""Contact persons (issue 17 part 5: "every bank branch and department has a named contact (name,
phone) shown on leads, problems and 督办单"; seed 004_b2811ebd7ee390f8.txt 十六 "确保信息畅通对称"),
kept by the organisation's own administrator."""

import pytest
from django.test import Client
from django.urls import reverse

from coordination.factories import departments, open_problem
from matching.factories import pushed
from portal.errors import ApplicationError
from portal.models import AuditEvent
from portal.services import organisation_contact_update
from reporting.factories import build_overdue
from reporting.supervision.services import supervision_issue

pytestmark = pytest.mark.django_db


def _client(user):
    client = Client()
    client.force_login(user)
    return client


def test_银行管理员为其支行指定联系人_线索页面显示(world):
    """ "确保信息畅通对称": the branch's contact is on its leads."""
    _, _, recs = pushed(world, banks=("boc",))
    branch = recs["boc"].branch.organisation
    # when 中国银行晋城分行's administrator names the contact of the branch below it, through the page
    response = _client(world.users["boc_admin"]).post(
        f"{reverse('organisation_contact')}?id={branch.pk}", {"contact_name": "冯经理", "contact_phone": "13803561234"}
    )
    assert response.status_code == 302
    branch.refresh_from_db()
    assert (branch.contact_name, branch.contact_phone) == ("冯经理", "13803561234")
    assert AuditEvent.objects.filter(action="organisation.contact_update", object_id=str(branch.pk)).count() == 1
    # then the task force sees it on the lead
    page = _client(world.users["staff"]).get(reverse("matching:lead_detail", args=[recs["boc"].pk])).content.decode()
    assert "联系人 冯经理 13803561234" in page


def test_职能部门为本部门指定联系人_批分单页面显示(world):
    found = departments(world)
    problem = open_problem(world, found)
    organisation_contact_update(
        actor=found.users["department"],
        organisation_id=found.county.pk,
        contact_name="钱科长",
        contact_phone="0356-6012345",
    )
    page = _client(world.users["staff"]).get(reverse("coordination:problem_detail", args=[problem.pk])).content.decode()
    assert "联系人 钱科长 0356-6012345" in page


@pytest.mark.parametrize("who", ["boc_manager", "ccb_admin", "staff", "city"])
def test_只有本单位管理员可以修改联系人(world, who):
    """A manager (not the administrator), another bank's administrator, the mechanism: refused as unknown."""
    branch = world.branches["boc"].organisation
    with pytest.raises(ApplicationError) as refused:
        organisation_contact_update(
            actor=world.users[who], organisation_id=branch.pk, contact_name="冒名", contact_phone="13800000000"
        )
    assert refused.value.code == "not_found"
    branch.refresh_from_db()
    assert branch.contact_name == ""
    assert _client(world.users[who]).get(f"{reverse('organisation_contact')}?id={branch.pk}").status_code == 404


def test_部门不能修改其他部门的联系人(world):
    found = departments(world)
    with pytest.raises(ApplicationError) as refused:
        organisation_contact_update(
            actor=found.users["department"],
            organisation_id=found.county_other.pk,
            contact_name="冒名",
            contact_phone="13800000000",
        )
    assert refused.value.code == "not_found"


def test_联系电话格式有误时表单保留输入并标出字段(world):
    branch = world.branches["boc"].organisation
    response = _client(world.users["boc_admin"]).post(
        f"{reverse('organisation_contact')}?id={branch.pk}", {"contact_name": "冯经理", "contact_phone": "电话"}
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "请填写联系电话(手机号或区号-座机号)" in body and 'value="冯经理"' in body
    branch.refresh_from_db()
    assert branch.contact_phone == ""


def test_线索API输出承办机构联系人(world):
    """ "确保信息畅通对称": the branch's contact is in the API's lead list and detail too."""
    _, _, recs = pushed(world, banks=("boc",))
    branch = recs["boc"].branch.organisation
    organisation_contact_update(
        actor=world.users["boc_admin"], organisation_id=branch.pk, contact_name="冯经理", contact_phone="13803561234"
    )
    client = _client(world.users["boc_admin"])
    listed = {row["id"]: row for row in client.get("/api/v1/leads/").json()["results"]}
    assert (listed[recs["boc"].pk]["branch_contact_name"], listed[recs["boc"].pk]["branch_contact_phone"]) == (
        "冯经理",
        "13803561234",
    )
    detail = client.get(f"/api/v1/leads/{recs['boc'].pk}/").json()
    assert detail["branch_contact_name"] == "冯经理"


def test_批分单API输出承办部门联系人(world):
    """ "确保信息畅通对称": the department's contact is in the API's 批分单 list and detail."""
    # given a 批分单 routed to 泽州县自然资源局, whose staff named its contact
    found = departments(world)
    problem = open_problem(world, found)
    organisation_contact_update(
        actor=found.users["department"],
        organisation_id=found.county.pk,
        contact_name="钱科长",
        contact_phone="0356-6012345",
    )
    # when the task force reads it through the API
    client = _client(world.users["staff"])
    listed = {row["id"]: row for row in client.get("/api/v1/problems/").json()["results"]}
    detail = client.get(f"/api/v1/problems/{problem.pk}/").json()
    # then both carry the contact
    for row in (listed[problem.pk], detail):
        assert (row["department_contact_name"], row["department_contact_phone"]) == ("钱科长", "0356-6012345")


def test_督办单API输出被督办单位联系人(world):
    """ "确保信息畅通对称": the supervised branch's contact is in the API's 督办单 output."""
    # given an overdue lead of 中国银行泽州支行, whose administrator named the branch's contact
    overdue = build_overdue(world)
    lead = overdue.overdue_leads[0]
    organisation_contact_update(
        actor=world.users["boc_admin"],
        organisation_id=lead.branch.organisation_id,
        contact_name="冯经理",
        contact_phone="13803561234",
    )
    # when the city mechanism issues a 督办单 to that branch and reads it through the API
    order = supervision_issue(
        actor=world.users["city"],
        target_id=lead.branch.organisation_id,
        subject="逾期未反馈督办",
        demand="请于期限内反馈逾期线索",
        due_working_days=3,
        lead_ids=[lead.pk],
    )
    client = _client(world.users["city"])
    listed = {row["id"]: row for row in client.get("/api/v1/supervision-orders/").json()["results"]}
    detail = client.get(f"/api/v1/supervision-orders/{order.pk}/").json()
    # then both carry the branch's contact
    for row in (listed[order.pk], detail):
        assert (row["target_contact_name"], row["target_contact_phone"]) == ("冯经理", "13803561234")
