"""Who sees which entities, personal data masking and the audited reveal, API validation."""

import datetime as dt

import pytest
from django.test import Client

from entities.changes import ENTITY_CHANGED_HOOKS
from entities.factories import MarketEntityFactory
from entities.models import Honor, MarketEntity
from portal.factories import OrganisationFactory, user_with_role
from portal.models import AuditEvent, OrganisationKind, Role

pytestmark = pytest.mark.django_db

ID_NUMBER = "140525198501011237"


@pytest.fixture
def entities():
    """Entities in 泽州县 (140525), 晋城市城区 (140502), 太原市小店区 (140105); one not shared with banks;
    one owned by an enterprise organisation."""
    enterprise_org = OrganisationFactory(kind=OrganisationKind.ENTERPRISE)
    return {
        "zezhou": MarketEntityFactory(
            region_id="140525", operator_id_number=ID_NUMBER, operator_phone="13812345678", organisation=enterprise_org
        ),
        "zezhou_private": MarketEntityFactory(region_id="140525", data_shared_with_banks=False),
        "chengqu": MarketEntityFactory(region_id="140502"),
        "taiyuan": MarketEntityFactory(region_id="140105"),
        "enterprise_org": enterprise_org,
    }


def visible(user) -> set[str]:
    client = Client()
    client.force_login(user)
    response = client.get("/api/v1/entities/?page_size=500")
    assert response.status_code == 200, response.content
    return {row["name"] for row in response.json()["results"]}


def names(entities, *keys):
    return {entities[k].name for k in keys}


@pytest.mark.parametrize(
    "role, expected",
    [
        (Role.TASK_FORCE_STAFF, ("zezhou", "zezhou_private")),
        (Role.TASK_FORCE_LEAD, ("zezhou", "zezhou_private")),
        (Role.TASK_FORCE_BANK_REVIEWER, ("zezhou", "zezhou_private")),
        (Role.CONVENER, ("zezhou", "zezhou_private")),
        (Role.CITY_REGULATOR, ("zezhou", "zezhou_private", "chengqu")),
        (Role.PROVINCE_REGULATOR, ("zezhou", "zezhou_private", "chengqu", "taiyuan")),
        (Role.BANK_ADMIN, ("zezhou", "chengqu")),  # 晋城 branch: shared entities of its city
        (Role.ACCOUNT_MANAGER, ("zezhou",)),  # 泽州 sub-branch
        (Role.PLATFORM_ADMIN, ("zezhou", "zezhou_private", "chengqu", "taiyuan")),
    ],
)
def test_each_role_sees_the_entities_of_its_region(entities, role, expected):
    # given a user of the role (task force in 泽州, city regulator 晋城, bank branches of 晋城/泽州)
    user = user_with_role(role)
    # then the list holds exactly the entities of its region (banks: only shared ones)
    assert visible(user) == names(entities, *expected)


def test_an_enterprise_user_sees_only_its_own_entity(entities):
    user = user_with_role(Role.ENTERPRISE_USER, organisation=entities["enterprise_org"])
    assert visible(user) == names(entities, "zezhou")


def test_a_user_outside_the_region_gets_404_on_the_page_and_the_api(entities):
    client = Client()
    client.force_login(user_with_role(Role.TASK_FORCE_STAFF))
    taiyuan = entities["taiyuan"]
    assert client.get(f"/entities/{taiyuan.pk}/").status_code == 404
    assert client.get(f"/api/v1/entities/{taiyuan.pk}/").status_code == 404
    assert client.get(f"/entities/{entities['zezhou'].pk}/").status_code == 200


def test_lists_exports_and_the_api_mask_id_and_phone_numbers(entities):
    # given a task-force user
    client = Client()
    client.force_login(user_with_role(Role.TASK_FORCE_STAFF))
    entity = entities["zezhou"]

    # when he reads the list page, the API and the detail page
    page = client.get("/entities/").content.decode()
    api = client.get(f"/api/v1/entities/{entity.pk}/").json()
    detail = client.get(f"/entities/{entity.pk}/").content.decode()

    # then the numbers are masked everywhere
    assert "138****5678" in page and "13812345678" not in page
    assert api["operator"]["id_number"] == "1405**********1237" and api["operator"]["phone"] == "138****5678"
    assert "1405**********1237" in detail and ID_NUMBER not in detail
    assert 'data-testid="reveal-operator_id_number"' in detail


