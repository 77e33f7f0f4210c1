"""无还本续贷 in Chromium, at a desk (1280×900) and on a phone (390×844): the enterprise records a
loan coming due, its bank sees it in 应续尽续 and records 无还本续贷已续, and the city's
中小微企业无还本续贷情况统计表 counts it from the record.

004 二(八): "及时摸排掌握企业续贷需求 … 对符合条件的小微企业'应续尽续'"; 004 十六: "按时准确填报
《中小微企业无还本续贷情况统计表》". Screenshots go to test-artifacts/."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from entities.models import Renewal

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

VIEWPORTS = {"desk": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


@pytest.mark.parametrize("screen", list(VIEWPORTS))
def test_企业登记续贷需求_银行应续尽续办结_统计表计入(world, live_server, page, login, artifacts_dir, screen):
    """ "对符合条件的小微企业'应续尽续'": the need recorded by the enterprise reaches its bank's
    30-day list, the bank renews it without repayment, the statistics table counts it."""
    viewport = VIEWPORTS[screen]
    page.set_viewport_size(viewport)
    base = live_server.url
    entity, owner = world.entity(name="泽州县续贷旅程小吃店")
    due = timezone.localdate() + dt.timedelta(days=20)

    # given the enterprise on its 我的续贷 page
    login(page, base, owner.username)
    page.goto(f"{base}/entities/renewals/")
    page.get_by_test_id("renewal-new").click()
    # when it records a loan of 50 万元 at 中国银行 due in 20 days, wanting 无还本续贷
    page.get_by_label("贷款银行").select_option("boc")
    page.get_by_label("到期贷款金额(万元)").fill("50")
    page.get_by_label("到期日").fill(due.isoformat())
    page.get_by_role("button", name="登记").click()
    # then it sees it 待续贷 in its own list
    row = page.get_by_test_id("renewal-row").filter(has_text=entity.name)
    expect(row.get_by_test_id("renewal-status")).to_have_text("待续贷")
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
    page.screenshot(path=str(artifacts_dir / f"renewal-enterprise-{screen}.png"), full_page=True)

    # when 中国银行's account manager opens 应续尽续, 30 天内到期
    login(page, base, world.users["boc_manager"].username)
    page.goto(f"{base}/entities/renewals/?window=30")
    row = page.get_by_test_id("renewal-row").filter(has_text=entity.name)
    expect(row).to_contain_text("50.00")
    page.screenshot(path=str(artifacts_dir / f"renewal-bank-list-{screen}.png"), full_page=True)
    # and records 无还本续贷已续
    row.get_by_role("button", name="无还本续贷已续").click()
    # then the need is closed as renewed without repayment
    row = page.get_by_test_id("renewal-row").filter(has_text=entity.name)
    expect(row.get_by_test_id("renewal-status")).to_have_text("无还本续贷已续")
    assert Renewal.objects.get(entity=entity).status == "renewed"
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
    page.screenshot(path=str(artifacts_dir / f"renewal-bank-done-{screen}.png"), full_page=True)

    # when the city regulator opens the statistics table of this month
    login(page, base, world.users["city"].username)
    page.goto(f"{base}/reporting/?period={timezone.localdate():%Y-%m}")
    table = page.get_by_test_id("table-renewals")
    # then 中国银行's row counts the record: 1 renewal, 50.00 万元, from 台账
    boc = table.locator("tr", has_text="中国银行")
    expect(boc).to_contain_text("50.00")
    page.screenshot(path=str(artifacts_dir / f"renewal-table-{screen}.png"), full_page=True)
