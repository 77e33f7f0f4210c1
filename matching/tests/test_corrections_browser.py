"""Corrections on the lead page in Chromium (issue 16 item 6: "a decision, a drawdown …
recorded by mistake can be corrected by the bank administrator … with a reason; the correction
is an event on the timeline"), at 1280×900 and on a 390×844 phone, each screen kept in
test-artifacts/: the bank administrator corrects a drawdown's amount and takes back a 授信
recorded by mistake, each after a confirmation that says what will happen; the account
manager working the lead sees no 更正 card."""

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from matching import services as s
from matching.factories import pushed
from matching.models import Disbursement, Recommendation, RecommendationState
from products.factories import build_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def _drawn_lead(world):
    """A 中国银行 lead approved for 10 万元 with 6 万元 drawn, worked by its account manager."""
    _, _, leads = pushed(world, ("boc",))
    lead, admin, manager = leads["boc"], world.users["boc_admin"], world.users["boc_manager"]
    s.recommendations_assign(actor=admin, recommendation_ids=[lead.pk], manager_id=manager.pk)
    s.recommendation_contact(actor=manager, recommendation_id=lead.pk)
    s.recommendation_materials_complete(actor=manager, recommendation_id=lead.pk)
    s.recommendation_approve(
        actor=manager,
        recommendation_id=lead.pk,
        credit_amount=100_000,
        rate_percent="3.8",
        term_months=12,
        guarantee="credit",
        is_credit_loan=True,
        is_first_loan=False,
    )
    s.recommendation_disburse(
        actor=manager, recommendation_id=lead.pk, amount=60_000, disbursed_on=timezone.localdate()
    )
    return lead


def test_银行管理员在线索页更正放款并撤销误登记的授信(live_server, page: Page, artifacts_dir, login):
    world = build_world()
    base = live_server.url
    messages: list[str] = []  # each confirmation's sentence (accepted)
    page.on("dialog", lambda dialog: (messages.append(dialog.message), dialog.accept()))
    for size, label in ((DESKTOP, "1280"), (PHONE, "phone")):
        lead = _drawn_lead(world)
        page.set_viewport_size(size)

        # given the account manager working the lead: no 更正 card for him
        login(page, base, "wf-boc-manager")
        page.goto(f"{base}/matching/leads/{lead.pk}/")
        expect(page.get_by_test_id("lead-actions")).to_be_visible()
        expect(page.get_by_test_id("lead-corrections")).to_have_count(0)

        # when the bank administrator opens it, corrects the drawdown to 5 万元 and voids it, with reasons
        login(page, base, "wf-boc-admin")
        page.goto(f"{base}/matching/leads/{lead.pk}/")
        card = page.get_by_test_id("lead-corrections")
        expect(card).to_be_visible()
        form = card.get_by_test_id("correct-drawdown-form")
        form.get_by_label("更正后金额(万元)").fill("5")
        form.get_by_label("更正原因").fill("放款金额录入错误, 借据金额为 5 万元")
        form.get_by_role("button", name="更正放款").click()
        expect(page.get_by_text("已更正放款金额")).to_be_visible()
        assert "原记录和更正原因保留" in messages[-1]
        assert Recommendation.objects.get(pk=lead.pk).disbursed_total == 50_000
        page.screenshot(path=str(artifacts_dir / f"correction-1-drawdown-{label}.png"), full_page=True)

        form = page.get_by_test_id("correct-drawdown-form")
        form.get_by_label("作废该笔放款").check()
        form.get_by_label("更正原因").fill("企业尚未提款, 误登记")
        form.get_by_role("button", name="更正放款").click()
        expect(page.get_by_text("已作废该笔放款")).to_be_visible()
        assert Disbursement.objects.get(recommendation=lead).voided_at is not None

        # and takes back the 授信 recorded by mistake
        form = page.get_by_test_id("correct-state-form")
        form.get_by_label("撤销「已授信」的更正原因").fill("审批尚未完成, 客户经理误点授信")
        form.get_by_role("button", name="撤销「已授信」, 退回「审批中」").click()
        expect(page.get_by_text("已更正: 线索退回「审批中」")).to_be_visible()
        assert messages[-1].startswith("更正: 撤销误登记的「已授信」, 线索退回「审批中」")

        # then the lead is 审批中 again, and its timeline shows each correction with its reason
        assert Recommendation.objects.get(pk=lead.pk).state == RecommendationState.UNDER_REVIEW
        corrections = page.get_by_test_id("correction")
        expect(corrections).to_have_count(3)
        expect(corrections.nth(0)).to_contain_text("放款 6 万元 → 5 万元 · 更正原因: 放款金额录入错误")
        expect(corrections.nth(2)).to_contain_text("已授信 → 审批中 · 更正原因: 审批尚未完成")
        page.screenshot(path=str(artifacts_dir / f"correction-2-state-{label}.png"), full_page=True)
