"""Entity search → detail (with the audited reveal) and the register import's progress, in
Chromium through the real pages."""

import pytest
from playwright.sync_api import Page, expect

from entities.factories import MarketEntityFactory, csv_bytes, good_row
from entities.models import EntityImport
from portal.factories import user_with_role
from portal.models import AuditEvent, Region, RegionLevel, Role

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_search_with_filters_then_open_the_entity_and_reveal_the_id_number(
    live_server, page: Page, artifacts_dir, login
):
    # given a task-force user of 泽州县, a township, and entities of two tiers
    user = user_with_role(Role.TASK_FORCE_STAFF, username="browser-staff")
    Region.objects.create(code="140525108", name="巴公镇", level=RegionLevel.TOWNSHIP, parent_id="140525")
    MarketEntityFactory(name="泽州县巴公镇生存型小店", township_id="140525108")
    target = MarketEntityFactory(
        name="泽州县巴公镇金辉小吃店",
        township_id="140525108",
        industry_id="6210",
        annual_revenue=850_000,
        has_tax_record=True,
        tax_status="small_scale_taxpayer",
        social_insurance_headcount=2,
        employees=3,
        tier="growth",
        tier_computed="growth",
        tier_imported="growth",
        operator_id_number="140525198501011237",
    )
    base = live_server.url
    login(page, base, user.username)

    # when he picks the county, then a township (loaded for that county), the tier, and searches
    page.goto(f"{base}/entities/")
    expect(page.get_by_test_id("page-title")).to_have_text("经营主体")
    page.get_by_label("行政区划").select_option("140525")
    expect(page.locator("#township-select option[value='140525108']")).to_be_attached()
    page.get_by_label("乡镇(街道)").select_option("140525108")
    page.get_by_label("分型", exact=True).select_option("growth")
    page.get_by_role("button", name="查询").click()

    # then only the growth-tier entity is listed; he opens it
    table = page.get_by_test_id("entity-table")
    expect(table).to_contain_text("泽州县巴公镇金辉小吃店")
    expect(table).not_to_contain_text("生存型小店")
    page.screenshot(path=str(artifacts_dir / "entities-search.png"), full_page=True)
    table.get_by_role("link", name="泽州县巴公镇金辉小吃店").click()

    # the page explains the classification, and shows the ID number masked
    expect(page.get_by_test_id("entity-name")).to_have_text("泽州县巴公镇金辉小吃店")
    expect(page.get_by_test_id("tier-explanation")).to_contain_text("成长型: 有纳税记录, 年营业收入 85 万元, 参保 2 人")
    expect(page.get_by_test_id("size-explanation")).to_contain_text("餐饮业")
    expect(page.get_by_test_id("masked-operator_id_number")).to_have_text("1405**********1237")

    # when he presses 显示, the number appears and the reveal is audited
    page.get_by_test_id("reveal-operator_id_number").click()
    expect(page.get_by_test_id("revealed")).to_have_text("140525198501011237")
    page.screenshot(path=str(artifacts_dir / "entities-detail.png"), full_page=True)
    assert (
        AuditEvent.objects.filter(action="entity.reveal_personal_data", object_id=str(target.pk), actor=user).count()
        == 1
    )


