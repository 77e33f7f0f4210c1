"""批分单 services (seed 004_b2811ebd7ee390f8.txt 二(七)): "各县区专班要发挥统筹协调作用, 及时收集银行、
企业反映的困难问题, 填写批分单后转交相关部门协调解决"."""

import datetime as dt

import pytest

from coordination import services as s
from coordination.factories import open_problem
from coordination.models import ProblemEvent, ProblemLevel, ProblemState
from matching.models import Notification
from portal.errors import ApplicationError
from portal.factories import OrganisationFactory, region, user_with_role
from portal.models import AuditEvent, OrganisationKind, Role
from workdays.arithmetic import local_date
from workdays.loader import calendar_from_db

pytestmark = pytest.mark.django_db


def _refused(call, **kwargs) -> ApplicationError:
    with pytest.raises(ApplicationError) as caught:
        call(**kwargs)
    return caught.value


def test_专班填写批分单后转交相关部门_with_a_due_date_in_working_days(world, depts):
    """ "填写批分单后转交相关部门协调解决": the task force's staff route the problem to the county's
    department; the due date counts working days on the calendar; the department is told."""
    # when staff fill in a 批分单 for an entity of 泽州 (5 working days)
    problem = open_problem(world, depts)

    # then it waits at the department, due at the end of the 5th working day from today
    assert problem.state == ProblemState.ROUTED and problem.level == ProblemLevel.COUNTY
    assert problem.department == depts.county and problem.region_id == "140525"
    expected = calendar_from_db().add_working_days(local_date(problem.routed_at), 5)
    assert local_date(problem.due_at) == expected
    assert list(problem.events.values_list("kind", flat=True)) == ["opened"]
    # and the department's staff (only them) are notified, and the opening is audited
    told = Notification.objects.filter(url=f"/coordination/problems/{problem.pk}/")
    assert set(told.values_list("recipient__username", flat=True)) == {"pf-dept"}
    assert AuditEvent.objects.filter(action="problem.open", object_id=str(problem.pk)).exists()


def test_固定资产贷款前期手续_容缺受理_is_recorded_with_the_enterprises_credit_commitment(world, depts):
    """ "涉及固定资产贷款前期手续的, 企业作出信用承诺后依法依规适用'容缺受理'": 容缺受理 is recorded only
    with the commitment's text."""
    # when 容缺受理 is asked for without the commitment
    error = _refused(open_problem, world=world, found=depts, kind="fixed_asset", tolerance=True, commitment_text="  ")
    # then it is refused, naming the field in Chinese
    assert error.field_errors == {"commitment_text": ["请填写企业信用承诺"]}

    # when the commitment is given
    problem = open_problem(
        world, depts, kind="fixed_asset", tolerance=True, commitment_text="本企业承诺三个月内补齐环评批复"
    )
    # then both are recorded
    assert problem.tolerance and problem.commitment_text == "本企业承诺三个月内补齐环评批复"


@pytest.mark.parametrize(
    ("override", "field", "message"),
    [
        ({"kind": "weather"}, "kind", "请选择问题类型"),
        ({"source": ""}, "source", "请选择问题来源"),
        ({"description": ""}, "description", "请填写问题描述"),
        ({"due_working_days": 0}, "due_working_days", "办理时限须为 1 至 60 个工作日"),
        ({"due_working_days": "五"}, "due_working_days", "办理时限须为 1 至 60 个工作日"),
        ({"due_working_days": 61}, "due_working_days", "办理时限须为 1 至 60 个工作日"),
        ({"department_id": "abc"}, "department_id", "记录不存在或您无权操作"),
        ({"entity_id": 2_000_000_000}, "entity_id", "记录不存在或您无权操作"),
    ],
)
def test_bad_input_is_refused_with_chinese_field_errors(world, depts, override, field, message):
    error = _refused(open_problem, world=world, found=depts, **override)
    assert error.field_errors == {field: [message]}


def test_a_department_of_another_level_or_county_is_refused_as_not_found(world, depts):
    # given a department of the city and one of another county
    other = OrganisationFactory(kind=OrganisationKind.DEPARTMENT, region=region("140212"), name="新荣区自然资源局")
    for department in (depts.city, other):
        # when the county's staff route a problem there
        error = _refused(open_problem, world=world, found=depts, department_id=department.pk)
        # then the department is refused like one that does not exist
        assert error.code == "not_found" and error.field_errors == {"department_id": ["记录不存在或您无权操作"]}


@pytest.mark.parametrize("who", ["department", "boc_admin", "reviewer", "convener", "city"])
def test_only_the_county_task_force_fills_in_a_批分单(world, depts, who):
    actor = depts.users.get(who) or world.users[who]
    error = _refused(open_problem, world=world, found=depts, actor=actor)
    assert error.code in ("permission_denied", "not_found")
    assert not ProblemEvent.objects.exists()


def test_部门受理_办理_答复_and_the_task_force_sees_the_answer(world, depts):
    """ "协调职能部门在依法合规的基础上开辟绿色通道、并联审批, 加快办理": the department accepts, answers;
    the task force is told and closes it."""
    problem = open_problem(world, depts)
    department = depts.users["department"]
    s.problem_accept(actor=department, problem_id=problem.pk)
    problem = s.problem_answer(actor=department, problem_id=problem.pk, answer="已开辟绿色通道, 3 日内办结抵押登记")
    assert problem.state == ProblemState.ANSWERED and problem.answer.startswith("已开辟绿色通道")
    assert Notification.objects.filter(recipient=world.users["staff"], title__contains="已答复").exists()
    problem = s.problem_close(actor=world.users["lead"], problem_id=problem.pk)
    assert problem.state == ProblemState.CLOSED
    assert list(problem.events.values_list("kind", flat=True)) == ["opened", "accepted", "answered", "closed"]


