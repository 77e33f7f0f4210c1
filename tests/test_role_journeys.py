"""Issue 16, done when: "A Chromium journey per role (10 roles) does that role's main job from
login to result at desktop and phone size without the Django admin, and the suite checks that
no page of those journeys shows an English word outside product names and codes."

Each journey signs in through the login page, moves through the role's navigation (opened
behind the toggler on a phone) and the portal's pages only — never /admin/ — to a visible
result, whose screenshot is kept as `test-artifacts/role-<role>-<size>.png`. Every page it
loads is read by `chinese_only` (tests/conftest.py): a Latin word that is not a code of the
data or in the short LATIN_ALLOWED list fails the journey."""

import datetime as dt
import re

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from matching import services as s
from matching.clocks import deadline_scan
from matching.factories import assign, declare, push_one, pushed, through_reviews
from matching.models import (
    ClockState,
    DeadlineClock,
    Declaration,
    DeclarationState,
    Recommendation,
    RecommendationState,
    Visit,
)
from portal.factories import user_with_role
from portal.models import Organisation, OrganisationKind, Role

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SIZES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


@pytest.fixture(params=list(SIZES))
def journey(request, live_server, page: Page, login, chinese_only, artifacts_dir):
    """The journey's browser at desktop or phone size: `sign_in(user)`, `nav(label)` (through the
    collapsed menu on a phone), `check()` (the English check of the page shown) and
    `result(role)` (the screenshot of the result)."""
    size = request.param
    page.set_viewport_size(SIZES[size])
    page.on("dialog", lambda dialog: dialog.accept())  # the confirmations of irreversible actions
    base = live_server.url

    class Journey:
        phone = size == "phone"

        def sign_in(self, user):
            page.goto(f"{base}/accounts/login/")
            chinese_only(page)
            login(page, base, user.username)
            chinese_only(page)

        def nav(self, label):
            toggler = page.get_by_role("button", name="展开导航")
            if toggler.is_visible():
                toggler.click()
                # the menu slides open; a tap during the slide may miss the link
                expect(page.locator("#mainNav")).to_have_class(re.compile(r"(^|\s)show(\s|$)"))
            before = page.url
            page.locator("nav").get_by_role("link", name=label, exact=True).click()
            page.wait_for_url(lambda url: url != before)
            chinese_only(page)

        def check(self):
            chinese_only(page)

        def result(self, role):
            chinese_only(page)
            assert "/admin/" not in page.url
            page.screenshot(path=str(artifacts_dir / f"role-{role}-{size}.png"), full_page=True)

    return Journey()


def test_the_english_check_names_interface_words_and_passes_codes_units_and_product_names(
    world, page: Page, chinese_only
):
    # given a page mixing interface English with what the allowlist and the data allow
    page.set_content(
        "<title>Dashboard</title><main><button>提交</button> <button>Submit</button>"
        "<p>税e贷 · 商E贷 · boc · shang-e-dai · wf-staff · 92140525MA0000011X · 2026-12-05 · 5 MB · API 令牌 · "
        "导出 xlsx · PDF</p><input placeholder='Search'><select><option>None</option></select>"
        "<img alt='logo' src='data:,'><a aria-label='Next page' href='#'>›</a>"
        "<p>临时密码: <code translate='no'>CxMxNCuHexLH</code></p></main>"
    )
    # when the check reads it, then it names the interface words only, each once
    words = chinese_only.words_on(page)
    assert sorted(words) == sorted(["Dashboard", "Submit", "Search", "Next", "page", "logo", "None"])


def _alert(page: Page, text: str):
    expect(page.get_by_role("alert").first).to_contain_text(text)


def test_enterprise_declares_and_sees_who_holds_the_declaration(world, journey, page: Page):
    # given an enterprise of 泽州 with its user
    entity, user = world.entity(name="泽州县旅程企业面馆")
    journey.sign_in(user)

    # when it first tries 资格自测, prefilled from its register entry, and sees its products
    journey.nav("资格自测")
    expect(page.get_by_test_id("prefilled")).to_contain_text("泽州县旅程企业面馆")
    page.get_by_role("button", name="查看我能申请的产品").click()
    expect(page.get_by_test_id("result-counts")).to_contain_text("符合")
    journey.check()

    # and asks for financing through 我要融资 for 30 万元 with 中国银行
    journey.nav("我要融资")
    page.get_by_label("融资金额(万元)").fill("30")
    page.get_by_label("期限(月)").fill("12")
    page.get_by_label("资金用途").fill("进货周转")
    page.locator("input[name=banks][value=boc]").check()
    for name in ("compliant_operation", "fixed_premises", "genuine_need", "good_credit", "lawful_purpose"):
        page.locator(f"input[name=criteria_{name}]").check()
    page.locator("#id_consent").check()
    page.get_by_role("button", name="提交申报").click()

    # then the declaration is submitted, waiting for the 初审
    expect(page.get_by_test_id("declaration-title")).to_contain_text("泽州县旅程企业面馆")
    expect(page.locator("body")).to_contain_text("待初审")
    journey.check()
    # and its home page says who holds it now
    journey.nav("首页")
    expect(page.locator("main")).to_contain_text("泽州县专班")
    journey.result("enterprise")


