"""Reporting's REST API: KPIs for any scope, period and as-of date; bank-reported figures
(报送, restricted to the bank administrator's own branches); targets; the weekly reports; the
ledger (台账: rows, totals and its one export). Thin: validate, call one selector or service,
render. Amounts are integer 元."""

from __future__ import annotations

from decimal import Decimal

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from matching.apis import ERRORS, FILE_RENDERERS
from matching.models import Recommendation, RecommendationState
from portal import bounds, spreadsheets
from portal.api import RestrictedViewSetMixin
from portal.mixins import TenantRestricted
from portal.services import ApplicationError
from portal.spreadsheets import CSV_MEDIA_TYPE, XLSX
from portal.tenancy import scope_for
from reporting import dashboard, ledger, selectors, services
from reporting.models import BankPeriodReport, ScheduledReport, Target, TargetMetric
from reporting.views import DASHBOARD_ROLES

QUERY_PARAMETERS = [
    OpenApiParameter("period", str, description="统计期间(推送时间): YYYY、YYYY-MM 或 YYYY-Qn; 默认全部"),
    OpenApiParameter("date_from", OpenApiTypes.DATE, description="推送日期起(含), 不能与 period 同用"),
    OpenApiParameter("date_to", OpenApiTypes.DATE, description="推送日期止(含), 不能与 period 同用"),
    OpenApiParameter("region", str, description="区划代码前缀: 14 / 1405 / 140525(或 140000 / 140500)"),
    OpenApiParameter("bank", str, description="银行代码"),
    OpenApiParameter("branch", bounds.ID_SCHEMA, description="承办机构编号(含下级机构)"),
    OpenApiParameter("as_of", OpenApiTypes.DATE, description="统计时点: 截至该日 24 时已登记的办理事件; 默认现在"),
    OpenApiParameter("by", str, description="分组, 逗号分隔: county, city, bank, branch, month"),
]


def _coverage(user, q) -> dict:
    rows, total, note = dashboard.coverage_rows(user, q)
    keys = ("name", "targets", "visited", "rate", "with_need", "declared", "overdue")
    return {"total": dict(zip(keys, total)), "counties": [dict(zip(keys, r)) for r in rows], "note": note}


def _require_dashboard_role(request) -> None:
    scope = scope_for(request.user)
    if scope is None or not (scope.is_platform_admin or scope.role in DASHBOARD_ROLES):
        raise PermissionDenied("您的角色无权查看统计")


class KpiViewSet(TenantRestricted, viewsets.ViewSet):
    """三个100%, the funnel, credit-loan share, first and medium/long-term loans, rates,
    timeliness and satisfaction, in total and by county / city / bank / branch / month.
    户 fields count distinct entities: in the total and a county's or city's group once, in a
    bank's or branch's group once per bank (branch), so an entity pushed to two banks counts
    in each bank's group and once in the total; month groups count 笔. need_amount counts
    each need once (a declaration pushed to two banks, a 改推). See definitions.dedup.
    declared counts a declaration from its first submission, whichever path filed it; a bank's
    recommendation awaiting the enterprise's consent is not declared. See definitions.declared.
    Beside them, as of the same moment: direct_applications (直接申请, counted apart: applications,
    replied within 5 working days, late), renewals (应续尽续 per bank: due within 30/60/90 days,
    past due, outcomes in the period) and problems (批分单 filled in during the period: open,
    overdue, closed, by kind, department and age)."""

    @extend_schema(parameters=QUERY_PARAMETERS, responses=OpenApiTypes.OBJECT)
    def list(self, request):
        _require_dashboard_role(request)
        q = selectors.parse_query(request.query_params)
        dims = [d.strip() for d in (request.query_params.get("by") or "").split(",") if d.strip()]
        unknown = [d for d in dims if d not in selectors.DIMENSIONS]
        if unknown:
            raise ApplicationError(
                f"未知的分组: {', '.join(unknown)}", field_errors={"by": [f"可选: {', '.join(selectors.DIMENSIONS)}"]}
            )
        with selectors.one_data_version():  # the figures and the mechanism's beside them: one version
            return self._answer(request, q, dims)

    def _answer(self, request, q, dims):
        result = selectors.figures_with_activity(request.user, q, dims, ratios=True)
        names = {
            "county": selectors.region_names(result.get("county", {}).keys()),
            "city": selectors.region_names(result.get("city", {}).keys()),
            "bank": selectors.bank_names(result.get("bank", {}).keys()),
            "branch": selectors.branch_names(result.get("branch", {}).keys()),
        }
        return Response(
            {
                "query": {**q.params(), "as_of": q.as_of.isoformat(), "period_label": q.period_label},
                "total": result["total"][""].as_dict(),
                "funnel": result["total"][""].funnel(),
                "groups": {
                    dim: [
                        {"key": key, "name": names.get(dim, {}).get(key, key), **fig.as_dict()}
                        for key, fig in sorted(result[dim].items())
                    ]
                    for dim in dims
                },
                **dashboard.mechanism_figures(request.user, q),
                "definitions": dashboard.kpis.DEFINITIONS,
                # 千企万户大走访 coverage as of the same moment (campaigns.coverage)
                "campaign_coverage": _coverage(request.user, q),
            }
        )


