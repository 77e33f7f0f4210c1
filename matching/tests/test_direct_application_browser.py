"""直接申请 in Chromium (issue 17 part 4; seed 002_d26ed7e686b841c7.txt point 5: "小微“无贷户”授信
申请原则上5个工作日内回复"): the enterprise applies from the 产品超市 on a 390×844 phone; the bank
administrator finds it marked 直接申请 / 无贷户 in the inbox at 1280×900 and answers (已对接)."""

import pytest
from playwright.sync_api import Page, expect

from matching.models import ClockKind, ClockState, DeadlineClock, Recommendation, RecommendationState
from products.factories import build_world
from products.models import LoanProduct

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def test_企业从产品超市直接申请_银行收件箱见直接申请无贷户并回复(live_server, page: Page, artifacts_dir, login):
    """ "小微“无贷户”授信申请原则上5个工作日内回复": applied on the phone, answered at the bank."""
    world = build_world()
    entity, user = world.entity("泽州县直申面馆")
    product = LoanProduct.objects.filter(bank__code="boc", status="active").order_by("code")[0]
    base = live_server.url

    # the enterprise, on its phone, opens the product in the 产品超市 and applies
    page.set_viewport_size(PHONE)
    login(page, base, user.username)
    page.goto(f"{base}/products/{product.code}/")
    expect(page.get_by_test_id("four-lists")).to_be_visible()
    page.get_by_test_id("direct-apply").click()
    form = page.get_by_test_id("direct-apply-form")
    form.get_by_label("申请金额(万元)").fill("20")
    form.get_by_label("资金用途").fill("进货周转")
    form.get_by_label("我同意向该银行共享本企业的登记、分类及融资需求信息, 用于本次授信申请").check()
    page.screenshot(path=str(artifacts_dir / "direct-apply-phone.png"), full_page=True)
    page.get_by_test_id("direct-apply-submit").click()
    expect(page.get_by_text("银行原则上 5 个工作日内回复").first).to_be_visible()
    lead = Recommendation.objects.get(entity=entity)
    assert lead.is_direct and lead.no_loan_entity

    # the bank administrator, at his desk, sees it marked in the inbox and answers it
    page.set_viewport_size(DESKTOP)
    login(page, base, "wf-boc-admin")
    page.goto(f"{base}/matching/leads/")
    row = page.get_by_test_id("lead-table").locator("tr", has_text="泽州县直申面馆")
    expect(row.get_by_test_id("mark-direct")).to_have_text("直接申请")
    expect(row.get_by_test_id("mark-no-loan")).to_have_text("无贷户")
    page.screenshot(path=str(artifacts_dir / "direct-inbox-1280.png"), full_page=True)
    row.get_by_role("link", name="泽州县直申面馆").click()
    page.on("dialog", lambda dialog: dialog.accept())
    contact = page.get_by_test_id("contact-form")
    contact.get_by_label("对接方式").select_option("phone")
    contact.get_by_role("button", name="已对接").click()
    expect(page.get_by_test_id("lead-title")).to_be_visible()
    page.screenshot(path=str(artifacts_dir / "direct-answered-1280.png"), full_page=True)
    lead = Recommendation.objects.get(pk=lead.pk)
    assert lead.state == RecommendationState.CONTACTED
    clock = DeadlineClock.objects.get(recommendation=lead, kind=ClockKind.FEEDBACK)
    assert clock.state == ClockState.SATISFIED
