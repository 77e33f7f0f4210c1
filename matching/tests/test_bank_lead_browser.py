"""The bank's everyday work on its leads in Chromium (issue 16, "Bank account managers" items
1–4 and item 5), as the account manager and the bank administrator, at 1280 wide and on a
390×844 phone, each screen kept in test-artifacts/:
1. the assigned manager reveals the enterprise's consented contact (audited), others see it masked;
2. the bank uploads the materials it collected (content checked, downloaded as an attachment);
3. the inbox's filters are drop-downs, 已放款 and 未提款 are separate tabs, 分配 refuses an empty selection;
4. an amount message says 万元 like the form;
5. each irreversible action asks first, saying what will happen; dismissing it changes nothing."""

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from batch_matching.models import MatchingRun
from entities.models import MarketEntity
from matching import services as s
from matching.factories import assigned_lead, declare, pushed
from matching.models import Declaration, DeclarationState, Recommendation, RecommendationState
from portal.factories import user_with_role
from portal.models import AuditEvent, Role
from products.factories import build_world
from products.models import LoanProduct

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90wS\xde" + b"\x00" * 32
)
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
NAME, PHONE_NUMBER = "王建国", "13803561234"


class Dialogs:
    """Answers each confirm() with the next of `answers` (True: OK), recording its message."""

    def __init__(self, page: Page):
        self.messages: list[str] = []
        self.answers: list[bool] = []
        page.on("dialog", self._answer)

    def _answer(self, dialog):
        self.messages.append(dialog.message)
        dialog.accept() if (self.answers.pop(0) if self.answers else True) else dialog.dismiss()


def test_1_分配的客户经理查看联系方式_每次记入审计_管理员只见掩码(live_server, page: Page, artifacts_dir, login):
    world = build_world()
    lead = assigned_lead(world, operator=(NAME, PHONE_NUMBER))
    base = f"{live_server.url}"
    reveals = AuditEvent.objects.filter(action="recommendation.contact_reveal")

    for size, label in ((DESKTOP, "1280"), (PHONE, "phone")):
        # the assigned account manager opens the lead: masked, with links to the entity and the materials
        page.set_viewport_size(size)
        login(page, base, "wf-boc-manager")
        page.goto(f"{base}/matching/leads/{lead.pk}/")
        card = page.get_by_test_id("lead-contact")
        expect(card.get_by_test_id("contact-phone")).to_have_text("138****1234")
        expect(page.get_by_test_id("lead-links").get_by_role("link", name="企业主页")).to_be_visible()
        expect(page.get_by_test_id("lead-links").get_by_role("link", name="申请材料(0 个文件)")).to_be_visible()
        before = reveals.count()
        # when he asks for the contact, it shows in clear, and the view is audited
        card.get_by_role("button", name="查看联系方式").click()
        expect(page.get_by_test_id("contact-name")).to_have_text(NAME)
        expect(page.get_by_role("link", name=PHONE_NUMBER)).to_have_attribute("href", f"tel:{PHONE_NUMBER}")
        expect(page.get_by_test_id("contact-revealed")).to_contain_text("记入审计日志")
        assert reveals.count() == before + 1
        page.screenshot(path=str(artifacts_dir / f"bank-1-contact-revealed-{label}.png"), full_page=True)

    # the branch administrator (not assigned) sees it masked, with the reason
    login(page, base, "wf-boc-admin")
    page.goto(f"{base}/matching/leads/{lead.pk}/")
    expect(page.get_by_test_id("contact-phone")).to_have_text("138****1234")
    expect(page.get_by_test_id("contact-masked")).to_have_text("联系方式仅向分配办理该线索的客户经理显示")
    expect(page.get_by_role("button", name="查看联系方式")).to_have_count(0)
    page.screenshot(path=str(artifacts_dir / "bank-1-contact-masked-admin-phone.png"), full_page=True)
    assert reveals.count() == 2 and set(reveals.values_list("actor__username", flat=True)) == {"wf-boc-manager"}


