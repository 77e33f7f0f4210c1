"""In Chromium: an administrator starts a full run and watches its progress bar (the page's
script polls the run's progress while the real worker runs it), and a run's page follows
its counts and end time without a reload; the bank branch reads its 潜在客户; the enterprise its matching
products with the reasons; the task force its near misses."""

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from batch_matching import services
from batch_matching.factories import run_inline
from batch_matching.models import RunChunk
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


def test_运行页面不刷新即更新分块计数和结束时间(batch_world, live_server, page: Page, artifacts_dir, login):
    """ "the run page updates its counts and end time without a reload" (issue 16, item 20)."""
    # given a full run whose chunks are written here, one by one, while its page is open
    run = services.run_start(chunk_size=40, dispatch=False)
    total = run.chunks_total
    chunks = list(RunChunk.objects.filter(run=run).order_by("number").values_list("pk", flat=True))
    assert total >= 3
    login(page, live_server.url, user_with_role(Role.PLATFORM_ADMIN, username="batch-watcher").username)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{live_server.url}/matching-batch/runs/detail/?run={run.pk}")
    page.evaluate("window.sameDocument = true")  # gone if the page reloads
    expect(page.get_by_test_id("run-chunks")).to_have_text(f"分块 0 / {total}")
    expect(page.get_by_test_id("run-finished-at")).to_have_text("—")

    # when a chunk is written, the page counts it, its bar and its live status follow
    services.chunk_process(run_id=run.pk, chunk_id=chunks[0], finalize=False)
    expect(page.get_by_test_id("run-chunks")).to_have_text(f"分块 1 / {total}")
    percent = 99 // total
    expect(page.get_by_test_id("run-percent-text")).to_have_text(f"{percent}%")
    expect(page.get_by_test_id("run-percent")).to_have_attribute("value", str(percent))
    expect(page.get_by_test_id("run-status")).to_have_text(f"匹配中: 已完成 1 / {total} 个分块({percent}%)")
    expect(page.get_by_test_id("run-status")).to_have_attribute("aria-live", "polite")
    page.screenshot(path=str(artifacts_dir / "batch-run-progress.png"), full_page=True)

    # when the rest are written and the run is swapped in (watched on a phone)
    page.set_viewport_size({"width": 390, "height": 844})
    for chunk_id in chunks[1:]:
        services.chunk_process(run_id=run.pk, chunk_id=chunk_id, finalize=False)
    assert services.run_finalize(run_id=run.pk)
    run.refresh_from_db()

    # then the page shows its state, counts and end time, without having been reloaded
    ended = timezone.localtime(run.finished_at).strftime("%Y-%m-%d %H:%M:%S")
    expect(page.get_by_test_id("run-state")).to_have_text("已完成")
    expect(page.get_by_test_id("run-finished-at")).to_have_text(ended)
    expect(page.get_by_test_id("run-results")).to_have_text(str(run.results))
    expect(page.get_by_test_id("run-chunks")).to_have_text(f"分块 {total} / {total}")
    expect(page.get_by_test_id("run-percent-text")).to_have_text("100%")
    expect(page.get_by_test_id("run-summary")).to_be_visible()
    expect(page.get_by_test_id("run-in-force")).to_be_visible()
    expect(page.get_by_test_id("run-status")).to_have_text(f"已完成(100%), 结束于 {ended}; 新的匹配结果已生效")
    expect(page.get_by_test_id("run-summary")).to_contain_text(
        f"符合 {run.eligible}, 信息不全 {run.incomplete}, 差一点符合 {run.near_miss}"
    )
    expect(page.get_by_test_id("resume-run")).to_be_hidden()
    first = run.products.order_by("product__bank__code", "product__code").first()
    expect(page.locator(f'[data-run-product="{first.pk}"] [data-run-field="eligible"]')).to_have_text(
        str(first.eligible)
    )
    assert page.evaluate("window.sameDocument") is True
    page.screenshot(path=str(artifacts_dir / "batch-run-progress-phone.png"), full_page=True)


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
