"""Issue 16 item 16, 用户管理 in the portal: "organisation administrators (task-force lead, bank
administrator, city/province regulator for their mechanisms, platform administrator for all)
invite users, assign roles within their subtree, deactivate, reset passwords; every change
audited. The Django admin is for platform administrators only and no role needs it for
daily work." (portal/users.py)"""

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from guardian.conf import settings as guardian_settings

from portal import users
from portal.factories import TEST_PASSWORD, OrganisationFactory, user_with_role
from portal.models import AccountProfile, AuditEvent, Membership, OrganisationKind, Role
from portal.services import ApplicationError

pytestmark = pytest.mark.django_db
User = get_user_model()


def _invite(actor, organisation, role=Role.ACCOUNT_MANAGER, username="new-manager", **extra):
    data = {"full_name": "新客户经理", "phone": "13800000001", "email": "", **extra}
    return users.user_invite(actor=actor, username=username, organisation_id=organisation.pk, role=role, **data)


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


# --- services ---------------------------------------------------------------------------


def test_a_bank_administrator_invites_an_account_manager_of_his_branch_audited(world):
    # given the 晋城 administrator of 中国银行 and its 泽州 sub-branch below him
    admin, branch = world.users["boc_admin"], world.branches["boc"].organisation

    # when he invites an account manager there
    user, password = _invite(admin, branch)

    # then the user exists with that one role, must change the temporary password, is no staff
    assert user.check_password(password) and len(password) == 12
    assert list(user.memberships.values_list("organisation_id", "role")) == [(branch.pk, Role.ACCOUNT_MANAGER)]
    assert AccountProfile.objects.get(user=user).must_change_password
    assert not user.is_staff and not user.is_superuser
    event = AuditEvent.objects.get(action="user.invite", object_id=str(user.pk))
    assert event.actor == admin and event.after["role"] == "客户经理" and password not in str(event.after)


def test_a_bank_administrator_cannot_grant_a_role_above_his_own_or_outside_his_bank(world):
    """ "an admin can never act outside his subtree or grant a role above his own" """
    admin = world.users["boc_admin"]
    branch = world.branches["boc"].organisation
    # a platform administrator or a task-force role: refused on the role field
    for role in (Role.PLATFORM_ADMIN, Role.TASK_FORCE_STAFF, Role.CITY_REGULATOR):
        with pytest.raises(ApplicationError) as refused:
            _invite(admin, branch, role=role, username=f"x-{role.value}")
        assert "您不能授予" in refused.value.field_errors["role"][0]
    # 建设银行's branch or the task force: "not found", like an unknown id
    for organisation in (world.branches["ccb"].organisation, world.task_force):
        with pytest.raises(ApplicationError) as refused:
            _invite(admin, organisation, username="x-foreign")
        assert refused.value.code == "not_found"
        assert refused.value.field_errors["organisation"] == ["记录不存在或您无权操作"]
    assert not User.objects.filter(username__startswith="x-").exists()


def test_a_role_the_organisation_kind_cannot_hold_is_refused(world):
    # a bank reviewer of the task force belongs to the task force (ROLE_ORGANISATION_KINDS), not to a township
    township = OrganisationFactory(
        kind=OrganisationKind.TOWNSHIP, region=world.task_force.region, parent=world.task_force, name="某镇"
    )
    with pytest.raises(ApplicationError) as refused:
        _invite(world.users["lead"], township, role=Role.TASK_FORCE_BANK_REVIEWER)
    assert "不能有「专班银行审核人」角色" in refused.value.field_errors["role"][0]


def test_the_task_force_lead_manages_his_task_force_only(world, other_county):
    lead = world.users["lead"]
    user, _ = _invite(lead, world.task_force, role=Role.TASK_FORCE_STAFF, username="tf-new")
    assert user.memberships.get().role == Role.TASK_FORCE_STAFF
    # not a 召集人 (above him), not in another county, not a user of another county
    with pytest.raises(ApplicationError):
        _invite(lead, world.county, role=Role.CONVENER, username="tf-x")
    with pytest.raises(ApplicationError) as refused:
        _invite(lead, other_county.task_force, role=Role.TASK_FORCE_STAFF, username="tf-y")
    assert refused.value.code == "not_found"
    with pytest.raises(ApplicationError) as refused:
        users.user_deactivate(actor=lead, user_id=other_county.user.pk)
    assert refused.value.code == "not_found"
    assert User.objects.get(pk=other_county.user.pk).is_active


