"""In Chromium: an administrator starts a full run and watches its progress bar (htmx polls
while the real worker runs it); the bank branch reads its 潜在客户; the enterprise its matching
products with the reasons; the task force its near misses."""

import pytest
from playwright.sync_api import Page, expect

from batch_matching.factories import run_inline
from portal.factories import user_with_role
from portal.models import Role
from products.models import LoanProduct

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
BATCH_ENTITIES = 160


@pytest.mark.worker
def test_an_administrator_starts_a_full_run_and_watches_it_finish(
    batch_world, live_server, page: Page, artifacts_dir, login
):
    admin = user_with_role(Role.PLATFORM_ADMIN, username="batch-admin")
    login(page, live_server.url, admin.username)
    page.goto(f"{live_server.url}/matching-batch/runs/")
    expect(page.get_by_test_id("page-title")).to_have_text("批量匹配")
    expect(page.get_by_test_id("current-results")).to_have_count(0)
    # when he starts a full run, the real worker runs it while the page polls its progress
    # (after confirming what will happen: issue 16 item 5)
    asked: list[str] = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    page.get_by_test_id("start-run").click()
    expect(page.get_by_test_id("run-progress")).to_be_visible()
    assert asked and "新结果替换当前生效的结果" in asked[0]
    expect(page.get_by_test_id("run-state")).to_have_text("已完成", timeout=90_000)
    expect(page.get_by_test_id("run-summary")).to_contain_text("符合")
    page.screenshot(path=str(artifacts_dir / "batch-run.png"), full_page=True)
    # and the results are in force, with the per-product counts
    page.goto(f"{live_server.url}/matching-batch/runs/")
    expect(page.get_by_test_id("current-results")).to_contain_text("评估日期")
    expect(page.get_by_test_id("product-counts")).to_contain_text("惠商贷")


def test_a_branch_reads_its_potential_customers(batch_world, live_server, page: Page, artifacts_dir, login):
    run_inline()
    login(page, live_server.url, batch_world.users["boc_admin"].username)
    page.get_by_role("link", name="潜在客户").click()
    expect(page.get_by_test_id("page-title")).to_contain_text("潜在客户")
    expect(page.get_by_test_id("product-counts")).to_contain_text("烟商E贷")
    rows = page.get_by_test_id("lead-row")
    expect(rows.first).to_be_visible()
    page.screenshot(path=str(artifacts_dir / "batch-potential-customers.png"), full_page=True)
    # one county, one product
    product = LoanProduct.objects.get(code="yanshang-e-dai")
    page.get_by_label("产品").select_option(str(product.pk))
    page.get_by_label("县(区)").select_option("140502")
    page.get_by_role("button", name="查询").click()
    expect(page.get_by_test_id("lead-table")).not_to_contain_text(batch_world.special["model"].name)
    expect(page.get_by_test_id("lead-table")).not_to_contain_text(batch_world.special["datong"].name)
    expect(page.get_by_test_id("export")).to_be_visible()


def test_an_enterprise_sees_its_matching_products_with_the_reasons(
    batch_world, live_server, page: Page, artifacts_dir, login
):
    run_inline()
    login(page, live_server.url, batch_world.special["enterprise_user"].username)
    page.goto(f"{live_server.url}/matching-batch/mine/")
    matches = page.get_by_test_id("match")
    expect(matches.first).to_be_visible()
    expect(page.get_by_test_id("match-amount").first).to_be_visible()
    matches.first.get_by_text("为什么符合").click()
    expect(matches.first.locator("li").first).to_be_visible()
    page.set_viewport_size({"width": 390, "height": 844})  # on a phone
    page.screenshot(path=str(artifacts_dir / "batch-my-matches.png"), full_page=True)


def test_the_task_force_sees_near_misses_and_what_is_missing(
    batch_world, live_server, page: Page, artifacts_dir, login
):
    run_inline()
    login(page, live_server.url, batch_world.users["staff"].username)
    page.get_by_role("link", name="差一点符合").click()
    table = page.get_by_test_id("near-miss-table")
    expect(table).to_contain_text(batch_world.special["young"].name)
    expect(table).to_contain_text("还差")
    expect(table).to_contain_text("可申请信用修复")
    page.screenshot(path=str(artifacts_dir / "batch-near-misses.png"), full_page=True)
