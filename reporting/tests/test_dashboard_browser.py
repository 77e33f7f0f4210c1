"""The regulator's dashboard in Chromium: the ECharts charts draw (a canvas in each), the
table view replaces a chart and back, a table downloads as xlsx — under the strict CSP."""

import pytest
from playwright.sync_api import Page, expect

from portal.factories import TEST_PASSWORD
from reporting.factories import build_history

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_regulator_dashboard_renders_charts_and_table_views(live_server, page: Page, artifacts_dir, read_xlsx):
    history = build_history()
    city = history.world.users["city"]
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("用户名").fill(city.username)
    page.get_by_label("密码").fill(TEST_PASSWORD)
    page.get_by_role("button", name="登录").click()
    # the home page shows the 三个100% of the year
    expect(page.get_by_test_id("home-cockpit")).to_be_visible()

    # when the regulator opens the dashboard for March, as of its last day
    page.goto(f"{live_server.url}/reporting/?period=2026-03&as_of=2026-03-31")
    expect(page.get_by_test_id("dashboard-title")).to_have_text("统计分析驾驶舱")

    # then every chart is drawn on a canvas: three gauges, the funnel, the trend, the ranking, 一高一提一降
    charts = page.locator("[data-chart]")
    expect(charts).to_have_count(7)
    for i in range(7):
        expect(charts.nth(i).locator("canvas").first).to_be_attached()
    expect(page.get_by_test_id("ratio-0")).to_have_text("2 / 3 户 = 66.7%")

    # and the funnel's table view replaces the chart, and back
    funnel_chart, funnel_table = page.locator("#chart-funnel"), page.get_by_test_id("table-funnel")
    expect(funnel_table).to_be_hidden()
    page.get_by_test_id("toggle-funnel").click()
    expect(funnel_table).to_be_visible()
    expect(funnel_chart).to_be_hidden()
    expect(funnel_table.locator("tbody tr")).to_have_count(6)
    expect(funnel_table).to_contain_text("授信")
    page.screenshot(path=str(artifacts_dir / "reporting-dashboard-table-view.png"), full_page=True)
    page.get_by_test_id("toggle-funnel").click()
    expect(funnel_chart).to_be_visible()
    expect(funnel_table).to_be_hidden()

    # and the ranking table downloads as a spreadsheet
    with page.expect_download() as download:
        page.get_by_test_id("download-ranking").click()
    sheet = read_xlsx(open(download.value.path(), "rb").read())
    assert sheet.cell(1, 1).value == "银行机构排名通报" and sheet.cell(4, 3).value == "中国银行"
    page.screenshot(path=str(artifacts_dir / "reporting-dashboard.png"), full_page=True)