class BankReportSerializer(serializers.ModelSerializer):
    bank = serializers.CharField(source="bank.code", read_only=True)
    branch_name = serializers.CharField(source="branch.name", read_only=True)
    period = serializers.DateField(format="%Y-%m", read_only=True)

    class Meta:
        model = BankPeriodReport
        fields = [
            "id",
            "bank",
            "branch",
            "branch_name",
            "region",
            "period",
            "small_business_balance",
            "all_loans_balance",
            "credit_loan_balance",
            "average_rate",
            "renewals_count",
            "renewals_amount",
            "renewal_balance",
            "note",
            "submitted_at",
        ]
        read_only_fields = fields


def _column(name):
    return bounds.column(BankPeriodReport, name)


class BankReportInput(serializers.Serializer):
    branch = bounds.IdField(help_text="报送机构编号(本机构或下级机构)")
    period = serializers.RegexField(r"^\d{4}-\d{2}$", help_text="报送月份 YYYY-MM")
    small_business_balance = bounds.IntegerField(
        field=_column("small_business_balance"), min_value=0, help_text="普惠型小微企业贷款余额(元)"
    )
    all_loans_balance = bounds.IntegerField(
        field=_column("all_loans_balance"), min_value=0, help_text="各项贷款余额(元)"
    )
    credit_loan_balance = bounds.IntegerField(
        field=_column("credit_loan_balance"), min_value=0, help_text="小微企业信用贷款余额(元)"
    )
    average_rate = bounds.DecimalField(
        field=_column("average_rate"), min_value=0, max_value=Decimal("35.999"), help_text="平均利率(%)"
    )
    renewals_count = bounds.IntegerField(field=_column("renewals_count"), min_value=0, default=0)
    renewals_amount = bounds.IntegerField(field=_column("renewals_amount"), min_value=0, default=0, help_text="元")
    renewal_balance = bounds.IntegerField(field=_column("renewal_balance"), min_value=0, default=0, help_text="元")
    note = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")