def test_the_city_regulator_manages_the_mechanisms_and_task_forces_below_him(world):
    city = world.users["city"]
    listed = set(users.user_list(user=city).values_list("username", flat=True))
    assert {"wf-staff", "wf-lead", "wf-convener", "wf-city"} <= listed
    assert not any(name.startswith("wf-boc") for name in listed)  # banks are not his
    users.user_update(
        actor=city,
        user_id=world.users["staff"].pk,
        full_name="周干事",
        phone="13800000002",
        organisation_id=world.task_force.pk,
        role=Role.TASK_FORCE_LEAD,
    )
    assert Membership.objects.get(user=world.users["staff"]).role == Role.TASK_FORCE_LEAD
    event = AuditEvent.objects.get(action="user.update")
    assert event.before["role"] == "专班工作人员" and event.after["role"] == "专班组长"


def test_the_list_searches_and_filters_by_organisation_role_and_state(world):
    admin = world.users["boc_admin"]
    branch = world.branches["boc"].organisation
    new, _ = _invite(admin, branch, username="zz-manager", full_name="泽州新经理")
    users.user_deactivate(actor=admin, user_id=new.pk)
    assert [u.username for u in users.user_list(user=admin, q="泽州新")] == ["zz-manager"]
    assert set(users.user_list(user=admin, role=Role.ACCOUNT_MANAGER).values_list("username", flat=True)) == {
        "wf-boc-manager",
        "zz-manager",
    }
    assert [u.username for u in users.user_list(user=admin, is_active=False)] == ["zz-manager"]
    by_branch = users.user_list(user=admin, organisation_id=branch.pk)
    assert "wf-boc-admin" not in {u.username for u in by_branch}


def test_the_platform_administrators_list_holds_people_not_guardians_anonymous_stand_in():
    """Issue 16 item 16, "User management in the portal": the platform administrator's 用户管理
    listed django-guardian's `AnonymousUser` row (English, and no one's account)."""
    # given guardian's stand-in for anonymous visitors, as migrate creates it, and a person
    User = get_user_model()
    stand_in, _ = User.objects.get_or_create(username=guardian_settings.ANONYMOUS_USER_NAME)
    admin = user_with_role(Role.PLATFORM_ADMIN)
    client = Client()
    client.force_login(admin)

    # when the platform administrator lists the users, on the page and through the API
    html = client.get("/users/").content.decode()
    listed = {row["username"] for row in client.get("/api/v1/users/").json()["results"]}

    # then every person is there and the stand-in is neither listed nor reachable
    assert admin.username in html and admin.username in listed
    assert "AnonymousUser" not in html and stand_in.username not in listed
    assert client.get(f"/api/v1/users/{stand_in.pk}/").status_code == 404
    with pytest.raises(ApplicationError):
        users.user_deactivate(actor=admin, user_id=stand_in.pk)


def test_an_administrator_cannot_deactivate_himself(world):
    admin = world.users["boc_admin"]
    with pytest.raises(ApplicationError, match="不能停用自己的账号"):
        users.user_deactivate(actor=admin, user_id=admin.pk)
    assert User.objects.get(pk=admin.pk).is_active


def test_deactivate_reactivate_and_reset_are_audited_and_take_effect(world):
    admin, manager = world.users["boc_admin"], world.users["boc_manager"]
    users.user_deactivate(actor=admin, user_id=manager.pk)
    client = Client()
    client.post("/accounts/login/", {"username": manager.username, "password": TEST_PASSWORD})
    assert client.get("/").status_code == 302  # not signed in: back to the login page
    users.user_reactivate(actor=admin, user_id=manager.pk)
    _, password = users.user_reset_password(actor=admin, user_id=manager.pk)
    manager.refresh_from_db()
    assert manager.is_active and manager.check_password(password)
    actions = list(AuditEvent.objects.filter(object_id=str(manager.pk)).values_list("action", flat=True))
    assert {"user.deactivate", "user.reactivate", "user.reset_password"} <= set(actions)


