"""Issue 16 items 8, 10 and 15 in Chromium, at a desk (1280×900) and on a phone (390×844):
the reviewer sees the entity on the review page and reaches its page; 申报清单 downloads as
xlsx; 批量申报 offers its error report as xlsx and links to what it created; the batch preview
names each recommendation's branch before the push; 我要融资 lists per bank what the entity
qualifies for, for the need typed, after an error too. Screenshots go to test-artifacts/."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import Page, expect

from entities.models import CreditRepair, FinancialYear, Honor, MarketEntity
from matching import services as s
from matching.declaration_import import AMOUNT, BANK1, CONSENT, CRITERIA, PURPOSE, TERM, USCC
from matching.factories import declare, import_file, through_reviews
from products.factories import build_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SIZES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


def _fits(page: Page, size: str) -> None:
    """The page does not scroll sideways on the phone."""
    if size == "phone":
        assert page.evaluate("document.documentElement.scrollWidth") <= SIZES["phone"]["width"] + 1


@pytest.mark.parametrize("size", SIZES)
def test_审核页面展示主体概况并链接到主体页面(size, live_server, page: Page, artifacts_dir, login):
    """Item 8: "The review page shows the entity: register facts, 三型 mark and estimate, 名特优新,
    credit flags and repairs, yearly financials, with a link to the entity page." """
    world = build_world()
    entity, user = world.entity("泽州县审核页展示店")
    MarketEntity.objects.filter(pk=entity.pk).update(
        tier="growth", tier_mark_source="晋城市市场监管局", tier_marked_on=dt.date(2026, 3, 1), tier_computed="survival"
    )
    Honor.objects.create(entity=entity, kind="quality", valid_until=dt.date(2028, 12, 31))
    CreditRepair.objects.create(
        entity=entity, item="经营异常名录移出", repaired_on=dt.date(2025, 6, 1), repaired_by="泽州县市场监管局"
    )
    FinancialYear.objects.create(
        entity=entity, year=2025, annual_revenue=1_200_000, total_assets=700_000, net_assets=450_000
    )
    declaration = declare(world, entity, user)
    # when the task-force staff member opens the declaration to review it
    page.set_viewport_size(SIZES[size])
    login(page, live_server.url, world.users["staff"].username)
    page.goto(f"{live_server.url}/matching/declarations/{declaration.pk}/")
    profile = page.get_by_test_id("entity-profile")
    # then the entity's facts are on the page
    expect(profile.get_by_test_id("tier")).to_have_text("成长型")
    expect(profile.get_by_test_id("tier-mark-source")).to_contain_text("晋城市市场监管局, 2026-03-01")
    expect(profile.get_by_test_id("tier-estimate")).to_contain_text("生存型(预估)")
    expect(profile).to_contain_text("优质: 有效期至 2028-12-31")
    expect(profile.get_by_test_id("credit-repairs")).to_contain_text("经营异常名录移出")
    expect(profile.get_by_test_id("financial-years")).to_contain_text("2025")
    profile.scroll_into_view_if_needed()
    _fits(page, size)
    page.screenshot(path=str(artifacts_dir / f"review-entity-profile-{size}.png"), full_page=True)
    # and its link leads to the entity page
    profile.get_by_test_id("entity-link").click()
    expect(page.get_by_test_id("entity-name")).to_have_text("泽州县审核页展示店")


