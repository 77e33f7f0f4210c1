"""资格自测 and 产品超市 in headless Chromium on a phone-sized screen, anonymous."""

import re

import pytest
from django.core.cache import cache
from playwright.sync_api import Page, expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 375, "height": 740}


@pytest.fixture(autouse=True)
def _fresh_throttle():
    cache.clear()  # the preview's rate limit history lives in the cache


def test_an_anonymous_visitor_checks_eligibility_on_a_phone(catalogue, live_server, page: Page, artifacts_dir):
    # given a visitor on a phone, not signed in
    page.set_viewport_size(PHONE)
    page.goto(f"{live_server.url}/products/")
    expect(page.get_by_test_id("page-title")).to_have_text("产品超市")
    assert page.get_by_test_id("product-card").count() >= 15
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    # when he opens the self-test and fills in what he knows about his shop
    page.get_by_role("link", name=re.compile("资格自测")).first.click()
    expect(page.get_by_test_id("page-title")).to_have_text("资格自测")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.get_by_label("经营主体类型").select_option("individual_business")
    page.get_by_label("所在县（市、区）").select_option("140502")
    page.get_by_label("行业（大类）").select_option("52")
    page.get_by_label("行业小类代码（可选）").fill("5291")
    page.get_by_label("成立日期").fill("2025-05-10")
    page.get_by_label("分型（三型）").select_option("survival")
    page.get_by_label("名特优新称号").select_option("none")
    page.get_by_label("年营业收入（万元）").fill("15")
    page.get_by_label("经营者（法定代表人）出生日期").fill("1986-03-01")
    page.get_by_label("经营者国籍").select_option("CN")
    page.get_by_label("失信被执行人").select_option("no")
    page.get_by_label("近两年最长连续逾期（期）").fill("0")
    page.get_by_label("近两年累计逾期（期）").fill("0")
    page.get_by_role("button", name="查看我能申请的产品").click()

    # then every product shows a verdict; 惠商贷 offers 3 万元 with its reasons
    expect(page.get_by_test_id("result-counts")).to_be_visible()
    card = page.locator('[data-testid="result"][data-product="huishangdai"]')
    expect(card.get_by_test_id("verdict")).to_have_text("符合条件")
    expect(card.get_by_test_id("offer")).to_contain_text("3 万元")
    card.get_by_text("为什么").click()
    expect(card.get_by_text("已经营")).to_be_visible()
    # and a product that needs more than he said explains what is missing
    incomplete = page.locator('[data-testid="result"][data-verdict="incomplete"]').first
    expect(incomplete.get_by_test_id("missing")).to_contain_text("无法判断")
    # and the page still fits the phone, with no inline script (strict CSP)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert page.locator("script:not([src])").count() == 0
    page.screenshot(path=str(artifacts_dir / "self-test-phone.png"), full_page=True)


def test_a_field_error_is_shown_next_to_the_field(catalogue, live_server, page: Page):
    page.set_viewport_size(PHONE)
    page.goto(f"{live_server.url}/products/self-test/")
    page.get_by_label("成立日期").fill("2099-01-01")
    page.get_by_role("button", name="查看我能申请的产品").click()
    expect(page.get_by_role("alert")).to_contain_text("请修改标出的字段: 成立日期")
    expect(page.locator("[data-testid^=error-]").first).to_contain_text("不能晚于评估日期")