def test_another_department_or_another_county_cannot_act_on_it(world, depts):
    problem = open_problem(world, depts)
    # another department of the same county does not see it: not found
    error = _refused(s.problem_accept, actor=depts.users["department_other"], problem_id=problem.pk)
    assert error.code == "not_found"
    # another county's task force does not see it either
    other_tf = OrganisationFactory(kind=OrganisationKind.TASK_FORCE, region=region("140212"), name="新荣区专班")
    other_staff = user_with_role(Role.TASK_FORCE_STAFF, organisation=other_tf)
    error = _refused(s.problem_close, actor=other_staff, problem_id=problem.pk)
    assert error.code == "not_found"
    # the task force may not answer for the department (403), and a routed problem is not closed (409)
    assert _refused(s.problem_answer, actor=world.users["staff"], problem_id=problem.pk, answer="x").code == (
        "permission_denied"
    )
    assert _refused(s.problem_close, actor=world.users["staff"], problem_id=problem.pk).code == "conflict"
    problem.refresh_from_db()
    assert problem.state == ProblemState.ROUTED


def test_a_returned_problem_is_routed_to_another_department_with_a_new_deadline(world, depts):
    problem = open_problem(world, depts)
    s.problem_return(actor=depts.users["department"], problem_id=problem.pk, reason="不属于本局职责, 请转市场监管局")
    problem = s.problem_reroute(
        actor=world.users["staff"], problem_id=problem.pk, department_id=depts.county_other.pk, due_working_days=3
    )
    assert problem.state == ProblemState.ROUTED and problem.department == depts.county_other
    assert problem.due_working_days == 3
    s.problem_accept(actor=depts.users["department_other"], problem_id=problem.pk)
    # the department that returned it no longer sees it
    assert _refused(s.problem_accept, actor=depts.users["department"], problem_id=problem.pk).code == "not_found"


def test_不属于县级事权的_经工作机制召集人研究同意后_逐级向上级工作机制反映(world, depts):
    """ "确有困难或不属于县级事权的, 经工作机制召集人研究同意后, 逐级向上级工作机制反映": county → city
    (the county convener agrees) → province (the city convener agrees)."""
    problem = open_problem(world, depts, kind="permit")
    staff, convener = world.users["staff"], world.users["convener"]
    # staff propose it; the convener alone agrees (staff may not)
    s.problem_propose_escalation(actor=staff, problem_id=problem.pk, reason="涉及市级规划调整, 不属于县级事权")
    assert _refused(s.problem_approve_escalation, actor=staff, problem_id=problem.pk).code == "permission_denied"
    assert Notification.objects.filter(recipient=convener, title__contains="提请召集人").exists()
    problem = s.problem_approve_escalation(actor=convener, problem_id=problem.pk, note="同意上报市级机制")
    assert problem.state == ProblemState.ESCALATED and problem.level == ProblemLevel.CITY
    assert problem.department is None
    # the county may no longer act on it; the city mechanism routes it to a city department
    assert (
        _refused(
            s.problem_reroute, actor=staff, problem_id=problem.pk, department_id=depts.county.pk, due_working_days=5
        ).code
        == "permission_denied"
    )
    city = world.users["city"]
    assert Notification.objects.filter(recipient=city, title__contains="同意上报").exists()
    problem = s.problem_reroute(actor=city, problem_id=problem.pk, department_id=depts.city.pk, due_working_days=10)
    assert problem.state == ProblemState.ROUTED and problem.department == depts.city
    # from the city to the province the same way: the county convener may not agree for the city
    s.problem_propose_escalation(actor=city, problem_id=problem.pk, reason="需省级协调")
    assert _refused(s.problem_approve_escalation, actor=convener, problem_id=problem.pk).code == "permission_denied"
    problem = s.problem_approve_escalation(actor=depts.users["city_convener"], problem_id=problem.pk)
    assert problem.level == ProblemLevel.PROVINCE
    province = depts.users["province"]
    s.problem_reroute(actor=province, problem_id=problem.pk, department_id=depts.province.pk, due_working_days=10)
    s.problem_answer(actor=depts.users["province_department"], problem_id=problem.pk, answer="省厅已协调")
    problem = s.problem_close(actor=province, problem_id=problem.pk)
    assert problem.state == ProblemState.CLOSED
    kinds = list(problem.events.values_list("kind", flat=True))
    assert kinds.count("escalation_approved") == 2


def test_the_province_is_the_top_and_a_refused_escalation_returns_to_the_staff(world, depts):
    problem = open_problem(world, depts)
    s.problem_propose_escalation(actor=world.users["staff"], problem_id=problem.pk, reason="不属于县级事权")
    problem = s.problem_refuse_escalation(actor=world.users["convener"], problem_id=problem.pk, reason="县内可协调")
    assert problem.state == ProblemState.RETURNED and problem.level == ProblemLevel.COUNTY
    error = _refused(s.problem_propose_escalation, actor=world.users["staff"], problem_id=problem.pk, reason="")
    assert error.field_errors == {"reason": ["请填写上报理由"]}


def test_a_calendar_year_not_entered_is_refused_in_chinese(world, depts, monkeypatch):
    # given a moment in a year the calendar does not know
    monkeypatch.setattr(s.timezone, "now", lambda: dt.datetime(2099, 3, 2, 9, tzinfo=dt.timezone.utc))
    error = _refused(open_problem, world=world, found=depts)
    assert "工作日历尚未录入" in error.message
