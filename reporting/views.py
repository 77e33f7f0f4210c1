"""Pages of reporting: the dashboard (驾驶舱), downloads of its tables, the reports page
(export now, or download the weekly ones), bank reporting (报送), targets, and the ledger
(台账, at /matching/ledger/). Thin: parse, call a selector / service / export, render."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views import View

from matching.models import RecommendationState
from portal import spreadsheets
from portal.mixins import RestrictedListView, RoleRequiredMixin
from portal.models import Region, Role
from portal.services import ApplicationError
from portal.tenancy import GOVERNMENT_ROLES, VIEW, restrict, scope_for
from products.models import Bank
from reporting import brief, dashboard, exports, kpis, ledger, selectors, services
from reporting.forms import BankReportForm, TargetForm
from reporting.models import PERCENT_METRICS, BriefSubscription, TargetMetric

DASHBOARD_ROLES = set(GOVERNMENT_ROLES) | {Role.BANK_ADMIN}
REPORT_ROLES = DASHBOARD_ROLES
EXPORT_KINDS = ("effectiveness", "ledger", "ranking", "renewals")


def _filter_context(request, built: dict | None = None) -> dict:
    user = request.user
    scope = scope_for(user)
    return {
        "region_choices": selectors.region_choices(user),
        "bank_choices": selectors.bank_choices(user),
        "branch_choices": selectors.branch_choices(user),
        "is_bank": bool(scope and scope.is_bank),
        "values": {k: request.GET.get(k, "") for k in ("period", "region", "bank", "branch", "as_of", "by")},
    }


class DashboardView(RoleRequiredMixin, View):
    """驾驶舱: 三个100% gauges, the funnel, trends, the bank ranking, the county table,
    一高一提一降 and targets; filters for period, region, bank (branch for banks), as-of date."""

    allowed_roles = DASHBOARD_ROLES

    def get(self, request):
        try:
            built = dashboard.build(request.user, request.GET)
        except ApplicationError as error:
            messages.error(request, f"筛选条件有误: {error.message}, 已显示默认范围")
            built = dashboard.build(request.user, {})
        query = built["params"]
        context = {
            **_filter_context(request, built),
            **built,
            "query_string": urlencode(query),
            "download_query": urlencode({**query, "by": built["by"]}),
            "period_label": built["query"].period_label,
            "can_brief": bool(built["scope"] and built["scope"].role in brief.BRIEF_ROLES),
            "scheduled": selectors.scheduled_report_list(user=request.user)[:5]
            if not built["scope"] or not built["scope"].is_bank
            else [],
        }
        return render(request, "reporting/dashboard.html", context)


class DrillView(RoleRequiredMixin, View):
    """The records behind one dashboard figure (批分单, 续贷需求, 直接申请), with the dashboard's
    filters and as-of date: restricted like the figure, never more rows than it counts."""

    allowed_roles = DASHBOARD_ROLES

    def get(self, request, kind: str):
        try:
            built = dashboard.drill(request.user, kind, request.GET)
        except ApplicationError as error:
            if error.code == "not_found":
                raise Http404(error.message) from None
            messages.error(request, f"筛选条件有误: {error.message}")
            return redirect("reporting:dashboard")
        context = {
            **built,
            "back_query": urlencode(built["params"]),
            "period_label": built["query"].period_label,
        }
        return render(request, "reporting/drill.html", context)


class BriefView(RoleRequiredMixin, View):
    """工作通报 / 简报: the mechanism's brief for the filters (period, county, bank, as-of), as a
    printable page; its xlsx at ?format=xlsx; the user's weekly subscription (POST)."""

    allowed_roles = brief.BRIEF_ROLES

    def get(self, request):
        try:
            made = brief.build(request.user, request.GET)
        except ApplicationError as error:
            messages.error(request, f"筛选条件有误: {error.message}, 已显示默认范围")
            made = brief.build(request.user, {})
        if request.GET.get("format") == "xlsx":
            return spreadsheets.deliver(request, "reporting.brief", brief.brief_xlsx(made), filters=made.query.params())
        subscribed = restrict(BriefSubscription.objects.all(), request.user, VIEW).exists()
        context = {
            **_filter_context(request),
            "brief": made,
            "query": made.query,
            "query_string": urlencode({**made.query.params(), "format": "xlsx"}),
            "subscribed": subscribed,
            "has_email": bool((request.user.email or "").strip()),
        }
        return render(request, "reporting/brief.html", context)

    def post(self, request):
        try:
            services.brief_subscription_set(
                actor=request.user, subscribed=request.POST.get("subscribe") == "1", request=request
            )
        except ApplicationError as error:
            messages.error(request, error.message)
        else:
            messages.success(
                request,
                "已订阅: 每周一将工作简报发送到您的邮箱" if request.POST.get("subscribe") == "1" else "已退订工作简报",
            )
        return redirect("reporting:brief")


