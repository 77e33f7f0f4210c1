"""Writes of reporting: bank-reported period figures, targets, and the weekly scheduled
成效统计表 (built, stored, mailed). Keyword-only, atomic, audited."""

from __future__ import annotations

import datetime as dt
import logging
import re
from decimal import Decimal

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.utils import timezone

from portal import bounds, spreadsheets
from portal.models import Membership, Organisation, OrganisationKind, Region, Role
from portal.services import ApplicationError, audit_record
from portal.tenancy import CHANGE, resolve, restrict, scope_for
from products.models import BankBranch
from reporting import brief, exports, selectors
from reporting.models import (
    PERCENT_METRICS,
    BankPeriodReport,
    BriefSubscription,
    ReportKind,
    ScheduledReport,
    Target,
    TargetMetric,
)

log = logging.getLogger(__name__)

REPORT_FIELDS = {
    # field: (label, kind) — kind "yuan" (integer 元), "count", "rate" (percent, 3 decimals)
    "small_business_balance": ("普惠型小微企业贷款余额", "yuan"),
    "all_loans_balance": ("各项贷款余额", "yuan"),
    "credit_loan_balance": ("小微企业信用贷款余额", "yuan"),
    "average_rate": ("普惠型小微企业贷款平均利率", "rate"),
    "renewals_count": ("当月无还本续贷笔数", "count"),
    "renewals_amount": ("当月无还本续贷金额", "yuan"),
    "renewal_balance": ("无还本续贷余额", "yuan"),
}
MECHANISM_KINDS = (
    OrganisationKind.PROVINCE_MECHANISM,
    OrganisationKind.CITY_MECHANISM,
    OrganisationKind.COUNTY_MECHANISM,
)
MECHANISM_ROLES = (Role.PROVINCE_REGULATOR, Role.CITY_REGULATOR, Role.CONVENER)
_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")


def parse_month(value) -> dt.date:
    if isinstance(value, dt.date):
        return value.replace(day=1)
    m = _MONTH.match(str(value or "").strip())
    if not m or not 1 <= int(m[2]) <= 12:
        raise ApplicationError(
            "报送月份格式应为 YYYY-MM", field_errors={"period": ["报送月份格式应为 YYYY-MM(如 2026-03)"]}
        )
    return dt.date(int(m[1]), int(m[2]), 1)


def _clean_figures(values: dict) -> dict:
    errors: dict[str, list[str]] = {}
    clean = {}
    for name, (label, kind) in REPORT_FIELDS.items():
        raw = values.get(name)
        if raw in (None, ""):
            if name in ("renewals_count", "renewals_amount", "renewal_balance"):
                clean[name] = 0
                continue
            errors[name] = [f"请填写{label}"]
            continue
        try:
            number = bounds.to_decimal(raw, field=bounds.column(BankPeriodReport, name), min_value=0)
        except bounds.OutOfBounds as exc:
            errors[name] = [f"{label}{exc.message}"]
            continue
        if kind == "rate":
            if number >= 36:
                errors[name] = [f"{label}应在 0% 至 36% 之间"]
                continue
            clean[name] = number.quantize(Decimal("0.001"))
        elif number != number.to_integral_value():
            errors[name] = [f"{label}应为整数(金额单位: 元)" if kind == "yuan" else f"{label}应为整数"]
        else:
            clean[name] = int(number)
    if not errors:
        if clean["credit_loan_balance"] > clean["small_business_balance"]:
            errors["credit_loan_balance"] = ["信用贷款余额不能大于普惠型小微企业贷款余额"]
        if clean["small_business_balance"] > clean["all_loans_balance"]:
            errors["small_business_balance"] = ["普惠型小微企业贷款余额不能大于各项贷款余额"]
    if errors:
        raise ApplicationError(next(iter(errors.values()))[0], field_errors=errors)
    return clean


def reportable_branches(actor):
    """The branches a bank administrator reports for: his own and those below it (the
    branch restriction for CHANGE; platform administrators report for any)."""
    scope = scope_for(actor)
    if scope is None or not (scope.is_platform_admin or scope.role == Role.BANK_ADMIN):
        return BankBranch.objects.none()
    return restrict(BankBranch.objects.all(), actor, CHANGE)


