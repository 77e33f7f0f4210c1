"""API of the entities app: list (cursor pages, same filters as the page), detail, create,
update, the regulator's 三型 mark (tier-mark), and the audited reveal of one personal number.
Validation is the services'."""

from __future__ import annotations

from decimal import Decimal

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from entities import selectors, services
from entities.models import (
    CREDIT_FLAGS,
    FINANCIAL_FIELDS,
    BankRelationship,
    EntityType,
    MarketEntity,
    Nationality,
    RegisterStatus,
    Renewal,
    TaxStatus,
    Tier,
)
from entities.personal_data import PERSONAL_FIELDS, masked, sees_own
from entities.renewals import OUTCOMES, RefusalReason, RenewalStatus
from entities.restrictions import bank_root_id
from portal import bounds
from portal.api import ChoiceLabelField, RestrictedViewSetMixin
from portal.api_support import BoundedCursorPagination
from portal.services import ApplicationError
from portal.tenancy import CHANGE, VIEW, resolve, restrict, scope_for

# API name → service name, where they differ (the API speaks the eligibility request's names)
_API_TO_SERVICE = {"region_code": "region", "township_code": "township", "industry_code": "industry"}
_SERVICE_TO_API = {v: k for k, v in _API_TO_SERVICE.items()}


class EntityCursorPagination(BoundedCursorPagination):
    """Keyset pages on id: constant time on a million rows, no COUNT."""

    ordering = "-id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


class HonorOutput(serializers.Serializer):
    kind = serializers.CharField()
    valid_from = serializers.DateField(allow_null=True)
    valid_until = serializers.DateField(allow_null=True)


class EntityOutput(serializers.ModelSerializer):
    region_code = serializers.CharField(source="region_id")
    township_code = serializers.CharField(source="township_id", allow_null=True)
    industry_code = serializers.CharField(source="industry_id", allow_null=True)
    operator = serializers.SerializerMethodField()
    credit = serializers.SerializerMethodField()
    # one nested serializer bound once for the list (a method building a serializer per row cost
    # a tenth of the entity list's time)
    honors = HonorOutput(many=True, read_only=True)
    tier_disagreement = serializers.CharField(allow_null=True)
    tobacco_licence = serializers.SerializerMethodField()
    tier_estimate = serializers.CharField(source="tier_computed", allow_null=True)

    class Meta:
        model = MarketEntity
        fields = [
            "id",
            "uscc",
            "name",
            "entity_type",
            "register_status",
            "established_on",
            "region_code",
            "township_code",
            "address",
            "fixed_premises",
            "industry_code",
            "registered_capital",
            "legal_rep_changed_on",
            "main_business_changed_on",
            "financial_year",
            *FINANCIAL_FIELDS,
            "operator",
            "credit",
            "tier",
            "tier_imported",
            "tier_mark_source",
            "tier_marked_on",
            "tier_computed",
            "tier_estimate",
            "tier_disagreement",
            "size_class",
            "honors",
            "tobacco_licence",
            "operating_region_code",
            "data_shared_with_banks",
            "created_at",
            "updated_at",
        ]

    def get_operator(self, entity) -> dict:
        own = sees_own(scope_for(self.context["request"].user), entity)
        birth = entity.operator_birth_date
        today = timezone.localdate()
        age = None if birth is None else today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))
        return {
            "name": entity.operator_name,
            **{
                f.removeprefix("operator_"): (getattr(entity, f) if own else masked(f, getattr(entity, f)))
                for f in PERSONAL_FIELDS
            },
            "age": age,
            "nationality": entity.operator_nationality,
            "local_residence": entity.operator_local_residence,
            "residence_region_code": entity.operator_residence_region_code,
            "industry_experience_months": entity.operator_industry_experience_months,
            "realisable_net_assets": entity.operator_realisable_net_assets,
        }

    def get_credit(self, entity) -> dict:
        return {flag: getattr(entity, flag) for flag in CREDIT_FLAGS}

    def get_tobacco_licence(self, entity) -> dict:
        """烟草专卖零售许可证: held (null unknown, false none), number, validity and its status today
        (valid / expired / not_yet_valid / none, null unknown)."""
        return {
            "held": entity.tobacco_licence_held,
            "number": entity.tobacco_licence_number,
            "valid_from": entity.tobacco_licence_valid_from,
            "valid_until": entity.tobacco_licence_valid_until,
            "status": entity.tobacco_licence_status(),
        }