def test_a_stale_version_is_refused_with_a_chinese_message(world):
    # given two administrators who opened the same user's page
    admin = world.users["boc_admin"]
    second = user_with_role(Role.BANK_ADMIN, organisation=Membership.objects.get(user=admin).organisation)
    manager = world.users["boc_manager"]
    seen = users.user_version(manager)
    common = {"phone": "13800000003", "organisation_id": world.branches["boc"].organisation_id}
    # when the first saves, then the second saves what he saw
    users.user_update(
        actor=admin, user_id=manager.pk, full_name="甲改", role=Role.ACCOUNT_MANAGER, version=seen, **common
    )
    with pytest.raises(ApplicationError) as refused:
        users.user_update(
            actor=second, user_id=manager.pk, full_name="乙改", role=Role.BANK_ADMIN, version=seen, **common
        )
    # then the second is told, and the first one's change stands
    assert refused.value.message == users.CONFLICT_MESSAGE and refused.value.code == "conflict"
    manager.refresh_from_db()
    assert manager.first_name == "甲改"


# --- pages ------------------------------------------------------------------------------


def test_other_tenants_user_ids_in_the_url_answer_404(world, other_county):
    for actor in (world.users["boc_admin"], world.users["lead"]):
        client = _client(actor)
        foreign = other_county.user.pk
        assert client.get(f"/users/{foreign}/").status_code == 404
        assert client.post(f"/users/{foreign}/deactivate/").status_code == 404
        assert client.post(f"/users/{foreign}/reset-password/").status_code == 404
    assert User.objects.get(pk=other_county.user.pk).is_active


def test_the_invite_page_keeps_what_was_typed_and_names_the_fields(world):
    client = _client(world.users["boc_admin"])
    response = client.post(
        "/users/new/", {"username": "a b", "full_name": "王五", "phone": "123", "organisation": "", "role": ""}
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert 'value="王五"' in html
    for message in ("用户名只能包含", "请输入 11 位手机号码", "请选择所属机构", "请选择角色"):
        assert message in html, message


def test_the_invite_page_shows_the_temporary_password_once(world):
    client = _client(world.users["boc_admin"])
    response = client.post(
        "/users/new/",
        {
            "username": "page-manager",
            "full_name": "页面经理",
            "phone": "13800000004",
            "organisation": world.branches["boc"].organisation_id,
            "role": Role.ACCOUNT_MANAGER,
        },
    )
    assert response.status_code == 201 and response["Cache-Control"] == "no-store"
    html = response.content.decode()
    password = html.split('data-testid="temporary-password">')[1].split("<")[0]
    assert User.objects.get(username="page-manager").check_password(password)


def test_a_temporary_password_must_be_changed_at_the_first_sign_in(world):
    user, password = _invite(world.users["boc_admin"], world.branches["boc"].organisation, username="first-login")
    client = Client()
    response = client.post("/accounts/login/", {"username": "first-login", "password": password})
    assert client.get("/").url == "/accounts/password/"
    response = client.post(
        "/accounts/password/",
        {"old_password": password, "new_password1": "Zz-new-pass-2026", "new_password2": "Zz-new-pass-2026"},
    )
    assert response.status_code == 302
    assert client.get("/").status_code == 200
    assert not AccountProfile.objects.get(user=user).must_change_password


@pytest.mark.parametrize("role", [r for r in Role if r != Role.PLATFORM_ADMIN])
def test_only_platform_administrators_reach_the_django_admin(role):
    """ "The Django admin is for platform administrators only" """
    user = user_with_role(role)
    assert not user.is_staff
    assert _client(user).get("/django-admin/").status_code == 302  # to the admin's login: no entry
    if role not in users.MANAGER_ROLES:
        assert _client(user).get("/users/").status_code == 403


# --- API --------------------------------------------------------------------------------


def test_the_api_invites_lists_and_deactivates_with_chinese_field_errors(world, other_county):
    client = _client(world.users["boc_admin"])
    bad = client.post("/api/v1/users/", {"username": "", "role": "boss"}, content_type="application/json")
    assert bad.status_code == 400
    errors = bad.json()["errors"]
    assert set(errors) >= {"username", "full_name", "organisation_id", "role"}
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in m) for field in errors.values() for m in field)

    role_refused = client.post(
        "/api/v1/users/",
        {
            "username": "api-x",
            "full_name": "甲",
            "phone": "13800000005",
            "organisation_id": world.branches["boc"].organisation_id,
            "role": Role.PLATFORM_ADMIN,
        },
        content_type="application/json",
    )
    assert role_refused.status_code == 400 and "您不能授予" in role_refused.json()["errors"]["role"][0]

    created = client.post(
        "/api/v1/users/",
        {
            "username": "api-manager",
            "full_name": "接口经理",
            "phone": "13800000006",
            "organisation_id": world.branches["boc"].organisation_id,
            "role": Role.ACCOUNT_MANAGER,
        },
        content_type="application/json",
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    assert User.objects.get(username="api-manager").check_password(body["temporary_password"])
    listed = client.get("/api/v1/users/", {"q": "接口"}).json()["results"]
    assert [u["username"] for u in listed] == ["api-manager"]
    assert client.post(f"/api/v1/users/{body['id']}/deactivate/").json()["is_active"] is False
    # another bank's user, in the path or the body: 404
    assert client.get(f"/api/v1/users/{other_county.user.pk}/").status_code == 404
    assert client.post(f"/api/v1/users/{other_county.user.pk}/reset-password/").status_code == 404
    moved = client.patch(
        f"/api/v1/users/{body['id']}/",
        {
            "full_name": "接口经理",
            "phone": "13800000006",
            "organisation_id": other_county.task_force.pk,
            "role": "account_manager",
        },
        content_type="application/json",
    )
    assert moved.status_code in (400, 404) and "organisation_id" in moved.json()["errors"]


def test_the_users_list_api_refuses_bad_filters_with_chinese_messages_and_hides_other_organisations(
    world, other_county
):
    # given a bank administrator on the API
    client = _client(world.users["boc_admin"])

    # when the filters are not an id, not a role, not a yes/no
    bad = client.get("/api/v1/users/", {"organisation": "abc", "role": "boss", "is_active": "maybe"})

    # then a 400 names each parameter in Chinese, and nothing is listed
    assert bad.status_code == 400
    errors = bad.json()["errors"]
    assert set(errors) == {"organisation", "role", "is_active"}
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in m) for field in errors.values() for m in field)

    # and another county's organisation, named by id, is "not found", not a list of its users
    foreign = client.get("/api/v1/users/", {"organisation": other_county.task_force.pk})
    assert foreign.status_code in (400, 404)
    assert "results" not in foreign.json()

    # while his own branch filters as asked
    own = client.get(
        "/api/v1/users/", {"organisation": world.branches["boc"].organisation_id, "is_active": "true"}
    ).json()["results"]
    assert own and all(u["is_active"] for u in own)


