"""千企万户大走访 API: campaigns you may see, the city's open/edit (PATCH)/start/end (the shared
plumbing of portal.policy_resources, from the table campaigns/policy.py), a county's 目标清单 (build,
import, list) and 走访计划 (assign), coverage per county, township and visitor, and a visitor's own
走访任务 (visits are recorded through /api/v1/visits/, the workflow's one visit path). Ids are
validated by portal.bounds and resolved through the restriction by the services."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from campaigns import policy, selectors, services
from campaigns.coverage import Figures
from campaigns.models import Assignment, Campaign, CampaignState, TargetSource
from campaigns.policy import Action
from portal import bounds
from portal.api import ChoiceLabelField, RestrictedViewSetMixin
from portal.policy_resources import PolicyViewSet, action_doc, error_responses

ERRORS = error_responses(forbidden="角色无权执行, 或不是本市开展的活动、活动未覆盖本县区")


def _doc(action_: Action) -> str:
    return action_doc(policy.TABLE.rule(action_), CampaignState)


class FiguresSerializer(serializers.Serializer):
    targets = serializers.IntegerField(help_text="走访目标企业(户, 不含剔除)")
    assigned = serializers.IntegerField(help_text="已分配走访人员(户)")
    visited = serializers.IntegerField(help_text="已走访(户)")
    with_need = serializers.IntegerField(help_text="走访发现融资需求(户)")
    declared = serializers.IntegerField(help_text="已申报(户)")
    overdue = serializers.IntegerField(help_text="逾期未走访(户)")
    rate = serializers.FloatField(help_text="走访覆盖率(%)")
    excluded = serializers.IntegerField(help_text="剔除(户)")


class CampaignOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField(help_text="活动名称")
    city_code = serializers.CharField(source="region_id", help_text="开展活动的市")
    county_codes = serializers.SerializerMethodField(help_text="覆盖县区代码")
    deadline = serializers.DateField(help_text="摸排截止日期")
    days_left = serializers.SerializerMethodField(help_text="距截止日期的自然日天数(含截止当日; 负数为已过)")
    state = serializers.CharField(help_text="状态: draft 草稿 / running 进行中 / ended 已结束")
    state_label = ChoiceLabelField("state")
    note = serializers.CharField(help_text="活动要求")
    started_at = serializers.DateTimeField(allow_null=True, help_text="启动时间(走访自此计入覆盖)")
    version = serializers.IntegerField(help_text="版本(每次修改加 1; 修改时提交, 防止覆盖他人的修改)")

    def get_county_codes(self, obj) -> list[str]:
        return sorted(obj.counties.values_list("code", flat=True))

    def get_days_left(self, obj) -> int:
        return obj.days_left()


class CampaignEditSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=services.NAME_MAX, help_text="活动名称")
    deadline = serializers.DateField(help_text="摸排截止日期(修改时不早于今天)")
    note = serializers.CharField(allow_blank=True, max_length=services.TEXT_MAX, help_text="活动要求")
    version = serializers.IntegerField(
        required=False,
        min_value=0,
        max_value=2**31 - 1,
        help_text="修改所依据的版本(活动详情的 version); 活动已被他人修改时返回 409, 请重新读取后再修改",
    )


class CampaignInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=services.NAME_MAX, help_text="活动名称")
    deadline = serializers.DateField(help_text="摸排截止日期(不早于今天)")
    county_codes = serializers.ListField(
        child=serializers.CharField(max_length=12), min_length=1, max_length=200, help_text="覆盖县区代码(本市县区)"
    )
    note = serializers.CharField(allow_blank=True, default="", max_length=services.TEXT_MAX, help_text="活动要求")


class CoverageRowSerializer(FiguresSerializer):
    key = serializers.CharField(help_text="县区代码、乡镇代码或走访人员 id")


class CoverageSerializer(serializers.Serializer):
    total = FiguresSerializer(help_text="合计")
    by_county = CoverageRowSerializer(many=True, help_text="按县区")
    by_township = CoverageRowSerializer(many=True, help_text="按乡镇(街道); key 为空: 未填乡镇")
    by_visitor = CoverageRowSerializer(many=True, help_text="按走访人员(用户 id); key 为空: 未分配")
    counties_without_list = serializers.ListField(
        child=serializers.CharField(), help_text="尚未生成走访目标企业清单的覆盖县区代码(无目标、无剔除)"
    )


class CampaignTargetSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    entity_id = serializers.IntegerField()
    entity_name = serializers.CharField(source="entity.name")
    uscc = serializers.CharField(source="entity.uscc", help_text="统一社会信用代码")
    county_code = serializers.CharField(source="region_id")
    township_code = serializers.CharField(source="township_id", allow_null=True)
    source = serializers.CharField(
        help_text="名单来源: " + "、".join(f"{v} {label}" for v, label in TargetSource.choices)
    )
    source_label = serializers.CharField(help_text="来源说明")
    excluded = serializers.BooleanField(help_text="是否剔除(不符合基本准入条件)")
    exclusion_reason = serializers.CharField(help_text="剔除原因")
    visitor_id = serializers.IntegerField(allow_null=True, help_text="当前走访人员(用户 id)")
    due_on = serializers.DateField(allow_null=True, help_text="走访期限")
    visited = serializers.BooleanField(help_text="活动启动后已走访")
    with_need = serializers.BooleanField(help_text="走访发现融资需求")
    declared = serializers.BooleanField(help_text="活动启动后已申报")


class VisitPlanInputSerializer(serializers.Serializer):
    visitor_id = bounds.IdField(
        help_text="走访人员(用户 id): 本县区乡镇/街道、村组/社区、工商联、委办局、专班人员或本市银行客户经理"
    )
    target_ids = bounds.IdListField(required=False, help_text="要分配的目标企业 id(与 township_code 二选一)")
    township_code = serializers.CharField(
        required=False, max_length=12, help_text="按乡镇(街道)整体分配: 该乡镇未剔除的全部目标企业"
    )
    due_on = serializers.DateField(required=False, allow_null=True, help_text="走访期限(默认活动截止日期)")


class AssignmentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    campaign_id = serializers.IntegerField()
    campaign_name = serializers.CharField(source="campaign.name")
    target_id = serializers.IntegerField()
    entity_id = serializers.IntegerField(source="target.entity_id", help_text="经营主体 id(登记走访时的 entity_id)")
    entity_name = serializers.CharField(source="target.entity.name")
    due_on = serializers.DateField(help_text="走访期限")
    assigned_at = serializers.DateTimeField()


class TargetImportInputSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="xlsx 或 csv, 第 1 行为表头: 统一社会信用代码(必填)、来源说明(选填)")
    source = serializers.ChoiceField(
        choices=[c for c in TargetSource.choices if c[0] != TargetSource.REGISTER], help_text="名单来源"
    )
    source_label = serializers.CharField(allow_blank=True, default="", max_length=64, help_text="来源说明")


class TargetImportErrorSerializer(serializers.Serializer):
    line = serializers.IntegerField(help_text="行号")
    uscc = serializers.CharField(help_text="该行的统一社会信用代码")
    message = serializers.CharField(help_text="原因")


class ImportResultSerializer(serializers.Serializer):
    rows = serializers.IntegerField(help_text="数据行数")
    added = serializers.IntegerField(help_text="导入(户)")
    excluded = serializers.IntegerField(help_text="其中剔除(户)")
    already = serializers.IntegerField(help_text="已在清单中(户)")
    errors = TargetImportErrorSerializer(many=True, help_text="未导入的行(正确的行已导入)")


class BuildResultSerializer(serializers.Serializer):
    added = serializers.IntegerField(help_text="新增(户)")
    excluded = serializers.IntegerField(help_text="其中剔除(户)")
    already = serializers.IntegerField(help_text="此前已在清单中(户)")


def _rows(figures: dict) -> list[dict]:
    return [{"key": key or "", **_figures(f)} for key, f in figures.items()]


def _figures(f: Figures) -> dict:
    return {k: getattr(f, k) for k in FiguresSerializer().fields}


class CampaignViewSet(PolicyViewSet):
    """千企万户大走访: 市级协调机制开展、修改、启动、结束活动; 县区专班生成走访目标企业清单、导入部门名单、
    制定走访计划; 覆盖情况."""

    queryset = Campaign.objects.select_related("region").order_by("-created_at", "-id")
    serializer_class = CampaignOutputSerializer
    parser_classes = [JSONParser, FormParser, MultiPartParser]
    policy_table = policy.TABLE
    states = CampaignState
    error_docs = ERRORS
    read_one = staticmethod(selectors.campaign_get)
    detail_serializer = CampaignOutputSerializer
    create_action = Action.OPEN
    create_input = CampaignInputSerializer
    create_service = staticmethod(services.campaign_open)
    update_action = Action.EDIT
    update_input = CampaignEditSerializer
    action_inputs = {Action.START: None, Action.END: None}
    action_services = services.SERVICES
    service_object = "campaign_id"

    @extend_schema(
        request=None, responses={200: BuildResultSerializer, **ERRORS}, description=_doc(Action.BUILD_TARGETS)
    )
    @action(detail=True, methods=["post"], url_path="build-targets", url_name="build-targets")
    def build_targets(self, request, pk=None):
        self.gate(Action.BUILD_TARGETS)
        result = services.targets_build(actor=request.user, campaign_id=int(pk))
        return Response(BuildResultSerializer(result).data)

    @extend_schema(
        request={"multipart/form-data": TargetImportInputSerializer},
        responses={200: ImportResultSerializer, **ERRORS},
        description=_doc(Action.IMPORT_TARGETS) + " 正确的行导入, 错误的行在 errors 中列出行号和原因(不导入)。",
    )
    @action(detail=True, methods=["post"], url_path="import-targets", url_name="import-targets")
    def import_targets(self, request, pk=None):
        self.gate(Action.IMPORT_TARGETS)
        serializer = TargetImportInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        result = services.targets_import(
            actor=request.user,
            campaign_id=int(pk),
            content=data["file"].read(),
            source=data["source"],
            source_label=data["source_label"],
        )
        return Response(ImportResultSerializer(result).data)

    @extend_schema(
        request=VisitPlanInputSerializer,
        responses={200: AssignmentSerializer(many=True), **ERRORS},
        description=_doc(Action.ASSIGN),
    )
    @action(detail=True, methods=["post"])
    def assign(self, request, pk=None):
        self.gate(Action.ASSIGN)
        serializer = VisitPlanInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        made = services.assignments_make(actor=request.user, campaign_id=int(pk), **serializer.validated_data)
        rows = Assignment.objects.select_related("campaign", "target__entity").filter(pk__in=[a.pk for a in made])
        return Response(AssignmentSerializer(rows, many=True).data)

    @extend_schema(
        responses={200: CampaignTargetSerializer(many=True), **ERRORS},
        description="走访目标企业清单(含剔除及原因、走访人员、是否已走访)",
    )
    @action(detail=True, methods=["get"])
    def targets(self, request, pk=None):
        campaign = selectors.campaign_get(user=request.user, pk=pk)
        page = self.paginate_queryset(selectors.target_rows(user=request.user, campaign=campaign))
        return self.get_paginated_response(CampaignTargetSerializer(page, many=True).data)

    @extend_schema(
        responses={200: CoverageSerializer, **ERRORS},
        description="走访覆盖情况: 按县区、乡镇(街道)、走访人员统计目标、已走访、有需求、已申报、逾期",
    )
    @action(detail=True, methods=["get"])
    def coverage(self, request, pk=None):
        campaign = selectors.campaign_get(user=request.user, pk=pk)
        result = selectors.campaign_coverage(user=request.user, campaign=campaign)
        return Response(
            {
                "total": _figures(result.total),
                "by_county": _rows(result.by_county),
                "by_township": [{"key": t or "", **_figures(f)} for (_, t), f in result.by_township.items()],
                "by_visitor": _rows(result.by_visitor),
                "counties_without_list": result.counties_without_list,
            }
        )


class VisitTaskViewSet(RestrictedViewSetMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """我的走访任务: 分配给您的大走访目标企业(登记走访请用 POST /api/v1/visits/, entity_id 为任务的 entity_id)."""

    queryset = Assignment.objects.select_related("campaign", "target__entity").order_by("due_on", "id")
    serializer_class = AssignmentSerializer

    def get_queryset(self):
        return selectors.my_assignments(user=self.request.user)
