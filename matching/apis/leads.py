"""Leads (推荐 to one bank): assignment, contact, the application materials (the bank's list,
材料已提交, 补充材料, 材料已收齐, the bank's own files), decisions, drawdowns."""

from __future__ import annotations

import django_filters
from django.db.models import Q
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from entities.restrictions import region_range_q
from matching import materials, services
from matching.apis.common import (
    BankBriefSerializer,
    EntityBriefSerializer,
    PolicyGateMixin,
    _doc,
    _input,
    _pk,
    _responses,
    _user_name,
)
from matching.apis.declarations import (
    CorrectionReasonInputSerializer,
    DeclarationDetailOutputSerializer,
    MaterialOutputSerializer,
    MaterialUploadInputSerializer,
    _declaration_out,
    repayment_input,
)
from matching.models import (
    ContactChannel,
    Declaration,
    Disbursement,
    Guarantee,
    LeadOrigin,
    MaterialsStage,
    Recommendation,
    RecommendationState,
)
from matching.selectors import lead_rows
from matching.services.materials import open_materials_clock
from matching.workflow import Action
from portal import bounds
from portal.api import ChoiceLabelField, RestrictedViewSetMixin
from portal.tenancy import VIEW, restrict
from products.models import BankBranch

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


class LeadMaterialsOutputSerializer(serializers.Serializer):
    """Where the lead's application materials stand (seed 004: the decision within 30 days of
    complete materials; the bank confirms or names what is missing within 5 working days of
    the submission, else the 30-day clock starts on its own)."""

    stage = serializers.ChoiceField(choices=MaterialsStage.choices, source="materials_stage")
    stage_display = ChoiceLabelField("materials_stage")
    required = serializers.ListField(
        child=serializers.CharField(), source="materials_required", help_text="银行列明的所需材料"
    )
    missing = serializers.ListField(
        child=serializers.CharField(), source="materials_missing", help_text="银行要求补充的材料"
    )
    note = serializers.CharField(source="materials_note")
    listed_at = serializers.DateTimeField(source="materials_listed_at", allow_null=True)
    submitted_at = serializers.DateTimeField(source="materials_submitted_at", allow_null=True)
    complete_at = serializers.DateTimeField(source="materials_complete_at", allow_null=True)
    auto_started = serializers.BooleanField(
        source="materials_auto_started", help_text="银行 5 个工作日内未确认, 30 日授信时限自动起算"
    )
    version = serializers.CharField(
        source="materials_version", help_text="材料状态版本: 办理时传回, 如已被他人变更则拒绝(409)"
    )


class DirectApplicationInputSerializer(serializers.Serializer):
    """直接申请 (seed 002 第5点: 小微“无贷户”授信申请原则上5个工作日内回复)."""

    entity_id = bounds.IdField(help_text="本企业(经营主体)编号")
    product_id = bounds.IdField(help_text="产品超市中的贷款产品编号")
    amount = bounds.IntegerField(field=bounds.column(Declaration, "amount"), help_text="申请金额(元), 正整数")
    term_months = bounds.IntegerField(field=bounds.column(Declaration, "term_months"), help_text="期限(月), 1–360")
    purpose = serializers.CharField(max_length=255, allow_blank=True, help_text="资金用途")
    repayment = repayment_input(default="")
    consent = serializers.BooleanField(default=False, help_text="同意向该银行共享本企业信息(必须同意)")


class LeadOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    batch = serializers.IntegerField(source="batch_id", allow_null=True, help_text="推荐批次; 直接申请为空")
    origin = serializers.CharField(help_text="来源: pushed 推荐清单推送, direct 直接申请")
    origin_display = ChoiceLabelField("origin")
    no_loan_entity = serializers.BooleanField(help_text="无贷户: 直接申请时在任何银行均无当前授信")
    entity = EntityBriefSerializer()
    county_code = serializers.CharField(source="region_id")
    county_name = serializers.CharField(source="region.name")
    bank = BankBriefSerializer()
    branch_id = serializers.IntegerField()
    branch_name = serializers.CharField(source="branch.name")
    branch_contact_name = serializers.CharField(
        source="branch.organisation.contact_name", help_text="承办机构联系人(机构管理员维护; 未指定为空)"
    )
    branch_contact_phone = serializers.CharField(
        source="branch.organisation.contact_phone", help_text="承办机构联系电话"
    )
    product = serializers.SerializerMethodField()
    need = NeedSerializer(source="declaration")
    state = serializers.CharField()
    state_display = ChoiceLabelField("state")
    assigned_to = UserBriefSerializer(allow_null=True)
    pushed_at = serializers.DateTimeField()
    age_days = serializers.SerializerMethodField()
    contacted_at = serializers.DateTimeField(allow_null=True)
    contact_channel = serializers.CharField()
    contact_note = serializers.CharField()
    materials_complete_at = serializers.DateTimeField(allow_null=True)
    materials = LeadMaterialsOutputSerializer(source="*")
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
    materials_confirm_due_at = serializers.SerializerMethodField(
        help_text="材料已提交、待银行确认时: 银行须确认收齐或要求补充的期限(到期自动起算 30 日授信时限)"
    )

    def get_materials_confirm_due_at(self, obj) -> str | None:
        clock = open_materials_clock(obj)
        return serializers.DateTimeField().to_representation(clock.due_at) if clock else None