@transaction.atomic
def bank_report_submit(*, actor, branch_id: int, period, note: str = "", **figures) -> BankPeriodReport:
    """报送 one month's figures for a branch. A resubmission replaces the current figures
    (the old row is kept, no longer current). A month is reported once per bank line: not
    by a branch and also by a branch above or below it (the sums would count it twice)."""
    scope = scope_for(actor)
    if scope is None or not (scope.is_platform_admin or scope.role == Role.BANK_ADMIN):
        raise ApplicationError("只有银行管理员可以报送", code="permission_denied")
    branch = resolve(
        reportable_branches(actor).select_related("organisation", "bank"),
        actor,
        CHANGE,
        pk=branch_id,
        field="branch",
        message="只能为本机构或下级机构报送",
    )
    month = parse_month(period)
    if month > timezone.localdate().replace(day=1):
        raise ApplicationError("不能报送未来月份", field_errors={"period": ["不能报送未来月份"]})
    values = _clean_figures(figures)
    path = branch.organisation.path
    clash = (
        BankPeriodReport.objects.filter(bank=branch.bank, period=month, is_current=True)
        .exclude(branch=branch)
        .select_related("branch__organisation")
    )
    for other in clash:
        other_path = other.branch.organisation.path
        if other_path.startswith(path) or path.startswith(other_path):
            raise ApplicationError(
                f"{month:%Y-%m} 已由{other.branch.name}报送, 上下级机构不能重复报送同一月份",
                field_errors={"branch": ["上下级机构已报送该月份"]},
                code="conflict",
            )
    previous = BankPeriodReport.objects.select_for_update().filter(branch=branch, period=month, is_current=True).first()
    if previous is not None:
        previous.is_current = False
        previous.save(update_fields=["is_current"])
    try:
        report = BankPeriodReport.objects.create(
            bank=branch.bank,
            branch=branch,
            region_id=branch.region_id,
            period=month,
            note=note[:255],
            submitted_by=actor,
            submitted_at=timezone.now(),
            is_current=True,
            **values,
        )
    except IntegrityError:
        raise ApplicationError("该月份正在被他人报送, 请刷新后重试", code="conflict") from None
    audit_record(
        actor=actor,
        action="reporting.bank_report",
        obj=report,
        before={k: str(getattr(previous, k)) for k in REPORT_FIELDS} if previous else None,
        after={"period": f"{month:%Y-%m}", **{k: str(v) for k, v in values.items()}},
    )
    return report


@transaction.atomic
def target_set(*, actor, region_code: str, year: int, metric: str, value, note: str = "") -> Target:
    scope = scope_for(actor)
    if scope is None or not scope.is_platform_admin:
        raise ApplicationError("只有平台管理员可以设定目标", code="permission_denied")
    errors: dict[str, list[str]] = {}
    region = Region.objects.filter(code=str(region_code).strip()).first()
    if region is None:
        errors["region"] = ["未知的行政区划代码"]
    try:
        year = bounds.to_int(year, min_value=2000, max_value=2100)
    except bounds.OutOfBounds:
        errors["year"] = ["年度应为 2000 至 2100 之间的整数"]
    if metric not in TargetMetric.values:
        errors["metric"] = ["未知的指标"]
    try:
        number = bounds.to_decimal(value, field=bounds.column(Target, "value"))
        if number <= 0 or (metric in PERCENT_METRICS and number > 100):
            raise bounds.OutOfBounds("")
    except bounds.OutOfBounds:
        errors["value"] = ["目标值应为正数(占比不超过 100)"]
    if errors:
        raise ApplicationError(next(iter(errors.values()))[0], field_errors=errors)
    before = Target.objects.filter(region=region, year=year, metric=metric).values("value", "note").first()
    target, _ = Target.objects.update_or_create(
        region=region, year=year, metric=metric, defaults={"value": number, "note": note[:255], "set_by": actor}
    )
    audit_record(
        actor=actor,
        action="reporting.target_set",
        obj=target,
        before={k: str(v) for k, v in before.items()} if before else None,
        after={"value": str(number), "note": note},
    )
    return target


