"""The city regulator's journey in Chromium (issue 17: the dashboards show problems, renewals and
direct applications; 工作通报/简报, seed 004_b2811ebd7ee390f8.txt 十七 "定期通报各县区、各银行工作进展
情况"): open the dashboard, filter a period, drill into the renewals, generate the brief and open its
printable page — at 1280×900 and at 390×844, each page checked by axe-core (WCAG 2.1 AA)."""

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE = (Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js").read_text(encoding="utf-8")
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
VIEWPORTS = {"1280": {"width": 1280, "height": 900}, "390": {"width": 390, "height": 844}}


def _violations(page: Page) -> list[str]:
    page.evaluate(AXE)
    return page.evaluate(
        """async (tags) => {
            const r = await axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']});
            return r.violations.map(v => `${v.id} (${v.impact}): ${v.help} — ` +
                v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | '));
        }""",
        WCAG_AA,
    )


@pytest.mark.parametrize("size", list(VIEWPORTS))
def test_city_filters_the_dashboard_drills_into_renewals_and_prints_the_brief(
    history, hand_renewals, hand_problems, live_server, page: Page, artifacts_dir, login, size
):
    base = live_server.url
    page.set_viewport_size(VIEWPORTS[size])
    login(page, base, history.world.users["city"].username)
    failures = []

    # the dashboard, filtered to March 2026 as of its last day through the filter form
    page.goto(f"{base}/reporting/")
    page.get_by_label("统计期间").fill("2026-03")
    page.get_by_label("统计时点(截至)").fill("2026-03-31")
    page.get_by_role("button", name="统计").click()
    expect(page.get_by_test_id("dashboard-scope")).to_contain_text("2026年3月")
    renewals = page.get_by_test_id("card-renewal_due")
    expect(renewals).to_contain_text("应续尽续")
    expect(page.get_by_test_id("card-problem_status")).to_contain_text("已办结")
    page.wait_for_load_state("networkidle")
    failures += [f"dashboard: {v}" for v in _violations(page)]
    page.screenshot(path=str(artifacts_dir / f"brief-1-dashboard-{size}.png"), full_page=True)

    # drill into the renewals due within 90 days (the 合计 row): the four still awaiting renewal
    total_links = renewals.get_by_test_id("drill-renewal_due-total")
    expect(total_links.nth(2)).to_have_text("4")
    total_links.nth(2).click()
    expect(page.get_by_test_id("drill-title")).to_contain_text("90 天内到期待续贷")
    expect(page.get_by_test_id("drill-row")).to_have_count(4)
    failures += [f"drill: {v}" for v in _violations(page)]
    page.screenshot(path=str(artifacts_dir / f"brief-2-drill-renewals-{size}.png"), full_page=True)

    # back on the dashboard, generate the brief for the same filters
    page.go_back()
    page.get_by_test_id("open-brief").click()
    expect(page.get_by_test_id("brief-title")).to_have_text("晋城市 支持小微企业融资协调工作简报")
    expect(page.get_by_test_id("brief-scope")).to_contain_text("2026年3月")
    expect(page.get_by_test_id("brief-section")).to_have_count(8)  # 千企万户大走访 included
    expect(page.get_by_test_id("brief-table-renewal_due")).to_contain_text("中国银行")
    failures += [f"brief: {v}" for v in _violations(page)]

    # its printable page: on paper, the brief alone (no navigation, filters or buttons)
    page.emulate_media(media="print")
    expect(page.get_by_test_id("brief-print")).to_be_hidden()
    expect(page.get_by_test_id("report-filters")).to_be_hidden()
    expect(page.locator("nav.navbar")).to_be_hidden()
    expect(page.get_by_test_id("brief")).to_be_visible()
    page.screenshot(path=str(artifacts_dir / f"brief-3-printable-{size}.png"), full_page=True)
    page.emulate_media(media="screen")

    # the xlsx of the same brief downloads
    with page.expect_download() as download:
        page.get_by_test_id("brief-xlsx").click()
    assert download.value.suggested_filename.startswith("工作简报_")
    assert not failures, "\n".join(failures)
