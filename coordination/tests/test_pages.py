"""批分单 pages (seed 004_b2811ebd7ee390f8.txt 二(七) "填写批分单后转交相关部门协调解决"): the task force
fills one in, the department works it, the declaration and the lead show it."""

import pytest
from django.test import Client

from coordination.factories import open_problem
from coordination.models import Problem, ProblemState
from matching.factories import pushed

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_staff_fill_in_a_批分单_on_the_form_and_bad_input_is_named_in_chinese(world, depts):
    entity, _ = world.entity(name="泽州县表单测试厂")
    staff = _client(world.users["staff"])
    # the form offers the county's departments only
    form = staff.get(f"/coordination/problems/new/?entity={entity.pk}&source=review").content.decode()
    assert entity.uscc in form and "泽州县自然资源局" in form and "晋城市自然资源和规划局" not in form
    # when 容缺受理 is ticked without the commitment
    data = {
        "uscc": entity.uscc,
        "kind": "fixed_asset",
        "source": "review",
        "description": "项目环评批复未下达",
        "department_id": depts.county.pk,
        "due_working_days": "5",
        "tolerance": "on",
    }
    response = staff.post("/coordination/problems/new/", data)
    assert response.status_code == 400 and "请填写企业信用承诺" in response.content.decode()
    assert not Problem.objects.exists()
    # when the commitment is given
    response = staff.post("/coordination/problems/new/", {**data, "commitment_text": "承诺 3 个月内补齐"})
    problem = Problem.objects.get()
    assert response.status_code == 302 and response.url == f"/coordination/problems/{problem.pk}/"
    assert problem.tolerance and problem.department == depts.county


def test_the_department_accepts_and_answers_on_the_detail_page_and_the_staff_see_the_answer(world, depts):
    problem = open_problem(world, depts)
    department = _client(depts.users["department"])
    page = department.get(f"/coordination/problems/{problem.pk}/").content.decode()
    assert "受理" in page and 'data-confirm="确认受理该批分单?"' in page
    department.post(f"/coordination/problems/{problem.pk}/accept/")
    department.post(f"/coordination/problems/{problem.pk}/answer/", {"answer": "已开辟绿色通道"})
    problem.refresh_from_db()
    assert problem.state == ProblemState.ANSWERED
    page = _client(world.users["staff"]).get(f"/coordination/problems/{problem.pk}/").content.decode()
    assert "已开辟绿色通道" in page and "部门答复" in page and "办结" in page
    # another department does not see it at all
    assert _client(depts.users["department_other"]).get(f"/coordination/problems/{problem.pk}/").status_code == 404


def test_a_refused_action_says_why_in_chinese(world, depts):
    problem = open_problem(world, depts)
    response = _client(world.users["staff"]).post(f"/coordination/problems/{problem.pk}/close/", follow=True)
    assert "当前状态不能办结批分单(当前状态: 待部门受理)" in response.content.decode()


def test_the_declaration_and_the_lead_show_the_entitys_open_problems(world, depts):
    declaration, _, recs = pushed(world)
    open_problem(world, depts, entity=declaration.entity, description="抵押登记待办")
    for user, url in (
        (world.users["staff"], f"/matching/declarations/{declaration.pk}/"),
        (world.users["boc_admin"], f"/matching/leads/{recs['boc'].pk}/"),
    ):
        html = _client(user).get(url).content.decode()
        assert 'data-testid="entity-problems"' in html and "抵质押登记 · 泽州县自然资源局 · 待部门受理" in html


def test_the_department_home_counts_what_waits_for_it(world, depts):
    open_problem(world, depts)
    html = _client(depts.users["department"]).get("/").content.decode()
    assert "职能部门工作台" in html and "待受理 1 件" in html
