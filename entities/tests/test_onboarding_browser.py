"""In Chromium, on a 390×844 phone and on a desktop: an enterprise registers itself from the
login page (issue 16 item 12) — matched to the register at once, or by a claim the county
task force approves."""

import re

import pytest
from playwright.sync_api import Page, expect

from entities.factories import MarketEntityFactory
from entities.models import ClaimState, EntityClaim
from portal.factories import user_with_role
from portal.models import Role

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "Jinhui-xiaochi-2026"


def _register(page: Page, base: str, outbox, *, uscc: str, name: str, phone: str):
    page.goto(f"{base}/accounts/login/")
    page.get_by_role("link", name="企业注册").click()
    expect(page.get_by_role("heading", name="企业注册")).to_be_visible()
    page.get_by_label("统一社会信用代码").fill(uscc)
    page.get_by_label("经营者(法定代表人)姓名").fill(name)
    page.get_by_label("经营者手机号").fill(phone)
    page.get_by_role("button", name="获取验证码").click()
    expect(page.get_by_text("验证码已发送至")).to_be_visible()
    # what was typed is kept after the code was sent
    expect(page.get_by_label("统一社会信用代码")).to_have_value(uscc)
    code = re.search(r"(\d{6})", [m.text for m in outbox if m.phone == phone][-1]).group(1)
    page.get_by_label("短信验证码").fill(code)
    page.get_by_label("设置密码").fill(PASSWORD)
    page.get_by_label("确认密码").fill(PASSWORD)


def test_企业在手机上自行注册_与名录库一致即关联(live_server, page: Page, sms_outbox, artifacts_dir):
    """ "an enterprise registers itself — USCC, operator name, operator phone with a
    verification code …, password — and is linked to its register entry when the USCC and
    the operator's phone match the register" (issue 16 item 12), at 390×844."""
    entity = MarketEntityFactory(name="泽州县金辉小吃店", operator_name="陈金辉", operator_phone="13812345678")
    page.set_viewport_size({"width": 390, "height": 844})
    _register(page, live_server.url, sms_outbox, uscc=entity.uscc, name="陈金辉", phone="13812345678")
    wide = page.evaluate(
        "[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > 390)"
        ".map(e => e.tagName + '.' + e.className + ' ' + e.getBoundingClientRect().right)"
    )
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, wide
    page.screenshot(path=str(artifacts_dir / "onboarding-register-phone.png"), full_page=True)
    page.get_by_role("button", name="注册").click()

    # then he lands on his enterprise's home page, signed in
    expect(page.get_by_test_id("home-title")).to_have_text("企业首页")
    expect(page.get_by_text("注册成功, 已关联您的经营主体")).to_be_visible()
    expect(page.get_by_text("泽州县金辉小吃店").first).to_be_visible()
    page.screenshot(path=str(artifacts_dir / "onboarding-linked-phone.png"), full_page=True)


def test_信息不一致时提交认领_专班审核通过(live_server, page: Page, sms_outbox, login, artifacts_dir):
    """ "otherwise the county task force approves the claim" (issue 16 item 12), on a desktop."""
    entity = MarketEntityFactory(name="泽州县认领测试商店", operator_phone="13900000000")
    staff = user_with_role(Role.TASK_FORCE_STAFF, username="zezhou-staff", region_code="140525")
    page.set_viewport_size({"width": 1280, "height": 900})
    _register(page, live_server.url, sms_outbox, uscc=entity.uscc, name="张三", phone="13812345678")
    page.get_by_role("button", name="注册").click()
    expect(page.get_by_test_id("claim-state")).to_contain_text("认领待专班审核")
    page.screenshot(path=str(artifacts_dir / "onboarding-claim-pending.png"), full_page=True)

    # the county's task force approves it on its page
    login(page, live_server.url, staff.username)
    page.goto(f"{live_server.url}/entities/claims/")
    expect(page.get_by_role("heading", name="企业认领审核")).to_be_visible()
    row = page.get_by_test_id(f"claim-{EntityClaim.objects.get().pk}")
    expect(row).to_contain_text(entity.uscc)
    page.screenshot(path=str(artifacts_dir / "onboarding-claims-task-force.png"), full_page=True)
    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="通过").click()
    expect(page.get_by_text("已通过认领")).to_be_visible()
    assert EntityClaim.objects.get().state == ClaimState.APPROVED

    # and the registrant now signs in to his enterprise's home page
    page.context.clear_cookies()
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("用户名").fill("13812345678")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_test_id("home-title")).to_have_text("企业首页")
    page.screenshot(path=str(artifacts_dir / "onboarding-approved-desktop.png"), full_page=True)
