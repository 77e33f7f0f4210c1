"""工作通报 / 简报 (seed 004_b2811ebd7ee390f8.txt 十七: "市协调工作机制办公室按照上级要求建立工作通报、
工作简报制度，定期通报各县区、各银行工作进展情况"): the brief per county and per bank for a period,
from the same functions as the dashboard; its sections a small ordered registry; xlsx and a
printable page; the weekly job mails it to its subscribers."""

import datetime as dt
import io

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from openpyxl import load_workbook

from portal.models import AuditEvent
from reporting import brief, dashboard, tasks
from reporting.dashboard import Table
from reporting.factories import at
from reporting.home import mechanism_tile
from reporting.models import BriefSubscription, ReportKind, ScheduledReport
from reporting.supervision import services as supervision_services
from reporting.supervision.selectors import orders_as_of

pytestmark = pytest.mark.django_db

MARCH = {"period": "2026-03", "as_of": "2026-03-31"}
HEADINGS = [
    "一、工作进展",
    "二、三个100%",
    "三、千企万户大走访",
    "四、逾期事项",
    "五、排名通报",
    "六、无还本续贷",
    "七、直接申请",
    "八、批分单",
]


def _tables(made) -> dict[str, Table]:
    return {t.name: t for _, tables in made.parts for t in tables}


def test_定期通报各县区各银行工作进展_from_the_dashboards_own_figures(history, hand_renewals, hand_problems):
    """ "定期通报各县区、各银行工作进展情况": progress per county, 三个100%, overdue items, the ranking of
    counties and banks, renewals — each table the dashboard's own for the same filters."""
    city = history.world.users["city"]
    made = brief.build(city, MARCH)
    assert [heading for heading, _ in made.parts] == HEADINGS
    assert made.title == "晋城市 支持小微企业融资协调工作简报" and made.period_label == "2026年3月"
    mine = _tables(made)
    shown = dashboard.build(city, MARCH)["tables"]
    for name, same in (("regions", "regions"), ("gauges", "gauges"), ("ranking", "ranking")):
        assert (mine[name].rows, mine[name].total) == (shown[same].rows, shown[same].total), name
    assert mine["renewal_due"].total == shown["renewal_due"].total
    assert mine["renewal_due"].total[1:4] == [2, 3, 4]  # due in 30/60/90 days as of 03-31 (hand count)
    assert mine["problem_status"].rows == shown["problem_status"].rows
    assert (mine["campaign_coverage"].rows, mine["campaign_coverage"].total) == (
        shown["campaign_coverage"].rows,
        shown["campaign_coverage"].total,
    )
    # 三个100% per county: 泽州县's ratios are the county row of the dashboard's regions table
    assert mine["three_100_counties"].rows[0][1:] == shown["regions"].rows[0][9:12]
    # overdue items as of 03-31: the leads' late feedback and decisions as the dashboard counts
    # them, no direct application, 1 批分单 (P2, due 03-12), no 督办单
    total = dashboard.build(city, MARCH)["total"]
    assert [row[1] for row in mine["overdue"].rows] == [total.feedback_late, total.decision_late, 0, 1, 0]
    # the same brief for one bank: its ranking row only
    boc = _tables(brief.build(city, {**MARCH, "bank": "boc"}))
    assert [row[1] for row in boc["ranking"].rows] == ["中国银行"]


def test_a_section_joins_the_brief_in_its_order():
    # given a section registered by another module with order 35
    def example(data):
        return [Table("example", "示例", [("县(区)", "text")], [["泽州县"]])]

    brief.register_section("example", "示例", 35, example)
    try:
        # then it sits between 千企万户大走访's coverage (30) and 逾期事项 (40)
        names = [s.name for s in brief.sections()]
        assert names.index("three_100") < names.index("coverage") < names.index("example") < names.index("overdue")
    finally:
        del brief.SECTIONS["example"]


def test_the_brief_downloads_as_a_signed_one_page_wide_xlsx_and_prints(history, hand_problems):
    client = Client()
    client.force_login(history.world.users["city"])
    response = client.get("/reporting/brief/", {**MARCH, "format": "xlsx"})
    assert response.status_code == 200
    assert "%E5%B7%A5%E4%BD%9C%E7%AE%80%E6%8A%A5_" in response["Content-Disposition"]  # 工作简报_
    sheet = load_workbook(io.BytesIO(response.content)).active
    values = [row[0] for row in sheet.iter_rows(values_only=True) if row and row[0]]
    assert values[0] == "晋城市 支持小微企业融资协调工作简报"
    assert [v for v in values if v in HEADINGS] == HEADINGS
    assert str(values[-1]).startswith("填表人")
    assert sheet.page_setup.fitToWidth == 1 and sheet.sheet_properties.pageSetUpPr.fitToPage
    assert AuditEvent.objects.filter(action="reporting.brief.export", actor=history.world.users["city"]).count() == 1
    # the printable page: the same sections, print CSS, a print button (a static script)
    page = client.get("/reporting/brief/", MARCH).content.decode()
    assert page.count('data-testid="brief-section"') == len(HEADINGS)
    assert "reporting/brief.css" in page and "reporting/brief.js" in page and "data-print" in page
    # a bank's administrator does not generate the mechanism's brief
    bank = Client()
    bank.force_login(history.world.users["boc_admin"])
    assert bank.get("/reporting/brief/").status_code == 403


