import re

import pytest
from playwright.sync_api import Page, expect

from portal.factories import TEST_PASSWORD, user_with_role
from portal.models import Role

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

HOME_TITLES = {
    Role.ENTERPRISE_USER: "企业首页",
    Role.TASK_FORCE_STAFF: "专班工作台",
    Role.TASK_FORCE_BANK_REVIEWER: "银行审核工作台",
    Role.TASK_FORCE_LEAD: "组长工作台",
    Role.CONVENER: "召集人工作台",
    Role.CITY_REGULATOR: "市级融资对接驾驶舱",
    Role.PROVINCE_REGULATOR: "省级融资对接驾驶舱",
    Role.BANK_ADMIN: "银行管理员工作台",
    Role.ACCOUNT_MANAGER: "客户经理工作台",
    Role.PLATFORM_ADMIN: "平台管理",
    Role.DEPARTMENT_STAFF: "职能部门工作台",
    Role.VISITOR: "走访工作台",
}


def test_each_role_has_a_home_title_of_its_own():
    assert len(set(HOME_TITLES.values())) == len(Role)


@pytest.mark.parametrize("role", list(Role))
def test_each_role_logs_in_through_the_login_page_and_sees_its_chinese_home(
    role, live_server, page: Page, artifacts_dir
):
    # given a user holding the role
    user = user_with_role(role, username=f"browser-{role.value}")

    # when he logs in through the real login page
    page.goto(f"{live_server.url}/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    expect(page.get_by_role("heading", name="用户登录")).to_be_visible()
    page.get_by_label("用户名").fill(user.username)
    page.get_by_label("密码").fill(TEST_PASSWORD)
    page.get_by_role("button", name="登录").click()

    # then his role's home page shows, in Chinese, with the role in the header
    expect(page.get_by_test_id("home-title")).to_have_text(HOME_TITLES[role])
    expect(page.get_by_test_id("current-user")).to_contain_text(role.label)
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    page.screenshot(path=str(artifacts_dir / f"home-{role.value}.png"), full_page=True)


def test_wrong_password_gets_a_chinese_message(live_server, page: Page):
    user = user_with_role(Role.TASK_FORCE_STAFF, username="browser-wrong")
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("用户名").fill(user.username)
    page.get_by_label("密码").fill("not-the-password")
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("alert")).to_contain_text("用户名或密码错误")


def test_home_page_fits_a_phone(live_server, page: Page, artifacts_dir):
    # given an enterprise user on a phone-sized screen
    user = user_with_role(Role.ENTERPRISE_USER, username="browser-phone")
    page.set_viewport_size({"width": 375, "height": 740})
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("用户名").fill(user.username)
    page.get_by_label("密码").fill(TEST_PASSWORD)
    page.get_by_role("button", name="登录").click()

    # then the page does not scroll sideways and the menu collapses behind a toggler
    expect(page.get_by_test_id("home-title")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    expect(page.get_by_role("button", name="展开导航")).to_be_visible()
    # and the locally served Bootstrap styles are applied (no CDN)
    assert page.locator("nav.navbar").evaluate("e => getComputedStyle(e).backgroundColor") not in (
        "",
        "rgba(0, 0, 0, 0)",
    )
    page.screenshot(path=str(artifacts_dir / "home-enterprise-phone.png"), full_page=True)
