"""督办单: supervision that acts (seed 004_b2811ebd7ee390f8.txt 十六 "及时发现问题、解决问题,
协调各部门共同帮助小微企业和基层银行机构排除困难"; 十七 "各地各有关部门在工作中遇到的问题和重要事项,
及时向各级协调机制报告"; issue 17 part 5: "逾期督办 drills down from every count to the overdue
leads … a regulator can issue a 督办单 to a bank branch (or a department) with a due date; the
branch acknowledges and answers in the portal; unanswered ones escalate")."""

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse

from matching.factories import pushed
from matching.models import Notification
from portal.errors import ApplicationError
from portal.factories import OrganisationFactory, region, user_with_role
from portal.models import AuditEvent, OrganisationKind, Role
from reporting.models import SupervisionEvent, SupervisionState
from reporting.supervision import services as s
from reporting.supervision.scan import supervision_scan
from workdays.arithmetic import local_date
from workdays.loader import calendar_from_db

pytestmark = pytest.mark.django_db


def _issue(world, actor=None, **overrides):
    lead = world.overdue_leads[0]
    values = {
        "target_id": lead.branch.organisation_id,
        "subject": "逾期未反馈督办",
        "demand": "请于期限内反馈逾期线索",
        "due_working_days": 3,
        "lead_ids": [r.pk for r in world.overdue_leads],
    }
    values.update(overrides)
    return s.supervision_issue(actor=actor or world.users["city"], **values)


def _page(user, url, **post):
    client = Client()
    client.force_login(user)
    return client.post(url, post) if post else client.get(url)


def test_逾期督办_每个笔数下钻到的明细行数等于该笔数(overdue_world):
    """ "逾期督办 drills down from every count to the overdue leads": the counts, counted by hand
    (two 中国银行 leads overdue, one 批分单 of 自然资源局), equal the rows each link lists."""
    world = overdue_world
    city = world.users["city"]
    # when the city mechanism opens 逾期督办
    page = _page(city, reverse("matching:overdue")).content.decode()
    # then 中国银行泽州支行 shows 2 overdue feedbacks and 自然资源局 1 overdue 批分单, each a link
    branch = world.overdue_leads[0].branch
    lead_link = f"{reverse('reporting:overdue_drilldown')}?branch={branch.pk}&amp;kind=feedback"
    problem_link = f"{reverse('reporting:overdue_drilldown')}?department={world.department.pk}"
    assert f'href="{lead_link}" data-testid="overdue-count">2</a>' in page
    assert f'href="{problem_link}" data-testid="overdue-problem-count">1</a>' in page
    # and each drill-down lists exactly those rows
    leads = _page(city, lead_link.replace("&amp;", "&")).content.decode()
    assert leads.count('data-testid="drill-lead-row"') == 2
    assert all(r.entity.name in leads for r in world.overdue_leads)
    problems = _page(city, problem_link).content.decode()
    assert problems.count('data-testid="drill-problem-row"') == 1
    assert world.overdue_problem.number in problems


def test_市级协调机制从下钻页面向银行机构下发督办单_银行管理员收到通知(overdue_world):
    """ "a regulator can issue a 督办单 to a bank branch … with a due date" (seed 004 十六)."""
    world = overdue_world
    branch = world.overdue_leads[0].branch
    url = f"{reverse('reporting:overdue_drilldown')}?branch={branch.pk}&kind=feedback"
    # when the city mechanism ticks both leads and issues the order
    response = _page(
        world.users["city"],
        url,
        target_id=branch.organisation_id,
        subject="逾期未反馈督办",
        demand="请三个工作日内反馈",
        due_working_days=3,
        lead_ids=[r.pk for r in world.overdue_leads],
    )
    # then the order exists, names both leads, is due in 3 working days and waits for signing
    assert response.status_code == 302
    detail = _page(world.users["city"], response["Location"]).content.decode()
    assert "待签收" in detail and all(r.entity.name in detail for r in world.overdue_leads)
    # and the bank's administrator is told, the issue audited
    assert (
        Notification.objects.filter(recipient=world.users["boc_admin"], title__contains="逾期未反馈督办").count() == 1
    )
    assert AuditEvent.objects.filter(action="supervision.issue", actor=world.users["city"]).count() == 1


def test_督办单_签收_回复_办结_时间线记录每一步(overdue_world):
    """ "the branch acknowledges and answers in the portal"."""
    world = overdue_world
    order = _issue(world)
    admin = world.users["boc_admin"]
    s.supervision_acknowledge(actor=admin, order_id=order.pk)
    s.supervision_answer(actor=admin, order_id=order.pk, answer="两笔线索已联系企业并反馈")
    s.supervision_close(actor=world.users["city"], order_id=order.pk, note="办结")
    order.refresh_from_db()
    assert order.state == SupervisionState.CLOSED
    assert order.answer == "两笔线索已联系企业并反馈"
    assert list(order.events.values_list("kind", flat=True)) == ["issued", "acknowledged", "answered", "closed"]
    assert set(AuditEvent.objects.filter(action__startswith="supervision.").values_list("action", flat=True)) == {
        "supervision.issue",
        "supervision.acknowledge",
        "supervision.answer",
        "supervision.close",
    }
    # and the issuer hears of the answer
    assert Notification.objects.filter(recipient=world.users["city"], title__contains="已回复办理情况").exists()


def test_督办单_向职能部门下发_部门签收回复(overdue_world):
    """ "协调各部门共同帮助小微企业": a 督办单 to a 职能部门 about its overdue 批分单."""
    world = overdue_world
    order = _issue(world, target_id=world.department.pk, lead_ids=[], problem_ids=[world.overdue_problem.pk])
    assert Notification.objects.filter(recipient=world.users["department"], url__contains=f"/{order.pk}/").exists()
    s.supervision_answer(actor=world.users["department"], order_id=order.pk, answer="已完成抵押登记")
    order.refresh_from_db()
    assert order.state == SupervisionState.ANSWERED


