"""Reporting's REST API: KPIs for any scope, period and as-of date; bank-reported figures
(报送, restricted to the bank administrator's own branches); targets; the weekly reports.
Thin: validate, call one selector or service, render. Amounts are integer 元."""
from __future__ import annotations

from decimal import Decimal

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from portal import bounds
from portal.api import RestrictedViewSetMixin
from portal.mixins import TenantRestricted
from portal.tenancy import scope_for
from reporting import dashboard, selectors, services
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


def _require_dashboard_role(request) -> None:
    scope = scope_for(request.user)
    if scope is None or not (scope.is_platform_admin or scope.role in DASHBOARD_ROLES):
        raise PermissionDenied("您的角色无权查看统计")


class KpiViewSet(TenantRestricted, viewsets.ViewSet):
    """三个100%, the funnel, credit-loan share, first and medium/long-term loans, rates,
    timeliness and satisfaction, in total and by county / city / bank / branch / month.
    户 fields of bank, branch and month groups count 笔."""

    @extend_schema(parameters=QUERY_PARAMETERS, responses=OpenApiTypes.OBJECT)
    def list(self, request):
        _require_dashboard_role(request)
        q = selectors.parse_query(request.query_params)
        dims = [d.strip() for d in (request.query_params.get("by") or "").split(",") if d.strip()]
        unknown = [d for d in dims if d not in selectors.DIMENSIONS]
        if unknown:
            from portal.services import ApplicationError

            raise ApplicationError(f"未知的分组: {', '.join(unknown)}", field_errors={"by": [f"可选: {', '.join(selectors.DIMENSIONS)}"]})
        result = selectors.figures_with_activity(request.user, q, dims, ratios=True)
        names = {
            "county": selectors.region_names(result.get("county", {}).keys()),
            "city": selectors.region_names(result.get("city", {}).keys()),
            "bank": selectors.bank_names(result.get("bank", {}).keys()),
            "branch": selectors.branch_names(result.get("branch", {}).keys()),
        }
        return Response({
            "query": {**q.params(), "as_of": q.as_of.isoformat(), "period_label": q.period_label},
            "total": result["total"][""].as_dict(),
            "funnel": result["total"][""].funnel(),
            "groups": {
                dim: [{"key": key, "name": names.get(dim, {}).get(key, key), **fig.as_dict()} for key, fig in sorted(result[dim].items())]
                for dim in dims
            },
            "definitions": dashboard.kpis.DEFINITIONS,
        })


class BankReportSerializer(serializers.ModelSerializer):
    bank = serializers.CharField(source="bank.code", read_only=True)
    branch_name = serializers.CharField(source="branch.name", read_only=True)
    period = serializers.DateField(format="%Y-%m", read_only=True)

    class Meta:
        model = BankPeriodReport
        fields = ["id", "bank", "branch", "branch_name", "region", "period", "small_business_balance", "all_loans_balance",
                  "credit_loan_balance", "average_rate", "renewals_count", "renewals_amount", "renewal_balance", "note",
                  "submitted_at"]
        read_only_fields = fields


def _column(name):
    return bounds.column(BankPeriodReport, name)


class BankReportInput(serializers.Serializer):
    branch = bounds.IdField(help_text="报送机构编号(本机构或下级机构)")
    period = serializers.RegexField(r"^\d{4}-\d{2}$", help_text="报送月份 YYYY-MM")
    small_business_balance = bounds.IntegerField(field=_column("small_business_balance"), min_value=0, help_text="普惠型小微企业贷款余额(元)")
    all_loans_balance = bounds.IntegerField(field=_column("all_loans_balance"), min_value=0, help_text="各项贷款余额(元)")
    credit_loan_balance = bounds.IntegerField(field=_column("credit_loan_balance"), min_value=0, help_text="小微企业信用贷款余额(元)")
    average_rate = bounds.DecimalField(field=_column("average_rate"), min_value=0, max_value=Decimal("35.999"), help_text="平均利率(%)")
    renewals_count = bounds.IntegerField(field=_column("renewals_count"), min_value=0, default=0)
    renewals_amount = bounds.IntegerField(field=_column("renewals_amount"), min_value=0, default=0, help_text="元")
    renewal_balance = bounds.IntegerField(field=_column("renewal_balance"), min_value=0, default=0, help_text="元")
    note = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")


class BankReportViewSet(RestrictedViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                        viewsets.GenericViewSet):
    """报送: monthly figures of bank branches (current versions). POST reports a month for the
    administrator's branch or one below it; a second POST of the month replaces the first."""

    queryset = BankPeriodReport.objects.filter(is_current=True).select_related("bank", "branch").order_by("-period", "bank__name", "branch__name")
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
        fields = ["id", "kind", "organisation", "organisation_name", "region", "week", "period", "as_of", "filename", "size",
                  "emailed_at", "created_at", "download"]

    def get_download(self, obj) -> str:
        return f"/reporting/reports/{obj.pk}/download/"


class ScheduledReportViewSet(RestrictedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    """The weekly 成效统计表 kept for each mechanism (download through the page link)."""

    queryset = ScheduledReport.objects.select_related("organisation").order_by("-created_at", "-id")
    serializer_class = ScheduledReportSerializer
    filterset_fields = ["week", "kind"]
