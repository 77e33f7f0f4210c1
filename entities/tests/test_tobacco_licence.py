"""烟草专卖零售许可证 as a register fact (烟商E贷 is "为全省烟草零售商借款人提供", seeds/001 附件 四(一)1):
imported with the register, edited through one service by the register's keepers and by the
enterprise itself, shown on the entity page and in the API."""

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from entities import services
from entities.factories import MarketEntityFactory, csv_bytes, good_row
from entities.models import EntityChange, MarketEntity
from portal.factories import OrganisationFactory, user_with_role
from portal.models import OrganisationKind, Role
from portal.services import ApplicationError

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
NUMBER, FROM, UNTIL = "烟草专卖零售许可证号", "烟草专卖零售许可证有效期自", "烟草专卖零售许可证有效期至"


def write(tmp_path, content: bytes, name: str = "register.csv"):
    path = tmp_path / name
    path.write_bytes(content)
    return path


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def licence_of(entity: MarketEntity) -> tuple:
    entity.refresh_from_db()
    return (
        entity.tobacco_licence_held,
        entity.tobacco_licence_number,
        entity.tobacco_licence_valid_from,
        entity.tobacco_licence_valid_until,
    )


def test_the_register_file_carries_the_licence_and_an_empty_cell_keeps_it(tmp_path, run_command):
    # given a file with a licence, one saying 无 and one that says nothing
    rows = [
        good_row(1, **{NUMBER: "140525100018", FROM: "2024-03-01", UNTIL: "2029-02-28"}),
        good_row(2, **{NUMBER: "无"}),
        good_row(3),
    ]
    code, summary, _, _ = run_command(write(tmp_path, csv_bytes(rows)))
    assert code == 0 and summary["created"] == 3 and summary["errors"] == []
    holder, none, unknown = (MarketEntity.objects.get(uscc=good_row(n)["统一社会信用代码"]) for n in (1, 2, 3))
    assert licence_of(holder) == (True, "140525100018", dt.date(2024, 3, 1), dt.date(2029, 2, 28))
    assert licence_of(none) == (False, None, None, None)
    assert licence_of(unknown) == (None, None, None, None)
    assert holder.tobacco_licence_status(dt.date(2029, 2, 28)) == "valid"
    assert holder.tobacco_licence_status(dt.date(2029, 3, 1)) == "expired"

    # when the next file leaves the licence empty for the holder and renews nothing else
    code, summary, _, _ = run_command(write(tmp_path, csv_bytes([good_row(1), good_row(2)]), "b.csv"))
    # then what is known is kept
    assert summary["unchanged"] == 2
    assert licence_of(holder)[0] is True and licence_of(none)[0] is False

    # and a renewal replaces number and dates together, recorded in the history
    renewed = good_row(1, **{NUMBER: "140525100099", UNTIL: "2034-02-28"})
    code, summary, _, _ = run_command(write(tmp_path, csv_bytes([renewed]), "c.csv"))
    assert summary["updated"] == 1
    assert licence_of(holder) == (True, "140525100099", None, dt.date(2034, 2, 28))
    change = EntityChange.objects.filter(entity=holder).latest("changed_at")
    assert change.changes["tobacco_licence_number"] == ["140525100018", "140525100099"]


@pytest.mark.parametrize(
    "cells, column, message",
    [
        ({NUMBER: "140525100018"}, UNTIL, "填写了许可证号, 须填写有效期至"),
        ({NUMBER: "烟-1", UNTIL: "2029-02-28"}, NUMBER, "应为 6-32 位数字或字母, 未持有填写「无」, 不清楚留空"),
        ({NUMBER: "140525100018", UNTIL: "2029-02-30"}, UNTIL, "日期不存在: 2029-02-30"),
        ({NUMBER: "140525100018", FROM: "2029-03-01", UNTIL: "2029-02-28"}, UNTIL, "有效期至不能早于有效期自"),
        ({UNTIL: "2029-02-28"}, UNTIL, "未填写烟草专卖零售许可证号, 不应填写有效期"),
        ({NUMBER: "无", FROM: "2024-03-01"}, FROM, "许可证号填写「无」(未持有)时不应填写有效期"),
    ],
)
def test_a_bad_licence_cell_rejects_its_row_with_the_reason(tmp_path, run_command, cells, column, message):
    code, summary, _, _ = run_command(write(tmp_path, csv_bytes([good_row(1, **cells), good_row(2)])))
    assert summary["created"] == 1 and summary["rejected"] == 1
    assert summary["errors"] == [{"line": 2, "column": column, "message": message}]