class AssignInputSerializer(serializers.Serializer):
    ids = bounds.IdListField(min_length=1, max_length=500)
    manager_id = bounds.IdField()


class ContactRevealOutputSerializer(serializers.Serializer):
    operator_name = serializers.CharField(source="name", help_text="经营者姓名")
    operator_phone = serializers.CharField(source="phone", help_text="经营者手机号")
    consent_at = serializers.DateTimeField(allow_null=True, help_text="企业同意向意向银行共享信息的时间")


class AssignOutputSerializer(serializers.Serializer):
    assigned = serializers.IntegerField()


class ContactInputSerializer(serializers.Serializer):
    contacted_at = serializers.DateTimeField(required=False, allow_null=True, default=None, help_text="默认为现在")
    channel = serializers.ChoiceField(choices=ContactChannel.choices, default=ContactChannel.PHONE)
    note = serializers.CharField(allow_blank=True, default="", max_length=2000)


class VersionInputSerializer(serializers.Serializer):
    version = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=80,
        help_text="您办理时看到的材料状态版本(materials.version); 如已被他人变更则拒绝(409)",
    )


class MaterialsListInputSerializer(VersionInputSerializer):
    items = serializers.ListField(
        child=serializers.CharField(max_length=200, allow_blank=True),
        max_length=30,
        help_text="所需材料, 每项一个名称(1–30 项); 建议从产品材料清单开始",
    )
    note = serializers.CharField(allow_blank=True, default="", max_length=2000)


class MaterialsSubmitInputSerializer(VersionInputSerializer):
    note = serializers.CharField(allow_blank=True, default="", max_length=2000)


class MaterialsSupplementInputSerializer(VersionInputSerializer):
    missing = serializers.ListField(
        child=serializers.CharField(max_length=200, allow_blank=True),
        max_length=30,
        help_text="需补充的材料(清单中的项, 或清单外的新项, 新项并入清单)",
    )
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


class CorrectionInputSerializer(CorrectionReasonInputSerializer):
    version = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=80,
        help_text="您看到的线索版本(correction_version); 如线索已被他人更正或办理则拒绝(409)",
    )


class CorrectDecisionInputSerializer(CorrectionInputSerializer):
    credit_amount = bounds.IntegerField(field=bounds.column(Recommendation, "credit_amount"), help_text="授信金额(元)")
    rate_percent = bounds.DecimalField(field=bounds.column(Recommendation, "rate_percent"), help_text="年利率(%)")
    term_months = bounds.IntegerField(
        field=bounds.column(Recommendation, "credit_term_months"), help_text="授信期限(月)"
    )
    guarantee = serializers.ChoiceField(choices=Guarantee.choices)
    is_credit_loan = serializers.BooleanField()
    is_first_loan = serializers.BooleanField()


class CorrectDrawdownInputSerializer(CorrectionInputSerializer):
    disbursement_id = bounds.IdField(help_text="要更正的放款记录(本线索的)")
    amount = bounds.IntegerField(
        field=bounds.column(Disbursement, "amount"),
        required=False,
        allow_null=True,
        default=None,
        help_text="更正后的放款金额(元); 作废时不填",
    )
    void = serializers.BooleanField(default=False, help_text="作废该笔放款(误登记)")