def test_task_force_staff_records_a_visit_and_passes_the_first_review(world, journey, page: Page):
    # given an enterprise's submitted declaration
    entity, user = world.entity(name="泽州县旅程初审商店")
    declare(world, entity, user, banks=("boc",))
    journey.sign_in(world.users["staff"])

    # when the staff records his visit, picking the enterprise by its credit code
    journey.nav("走访登记")
    page.get_by_label("经营主体(名称或统一社会信用代码)").fill(entity.uscc)
    page.get_by_label("走访人员").fill("周干事")
    page.get_by_label("走访情况").fill("经营正常, 有进货资金需求")
    page.get_by_role("button", name="登记", exact=True).click()
    expect(page.get_by_text("泽州县旅程初审商店").first).to_be_visible()
    journey.check()

    # and passes its 初审 from the review queue
    journey.nav("审核队列")
    page.get_by_role("link", name="泽州县旅程初审商店").click()
    journey.check()
    page.get_by_role("button", name="通过", exact=True).click()

    # then the review is recorded and the declaration moves on to the bank reviewer
    _alert(page, "审核意见已提交")
    expect(page.locator("body")).to_contain_text("待银行审核")
    journey.result("staff")
    assert Visit.objects.filter(entity=entity).count() == 1


def test_bank_reviewer_passes_the_bank_review(world, journey, page: Page):
    # given a declaration that passed the 初审
    entity, user = world.entity(name="泽州县旅程银审商店")
    declaration = declare(world, entity, user, banks=("boc",))
    s.declaration_review(actor=world.users["staff"], declaration_id=declaration.pk, decision="approve")
    journey.sign_in(world.users["reviewer"])

    # when the seconded bank reviewer opens it from his queue and passes it
    journey.nav("审核队列")
    page.get_by_role("link", name="泽州县旅程银审商店").click()
    journey.check()
    page.get_by_role("button", name="通过", exact=True).click()

    # then it waits for the 组长
    _alert(page, "审核意见已提交")
    expect(page.locator("body")).to_contain_text("待组长审核")
    journey.result("reviewer")


def test_task_force_lead_gives_the_final_review(world, journey, page: Page):
    # given a declaration that passed the 初审 and the bank review
    entity, user = world.entity(name="泽州县旅程组长商店")
    declaration = declare(world, entity, user, banks=("boc",))
    s.declaration_review(actor=world.users["staff"], declaration_id=declaration.pk, decision="approve")
    s.declaration_review(actor=world.users["reviewer"], declaration_id=declaration.pk, decision="approve")
    journey.sign_in(world.users["lead"])

    # when the 组长 passes it from his queue
    journey.nav("审核队列")
    page.get_by_role("link", name="泽州县旅程组长商店").click()
    journey.check()
    page.get_by_role("button", name="通过", exact=True).click()

    # then it is ready for the convener's sign-off
    _alert(page, "审核意见已提交")
    expect(page.locator("body")).to_contain_text("待签字推送")
    journey.result("lead")
    assert Declaration.objects.get(pk=declaration.pk).state == DeclarationState.LEAD_APPROVED


def test_convener_signs_a_batch_and_pushes_it(world, journey, page: Page):
    # given a declaration through its three reviews
    entity, user = world.entity(name="泽州县旅程推送商店")
    through_reviews(world, declare(world, entity, user, banks=("boc",)))
    journey.sign_in(world.users["convener"])

    # when the convener signs it into a batch and pushes the batch
    journey.nav("推荐清单")
    page.get_by_label("选择 泽州县旅程推送商店").check()
    page.get_by_role("button", name="签字确认并生成批次").click()
    expect(page.get_by_test_id("batch-title")).to_be_visible()
    journey.check()
    page.get_by_role("button", name="推送").click()

    # then 中国银行 has it
    _alert(page, "已推送")
    expect(page.get_by_test_id("batch-progress")).to_contain_text("中国银行")
    journey.result("convener")
    assert Recommendation.objects.filter(entity=entity, bank__code="boc").exists()


