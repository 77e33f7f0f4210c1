"""Declarations (申报), their reviews, bank recommendations, imports and materials."""

from __future__ import annotations

import django_filters
from django.db import transaction
from django.db.models import Q
from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from entities.restrictions import region_range_q
from matching import criteria, materials, selectors, services, workflow
from matching.apis.common import (
    ERRORS,
    FILE_RENDERERS,
    IMPORT_MAX_BYTES,
    BankBriefSerializer,
    EntityBriefSerializer,
    IntendedBankSerializer,
    PolicyGateMixin,
    UserNameField,
    _doc,
    _input,
    _pk,
    _responses,
)
from matching.declaration_import import DeclarationImportError, declaration_import_template, declarations_import
from matching.models import (
    BASIC_CRITERIA,
    REPAYMENT_CHOICES,
    REPAYMENT_UNDECIDED,
    Declaration,
    DeclarationMaterial,
    DeclarationSource,
    Recommendation,
    ReviewDecision,
    WorkflowEvent,
)
from matching.workflow import Action
from portal import bounds, spreadsheets
from portal.api import ChoiceLabelField, RestrictedViewSetMixin
from portal.middleware import upload_limit
from portal.services import ApplicationError
from portal.spreadsheets import XLSX
from portal.tenancy import VIEW, restrict, scope_for

# --- declarations --------------------------------------------------------------------------


class ReviewStepOutputSerializer(serializers.Serializer):
    stage = serializers.CharField()
    stage_display = ChoiceLabelField("stage")
    decision = serializers.CharField()
    decision_display = ChoiceLabelField("decision")
    comment = serializers.CharField()
    actor = UserNameField()
    created_at = serializers.DateTimeField()


class LeadBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    bank = BankBriefSerializer()
    branch = serializers.CharField(source="branch.name")
    state = serializers.CharField()
    state_display = ChoiceLabelField("state")
    pushed_at = serializers.DateTimeField()
    decided_at = serializers.DateTimeField(allow_null=True)


class DeclarationOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    entity = EntityBriefSerializer()
    region_code = serializers.CharField(source="region_id")
    region_name = serializers.CharField(source="region.name")
    task_force = serializers.IntegerField(source="task_force_id")
    source = serializers.CharField()
    source_display = ChoiceLabelField("source")
    source_bank = serializers.CharField(source="source_bank.code", default=None, allow_null=True)
    state = serializers.CharField()
    state_display = ChoiceLabelField("state")
    amount = serializers.IntegerField(help_text="融资金额(元)")
    term_months = serializers.IntegerField()
    purpose = serializers.CharField()
    repayment = serializers.CharField(help_text="还款方式代码(见申报输入的 repayment); 空字符串为未定")
    repayment_display = ChoiceLabelField("repayment", help_text=f"还款方式(中文); 空字符串为{REPAYMENT_UNDECIDED}")
    banks = IntendedBankSerializer(source="intended_banks", many=True)
    basic_criteria = serializers.JSONField()
    criteria_standing = serializers.SerializerMethodField(
        help_text="五项基本标准: met 均已满足; exception_pending 有未满足, 例外理由待专班组长确认; "
        "exception_confirmed 例外已确认; unmet 有未满足且未说明例外理由"
    )
    criteria_exception = serializers.CharField(help_text="五项基本标准例外理由(标准均满足时为空)")
    criteria_exception_confirmed_at = serializers.DateTimeField(allow_null=True, help_text="专班组长确认例外的时间")
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

    def get_criteria_standing(self, obj) -> str:
        return criteria.standing(obj).value


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
        # the files the caller may see (a bank: not those another bank collected on its own lead)
        return restrict(DeclarationMaterial.objects.filter(declaration=obj), self.context["request"].user, VIEW).count()


REPAYMENT_HELP = (
    "还款方式(选填): "
    + ", ".join(f"{code}={label}" for code, label in REPAYMENT_CHOICES)
    + f"; 空字符串为{REPAYMENT_UNDECIDED}(产品对还款方式的条件按信息不全处理, "
    "如晋享贷: 按月结息、到期一次性还本的授信期限最长不超过 1 年)"
)
REPAYMENT_INVALID = (
    "「{input}」不是可选的还款方式, 应为 "
    + "、".join(f"{code}({label})" for code, label in REPAYMENT_CHOICES)
    + f" 之一, 或空字符串({REPAYMENT_UNDECIDED})"
)


