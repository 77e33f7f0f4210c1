"""The register facts product conditions need (issue 15, items 8 and 9), imported and edited like
the others: where the entity operates when not where it is registered (000 兴旺贷 "注册地或经营地位于
山西省农村信用社服务区域内") and the operator's own realisable net assets (000 晋享贷 "不得超过借款人
自有可变现净资产总额的60%")."""

import pytest

from entities import services
from entities.factories import csv_bytes, good_row
from entities.models import EntityChange, MarketEntity
from portal.services import ApplicationError

pytestmark = pytest.mark.django_db

OPERATING, ASSETS = "经营地行政区划代码", "经营者自有可变现净资产"


def write(tmp_path, content: bytes, name: str = "register.csv"):
    path = tmp_path / name
    path.write_bytes(content)
    return path


def test_the_register_file_carries_the_operating_place_and_the_operators_realisable_assets(tmp_path, run_command):
    # given a 泽州 row operating in 信阳 (outside the importer's region: a fact, not a scope) with 30 万 own assets
    row = good_row(1, **{OPERATING: "411502", ASSETS: "300000"})

    # when a 泽州 register keeper's region imports it
    code, summary, _, _ = run_command(write(tmp_path, csv_bytes([row])), "--region", "140525")

    # then both are stored
    assert code == 0 and summary["created"] == 1, summary
    entity = MarketEntity.objects.get(uscc=row["统一社会信用代码"])
    assert (entity.operating_region_code, entity.operator_realisable_net_assets) == ("411502", 300_000)

    # and a later file with the cells blank keeps what is known (blank = unknown)
    code, summary, _, _ = run_command(write(tmp_path, csv_bytes([good_row(1)]), "blank.csv"), "--region", "140525")
    entity.refresh_from_db()
    assert summary["unchanged"] == 1
    assert (entity.operating_region_code, entity.operator_realisable_net_assets) == ("411502", 300_000)

    # and a new value is a recorded change
    run_command(write(tmp_path, csv_bytes([good_row(1, **{ASSETS: "350000"})]), "new.csv"), "--region", "140525")
    entity.refresh_from_db()
    assert entity.operator_realisable_net_assets == 350_000
    assert EntityChange.objects.filter(entity=entity, changes__has_key="operator_realisable_net_assets").exists()


@pytest.mark.parametrize(
    "cells, column, message",
    [
        ({OPERATING: "140500"}, OPERATING, "140500 是晋城市(市), 应填写县级行政区划代码"),
        ({OPERATING: "999999"}, OPERATING, "未知的县级行政区划代码「999999」"),
        ({ASSETS: "-1"}, ASSETS, "金额不能为负数: -1"),
        ({ASSETS: "30万"}, ASSETS, "金额应为整数元: 30万"),
    ],
)
def test_bad_cells_of_the_new_columns_reject_the_row(tmp_path, run_command, cells, column, message):
    code, summary, _, _ = run_command(write(tmp_path, csv_bytes([good_row(1, **cells)])))

    assert code == 0 and summary["rejected"] == 1
    assert [(e["column"], e["message"]) for e in summary["errors"]] == [(column, message)]
    assert not MarketEntity.objects.exists()


def test_the_enterprise_states_where_it_operates_and_its_operators_own_assets(world):
    # given an enterprise's own entity
    entity, user = world.entity()

    # when it states them
    services.entity_update(
        actor=user, entity=entity, data={"operating_region_code": "140105", "operator_realisable_net_assets": 200_000}
    )

    # then they are stored, in its change history
    entity.refresh_from_db()
    assert (entity.operating_region_code, entity.operator_realisable_net_assets) == ("140105", 200_000)
    change = EntityChange.objects.filter(entity=entity).latest("changed_at")
    assert change.changes["operator_realisable_net_assets"] == [None, 200_000]


@pytest.mark.parametrize(
    "data, field",
    [
        ({"operating_region_code": "140500"}, "operating_region_code"),  # a city, not a county
        ({"operating_region_code": "999999"}, "operating_region_code"),
        ({"operator_realisable_net_assets": -1}, "operator_realisable_net_assets"),
    ],
)
def test_bad_values_are_refused(world, data, field):
    entity, user = world.entity()
    with pytest.raises(ApplicationError) as refused:
        services.entity_update(actor=user, entity=entity, data=data)
    assert field in refused.value.field_errors


def test_the_edit_page_and_the_entity_page_show_them(world):
    from django.test import Client

    entity, user = world.entity()
    client = Client()
    client.force_login(user)
    html = client.get(f"/entities/{entity.pk}/edit/").content.decode()
    assert 'name="operating_region_code"' in html and 'name="operator_realisable_net_assets"' in html
    response = client.post(
        f"/entities/{entity.pk}/edit/",
        {
            "operating_region_code": "140105",
            "operator_realisable_net_assets": "250000",
            "data_shared_with_banks": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    html = client.get(f"/entities/{entity.pk}/").content.decode()
    entity.refresh_from_db()
    assert (entity.operating_region_code, entity.operator_realisable_net_assets) == ("140105", 250_000)
    assert 'data-testid="operating-region">小店区 (140105)<' in html
    assert 'data-testid="realisable-net-assets">25.00 万元<' in html