def test_the_weekly_job_mails_the_brief_to_its_subscribers_once(
    history, settings, django_capture_on_commit_callbacks, read_xlsx
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    city = history.world.users["city"]
    city.email = "city@example.cn"
    city.save()
    client = Client()
    client.force_login(city)
    # given the city regulator subscribes on the brief's page; the convener, without an e-mail, cannot
    assert client.post("/reporting/brief/", {"subscribe": "1"}).status_code == 302
    convener = Client()
    convener.force_login(history.world.users["convener"])
    convener.post("/reporting/brief/", {"subscribe": "1"})
    assert list(BriefSubscription.objects.values_list("user__username", flat=True)) == [city.username]
    assert AuditEvent.objects.filter(action="reporting.brief_subscribe", actor=city).count() == 1
    # when beat runs the weekly job twice on a Monday in April (tasks eager, mail at the boundary)
    with (
        time_machine.travel(at("2026-04-06", 7), tick=False),
        pytest.MonkeyPatch.context() as patch,
        django_capture_on_commit_callbacks(execute=True),
    ):
        patch.setattr(tasks.build_mechanism_report, "delay", lambda pk: None)
        patch.setattr(tasks.build_mechanism_brief, "delay", lambda pk: tasks.build_mechanism_brief(pk))
        tasks.weekly_reports()
        tasks.weekly_reports()
    # then the city mechanism's brief for April so far was built once and mailed once to the subscriber
    report = ScheduledReport.objects.get(kind=ReportKind.BRIEF)
    assert (report.organisation, report.period, report.recipients) == (
        history.world.county.parent,
        "2026-04",
        ["city@example.cn"],
    )
    briefs = [m for m in mail.outbox if "工作简报" in m.subject]
    assert len(briefs) == 1 and briefs[0].to == ["city@example.cn"]
    assert briefs[0].attachments[0][0] == report.filename and report.filename.startswith("工作简报_晋城市_")
    assert read_xlsx(report.file.read()).cell(1, 1).value == "晋城市 支持小微企业融资协调工作简报"
    # and unsubscribing stops it
    client.post("/reporting/brief/", {"subscribe": "0"})
    assert not BriefSubscription.objects.exists()


def test_the_regulators_home_tile_counts_open_批分单_and_督办单(overdue_world):
    """004 十六 "及时发现问题、解决问题": the city regulator's home shows the open 批分单 (the overdue
    one of 自然资源局) and the open 督办单, with the overdue ones."""
    world = overdue_world
    city = world.users["city"]
    lead = world.overdue_leads[0]
    supervision_services.supervision_issue(
        actor=city,
        target_id=lead.branch.organisation_id,
        subject="逾期未反馈督办",
        demand="请于期限内反馈逾期线索",
        due_working_days=3,
        lead_ids=[lead.pk],
    )
    client = Client()
    client.force_login(city)
    page = client.get("/").content.decode()
    for testid, value in (
        ("home-problems-open", 1),
        ("home-problems-overdue", 1),
        ("home-orders-open", 1),
        ("home-orders-overdue", 0),
    ):
        assert f'data-testid="{testid}">{value}<' in page, testid
    # and, its reply deadline passed unanswered, the 督办单 counts as overdue too, as the brief
    # counts it (orders_as_of), each kind's two counts read in one statement
    with time_machine.travel(timezone.now() + dt.timedelta(days=10)):
        client.force_login(city)  # the morning's session has expired by then
        page = client.get("/").content.decode()
        assert 'data-testid="home-orders-overdue">1<' in page
        assert orders_as_of(user=city, moment=timezone.now())["overdue"].count() == 1
        with CaptureQueriesContext(connection) as statements:
            tile = mechanism_tile(city)
    assert (tile["orders_open"], tile["orders_overdue"], tile["problems_open"]) == (1, 1, 1)
    assert len(statements.captured_queries) == 2
    # a bank's administrator has no such tile
    bank = Client()
    bank.force_login(world.users["boc_admin"])
    assert 'data-testid="home-mechanism"' not in bank.get("/").content.decode()