class TableDownloadView(RoleRequiredMixin, View):
    """Any dashboard table as xlsx or csv, for the same filters."""

    allowed_roles = DASHBOARD_ROLES

    def get(self, request, name: str, extension: str):
        if name not in dashboard.TABLE_NAMES or extension not in ("xlsx", "csv"):
            raise Http404
        try:
            q = selectors.parse_query(request.GET, default_period=selectors.current_year_period())
            if name == "ranking":
                table = exports.ranking_table(request.user, q)
            elif name == "renewals":
                table = exports.renewals_table(request.user, q)
            else:
                table = dashboard.build(request.user, request.GET)["tables"][name]
        except ApplicationError as error:
            return HttpResponse(error.message, status=400, content_type="text/plain; charset=utf-8")
        file = exports.table_xlsx(table, request.user, q) if extension == "xlsx" else exports.table_csv(table, q)
        return spreadsheets.deliver(request, "reporting.table", file, filters={"table": name, **q.params()})


class ExportView(RoleRequiredMixin, View):
    """Export now: 成效统计表 (by county / city / bank), 台账, 排名通报, 无还本续贷 table."""

    allowed_roles = REPORT_ROLES

    def get(self, request, kind: str, extension: str):
        if kind not in EXPORT_KINDS or extension not in ("xlsx", "csv"):
            raise Http404
        try:
            q = selectors.parse_query(request.GET, default_period=selectors.current_year_period())
        except ApplicationError as error:
            return HttpResponse(error.message, status=400, content_type="text/plain; charset=utf-8")
        user = request.user
        by = request.GET.get("by") or "county"
        if by not in ("county", "city", "bank"):
            by = "county"
        if kind == "ledger":
            file = ledger.ledger_export(actor=user, filters=q.filters, extension=extension, request=request)
            return spreadsheets.download(ledger.EXPORT_KIND, file)
        if kind == "effectiveness":
            file = (
                exports.effectiveness_xlsx(user, q, by=by)
                if extension == "xlsx"
                else exports.effectiveness_csv(user, q, by=by)
            )
            return spreadsheets.deliver(request, "reporting.effectiveness", file, filters={"by": by, **q.params()})
        table = exports.ranking_table(user, q) if kind == "ranking" else exports.renewals_table(user, q)
        name = exports.filename(kind, q, extension)
        file = (
            exports.table_xlsx(table, user, q, name=name)
            if extension == "xlsx"
            else exports.table_csv(table, q, name=name)
        )
        return spreadsheets.deliver(request, f"reporting.{kind}", file, filters=q.params())


class ReportListView(RoleRequiredMixin, RestrictedListView):
    """报表: export any report now, or download the weekly 成效统计表 kept for the mechanism."""

    allowed_roles = REPORT_ROLES
    template_name = "reporting/reports.html"
    context_object_name = "reports"
    paginate_by = 30

    def select(self, *, user, params):
        return selectors.scheduled_report_list(user=user)

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            **_filter_context(self.request),
            kinds=[
                ("effectiveness", "成效统计表"),
                ("ledger", "台账"),
                ("ranking", "银行排名通报"),
                ("renewals", "无还本续贷情况统计表"),
            ],
            default_period=selectors.current_year_period(),
            declared_note=kpis.DEFINITIONS["declared"],
            dedup_note=kpis.DEFINITIONS["dedup"],
            need_note=kpis.DEFINITIONS["need"],
            **kwargs,
        )


class ScheduledReportDownloadView(RoleRequiredMixin, View):
    allowed_roles = REPORT_ROLES

    def get(self, request, pk: int):
        report = selectors.scheduled_report_get(user=request.user, pk=pk)
        if report is None:
            raise Http404
        with report.file.open("rb") as stored:
            file = spreadsheets.File(stored.read(), report.filename, "xlsx")
        return spreadsheets.deliver(
            request, "reporting.scheduled", file, filters={"week": report.week, "period": report.period}, obj=report
        )