class EntityInput(serializers.Serializer):
    """Typed input; the domain checks (check characters, known codes, dates, region) are the
    services' so the page, the import and the API refuse the same things."""

    uscc = serializers.CharField(max_length=30)
    name = serializers.CharField(max_length=200)
    entity_type = serializers.ChoiceField(choices=EntityType.choices)
    register_status = serializers.ChoiceField(choices=RegisterStatus.choices, required=False)
    established_on = serializers.DateField(required=False, allow_null=True)
    region_code = serializers.CharField(max_length=6)
    township_code = serializers.CharField(max_length=12, required=False, allow_null=True, allow_blank=True)
    address = serializers.CharField(max_length=255, required=False, allow_blank=True)
    fixed_premises = serializers.BooleanField(required=False, allow_null=True)
    industry_code = serializers.CharField(max_length=5, required=False, allow_null=True, allow_blank=True)
    registered_capital = bounds.IntegerField(
        field=bounds.column(MarketEntity, "registered_capital"), required=False, allow_null=True
    )
    legal_rep_changed_on = serializers.DateField(required=False, allow_null=True)
    main_business_changed_on = serializers.DateField(required=False, allow_null=True)
    financial_year = bounds.IntegerField(
        field=bounds.column(MarketEntity, "financial_year"), required=False, allow_null=True
    )
    annual_revenue = bounds.IntegerField(
        field=bounds.column(MarketEntity, "annual_revenue"), required=False, allow_null=True
    )
    total_assets = bounds.IntegerField(
        field=bounds.column(MarketEntity, "total_assets"), required=False, allow_null=True
    )
    net_assets = bounds.IntegerField(field=bounds.column(MarketEntity, "net_assets"), required=False, allow_null=True)
    employees = bounds.IntegerField(field=bounds.column(MarketEntity, "employees"), required=False, allow_null=True)
    social_insurance_headcount = bounds.IntegerField(
        field=bounds.column(MarketEntity, "social_insurance_headcount"), required=False, allow_null=True
    )
    tax_status = serializers.ChoiceField(choices=TaxStatus.choices, required=False, allow_null=True)
    has_tax_record = serializers.BooleanField(required=False, allow_null=True)
    operator_name = serializers.CharField(max_length=64, required=False, allow_blank=True)
    operator_id_number = serializers.CharField(max_length=30, required=False, allow_null=True, allow_blank=True)
    operator_phone = serializers.CharField(max_length=20, required=False, allow_blank=True)
    operator_nationality = serializers.ChoiceField(
        choices=Nationality.choices,
        required=False,
        allow_null=True,
        help_text="经营者国籍代码: " + "、".join(f"{code} {label}" for code, label in Nationality.choices),
        error_messages={
            "invalid_choice": "国籍应填代码: " + "、".join(f"{code}({label})" for code, label in Nationality.choices)
        },
    )
    operator_local_residence = serializers.BooleanField(required=False, allow_null=True)
    operator_residence_region_code = serializers.CharField(
        max_length=6, required=False, allow_null=True, allow_blank=True
    )
    operator_industry_experience_months = bounds.IntegerField(
        field=bounds.column(MarketEntity, "operator_industry_experience_months"), required=False, allow_null=True
    )
    dishonest_debtor = serializers.BooleanField(required=False, allow_null=True)
    joint_punishment = serializers.BooleanField(required=False, allow_null=True)
    consumption_restricted = serializers.BooleanField(required=False, allow_null=True)
    overdue_consecutive_24m = bounds.IntegerField(
        field=bounds.column(MarketEntity, "overdue_consecutive_24m"), required=False, allow_null=True
    )
    overdue_total_24m = bounds.IntegerField(
        field=bounds.column(MarketEntity, "overdue_total_24m"), required=False, allow_null=True
    )
    overdue_12m = bounds.IntegerField(field=bounds.column(MarketEntity, "overdue_12m"), required=False, allow_null=True)
    major_bad_record = serializers.BooleanField(required=False, allow_null=True)
    pending_litigation = serializers.BooleanField(required=False, allow_null=True)
    # refused here with the way to it: the mark is set through tier-mark (city/province regulators)
    tier_imported = serializers.ChoiceField(
        choices=Tier.choices, required=False, allow_null=True, help_text="不可在此修改: 三型标记请使用 tier-mark"
    )
    data_shared_with_banks = serializers.BooleanField(required=False)
    tobacco_licence_held = serializers.BooleanField(
        required=False, allow_null=True, help_text="持有烟草专卖零售许可证: null 未知, false 未持有"
    )
    tobacco_licence_number = serializers.CharField(max_length=40, required=False, allow_null=True, allow_blank=True)
    tobacco_licence_valid_from = serializers.DateField(required=False, allow_null=True)
    tobacco_licence_valid_until = serializers.DateField(required=False, allow_null=True, help_text="含当日")
    operating_region_code = serializers.CharField(max_length=6, required=False, allow_null=True, allow_blank=True)
    operator_realisable_net_assets = bounds.IntegerField(
        field=bounds.column(MarketEntity, "operator_realisable_net_assets"), required=False, allow_null=True
    )

    def to_service(self) -> dict:
        return {_API_TO_SERVICE.get(k, k): v for k, v in self.validated_data.items()}


