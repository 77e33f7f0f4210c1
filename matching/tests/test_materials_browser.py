"""The application materials of a lead in Chromium, through the real pages, as the bank
manager (1280 wide) and the enterprise (on a phone, 390×844, and at 1280): the bank lists the
product's materials, the enterprise uploads and declares them submitted, the bank asks for
more, the enterprise supplements, the bank confirms; and a submission the bank leaves alone
starts the 30-day clock on its own (自动起算), shown on the lead and in the ledger (issue 15
item 17, seed 004 三(六) "在收齐企业申请材料 30 日内作出是否授信的决定")."""

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from matching import services as s
from matching.clocks import deadline_scan
from matching.factories import pushed
from matching.models import ClockKind, DeadlineClock, MaterialsStage, Recommendation, RecommendationState
from products.factories import build_world
from products.models import LoanProduct

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def _pdf(name: str) -> dict:
    return {"name": name, "mimeType": "application/pdf", "buffer": PDF}


def test_bank_lists_enterprise_submits_bank_asks_for_more_then_confirms(live_server, page: Page, artifacts_dir, login):
    world = build_world()
    declaration, user, leads = pushed(world, ("boc",))
    # the lists under test are 惠商贷's (a push names the best-fitting product)
    huishang = LoanProduct.objects.get(code="huishangdai")
    Recommendation.objects.filter(pk=leads["boc"].pk).update(product_version=huishang.current_version)
    lead = Recommendation.objects.get(pk=leads["boc"].pk)
    name = declaration.entity.name
    base = live_server.url
    page.on("dialog", lambda dialog: dialog.accept())
    catalogue = lead.product_version.definition["materials"]

    # the bank's account manager contacts the enterprise and lists the materials (1280 wide)
    s.recommendations_assign(
        actor=world.users["boc_admin"], recommendation_ids=[lead.pk], manager_id=world.users["boc_manager"].pk
    )
    page.set_viewport_size(DESKTOP)
    login(page, base, "wf-boc-manager")
    page.goto(f"{base}/matching/leads/{lead.pk}/")
    page.get_by_role("button", name="已对接").click()
    expect(page.get_by_role("alert").first).to_contain_text("已登记对接")
    items = page.get_by_label("所需材料(每行一项; 已按产品材料清单预填, 可修改)")
    expect(items).to_have_value("\n".join(catalogue))
    items.fill("营业执照\n经营者身份证件\n近 6 个月经营流水")
    page.get_by_role("button", name="列明所需材料").click()
    expect(page.get_by_role("alert").first).to_contain_text("已列明所需材料")
    expect(page.get_by_test_id("materials-stage")).to_have_text("待企业提交材料")
    page.screenshot(path=str(artifacts_dir / "materials-1-bank-listed-1280.png"), full_page=True)

    # the enterprise, on its phone: uploads its licence for the first item and declares the materials submitted
    page.set_viewport_size(PHONE)
    login(page, base, user.username)
    page.goto(f"{base}/matching/declarations/{declaration.pk}/")
    box = page.get_by_test_id("materials-boc")
    expect(box).to_contain_text("○ 未上传 营业执照")
    page.locator("input[name=files]").set_input_files([_pdf("营业执照.pdf")])
    page.get_by_label("对应银行所需材料").select_option("营业执照")
    page.get_by_role("button", name="上传", exact=True).click()
    expect(page.get_by_role("alert").first).to_contain_text("已上传 营业执照.pdf")
    expect(page.get_by_test_id("materials-boc")).to_contain_text("✔ 已上传 营业执照")
    page.get_by_role("button", name="材料已提交").click()
    expect(page.get_by_role("alert").first).to_contain_text("材料已提交")
    expect(page.get_by_test_id("materials-stage-boc")).to_have_text("材料已提交, 待银行确认")
    expect(page.get_by_test_id("materials-boc")).to_contain_text("逾期 30 日授信时限自动起算")
    page.screenshot(path=str(artifacts_dir / "materials-2-enterprise-submitted-phone.png"), full_page=True)

    # the bank sees by when it must answer, and names what is missing
    page.set_viewport_size(DESKTOP)
    login(page, base, "wf-boc-manager")
    page.goto(f"{base}/matching/leads/{lead.pk}/")
    expect(page.get_by_test_id("materials-clock")).to_contain_text("剩余")
    page.get_by_test_id("materials-supplement-form").get_by_label("近 6 个月经营流水").check()
    page.get_by_label("清单外还需的材料").fill("近两年纳税证明")
    page.get_by_label("补充说明").fill("流水只有 3 个月, 请补全")
    page.get_by_role("button", name="要求补充材料").click()
    expect(page.get_by_role("alert").first).to_contain_text("已要求企业补充材料")
    expect(page.get_by_test_id("materials-stage")).to_have_text("待企业补充材料")

    # the enterprise (phone) sees what is missing, uploads it and submits again
    page.set_viewport_size(PHONE)
    login(page, base, user.username)
    page.goto(f"{base}/matching/declarations/{declaration.pk}/")
    expect(page.get_by_test_id("materials-boc")).to_contain_text("待补充")
    expect(page.get_by_test_id("materials-boc")).to_contain_text("近两年纳税证明")
    page.locator("input[name=files]").set_input_files([_pdf("经营流水.pdf")])
    page.get_by_label("对应银行所需材料").select_option("近 6 个月经营流水")
    page.get_by_role("button", name="上传", exact=True).click()
    page.get_by_role("button", name="材料已提交").click()
    expect(page.get_by_test_id("materials-stage-boc")).to_have_text("材料已提交, 待银行确认")
    page.screenshot(path=str(artifacts_dir / "materials-3-enterprise-supplemented-phone.png"), full_page=True)

    # the bank adds a file it collected itself, then confirms the materials complete (on a phone too)
    page.set_viewport_size(PHONE)
    login(page, base, "wf-boc-manager")
    page.goto(f"{base}/matching/leads/{lead.pk}/")
    page.get_by_label("上传银行收集的材料").set_input_files([_pdf("纳税证明.pdf")])
    page.get_by_label("对应材料").select_option("近两年纳税证明")
    page.get_by_test_id("lead-materials").get_by_role("button", name="上传", exact=True).click()
    expect(page.get_by_test_id("lead-files")).to_contain_text("纳税证明.pdf")
    page.screenshot(path=str(artifacts_dir / "materials-4-bank-lead-phone.png"), full_page=True)
    page.get_by_role("button", name="材料已收齐").click()
    expect(page.get_by_role("alert").first).to_contain_text("30 日内须作出授信决定")
    final = Recommendation.objects.get(pk=lead.pk)
    assert final.state == RecommendationState.UNDER_REVIEW and final.materials_stage == MaterialsStage.CONFIRMED
    expect(page.get_by_test_id("lead-title")).to_contain_text(name)