def repayment_input(**kwargs) -> serializers.ChoiceField:
    """还款方式 of a need in the API (申报 create and edit, 银行推荐): a code of the engine's
    need.repayment, or "" for 未定; an unknown code is a field error in Chinese."""
    return serializers.ChoiceField(
        choices=REPAYMENT_CHOICES,
        allow_blank=True,
        required=False,
        help_text=REPAYMENT_HELP,
        error_messages={"invalid_choice": REPAYMENT_INVALID, "null": "还款方式不能为 null, 未定请传空字符串"},
        **kwargs,
    )


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
    repayment = repayment_input(default="")
    criteria_exception = serializers.CharField(
        allow_blank=True,
        default="",
        max_length=2000,
        help_text="五项基本标准有未满足时仍申报的例外理由; 未填写则不能提交。提交后须专班组长确认",
    )
    consent = serializers.BooleanField(default=False, help_text="企业同意向意向银行共享信息")
    submit = serializers.BooleanField(default=False, help_text="创建后立即提交初审")


class DeclarationUpdateInputSerializer(DeclarationInputBase):
    repayment = repayment_input(default=None)  # not sent: the recorded mode is kept
    criteria_exception = serializers.CharField(
        allow_blank=True,
        allow_null=True,
        required=False,
        default=None,
        max_length=2000,
        help_text="例外理由; 不传(null)则保留原理由。修改标准或理由后, 原组长确认失效",
    )
    consent = serializers.BooleanField(
        required=False, allow_null=True, default=None, help_text="true: 同时记录企业同意共享信息; 新增银行时原同意失效"
    )


class WithdrawInputSerializer(serializers.Serializer):
    reason = serializers.CharField(allow_blank=True, default="", max_length=1000)


class CorrectionReasonInputSerializer(serializers.Serializer):
    reason = serializers.CharField(
        allow_blank=True, default="", max_length=500, help_text="更正原因(必填): 为何此前的登记有误"
    )


class ReviewInputSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=ReviewDecision.choices)
    comment = serializers.CharField(allow_blank=True, default="", max_length=2000)


class ConfirmExceptionInputSerializer(serializers.Serializer):
    comment = serializers.CharField(allow_blank=True, default="", max_length=2000)


class CriterionBriefSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    met = serializers.BooleanField()
    evidence = serializers.CharField()


class CriteriaBriefSerializer(serializers.Serializer):
    items = CriterionBriefSerializer(many=True)
    met_count = serializers.IntegerField()
    unmet = serializers.ListField(child=serializers.CharField())
    standing = serializers.CharField()
    standing_label = serializers.CharField()
    exception = serializers.CharField()
    exception_confirmed_at = serializers.DateTimeField(allow_null=True)


class EligibilityBriefSerializer(serializers.Serializer):
    bank = serializers.CharField()
    bank_code = serializers.CharField()
    product = serializers.CharField()
    product_code = serializers.CharField()
    verdict = serializers.CharField(help_text="eligible / incomplete / ineligible")
    verdict_label = serializers.CharField(help_text="符合条件 / 信息不全 / 暂不符合(与申报详情页同一结论)")
    max_amount = serializers.IntegerField(allow_null=True, help_text="可贷最高额度(元)")
    reason = serializers.CharField(help_text="不符合或待核实的首要原因")


class ReviewBriefSerializer(serializers.Serializer):
    criteria = CriteriaBriefSerializer()
    eligibility = EligibilityBriefSerializer(many=True)
    eligible_count = serializers.IntegerField()
    warnings = serializers.ListField(child=serializers.CharField(), help_text="多头授信等提示")


class ReviewQueueItemSerializer(DeclarationOutputSerializer):
    review = serializers.SerializerMethodField()

    @extend_schema_field(ReviewBriefSerializer)
    def get_review(self, obj):
        return ReviewBriefSerializer(self.context["briefs"][obj.pk]).data


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
    repayment = repayment_input(default="")
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
    uploaded_by = UserNameField()
    uploaded_at = serializers.DateTimeField()
    download_url = serializers.SerializerMethodField()
    item = serializers.CharField(help_text="对应银行所需材料清单中的哪一项(可为空)")
    recommendation = serializers.IntegerField(
        source="recommendation_id", allow_null=True, help_text="银行在其线索上收集的材料: 线索编号; 企业上传的为空"
    )

    def get_download_url(self, obj) -> str:
        return f"/api/v1/materials/{obj.pk}/download/"


class MaterialUploadInputSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="PDF、JPG 或 PNG, 不超过 10 MB")
    item = serializers.CharField(
        required=False, allow_blank=True, max_length=200, help_text="对应银行所需材料清单中的哪一项(选填)"
    )


class EventOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    kind_display = ChoiceLabelField("kind", help_text="事件名称(中文)")
    recommendation = serializers.IntegerField(source="recommendation_id", allow_null=True)
    actor = UserNameField()
    data = serializers.JSONField()
    created_at = serializers.DateTimeField()


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
        "review_queue": workflow.QUEUES,
        "confirm_exception": (Action.CRITERIA_EXCEPTION_CONFIRM,),
        "batch_entry_correct": (Action.CORRECT_BATCH_ENTRY,),
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
            criteria_exception=data["criteria_exception"],
            consent=data["consent"],
            submit=data["submit"],
            repayment=data["repayment"],
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
            criteria_exception=data["criteria_exception"],
            consent=data["consent"],
            repayment=data["repayment"],
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
        request=CorrectionReasonInputSerializer,
        responses=_responses(DeclarationDetailOutputSerializer),
        description="更正: 将误签字列入批次的申报在批次推送前移出, 退回待签字(须填写更正原因)。"
        + _doc(Action.CORRECT_BATCH_ENTRY),
    )
    @action(detail=True, methods=["post"], url_path="batch-entry-correct")
    def batch_entry_correct(self, request, pk=None):
        data = _input(CorrectionReasonInputSerializer, request)
        declaration = services.batch_entry_correct(actor=request.user, declaration_id=_pk(self), reason=data["reason"])
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

    @extend_schema(
        request=ConfirmExceptionInputSerializer,
        responses=_responses(DeclarationDetailOutputSerializer),
        description=_doc(Action.CRITERIA_EXCEPTION_CONFIRM)
        + " 五项基本标准未全部满足、已填写例外理由的申报, 由专班组长明确确认; 确认前不能通过组长审核, 也不能批量通过。",
    )
    @action(detail=True, methods=["post"], url_path="confirm-exception")
    def confirm_exception(self, request, pk=None):
        """专班组长确认五项基本标准例外 (seed 004 三(五) 专班组长审核)."""
        data = _input(ConfirmExceptionInputSerializer, request)
        declaration = services.declaration_criteria_exception_confirm(
            actor=request.user, declaration_id=_pk(self), comment=data["comment"]
        )
        return _declaration_out(request, declaration.pk)

    @extend_schema(
        responses=_responses(ReviewQueueItemSerializer(many=True)),
        description="审核队列: 待本人角色审核(或签字)的申报, 每条附五项基本标准及例外、"
        "意向银行产品准入(按申报金额、期限和还款方式评估)和多头授信提示。",
    )
    @action(detail=False, methods=["get"], url_path="review-queue")
    def review_queue(self, request):
        scope = scope_for(request.user)
        qs = selectors.review_queue(user=request.user, role=scope.role if scope else "", q=request.GET.get("q") or None)
        page = self.paginate_queryset(qs)
        rows = list(page if page is not None else qs)
        context = {"request": request, "briefs": selectors.review_briefs(rows)}
        data = ReviewQueueItemSerializer(rows, many=True, context=context).data
        return self.get_paginated_response(data) if page is not None else Response(data)

    @extend_schema(request=BulkReviewInputSerializer, responses=_responses(BulkReviewOutputSerializer))
    @action(detail=False, methods=["post"], url_path="bulk-review")
    def bulk_review(self, request):
        """Review many at once; each is its own transaction and is reported on its own. A bulk
        approval refuses (with the reason) each declaration whose five basic criteria are not all
        met unless the lead confirmed its exception; the others proceed."""
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
        """银行推荐: a bank recommends an entity it may see to the task force: a draft that waits
        for the enterprise's consent and submission before the 初审.
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
                repayment=data["repayment"],
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
                actor=request.user,
                declaration_id=_pk(self),
                uploaded_file=request.FILES.get("file"),
                item=request.data.get("item", ""),
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
