"""The workflow's REST API (token or session auth): declarations, reviews, batches, leads,
visits, decline reasons, notifications, materials (the ledger's is reporting.apis).

Thin by design: each action validates its input with a nested Input serializer, calls one
service of matching.services (or materials / declaration_import / notifications) and renders the
result. Services raise portal.services.ApplicationError, which portal.api_support turns
into {"code", "message", "errors"} with 400 / 403 / 404 / 409. Every list goes through
restrict() (RestrictedViewSetMixin or a selector that calls it). Amounts are integer 元.

Permissions come from the workflow table (matching/workflow.py): an action on another
tenant's object answers 404 first; an action the caller's role may never perform answers 403
before its input is read (PolicyGateMixin); the service then checks the state (409) and the
maker-checker rules (403). Each action's documentation says who may do it in which state.
"""

from __future__ import annotations

import json

import django_filters
from django.db import transaction
from django.db.models import Count, Q
from django.http import FileResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import mixins, renderers, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from entities.restrictions import region_range_q
from matching import materials, notifications, selectors, services, workflow
from matching.declaration_import import DeclarationImportError, declaration_import_template, declarations_import
from matching.models import (
    BASIC_CRITERIA,
    ContactChannel,
    Declaration,
    DeclarationMaterial,
    DeclarationSource,
    DeclineReason,
    Disbursement,
    Guarantee,
    Notification,
    Recommendation,
    RecommendationBatch,
    RecommendationState,
    ReviewDecision,
    Visit,
    WorkflowEvent,
)
from matching.workflow import Action
from portal import bounds, spreadsheets
from portal.api import RestrictedViewSetMixin
from portal.middleware import upload_limit
from portal.services import ApplicationError
from portal.spreadsheets import XLSX
from portal.tenancy import VIEW, restrict
from products.models import BankBranch

IMPORT_MAX_BYTES = 20 * 1024 * 1024  # a declaration import file


# --- shared pieces -------------------------------------------------------------------------


class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="invalid | conflict | permission_denied | not_found | …")
    message = serializers.CharField(help_text="中文错误说明")
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()), help_text="字段 → 错误列表"
    )


ERRORS = {
    400: OpenApiResponse(ErrorSerializer, description="输入有误(字段错误在 errors 中)"),
    403: OpenApiResponse(ErrorSerializer, description="角色无权执行"),
    404: OpenApiResponse(ErrorSerializer, description="不存在或不在您的权限范围"),
    409: OpenApiResponse(ErrorSerializer, description="当前状态不允许该操作"),
}


def _responses(ok, code: int = 200) -> dict:
    return {code: ok, **ERRORS}


def _input(serializer_class, request) -> dict:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _pk(view) -> int:
    return int(view.kwargs[view.lookup_url_kwarg or view.lookup_field])


class PolicyGateMixin:
    """API permissions from the workflow table (matching/workflow.py): after the
    object's visibility check (another tenant's object: 404), an action the caller's role may
    never perform is refused with 403 before its input is read. `policy_actions` maps a
    viewset action (or "action:METHOD") to the workflow actions any of which lets the role in;
    the service then checks the state and the per-object rules."""

    policy_actions: dict[str, tuple[Action, ...]] = {}

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        actions = self.policy_actions.get(f"{self.action}:{request.method}") or self.policy_actions.get(self.action)
        if actions and not any(workflow.may(action, request.user) for action in actions):
            refusal = (
                workflow.role_refusal(actions[0]) if len(actions) == 1 else workflow.Refusal("您的角色无权执行此操作")
            )
            raise refusal.error()


def _doc(*actions: Action) -> str:
    return " ".join(f"[{workflow.rule(a).label}] {workflow.describe(a)}" for a in actions)


class BinaryRenderer(renderers.BaseRenderer):
    """Lets a file download be negotiated whatever the client accepts; errors still go out
    as the JSON error format."""

    media_type = "*/*"
    format = "bin"
    charset = None
    render_style = "binary"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if isinstance(data, (bytes, bytearray)):
            return bytes(data)
        response = (renderer_context or {}).get("response")
        if response is not None:  # an error reached a client that asked for a file: still JSON
            response["Content-Type"] = "application/json"
        return json.dumps(data, ensure_ascii=False).encode("utf-8")


FILE_RENDERERS = [renderers.JSONRenderer, BinaryRenderer]


def _user_name(user) -> str | None:
    return (user.get_full_name() or user.username) if user is not None else None


class EntityBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    uscc = serializers.CharField()
    entity_type = serializers.CharField()
    entity_type_display = serializers.CharField(source="get_entity_type_display")
    region_code = serializers.CharField(source="region_id")


class BankBriefSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()


class IntendedBankSerializer(serializers.Serializer):
    position = serializers.IntegerField()
    code = serializers.CharField(source="bank.code")
    name = serializers.CharField(source="bank.name")


# --- declarations --------------------------------------------------------------------------


class ReviewStepOutputSerializer(serializers.Serializer):
    stage = serializers.CharField()
    stage_display = serializers.CharField(source="get_stage_display")
    decision = serializers.CharField()
    decision_display = serializers.CharField(source="get_decision_display")
    comment = serializers.CharField()
    actor = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()

    def get_actor(self, obj) -> str | None:
        return _user_name(obj.actor)


class LeadBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    bank = BankBriefSerializer()
    branch = serializers.CharField(source="branch.name")
    state = serializers.CharField()
    state_display = serializers.CharField(source="get_state_display")
    pushed_at = serializers.DateTimeField()
    decided_at = serializers.DateTimeField(allow_null=True)


class DeclarationOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    entity = EntityBriefSerializer()
    region_code = serializers.CharField(source="region_id")
    region_name = serializers.CharField(source="region.name")
    task_force = serializers.IntegerField(source="task_force_id")
    source = serializers.CharField()
    source_display = serializers.CharField(source="get_source_display")
    source_bank = serializers.CharField(source="source_bank.code", default=None, allow_null=True)
    state = serializers.CharField()
    state_display = serializers.CharField(source="get_state_display")
    amount = serializers.IntegerField(help_text="融资金额(元)")
    term_months = serializers.IntegerField()
    purpose = serializers.CharField()
    banks = IntendedBankSerializer(source="intended_banks", many=True)
    basic_criteria = serializers.JSONField()
    consent_given_at = serializers.DateTimeField(allow_null=True)
    submitted_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    last_comment = serializers.CharField()
    batch = serializers.IntegerField(source="batch_id", allow_null=True)
    visit = serializers.IntegerField(source="visit_id", allow_null=True)
    redirected_from = serializers.IntegerField(
        source="redirected_from_id", allow_null=True, help_text="改推: 不予授信的推荐(线索)编号"
    )


class DeclarationDetailOutputSerializer(DeclarationOutputSerializer):
    review_steps = ReviewStepOutputSerializer(many=True)
    recommendations = serializers.SerializerMethodField()
    materials_count = serializers.SerializerMethodField()

    @extend_schema_field(LeadBriefSerializer(many=True))
    def get_recommendations(self, obj):
        # a bank sees only its own bank's recommendation of a declaration
        leads = restrict(Recommendation.objects.filter(declaration=obj), self.context["request"].user, VIEW)
        return LeadBriefSerializer(leads.select_related("bank", "branch").order_by("id"), many=True).data

    def get_materials_count(self, obj) -> int:
        return obj.materials.count()


class CriterionInputSerializer(serializers.Serializer):
    met = serializers.BooleanField(default=False)
    evidence = serializers.CharField(allow_blank=True, default="", max_length=500)


class DeclarationInputBase(serializers.Serializer):
    amount = bounds.IntegerField(field=bounds.column(Declaration, "amount"), help_text="融资金额(元), 正整数")
    term_months = bounds.IntegerField(field=bounds.column(Declaration, "term_months"), help_text="期限(月), 1–360")
    purpose = serializers.CharField(max_length=255, allow_blank=True)
    banks = serializers.ListField(
        child=serializers.CharField(max_length=32), allow_empty=True, help_text="意向对接银行代码, 1–2 家"
    )
    basic_criteria = serializers.DictField(
        child=CriterionInputSerializer(),
        required=False,
        default=dict,
        help_text="五项基本标准: " + ", ".join(f"{k}={v}" for k, v in BASIC_CRITERIA.items()),
    )


class DeclarationCreateInputSerializer(DeclarationInputBase):
    entity_id = bounds.IdField()
    consent = serializers.BooleanField(default=False, help_text="企业同意向意向银行共享信息")
    submit = serializers.BooleanField(default=False, help_text="创建后立即提交初审")


class DeclarationUpdateInputSerializer(DeclarationInputBase):
    consent = serializers.BooleanField(
        required=False, allow_null=True, default=None, help_text="true: 同时记录企业同意共享信息; 新增银行时原同意失效"
    )


class WithdrawInputSerializer(serializers.Serializer):
    reason = serializers.CharField(allow_blank=True, default="", max_length=1000)


class ReviewInputSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=ReviewDecision.choices)
    comment = serializers.CharField(allow_blank=True, default="", max_length=2000)


class BulkReviewInputSerializer(ReviewInputSerializer):
    ids = bounds.IdListField(min_length=1, max_length=500)


class BulkReviewResultSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    ok = serializers.BooleanField()
    message = serializers.CharField()


class BulkReviewOutputSerializer(serializers.Serializer):
    approved_or_done = serializers.IntegerField()
    refused = serializers.IntegerField()
    results = BulkReviewResultSerializer(many=True)


class BankRecommendInputSerializer(serializers.Serializer):
    entity_id = bounds.IdField()
    amount = bounds.IntegerField(field=bounds.column(Declaration, "amount"), help_text="融资金额(元)")
    term_months = bounds.IntegerField(field=bounds.column(Declaration, "term_months"))
    purpose = serializers.CharField(max_length=255, allow_blank=True)
    note = serializers.CharField(allow_blank=True, default="", max_length=2000)


class ImportInputSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="批量申报 XLSX (或 UTF-8 CSV), 表头见模板")


class ImportErrorSerializer(serializers.Serializer):
    line = serializers.IntegerField()
    column = serializers.CharField(allow_null=True)
    message = serializers.CharField()


class ImportedDeclarationSerializer(serializers.Serializer):
    line = serializers.IntegerField()
    id = serializers.IntegerField()
    state = serializers.CharField()


class ImportSummarySerializer(serializers.Serializer):
    rows = serializers.IntegerField()
    created = serializers.IntegerField()
    submitted = serializers.IntegerField()
    drafts = serializers.IntegerField()
    rejected = serializers.IntegerField()
    errors = ImportErrorSerializer(many=True)
    declarations = ImportedDeclarationSerializer(many=True)


class MaterialOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    declaration = serializers.IntegerField(source="declaration_id")
    original_name = serializers.CharField()
    content_type = serializers.CharField()
    size = serializers.IntegerField()
    uploaded_by = serializers.SerializerMethodField()
    uploaded_at = serializers.DateTimeField()
    download_url = serializers.SerializerMethodField()

    def get_uploaded_by(self, obj) -> str | None:
        return _user_name(obj.uploaded_by)

    def get_download_url(self, obj) -> str:
        return f"/api/v1/materials/{obj.pk}/download/"


class MaterialUploadInputSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="PDF、JPG 或 PNG, 不超过 10 MB")


class EventOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    kind_display = serializers.CharField(source="get_kind_display", help_text="事件名称(中文)")
    recommendation = serializers.IntegerField(source="recommendation_id", allow_null=True)
    actor = serializers.SerializerMethodField()
    data = serializers.JSONField()
    created_at = serializers.DateTimeField()

    def get_actor(self, obj) -> str | None:
        return _user_name(obj.actor)


