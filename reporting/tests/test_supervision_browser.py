"""A 督办单 in Chromium through the real pages (seed 004_b2811ebd7ee390f8.txt 十六 "及时发现问题、
解决问题"; 十七 "各地各有关部门在工作中遇到的问题和重要事项, 及时向各级协调机制报告"): the city mechanism
drills down from 逾期督办's count to the overdue leads and issues a 督办单 to the bank branch
(1280×900); the bank's administrator signs for it and answers on a phone (390×844); the city sees
the answer."""

import pytest
from playwright.sync_api import Page, expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def test_city_drills_down_and_issues_a_督办单_the_bank_signs_and_answers(
    overdue_world, live_server, page: Page, artifacts_dir, login
):
    world = overdue_world
    base = live_server.url
    page.on("dialog", lambda dialog: dialog.accept())

    # the city mechanism: 逾期督办 → the count of 中国银行泽州支行 → its two overdue leads
    page.set_viewport_size(DESKTOP)
    login(page, base, "wf-city")
    page.goto(f"{base}/matching/overdue/")
    page.get_by_test_id("overdue-count").first.click()
    expect(page.get_by_test_id("drill-lead-count")).to_have_text("2")
    expect(page.get_by_test_id("drill-lead-row")).to_have_count(2)
    expect(page.get_by_label("被督办单位")).to_have_value(str(world.overdue_leads[0].branch.organisation_id))
    page.get_by_label("督办要求").fill("两笔线索逾期未反馈, 请三个工作日内联系企业并在平台反馈")
    page.screenshot(path=str(artifacts_dir / "supervision-1-city-drilldown-1280.png"), full_page=True)
    page.get_by_test_id("issue-supervision").click()
    expect(page.get_by_test_id("supervision-state")).to_have_text("待签收")
    expect(page.get_by_test_id("supervision-items")).to_contain_text(world.overdue_leads[0].entity.name)
    page.screenshot(path=str(artifacts_dir / "supervision-2-city-issued-1280.png"), full_page=True)

    # the bank's administrator on a phone: the 督办单 list → sign for it → answer
    page.set_viewport_size(PHONE)
    login(page, base, "wf-boc-admin")
    page.goto(f"{base}/reporting/supervision/")
    page.get_by_test_id("supervision-table").get_by_role("link").first.click()
    page.get_by_test_id("supervision-acknowledge").click()
    expect(page.get_by_test_id("supervision-state")).to_have_text("办理中")
    page.get_by_label("办理回复").fill("泽州支行已联系两家企业, 对接结果已在平台反馈")
    page.get_by_test_id("supervision-answer-submit").click()
    expect(page.get_by_test_id("supervision-state")).to_have_text("已回复")
    expect(page.get_by_test_id("supervision-timeline")).to_contain_text("签收")
    page.screenshot(path=str(artifacts_dir / "supervision-3-bank-answered-phone.png"), full_page=True)

    # the city sees the answer
    page.set_viewport_size(DESKTOP)
    login(page, base, "wf-city")
    page.goto(f"{base}/reporting/supervision/")
    page.get_by_test_id("supervision-table").get_by_role("link").first.click()
    expect(page.get_by_test_id("supervision-answer")).to_contain_text("对接结果已在平台反馈")