# --- the weekly 成效统计表 ----------------------------------------------------------------------------


def iso_week(moment: dt.datetime) -> str:
    year, week, _ = timezone.localtime(moment).isocalendar()
    return f"{year}-W{week:02d}"


def mechanisms():
    return Organisation.objects.filter(kind__in=MECHANISM_KINDS, is_active=True, region__isnull=False).order_by("path")


def mechanism_recipients(organisation: Organisation) -> list[str]:
    """E-mail addresses of the mechanism's administrators (regulators, conveners)."""
    emails = (
        Membership.objects.filter(organisation=organisation, role__in=MECHANISM_ROLES, user__is_active=True)
        .exclude(user__email="")
        .values_list("user__email", flat=True)
    )
    return sorted(set(emails))


def scheduled_report_build(*, organisation_id: int, now: dt.datetime | None = None) -> ScheduledReport | None:
    """Build, store and mail one mechanism's 成效统计表 for the year to date (this week's; a
    second run in the same week finds it and does nothing)."""

    now = now or timezone.now()
    organisation = Organisation.objects.select_related("region").get(pk=organisation_id)
    week = iso_week(now)
    if ScheduledReport.objects.filter(organisation=organisation, kind=ReportKind.EFFECTIVENESS, week=week).exists():
        return None
    year = timezone.localtime(now).year
    prefix = organisation.region.scope_prefix
    q = selectors.parse_query({"region": prefix, "period": str(year)})
    q = selectors.ReportQuery(filters=q.filters, as_of=now, as_of_given=True)
    content = exports.effectiveness_xlsx(selectors.SYSTEM, q, by="county", unit=organisation.name).content
    filename = f"成效统计表_{organisation.region.name}_{week}.xlsx"
    try:
        with transaction.atomic():
            report = ScheduledReport(
                organisation=organisation,
                region=organisation.region,
                kind=ReportKind.EFFECTIVENESS,
                week=week,
                period=str(year),
                as_of=now,
                filename=filename,
                size=len(content),
                recipients=mechanism_recipients(organisation),
            )
            report.file.save(f"{organisation.pk}-{week}.xlsx", ContentFile(content), save=False)
            report.save()
    except IntegrityError:  # built meanwhile by a concurrent run
        return None
    transaction.on_commit(lambda: scheduled_report_mail(report_id=report.pk))
    return report


# --- the 工作简报: subscriptions and the weekly build ----------------------------------------------------


@transaction.atomic
def brief_subscription_set(*, actor, subscribed: bool, request=None) -> BriefSubscription | None:
    """Subscribe the actor to his mechanism's weekly 工作简报 (mailed to his e-mail address), or
    unsubscribe him. Only the roles that generate a brief (brief.BRIEF_ROLES), with an address."""
    scope = scope_for(actor)
    if scope is None or scope.role not in brief.BRIEF_ROLES or not scope.organisation_id:
        raise ApplicationError("您的角色无权订阅工作简报", code="permission_denied")
    mine = restrict(BriefSubscription.objects.all(), actor, CHANGE).select_for_update()
    current = mine.first()
    if not subscribed:
        if current is None:
            return None
        current.delete()
        audit_record(
            actor=actor,
            action="reporting.brief_unsubscribe",
            after={"organisation": scope.organisation_id},
            request=request,
        )
        return None
    if not (actor.email or "").strip():
        raise ApplicationError(
            "请先在个人信息中填写电子邮箱, 再订阅工作简报", field_errors={"email": ["未填写电子邮箱"]}
        )
    # the brief is the mechanism's: a task force's lead subscribes to its county mechanism's
    mechanism = Organisation.objects.filter(pk=scope.organisation_id).first()
    while mechanism is not None and mechanism.kind not in MECHANISM_KINDS:
        mechanism = mechanism.parent
    if mechanism is None:
        raise ApplicationError("未找到您所在的协调机制, 无法订阅工作简报", code="permission_denied")
    if current is not None and current.organisation_id == mechanism.pk:
        return current
    if current is not None:
        current.delete()
    subscription = BriefSubscription.objects.create(user=actor, organisation=mechanism)
    audit_record(
        actor=actor,
        action="reporting.brief_subscribe",
        obj=subscription,
        after={"organisation": mechanism.pk},
        request=request,
    )
    return subscription