# --- concurrency --------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
def test_two_administrators_changing_the_same_user_at_once_one_wins_the_other_is_told(world, run_together):
    admin = world.users["boc_admin"]
    second = user_with_role(Role.BANK_ADMIN, organisation=Membership.objects.get(user=admin).organisation)
    manager = world.users["boc_manager"]
    seen = users.user_version(manager)
    common = {
        "user_id": manager.pk,
        "phone": "13800000007",
        "organisation_id": world.branches["boc"].organisation_id,
        "role": Role.ACCOUNT_MANAGER,
        "version": seen,
    }
    outcomes = run_together(
        lambda: users.user_update(actor=admin, full_name="甲同时改", **common),
        lambda: users.user_update(actor=second, full_name="乙同时改", **common),
    )
    assert sorted(o[0] for o in outcomes) == ["ok", "refused"], outcomes
    assert next(o[1] for o in outcomes if o[0] == "refused") == users.CONFLICT_MESSAGE
    assert AuditEvent.objects.filter(action="user.update", object_id=str(manager.pk)).count() == 1

    outcomes = run_together(
        lambda: users.user_deactivate(actor=admin, user_id=manager.pk),
        lambda: users.user_deactivate(actor=second, user_id=manager.pk),
    )
    assert sorted(o[0] for o in outcomes) == ["ok", "refused"], outcomes
    assert "已被停用" in next(o[1] for o in outcomes if o[0] == "refused")
    assert AuditEvent.objects.filter(action="user.deactivate", object_id=str(manager.pk)).count() == 1


def test_the_phone_is_never_shown_in_clear_and_a_blank_phone_keeps_it(world):
    """README: "身份证号 and 手机号 are never rendered in clear on edit forms (blank keeps the stored value)" """
    admin = world.users["boc_admin"]
    user, _ = _invite(admin, world.branches["boc"].organisation, username="masked", phone="13812345678")
    client = _client(admin)
    for url in ("/users/", f"/users/{user.pk}/", f"/api/v1/users/{user.pk}/"):
        body = client.get(url).content.decode()
        assert "13812345678" not in body and "138****5678" in body, url
    users.user_update(
        actor=admin,
        user_id=user.pk,
        full_name="改名",
        phone="",
        organisation_id=world.branches["boc"].organisation_id,
        role=Role.ACCOUNT_MANAGER,
    )
    assert AccountProfile.objects.get(user=user).phone == "13812345678"
    assert "13812345678" not in str(list(AuditEvent.objects.values_list("before", "after")))