class MaterialWithdrawInputSerializer(CorrectionInputSerializer):
    material_id = bounds.IdField(help_text="要撤回的本行上传的材料")


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
    origin = django_filters.ChoiceFilter(
        choices=LeadOrigin.choices, help_text="来源: pushed 推荐清单推送, direct 直接申请"
    )
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
            "origin",
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
    """A lead's row (matching.selectors.lead_rows) and what the serializer adds to it."""
    return lead_rows(qs).prefetch_related("branch__organisation", "product_version__product", "override_by")


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
        "contact_reveal": (Action.CONTACT_REVEAL,),
        "materials_complete": (Action.MATERIALS_COMPLETE,),
        "materials_list": (Action.MATERIALS_LIST,),
        "materials_submit": (Action.MATERIALS_SUBMIT,),
        "materials_supplement": (Action.MATERIALS_SUPPLEMENT,),
        "materials:POST": (Action.LEAD_MATERIALS_UPLOAD,),
        "approve": (Action.APPROVE,),
        "decline": (Action.DECLINE,),
        "disburse": (Action.DISBURSE,),
        "not_drawn": (Action.NOT_DRAWN,),
        "remove": (Action.REMOVE,),
        "redirect": (Action.REDIRECT,),
        "coaching": (Action.COACH,),
        "rate": (Action.RATE,),
        "correct_state": (Action.CORRECT_STATE,),
        "correct_decision": (Action.CORRECT_DECISION,),
        "correct_drawdown": (Action.CORRECT_DRAWDOWN,),
        "material_withdraw": (Action.MATERIAL_WITHDRAW,),
        "direct": (Action.DIRECT_APPLY,),
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

    @extend_schema(
        request=DirectApplicationInputSerializer,
        responses=_responses(LeadDetailOutputSerializer),
        description=_doc(Action.DIRECT_APPLY),
    )
    @action(detail=False, methods=["post"])
    def direct(self, request):
        """直接申请: the enterprise applies to one product of the 产品超市 for its own entity."""
        data = _input(DirectApplicationInputSerializer, request)
        lead = services.direct_application_create(actor=request.user, **data)
        return _lead_out(request, lead.pk, status.HTTP_201_CREATED)

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

    @extend_schema(
        request=None,
        responses=_responses(ContactRevealOutputSerializer),
        description=_doc(Action.CONTACT_REVEAL)
        + " 企业经营者姓名和手机号(企业申报时同意向意向银行共享), 仅分配到该线索的客户经理在线索办结前可查看;"
        + " 每次查看记入审计日志。",
    )
    @action(detail=True, methods=["post"], url_path="contact-reveal")
    def contact_reveal(self, request, pk=None):
        """查看企业联系方式 (audited)."""
        contact = services.recommendation_contact_reveal(
            actor=request.user, recommendation_id=_pk(self), request=request
        )
        return Response(ContactRevealOutputSerializer(contact).data)

    @extend_schema(request=VersionInputSerializer, responses=_responses(LeadDetailOutputSerializer))
    @action(detail=True, methods=["post"], url_path="materials-complete")
    def materials_complete(self, request, pk=None):
        """材料已收齐: the 30-day decision clock starts now."""
        data = _input(VersionInputSerializer, request)
        services.recommendation_materials_complete(
            actor=request.user, recommendation_id=_pk(self), version=data["version"] or None
        )
        return _lead_out(request, _pk(self))

    @extend_schema(
        request=MaterialsListInputSerializer,
        responses=_responses(LeadDetailOutputSerializer),
        description=_doc(Action.MATERIALS_LIST) + " 企业提交材料后, 须先确认收齐或要求补充, 才能再修改清单。",
    )
    @action(detail=True, methods=["post"], url_path="materials-list")
    def materials_list(self, request, pk=None):
        """列明所需材料: the bank lists (or, before the enterprise submits, rewrites) the materials it needs."""
        data = _input(MaterialsListInputSerializer, request)
        services.recommendation_materials_list(
            actor=request.user,
            recommendation_id=_pk(self),
            items=data["items"],
            note=data["note"],
            version=data["version"] or None,
        )
        return _lead_out(request, _pk(self))

    @extend_schema(
        request=MaterialsSubmitInputSerializer,
        responses=_responses(LeadDetailOutputSerializer),
        description=_doc(Action.MATERIALS_SUBMIT)
        + " 银行须在 5 个工作日内确认收齐或要求补充, 否则 30 日授信时限于第 5 个工作日结束时自动起算。",
    )
    @action(detail=True, methods=["post"], url_path="materials-submit")
    def materials_submit(self, request, pk=None):
        """材料已提交: the enterprise (or task-force staff on its behalf) declares the listed materials submitted."""
        data = _input(MaterialsSubmitInputSerializer, request)
        services.recommendation_materials_submit(
            actor=request.user, recommendation_id=_pk(self), note=data["note"], version=data["version"] or None
        )
        return _lead_out(request, _pk(self))

    @extend_schema(
        request=MaterialsSupplementInputSerializer,
        responses=_responses(LeadDetailOutputSerializer),
        description=_doc(Action.MATERIALS_SUPPLEMENT),
    )
    @action(detail=True, methods=["post"], url_path="materials-supplement")
    def materials_supplement(self, request, pk=None):
        """补充材料: the bank names what is missing from the submitted materials; back to the enterprise."""
        data = _input(MaterialsSupplementInputSerializer, request)
        services.recommendation_materials_supplement(
            actor=request.user,
            recommendation_id=_pk(self),
            missing=data["missing"],
            note=data["note"],
            version=data["version"] or None,
        )
        return _lead_out(request, _pk(self))

    @extend_schema(methods=["GET"], responses=_responses(MaterialOutputSerializer(many=True)))
    @extend_schema(
        methods=["POST"],
        request={"multipart/form-data": MaterialUploadInputSerializer},
        responses=_responses(MaterialOutputSerializer, 201),
        description=_doc(Action.LEAD_MATERIALS_UPLOAD) + " 银行收集的材料仅本线索的承办机构(及企业、专班)可见。",
    )
    @action(detail=True, methods=["get", "post"], parser_classes=[MultiPartParser, FormParser])
    def materials(self, request, pk=None):
        """The lead's materials: the declaration's and the ones this bank collected (list), or
        upload one file the bank collected (PDF/JPG/PNG, ≤ 10 MB, checked by content)."""
        if request.method == "POST":
            material = materials.lead_material_upload(
                actor=request.user,
                recommendation_id=_pk(self),
                uploaded_file=request.FILES.get("file"),
                item=request.data.get("item", ""),
            )
            return Response(MaterialOutputSerializer(material).data, status=status.HTTP_201_CREATED)
        items = materials.lead_material_list(actor=request.user, recommendation_id=_pk(self))
        return Response(MaterialOutputSerializer(items, many=True).data)

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

    # --- corrections (issue 16 item 6): the bank administrator, with a reason ---

    @extend_schema(
        request=CorrectionInputSerializer,
        responses=_responses(LeadDetailOutputSerializer),
        description="更正: 撤销误登记的状态(已对接、材料已收齐、授信、不予授信、未提款), 线索退回此前的状态。"
        + _doc(Action.CORRECT_STATE),
    )
    @action(detail=True, methods=["post"], url_path="correct-state")
    def correct_state(self, request, pk=None):
        data = _input(CorrectionInputSerializer, request)
        services.recommendation_state_correct(
            actor=request.user, recommendation_id=_pk(self), reason=data["reason"], version=data["version"] or None
        )
        return _lead_out(request, _pk(self))

    @extend_schema(
        request=CorrectDecisionInputSerializer,
        responses=_responses(LeadDetailOutputSerializer),
        description="更正授信决定(金额、利率、期限、担保方式、信用贷款、首贷)。" + _doc(Action.CORRECT_DECISION),
    )
    @action(detail=True, methods=["post"], url_path="correct-decision")
    def correct_decision(self, request, pk=None):
        data = _input(CorrectDecisionInputSerializer, request)
        version = data.pop("version") or None
        services.recommendation_decision_correct(
            actor=request.user, recommendation_id=_pk(self), version=version, **data
        )
        return _lead_out(request, _pk(self))

    @extend_schema(
        request=CorrectDrawdownInputSerializer,
        responses=_responses(LeadDetailOutputSerializer),
        description="更正放款: 更正金额或作废误登记的放款。" + _doc(Action.CORRECT_DRAWDOWN),
    )
    @action(detail=True, methods=["post"], url_path="correct-drawdown")
    def correct_drawdown(self, request, pk=None):
        data = _input(CorrectDrawdownInputSerializer, request)
        services.disbursement_correct(
            actor=request.user,
            recommendation_id=_pk(self),
            disbursement_id=data["disbursement_id"],
            amount=data["amount"],
            void=data["void"],
            reason=data["reason"],
            version=data["version"] or None,
        )
        return _lead_out(request, _pk(self))

    @extend_schema(
        request=MaterialWithdrawInputSerializer,
        responses=_responses(LeadDetailOutputSerializer),
        description="撤回误传的材料: 文件留存备查, 不再计为申请材料。" + _doc(Action.MATERIAL_WITHDRAW),
    )
    @action(detail=True, methods=["post"], url_path="material-withdraw")
    def material_withdraw(self, request, pk=None):
        data = _input(MaterialWithdrawInputSerializer, request)
        services.lead_material_withdraw(
            actor=request.user,
            recommendation_id=_pk(self),
            material_id=data["material_id"],
            reason=data["reason"],
            version=data["version"] or None,
        )
        return _lead_out(request, _pk(self))

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
