"""The regulator's marks and the banks' records in Chromium, at a desk (1280×800) and on a
phone (390×844), each page driven by the role that uses it (issue 15 items 1, 2 and 11):

- the city regulator marks an individual business 三型 in the 名录库 and clears the mark
  ("在'全省个体工商户名录库'中被标记为'三型'", 001 附件 三(二));
- the county task force proposes a 名特优新 title, the provincial regulator rejects one proposal
  and approves another in its queue, then revokes a title ("被省市场监管局认定为'名特优新'");
- 建设银行's account manager records its customer's borrowing there and deletes the record
  ("在建设银行累计用款期限 24 个月（含）以上", 001 附件2).

Every control of these forms is a tap target of at least 44 px, the pages never scroll
sideways on the phone, and the irreversible steps (clearing a mark, revoking a title, a
decision on a proposal, deleting the record) ask first: dismissing the question changes
nothing. Screenshots go to test-artifacts/."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from entities import services
from entities.models import BankRelationship, Honor, HonorProposal, MarketEntity
from portal.factories import user_with_role
from portal.models import Role

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

VIEWPORTS = {"desk": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
UNTIL = timezone.localdate() + dt.timedelta(days=3 * 365)
CONTROLS = (
    "main form button:visible, main form input:not([type=hidden]):visible, main form select:visible, "
    "main form textarea:visible, main form a.btn:visible, main summary:visible, main .nav-link:visible"
)


def assert_tap_targets(page: Page, where: str):
    """Every visible control of the page's forms is at least 44×44 px."""
    controls = page.locator(CONTROLS)
    boxes = [
        (controls.nth(i).evaluate("e => e.outerHTML.slice(0, 80)"), controls.nth(i).bounding_box())
        for i in range(controls.count())
    ]
    assert boxes, where
    small = [(html, box) for html, box in boxes if box and (box["height"] < 44 or box["width"] < 44)]
    assert not small, f"{where}: tap targets smaller than 44 px: {small}"


def assert_fits(page: Page, viewport: dict, where: str):
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"], where


def answer_next_dialog(page: Page, accept: bool) -> list[str]:
    """Answer the next confirm() (accept or dismiss); returns the list its question lands in."""
    asked: list[str] = []

    def on_dialog(dialog):
        asked.append(dialog.message)
        dialog.accept() if accept else dialog.dismiss()

    page.once("dialog", on_dialog)
    return asked


@pytest.fixture
def shop(world):
    entity, _ = world.entity(name="泽州县巴公镇金辉小吃店")
    return entity


@pytest.mark.parametrize("screen", list(VIEWPORTS))
def test_the_city_regulator_marks_三型_and_clears_the_mark_after_confirming(
    world, shop, live_server, page: Page, login, artifacts_dir, screen
):
    viewport = VIEWPORTS[screen]
    page.set_viewport_size(viewport)
    login(page, live_server.url, world.users["city"].username)

    # when the city regulator opens the entity and follows 标记三型
    page.goto(f"{live_server.url}/entities/{shop.pk}/")
    page.get_by_test_id("tier-mark-link").click()
    expect(page.get_by_test_id("page-title")).to_have_text("标记三型")
    assert_tap_targets(page, "标记三型")
    assert_fits(page, viewport, "标记三型")
    page.screenshot(path=str(artifacts_dir / f"marks-tier-form-{screen}.png"), full_page=True)

    # and marks it 成长型 with the batch of the provincial list (no question: nothing is lost)
    page.get_by_label("三型标记").select_option("growth")
    page.get_by_label("说明").fill("全省名录库 2026 年第 3 批")
    page.get_by_role("button", name="保存标记").click()

    # then the entity page shows the mark with its source
    expect(page.get_by_role("alert")).to_contain_text("已标记为成长型")
    expect(page.get_by_test_id("tier")).to_have_text("成长型")
    expect(page.get_by_test_id("tier-mark-source")).to_contain_text("晋城市")

    # when he clears it, he is asked first; dismissing keeps the mark
    page.get_by_test_id("tier-mark-link").click()
    page.get_by_label("三型标记").select_option("")
    page.get_by_label("说明").fill("名录库复核: 已注销")
    asked = answer_next_dialog(page, accept=False)
    page.get_by_role("button", name="保存标记").click()
    expect(page.get_by_test_id("page-title")).to_have_text("标记三型")
    assert asked and "确定撤销" in asked[0]
    assert MarketEntity.objects.get(pk=shop.pk).tier_imported == "growth"

    # and confirming clears it
    answer_next_dialog(page, accept=True)
    page.get_by_role("button", name="保存标记").click()
    expect(page.get_by_role("alert")).to_contain_text("已撤销三型标记")
    assert MarketEntity.objects.get(pk=shop.pk).tier_imported is None
    page.screenshot(path=str(artifacts_dir / f"marks-tier-cleared-{screen}.png"), full_page=True)