def test_the_entity_list_fits_a_phone(live_server, page: Page, login):
    user = user_with_role(Role.TASK_FORCE_STAFF, username="browser-phone-staff")
    MarketEntityFactory.create_batch(5)
    page.set_viewport_size({"width": 375, "height": 740})
    login(page, live_server.url, user.username)
    page.goto(f"{live_server.url}/entities/")
    expect(page.get_by_test_id("entity-table")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375


@pytest.mark.worker
def test_uploading_a_register_file_shows_progress_then_the_result(
    live_server, page: Page, artifacts_dir, tmp_path, login
):
    # given a task-force user and a register file of 40 good rows and 1 bad row
    user = user_with_role(Role.TASK_FORCE_STAFF, username="browser-importer")
    rows = [good_row(n) for n in range(1, 41)] + [good_row(99, 年营业收入="-1")]
    path = tmp_path / "泽州县名录库.csv"
    path.write_bytes(csv_bytes(rows, bom=True))
    base = live_server.url
    login(page, base, user.username)

    # when he uploads it on the import page
    page.goto(f"{base}/entities/imports/")
    expect(page.get_by_test_id("page-title")).to_have_text("名录库导入")
    page.get_by_label("名录库文件(CSV UTF-8 或 XLSX)").set_input_files(str(path))
    page.get_by_role("button", name="上传并导入").click()

    # then the import page shows a progress bar that the worker's progress fills, then the summary
    progress = page.get_by_test_id("import-progress")
    expect(progress).to_be_visible()
    expect(progress.locator("progress")).to_be_attached()
    expect(page.get_by_test_id("import-status")).to_have_text("已完成", timeout=60_000)
    expect(page.get_by_test_id("import-created")).to_have_text("40")
    expect(page.get_by_test_id("import-rejected")).to_have_text("1")
    assert page.locator("progress").get_attribute("value") == "100"
    page.screenshot(path=str(artifacts_dir / "entities-import.png"), full_page=True)

    # and the error report downloads as xlsx
    with page.expect_download() as download:
        page.get_by_test_id("error-report").click()
    assert download.value.suggested_filename.startswith("名录库导入错误报告-")
    assert EntityImport.objects.get().uploaded_by == user


def test_the_province_grants_an_honour_and_enters_a_year_on_a_phone(live_server, page: Page, artifacts_dir, login):
    # given a provincial regulator on a phone (名特优新 is "被省市场监管局认定"), and an entity of
    # 泽州县 marked 生存型 in the 名录库
    user = user_with_role(Role.PROVINCE_REGULATOR, username="browser-keeper")
    entity = MarketEntityFactory(name="泽州县巴公镇晋丰粮油店", industry_id="5221", employees=3)
    page.set_viewport_size({"width": 375, "height": 740})
    base = live_server.url
    login(page, base, user.username)

    # when he opens the entity and follows 认定名特优新, then submits a period that ends before it starts
    page.goto(f"{base}/entities/{entity.pk}/")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.get_by_test_id("honor-grant-link").click()
    expect(page.get_by_test_id("page-title")).to_have_text("认定名特优新")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.get_by_label("称号").select_option("quality")
    page.get_by_label("有效期自").fill("2026-01-01")
    page.get_by_label("有效期至").fill("2025-12-31")
    page.get_by_role("button", name="认定", exact=True).click()

    # then the form says what is wrong, in Chinese, next to the field
    expect(page.get_by_test_id("error-valid_until")).to_have_text("有效期至不能早于有效期自")
    page.screenshot(path=str(artifacts_dir / "entities-honor-error.png"), full_page=True)

    # when he corrects the end date, the honour is listed on the entity page with its period
    page.get_by_label("有效期至").fill("2028-12-31")
    page.get_by_role("button", name="认定", exact=True).click()
    expect(page.get_by_test_id("entity-name")).to_have_text("泽州县巴公镇晋丰粮油店")
    expect(page.locator("#classification")).to_contain_text("优质: 有效期 2026-01-01 起至 2028-12-31")

    # when he enters last year's financials (revenue 85 万, tax record, 2 insured) from the entity page
    page.get_by_test_id("financial-year-link").click()
    expect(page.get_by_test_id("page-title")).to_have_text("录入年度财务数据")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.get_by_label("年营业收入(元)").fill("850000")
    page.get_by_label("参保人数").fill("2")
    page.get_by_label("纳税人类型").select_option("small_scale_taxpayer")
    page.get_by_label("有纳税记录").select_option("true")
    page.get_by_role("button", name="保存", exact=True).click()

    # then the year is in the table and the platform's estimate follows it, with the explanation in
    # Chinese, while the 名录库 mark stays the mark (生存型)
    expect(page.get_by_test_id("financial-years")).to_contain_text("85.00")
    expect(page.get_by_test_id("tier")).to_have_text("生存型")
    expect(page.get_by_test_id("tier-estimate")).to_have_text("成长型(预估)")
    expect(page.get_by_test_id("tier-explanation")).to_contain_text("成长型: 有纳税记录, 年营业收入 85 万元, 参保 2 人")
    page.screenshot(path=str(artifacts_dir / "entities-financials.png"), full_page=True)
    assert (
        AuditEvent.objects.filter(
            action__in=["entity.honor_grant", "entity.financial_year"], object_id=str(entity.pk)
        ).count()
        == 2
    )