class DeclarationFilter(django_filters.FilterSet):
    state = django_filters.CharFilter(method="filter_state", help_text="状态, 可逗号分隔多个")
    source = django_filters.ChoiceFilter(choices=DeclarationSource.choices)
    region = django_filters.CharFilter(method="filter_region", help_text="区划代码前缀(14 / 1405 / 140525)")
    q = django_filters.CharFilter(method="filter_q", help_text="经营主体名称或统一社会信用代码")
    batch = bounds.IdFilter(field_name="batch_id")
    entity = bounds.IdFilter(field_name="entity_id")

    class Meta:
        model = Declaration
        fields = ["state", "source", "region", "q", "batch", "entity"]

    def filter_state(self, queryset, name, value):
        return queryset.filter(state__in=[v.strip() for v in value.split(",") if v.strip()])

    def filter_region(self, queryset, name, value):
        return (
            queryset.filter(region_range_q(value, "region_id"))
            if value.isdigit() and len(value) in (2, 4, 6)
            else queryset.none()
        )

    def filter_q(self, queryset, name, value):
        return queryset.filter(Q(entity__name__icontains=value) | Q(entity__uscc=value.strip().upper()))


def _declaration_out(request, declaration_id: int, status_code: int = 200) -> Response:
    declaration = (
        restrict(Declaration.objects.all(), request.user, VIEW)
        .select_related("entity", "region", "source_bank")
        .prefetch_related("intended_banks__bank", "review_steps__actor")
        .get(pk=declaration_id)
    )
    return Response(
        DeclarationDetailOutputSerializer(declaration, context={"request": request}).data, status=status_code
    )


