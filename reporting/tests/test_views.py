"""The dashboard page, its downloads, the reports page, the KPI API and the home widget."""

import json

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def _client(user):
    client = Client()
    client.force_login(user)
    return client


def test_the_regulator_dashboard_shows_the_figures_with_chart_data(history):
    response = _client(history.world.users["city"]).get("/reporting/?period=2026-03&as_of=2026-03-31")
    assert response.status_code == 200
    html = response.content.decode()
    # the gauges carry numerator and denominator, the charts their data as a JSON block
    assert "2 / 3 户 = 66.7%" in html and "1 / 1 户 = 100.0%" in html
    data = json.loads(html.split('<script id="chart-data" type="application/json">')[1].split("</script>")[0])
    assert [g["value"] for g in data["gauges"]] == [66.7, 66.7, 100.0]
    assert [f["value"] for f in data["funnel"]] == [2, 4, 4, 3, 2, 1]
    assert data["trend"]["months"] == ["2026-03"] and data["ranking"]["banks"][0] == "中国银行"
    # every chart has a table view and downloads; no inline script besides the JSON block
    for name in ("funnel", "trend", "ranking", "one_high"):
        assert (
            f'id="chart-{name}"' in html and f'id="table-{name}"' in html and f"/reporting/tables/{name}.xlsx" in html
        )
    assert "<script>" not in html and "onclick" not in html
    assert "泽州县" in html  # the table by county


def test_table_downloads_open_as_spreadsheets(history, read_xlsx):
    client = _client(history.world.users["city"])
    for name in ("funnel", "trend", "ranking", "regions", "gauges", "one_high", "targets", "renewals"):
        response = client.get(f"/reporting/tables/{name}.xlsx?period=2026-03&as_of=2026-03-31")
        assert response.status_code == 200, name
        sheet = read_xlsx(response.content)
        assert sheet.cell(3, 1).value == "序号"
    csv = client.get("/reporting/tables/funnel.csv?period=2026-03&as_of=2026-03-31").content.decode("utf-8-sig")
    assert csv.splitlines()[0] == "环节,户数,金额(万元)" and "授信,2,80.00" in csv
    assert client.get("/reporting/tables/nothing.xlsx").status_code == 404


def test_bad_filters_are_explained_in_chinese(history):
    client = _client(history.world.users["city"])
    response = client.get("/reporting/?period=2026-13", follow=True)
    assert response.status_code == 200 and "筛选条件有误" in response.content.decode()
    api = client.get("/api/v1/kpis/?period=2026-13")
    assert api.status_code == 400 and "期间格式" in api.json()["message"]
    assert client.get("/reporting/export/effectiveness.xlsx?as_of=xx").status_code == 400


def test_the_kpi_api(history):
    body = (
        _client(history.world.users["city"]).get("/api/v1/kpis/?period=2026-03&as_of=2026-03-31&by=county,bank").json()
    )
    assert body["total"]["three_100"][0] == {
        "label": "对接覆盖率",
        "numerator": 2,
        "denominator": 3,
        "percent": 66.7,
        "definition": body["definitions"]["contact_coverage"],
    }
    assert [g["name"] for g in body["groups"]["county"]] == ["泽州县"]
    assert {g["name"] for g in body["groups"]["bank"]} == {"中国银行", "中国建设银行"}


def test_the_reports_page_and_exports(history):
    client = _client(history.world.users["city"])
    page = client.get("/reporting/reports/")
    assert page.status_code == 200 and "立即导出" in page.content.decode()
    for kind in ("effectiveness", "ledger", "ranking", "renewals"):
        response = client.get(f"/reporting/export/{kind}.xlsx?period=2026-03")
        assert response.status_code == 200 and response["Content-Type"].startswith("application/vnd.openxml")
        response = client.get(f"/reporting/export/{kind}.csv?period=2026-03")
        assert response.status_code == 200 and response.content.startswith("\ufeff".encode())


def test_the_regulator_home_shows_the_gauges(history):
    html = _client(history.world.users["city"]).get("/").content.decode()
    assert 'data-testid="home-cockpit"' in html and "对接覆盖率" in html