@pytest.mark.parametrize("screen", list(VIEWPORTS))
def test_the_county_proposes_and_the_province_rejects_approves_and_revokes_名特优新(
    world, shop, live_server, page: Page, login, artifacts_dir, screen
):
    viewport = VIEWPORTS[screen]
    page.set_viewport_size(viewport)
    province = user_with_role(Role.PROVINCE_REGULATOR, username=f"browser-province-{screen}")
    other = services.honor_propose(
        actor=world.users["lead"], entity=shop, action="grant", kind="emerging", valid_until=UNTIL, reason="新品"
    )

    # given the county task force, which proposes 特色 for the shop with the period it suggests
    login(page, live_server.url, world.users["staff"].username)
    page.goto(f"{live_server.url}/entities/{shop.pk}/")
    page.get_by_test_id("honor-propose-link").click()
    expect(page.get_by_test_id("page-title")).to_have_text("提出名特优新申请")
    assert_tap_targets(page, "提出名特优新申请")
    assert_fits(page, viewport, "提出名特优新申请")
    page.get_by_label("称号").select_option("distinctive")
    page.get_by_label("拟定有效期至").fill(UNTIL.isoformat())
    page.get_by_label("申请理由").fill("泽州特色面食, 经营满 5 年")
    page.screenshot(path=str(artifacts_dir / f"marks-honor-propose-{screen}.png"), full_page=True)
    page.get_by_role("button", name="提出认定申请").click()
    expect(page.get_by_role("alert")).to_contain_text("待省市场监管局审核")
    proposal = HonorProposal.objects.get(kind="distinctive")

    # when the provincial regulator opens its queue
    login(page, live_server.url, province.username)
    page.goto(f"{live_server.url}/entities/honor-proposals/")
    expect(page.get_by_test_id("page-title")).to_have_text("名特优新申请")
    assert_tap_targets(page, "名特优新申请")
    assert_fits(page, viewport, "名特优新申请")
    page.screenshot(path=str(artifacts_dir / f"marks-honor-queue-{screen}.png"), full_page=True)
    rows = page.get_by_test_id("proposal-row")
    rejected_row = rows.filter(has_text="新兴")
    # and rejects the other proposal: asked first, dismissing changes nothing
    rejected_row.get_by_label("审核意见").fill("材料不足")
    asked = answer_next_dialog(page, accept=False)
    rejected_row.get_by_role("button", name="不批准").click()
    expect(rejected_row.get_by_role("button", name="不批准")).to_be_visible()
    assert asked and "不批准为最终结论" in asked[0]
    assert HonorProposal.objects.get(pk=other.pk).state == "pending"
    answer_next_dialog(page, accept=True)
    rejected_row.get_by_role("button", name="不批准").click()
    expect(page.get_by_role("alert")).to_contain_text("未批准")
    assert HonorProposal.objects.get(pk=other.pk).state == "rejected"

    # and approves the county's proposal after confirming
    asked = answer_next_dialog(page, accept=True)
    page.get_by_test_id("proposal-row").filter(has_text="特色").get_by_role("button", name="批准", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("已批准")
    assert asked and "批准后称号立即认定" in asked[0]
    honor = Honor.objects.get(entity=shop, kind="distinctive")
    assert HonorProposal.objects.get(pk=proposal.pk).state == "approved"

    # when he revokes the title on the titles page: the reason, then a question
    page.goto(f"{live_server.url}/entities/{shop.pk}/")
    page.get_by_test_id("honor-grant-link").click()
    expect(page.get_by_test_id("page-title")).to_have_text("认定名特优新")
    page.locator("summary", has_text="撤销").click()
    assert_tap_targets(page, "认定名特优新")
    assert_fits(page, viewport, "认定名特优新")
    page.get_by_label("撤销原因").fill("认定有误")
    page.screenshot(path=str(artifacts_dir / f"marks-honor-revoke-{screen}.png"), full_page=True)
    asked = answer_next_dialog(page, accept=False)
    page.get_by_role("button", name="确认撤销").click()
    expect(page.get_by_role("button", name="确认撤销")).to_be_visible()
    assert asked and "确定撤销「特色」" in asked[0]
    assert Honor.objects.filter(pk=honor.pk).exists()
    answer_next_dialog(page, accept=True)
    page.get_by_role("button", name="确认撤销").click()
    expect(page.get_by_role("alert")).to_contain_text("已撤销该称号")
    assert not Honor.objects.filter(pk=honor.pk).exists()


@pytest.mark.parametrize("screen", list(VIEWPORTS))
def test_the_ccb_manager_records_and_deletes_the_banks_own_record(
    world, shop, live_server, page: Page, login, artifacts_dir, screen
):
    viewport = VIEWPORTS[screen]
    page.set_viewport_size(viewport)
    login(page, live_server.url, world.users["ccb_manager"].username)

    # when 建设银行's account manager opens the customer and follows 填报本行借贷往来
    page.goto(f"{live_server.url}/entities/{shop.pk}/")
    page.get_by_test_id("bank-relationship-link").click()
    expect(page.get_by_test_id("page-title")).to_have_text("填报本行借贷往来")
    assert_tap_targets(page, "填报本行借贷往来")
    assert_fits(page, viewport, "填报本行借贷往来")
    page.get_by_label("在本行累计用款期限(月)").fill("36")
    page.get_by_label("在本行授信额度(元)").fill("600000")
    page.get_by_label("在本行有不良贷款记录").select_option("false")
    page.get_by_label("最近 12 个月在本行逾期次数").fill("1")
    page.get_by_role("button", name="保存", exact=True).click()

    # then the entity page lists 建设银行's record
    expect(page.get_by_role("alert")).to_contain_text("已保存本行借贷往来")
    expect(page.get_by_test_id("bank-relationships")).to_contain_text("36")
    row = BankRelationship.objects.get(entity=shop)
    assert (row.months_borrowed, row.credit_line, row.non_performing, row.overdue_12m) == (36, 600_000, False, 1)

    # when he deletes it, he is asked first; dismissing keeps it
    page.get_by_test_id("bank-relationship-link").click()
    assert_tap_targets(page, "填报本行借贷往来(已填报)")
    page.screenshot(path=str(artifacts_dir / f"marks-bank-relationship-{screen}.png"), full_page=True)
    asked = answer_next_dialog(page, accept=False)
    page.get_by_role("button", name="删除本行填报的借贷往来").click()
    expect(page.get_by_test_id("page-title")).to_have_text("填报本行借贷往来")
    assert asked and "确定删除" in asked[0]
    assert BankRelationship.objects.filter(entity=shop).exists()
    answer_next_dialog(page, accept=True)
    page.get_by_role("button", name="删除本行填报的借贷往来").click()
    expect(page.get_by_role("alert")).to_contain_text("已删除本行填报的借贷往来")
    assert not BankRelationship.objects.filter(entity=shop).exists()
