"""Issue 16 item 13: coded fields are choices, never free text (国籍 "中国" silently removed
products because only "CN" was understood); numbers display as numbers (资格自测 showed 净资产
"3E+1"); the self-test uses the newest financial year."""

import pytest
from django.test import Client
from rest_framework.test import APIClient

from entities.models import MarketEntity, Nationality
from entities.services import financial_year_record
from portal.factories import user_with_role
from portal.models import Role

pytestmark = pytest.mark.django_db


def test_the_api_refuses_a_nationality_typed_as_a_name_and_says_which_codes_it_takes(world):
    # given an entity of 泽州 and its task force's staff
    entity, _ = world.entity()
    client = APIClient()
    client.force_login(world.users["staff"])

    # when the nationality is sent as the name 中国
    response = client.patch(f"/api/v1/entities/{entity.pk}/", {"operator_nationality": "中国"}, format="json")

    # then it is refused with the codes it takes, and nothing is stored
    assert response.status_code == 400
    message = response.json()["errors"]["operator_nationality"][0]
    assert message.startswith("国籍应填代码: CN(中国（内地）)")
    assert MarketEntity.objects.get(pk=entity.pk).operator_nationality is None
    # and the code is taken
    assert (
        client.patch(f"/api/v1/entities/{entity.pk}/", {"operator_nationality": "CN"}, format="json").status_code == 200
    )
    assert MarketEntity.objects.get(pk=entity.pk).operator_nationality == Nationality.CN


def test_the_entity_edit_form_offers_the_nationality_as_a_choice(world):
    entity, _ = world.entity()
    client = Client()
    client.force_login(world.users["staff"])
    html = client.get(f"/entities/{entity.pk}/edit/").content.decode()
    select = html.split('name="operator_nationality"')[1].split("</select>")[0]
    assert '<option value="CN"' in select and "中国（内地）" in select and "<select" in html


def test_the_self_test_prefills_the_newest_year_in_plain_numbers(world):
    # given an enterprise whose register has two years of financials, 净资产 30 万元 the newer
    entity, owner = world.entity()
    city = user_with_role(Role.CITY_REGULATOR)
    financial_year_record(actor=city, entity=entity, year=2024, values={"net_assets": 200_000})
    financial_year_record(actor=city, entity=entity, year=2025, values={"net_assets": 300_000})

    # when it opens 资格自测
    client = Client()
    client.force_login(owner)
    form = client.get("/products/self-test/").context["form"]

    # then the form shows 30 万元 (the newest year), as "30", never "3E+1"
    assert str(form.initial["net_assets"]) == "30"
    assert 'value="30"' in str(form["net_assets"])
