"""A 千企万户大走访 in Chromium through the real pages (seed 004_b2811ebd7ee390f8.txt 二(四): "县区专班依据
走访目标企业清单科学制定走访计划, … 组织委办局、乡镇、街道、村组、社区、工商联和银行机构 … 通过电话、走访等
形式 … 摸排一遍. 对有明确融资需求的企业开展重点走访"): the city regulator opens and starts a campaign
(1280×900), the county task force builds its list and assigns targets to a township's visitor
(1280×900), the visitor records a key visit on a phone (390×844), and the task force starts the
declaration pre-filled from it (1280×900); a draft whose deadline passed is edited, then started,
by the city (1280×900 and 390×844). axe-core checks each page at both sizes."""

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from campaigns.factories import overdue_draft, townships, visitors
from products.factories import build_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
AXE = (Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js").read_text(encoding="utf-8")


def _axe(page: Page) -> list[str]:
    page.evaluate(AXE)
    return page.evaluate(
        """async () => {
            const tags = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];
            const r = await axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']});
            return r.violations.map(v => `${v.id}: ${v.help} — ` +
                v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | '));
        }"""
    )


def test_the_city_opens_a_campaign_the_county_plans_it_and_a_visitor_starts_a_declaration(
    live_server, page: Page, artifacts_dir, login
):
    world = build_world()
    bagong, _ = townships()
    for n in range(3):
        entity, _ = world.entity(name=f"巴公镇走访{n}号店", with_user=False)
        entity.township = bagong
        entity.save(update_fields=["township"])
    revoked, _ = world.entity(name="巴公镇吊销店", with_user=False)
    revoked.register_status = "revoked"
    revoked.save(update_fields=["register_status"])
    visitor = visitors(world)["visitor"]
    base = live_server.url
    violations = []

    def check(where):
        violations.extend(f"{where}: {v}" for v in _axe(page))

    # the city regulator opens and starts a campaign for 泽州县 (1280 wide)
    page.set_viewport_size(DESKTOP)
    login(page, base, "wf-city")
    page.goto(f"{base}/campaigns/")
    page.get_by_test_id("campaign-new").click()
    page.get_by_label("活动名称").fill("晋城市千企万户大走访")
    page.get_by_label("摸排截止日期").fill("2099-11-20")
    page.get_by_label("活动要求").fill("各县区在截止日期前对辖区内小微企业融资需求摸排一遍")
    check("campaign form 1280")
    page.screenshot(path=str(artifacts_dir / "campaign-1-city-form-1280.png"), full_page=True)
    page.get_by_test_id("campaign-save").click()
    expect(page.get_by_test_id("campaign-state")).to_have_text("草稿")
    page.get_by_test_id("campaign-start").click()
    expect(page.get_by_test_id("campaign-state")).to_have_text("进行中")
    campaign_url = page.url

    # the county task force builds the list from the register and assigns the town's targets
    login(page, base, "wf-staff")
    page.goto(campaign_url)
    page.get_by_test_id("build-targets").click()
    expect(page.get_by_role("alert").first).to_contain_text("其中剔除 1 户")
    page.get_by_label("是否剔除").select_option(label="已剔除(含原因)")
    page.get_by_role("button", name="筛选").click()
    expect(page.get_by_test_id("target-table")).to_contain_text("非正常经营(登记状态: 吊销未注销)")
    page.get_by_label("是否剔除").select_option(label="走访目标")
    page.get_by_role("button", name="筛选").click()
    page.get_by_label("选择 巴公镇走访0号店").check()
    page.get_by_label("选择 巴公镇走访1号店").check()
    page.get_by_test_id("assign-visitor").select_option(value=str(visitor.pk))
    check("targets 1280")
    page.screenshot(path=str(artifacts_dir / "campaign-2-staff-assign-1280.png"), full_page=True)
    page.get_by_test_id("assign-submit").click()
    expect(page.get_by_role("alert").first).to_contain_text("已分配 2 户走访任务")

    # the visitor, on a phone: his tasks, a key visit with a clear need
    page.set_viewport_size(PHONE)
    login(page, base, visitor.username)
    expect(page.get_by_test_id("visitor-home")).to_contain_text("待办走访任务 2 户")
    check("visitor home phone")
    page.get_by_role("link", name="我的走访任务").last.click()
    check("my visits phone")
    page.get_by_test_id("my-visits").get_by_role("row", name="巴公镇走访0号店").get_by_test_id("record-visit").click()
    page.get_by_label("走访方式").select_option(label="电话走访")
    page.get_by_label("发现明确融资需求(填写下方重点走访记录)").check()
    page.get_by_label("企业基本情况").fill("个体经营 5 年, 门店 1 处")
    page.get_by_label("经营状况").fill("月营业额约 8 万元")
    page.get_by_label("融资需求(万元)").fill("30")
    page.get_by_label("期限(月)").fill("12")
    page.get_by_label("真实贷款用途").fill("进货备货")
    page.get_by_label("合规持续经营", exact=True).check()
    check("visit form phone")
    page.screenshot(path=str(artifacts_dir / "campaign-3-visitor-visit-phone.png"), full_page=True)
    page.get_by_test_id("visit-save").click()
    expect(page.get_by_role("alert").first).to_contain_text("重点走访")
    expect(page.get_by_test_id("my-visits").get_by_role("row", name="巴公镇走访0号店")).to_contain_text("已走访")

    # the task force sees the coverage and starts the declaration from the visit, pre-filled (1280)
    page.set_viewport_size(DESKTOP)
    login(page, base, "wf-staff")
    page.goto(campaign_url)
    expect(page.get_by_test_id("coverage-rate")).to_contain_text("1/3")
    expect(page.get_by_test_id("coverage-visitor")).to_contain_text("刘干事")
    check("campaign page 1280")
    page.screenshot(path=str(artifacts_dir / "campaign-4-staff-coverage-1280.png"), full_page=True)
    page.get_by_role("link", name="据此走访发起申报").click()
    expect(page.get_by_test_id("declare-from-visit")).to_contain_text("巴公镇走访0号店")
    expect(page.get_by_label("资金用途")).to_have_value("进货备货")
    expect(page.get_by_label("融资金额(万元)")).to_have_value("30")
    page.get_by_label("中国银行").check()
    page.get_by_role("button", name="保存草稿").click()
    expect(page).to_have_url(re.compile(r"/matching/declarations/\d+/$"))
    expect(page.get_by_text("已为巴公镇走访0号店录入申报")).to_be_visible()
    page.goto(campaign_url)
    expect(page.get_by_test_id("coverage-county")).to_contain_text("泽州县")
    assert not violations, "\n".join(violations)


def test_the_city_edits_a_draft_past_its_deadline_then_starts_it_on_desktop_and_phone(
    live_server, page: Page, artifacts_dir, login
):
    """修改活动: a draft whose deadline has passed is refused a start with the reason; the city opens
    the pre-filled edit form from the campaign page, sets a new deadline and starts it."""
    world = build_world()
    base = live_server.url
    violations = []
    login(page, base, "wf-city")
    for size, where, device in ((DESKTOP, "1280", "电脑"), (PHONE, "phone", "手机")):
        # given a draft of the city whose deadline passed three days ago
        campaign = overdue_draft(world, name=f"晋城市冬季走访({device})")
        page.set_viewport_size(size)
        page.goto(f"{base}/campaigns/{campaign.pk}/")
        # when the city starts it, it is told to edit the deadline first
        page.get_by_test_id("campaign-start").click()
        expect(page.get_by_role("alert").first).to_contain_text("截止日期已过, 请先修改截止日期")
        expect(page.get_by_test_id("campaign-state")).to_have_text("草稿")
        violations.extend(f"campaign page {where}: {v}" for v in _axe(page))
        # the edit form is the create form, pre-filled
        page.get_by_test_id("campaign-edit").click()
        expect(page.get_by_label("活动名称")).to_have_value(f"晋城市冬季走访({device})")
        expect(page.get_by_label("摸排截止日期")).to_have_value(f"{campaign.deadline:%Y-%m-%d}")
        page.get_by_label("摸排截止日期").fill("2099-12-20")
        page.get_by_label("活动要求").fill("延期至年底, 各县区抓紧摸排")
        violations.extend(f"edit form {where}: {v}" for v in _axe(page))
        page.screenshot(path=str(artifacts_dir / f"campaign-edit-form-{where}.png"), full_page=True)
        page.get_by_test_id("campaign-save").click()
        # then the campaign shows the new deadline and starts
        expect(page.get_by_role("alert").first).to_contain_text("已修改大走访活动")
        expect(page.get_by_test_id("campaign-deadline")).to_contain_text("2099-12-20")
        page.get_by_test_id("campaign-start").click()
        expect(page.get_by_test_id("campaign-state")).to_have_text("进行中")
        expect(page.get_by_test_id("campaign-timeline")).to_contain_text("截止日期")
        page.screenshot(path=str(artifacts_dir / f"campaign-edit-started-{where}.png"), full_page=True)
    assert not violations, "\n".join(violations)