def test_2_银行在线索上传收集的材料_检查内容_以附件下载(live_server, page: Page, artifacts_dir, login):
    world = build_world()
    lead = assigned_lead(world, operator=(NAME, PHONE_NUMBER))
    s.recommendation_contact(actor=world.users["boc_manager"], recommendation_id=lead.pk)
    base = live_server.url

    for size, label, who, name in (
        (DESKTOP, "1280", "wf-boc-admin", "面谈记录.pdf"),
        (PHONE, "phone", "wf-boc-manager", "经营场所照片.png"),
    ):
        page.set_viewport_size(size)
        login(page, base, who)
        page.goto(f"{base}/matching/leads/{lead.pk}/")
        box = page.get_by_test_id("lead-materials")
        content, mime = (PDF, "application/pdf") if name.endswith(".pdf") else (PNG, "image/png")
        box.get_by_label("上传银行收集的材料").set_input_files([{"name": name, "mimeType": mime, "buffer": content}])
        box.get_by_role("button", name="上传", exact=True).click()
        expect(page.get_by_role("alert").first).to_contain_text(f"已上传 {name}")
        expect(page.get_by_test_id("lead-files")).to_contain_text(name)
        # a file whose content is not what its name says is refused, by its content
        box = page.get_by_test_id("lead-materials")
        box.get_by_label("上传银行收集的材料").set_input_files(
            [{"name": "假材料.pdf", "mimeType": "application/pdf", "buffer": PNG}]
        )
        box.get_by_role("button", name="上传", exact=True).click()
        expect(page.get_by_role("alert").filter(has_text="假材料.pdf")).to_contain_text("与扩展名 .pdf 不符")
        page.screenshot(path=str(artifacts_dir / f"bank-2-lead-upload-{label}.png"), full_page=True)
        # and what was stored is downloaded as an attachment
        href = page.get_by_test_id("lead-files").get_by_role("link", name=name).get_attribute("href")
        response = page.request.get(f"{base}{href}")
        assert response.status == 200 and response.headers["content-disposition"].startswith("attachment")
        assert response.body() == content
    assert Recommendation.objects.get(pk=lead.pk).bank_materials.count() == 2


def test_3_收件箱下拉筛选_已放款与未提款分开_分配须勾选(live_server, page: Page, artifacts_dir, login):
    world = build_world()
    admin = world.users["boc_admin"]
    _, _, first = pushed(world, ("boc",))
    _, _, second = pushed(world, ("boc",))
    # one lead of each product (the push names the best-fitting one: set them apart)
    huishang = LoanProduct.objects.get(code="huishangdai")
    other = LoanProduct.objects.get(code="shang-e-dai")
    Recommendation.objects.filter(pk=first["boc"].pk).update(product_version=huishang.current_version)
    Recommendation.objects.filter(pk=second["boc"].pk).update(product_version=other.current_version)
    MarketEntity.objects.filter(pk=first["boc"].entity_id).update(name="泽州县放款小店")
    MarketEntity.objects.filter(pk=second["boc"].entity_id).update(name="泽州县未提款小店")
    base = live_server.url
    dialogs = Dialogs(page)

    for size, label in ((DESKTOP, "1280"), (PHONE, "phone")):
        page.set_viewport_size(size)
        login(page, base, "wf-boc-admin")
        page.goto(f"{base}/matching/leads/")
        filters = page.get_by_test_id("inbox-filters")
        # every filter is a drop-down (the name search aside): the county among those the branch serves
        filters.get_by_label("县(区)").select_option(label="泽州县")
        filters.get_by_label("产品").select_option(label=other.name)
        filters.get_by_role("button", name="筛选").click()
        expect(page.get_by_test_id("lead-table").locator("tbody tr")).to_have_count(1)
        expect(page.get_by_test_id("lead-table")).to_contain_text(other.name)
        page.screenshot(path=str(artifacts_dir / f"bank-3-inbox-filtered-{label}.png"), full_page=True)

    # 分配 with nothing ticked is refused in Chinese, never "已分配 0 条"
    page.set_viewport_size(DESKTOP)
    page.goto(f"{base}/matching/leads/")
    page.get_by_role("button", name="分配给客户经理").click()
    expect(page.get_by_role("alert").first).to_have_text("请先勾选要分配的线索")
    expect(page.get_by_text("已分配 0 条")).to_have_count(0)
    # ticked, it asks first, then assigns
    page.get_by_label("选择 泽州县放款小店").check()
    page.get_by_role("button", name="分配给客户经理").click()
    expect(page.get_by_role("alert").first).to_contain_text("已分配 1 条线索")
    assert all("新客户经理将收到通知" in m for m in dialogs.messages) and len(dialogs.messages) == 2

    # 已放款 lists only disbursed leads; 未提款 is its own tab
    for lead in (first["boc"], second["boc"]):
        s.recommendation_contact(actor=admin, recommendation_id=lead.pk)
        s.recommendation_materials_complete(actor=admin, recommendation_id=lead.pk)
        s.recommendation_approve(
            actor=admin,
            recommendation_id=lead.pk,
            credit_amount=100_000,
            rate_percent="3.8",
            term_months=12,
            guarantee="credit",
            is_credit_loan=True,
            is_first_loan=False,
            override_reason="演示" if lead == second["boc"] else "",
        )
    s.recommendation_disburse(
        actor=admin, recommendation_id=first["boc"].pk, amount=50_000, disbursed_on=timezone.localdate()
    )
    s.recommendation_not_drawn(actor=admin, recommendation_id=second["boc"].pk)
    page.set_viewport_size(PHONE)
    page.goto(f"{base}/matching/leads/")
    page.get_by_test_id("inbox-tabs").get_by_role("link", name="已放款").click()
    expect(page.get_by_test_id("lead-table").locator("tbody tr")).to_have_count(1)
    expect(page.get_by_test_id("lead-table")).to_contain_text("泽州县放款小店")
    page.screenshot(path=str(artifacts_dir / "bank-3-inbox-disbursed-phone.png"), full_page=True)
    page.get_by_test_id("inbox-tabs").get_by_role("link", name="未提款").click()
    expect(page.get_by_test_id("lead-table").locator("tbody tr")).to_have_count(1)
    expect(page.get_by_test_id("lead-table")).to_contain_text("泽州县未提款小店")