class BankReportListView(RoleRequiredMixin, RestrictedListView):
    """报送: a bank administrator's monthly figures for 一高一提一降 and the renewal table."""

    allowed_roles = {Role.BANK_ADMIN, Role.CITY_REGULATOR, Role.PROVINCE_REGULATOR, Role.CONVENER}
    template_name = "reporting/bank_reports.html"
    context_object_name = "reports"
    paginate_by = 50

    def select(self, *, user, params):
        try:
            return selectors.bank_report_list(user=user, params=params)
        except ApplicationError:
            return selectors.bank_report_list(user=user)

    def _form(self, data=None):
        branches = (
            services.reportable_branches(self.request.user).order_by("organisation__path").values_list("pk", "name")
        )
        return BankReportForm(data, branches=branches)

    def get_context_data(self, **kwargs):
        scope = scope_for(self.request.user)
        can_report = bool(scope and (scope.role == Role.BANK_ADMIN or scope.is_platform_admin))
        return super().get_context_data(
            form=kwargs.pop("form", None) or (self._form() if can_report else None), can_report=can_report, **kwargs
        )

    def post(self, request):
        form = self._form(request.POST)
        if form.is_valid():
            try:
                report = services.bank_report_submit(actor=request.user, **form.service_values())
            except ApplicationError as error:
                for field, errors in error.field_errors.items():
                    for message in errors:
                        form.add_error(field if field in form.fields else None, message)
                if not error.field_errors:
                    form.add_error(None, error.message)
            else:
                messages.success(request, f"已报送 {report.branch.name} {report.period:%Y-%m} 的数据")
                return redirect("reporting:bank_reports")
        self.object_list = self.get_queryset()
        return self.render_to_response(self.get_context_data(form=form), status=400)


class TargetListView(RoleRequiredMixin, RestrictedListView):
    """目标: targets per region and year, set by platform administrators."""

    allowed_roles = set(GOVERNMENT_ROLES) | {Role.BANK_ADMIN}
    template_name = "reporting/targets.html"
    context_object_name = "targets"
    paginate_by = 100

    def select(self, *, user, params):
        return selectors.target_list(user=user)

    def _form(self, data=None):
        regions = (
            Region.objects.filter(level__in=["province", "city", "county"], code__startswith="14")
            .order_by("code")
            .values_list("code", "name")
        )
        return TargetForm(data, regions=regions)

    def get_context_data(self, **kwargs):
        scope = scope_for(self.request.user)
        can_set = bool(scope and scope.is_platform_admin)
        context = super().get_context_data(
            form=kwargs.pop("form", None) or (self._form() if can_set else None), can_set=can_set, **kwargs
        )
        for target in context["targets"]:
            target.display = (
                f"{target.value:.2f}%" if target.metric in PERCENT_METRICS else f"{target.value / 10000:,.2f} 万元"
            )
        context["metrics"] = TargetMetric.choices
        return context

    def post(self, request):
        form = self._form(request.POST)
        if form.is_valid():
            try:
                target = services.target_set(actor=request.user, **form.service_values())
            except ApplicationError as error:
                form.add_error(None, error.message)
            else:
                messages.success(request, f"已设定目标: {target}")
                return redirect(reverse("reporting:targets"))
        self.object_list = self.get_queryset()
        return self.render_to_response(self.get_context_data(form=form), status=400)


class LedgerView(RestrictedListView):
    """台账: one row per recommendation, filterable, exportable (xlsx, csv: the ledger's one
    export service, reporting.ledger.ledger_export)."""

    template_name = "reporting/ledger.html"
    context_object_name = "rows"

    def get(self, request, *args, **kwargs):
        try:
            self.filters = ledger.parse_filters(request.GET)
        except ApplicationError as error:
            messages.error(request, error.message)
            self.filters = ledger.parse_filters({})
        export = request.GET.get("format")
        if export in ("xlsx", "csv"):
            file = ledger.ledger_export(actor=request.user, filters=self.filters, extension=export, request=request)
            return spreadsheets.download(ledger.EXPORT_KIND, file)
        return super().get(request, *args, **kwargs)

    def select(self, *, user, params):
        return ledger.ledger_queryset(user, getattr(self, "filters", None) or ledger.parse_filters({}))

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["rows"] = [ledger.ledger_row(rec) for rec in context["rows"]]
        context["totals"] = ledger.ledger_totals_db(self.request.user, getattr(self, "filters", None))
        context["totals_note"] = ledger.TOTALS_NOTE
        context["banks"] = Bank.objects.order_by("code")
        context["states"] = RecommendationState.choices
        context["query"] = self.request.GET.urlencode()
        return context