def test_the_export_masks_phone_numbers(entities):
    from io import BytesIO

    from openpyxl import load_workbook

    client = Client()
    client.force_login(user_with_role(Role.TASK_FORCE_STAFF))
    response = client.get("/entities/export.xlsx")
    assert response.status_code == 200
    rows = list(load_workbook(BytesIO(response.content)).active.iter_rows(values_only=True))
    cells = {str(c) for row in rows for c in row}
    assert "138****5678" in cells and "13812345678" not in cells
    assert len(rows) == 3  # header + the two 泽州 entities


def test_revealing_a_number_shows_it_once_and_writes_an_audit_event(entities):
    # given a task-force user on the entity page
    user = user_with_role(Role.TASK_FORCE_STAFF)
    client = Client()
    client.force_login(user)
    entity = entities["zezhou"]

    # when he presses 显示 for the ID number
    response = client.post(f"/entities/{entity.pk}/reveal/", {"field": "operator_id_number"})

    # then the clear number comes back and an audit event names him, the entity and the field
    assert response.status_code == 200 and ID_NUMBER in response.content.decode()
    event = AuditEvent.objects.get(action="entity.reveal_personal_data")
    assert event.actor == user and event.object_id == str(entity.pk) and event.after["field"] == "operator_id_number"


def test_the_api_reveal_is_audited_too(entities):
    user = user_with_role(Role.TASK_FORCE_LEAD)
    client = Client()
    client.force_login(user)
    response = client.post(
        f"/api/v1/entities/{entities['zezhou'].pk}/reveal/",
        {"field": "operator_phone"},
        content_type="application/json",
    )
    assert response.json() == {"field": "operator_phone", "value": "13812345678"}
    assert AuditEvent.objects.filter(action="entity.reveal_personal_data", actor=user).count() == 1


@pytest.mark.parametrize("role", [Role.BANK_ADMIN, Role.ACCOUNT_MANAGER, Role.CITY_REGULATOR])
def test_roles_that_do_not_need_personal_numbers_cannot_reveal_them(entities, role):
    client = Client()
    client.force_login(user_with_role(role))
    entity = entities["zezhou"]
    response = client.post(f"/entities/{entity.pk}/reveal/", {"field": "operator_id_number"})
    assert response.status_code == 403
    assert 'data-testid="reveal-' not in client.get(f"/entities/{entity.pk}/").content.decode()
    assert not AuditEvent.objects.filter(action="entity.reveal_personal_data").exists()


def test_the_enterprise_sees_its_own_numbers_in_clear(entities):
    client = Client()
    client.force_login(user_with_role(Role.ENTERPRISE_USER, organisation=entities["enterprise_org"]))
    api = client.get(f"/api/v1/entities/{entities['zezhou'].pk}/").json()
    assert api["operator"]["id_number"] == ID_NUMBER


# --- API validation and editing rights ---------------------------------------------------


def api_client(role, **kwargs):
    client = Client()
    client.force_login(user_with_role(role, **kwargs))
    return client


def test_the_api_creates_an_entity_with_the_register_checks():
    # given a task-force user and a valid entity
    client = api_client(Role.TASK_FORCE_STAFF)
    from entities.factories import make_uscc

    payload = {
        "uscc": make_uscc(77),
        "name": "泽州县新开便利店",
        "entity_type": "individual_business",
        "region_code": "140525",
        "industry_code": "5213",
        "financial_year": 2025,
        "annual_revenue": 700000,
        "social_insurance_headcount": 1,
        "has_tax_record": True,
        "tax_status": "small_scale_taxpayer",
        "operator_id_number": ID_NUMBER,
    }

    # when it is posted
    response = client.post("/api/v1/entities/", payload, content_type="application/json")

    # then it is created, classified, and its first year is in the history
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["tier_computed"] == "growth" and body["operator"]["id_number"] == "1405**********1237"
    entity = MarketEntity.objects.get(uscc=payload["uscc"])
    assert entity.operator_birth_date.isoformat() == "1985-01-01"
    assert entity.financial_years.get().annual_revenue == 700000


def test_api_validation_returns_every_field_error():
    client = api_client(Role.TASK_FORCE_STAFF)
    payload = {
        "uscc": "921405250000000010",
        "name": "坏数据",
        "entity_type": "individual_business",
        "region_code": "140105",
        "industry_code": "9999",
        "operator_id_number": "140525198501011230",
        "operator_phone": "123",
        "established_on": "2999-01-01",
        "annual_revenue": -5,
        "financial_year": 2025,
    }
    response = client.post("/api/v1/entities/", payload, content_type="application/json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert set(body["errors"]) == {
        "uscc",
        "industry_code",
        "operator_id_number",
        "operator_phone",
        "established_on",
        "annual_revenue",
    }
    assert "校验位错误" in body["errors"]["uscc"][0]