@pytest.mark.parametrize(
    "who, code",
    [
        ("boc_manager", "permission_denied"),  # a manager, not the administrator
        ("ccb_admin", "not_found"),  # another bank's administrator
        ("department", "not_found"),  # a department the order is not for
        ("staff", "not_found"),  # task-force staff do not answer for banks
    ],
)
def test_督办单只能由被督办单位管理员签收(overdue_world, who, code):
    """ "the branch's administrator acknowledges": nobody else."""
    world = overdue_world
    order = _issue(world)
    with pytest.raises(ApplicationError) as refused:
        s.supervision_acknowledge(actor=world.users[who], order_id=order.pk)
    assert refused.value.code == code
    order.refresh_from_db()
    assert order.state == SupervisionState.ISSUED


def _outsiders(world):
    """The task-force lead of 阳城县 (another county of 晋城) and the mechanism of 大同 (another city)."""
    city = world.county.parent
    yangcheng = OrganisationFactory(
        kind=OrganisationKind.TASK_FORCE, region=region("140522"), parent=city, name="阳城县专班"
    )
    datong = OrganisationFactory(
        kind=OrganisationKind.CITY_MECHANISM, region=region("140200"), parent=city.parent, name="大同市机制"
    )
    return [
        user_with_role(Role.TASK_FORCE_LEAD, organisation=yangcheng, username="sv-yc-lead"),
        user_with_role(Role.CITY_REGULATOR, organisation=datong, username="sv-dt-city"),
    ]


def test_其他县区或其他城市的监管机构不能向本辖区银行下发或查看督办单(overdue_world):
    """Another county's task-force lead and another city's mechanism reach neither the branch nor the order."""
    world = overdue_world
    order = _issue(world)
    for outsider in _outsiders(world):
        with pytest.raises(ApplicationError) as refused:
            _issue(world, actor=outsider)
        assert refused.value.code == "not_found"
        assert _page(outsider, reverse("reporting:supervision_detail", args=[order.pk])).status_code == 404
        assert order.number not in _page(outsider, reverse("reporting:supervision_list")).content.decode()


def test_督办单不能列入其他银行的线索或其他部门的批分单(overdue_world):
    world = overdue_world
    # given a lead of 建设银行 beside 中国银行's overdue ones
    _, _, recs = pushed(world, banks=("ccb",))
    # when the city names it in a 督办单 to 中国银行泽州支行: refused as unknown, nothing issued
    with pytest.raises(ApplicationError) as refused:
        _issue(world, lead_ids=[world.overdue_leads[0].pk, recs["ccb"].pk])
    assert refused.value.field_errors == {"lead_ids": ["记录不存在或您无权操作"]}
    with pytest.raises(ApplicationError) as refused:
        _issue(world, problem_ids=[world.overdue_problem.pk])  # routed to 自然资源局, not to the bank
    assert refused.value.code == "not_found"


def test_专班工作人员和客户经理不能下发督办单(overdue_world):
    world = overdue_world
    for who in ("staff", "boc_manager", "boc_admin"):
        with pytest.raises(ApplicationError) as refused:
            _issue(world, actor=world.users[who])
        assert refused.value.code == "permission_denied"


def test_回复后不能再次签收或回复(overdue_world):
    world = overdue_world
    order = _issue(world)
    admin = world.users["boc_admin"]
    s.supervision_answer(actor=admin, order_id=order.pk, answer="已反馈")
    with pytest.raises(ApplicationError) as refused:
        s.supervision_answer(actor=admin, order_id=order.pk, answer="再次回复")
    assert refused.value.code == "conflict"
    assert "当前状态: 已回复" in refused.value.message


def test_逾期未回复的督办单标记逾期并升级至省级机制_扫描两次只办一次(overdue_world):
    """ "unanswered ones escalate": marked overdue at the due moment, escalated to the mechanism
    above the issuer (the province above the city) a few working days later; run twice, acts once."""
    world = overdue_world
    province = user_with_role(Role.PROVINCE_REGULATOR, organisation=world.county.parent.parent, username="sv-province")
    order = _issue(world)
    answered = _issue(world, subject="已回复的督办单")
    s.supervision_answer(actor=world.users["boc_admin"], order_id=answered.pk, answer="已反馈")
    assert supervision_scan(order.due_at - dt.timedelta(minutes=1)).overdue == 0
    after_due = order.due_at + dt.timedelta(minutes=1)
    assert [supervision_scan(after_due).overdue, supervision_scan(after_due).overdue] == [1, 0]
    late = order.escalate_at + dt.timedelta(minutes=1)
    assert [supervision_scan(late).escalations, supervision_scan(late).escalations] == [1, 0]
    assert list(SupervisionEvent.objects.filter(kind__in=["overdue", "escalated"]).values_list("order_id", "kind")) == [
        (order.pk, "overdue"),
        (order.pk, "escalated"),
    ]
    assert Notification.objects.filter(recipient=province, title__contains="升级至上级协调机制").count() == 1
    assert Notification.objects.filter(recipient=world.users["boc_admin"], title__contains="逾期未回复").count() == 1


def test_回复时限按工作日计算(overdue_world):
    """ "with a due date (working days)": 3 working days after issue, end of day, Shanghai time."""
    world = overdue_world
    order = _issue(world)
    expected = calendar_from_db().add_working_days(local_date(order.created_at), 3)
    assert local_date(order.due_at) == expected
