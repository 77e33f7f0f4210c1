"""The write side of the entities' tenant boundary (issue 13): an import, an edit or the admin
never writes another region's entity, never moves an entity out of the writer's region, and
never shows personal numbers in clear outside the audited reveal."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.test import Client

from entities import services
from entities.factories import MarketEntityFactory, csv_bytes, good_row, make_id_number, make_uscc, xlsx_bytes
from entities.forms import EntityEditForm
from entities.models import (
    CreditFlagRecord,
    CreditRepair,
    EntityChange,
    EntityImport,
    FinancialYear,
    Honor,
    MarketEntity,
)
from entities.register_file import OUT_OF_SCOPE_ROW
from portal.factories import OrganisationFactory, UserFactory, user_with_role
from portal.models import AuditEvent, Membership, OrganisationKind, Role
from portal.services import ApplicationError

pytestmark = pytest.mark.django_db

YANGCHENG, ZEZHOU = "140522", "140525"
ZEZHOU_ID_NUMBER = make_id_number(serial=321)
ZEZHOU_PHONE = "13987654321"


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def snapshot(entity: MarketEntity) -> dict:
    """Every column of the entity as stored, and what hangs off it."""
    entity = MarketEntity.objects.get(pk=entity.pk)
    return {
        "row": {f.attname: getattr(entity, f.attname) for f in MarketEntity._meta.concrete_fields},
        "changes": EntityChange.objects.filter(entity=entity).count(),
        "credit": CreditFlagRecord.objects.filter(entity=entity).count(),
        "years": FinancialYear.objects.filter(entity=entity).count(),
        "honors": Honor.objects.filter(entity=entity).count(),
    }


@pytest.fixture
def zezhou_entity():
    return MarketEntityFactory(
        region_id=ZEZHOU,
        name="泽州县老字号面馆",
        register_status="active",
        dishonest_debtor=False,
        operator_id_number=ZEZHOU_ID_NUMBER,
        operator_phone=ZEZHOU_PHONE,
    )


@pytest.fixture
def yangcheng_staff():
    return user_with_role(Role.TASK_FORCE_STAFF, region_code=YANGCHENG)


def sabotage_rows(zezhou: MarketEntity, yangcheng_known: MarketEntity) -> list[dict]:
    """A 阳城 file: line 2 names the 泽州 entity's code (renamed, cancelled, dishonest, moved to
    阳城); line 3 a new 阳城 business; line 4 a new business placed in 泽州; line 5 a known 阳城
    entity with a new name."""
    return [
        good_row(
            1,
            统一社会信用代码=zezhou.uscc,
            名称="阳城县冒名小店",
            登记状态="注销",
            失信被执行人="是",
            行政区划代码=YANGCHENG,
        ),
        good_row(2, 统一社会信用代码=make_uscc(9002, YANGCHENG), 名称="阳城县新开小店", 行政区划代码=YANGCHENG),
        good_row(3, 统一社会信用代码=make_uscc(9003, ZEZHOU), 名称="泽州县新开小店", 行政区划代码=ZEZHOU),
        good_row(4, 统一社会信用代码=yangcheng_known.uscc, 名称="阳城县改名小店", 行政区划代码=YANGCHENG),
    ]


def run_page_import(user, content: bytes, file_name: str) -> dict:
    """Upload through the 名录库导入 page, then run the queued import as the worker would."""
    upload = io.BytesIO(content)
    upload.name = file_name
    response = logged_in(user).post("/entities/imports/", {"file": upload})
    assert response.status_code == 302, response.content
    record = EntityImport.objects.get(uploaded_by=user)
    assert record.region_prefix == YANGCHENG
    return services.entity_import_run(entity_import_id=record.pk)


def run_command_import(run_command, tmp_path, content: bytes, file_name: str) -> dict:
    path = tmp_path / file_name
    path.write_bytes(content)
    code, summary, _, stderr = run_command(path, "--region", YANGCHENG)
    assert code == 0, stderr
    return summary


# --- finding 1: the register import ----------------------------------------------------------


@pytest.mark.parametrize("via", ["page", "command"])
@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_a_county_import_naming_another_regions_code_leaves_that_entity_untouched(
    zezhou_entity, yangcheng_staff, tmp_path, via, file_format, run_command
):
    # given a 泽州 entity, a known 阳城 entity, and a 阳城 file that names the 泽州 entity's code
    yangcheng_known = MarketEntityFactory(region_id=YANGCHENG, name="阳城县老店")
    before = snapshot(zezhou_entity)
    rows = sabotage_rows(zezhou_entity, yangcheng_known)
    content = csv_bytes(rows) if file_format == "csv" else xlsx_bytes(rows)
    file_name = f"阳城名录.{file_format}"

    # when the 阳城 task force imports it (page + worker), or the command runs for 阳城
    summary = (
        run_page_import(yangcheng_staff, content, file_name)
        if via == "page"
        else run_command_import(run_command, tmp_path, content, file_name)
    )

    # then the 泽州 entity is exactly as it was, and its row is counted rejected
    assert snapshot(zezhou_entity) == before
    assert (summary["rows"], summary["created"], summary["updated"], summary["rejected"]) == (4, 1, 1, 2)
    # the good rows were imported: the new 阳城 business, the known 阳城 entity renamed
    assert MarketEntity.objects.get(uscc=rows[1]["统一社会信用代码"]).region_id == YANGCHENG
    assert MarketEntity.objects.get(pk=yangcheng_known.pk).name == "阳城县改名小店"
    assert not MarketEntity.objects.filter(uscc=rows[2]["统一社会信用代码"]).exists()
    # one message for the foreign code and for a county outside the region: the report does not
    # tell whether the code exists elsewhere
    errors = {e["line"]: (e["column"], e["message"]) for e in summary["errors"]}
    assert len(summary["errors"]) == 2
    assert errors == {2: ("行政区划代码", OUT_OF_SCOPE_ROW), 4: ("行政区划代码", OUT_OF_SCOPE_ROW)}
    assert "不在本机构管辖范围内" in OUT_OF_SCOPE_ROW


def test_the_error_report_of_a_page_import_lists_the_foreign_code_as_rejected(zezhou_entity, yangcheng_staff):
    # given a 阳城 file naming only the 泽州 entity's code
    run_page_import(
        yangcheng_staff, csv_bytes([good_row(1, 统一社会信用代码=zezhou_entity.uscc, 行政区划代码=YANGCHENG)]), "r.csv"
    )

    # then the import record and its downloadable report say rejected, with the Chinese reason
    record = EntityImport.objects.get()
    assert (record.status, record.created, record.updated, record.rejected) == ("succeeded", 0, 0, 1)
    report = logged_in(yangcheng_staff).get(f"/entities/imports/{record.pk}/errors.xlsx")
    from openpyxl import load_workbook

    rows = list(load_workbook(io.BytesIO(report.content)).active.iter_rows(values_only=True))
    assert rows[1] == (2, "行政区划代码", OUT_OF_SCOPE_ROW)
    assert MarketEntity.objects.get(pk=zezhou_entity.pk).region_id == ZEZHOU


def test_the_command_without_a_region_writes_everywhere_as_documented(zezhou_entity, tmp_path, run_command):
    # given a file moving the 泽州 entity to 阳城, run by the server's operator without --region
    path = tmp_path / "all.csv"
    path.write_bytes(
        csv_bytes([good_row(1, 统一社会信用代码=zezhou_entity.uscc, 名称="统一更名", 行政区划代码=YANGCHENG)])
    )

    # when the command runs
    code, summary, _, _ = run_command(path)

    # then it updates the entity (the platform's own import is not limited to a region)
    assert code == 0 and summary["updated"] == 1
    assert MarketEntity.objects.get(pk=zezhou_entity.pk).region_id == YANGCHENG


def test_the_command_refuses_an_unknown_region(tmp_path, run_command):
    path = tmp_path / "r.csv"
    path.write_bytes(csv_bytes([good_row(1)]))
    code, summary, _, stderr = run_command(path, "--region", "999999")
    assert code == 2 and summary is None and "未知的行政区划代码" in stderr
    assert not MarketEntity.objects.exists()


# --- finding 2: moving an entity out of one's region -----------------------------------------


def test_the_api_refuses_to_move_an_entity_out_of_the_keepers_region(zezhou_entity):
    # given the 泽州 task force and one of its entities
    client = logged_in(user_with_role(Role.TASK_FORCE_STAFF))
    before = snapshot(zezhou_entity)
    events = AuditEvent.objects.count()

    # when it PATCHes the entity into 阳城
    response = client.patch(
        f"/api/v1/entities/{zezhou_entity.pk}/",
        {"region_code": YANGCHENG, "name": "搬走"},
        content_type="application/json",
    )

    # then a Chinese field error, and nothing written
    assert response.status_code == 400, response.content
    assert response.json()["errors"] == {"region_code": ["不在本机构管辖范围内"]}
    assert snapshot(zezhou_entity) == before and AuditEvent.objects.count() == events


def test_the_edit_page_refuses_to_move_an_entity_out_of_the_keepers_region(zezhou_entity):
    # given the 泽州 task-force lead on the edit page of a 泽州 entity
    before = snapshot(zezhou_entity)

    # when the county box is changed to 阳城 and the form saved
    response = edit(user_with_role(Role.TASK_FORCE_LEAD), zezhou_entity, region=YANGCHENG)

    # then the error is shown next to the county, and nothing is written
    assert response.status_code == 400 and "不在本机构管辖范围内" in response.content.decode()
    assert snapshot(zezhou_entity) == before


def test_a_city_regulator_moves_an_entity_between_counties_of_its_city(zezhou_entity):
    # given the 晋城 city regulator (region 1405): 泽州 and 阳城 both lie inside it
    client = logged_in(user_with_role(Role.CITY_REGULATOR))

    response = client.patch(
        f"/api/v1/entities/{zezhou_entity.pk}/", {"region_code": YANGCHENG}, content_type="application/json"
    )

    assert response.status_code == 200, response.content
    assert MarketEntity.objects.get(pk=zezhou_entity.pk).region_id == YANGCHENG
    # and out of the city is refused the same way
    response = client.patch(
        f"/api/v1/entities/{zezhou_entity.pk}/", {"region_code": "140105"}, content_type="application/json"
    )
    assert response.status_code == 400 and response.json()["errors"] == {"region_code": ["不在本机构管辖范围内"]}


def test_the_services_resolve_another_regions_entity_like_an_unknown_one(zezhou_entity, yangcheng_staff):
    # given a 阳城 keeper calling the entity services with a 泽州 entity
    before = snapshot(zezhou_entity)
    calls = [
        lambda: services.entity_update(actor=yangcheng_staff, entity=zezhou_entity, data={"name": "改名"}),
        lambda: services.financial_year_record(
            actor=yangcheng_staff, entity=zezhou_entity, year=2024, values={"annual_revenue": 1}
        ),
        lambda: services.credit_flags_record(
            actor=yangcheng_staff,
            entity=zezhou_entity,
            values={"dishonest_debtor": True},
            source="征信",
            observed_on=dt.date(2025, 1, 1),
        ),
        lambda: services.credit_repair_record(
            actor=yangcheng_staff, entity=zezhou_entity, item="x", repaired_on=dt.date(2025, 1, 1), repaired_by="法院"
        ),
        lambda: services.honor_grant(
            actor=yangcheng_staff, entity=zezhou_entity, kind="quality", valid_until=dt.date(2030, 1, 1)
        ),
        lambda: services.entity_reveal_personal_data(
            actor=yangcheng_staff, entity=zezhou_entity, field="operator_phone"
        ),
        lambda: services.entity_update(
            actor=yangcheng_staff, entity=MarketEntity.objects.order_by("-pk").first().pk + 1000, data={"name": "改名"}
        ),
    ]
    # then each is refused as "not found", with the same message, and nothing is written
    messages = set()
    for call in calls:
        with pytest.raises(ApplicationError) as refused:
            call()
        assert refused.value.code == "not_found"
        messages.add(refused.value.message)
    assert messages == {"记录不存在或您无权操作"}
    assert snapshot(zezhou_entity) == before and not CreditRepair.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="entity.").exists()


# --- finding 5: personal numbers on edit forms and in the admin -------------------------------


@pytest.mark.parametrize("role", [Role.TASK_FORCE_STAFF, Role.CITY_REGULATOR, Role.PROVINCE_REGULATOR])
def test_the_edit_page_never_shows_the_clear_numbers(zezhou_entity, role):
    # given a role that may edit the register (city and province may not even reveal)
    page = logged_in(user_with_role(role)).get(f"/entities/{zezhou_entity.pk}/edit/")

    # then the page has the boxes, with the numbers masked only
    html = page.content.decode()
    assert page.status_code == 200
    assert 'name="operator_id_number"' in html and 'name="operator_phone"' in html
    assert ZEZHOU_ID_NUMBER not in html and ZEZHOU_PHONE not in html
    assert ZEZHOU_PHONE[-4:] in html and "139****4321" in html  # the masked form, as a hint


def test_the_enterprise_edit_page_masks_its_own_phone_too():
    organisation = OrganisationFactory(kind=OrganisationKind.ENTERPRISE)
    entity = MarketEntityFactory(organisation=organisation, operator_phone=ZEZHOU_PHONE)
    html = (
        logged_in(user_with_role(Role.ENTERPRISE_USER, organisation=organisation))
        .get(f"/entities/{entity.pk}/edit/")
        .content.decode()
    )
    assert 'name="operator_phone"' in html and ZEZHOU_PHONE not in html


def form_data(user, entity, **values) -> dict:
    """What a browser posts back from the edit page as shown, with `values` typed over it."""
    form = EntityEditForm(entity=entity, fields=services.editable_fields(actor=user, entity=entity))
    data = {}
    for name in form.fields:
        value = form[name].value()
        if value is True:
            data[name] = "on"
        elif value not in (None, False):
            data[name] = value.isoformat() if isinstance(value, dt.date) else str(value)
    return {**data, **values}


def edit(user, entity, **values):
    return logged_in(user).post(
        f"/entities/{entity.pk}/edit/", form_data(user, MarketEntity.objects.get(pk=entity.pk), **values)
    )


def test_a_blank_number_keeps_the_stored_one_a_new_one_replaces_it_and_clear_removes_it(zezhou_entity):
    staff = user_with_role(Role.TASK_FORCE_STAFF)

    # when the form is saved with the boxes left blank (another field changed)
    response = edit(staff, zezhou_entity, address="泽州县新址")
    # then the numbers are kept
    assert response.status_code == 302, response.content.decode()
    entity = MarketEntity.objects.get(pk=zezhou_entity.pk)
    assert (entity.address, entity.operator_id_number, entity.operator_phone) == (
        "泽州县新址",
        ZEZHOU_ID_NUMBER,
        ZEZHOU_PHONE,
    )

    # when a new phone is typed, it replaces the stored one
    assert edit(staff, entity, address="泽州县新址", operator_phone="13711112222").status_code == 302
    entity.refresh_from_db()
    assert entity.operator_phone == "13711112222" and entity.operator_id_number == ZEZHOU_ID_NUMBER

    # when 清除 is ticked for the id number, it is removed (with its birth date)
    assert edit(staff, entity, address="泽州县新址", operator_id_number_clear="on").status_code == 302
    entity.refresh_from_db()
    assert (
        entity.operator_id_number is None
        and entity.operator_birth_date is None
        and entity.operator_phone == "13711112222"
    )

    # a new number and 清除 together are refused, nothing written
    response = edit(staff, entity, address="泽州县新址", operator_phone="13600000000", operator_phone_clear="on")
    assert response.status_code == 400 and "填写了新号码时不能同时清除" in response.content.decode()
    assert MarketEntity.objects.get(pk=entity.pk).operator_phone == "13711112222"


@pytest.fixture
def admin_client():
    user = UserFactory(is_staff=True, is_superuser=True)
    return logged_in(user)


def test_audit_events_cannot_be_changed_or_deleted_in_the_admin(admin_client):
    # given an audit event
    event = AuditEvent.objects.create(action="entity.update", object_repr="某主体", after={"name": "x"})
    url = f"/django-admin/portal/auditevent/{event.pk}/"

    # when a superuser tries to change it, delete it, bulk-delete it or add one
    change = admin_client.post(url + "change/", {"action": "篡改", "object_repr": "x"})
    delete_page = admin_client.get(url + "delete/")
    delete = admin_client.post(url + "delete/", {"post": "yes"})
    bulk = admin_client.post(
        "/django-admin/portal/auditevent/", {"action": "delete_selected", "_selected_action": [event.pk], "post": "yes"}
    )
    add = admin_client.get("/django-admin/portal/auditevent/add/")

    # then every write is refused and the event is as it was (it can still be viewed)
    assert (
        change.status_code == 403
        and delete_page.status_code == 403
        and delete.status_code == 403
        and add.status_code == 403
    )
    assert AuditEvent.objects.filter(pk=event.pk, action="entity.update", object_repr="某主体").exists()
    assert bulk.status_code in (200, 302) and AuditEvent.objects.filter(pk=event.pk).exists()
    assert admin_client.get(url + "change/").status_code == 200


def test_the_entity_admin_is_read_only_and_masks_personal_numbers(admin_client, zezhou_entity):
    before = snapshot(zezhou_entity)
    listing = admin_client.get("/django-admin/entities/marketentity/")
    detail = admin_client.get(f"/django-admin/entities/marketentity/{zezhou_entity.pk}/change/")

    assert listing.status_code == 200 and detail.status_code == 200
    for page in (listing, detail):
        html = page.content.decode()
        assert ZEZHOU_ID_NUMBER not in html and ZEZHOU_PHONE not in html
    assert "139****4321" in detail.content.decode()
    # no write of any kind
    assert (
        admin_client.post(
            f"/django-admin/entities/marketentity/{zezhou_entity.pk}/change/", {"name": "改名"}
        ).status_code
        == 403
    )
    assert (
        admin_client.post(
            f"/django-admin/entities/marketentity/{zezhou_entity.pk}/delete/", {"post": "yes"}
        ).status_code
        == 403
    )
    assert admin_client.get("/django-admin/entities/marketentity/add/").status_code == 403
    assert snapshot(zezhou_entity) == before


def test_a_membership_is_granted_in_the_admin_through_the_service_and_not_edited_there(admin_client):
    # given a user and a task force
    user = UserFactory()
    task_force = OrganisationFactory(kind=OrganisationKind.TASK_FORCE)

    # when a membership is added in the admin
    response = admin_client.post(
        "/django-admin/portal/membership/add/",
        {"user": user.pk, "organisation": task_force.pk, "role": Role.TASK_FORCE_STAFF, "is_primary": "on"},
    )

    # then it is granted by the service (audited), and it cannot be changed or deleted there
    assert response.status_code == 302, response.content.decode()
    membership = Membership.objects.get(user=user)
    assert AuditEvent.objects.filter(action="membership.grant", object_id=str(membership.pk)).exists()
    url = f"/django-admin/portal/membership/{membership.pk}/"
    assert (
        admin_client.post(
            url + "change/", {"user": user.pk, "organisation": task_force.pk, "role": Role.TASK_FORCE_LEAD}
        ).status_code
        == 403
    )
    assert admin_client.post(url + "delete/", {"post": "yes"}).status_code == 403
    assert Membership.objects.get(pk=membership.pk).role == Role.TASK_FORCE_STAFF


def test_a_membership_of_the_wrong_organisation_kind_is_refused_in_the_admin(admin_client):
    user = UserFactory()
    bank_branch = OrganisationFactory(kind=OrganisationKind.BANK_BRANCH)
    response = admin_client.post(
        "/django-admin/portal/membership/add/",
        {"user": user.pk, "organisation": bank_branch.pk, "role": Role.TASK_FORCE_STAFF, "is_primary": "on"},
    )
    assert response.status_code == 200 and "不能属于" in response.content.decode()
    assert not Membership.objects.filter(user=user).exists()