def test_the_register_keeper_records_a_licence_and_a_renewal_through_the_service():
    entity = MarketEntityFactory()
    staff = user_with_role(Role.TASK_FORCE_STAFF)
    services.entity_update(
        actor=staff,
        entity=entity,
        data={
            "tobacco_licence_held": True,
            "tobacco_licence_number": " 140525 100018 ",
            "tobacco_licence_valid_from": dt.date(2024, 3, 1),
            "tobacco_licence_valid_until": dt.date(2029, 2, 28),
        },
    )
    assert licence_of(entity) == (True, "140525100018", dt.date(2024, 3, 1), dt.date(2029, 2, 28))
    # "未持有" clears the number and dates left from before
    services.entity_update(actor=staff, entity=entity, data={"tobacco_licence_held": False})
    assert licence_of(entity) == (False, None, None, None)
    # a number given for an entity whose licence is unknown means it holds one
    other = MarketEntityFactory()
    services.entity_update(
        actor=staff,
        entity=other,
        data={"tobacco_licence_number": "140525100018", "tobacco_licence_valid_until": dt.date(2029, 2, 28)},
    )
    assert licence_of(other)[0:2] == (True, "140525100018")


@pytest.mark.parametrize(
    "data, errors",
    [
        ({"tobacco_licence_held": True}, {"tobacco_licence_number", "tobacco_licence_valid_until"}),
        (
            {
                "tobacco_licence_held": True,
                "tobacco_licence_number": "140525100018",
                "tobacco_licence_valid_from": dt.date(2029, 3, 1),
                "tobacco_licence_valid_until": dt.date(2029, 2, 28),
            },
            {"tobacco_licence_valid_until"},
        ),
        ({"tobacco_licence_held": False, "tobacco_licence_number": "140525100018"}, {"tobacco_licence_number"}),
        ({"tobacco_licence_number": "烟-1"}, {"tobacco_licence_number"}),
    ],
)
def test_an_inconsistent_licence_is_refused_and_nothing_is_written(data, errors):
    entity = MarketEntityFactory()
    with pytest.raises(ApplicationError) as error:
        services.entity_update(actor=user_with_role(Role.TASK_FORCE_STAFF), entity=entity, data=data)
    assert set(error.value.field_errors) == errors
    assert licence_of(entity) == (None, None, None, None)


def test_the_enterprise_enters_its_own_licence_on_its_form_and_sees_it_on_its_page():
    # given an enterprise and its entity, licence unknown
    organisation = OrganisationFactory(kind=OrganisationKind.ENTERPRISE)
    entity = MarketEntityFactory(organisation=organisation, industry_id="5227")
    client = logged_in(user_with_role(Role.ENTERPRISE_USER, organisation=organisation))
    assert 'data-testid="tobacco-licence">未知' in client.get(f"/entities/{entity.pk}/").content.decode()
    form = client.get(f"/entities/{entity.pk}/edit/").content.decode()
    assert 'name="tobacco_licence_number"' in form and 'name="tobacco_licence_valid_until"' in form

    # when it saves its licence
    until = TODAY + dt.timedelta(days=900)
    response = client.post(
        f"/entities/{entity.pk}/edit/",
        {
            "data_shared_with_banks": "on",
            "tobacco_licence_held": "true",
            "tobacco_licence_number": "140525100018",
            "tobacco_licence_valid_from": "2024-03-01",
            "tobacco_licence_valid_until": until.isoformat(),
        },
    )

    # then the page shows it as valid, and the change is the enterprise's in the history
    assert response.status_code == 302
    page = client.get(f"/entities/{entity.pk}/").content.decode()
    assert "140525100018" in page and "有效期内" in page
    assert EntityChange.objects.get(entity=entity).source == "enterprise"

    # and an inconsistent entry comes back on the form with the reason
    response = client.post(
        f"/entities/{entity.pk}/edit/",
        {"data_shared_with_banks": "on", "tobacco_licence_held": "true", "tobacco_licence_number": "140525100018"},
    )
    assert response.status_code == 400 and "持有许可证时须填写有效期至" in response.content.decode()


def test_an_expired_licence_is_shown_as_expired_and_the_api_gives_its_status():
    entity = MarketEntityFactory(
        tobacco_licence_held=True,
        tobacco_licence_number="140525100018",
        tobacco_licence_valid_until=TODAY - dt.timedelta(days=1),
    )
    staff = user_with_role(Role.TASK_FORCE_STAFF)
    assert "已过期" in logged_in(staff).get(f"/entities/{entity.pk}/").content.decode()
    api = APIClient()
    api.force_authenticate(staff)
    body = api.get(f"/api/v1/entities/{entity.pk}/").json()
    assert body["tobacco_licence"] == {
        "held": True,
        "number": "140525100018",
        "valid_from": None,
        "valid_until": (TODAY - dt.timedelta(days=1)).isoformat(),
        "status": "expired",
    }
    # the API writes through the same service
    response = api.patch(
        f"/api/v1/entities/{entity.pk}/",
        {"tobacco_licence_valid_until": (TODAY + dt.timedelta(days=1800)).isoformat()},
        format="json",
    )
    assert response.status_code == 200 and response.json()["tobacco_licence"]["status"] == "valid"
    response = api.patch(f"/api/v1/entities/{entity.pk}/", {"tobacco_licence_number": "x"}, format="json")
    assert response.status_code == 400 and "tobacco_licence_number" in response.json()["errors"]