@pytest.mark.parametrize("size", SIZES)
def test_申报清单导出_批量申报错误报告_推送前显示承办机构(size, live_server, page: Page, artifacts_dir, login):
    """Item 10: "申报清单 exports to xlsx; 批量申报 offers its error report as xlsx and links to the
    declarations it created; the batch preview shows the branch each recommendation will go to
    before the push." """
    world = build_world()
    entity, user = world.entity("泽州县清单导出店")
    declaration = declare(world, entity, user)
    good, _ = world.entity("泽州县批量申报好店")
    page.set_viewport_size(SIZES[size])
    base = live_server.url
    login(page, base, world.users["staff"].username)
    # 申报清单 → xlsx named in Chinese
    page.goto(f"{base}/matching/declarations/")
    with page.expect_download() as download:
        page.get_by_test_id("declaration-export").click()
    assert re.fullmatch(r"申报清单_\d{8}\.xlsx", download.value.suggested_filename)
    _fits(page, size)
    page.screenshot(path=str(artifacts_dir / f"declaration-list-export-{size}.png"), full_page=True)
    # 批量申报: one good line, one bad line
    row = {USCC: good.uscc, AMOUNT: "30", TERM: "12", PURPOSE: "进货", BANK1: "中国银行", CRITERIA: "是", CONSENT: "是"}
    content = import_file([row, {**row, USCC: "91140525MA0000000X"}])
    page.goto(f"{base}/matching/declarations/import/")
    page.set_input_files(
        'input[name="file"]',
        files=[
            {
                "name": "走访.xlsx",
                "mimeType": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                "buffer": content,
            }
        ],
    )
    page.get_by_role("button", name="上传并导入").click()
    expect(page.get_by_test_id("import-summary")).to_contain_text("导入 1 行, 未导入 1 行")
    with page.expect_download() as report:
        page.get_by_test_id("import-errors-xlsx").click()
    assert re.fullmatch(r"批量申报错误报告_\d{8}\.xlsx", report.value.suggested_filename)
    _fits(page, size)
    page.screenshot(path=str(artifacts_dir / f"declaration-import-report-{size}.png"), full_page=True)
    page.get_by_test_id("import-created").get_by_role("link", name="泽州县批量申报好店").click()
    expect(page.get_by_test_id("declaration-title")).to_contain_text("泽州县批量申报好店")
    # the convener's batch, before the push, names the branches
    through_reviews(world, declaration)
    batch = s.batch_signoff(actor=world.users["convener"], declaration_ids=[declaration.pk])
    login(page, base, world.users["convener"].username)
    page.goto(f"{base}/matching/batches/{batch.pk}/")
    routes = page.get_by_test_id("batch-routes")
    expect(routes).to_contain_text("中国银行 → ")
    expect(routes.get_by_test_id("batch-branch")).to_have_count(2)
    _fits(page, size)
    page.screenshot(path=str(artifacts_dir / f"batch-preview-branches-{size}.png"), full_page=True)


@pytest.mark.parametrize("size", SIZES)
def test_我要融资按银行显示可能符合的产品及原因(size, live_server, page: Page, artifacts_dir, login):
    """Item 15: "The declare form shows, per bank, the products the entity qualifies for and why,
    not every product of the bank." """
    world = build_world()
    entity, user = world.entity("泽州县我要融资店")
    MarketEntity.objects.filter(pk=entity.pk).update(tobacco_licence_held=False)
    page.set_viewport_size(SIZES[size])
    login(page, live_server.url, user.username)
    page.goto(f"{live_server.url}/matching/declare/")
    boc = page.get_by_test_id("bank-verdicts-boc")
    # then 中国银行's card lists what fits (商E贷) and folds away what does not (烟商E贷)
    expect(boc.get_by_test_id("form-verdict-shang-e-dai")).to_be_visible()
    expect(boc.get_by_test_id("form-verdict-yanshang-e-dai")).to_have_count(0)
    expect(boc.get_by_test_id("bank-others-boc")).to_contain_text("个产品不符合")
    boc.get_by_test_id("form-verdict-shang-e-dai").locator("summary").click()
    expect(boc.get_by_test_id("form-verdict-shang-e-dai")).to_contain_text("万元")
    _fits(page, size)
    page.screenshot(path=str(artifacts_dir / f"declare-verdicts-{size}.png"), full_page=True)
    # when a 24-month need is submitted without a purpose (an error)
    page.get_by_label("融资金额(万元)").fill("20")
    page.get_by_label("期限(月)").fill("24")
    page.get_by_role("button", name="提交申报").click()
    # then the form is back, and 惠商贷 (贷款期限不超过 12 个月) is no longer offered for this need
    expect(page.locator("#id_purpose")).to_have_class(re.compile("is-invalid"))
    boc = page.get_by_test_id("bank-verdicts-boc")
    expect(boc.get_by_test_id("form-verdict-huishangdai")).to_have_count(0)
    boc.get_by_test_id("bank-others-boc").locator("summary").click()
    expect(boc.get_by_test_id("bank-others-boc")).to_contain_text("惠商贷")
    _fits(page, size)
    page.screenshot(path=str(artifacts_dir / f"declare-verdicts-after-error-{size}.png"), full_page=True)