def test_bank_admin_assigns_a_lead_to_an_account_manager(world, journey, page: Page):
    # given a lead pushed to 中国银行
    declaration, _, recs = pushed(world, banks=("boc",))
    manager = world.users["boc_manager"]
    journey.sign_in(world.users["boc_admin"])

    # when the bank administrator ticks it in his inbox and hands it to the 泽州 account manager
    journey.nav("线索收件箱")
    name = declaration.entity.name
    page.get_by_label(f"选择 {name}").check()
    page.get_by_label("客户经理", exact=True).select_option(str(manager.pk))
    page.get_by_role("button", name="分配给客户经理").click()

    # then the inbox shows the lead assigned
    _alert(page, "已分配")
    journey.result("bankadmin")
    assert Recommendation.objects.get(pk=recs["boc"].pk).assigned_to == manager


def test_account_manager_works_a_lead_to_credit_and_drawdown(world, journey, page: Page):
    # given a lead assigned to the 泽州 account manager of 中国银行
    declaration, _, recs = pushed(world, banks=("boc",))
    assign(world, recs["boc"], "boc")
    journey.sign_in(world.users["boc_manager"])

    # when he contacts the enterprise, confirms the materials, grants 30 万元 and records the drawdown
    journey.nav("线索收件箱")
    page.get_by_role("link", name=declaration.entity.name).click()
    journey.check()
    page.get_by_role("button", name="已对接").click()
    journey.check()
    page.get_by_role("button", name="材料已收齐").click()
    journey.check()
    page.get_by_label("授信金额(万元)").fill("30")
    page.get_by_label("年利率(%)").fill("3.65")
    page.get_by_role("button", name="授信", exact=True).click()
    _alert(page, "已登记授信")
    journey.check()
    page.get_by_label("放款金额(万元)").fill("20")
    page.get_by_role("button", name="放款", exact=True).click()

    # then the lead is disbursed
    _alert(page, "已登记放款")
    journey.result("manager")
    assert Recommendation.objects.get(pk=recs["boc"].pk).state == RecommendationState.DISBURSED


def _overdue_lead(world):
    """A lead pushed to 中国银行 five weeks ago and never answered, marked overdue by the scan."""
    rec, _ = push_one(world, timezone.now() - dt.timedelta(days=35))
    deadline_scan(now=timezone.now())
    assert DeadlineClock.objects.filter(recommendation=rec, state=ClockState.OVERDUE).exists()
    return rec


@pytest.mark.parametrize("role", ["city", "province"])
def test_regulator_reads_the_dashboard_chases_the_overdue_bank_and_exports_the_effectiveness_table(
    role, world, journey, page: Page
):
    # given an overdue lead at 中国银行 in 泽州
    _overdue_lead(world)
    if role == "city":
        user = world.users["city"]
    else:
        province = Organisation.objects.get(kind=OrganisationKind.PROVINCE_MECHANISM)
        user = user_with_role(Role.PROVINCE_REGULATOR, organisation=province, username="wf-province")
    journey.sign_in(user)
    expect(page.get_by_test_id("home-title")).to_contain_text("驾驶舱")

    # when the regulator opens 逾期督办, the overdue bank is listed with its branch
    journey.nav("逾期督办")
    expect(page.get_by_test_id("overdue-table")).to_contain_text("中国银行")
    journey.check()

    # and he exports the 成效统计表 from 统计分析
    journey.nav("统计分析")
    with page.expect_download() as download:
        page.get_by_test_id("export-effectiveness").click()

    # then he gets the form, named in Chinese
    assert re.match(r"成效统计表.*\.xlsx$", download.value.suggested_filename)
    journey.result(role)


def test_platform_admin_invites_a_user_reads_the_audit_log_and_the_working_day_calendar(world, journey, page: Page):
    # given the platform administrator
    admin = user_with_role(Role.PLATFORM_ADMIN, username="wf-platform")
    journey.sign_in(admin)

    # when he invites a staff member of the 泽州 task force through 用户管理
    journey.nav("用户管理")
    page.get_by_role("link", name="邀请用户").click()
    journey.check()
    tag = "phone" if journey.phone else "desktop"
    page.get_by_label("用户名").fill(f"invited-{tag}")
    page.get_by_label("姓名").fill("新来的专班干事")
    page.get_by_label("手机号").fill("13800000011")
    page.get_by_label("所属机构").select_option(str(world.task_force.pk))
    page.get_by_label("角色").select_option(Role.TASK_FORCE_STAFF.value)
    page.get_by_role("button", name="邀请并生成临时密码").click()
    expect(page.get_by_test_id("invited")).to_contain_text(f"invited-{tag}")
    journey.check()

    # and the audit log names the invitation in Chinese, field by field
    journey.nav("审计日志")
    expect(page.get_by_test_id("audit-table")).to_contain_text("邀请用户")
    expect(page.get_by_test_id("audit-table")).to_contain_text("新来的专班干事")
    journey.check()

    # then the working-day calendar shows the years entered
    journey.nav("工作日历")
    expect(page.locator("main")).to_contain_text(str(timezone.localdate().year))
    journey.result("admin")