def test_the_api_refuses_a_region_outside_the_actors_region():
    client = api_client(Role.TASK_FORCE_STAFF)
    from entities.factories import make_uscc

    payload = {"uscc": make_uscc(78), "name": "太原的店", "entity_type": "individual_business", "region_code": "140105"}
    response = client.post("/api/v1/entities/", payload, content_type="application/json")
    assert response.status_code == 400 and response.json()["errors"] == {"region_code": ["不在本机构管辖范围内"]}


def test_the_api_type_errors_use_the_common_error_format():
    client = api_client(Role.TASK_FORCE_STAFF)
    response = client.post("/api/v1/entities/", {"name": "x", "entity_type": "shop"}, content_type="application/json")
    assert response.status_code == 400
    assert set(response.json()["errors"]) >= {"uscc", "entity_type", "region_code"}


def test_an_enterprise_edits_its_own_profile_fields_but_not_the_register(entities):
    # given the enterprise user of the entity
    client = api_client(Role.ENTERPRISE_USER, organisation=entities["enterprise_org"])
    entity = entities["zezhou"]

    # when it changes its phone, and then tries to change its name and tier
    ok = client.patch(
        f"/api/v1/entities/{entity.pk}/",
        {"operator_phone": "13900001111", "operator_industry_experience_months": 24},
        content_type="application/json",
    )
    refused = client.patch(
        f"/api/v1/entities/{entity.pk}/",
        {"name": "改名", "tier_imported": "development"},
        content_type="application/json",
    )

    # then the phone changes (with a history row) and the register fields are refused
    assert ok.status_code == 200, ok.content
    entity.refresh_from_db()
    assert entity.operator_phone == "13900001111" and entity.operator_industry_experience_months == 24
    assert entity.changes.get().source == "enterprise"
    assert refused.status_code == 400
    assert set(refused.json()["errors"]) == {"name", "tier_imported"}


def test_a_bank_cannot_change_an_entity(entities):
    client = api_client(Role.ACCOUNT_MANAGER)
    response = client.patch(
        f"/api/v1/entities/{entities['zezhou'].pk}/", {"address": "x"}, content_type="application/json"
    )
    assert response.status_code == 404


def test_a_regulator_edit_reclassifies_records_credit_history_and_calls_the_hooks(
    entities, django_capture_on_commit_callbacks
):
    # given a task-force lead and a hook of a later app
    client = api_client(Role.TASK_FORCE_LEAD)
    entity = entities["zezhou"]
    seen = []
    ENTITY_CHANGED_HOOKS.append(seen.extend)
    try:
        # when he records a dishonest-debtor flag and a new year's figures
        with django_capture_on_commit_callbacks(execute=True):
            response = client.patch(
                f"/api/v1/entities/{entity.pk}/",
                {
                    "dishonest_debtor": True,
                    "financial_year": 2025,
                    "annual_revenue": 1300000,
                    "social_insurance_headcount": 4,
                    "tax_status": "general_taxpayer",
                    "has_tax_record": True,
                },
                content_type="application/json",
            )
    finally:
        ENTITY_CHANGED_HOOKS.remove(seen.extend)

    # then the entity is reclassified, the flag has a dated source, and the hooks got its id
    assert response.status_code == 200, response.content
    entity.refresh_from_db()
    assert entity.tier_computed == "development" and entity.dishonest_debtor is True
    record = entity.credit_records.get(flag="dishonest_debtor")
    assert record.value == 1 and record.source.startswith("监管部门维护")
    assert seen == [entity.pk]


def test_the_api_lists_each_entitys_honours_with_their_validity(entities):
    # given an entity of 泽州 with two honours and one without
    zezhou = entities["zezhou"]
    Honor.objects.create(
        entity=zezhou, kind="quality", valid_from=dt.date(2025, 7, 1), valid_until=dt.date(2027, 6, 30)
    )
    Honor.objects.create(entity=zezhou, kind="distinctive", valid_until=dt.date(2026, 12, 31))
    client = Client()
    client.force_login(user_with_role(Role.TASK_FORCE_STAFF))
    # when the task force lists its entities
    rows = {row["name"]: row for row in client.get("/api/v1/entities/?page_size=500").json()["results"]}
    # then each row carries its own honours (kind, validity), the others none
    assert sorted(rows[zezhou.name]["honors"], key=lambda h: h["kind"]) == [
        {"kind": "distinctive", "valid_from": None, "valid_until": "2026-12-31"},
        {"kind": "quality", "valid_from": "2025-07-01", "valid_until": "2027-06-30"},
    ]
    assert rows[entities["zezhou_private"].name]["honors"] == []
