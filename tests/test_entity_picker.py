"""Issue 16 item 9: picking an entity (走访登记, 代为申报, 推荐企业) is a search by name or USCC
with suggestions, not typing 18 characters; the suggestions are only entities the user may see."""

import re

import pytest
from django.test import Client
from playwright.sync_api import Page, expect

from matching.models import Visit
from products.factories import build_world

pytestmark = pytest.mark.django_db


def _suggest(user, typed: str) -> list[tuple[str, str]]:
    client = Client()
    client.force_login(user)
    html = client.get("/entities/suggest/", {"uscc": typed}).content.decode()
    return re.findall(r'<option value="([0-9A-Z]{18})">([^<]+)</option>', html)


def test_suggestions_by_name_or_credit_code_only_among_the_entities_the_user_sees(world, other_county):
    # given an entity of 泽州 and one of another city (other_county)
    entity, _ = world.entity(name="泽州县金辉炒货店")
    staff = world.users["staff"]

    # when the staff types part of its name, or its credit code
    by_name = _suggest(staff, "金辉炒")
    by_code = _suggest(staff, entity.uscc.lower())

    # then it is suggested with its county, the value being its USCC
    assert by_name == [(entity.uscc, "泽州县金辉炒货店 · 泽州县")] == by_code
    # and another city's entity is never suggested, by name or by code
    assert _suggest(staff, other_county.entity.name[:4]) == []
    assert _suggest(staff, other_county.entity.uscc) == []
    # and one character, or nothing, suggests nothing (no walk of the whole register)
    assert _suggest(staff, "金") == [] and _suggest(staff, "") == []


def test_bad_input_is_an_empty_list_not_an_error(world):
    client = Client()
    client.force_login(world.users["staff"])
    for bad in ("%00", "\x00金辉", "x" * 500):
        response = client.get("/entities/suggest/", {"q": bad})
        assert response.status_code == 200


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_task_force_picks_the_entity_of_a_visit_from_suggestions(live_server, page: Page, login, artifacts_dir):
    # given an entity of 泽州 and its task force's staff, on a phone
    world = build_world()
    entity, _ = world.entity(name="泽州县巴公镇鑫旺建材店")
    page.set_viewport_size({"width": 390, "height": 844})
    login(page, live_server.url, world.users["staff"].username)
    page.goto(f"{live_server.url}/matching/visits/")

    # when she types part of the name
    field = page.get_by_label("经营主体(名称或统一社会信用代码)")
    field.fill("鑫旺建")
    # then the suggestion list offers it, with the credit code as its value
    option = page.locator(f'#{field.get_attribute("list")} option[value="{entity.uscc}"]')
    expect(option).to_have_count(1)
    assert "泽州县巴公镇鑫旺建材店" in option.inner_text()
    page.screenshot(path=str(artifacts_dir / "entity-picker-phone.png"), full_page=True)

    # and picking it (the suggestion's value fills the field) records the visit for that entity
    field.fill(entity.uscc)
    page.get_by_label("走访人员").fill("周干事")
    page.get_by_role("button", name=re.compile("登记")).first.click()
    expect(page.get_by_text("泽州县巴公镇鑫旺建材店").first).to_be_visible()
    assert Visit.objects.filter(entity=entity).count() == 1