class TierMarkInput(serializers.Serializer):
    """标记三型: the mark of the provincial 名录库 (null clears it, with a reason in `note`)."""

    tier = serializers.ChoiceField(choices=Tier.choices, allow_null=True)
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    marked_on = serializers.DateField(required=False, allow_null=True, default=None)


class RevealInput(serializers.Serializer):
    field = serializers.ChoiceField(choices=list(PERSONAL_FIELDS))


def _api_error(exc: ApplicationError):
    if exc.code == "permission_denied":
        raise exceptions.PermissionDenied(exc.message)
    errors = {_SERVICE_TO_API.get(k, k): v for k, v in exc.field_errors.items()}
    raise ApplicationError(exc.message, field_errors=errors, code=exc.code)


class EntityViewSet(RestrictedViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = EntityOutput
    pagination_class = EntityCursorPagination
    filter_backends: list = []
    lookup_value_regex = r"\d+"  # a non-numeric id is a 404 from the URL resolver, for every action

    def get_queryset(self):
        if self.action == "list":
            filters, errors = selectors.EntityFilters.from_params(self.request.query_params, money_unit=1)
            if errors:
                raise exceptions.ValidationError(errors)
            return (
                selectors.entity_search(user=self.request.user, filters=filters)
                .select_related("region", "industry")
                .prefetch_related("honors")
            )
        action_name = VIEW if self.request.method in ("GET", "HEAD", "OPTIONS") else CHANGE
        return restrict(MarketEntity.objects.prefetch_related("honors"), self.request.user, action_name)

    def _output(self, entity, code=status.HTTP_200_OK):
        entity = resolve(MarketEntity.objects.prefetch_related("honors"), self.request.user, VIEW, pk=entity.pk)
        return Response(EntityOutput(entity, context={"request": self.request}).data, status=code)

    @extend_schema(request=EntityInput, responses=EntityOutput)
    def create(self, request):
        serializer = EntityInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            entity = services.entity_create(actor=request.user, data=serializer.to_service(), request=request)
        except ApplicationError as exc:
            _api_error(exc)
        return self._output(entity, status.HTTP_201_CREATED)

    @extend_schema(request=EntityInput, responses=EntityOutput)
    def partial_update(self, request, pk=None):
        entity = self.get_object()
        serializer = EntityInput(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = serializer.to_service()
        if "uscc" in data:
            raise ApplicationError("统一社会信用代码不能修改", field_errors={"uscc": ["不能修改"]})
        try:
            entity = services.entity_update(actor=request.user, entity=entity, data=data, request=request)
        except ApplicationError as exc:
            _api_error(exc)
        return self._output(entity)

    @extend_schema(request=TierMarkInput, responses=EntityOutput)
    @action(detail=True, methods=["post"], url_path="tier-mark")
    def tier_mark(self, request, pk=None):
        """标记三型 (city and provincial regulators of the entity's region only): the mark the
        products ask for, with its source and date; the portal's estimate never stands in."""
        entity = self.get_object()
        serializer = TierMarkInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            entity = services.tier_mark_set(
                actor=request.user, entity=entity, request=request, **serializer.validated_data
            )
        except ApplicationError as exc:
            _api_error(exc)
        return self._output(entity)

    @extend_schema(
        request=RevealInput,
        responses={200: {"type": "object", "properties": {"field": {"type": "string"}, "value": {"type": "string"}}}},
    )
    @action(detail=True, methods=["post"])
    def reveal(self, request, pk=None):
        # revealing reads (VIEW), though it is a POST: resolved like any id, so another
        # region's entity is a 404 exactly like an unknown id
        entity = resolve(MarketEntity, request.user, VIEW, pk=pk)
        serializer = RevealInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            value = services.entity_reveal_personal_data(
                actor=request.user, entity=entity, field=serializer.validated_data["field"], request=request
            )
        except ApplicationError as exc:
            _api_error(exc)
        return Response({"field": serializer.validated_data["field"], "value": value})


# --- bank relationships (借贷往来) ----------------------------------------------------------


class BankRelationshipOutput(serializers.ModelSerializer):
    bank_name = serializers.CharField(source="bank.name")

    class Meta:
        model = BankRelationship
        fields = [
            "id",
            "entity_id",
            "bank_id",
            "bank_name",
            "months_borrowed",
            "credit_line",
            "non_performing",
            "overdue_12m",
            "updated_at",
        ]


class BankRelationshipInput(serializers.Serializer):
    """调用者所在银行对本行客户的记录: 省略的字段保持原值, null 表示未知。"""

    entity_id = bounds.IdField(help_text="经营主体 id")
    months_borrowed = bounds.IntegerField(
        field=bounds.column(BankRelationship, "months_borrowed"), required=False, allow_null=True
    )
    credit_line = bounds.IntegerField(
        field=bounds.column(BankRelationship, "credit_line"), required=False, allow_null=True
    )
    non_performing = serializers.BooleanField(required=False, allow_null=True)
    overdue_12m = bounds.IntegerField(
        field=bounds.column(BankRelationship, "overdue_12m"), required=False, allow_null=True
    )


class BankRelationshipViewSet(RestrictedViewSetMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """银行借贷往来: 银行工作人员列出并填报本行客户在本行的借贷往来(累计用款期限、授信额度、不良贷款记录、
    最近 12 个月逾期次数); `?entity_id=` 只列该经营主体。企业看自己的, 工作专班看辖区内的。POST 新增或
    更新调用者所在银行的那一行; 其他银行的记录既不显示也不能修改。"""

    serializer_class = BankRelationshipOutput
    filter_backends: list = []

    def get_queryset(self):
        entity_id = bounds.query_id(self.request.query_params.get("entity_id"))
        queryset = selectors.bank_relationship_list(user=self.request.user)
        if self.request.query_params.get("entity_id") is not None:
            queryset = queryset.filter(entity_id=entity_id or 0)
        return queryset

    @extend_schema(
        parameters=[OpenApiParameter("entity_id", dict(bounds.ID_SCHEMA), description="只列该经营主体(id)的借贷往来")]
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(request=BankRelationshipInput, responses=BankRelationshipOutput)
    def create(self, request):
        if bank_root_id(scope_for(request.user)) is None:
            raise exceptions.PermissionDenied(services.BANK_STAFF_ONLY)
        serializer = BankRelationshipInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        values = dict(serializer.validated_data)
        entity_id = values.pop("entity_id")
        try:
            relationship = services.bank_relationship_record(
                actor=request.user, entity=entity_id, values=values, request=request
            )
        except ApplicationError as exc:
            _api_error(exc)
        relationship = selectors.bank_relationship_list(user=request.user).get(pk=relationship.pk)
        return Response(BankRelationshipOutput(relationship).data, status=status.HTTP_200_OK)


# --- 无还本续贷: renewal needs (应续尽续) --------------------------------------------------------


class RenewalOutput(serializers.ModelSerializer):
    entity_name = serializers.CharField(source="entity.name")
    bank_name = serializers.CharField(source="bank.name")
    bank_code = serializers.SerializerMethodField(help_text="贷款银行代码")
    amount_wan = serializers.SerializerMethodField(help_text="到期贷款金额(万元)")
    status_label = ChoiceLabelField("status")
    source_label = ChoiceLabelField("source")
    refusal_reason_label = ChoiceLabelField("refusal_reason")

    class Meta:
        model = Renewal
        fields = [
            "id",
            "entity_id",
            "entity_name",
            "bank_code",
            "bank_name",
            "amount",
            "amount_wan",
            "due_date",
            "wants_no_repayment",
            "source",
            "source_label",
            "status",
            "status_label",
            "refusal_reason",
            "refusal_reason_label",
            "note",
            "outcome_note",
            "outcome_on",
            "recorded_at",
        ]

    def get_bank_code(self, obj) -> str:
        return (obj.bank.code or "").removeprefix("bank-")

    def get_amount_wan(self, obj) -> str:
        return f"{obj.amount / 10_000:.2f}"


class RenewalInput(serializers.Serializer):
    """登记一笔即将到期、需要续贷的贷款。银行系统调用时贷款银行即调用者所在银行(bank_code 可省略)。"""

    entity_id = bounds.IdField(help_text="经营主体 id")
    bank_code = serializers.CharField(required=False, allow_blank=True, max_length=32, help_text="贷款银行代码")
    amount_wan = bounds.DecimalField(
        max_digits=14, decimal_places=2, min_value=Decimal("0.01"), help_text="到期贷款金额(万元)"
    )
    due_date = serializers.DateField(help_text="到期日 YYYY-MM-DD")
    wants_no_repayment = serializers.BooleanField(default=True, help_text="是否申请无还本续贷")
    note = serializers.CharField(required=False, allow_blank=True, max_length=255, default="")


class RenewalOutcomeInput(serializers.Serializer):
    """贷款银行登记办理结果: renew(无还本续贷已续)、renew_other(其他方式续贷)、repaid(已还款)、
    refuse(拒绝续贷, 须给出 refusal_reason)。"""

    action = serializers.ChoiceField(choices=[(a.value, a.label) for a in OUTCOMES])
    refusal_reason = serializers.ChoiceField(choices=RefusalReason.choices, required=False, allow_blank=True)
    note = serializers.CharField(required=False, allow_blank=True, max_length=255, default="")
    outcome_on = serializers.DateField(required=False, help_text="办结日期, 默认今天")


class RenewalViewSet(RestrictedViewSetMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """续贷需求(应续尽续): 银行列出本行客户在本行即将到期的贷款(`?window=30|60|90` 只列该天数内到期且
    待续贷的, `?status=` 按状态, `?entity_id=` 按经营主体), 登记续贷需求, 并登记办理结果; 企业看自己的,
    工作专班与市、省协调机制看辖区内的。其他银行的记录既不显示也不能办理。"""

    serializer_class = RenewalOutput
    filter_backends: list = []
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        return selectors.renewal_list(user=self.request.user, params=self.request.query_params)

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "window",
                {"type": "integer", "enum": [30, 60, 90], "minimum": 30, "maximum": 90},
                description="只列该天数内到期的待续贷需求(30、60 或 90)",
            ),
            OpenApiParameter("status", str, enum=RenewalStatus.values, description="按状态筛选"),
            OpenApiParameter("entity_id", dict(bounds.ID_SCHEMA), description="只列该经营主体(id)的续贷需求"),
        ]
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(request=RenewalInput, responses=RenewalOutput)
    def create(self, request):
        serializer = RenewalInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            renewal = services.renewal_record(
                actor=request.user,
                entity_id=data["entity_id"],
                bank_code=data.get("bank_code") or None,
                amount=int(data["amount_wan"] * 10_000),
                due_date=data["due_date"],
                wants_no_repayment=data["wants_no_repayment"],
                note=data["note"],
                request=request,
            )
        except ApplicationError as exc:
            _renewal_api_error(exc)
        return Response(RenewalOutput(renewal).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=RenewalOutcomeInput, responses=RenewalOutput)
    @action(detail=True, methods=["post"])
    def outcome(self, request, pk=None):
        """贷款银行登记办理结果(只能对待续贷的需求登记一次)。"""
        self.get_object()  # a need the caller may not read does not exist for him (404 before any input check)
        serializer = RenewalOutcomeInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            renewal = services.renewal_outcome(
                actor=request.user,
                renewal_id=bounds.query_id(pk) or 0,
                action=data["action"],
                refusal_reason=data.get("refusal_reason", ""),
                note=data["note"],
                outcome_on=data.get("outcome_on"),
                request=request,
            )
        except ApplicationError as exc:
            _renewal_api_error(exc)
        return Response(RenewalOutput(renewal).data)


def _renewal_api_error(exc: ApplicationError):
    if exc.code == "permission_denied":
        raise exceptions.PermissionDenied(exc.message)
    errors = {"amount_wan" if k == "amount" else k: v for k, v in exc.field_errors.items()}
    raise ApplicationError(exc.message, field_errors=errors, code=exc.code)