def test_4_放款超额的提示以万元说明(live_server, page: Page, artifacts_dir, login):
    world = build_world()
    admin = world.users["boc_admin"]
    _, _, leads = pushed(world, ("boc",))
    lead = leads["boc"]
    s.recommendation_contact(actor=admin, recommendation_id=lead.pk)
    s.recommendation_materials_complete(actor=admin, recommendation_id=lead.pk)
    s.recommendation_approve(
        actor=admin,
        recommendation_id=lead.pk,
        credit_amount=250_000,
        rate_percent="3.8",
        term_months=12,
        guarantee="credit",
        is_credit_loan=True,
        is_first_loan=False,
    )
    base = live_server.url
    Dialogs(page)
    for size, label in ((DESKTOP, "1280"), (PHONE, "phone")):
        page.set_viewport_size(size)
        login(page, base, "wf-boc-admin")
        page.goto(f"{base}/matching/leads/{lead.pk}/")
        page.get_by_label("放款金额(万元)").fill("30")
        page.get_by_role("button", name="放款", exact=True).click()
        expect(page.get_by_role("alert").first).to_contain_text("放款金额 30 万元超过剩余授信额度 25 万元")
        page.screenshot(path=str(artifacts_dir / f"bank-4-units-{label}.png"), full_page=True)
    assert Recommendation.objects.get(pk=lead.pk).disbursed_total == 0