class BankReportViewSet(
    RestrictedViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """报送: monthly figures of bank branches (current versions). POST reports a month for the
    administrator's branch or one below it; a second POST of the month replaces the first."""

    queryset = (
        BankPeriodReport.objects.filter(is_current=True)
        .select_related("bank", "branch")
        .order_by("-period", "bank__name", "branch__name")
    )
    serializer_class = BankReportSerializer
    filterset_fields = ["period", "branch"]

    @extend_schema(request=BankReportInput, responses={201: BankReportSerializer})
    def create(self, request, *args, **kwargs):
        data = BankReportInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        report = services.bank_report_submit(actor=request.user, branch_id=values.pop("branch"), **values)
        return Response(BankReportSerializer(report).data, status=status.HTTP_201_CREATED)


class TargetSerializer(serializers.ModelSerializer):
    region_name = serializers.CharField(source="region.name", read_only=True)

    class Meta:
        model = Target
        fields = ["id", "region", "region_name", "year", "metric", "value", "note", "updated_at"]
        read_only_fields = fields


class TargetInput(serializers.Serializer):
    region = serializers.CharField(help_text="行政区划代码, 如 140500")
    year = bounds.IntegerField(field=bounds.column(Target, "year"), min_value=2000, max_value=2100)
    metric = serializers.ChoiceField(choices=TargetMetric.choices)
    value = bounds.DecimalField(field=bounds.column(Target, "value"), help_text="金额为元, 占比为百分数")
    note = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")


class TargetViewSet(RestrictedViewSetMixin, mixins.ListModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet):
    """目标 per region and year; POST (platform administrators) sets or replaces one."""

    queryset = Target.objects.select_related("region").order_by("region_id", "-year", "metric")
    serializer_class = TargetSerializer
    filterset_fields = ["year", "metric", "region"]

    @extend_schema(request=TargetInput, responses={201: TargetSerializer})
    def create(self, request, *args, **kwargs):
        data = TargetInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        target = services.target_set(actor=request.user, region_code=values.pop("region"), **values)
        return Response(TargetSerializer(target).data, status=status.HTTP_201_CREATED)


class ScheduledReportSerializer(serializers.ModelSerializer):
    organisation_name = serializers.CharField(source="organisation.name", read_only=True)
    download = serializers.SerializerMethodField()

    class Meta:
        model = ScheduledReport
        fields = [
            "id",
            "kind",
            "organisation",
            "organisation_name",
            "region",
            "week",
            "period",
            "as_of",
            "filename",
            "size",
            "emailed_at",
            "created_at",
            "download",
        ]

    def get_download(self, obj) -> str:
        return f"/reporting/reports/{obj.pk}/download/"


class ScheduledReportViewSet(RestrictedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    """The weekly 成效统计表 kept for each mechanism (download through the page link)."""

    queryset = ScheduledReport.objects.select_related("organisation").order_by("-created_at", "-id")
    serializer_class = ScheduledReportSerializer
    filterset_fields = ["week", "kind"]


def _ok(ok, code: int = 200) -> dict:
    return {code: ok, **ERRORS}


# --- ledger --------------------------------------------------------------------------------


class DrawdownSerializer(serializers.Serializer):
    amount = serializers.IntegerField(help_text="元")
    disbursed_on = serializers.DateField()


class LedgerRowSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    batch_id = serializers.IntegerField()
    batch_title = serializers.CharField()
    declaration_id = serializers.IntegerField()
    entity_id = serializers.IntegerField()
    entity_name = serializers.CharField()
    uscc = serializers.CharField()
    county_code = serializers.CharField()
    county_name = serializers.CharField()
    bank_code = serializers.CharField()
    bank_name = serializers.CharField()
    branch_id = serializers.IntegerField()
    branch_name = serializers.CharField()
    account_manager = serializers.CharField()
    need_amount = serializers.IntegerField(help_text="融资需求(元)")
    need_term_months = serializers.IntegerField()
    purpose = serializers.CharField()
    source = serializers.CharField()
    pushed_on = serializers.DateField()
    contacted_on = serializers.DateField(allow_null=True)
    contact_channel = serializers.CharField()
    materials_complete_on = serializers.DateField(allow_null=True)
    materials_complete_how = serializers.CharField(
        help_text="30 日授信时限如何起算: 银行确认收齐 / 自动起算(材料提交后 5 个工作日内银行未确认); 未起算为空"
    )
    decided_on = serializers.DateField(allow_null=True)
    state = serializers.CharField()
    state_display = serializers.CharField()
    credit_amount = serializers.IntegerField(allow_null=True, help_text="授信金额(元)")
    rate_percent = serializers.CharField(allow_null=True, help_text="年利率(%)")
    credit_term_months = serializers.IntegerField(allow_null=True)
    guarantee = serializers.CharField()
    guarantee_display = serializers.CharField()
    is_credit_loan = serializers.BooleanField(allow_null=True)
    is_first_loan = serializers.BooleanField(allow_null=True)
    approval_override = serializers.CharField(help_text="超限审批: 理由、超出的限额和审批人(限额内授信为空)")
    credit_basis_change = serializers.CharField(
        help_text="授信依据变化(贷后): 授信所依据的三型标记或名特优新称号被撤销、到期或降级"
        "(或已恢复)的最近一次记录, 无变化为空"
    )
    disbursed_total = serializers.IntegerField(help_text="累计放款(元)")
    disbursement_count = serializers.IntegerField()
    first_disbursed_on = serializers.DateField(allow_null=True)
    disbursements = DrawdownSerializer(many=True)
    decline_reason_code = serializers.CharField()
    decline_reason = serializers.CharField()
    decline_note = serializers.CharField()
    removed_on = serializers.DateField(allow_null=True)
    removed_reason = serializers.CharField()
    satisfaction = serializers.IntegerField(allow_null=True)
    feedback_overdue = serializers.BooleanField(allow_null=True)
    decision_overdue = serializers.BooleanField(allow_null=True)


class LedgerTotalsSerializer(serializers.Serializer):
    rows = serializers.IntegerField(help_text="推荐笔数(台账行数)")
    entities = serializers.IntegerField(help_text="企业户数(按企业去重)")
    needs = serializers.IntegerField(help_text="融资需求笔数: 同一申报推送给两家银行、或改推的只计一次")
    need_amount = serializers.IntegerField(help_text="融资需求(元), 每笔需求计一次(金额不同时取其大者)")
    credited = serializers.IntegerField()
    credit_amount = serializers.IntegerField(help_text="元")
    disbursed_total = serializers.IntegerField(help_text="元")
    disbursement_count = serializers.IntegerField()


LEDGER_PARAMETERS = [
    OpenApiParameter("region", str, description="区划代码前缀: 14 / 1405 / 140525"),
    OpenApiParameter("bank", str, description="银行代码"),
    OpenApiParameter("branch", bounds.ID_SCHEMA, description="承办机构编号(含下级机构)"),
    OpenApiParameter("state", str, description="状态, 可逗号分隔多个: " + ", ".join(RecommendationState.values)),
    OpenApiParameter("period", str, description="推送期间: YYYY、YYYY-MM 或 YYYY-Qn"),
    OpenApiParameter("date_from", OpenApiTypes.DATE, description="推送日期起(含), 不能与 period 同用"),
    OpenApiParameter("date_to", OpenApiTypes.DATE, description="推送日期止(含), 不能与 period 同用"),
]


class LedgerViewSet(RestrictedViewSetMixin, viewsets.GenericViewSet):
    """台账: one row per recommendation with every date, decision and drawdown (amounts in 元);
    exports in 万元 as xlsx (with title and 合计 row) or csv."""

    queryset = Recommendation.objects.all()
    serializer_class = LedgerRowSerializer
    filter_backends: list = []

    @extend_schema(parameters=LEDGER_PARAMETERS, responses=_ok(LedgerRowSerializer(many=True)))
    def list(self, request):
        qs = ledger.ledger_queryset(request.user, request.query_params)
        page = self.paginate_queryset(qs)
        rows = [ledger.ledger_row(rec) for rec in (page if page is not None else qs)]
        data = LedgerRowSerializer(rows, many=True).data
        return self.get_paginated_response(data) if page is not None else Response(data)

    @extend_schema(parameters=LEDGER_PARAMETERS, responses=_ok(LedgerTotalsSerializer))
    @action(detail=False, methods=["get"])
    def totals(self, request):
        return Response(ledger.ledger_totals_db(request.user, request.query_params))

    def _export(self, request, extension: str) -> HttpResponse:
        file = ledger.ledger_export(
            actor=request.user, filters=request.query_params, extension=extension, request=request
        )
        return spreadsheets.download(ledger.EXPORT_KIND, file)

    @extend_schema(parameters=LEDGER_PARAMETERS, responses={(200, XLSX): OpenApiTypes.BINARY, 400: ERRORS[400]})
    @action(
        detail=False, methods=["get"], url_path="export.xlsx", url_name="export-xlsx", renderer_classes=FILE_RENDERERS
    )
    def export_xlsx(self, request):
        return self._export(request, "xlsx")

    @extend_schema(
        parameters=LEDGER_PARAMETERS, responses={(200, CSV_MEDIA_TYPE): OpenApiTypes.BINARY, 400: ERRORS[400]}
    )
    @action(
        detail=False, methods=["get"], url_path="export.csv", url_name="export-csv", renderer_classes=FILE_RENDERERS
    )
    def export_csv(self, request):
        return self._export(request, "csv")
