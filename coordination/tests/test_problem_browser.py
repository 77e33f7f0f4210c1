"""A 批分单 in Chromium through the real pages (seed 004_b2811ebd7ee390f8.txt 二(七): "及时收集银行、企业
反映的困难问题, 填写批分单后转交相关部门协调解决"): the task force's staff open one from a declaration
(1280×900), the department's staff accept and answer it on a phone (390×844), and the staff see
the answer on the declaration and on the 批分单 (1280×900)."""

import pytest
from playwright.sync_api import Page, expect

from coordination.factories import departments
from matching.factories import pushed
from products.factories import build_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def test_staff_open_a_批分单_the_department_answers_and_the_staff_see_it(live_server, page: Page, artifacts_dir, login):
    world = build_world()
    found = departments(world)
    declaration, _, _ = pushed(world, ("boc",))
    base = live_server.url
    page.on("dialog", lambda dialog: dialog.accept())

    # the staff open a 批分单 from the declaration they review (1280 wide)
    page.set_viewport_size(DESKTOP)
    login(page, base, "wf-staff")
    page.goto(f"{base}/matching/declarations/{declaration.pk}/")
    page.get_by_test_id("open-problem").click()
    expect(page.get_by_label("经营主体(名称或统一社会信用代码)")).to_have_value(declaration.entity.uscc)
    page.get_by_label("问题类型").select_option(label="抵质押登记")
    expect(page.get_by_label("问题来源")).to_have_value("review")
    page.get_by_label("问题描述").fill("银行初审后需办理厂房抵押登记, 请开辟绿色通道")
    page.get_by_label("承办部门").select_option(label="泽州县自然资源局")
    page.get_by_label("办理时限(工作日)").fill("5")
    page.screenshot(path=str(artifacts_dir / "problem-1-staff-form-1280.png"), full_page=True)
    page.get_by_role("button", name="转交部门").click()
    expect(page.get_by_test_id("problem-state")).to_have_text("待部门受理")
    expect(page.get_by_test_id("problem-department")).to_have_text("泽州县自然资源局")
    page.screenshot(path=str(artifacts_dir / "problem-2-staff-routed-1280.png"), full_page=True)

    # the department's staff, on a phone: from the home page to the problem, accept, answer
    page.set_viewport_size(PHONE)
    login(page, base, found.users["department"].username)
    expect(page.get_by_test_id("department-home")).to_contain_text("待受理 1 件")
    page.get_by_role("link", name="办理批分单").click()
    page.get_by_test_id("problem-table").get_by_role("link").first.click()
    page.get_by_role("button", name="受理").click()
    expect(page.get_by_role("alert").first).to_contain_text("已受理")
    expect(page.get_by_test_id("problem-state")).to_have_text("部门办理中")
    page.get_by_label("答复办理结果").fill("已开辟绿色通道, 抵押登记 3 个工作日内办结")
    page.get_by_role("button", name="提交答复").click()
    expect(page.get_by_test_id("problem-state")).to_have_text("部门已答复")
    page.screenshot(path=str(artifacts_dir / "problem-3-department-answered-phone.png"), full_page=True)

    # the staff see the answer on the declaration, and close the 批分单 (1280 wide)
    page.set_viewport_size(DESKTOP)
    login(page, base, "wf-staff")
    page.goto(f"{base}/matching/declarations/{declaration.pk}/")
    problems = page.get_by_test_id("entity-problems")
    expect(problems).to_contain_text("抵质押登记 · 泽州县自然资源局 · 部门已答复")
    expect(problems).to_contain_text("已开辟绿色通道")
    problems.get_by_role("link", name="批分单详情").click()
    expect(page.get_by_test_id("problem-answer")).to_contain_text("抵押登记 3 个工作日内办结")
    expect(page.get_by_test_id("problem-timeline")).to_contain_text("部门答复")
    page.screenshot(path=str(artifacts_dir / "problem-4-staff-sees-answer-1280.png"), full_page=True)
    page.get_by_role("button", name="办结").click()
    expect(page.get_by_test_id("problem-state")).to_have_text("已办结")