def test_materials_left_unconfirmed_start_the_decision_clock_on_their_own(
    live_server, page: Page, artifacts_dir, login
):
    world = build_world()
    declaration, user, leads = pushed(world, ("boc",))
    lead = leads["boc"]
    admin = world.users["boc_admin"]
    s.recommendation_contact(actor=admin, recommendation_id=lead.pk)
    s.recommendation_materials_list(actor=admin, recommendation_id=lead.pk, items=["营业执照", "经营流水"])
    s.recommendation_materials_submit(actor=user, recommendation_id=lead.pk)
    # the bank's 5 working days ran out (the submission moved back in time), then the scan runs
    DeadlineClock.objects.filter(recommendation=lead, kind=ClockKind.MATERIALS).update(
        due_at=timezone.now() - dt.timedelta(hours=1)
    )
    assert deadline_scan().auto_started == 1
    base = live_server.url

    # the bank's lead page (1280) says the clock started on its own, and offers no 材料已收齐
    page.set_viewport_size(DESKTOP)
    login(page, base, "wf-boc-admin")
    page.goto(f"{base}/matching/leads/{lead.pk}/")
    expect(page.get_by_test_id("auto-started")).to_contain_text("30 日授信时限已于")
    expect(page.get_by_role("button", name="材料已收齐")).to_have_count(0)
    expect(page.get_by_test_id("lead-actions")).to_contain_text("授信")
    page.screenshot(path=str(artifacts_dir / "materials-5-auto-started-bank-1280.png"), full_page=True)

    # the enterprise (phone) sees it on its case page
    page.set_viewport_size(PHONE)
    login(page, base, user.username)
    page.goto(f"{base}/matching/declarations/{declaration.pk}/")
    expect(page.get_by_test_id("auto-started-boc")).to_contain_text("自动起算")
    page.screenshot(path=str(artifacts_dir / "materials-6-auto-started-enterprise-phone.png"), full_page=True)

    # and the task force's ledger shows 自动起算 for that lead
    page.set_viewport_size(DESKTOP)
    login(page, base, "wf-staff")
    page.goto(f"{base}/matching/ledger/")
    expect(page.get_by_test_id(f"auto-started-{lead.pk}")).to_have_text("自动起算")
    page.screenshot(path=str(artifacts_dir / "materials-7-ledger-1280.png"), full_page=True)
