"""Issue 16 item 7 in Chromium: "Forms keep what was typed after an error, show all errors at
once next to their fields, and name the field in Chinese." The account manager's 授信 with an
amount that is not a number (1280 wide), and the enterprise's 我要融资 with an amount below the
minimum on a 390×844 phone: the page comes back with the values as typed, the error under its
field, the field named in the box above the form; screenshots in test-artifacts/."""

import pytest
from playwright.sync_api import Page, expect

from matching import services as s
from matching.factories import pushed
from matching.models import Recommendation
from products.factories import build_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def test_授信金额有误_线索页保留所填内容_错误显示在字段旁(live_server, page: Page, artifacts_dir, login):
    # given a contacted lead with complete materials, assigned to 中国银行's account manager
    world = build_world()
    _, _, leads = pushed(world, ("boc",))
    lead, manager = leads["boc"], world.users["boc_manager"]
    s.recommendations_assign(actor=world.users["boc_admin"], recommendation_ids=[lead.pk], manager_id=manager.pk)
    s.recommendation_contact(actor=manager, recommendation_id=lead.pk)
    s.recommendation_materials_complete(actor=manager, recommendation_id=lead.pk)
    page.set_viewport_size(DESKTOP)
    page.on("dialog", lambda dialog: dialog.accept())
    login(page, live_server.url, manager.username)
    page.goto(f"{live_server.url}/matching/leads/{lead.pk}/")

    # when the manager types an amount that is not a number and grants
    form = page.get_by_test_id("approve-form")
    form.get_by_label("授信金额(万元)").fill("三十")
    form.get_by_label("年利率(%)").fill("3.85")
    form.get_by_label("期限(月)").fill("6")
    form.get_by_role("button", name="授信", exact=True).click()

    # then the lead page is back with what was typed, the error under the amount, named above
    form = page.get_by_test_id("approve-form")
    amount = form.get_by_label("授信金额(万元)")
    expect(amount).to_have_value("三十")
    expect(amount).to_have_attribute("aria-invalid", "true")
    expect(amount).to_have_attribute("aria-describedby", "approve-credit_amount_wan_error")
    expect(form.locator("[data-field=credit_amount_wan] #approve-credit_amount_wan_error")).to_be_visible()
    expect(form.get_by_label("年利率(%)")).to_have_value("3.85")
    expect(form.get_by_label("期限(月)")).to_have_value("6")
    expect(form.get_by_test_id("form-errors")).to_contain_text("授信金额(万元)")
    expect(page.get_by_test_id("lead-materials")).to_be_visible()  # the page's other content is there
    expect(amount).to_be_focused()
    page.screenshot(path=str(artifacts_dir / "form-errors-lead-approve.png"), full_page=True)
    assert Recommendation.objects.get(pk=lead.pk).credit_amount is None

    # and corrected, the grant is recorded (and the page is reached by a redirect again)
    amount.fill("30")
    form.get_by_role("button", name="授信", exact=True).click()
    expect(page.get_by_role("alert").first).to_contain_text("已登记授信")
    assert Recommendation.objects.get(pk=lead.pk).credit_amount == 300_000


def test_我要融资金额有误_手机上保留所填内容_错误显示在字段旁(live_server, page: Page, artifacts_dir, login):
    # given an enterprise on a 390×844 phone
    world = build_world()
    entity, user = world.entity()
    page.set_viewport_size(PHONE)
    login(page, live_server.url, user.username)
    page.goto(f"{live_server.url}/matching/declare/")

    # when it asks for 0 万元 with a purpose and a bank, and submits
    page.get_by_label("融资金额(万元)").fill("0")
    page.get_by_label("资金用途").fill("进货周转")
    page.locator("input[name=banks]").first.check()
    page.get_by_role("button", name="提交申报").click()

    # then the form is back with what was typed, the error under the amount, named above
    amount = page.get_by_label("融资金额(万元)")
    expect(amount).to_have_value("0")
    expect(amount).to_have_attribute("aria-invalid", "true")
    expect(page.locator("[data-field=amount_wan] #id_amount_wan_error")).to_be_visible()
    expect(page.get_by_label("资金用途")).to_have_value("进货周转")
    expect(page.locator("input[name=banks]").first).to_be_checked()
    expect(page.get_by_test_id("form-errors")).to_contain_text("融资金额(万元)")
    page.get_by_test_id("form-errors").scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts_dir / "form-errors-declare-phone.png"), full_page=True)
    assert not entity.declarations.exists()