def brief_recipients(organisation_id: int) -> list[str]:
    emails = (
        BriefSubscription.objects.filter(organisation_id=organisation_id, user__is_active=True)
        .exclude(user__email="")
        .values_list("user__email", flat=True)
    )
    return sorted(set(emails))


def brief_organisations():
    """The mechanisms with at least one subscriber (the weekly job builds their briefs)."""
    return mechanisms().filter(pk__in=BriefSubscription.objects.values("organisation_id")).distinct()


def scheduled_brief_build(*, organisation_id: int, now: dt.datetime | None = None) -> ScheduledReport | None:
    """Build, store and mail one mechanism's 工作简报 for the month to date, to its subscribers (this
    week's; a second run in the same week finds it and does nothing)."""
    now = now or timezone.now()
    organisation = Organisation.objects.select_related("region").get(pk=organisation_id)
    week = iso_week(now)
    if ScheduledReport.objects.filter(organisation=organisation, kind=ReportKind.BRIEF, week=week).exists():
        return None
    local = timezone.localtime(now)
    period = f"{local:%Y-%m}"
    q = selectors.parse_query({"region": organisation.region.scope_prefix, "period": period})
    made = brief.build(selectors.SYSTEM, {**q.params(), "as_of": now.isoformat()}, unit=organisation.name)
    file = brief.brief_xlsx(made)
    filename = f"工作简报_{organisation.region.name}_{week}.xlsx"
    try:
        with transaction.atomic():
            report = ScheduledReport(
                organisation=organisation,
                region=organisation.region,
                kind=ReportKind.BRIEF,
                week=week,
                period=period,
                as_of=now,
                filename=filename,
                size=len(file.content),
                recipients=brief_recipients(organisation.pk),
            )
            report.file.save(f"{organisation.pk}-{week}-brief.xlsx", ContentFile(file.content), save=False)
            report.save()
    except IntegrityError:  # built meanwhile by a concurrent run
        return None
    transaction.on_commit(lambda: scheduled_report_mail(report_id=report.pk))
    return report


def scheduled_report_mail(*, report_id: int) -> bool:
    """Mail a stored report to its recipients once (claimed by a conditional update)."""
    claimed = ScheduledReport.objects.filter(pk=report_id, emailed_at__isnull=True).update(emailed_at=timezone.now())
    if not claimed:
        return False
    report = ScheduledReport.objects.select_related("organisation").get(pk=report_id)
    if not report.recipients:
        return False
    as_of = f"{timezone.localtime(report.as_of):%Y-%m-%d %H:%M}"
    if report.kind == ReportKind.BRIEF:
        what = (
            f"《支持小微企业融资协调工作简报》({report.period} 月累计: 工作进展、三个100%、逾期事项、排名、无还本续贷)"
        )
    else:
        what = f"《支持小微企业融资协调工作机制成效统计表》({report.period} 年累计)"
    message = EmailMessage(
        subject=f"[政银企融资对接平台] {report.organisation.name} {report.get_kind_display()}({report.week})",
        body=(
            f"{report.organisation.name}:\n\n附件为截至 {as_of} 的{what}。\n"
            "也可在平台「报表」页面下载历次报表。\n\n此邮件由系统自动发送。"
        ),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=report.recipients,
    )
    with report.file.open("rb") as handle:
        message.attach(report.filename, handle.read(), spreadsheets.XLSX)
    try:
        message.send(fail_silently=False)
    except Exception:
        # not sent: release the claim so a retry sends it
        ScheduledReport.objects.filter(pk=report_id).update(emailed_at=None)
        raise
    return True
