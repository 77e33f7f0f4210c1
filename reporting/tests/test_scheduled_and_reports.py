"""The weekly 成效统计表 (built per mechanism, stored, kept, mailed once), bank reporting and
targets."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.core import mail
from django.test import Client

from portal.factories import user_with_role
from portal.models import Organisation, OrganisationKind, Role
from portal.services import ApplicationError
from reporting import selectors, services, tasks
from reporting.factories import REPORT_FIGURES, at
from reporting.models import BankPeriodReport, ScheduledReport, Target, TargetMetric

pytestmark = pytest.mark.django_db
FIGURES = REPORT_FIGURES


def test_the_weekly_job_builds_stores_and_mails_each_mechanisms_table(
    history, settings, django_capture_on_commit_callbacks, read_xlsx
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    city_user = history.world.users["city"]
    city_user.email = "city@example.cn"
    city_user.save()
    convener = history.world.users["convener"]
    convener.email = "convener@example.cn"
    convener.save()
    # when beat runs the weekly job (tasks run eagerly here) on a Monday in April
    with (
        time_machine.travel(at("2026-04-06", 7), tick=False),
        pytest.MonkeyPatch.context() as patch,
        django_capture_on_commit_callbacks(execute=True),
    ):
        patch.setattr(tasks.build_mechanism_report, "delay", lambda pk: tasks.build_mechanism_report(pk))
        count = tasks.weekly_reports()
        again = tasks.weekly_reports()
    # then each mechanism got this week's 成效统计表, once, kept as a file
    mechanisms = Organisation.objects.filter(
        kind__in=[
            OrganisationKind.PROVINCE_MECHANISM,
            OrganisationKind.CITY_MECHANISM,
            OrganisationKind.COUNTY_MECHANISM,
        ]
    )
    assert count == again == mechanisms.count()
    reports = ScheduledReport.objects.filter(week="2026-W15")
    assert reports.count() == mechanisms.count()
    county_report = reports.get(organisation=history.world.county)
    sheet = read_xlsx(county_report.file.read())
    assert sheet.cell(1, 1).value == "支持小微企业融资协调工作机制成效统计表"
    assert sheet.cell(5, 2).value == "泽州县" and sheet.cell(5, 6).value == 5  # 推荐清单: E1–E5 pushed in 2026
    # and it was mailed once to the mechanism's administrators, with the table attached
    sent = {tuple(m.to): m for m in mail.outbox}
    assert ("city@example.cn",) in sent and ("convener@example.cn",) in sent
    message = sent[("convener@example.cn",)]
    assert "成效统计表" in message.subject and message.attachments[0][0].endswith(".xlsx")
    assert len(mail.outbox) == 2
    # and it can be downloaded by the mechanism and those above, not by a bank
    response = Client()
    response.force_login(city_user)
    download = response.get(f"/reporting/reports/{county_report.pk}/download/")
    assert download.status_code == 200 and download["Content-Disposition"].startswith("attachment")
    bank = Client()
    bank.force_login(history.world.users["boc_admin"])
    assert bank.get(f"/reporting/reports/{county_report.pk}/download/").status_code == 404
    other = Client()
    other.force_login(user_with_role(Role.CITY_REGULATOR, region_code="140100"))
    assert other.get(f"/reporting/reports/{county_report.pk}/download/").status_code == 404


def test_bank_reports_replace_and_refuse_double_counting(history):
    admin = history.world.users["boc_admin"]
    sub_branch = history.world.branches["boc"]
    city_branch = sub_branch.parent
    with time_machine.travel(at("2026-04-03"), tick=False):
        first = services.bank_report_submit(actor=admin, branch_id=sub_branch.pk, period="2026-03", **FIGURES)
        second = services.bank_report_submit(
            actor=admin, branch_id=sub_branch.pk, period="2026-03", **{**FIGURES, "renewals_count": 4}
        )
    assert BankPeriodReport.objects.filter(branch=sub_branch, period=dt.date(2026, 3, 1)).count() == 2
    assert (
        BankPeriodReport.objects.get(pk=second.pk).is_current
        and not BankPeriodReport.objects.get(pk=first.pk).is_current
    )
    # the city branch above it cannot report the same month (the sums would count it twice)
    with pytest.raises(ApplicationError, match="上下级机构不能重复报送"):
        services.bank_report_submit(actor=admin, branch_id=city_branch.pk, period="2026-03", **FIGURES)
    # figures are checked
    with pytest.raises(ApplicationError, match="信用贷款余额不能大于"):
        services.bank_report_submit(
            actor=admin, branch_id=sub_branch.pk, period="2026-02", **{**FIGURES, "credit_loan_balance": 200_000_000}
        )
    with pytest.raises(ApplicationError, match="未来月份"):
        services.bank_report_submit(actor=admin, branch_id=sub_branch.pk, period="2099-01", **FIGURES)
    with pytest.raises(ApplicationError, match="YYYY-MM"):
        services.bank_report_submit(actor=admin, branch_id=sub_branch.pk, period="2026/03", **FIGURES)
    # and another bank's administrator cannot report for it
    with pytest.raises(ApplicationError, match="本机构或下级机构"):
        services.bank_report_submit(
            actor=history.world.users["ccb_admin"], branch_id=sub_branch.pk, period="2026-03", **FIGURES
        )


def test_one_high_renewals_and_target_progress(history):
    admin = history.world.users["boc_admin"]
    branch = history.world.branches["boc"]
    with time_machine.travel(at("2026-04-03"), tick=False):
        services.bank_report_submit(actor=admin, branch_id=branch.pk, period="2025-12", **FIGURES)
        services.bank_report_submit(
            actor=admin,
            branch_id=branch.pk,
            period="2026-03",
            **{
                **FIGURES,
                "small_business_balance": 112_000_000,
                "all_loans_balance": 936_000_000,
                "credit_loan_balance": 33_600_000,
                "average_rate": Decimal("4.0"),
                "renewals_count": 5,
                "renewals_amount": 2_500_000,
                "renewal_balance": 10_000_000,
            },
        )
    root = user_with_role(Role.PLATFORM_ADMIN)
    services.target_set(
        actor=root, region_code="140500", year=2026, metric=TargetMetric.SME_NET_INCREASE, value=20_000_000
    )
    services.target_set(actor=root, region_code="140500", year=2026, metric=TargetMetric.CREDIT_LOAN_SHARE, value=30)
    city = history.world.users["city"]
    q = selectors.parse_query({"period": "2026-Q1", "as_of": "2026-04-30"})
    one_high = selectors.one_high(city, q)
    # 一高: small-business +12% vs all loans +4% since December; 一提: 25% → 30%; 一降: 4.2 → 4.0
    assert one_high["latest"]["small_business_growth"] == 12.0 and one_high["latest"]["all_loans_growth"] == 4.0
    assert one_high["latest"]["credit_loan_share"] == 30.0
    assert one_high["verdict"] == {"high": True, "up": True, "down": True}
    renewals = selectors.renewals(city, q)
    assert renewals == [
        {
            "bank_id": str(branch.bank_id),
            "name": "中国银行",
            "renewals_count": 5,
            "renewals_amount": 2_500_000,
            "has_records": False,
            "recorded_count": None,
            "recorded_amount": None,
            "reported_count": 5,
            "reported_amount": 2_500_000,
            "count_difference": None,
            "amount_difference": None,
            "renewal_balance": 10_000_000,
            "small_business": 112_000_000,
            "last_month": "2026-03",
            "swing": None,  # February was not reported: no month-on-month change to judge
            "abnormal": False,
        }
    ]
    progress = {t["metric"]: t for t in selectors.targets_progress(city, q)}
    # net increase 1,200 万 of 2,000 万 = 60%; credit share 30% of 30% = 100%
    assert progress["sme_net_increase"]["actual"] == 12_000_000 and progress["sme_net_increase"]["progress"] == 60.0
    assert progress["credit_loan_share"]["progress"] == 100.0


def test_target_validation():
    root = user_with_role(Role.PLATFORM_ADMIN)
    with pytest.raises(ApplicationError, match="未知的行政区划"):
        services.target_set(actor=root, region_code="999999", year=2026, metric="sme_net_increase", value=1)
    with pytest.raises(ApplicationError, match="占比不超过 100"):
        services.target_set(actor=root, region_code="140500", year=2026, metric="credit_loan_share", value=120)
    services.target_set(actor=root, region_code="140500", year=2026, metric="credit_loan_share", value=25)
    services.target_set(actor=root, region_code="140500", year=2026, metric="credit_loan_share", value=27.5)
    assert Target.objects.get().value == Decimal("27.5")


def test_the_demo_loader_is_idempotent(history):
    from reporting import demo

    user_with_role(Role.BANK_ADMIN, username="bankadmin")
    first = demo.load()
    second = demo.load()
    assert first["targets_created"] >= 6 and second == {"targets_created": 0, "bank_reports_created": 0}
    assert Target.objects.filter(region_id="140500", year=2023, metric="sme_net_increase").get().value == Decimal(
        15 * 100_000_000
    )
    assert Target.objects.filter(region_id="140500", year=2025, metric="credit_loan_share").get().value == Decimal(
        "30.25"
    )


def test_bank_report_page_form(history):
    client = Client()
    client.force_login(history.world.users["boc_admin"])
    page = client.get("/reporting/bank-reports/")
    assert page.status_code == 200 and "报送月度数据" in page.content.decode()
    response = client.post(
        "/reporting/bank-reports/",
        {
            "branch": history.world.branches["boc"].pk,
            "period": "2026-03",
            "small_business_balance": "10000.00",
            "all_loans_balance": "90000",
            "credit_loan_balance": "2500",
            "average_rate": "4.150",
        },
    )
    assert response.status_code == 302
    report = BankPeriodReport.objects.get()
    assert (report.small_business_balance, report.all_loans_balance, report.credit_loan_balance) == (
        100_000_000,
        900_000_000,
        25_000_000,
    )
    response = client.post(
        "/reporting/bank-reports/",
        {
            "branch": history.world.branches["boc"].pk,
            "period": "2026-03",
            "small_business_balance": "10000",
            "all_loans_balance": "9000",
            "credit_loan_balance": "2500",
            "average_rate": "4.1",
        },
    )
    assert response.status_code == 400 and "不能大于各项贷款余额" in response.content.decode()
