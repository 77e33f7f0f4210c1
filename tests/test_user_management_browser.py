"""Issue 16 item 16 in Chromium: "organisation administrators ... invite users ... The Django
admin is for platform administrators only and no role needs it for daily work." A bank
administrator invites an account manager through 用户管理, who then signs in with the
temporary password and chooses his own — at desktop size and on a 390×844 phone."""

import pytest
from playwright.sync_api import Page, expect

from portal.models import Role

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("size", [(1280, 800), (390, 844)], ids=["desktop", "phone"])
def test_a_bank_administrator_invites_an_account_manager_who_then_signs_in(
    size, world, live_server, page: Page, login, artifacts_dir
):
    width, height = size
    tag = "phone" if width < 500 else "desktop"
    page.set_viewport_size({"width": width, "height": height})
    # given the bank administrator signed in, on 用户管理 from his navigation
    login(page, live_server.url, world.users["boc_admin"].username)
    if width < 500:
        page.get_by_role("button", name="展开导航").click()
    page.get_by_role("link", name="用户管理").click()
    expect(page.get_by_test_id("page-title")).to_have_text("用户管理")

    # when he invites an account manager of the 泽州 sub-branch
    page.get_by_role("link", name="邀请用户").click()
    page.get_by_label("用户名").fill(f"invited-{tag}")
    page.get_by_label("姓名").fill("新来的客户经理")
    page.get_by_label("手机号").fill("13800000010")
    page.get_by_label("所属机构").select_option(str(world.branches["boc"].organisation_id))
    page.get_by_label("角色").select_option(Role.ACCOUNT_MANAGER.value)
    page.get_by_role("button", name="邀请并生成临时密码").click()

    # then the temporary password is shown once
    expect(page.get_by_test_id("invited")).to_contain_text(f"invited-{tag}")
    password = page.get_by_test_id("temporary-password").inner_text().strip()
    page.screenshot(path=str(artifacts_dir / f"user-invite-{tag}.png"), full_page=True)
    wide = page.evaluate(
        "[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > innerWidth + 1)"
        ".map(e => e.tagName + '.' + e.className).slice(0, 5)"
    )
    assert page.evaluate("document.documentElement.scrollWidth") <= width, wide

    # and the new account manager signs in, must choose his own password, and reaches his home
    page.context.clear_cookies()
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("用户名").fill(f"invited-{tag}")
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
    expect(page).to_have_url(f"{live_server.url}/accounts/password/")
    page.get_by_label("旧密码").fill(password)
    page.get_by_label("新密码", exact=True).fill("Zz-own-pass-2026")
    page.get_by_label("新密码确认").fill("Zz-own-pass-2026")
    page.get_by_role("button", name="保存").click()
    page.goto(f"{live_server.url}/")
    expect(page.get_by_test_id("home-title")).to_have_text("客户经理工作台")
    expect(page.get_by_test_id("current-user")).to_contain_text("客户经理")
    page.screenshot(path=str(artifacts_dir / f"user-invited-home-{tag}.png"), full_page=True)
