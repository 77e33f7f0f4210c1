"""The whole 申报 → 推荐 → 授信/不予授信 journey in Chromium, through the real pages."""

import pytest
from playwright.sync_api import Page, expect

from matching.models import Coaching, Recommendation, RecommendationState
from products.factories import build_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_declare_review_push_approve_decline_coach(live_server, page: Page, artifacts_dir, login):
    world = build_world()
    entity, enterprise_user = world.entity(name="泽州县旅程测试面馆")
    base = live_server.url
    page.on("dialog", lambda dialog: dialog.accept())

    # the enterprise declares 30 万元 with two intended banks, on a phone
    page.set_viewport_size({"width": 390, "height": 844})
    login(page, base, enterprise_user.username)
    page.goto(f"{base}/matching/declare/")
    page.get_by_label("融资金额(万元)").fill("30")
    page.get_by_label("期限(月)").fill("12")
    page.get_by_label("资金用途").fill("进货周转")
    page.locator("input[name=banks][value=boc]").check()
    page.locator("input[name=banks][value=ccb]").check()
    for name in ("compliant_operation", "fixed_premises", "genuine_need", "good_credit", "lawful_purpose"):
        page.locator(f"input[name=criteria_{name}]").check()
    page.locator("#id_consent").check()
    page.get_by_role("button", name="提交申报").click()
    expect(page.get_by_test_id("declaration-title")).to_contain_text("泽州县旅程测试面馆")
    expect(page.locator("body")).to_contain_text("待初审")
    page.screenshot(path=str(artifacts_dir / "journey-1-declared-phone.png"), full_page=True)
    declaration_url = page.url
    page.set_viewport_size({"width": 1280, "height": 900})

    # three reviews: staff, seconded bank reviewer, lead
    for username in ("wf-staff", "wf-reviewer", "wf-lead"):
        login(page, base, username)
        page.goto(f"{base}/matching/review/")
        page.get_by_role("link", name="泽州县旅程测试面馆").click()
        page.get_by_role("button", name="通过", exact=True).click()
        expect(page.get_by_role("alert").first).to_contain_text("审核意见已提交")

    # the convener signs off and pushes
    login(page, base, "wf-convener")
    page.goto(f"{base}/matching/batches/")
    page.get_by_label("选择 泽州县旅程测试面馆").check()
    page.get_by_role("button", name="签字确认并生成批次").click()
    expect(page.get_by_test_id("batch-title")).to_be_visible()
    page.get_by_role("button", name="推送").click()
    expect(page.get_by_role("alert").first).to_contain_text("已推送")
    expect(page.get_by_test_id("batch-progress")).to_contain_text("中国银行")

    # bank A: contact, materials, approve 30 万元, drawdown 20 万元
    login(page, base, "wf-boc-admin")
    page.goto(f"{base}/matching/leads/")
    expect(page.get_by_test_id("lead-table")).to_contain_text("剩余 5 个工作日")
    page.get_by_role("link", name="泽州县旅程测试面馆").click()
    page.get_by_role("button", name="已对接").click()
    page.get_by_role("button", name="材料已收齐").click()
    page.get_by_label("授信金额(万元)").fill("30")
    page.get_by_label("年利率(%)").fill("3.65")
    page.locator("input[name=is_credit_loan]").check()
    page.locator("input[name=is_first_loan]").check()
    page.get_by_role("button", name="授信", exact=True).click()
    expect(page.get_by_role("alert").first).to_contain_text("已登记授信")
    page.get_by_label("放款金额(万元)").fill("20")
    page.get_by_role("button", name="放款", exact=True).click()
    expect(page.get_by_role("alert").first).to_contain_text("已登记放款")
    page.screenshot(path=str(artifacts_dir / "journey-2-bank-lead.png"), full_page=True)

    # bank B declines with a coded reason
    login(page, base, "wf-ccb-admin")
    page.goto(f"{base}/matching/leads/")
    page.get_by_role("link", name="泽州县旅程测试面馆").click()
    page.get_by_label("不予授信原因").select_option("operating_too_short")
    page.get_by_label("不予授信说明").fill("经营未满 2 年")
    page.get_by_role("button", name="不予授信").click()
    expect(page.get_by_role("alert").first).to_contain_text("已即时反馈专班")

    # the enterprise sees both outcomes, with the unread count in the navigation
    login(page, base, enterprise_user.username)
    expect(page.get_by_test_id("unread-count")).to_be_visible()
    page.goto(declaration_url)
    expect(page.get_by_test_id("recommendation-boc")).to_contain_text("已放款")
    expect(page.get_by_test_id("recommendation-boc")).to_contain_text("已放款 20.00 万元")
    expect(page.get_by_test_id("recommendation-ccb")).to_contain_text("经营时间不足")
    page.screenshot(path=str(artifacts_dir / "journey-3-enterprise-outcomes.png"), full_page=True)

    # the task force sees the decline on its home page and records coaching
    login(page, base, "wf-staff")
    expect(page.locator("body")).to_contain_text("不予授信待辅导")
    page.goto(declaration_url)
    page.get_by_label("辅导情况").fill("指导完善经营流水, 满 2 年后再申请")
    page.get_by_role("button", name="登记辅导").click()
    expect(page.get_by_role("alert").first).to_contain_text("已登记辅导情况")

    assert Recommendation.objects.get(bank__code="boc", entity=entity).state == RecommendationState.DISBURSED
    assert Recommendation.objects.get(bank__code="ccb", entity=entity).state == RecommendationState.DECLINED
    assert Coaching.objects.filter(recommendation__entity=entity).count() == 1