def test_5_不可撤销的操作先确认并说明后果_取消则不变(live_server, page: Page, artifacts_dir, login):
    world = build_world()
    lead = assigned_lead(world, operator=(NAME, PHONE_NUMBER))
    _, _, leads = pushed(world, ("boc",))
    base = live_server.url
    dialogs = Dialogs(page)

    def state(pk):
        return Recommendation.objects.get(pk=pk).state

    # the account manager (1280): dismissing 已对接 changes nothing; confirming records it
    page.set_viewport_size(DESKTOP)
    login(page, base, "wf-boc-manager")
    page.goto(f"{base}/matching/leads/{lead.pk}/")
    dialogs.answers = [False]
    page.get_by_role("button", name="已对接").click()
    assert "反馈时限即告完成" in dialogs.messages[-1] and "不能撤销" in dialogs.messages[-1]
    assert state(lead.pk) == RecommendationState.PUSHED
    page.get_by_role("button", name="已对接").click()
    expect(page.get_by_role("alert").first).to_contain_text("已登记对接")
    # 材料已收齐 and 授信 on a phone
    page.set_viewport_size(PHONE)
    page.get_by_role("button", name="材料已收齐").click()
    assert "30 日授信决定时限从现在起算" in dialogs.messages[-1]
    expect(page.get_by_role("alert").first).to_contain_text("30 日内须作出授信决定")
    page.get_by_label("授信金额(万元)").fill("10")
    page.get_by_label("年利率(%)").fill("3.8")
    dialogs.answers = [False]
    page.get_by_role("button", name="授信", exact=True).click()
    assert "记录授信决定并通知企业和专班" in dialogs.messages[-1]
    assert state(lead.pk) == RecommendationState.UNDER_REVIEW
    page.get_by_role("button", name="授信", exact=True).click()
    expect(page.get_by_role("alert").first).to_contain_text("已登记授信")
    page.screenshot(path=str(artifacts_dir / "bank-5-approved-phone.png"), full_page=True)
    # the administrator declines another lead (1280)
    page.set_viewport_size(DESKTOP)
    login(page, base, "wf-boc-admin")
    page.goto(f"{base}/matching/leads/{leads['boc'].pk}/")
    dialogs.answers = [False]
    page.get_by_role("button", name="不予授信").click()
    assert "原因即时反馈专班和企业" in dialogs.messages[-1] and state(leads["boc"].pk) == RecommendationState.PUSHED
    page.get_by_role("button", name="不予授信").click()
    expect(page.get_by_role("alert").first).to_contain_text("已登记不予授信")
    page.screenshot(path=str(artifacts_dir / "bank-5-declined-1280.png"), full_page=True)

    # the task force's 批量通过 and the convener's 签字确认并生成批次 ask first too (phone)
    entity, user = world.entity("泽州县确认测试小店")
    declaration = declare(world, entity, user, ("boc",))
    page.set_viewport_size(PHONE)
    login(page, base, "wf-staff")
    page.goto(f"{base}/matching/review/")
    page.get_by_label(f"选择 {entity.name}").check()
    dialogs.answers = [False]
    page.get_by_role("button", name="批量通过").click()
    assert "转入下一环节" in dialogs.messages[-1]
    assert Declaration.objects.get(pk=declaration.pk).state == DeclarationState.SUBMITTED
    page.screenshot(path=str(artifacts_dir / "bank-5-bulk-approve-phone.png"), full_page=True)
    s.declaration_review(actor=world.users["staff"], declaration_id=declaration.pk, decision="approve")
    s.declaration_review(actor=world.users["reviewer"], declaration_id=declaration.pk, decision="approve")
    s.declaration_review(actor=world.users["lead"], declaration_id=declaration.pk, decision="approve")
    login(page, base, "wf-convener")
    page.goto(f"{base}/matching/batches/")
    page.get_by_label(f"选择 {entity.name}").check()
    dialogs.answers = [False]
    page.get_by_role("button", name="签字确认并生成批次").click()
    assert "列入推荐清单并生成新批次" in dialogs.messages[-1]
    assert Declaration.objects.get(pk=declaration.pk).state == DeclarationState.LEAD_APPROVED
    # and the platform administrator's 立即全量匹配 (dismissed: no run starts)
    user_with_role(Role.PLATFORM_ADMIN, username="confirm-platform")
    page.set_viewport_size(DESKTOP)
    login(page, base, "confirm-platform")
    page.goto(f"{base}/matching-batch/runs/")
    dialogs.answers = [False]
    page.get_by_test_id("start-run").click()
    assert "新结果替换当前生效的结果" in dialogs.messages[-1]
    page.screenshot(path=str(artifacts_dir / "bank-5-full-run-1280.png"), full_page=True)
    assert not MatchingRun.objects.exists()