class DeclarationViewSet(
    PolicyGateMixin, RestrictedViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """申报: list and read what you may see; create, edit, record consent, submit, withdraw, review."""

    policy_actions = {
        "create": (Action.FILE,),
        "update": (Action.EDIT,),
        "consent": (Action.CONSENT,),
        "submit": (Action.SUBMIT,),
        "withdraw": (Action.WITHDRAW,),
        "review": workflow.REVIEWS,
        "bulk_review": workflow.REVIEWS,
        "materials:POST": (Action.MATERIALS_UPLOAD,),
        "bank_recommend": (Action.BANK_RECOMMEND,),
    }

    queryset = (
        Declaration.objects.select_related("entity", "region", "source_bank")
        .prefetch_related("intended_banks__bank")
        .order_by("-created_at", "-id")
    )
    serializer_class = DeclarationOutputSerializer
    filterset_class = DeclarationFilter
    lookup_value_regex = r"\d+"

    def get_serializer_class(self):
        return DeclarationDetailOutputSerializer if self.action == "retrieve" else DeclarationOutputSerializer

    def get_queryset(self):
        qs = super().get_queryset()
        return qs.prefetch_related("review_steps__actor") if self.action == "retrieve" else qs

    @extend_schema(
        request=DeclarationCreateInputSerializer,
        responses=_responses(DeclarationDetailOutputSerializer, 201),
        description=_doc(Action.FILE),
    )
    def create(self, request):
        data = _input(DeclarationCreateInputSerializer, request)
        declaration = services.declaration_create(
            actor=request.user,
            entity_id=data["entity_id"],
            amount=data["amount"],
            term_months=data["term_months"],
            purpose=data["purpose"],
            bank_codes=data["banks"],
            basic_criteria=data["basic_criteria"],
            consent=data["consent"],
            submit=data["submit"],
        )
        return _declaration_out(request, declaration.pk, status.HTTP_201_CREATED)

    @extend_schema(
        request=DeclarationUpdateInputSerializer,
        responses=_responses(DeclarationDetailOutputSerializer),
        description=_doc(Action.EDIT),
    )
    def update(self, request, pk=None):
        data = _input(DeclarationUpdateInputSerializer, request)
        declaration = services.declaration_update(
            actor=request.user,
            declaration_id=_pk(self),
            amount=data["amount"],
            term_months=data["term_months"],
            purpose=data["purpose"],
            bank_codes=data["banks"],
            basic_criteria=data["basic_criteria"],
            consent=data["consent"],
        )
        return _declaration_out(request, declaration.pk)

    @extend_schema(
        request=None, responses=_responses(DeclarationDetailOutputSerializer), description=_doc(Action.CONSENT)
    )
    @action(detail=True, methods=["post"])
    def consent(self, request, pk=None):
        """The enterprise agrees to share its data with the intended banks (or task-force staff
        record its written consent on a declaration filed on its behalf)."""
        declaration = services.declaration_consent_record(actor=request.user, declaration_id=_pk(self))
        return _declaration_out(request, declaration.pk)

    @extend_schema(
        request=None, responses=_responses(DeclarationDetailOutputSerializer), description=_doc(Action.SUBMIT)
    )
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        declaration = services.declaration_submit(actor=request.user, declaration_id=_pk(self))
        return _declaration_out(request, declaration.pk)

    @extend_schema(
        request=WithdrawInputSerializer,
        responses=_responses(DeclarationDetailOutputSerializer),
        description=_doc(Action.WITHDRAW),
    )
    @action(detail=True, methods=["post"])
    def withdraw(self, request, pk=None):
        data = _input(WithdrawInputSerializer, request)
        declaration = services.declaration_withdraw(actor=request.user, declaration_id=_pk(self), reason=data["reason"])
        return _declaration_out(request, declaration.pk)

    @extend_schema(
        request=ReviewInputSerializer,
        responses=_responses(DeclarationDetailOutputSerializer),
        description=_doc(*workflow.REVIEWS) + " 填报人(创建、修改、代为同意、提交或上传材料者)不能做初审。",
    )
    @action(detail=True, methods=["post"])
    def review(self, request, pk=None):
        """初审 / 银行审核 / 组长审核, whichever stage the declaration is at: approve, return (to fix) or reject."""
        data = _input(ReviewInputSerializer, request)
        declaration = services.declaration_review(
            actor=request.user,
            declaration_id=_pk(self),
            decision=data["decision"],
            comment=data["comment"],
        )
        return _declaration_out(request, declaration.pk)

    @extend_schema(request=BulkReviewInputSerializer, responses=_responses(BulkReviewOutputSerializer))
    @action(detail=False, methods=["post"], url_path="bulk-review")
    def bulk_review(self, request):
        """Review many at once; each is its own transaction and is reported on its own."""
        data = _input(BulkReviewInputSerializer, request)
        results = services.declarations_review_bulk(
            actor=request.user,
            declaration_ids=list(dict.fromkeys(data["ids"])),
            decision=data["decision"],
            comment=data["comment"],
        )
        items = [{"id": i, "ok": r == "ok", "message": "" if r == "ok" else r} for i, r in results.items()]
        done = sum(1 for item in items if item["ok"])
        return Response({"approved_or_done": done, "refused": len(items) - done, "results": items})

    @extend_schema(
        request=BankRecommendInputSerializer,
        responses=_responses(DeclarationDetailOutputSerializer, 201),
        description=_doc(Action.BANK_RECOMMEND),
    )
    @action(detail=False, methods=["post"], url_path="bank-recommend")
    def bank_recommend(self, request):
        """银行推荐: a bank recommends an entity it may see to the task force (starts at 待初审).
        An entity outside the bank's reach answers 404 exactly like an unknown id. The answer
        is read back inside the same transaction as the write: it is given for a committed
        declaration, or nothing is committed."""
        data = _input(BankRecommendInputSerializer, request)
        with transaction.atomic():
            declaration = services.declaration_recommend_by_bank(
                actor=request.user,
                entity_id=data["entity_id"],
                amount=data["amount"],
                term_months=data["term_months"],
                purpose=data["purpose"],
                note=data["note"],
            )
            return _declaration_out(request, declaration.pk, status.HTTP_201_CREATED)

    @extend_schema(
        request={"multipart/form-data": ImportInputSerializer},
        responses=_responses(ImportSummarySerializer),
        description="批量申报: 正确的行导入, 有误的行逐行报告(行号、列名、原因)。文件无法读取或缺少表头时返回 400 且"
        "不导入。",
    )
    @action(detail=False, methods=["post"], url_path="import", parser_classes=[MultiPartParser, FormParser])
    @upload_limit(IMPORT_MAX_BYTES)  # refused by Content-Length above it
    def import_file(self, request):
        upload = request.FILES.get("file")
        if upload is None:
            raise ApplicationError("请选择要导入的文件", field_errors={"file": ["请选择要导入的文件"]})
        if upload.size > IMPORT_MAX_BYTES:
            raise ApplicationError("文件超过 20 MB, 请分批导入", field_errors={"file": ["文件超过 20 MB"]})
        try:
            summary = declarations_import(actor=request.user, content=upload.read(), file_name=upload.name)
        except DeclarationImportError as exc:
            raise ApplicationError(str(exc), field_errors={"file": [str(exc)]}) from None
        return Response(summary)

    @extend_schema(responses={(200, XLSX): OpenApiTypes.BINARY})
    @action(detail=False, methods=["get"], url_path="import-template", renderer_classes=FILE_RENDERERS)
    def import_template(self, request):
        return spreadsheets.deliver(
            request,
            "declaration_template",
            spreadsheets.File(declaration_import_template(), "批量申报模板.xlsx", "xlsx"),
        )

    @extend_schema(methods=["GET"], responses=_responses(MaterialOutputSerializer(many=True)))
    @extend_schema(
        methods=["POST"],
        request={"multipart/form-data": MaterialUploadInputSerializer},
        responses=_responses(MaterialOutputSerializer, 201),
    )
    @action(detail=True, methods=["get", "post"], parser_classes=[MultiPartParser, FormParser])
    def materials(self, request, pk=None):
        """申报材料: list, or upload one file (PDF/JPG/PNG, ≤ 10 MB, checked by content)."""
        if request.method == "POST":
            material = materials.material_upload(
                actor=request.user, declaration_id=_pk(self), uploaded_file=request.FILES.get("file")
            )
            return Response(MaterialOutputSerializer(material).data, status=status.HTTP_201_CREATED)
        items = materials.material_list(actor=request.user, declaration_id=_pk(self))
        return Response(MaterialOutputSerializer(items, many=True).data)

    @extend_schema(responses=_responses(EventOutputSerializer(many=True)))
    @action(detail=True, methods=["get"])
    def events(self, request, pk=None):
        """The timeline: every step of the declaration and of the recommendations you may see."""
        if not restrict(Declaration.objects.all(), request.user, VIEW).filter(pk=_pk(self)).exists():
            raise ApplicationError("申报不存在或您无权查看", code="not_found")
        events = (
            restrict(WorkflowEvent.objects.all(), request.user, VIEW)
            .filter(declaration_id=_pk(self))
            .select_related("actor")
            .order_by("created_at", "id")
        )
        return Response(EventOutputSerializer(events, many=True).data)


# --- materials -----------------------------------------------------------------------------


class MaterialViewSet(RestrictedViewSetMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """One material's metadata, and its download (permission-checked, audited)."""

    queryset = DeclarationMaterial.objects.select_related("uploaded_by")
    serializer_class = MaterialOutputSerializer
    lookup_value_regex = r"\d+"

    @extend_schema(responses={(200, "application/octet-stream"): OpenApiTypes.BINARY, 404: ERRORS[404]})
    @action(detail=True, methods=["get"], renderer_classes=FILE_RENDERERS)
    def download(self, request, pk=None):
        opened = materials.material_open(actor=request.user, material_id=_pk(self), request=request)
        return FileResponse(opened.file, as_attachment=True, filename=opened.filename, content_type=opened.content_type)


# --- batches -------------------------------------------------------------------------------


class BatchDeclarationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    entity = serializers.CharField(source="entity.name")
    state = serializers.CharField()
    state_display = serializers.CharField(source="get_state_display")


class BatchLeadSerializer(LeadBriefSerializer):
    entity = serializers.CharField(source="entity.name")


class BatchOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    state = serializers.CharField()
    state_display = serializers.CharField(source="get_state_display")
    region_code = serializers.CharField(source="region_id")
    task_force = serializers.IntegerField(source="task_force_id")
    created_at = serializers.DateTimeField()
    created_by = serializers.SerializerMethodField()
    pushed_at = serializers.DateTimeField(allow_null=True)
    pushed_by = serializers.SerializerMethodField()
    declaration_count = serializers.IntegerField()
    recommendation_count = serializers.IntegerField()

    def get_created_by(self, obj) -> str | None:
        return _user_name(obj.created_by)

    def get_pushed_by(self, obj) -> str | None:
        return _user_name(obj.pushed_by)


class BatchDetailOutputSerializer(BatchOutputSerializer):
    declarations = serializers.SerializerMethodField()
    recommendations = serializers.SerializerMethodField()

    @extend_schema_field(BatchDeclarationSerializer(many=True))
    def get_declarations(self, obj):
        items = restrict(Declaration.objects.filter(batch=obj), self.context["request"].user, VIEW).select_related(
            "entity"
        )
        return BatchDeclarationSerializer(items.order_by("id"), many=True).data

    @extend_schema_field(BatchLeadSerializer(many=True))
    def get_recommendations(self, obj):
        items = restrict(Recommendation.objects.filter(batch=obj), self.context["request"].user, VIEW)
        return BatchLeadSerializer(items.select_related("entity", "bank", "branch").order_by("id"), many=True).data


class SignoffInputSerializer(serializers.Serializer):
    declaration_ids = bounds.IdListField(allow_empty=True)
    title = serializers.CharField(allow_blank=True, default="", max_length=128)


def _batch_out(request, batch_id: int, status_code: int = 200) -> Response:
    batch = _batch_queryset(restrict(RecommendationBatch.objects.all(), request.user, VIEW)).get(pk=batch_id)
    return Response(BatchDetailOutputSerializer(batch, context={"request": request}).data, status=status_code)


def _batch_queryset(qs):
    return qs.select_related("created_by", "pushed_by").annotate(
        declaration_count=Count("declarations", distinct=True),
        recommendation_count=Count("recommendations", distinct=True),
    )


class BatchViewSet(
    PolicyGateMixin, RestrictedViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """推荐清单批次: sign off reviewed declarations into a batch, push it (once)."""

    policy_actions = {"signoff": (Action.SIGNOFF,), "push": (Action.PUSH,)}

    queryset = RecommendationBatch.objects.order_by("-created_at", "-id")
    serializer_class = BatchOutputSerializer
    filterset_fields = ["state"]
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        return _batch_queryset(super().get_queryset())

    def get_serializer_class(self):
        return BatchDetailOutputSerializer if self.action == "retrieve" else BatchOutputSerializer

    @extend_schema(
        request=SignoffInputSerializer,
        responses=_responses(BatchDetailOutputSerializer, 201),
        description=_doc(Action.SIGNOFF),
    )
    @action(detail=False, methods=["post"])
    def signoff(self, request):
        """召集人签字确认: lead-approved declarations become a new batch of the 推荐清单."""
        data = _input(SignoffInputSerializer, request)
        batch = services.batch_signoff(
            actor=request.user,
            declaration_ids=list(dict.fromkeys(data["declaration_ids"])),
            title=data["title"],
        )
        return _batch_out(request, batch.pk, status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=_responses(BatchDetailOutputSerializer), description=_doc(Action.PUSH))
    @action(detail=True, methods=["post"])
    def push(self, request, pk=None):
        """Push the batch to the intended banks' serving branches. Pushing twice pushes once (409)."""
        batch = services.batch_push(actor=request.user, batch_id=_pk(self))
        return _batch_out(request, batch.pk)


# --- leads (recommendations) ---------------------------------------------------------------


class DeclineReasonOutputSerializer(serializers.Serializer):
    code = serializers.CharField()
    label = serializers.CharField()
    curable = serializers.BooleanField()
    advice = serializers.CharField()


class NeedSerializer(serializers.Serializer):
    declaration = serializers.IntegerField(source="pk")
    amount = serializers.IntegerField(help_text="融资需求(元)")
    term_months = serializers.IntegerField()
    purpose = serializers.CharField()


class UserBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    name = serializers.SerializerMethodField()

    def get_name(self, obj) -> str:
        return obj.get_full_name() or obj.username


class LeadOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    batch = serializers.IntegerField(source="batch_id")
    entity = EntityBriefSerializer()
    county_code = serializers.CharField(source="region_id")
    county_name = serializers.CharField(source="region.name")
    bank = BankBriefSerializer()
    branch_id = serializers.IntegerField()
    branch_name = serializers.CharField(source="branch.name")
    product = serializers.SerializerMethodField()
    need = NeedSerializer(source="declaration")
    state = serializers.CharField()
    state_display = serializers.CharField(source="get_state_display")
    assigned_to = UserBriefSerializer(allow_null=True)
    pushed_at = serializers.DateTimeField()
    age_days = serializers.SerializerMethodField()
    contacted_at = serializers.DateTimeField(allow_null=True)
    contact_channel = serializers.CharField()
    contact_note = serializers.CharField()
    materials_complete_at = serializers.DateTimeField(allow_null=True)
    decided_at = serializers.DateTimeField(allow_null=True)
    credit_amount = serializers.IntegerField(allow_null=True, help_text="授信金额(元)")
    rate_percent = serializers.DecimalField(max_digits=6, decimal_places=3, allow_null=True)
    credit_term_months = serializers.IntegerField(allow_null=True)
    guarantee = serializers.CharField()
    is_credit_loan = serializers.BooleanField(allow_null=True)
    is_first_loan = serializers.BooleanField(allow_null=True)
    decline_reason = DeclineReasonOutputSerializer(allow_null=True)
    decline_note = serializers.CharField()
    disbursed_total = serializers.IntegerField(help_text="累计放款(元)")
    removed_at = serializers.DateTimeField(allow_null=True)
    removed_reason = serializers.CharField()
    satisfaction = serializers.IntegerField(allow_null=True)
    satisfaction_comment = serializers.CharField()
    override_reason = serializers.CharField(help_text="超限审批理由(授信超出产品或需求限额时, 由银行管理员填写)")
    override_exceeded = serializers.ListField(child=serializers.CharField(), help_text="超出的限额")
    override_by = serializers.SerializerMethodField()

    def get_override_by(self, obj) -> str | None:
        return _user_name(obj.override_by)

    def get_product(self, obj) -> str | None:
        version = obj.product_version
        return version.product.name if version is not None else None

    def get_age_days(self, obj) -> int:
        return (timezone.localdate() - timezone.localtime(obj.pushed_at).date()).days


class DisbursementOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    amount = serializers.IntegerField(help_text="放款金额(元)")
    disbursed_on = serializers.DateField()
    created_at = serializers.DateTimeField()


class CoachingOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    recommendation = serializers.IntegerField(source="recommendation_id")
    note = serializers.CharField()
    actor = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()

    def get_actor(self, obj) -> str | None:
        return _user_name(obj.actor)


class LeadDetailOutputSerializer(LeadOutputSerializer):
    disbursements = DisbursementOutputSerializer(many=True)
    coachings = CoachingOutputSerializer(many=True)


class AssignInputSerializer(serializers.Serializer):
    ids = bounds.IdListField(min_length=1, max_length=500)
    manager_id = bounds.IdField()


class AssignOutputSerializer(serializers.Serializer):
    assigned = serializers.IntegerField()


class ContactInputSerializer(serializers.Serializer):
    contacted_at = serializers.DateTimeField(required=False, allow_null=True, default=None, help_text="默认为现在")
    channel = serializers.ChoiceField(choices=ContactChannel.choices, default=ContactChannel.PHONE)
    note = serializers.CharField(allow_blank=True, default="", max_length=2000)


class ApproveInputSerializer(serializers.Serializer):
    credit_amount = bounds.IntegerField(field=bounds.column(Recommendation, "credit_amount"), help_text="授信金额(元)")
    rate_percent = bounds.DecimalField(field=bounds.column(Recommendation, "rate_percent"), help_text="年利率(%)")
    term_months = bounds.IntegerField(
        field=bounds.column(Recommendation, "credit_term_months"), help_text="授信期限(月)"
    )
    guarantee = serializers.ChoiceField(choices=Guarantee.choices)
    is_credit_loan = serializers.BooleanField()
    is_first_loan = serializers.BooleanField()
    override_reason = serializers.CharField(
        allow_blank=True,
        default="",
        max_length=1000,
        help_text="超限审批理由: 授信金额超过产品最高额度或融资需求、利率或期限超出产品范围时必填, 仅银行管理员可超"
        "限审批",
    )


class DeclineInputSerializer(serializers.Serializer):
    reason_code = serializers.CharField(
        max_length=48, allow_blank=True, help_text="不予授信原因代码, 见 /api/v1/decline-reasons/"
    )
    note = serializers.CharField(allow_blank=True, default="", max_length=2000)


class DisburseInputSerializer(serializers.Serializer):
    amount = bounds.IntegerField(field=bounds.column(Disbursement, "amount"), help_text="放款金额(元)")
    disbursed_on = serializers.DateField()


class NoteInputSerializer(serializers.Serializer):
    note = serializers.CharField(allow_blank=True, default="", max_length=2000)


class RemoveInputSerializer(serializers.Serializer):
    reason = serializers.CharField(allow_blank=True, max_length=2000, help_text="移出原因(如提供虚假材料、挪用资金)")


class RedirectInputSerializer(serializers.Serializer):
    bank_code = serializers.CharField(max_length=32)
    comment = serializers.CharField(allow_blank=True, default="", max_length=2000)


class RateInputSerializer(serializers.Serializer):
    score = bounds.IntegerField(field=bounds.column(Recommendation, "satisfaction"), help_text="1–5")
    comment = serializers.CharField(allow_blank=True, default="", max_length=2000)


class LeadFilter(django_filters.FilterSet):
    state = django_filters.CharFilter(
        method="filter_state", help_text="状态, 可逗号分隔多个: " + ", ".join(RecommendationState.values)
    )
    county = django_filters.CharFilter(method="filter_county", help_text="区划代码或前缀(140525 / 1405)")
    product = django_filters.CharFilter(field_name="product_version__product__code", help_text="产品代码")
    bank = django_filters.CharFilter(field_name="bank__code", help_text="银行代码")
    branch = bounds.IdFilter(method="filter_branch", help_text="承办机构编号(含下级机构)")
    amount_min = bounds.IntegerFilter(
        field_name="declaration__amount",
        lookup_expr="gte",
        column=bounds.column(Declaration, "amount"),
        help_text="融资需求下限(元)",
    )
    amount_max = bounds.IntegerFilter(
        field_name="declaration__amount",
        lookup_expr="lte",
        column=bounds.column(Declaration, "amount"),
        help_text="融资需求上限(元)",
    )
    assigned_to = bounds.IdFilter(field_name="assigned_to_id")
    unassigned = django_filters.BooleanFilter(field_name="assigned_to", lookup_expr="isnull")
    batch = bounds.IdFilter(field_name="batch_id")
    declaration = bounds.IdFilter(field_name="declaration_id")
    q = django_filters.CharFilter(method="filter_q", help_text="经营主体名称或统一社会信用代码")

    class Meta:
        model = Recommendation
        fields = [
            "state",
            "county",
            "product",
            "bank",
            "branch",
            "amount_min",
            "amount_max",
            "assigned_to",
            "unassigned",
            "batch",
            "declaration",
            "q",
        ]

    def filter_state(self, queryset, name, value):
        return queryset.filter(state__in=[v.strip() for v in value.split(",") if v.strip()])

    def filter_county(self, queryset, name, value):
        value = value.strip()
        return (
            queryset.filter(region_range_q(value, "region_id"))
            if value.isdigit() and len(value) in (2, 4, 6)
            else queryset.none()
        )

    def filter_branch(self, queryset, name, value):
        path = BankBranch.objects.filter(pk=value).values_list("organisation__path", flat=True).first()
        return queryset.filter(branch__organisation__path__startswith=path) if path else queryset.none()

    def filter_q(self, queryset, name, value):
        return queryset.filter(Q(entity__name__icontains=value) | Q(entity__uscc=value.strip().upper()))


def _lead_queryset(qs):
    return qs.select_related(
        "entity",
        "region",
        "bank",
        "branch",
        "assigned_to",
        "declaration",
        "decline_reason",
        "product_version__product",
        "override_by",
    )


def _lead_out(request, recommendation_id: int, status_code: int = 200) -> Response:
    lead = (
        _lead_queryset(restrict(Recommendation.objects.all(), request.user, VIEW))
        .prefetch_related("disbursements", "coachings__actor")
        .get(pk=recommendation_id)
    )
    return Response(LeadDetailOutputSerializer(lead).data, status=status_code)


class LeadViewSet(
    PolicyGateMixin, RestrictedViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """线索 (recommendations): a branch's inbox and the work on each lead, for the bank's own
    systems as well as the pages. Account managers see and work only the leads assigned to them."""

    policy_actions = {
        "assign": (Action.ASSIGN,),
        "contact": (Action.CONTACT,),
        "materials_complete": (Action.MATERIALS_COMPLETE,),
        "approve": (Action.APPROVE,),
        "decline": (Action.DECLINE,),
        "disburse": (Action.DISBURSE,),
        "not_drawn": (Action.NOT_DRAWN,),
        "remove": (Action.REMOVE,),
        "redirect": (Action.REDIRECT,),
        "coaching": (Action.COACH,),
        "rate": (Action.RATE,),
    }

    queryset = Recommendation.objects.order_by("-pushed_at", "-id")
    serializer_class = LeadOutputSerializer
    filterset_class = LeadFilter
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        qs = _lead_queryset(super().get_queryset())
        return qs.prefetch_related("disbursements", "coachings__actor") if self.action == "retrieve" else qs

    def get_serializer_class(self):
        return LeadDetailOutputSerializer if self.action == "retrieve" else LeadOutputSerializer

    @extend_schema(request=AssignInputSerializer, responses=_responses(AssignOutputSerializer))
    @action(detail=False, methods=["post"])
    def assign(self, request):
        """Assign leads (many at once) to an account manager of the branch or a sub-branch."""
        data = _input(AssignInputSerializer, request)
        count = services.recommendations_assign(
            actor=request.user,
            recommendation_ids=list(dict.fromkeys(data["ids"])),
            manager_id=data["manager_id"],
        )
        return Response({"assigned": count})

    @extend_schema(request=ContactInputSerializer, responses=_responses(LeadDetailOutputSerializer))
    @action(detail=True, methods=["post"])
    def contact(self, request, pk=None):
        data = _input(ContactInputSerializer, request)
        services.recommendation_contact(
            actor=request.user,
            recommendation_id=_pk(self),
            contacted_at=data["contacted_at"],
            channel=data["channel"],
            note=data["note"],
        )
        return _lead_out(request, _pk(self))

    @extend_schema(request=None, responses=_responses(LeadDetailOutputSerializer))
    @action(detail=True, methods=["post"], url_path="materials-complete")
    def materials_complete(self, request, pk=None):
        services.recommendation_materials_complete(actor=request.user, recommendation_id=_pk(self))
        return _lead_out(request, _pk(self))

    @extend_schema(
        request=ApproveInputSerializer,
        responses=_responses(LeadDetailOutputSerializer),
        description=_doc(Action.APPROVE) + " 超出限额: " + _doc(Action.APPROVE_OVERRIDE),
    )
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        data = _input(ApproveInputSerializer, request)
        services.recommendation_approve(actor=request.user, recommendation_id=_pk(self), **data)
        return _lead_out(request, _pk(self))

    @extend_schema(request=DeclineInputSerializer, responses=_responses(LeadDetailOutputSerializer))
    @action(detail=True, methods=["post"])
    def decline(self, request, pk=None):
        data = _input(DeclineInputSerializer, request)
        services.recommendation_decline(
            actor=request.user, recommendation_id=_pk(self), reason_code=data["reason_code"], note=data["note"]
        )
        return _lead_out(request, _pk(self))

    @extend_schema(request=DisburseInputSerializer, responses=_responses(LeadDetailOutputSerializer, 201))
    @action(detail=True, methods=["post"])
    def disburse(self, request, pk=None):
        """Record one drawdown (repeatable; never above the approved amount)."""
        data = _input(DisburseInputSerializer, request)
        services.recommendation_disburse(
            actor=request.user, recommendation_id=_pk(self), amount=data["amount"], disbursed_on=data["disbursed_on"]
        )
        return _lead_out(request, _pk(self), status.HTTP_201_CREATED)

    @extend_schema(request=NoteInputSerializer, responses=_responses(LeadDetailOutputSerializer))
    @action(detail=True, methods=["post"], url_path="not-drawn")
    def not_drawn(self, request, pk=None):
        """The entity gave up the approved credit (未提款)."""
        data = _input(NoteInputSerializer, request)
        services.recommendation_not_drawn(actor=request.user, recommendation_id=_pk(self), note=data["note"])
        return _lead_out(request, _pk(self))

    @extend_schema(request=RemoveInputSerializer, responses=_responses(LeadDetailOutputSerializer))
    @action(detail=True, methods=["post"])
    def remove(self, request, pk=None):
        """Remove from the 推荐清单 with a reason (false materials, misuse); stops its clocks."""
        data = _input(RemoveInputSerializer, request)
        services.recommendation_remove(actor=request.user, recommendation_id=_pk(self), reason=data["reason"])
        return _lead_out(request, _pk(self))

    @extend_schema(
        request=RedirectInputSerializer,
        responses=_responses(DeclarationDetailOutputSerializer, 201),
        description=_doc(Action.REDIRECT) + " 生成一份改推申报草稿(不直接推送): 须企业同意向新银行共享信息并提交,"
        " 经专班三级审核和召集人签字确认后推送; 同一企业同时对接的银行不超过 2 家。",
    )
    @action(detail=True, methods=["post"])
    def redirect(self, request, pk=None):
        """After a decline, propose another bank: answers the new draft declaration (改推)."""
        data = _input(RedirectInputSerializer, request)
        draft = services.recommendation_redirect(
            actor=request.user, recommendation_id=_pk(self), bank_code=data["bank_code"], comment=data["comment"]
        )
        return _declaration_out(request, draft.pk, status.HTTP_201_CREATED)

    @extend_schema(request=NoteInputSerializer, responses=_responses(CoachingOutputSerializer, 201))
    @action(detail=True, methods=["post"])
    def coaching(self, request, pk=None):
        """辅导: the task force's follow-up after a decline."""
        data = _input(NoteInputSerializer, request)
        coaching = services.coaching_record(actor=request.user, recommendation_id=_pk(self), note=data["note"])
        return Response(CoachingOutputSerializer(coaching).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=RateInputSerializer, responses=_responses(LeadDetailOutputSerializer))
    @action(detail=True, methods=["post"])
    def rate(self, request, pk=None):
        """The enterprise rates the bank's service after its decision (1–5, once)."""
        data = _input(RateInputSerializer, request)
        services.satisfaction_rate(
            actor=request.user, recommendation_id=_pk(self), score=data["score"], comment=data["comment"]
        )
        return _lead_out(request, _pk(self))


# --- visits --------------------------------------------------------------------------------


class VisitOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    entity = EntityBriefSerializer()
    region_code = serializers.CharField(source="region_id")
    visited_on = serializers.DateField()
    people = serializers.CharField()
    findings = serializers.CharField()
    need_found = serializers.BooleanField()
    recorded_by = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()

    def get_recorded_by(self, obj) -> str | None:
        return _user_name(obj.recorded_by)


class VisitInputSerializer(serializers.Serializer):
    entity_id = bounds.IdField()
    visited_on = serializers.DateField()
    people = serializers.CharField(max_length=255)
    findings = serializers.CharField(allow_blank=True, default="", max_length=5000)
    need_found = serializers.BooleanField(default=False)


class VisitFilter(django_filters.FilterSet):
    entity = bounds.IdFilter(field_name="entity_id")
    need_found = django_filters.BooleanFilter()

    class Meta:
        model = Visit
        fields = ["entity", "need_found"]


class VisitViewSet(
    PolicyGateMixin, RestrictedViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """走访记录."""

    policy_actions = {"create": (Action.VISIT,)}
    queryset = Visit.objects.select_related("entity", "recorded_by").order_by("-visited_on", "-id")
    serializer_class = VisitOutputSerializer
    filterset_class = VisitFilter
    lookup_value_regex = r"\d+"

    @extend_schema(
        request=VisitInputSerializer, responses=_responses(VisitOutputSerializer, 201), description=_doc(Action.VISIT)
    )
    def create(self, request):
        data = _input(VisitInputSerializer, request)
        visit = services.visit_record(actor=request.user, **data)
        visit = Visit.objects.select_related("entity", "recorded_by").get(pk=visit.pk)
        return Response(VisitOutputSerializer(visit).data, status=status.HTTP_201_CREATED)


# --- decline reasons -----------------------------------------------------------------------


class DeclineReasonViewSet(RestrictedViewSetMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """The maintained catalogue of 不予授信 reasons (code, label, whether and how it can be fixed)."""

    queryset = DeclineReason.objects.filter(is_active=True).order_by("ordering", "code")
    serializer_class = DeclineReasonOutputSerializer
    pagination_class = None
    filter_backends: list = []


# --- notifications -------------------------------------------------------------------------


class NotificationOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    body = serializers.CharField()
    url = serializers.CharField()
    read_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()


class ReadAllOutputSerializer(serializers.Serializer):
    updated = serializers.IntegerField()


class UnreadCountSerializer(serializers.Serializer):
    unread = serializers.IntegerField()


class NotificationFilter(django_filters.FilterSet):
    unread = django_filters.BooleanFilter(field_name="read_at", lookup_expr="isnull", help_text="true: 只看未读")

    class Meta:
        model = Notification
        fields = ["unread"]


class NotificationViewSet(RestrictedViewSetMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """Your own in-portal notifications."""

    queryset = Notification.objects.order_by("-created_at", "-id")
    serializer_class = NotificationOutputSerializer
    filterset_class = NotificationFilter
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        return selectors.notification_list(user=self.request.user)

    @extend_schema(request=None, responses=_responses(NotificationOutputSerializer))
    @action(detail=True, methods=["post"])
    def read(self, request, pk=None):
        notifications.notifications_mark_read(actor=request.user, notification_ids=[_pk(self)])
        return Response(
            NotificationOutputSerializer(selectors.notification_list(user=request.user).get(pk=_pk(self))).data
        )

    @extend_schema(request=None, responses=_responses(ReadAllOutputSerializer))
    @action(detail=False, methods=["post"], url_path="read-all")
    def read_all(self, request):
        return Response({"updated": notifications.notifications_mark_read(actor=request.user)})

    @extend_schema(responses=UnreadCountSerializer)
    @action(detail=False, methods=["get"], url_path="unread-count")
    def unread_count(self, request):
        return Response({"unread": selectors.notification_unread_count(user=request.user)})
