"""Demo targets and bank-reported figures, so the dashboards' 一高一提一降, renewal table and
target progress are alive after `make run`. Idempotent.

Targets are seed 000 二 (晋城市: 小微企业贷款投放净增 15 / 20 / 25 亿元 in 2023 / 2024 / 2025;
信用类贷款占比 25% "每年递增10%", read here as +10% of the share a year: 25%, 27.5%,
30.25%). The current year's targets, beyond the seed's horizon, continue them and say so."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.utils import timezone

from portal.models import Organisation
from products.models import BankBranch, BranchLevel
from reporting.models import BankPeriodReport, BriefSubscription, ReportKind, ScheduledReport, Target, TargetMetric
from reporting.services import scheduled_brief_build

SEED_NOTE = "晋市局文〔2023〕88号 二、工作目标"
YI = 100_000_000  # 亿元 in 元


def _targets() -> list[tuple[str, int, str, Decimal, str]]:
    rows = []
    share = Decimal(25)
    for year, net in ((2023, 15), (2024, 20), (2025, 25)):
        rows.append(("140500", year, TargetMetric.SME_NET_INCREASE, Decimal(net * YI), SEED_NOTE))
        rows.append(
            (
                "140500",
                year,
                TargetMetric.CREDIT_LOAN_SHARE,
                share.quantize(Decimal("0.01")),
                SEED_NOTE + "(每年递增10%)",
            )
        )
        share *= Decimal("1.1")
    this_year = timezone.localdate().year
    if this_year > 2025:
        rows.append(("140500", this_year, TargetMetric.SME_NET_INCREASE, Decimal(25 * YI), "演示: 延续 2025 年目标"))
        rows.append(
            (
                "140500",
                this_year,
                TargetMetric.CREDIT_LOAN_SHARE,
                share.quantize(Decimal("0.01")),
                "演示: 按每年递增10%延续",
            )
        )
        rows.append(
            ("140500", this_year, TargetMetric.CREDITED_AMOUNT, Decimal(50_000_000), "演示: 推荐清单授信 5000 万元")
        )
    return rows


def load() -> dict:
    created = 0
    for code, year, metric, value, note in _targets():
        _, was_created = Target.objects.get_or_create(
            region_id=code, year=year, metric=metric, defaults={"value": value, "note": note}
        )
        created += was_created
    reports = _bank_reports()
    return {"targets_created": created, "bank_reports_created": reports}


def _bank_reports() -> int:
    """Fourteen months of figures for the 晋城 city branch of each catalogue bank (previous
    December to this month): small-business loans growing faster than all loans, credit-loan
    share rising, rates easing, a few renewals a month; the first bank's 无还本续贷余额 swings
    abnormally in the latest month."""
    user = (
        get_user_model().objects.filter(username="bankadmin").first()
        or get_user_model().objects.filter(is_superuser=True).first()
    )
    if user is None:
        return 0
    today = timezone.localdate()
    start = dt.date(today.year - 1, 12, 1)
    months = (today.year - start.year) * 12 + today.month - start.month + 1
    created = 0
    branches = (
        BankBranch.objects.filter(level=BranchLevel.CITY, region_id="140500")
        .select_related("bank")
        .order_by("bank__code")
    )
    for index, branch in enumerate(branches):
        base_sb = (8 + index * 3) * YI
        base_all = (60 + index * 15) * YI
        for m in range(months):
            period = dt.date(start.year + (start.month - 1 + m) // 12, (start.month - 1 + m) % 12 + 1, 1)
            if BankPeriodReport.objects.filter(branch=branch, period=period).exists():
                continue
            sb = int(base_sb * (1 + Decimal("0.011") * m))
            BankPeriodReport.objects.create(
                bank=branch.bank,
                branch=branch,
                region_id=branch.region_id,
                period=period,
                small_business_balance=sb,
                all_loans_balance=int(base_all * (1 + Decimal("0.005") * m)),
                credit_loan_balance=int(sb * (Decimal("0.24") + Decimal("0.004") * m)),
                average_rate=(Decimal("4.35") - Decimal("0.02") * m - Decimal("0.1") * index).quantize(
                    Decimal("0.001")
                ),
                renewals_count=12 + m + index,
                renewals_amount=(12 + m + index) * 800_000,
                # the first bank's balance jumps 60% in the latest month: the renewal table's
                # 异常波动 flag (002 3 "对出现异常波动的银行机构及时进行跟踪")
                renewal_balance=(150 + 10 * m) * 800_000 * (8 if index == 0 and m == months - 1 and m else 5) // 5,
                note="演示数据",
                submitted_by=user,
                submitted_at=min(
                    timezone.now(), timezone.make_aware(dt.datetime.combine(period, dt.time(9))) + dt.timedelta(days=35)
                ),
            )
            created += 1
    return created


def load_brief() -> dict:
    """The 工作简报 of the city mechanism, generated as the weekly job does (after the 督办单 demo,
    so its overdue items show), on the 报表 page; and the city regulator subscribed to it (an
    address of the example domain). The brief is built before the subscription, so loading the
    demo mails nothing. Idempotent: one brief per week, one subscription."""
    city = Organisation.objects.filter(code="demo-city").first()
    user = get_user_model().objects.filter(username="city").first()
    if city is None or user is None:
        return {"briefs": 0}
    built = 0
    if not ScheduledReport.objects.filter(organisation=city, kind=ReportKind.BRIEF).exists():
        built = int(scheduled_brief_build(organisation_id=city.pk) is not None)
    if not user.email:
        user.email = "city@example.cn"
        user.save(update_fields=["email"])
    BriefSubscription.objects.get_or_create(user=user, defaults={"organisation": city})
    return {"briefs": built}
