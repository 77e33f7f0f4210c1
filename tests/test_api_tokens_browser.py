"""The API token page on a phone: a bank administrator issues a token, sees the key once,
and revokes it after a confirmation; every control is a tap target of at least 44 px."""

import pytest
from playwright.sync_api import Page, expect

from portal.factories import TEST_PASSWORD, user_with_role
from portal.models import ApiToken, Role

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _assert_tap_targets(page: Page, selector: str):
    boxes = [page.locator(selector).nth(i).bounding_box() for i in range(page.locator(selector).count())]
    assert boxes, selector
    small = [box for box in boxes if box["height"] < 44 or box["width"] < 44]
    assert not small, f"{selector}: tap targets smaller than 44 px: {small}"


def test_a_bank_administrator_issues_and_revokes_a_token_on_a_phone(live_server, page: Page, artifacts_dir):
    # given a bank administrator on a phone
    admin = user_with_role(Role.BANK_ADMIN, username="browser-bank-admin")
    page.set_viewport_size({"width": 375, "height": 740})
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("用户名").fill(admin.username)
    page.get_by_label("密码").fill(TEST_PASSWORD)
    page.get_by_role("button", name="登录").click()
    # when he opens API 令牌 from the menu and issues a token for the credit system
    page.get_by_role("button", name="展开导航").click()
    page.get_by_role("link", name="API 令牌").click()
    expect(page.get_by_test_id("page-title")).to_have_text("API 令牌")
    _assert_tap_targets(page, "main .tap-target")
    page.get_by_label("名称(对接的系统)").fill("信贷管理系统")
    page.get_by_role("button", name="签发令牌").click()
    # then the key shows once, with the warning, and the page fits the screen
    expect(page.get_by_test_id("issued-token")).to_contain_text("令牌只显示这一次")
    key = page.get_by_test_id("issued-key").input_value()
    assert key.startswith("zyq_") and len(key) > 40
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.screenshot(path=str(artifacts_dir / "api-token-issued-phone.png"), full_page=True)
    # when he reloads the list, the key is gone; he follows 吊销 and confirms
    page.goto(f"{live_server.url}/accounts/tokens/")
    assert key not in page.content()
    page.get_by_role("link", name="吊销").click()
    expect(page.get_by_test_id("page-title")).to_contain_text("吊销令牌「信贷管理系统」")
    _assert_tap_targets(page, "main .tap-target")
    assert ApiToken.objects.get(user=admin).revoked_at is None  # nothing happens before the confirmation
    page.get_by_role("button", name="确认吊销").click()
    # then the list shows it revoked
    expect(page.get_by_role("alert")).to_contain_text("已吊销")
    expect(page.get_by_test_id("token-row")).to_contain_text("已吊销")
    assert ApiToken.objects.get(user=admin).revoked_at is not None
