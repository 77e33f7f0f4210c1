"""批分单 API (seed 004_b2811ebd7ee390f8.txt 二(七)): the same services and rules as the pages."""

import pytest
from rest_framework.test import APIClient

from coordination.factories import open_problem
from coordination.models import ProblemState

pytestmark = pytest.mark.django_db


def _api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_staff_open_a_批分单_and_the_department_answers_through_the_api(world, depts):
    entity, _ = world.entity(name="泽州县接口测试厂")
    body = {
        "entity_id": entity.pk,
        "kind": "collateral",
        "source": "bank",
        "description": "抵押登记",
        "department_id": depts.county.pk,
        "due_working_days": 5,
    }
    created = _api(world.users["staff"]).post("/api/v1/problems/", body, format="json")
    assert created.status_code == 201, created.content
    pk = created.json()["id"]
    assert created.json()["state_label"] == "待部门受理"
    department = _api(depts.users["department"])
    assert department.post(f"/api/v1/problems/{pk}/accept/", {}, format="json").status_code == 200
    answered = department.post(f"/api/v1/problems/{pk}/answer/", {"answer": "已办结登记"}, format="json")
    assert answered.json()["state"] == ProblemState.ANSWERED
    assert [e["kind_label"] for e in answered.json()["events"]] == ["填写批分单", "部门受理", "部门答复"]
    listed = _api(world.users["staff"]).get("/api/v1/problems/?state=answered").json()["results"]
    assert [row["id"] for row in listed] == [pk]


def test_bad_input_gets_chinese_field_errors_and_a_role_never_allowed_403(world, depts):
    problem = open_problem(world, depts)
    staff = _api(world.users["staff"])
    response = staff.post("/api/v1/problems/", {"entity_id": 0, "kind": "x", "due_working_days": 99}, format="json")
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert {"entity_id", "kind", "due_working_days", "description", "department_id", "source"} <= set(errors)
    assert all(not m.isascii() for messages in errors.values() for m in messages)
    # a department user may never open one: 403 before its input is read
    refused = _api(depts.users["department"]).post("/api/v1/problems/", {}, format="json")
    assert refused.status_code == 403 and refused.json()["message"] == "您的角色无权填写批分单"
    # the staff may not answer for the department
    assert staff.post(f"/api/v1/problems/{problem.pk}/answer/", {"answer": "x"}, format="json").status_code == 403
    # another department: as if it did not exist
    other = _api(depts.users["department_other"])
    assert other.post(f"/api/v1/problems/{problem.pk}/accept/", {}, format="json").status_code == 404
