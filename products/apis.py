"""API of the lender side: banks, branches and products. Read for everyone (the product
supermarket needs no login); written through the same services as the pages: products by
the owning bank's head-office (行级) administrators, branches by a bank administrator inside
his own subtree, everything by platform administrators."""

import re

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, permissions, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from portal import bounds
from portal.api import RestrictedViewSetMixin
from portal.services import ApplicationError
from portal.tenancy import restrict
from products import selectors, services
from products.models import Bank, BankBranch, BranchLevel, LoanProduct, LoanProductVersion, ProductStatus


class ReadForAllWriteForStaff(permissions.BasePermission):
    def has_permission(self, request, view):
        return request.method in permissions.SAFE_METHODS or bool(request.user and request.user.is_authenticated)


class PublicReadMixin(RestrictedViewSetMixin):
    """Anonymous readers get the public part (active products, all banks and branches);
    signed-in users go through restrict() like every other list."""

    permission_classes = [ReadForAllWriteForStaff]
    public_filter: dict = {}

    def get_queryset(self):
        if not self.request.user.is_authenticated:
            return self.queryset.filter(**self.public_filter)
        return super().get_queryset()

    def visible_queryset(self):
        if not self.request.user.is_authenticated:
            return self.queryset.filter(**self.public_filter)
        return super().visible_queryset()


class BankSerializer(serializers.ModelSerializer):
    class Meta:
        model = Bank
        fields = ["id", "code", "name", "service_area_prefixes"]


class BankViewSet(PublicReadMixin, viewsets.ReadOnlyModelViewSet):
    """Banks; with `?county=` only those serving the county — the banks a declaration of an
    entity there may name (products.selectors.banks_serving, which the push uses too)."""

    queryset = Bank.objects.order_by("code")
    serializer_class = BankSerializer

    def get_queryset(self):
        qs = super().get_queryset()
        county = self.request.query_params.get("county", "").strip()
        if not county:
            return qs
        if not re.fullmatch(r"\d{6}", county):
            raise ApplicationError("县(区)代码应为 6 位数字", field_errors={"county": ["县(区)代码应为 6 位数字"]})
        return qs.filter(pk__in=selectors.banks_serving(county).values("pk"))

    @extend_schema(parameters=[OpenApiParameter("county", str, description="县(区)代码: 只列出服务该县(区)的银行")])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)


class BranchSerializer(serializers.ModelSerializer):
    bank = serializers.SlugRelatedField(slug_field="code", read_only=True)
    region_code = serializers.CharField(source="region_id", read_only=True)
    service_prefixes = serializers.SerializerMethodField()

    class Meta:
        model = BankBranch
        fields = ["id", "bank", "parent", "name", "level", "region_code", "service_prefixes", "is_active"]

    def get_service_prefixes(self, branch) -> list[str]:
        return [a.region_prefix for a in branch.service_areas.all()]


class BranchInput(serializers.Serializer):
    parent = bounds.IdField(help_text="上级机构(本人所在机构或其下级机构)")
    name = serializers.CharField(max_length=128)
    level = serializers.ChoiceField(choices=BranchLevel.choices)
    region_code = serializers.CharField(max_length=6, help_text="所在地, 须在上级机构所在地范围内")
    service_prefixes = serializers.ListField(
        child=serializers.CharField(max_length=6),
        min_length=1,
        help_text="服务区域(行政区划代码前缀), 须在上级机构的服务区域内",
    )
    code = serializers.CharField(
        max_length=64,
        required=False,
        allow_blank=True,
        help_text="机构代码(可选, 不填则按银行、所在地和层级生成); 已被使用时报错, 不会改动已有机构",
    )


class BranchMoveInput(serializers.Serializer):
    parent = bounds.IdField(help_text="新的上级机构(本人所在机构或其下级机构)")


class BranchViewSet(PublicReadMixin, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    queryset = (
        BankBranch.objects.select_related("bank")
        .prefetch_related("service_areas")
        .order_by("bank__code", "region_id", "id")
    )
    serializer_class = BranchSerializer
    filterset_fields = ["bank__code", "level", "region"]

    @extend_schema(request=BranchInput, responses=BranchSerializer)
    def create(self, request, *args, **kwargs):
        """新增分支机构: always a new organisation, below a branch of your own subtree."""
        data = BranchInput(data=request.data)
        data.is_valid(raise_exception=True)
        branch = services.branch_create(
            actor=request.user,
            parent_id=data.validated_data["parent"],
            region_code=data.validated_data["region_code"],
            name=data.validated_data["name"],
            level=data.validated_data["level"],
            service_prefixes=data.validated_data["service_prefixes"],
            code=data.validated_data.get("code") or None,
        )
        return Response(BranchSerializer(branch).data, status=201)

    @extend_schema(request=BranchMoveInput, responses=BranchSerializer)
    @action(detail=True, methods=["post"])
    def move(self, request, pk=None):
        """调整隶属关系: move a branch (with the branches below it) under another branch of your subtree."""
        data = BranchMoveInput(data=request.data)
        data.is_valid(raise_exception=True)
        branch = services.branch_move(
            actor=request.user, branch_id=self.kwargs["pk"], parent_id=data.validated_data["parent"]
        )
        return Response(BranchSerializer(branch).data)


class VersionSerializer(serializers.ModelSerializer):
    class Meta:
        model = LoanProductVersion
        fields = ["id", "number", "effective_from", "published_at", "definition"]


class ProductSerializer(serializers.ModelSerializer):
    bank = serializers.SlugRelatedField(slug_field="code", read_only=True)
    version = serializers.IntegerField(source="current_version.number", default=None, read_only=True)
    definition = serializers.JSONField(source="current_version.definition", default=None, read_only=True)

    class Meta:
        model = LoanProduct
        fields = ["id", "code", "name", "bank", "status", "version", "definition"]


class ProductInput(serializers.Serializer):
    definition = serializers.JSONField()
    effective_from = serializers.DateField(required=False)

    def validate_definition(self, value):
        # any JSON parses; the services expect an object (a number here was a 500, found by tests/test_fuzz_api.py)
        if not isinstance(value, dict):
            raise serializers.ValidationError("产品定义须为 JSON 对象")
        return value


class ProductCreateInput(ProductInput):
    code = serializers.SlugField(max_length=64)


class ScenarioSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=20, help_text="场景名称, 如 药商")
    industry_codes = serializers.ListField(
        child=serializers.CharField(max_length=4), min_length=1, help_text="GB/T 4754-2017 行业代码(2-4 位数字)"
    )


class ScenariosSerializer(serializers.Serializer):
    scenarios = ScenarioSerializer(many=True, help_text="重点场景清单(商E贷附件1)")
    complete = serializers.BooleanField(
        default=False, help_text="清单是否完整: 完整时清单外行业判为不符合, 否则判为无法判断"
    )
    version = serializers.IntegerField(read_only=True, help_text="含此清单的产品版本号")


class ProductViewSet(PublicReadMixin, mixins.CreateModelMixin, mixins.UpdateModelMixin, viewsets.ReadOnlyModelViewSet):
    queryset = LoanProduct.objects.select_related("bank", "current_version").order_by("bank__code", "code")
    serializer_class = ProductSerializer
    lookup_field = "code"
    public_filter = {"status": ProductStatus.ACTIVE}
    filterset_fields = ["status", "bank__code"]
    http_method_names = ["get", "post", "put", "head", "options"]

    def _changeable(self, code: str) -> LoanProduct:
        return selectors.product_for_change(user=self.request.user, code=code)

    @extend_schema(request=ProductCreateInput, responses=ProductSerializer)
    def create(self, request, *args, **kwargs):
        """新增产品 (draft): head-office administrators for their bank; platform administrators
        for the bank named in the definition."""
        data = ProductCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        product = services.product_create(
            actor=request.user,
            code=data.validated_data["code"],
            definition=data.validated_data["definition"],
            effective_from=data.validated_data.get("effective_from") or timezone.localdate(),
        )
        return Response(ProductSerializer(product).data, status=201)

    @extend_schema(request=ProductInput, responses=VersionSerializer)
    def update(self, request, *args, **kwargs):
        product = self._changeable(kwargs["code"])
        data = ProductInput(data=request.data)
        data.is_valid(raise_exception=True)
        draft = services.product_edit(
            actor=request.user,
            product=product,
            definition=data.validated_data["definition"],
            effective_from=data.validated_data.get("effective_from") or timezone.localdate(),
        )
        return Response(VersionSerializer(draft).data)

    @extend_schema(request=None, responses=VersionSerializer)
    @action(detail=True, methods=["post"])
    def publish(self, request, code=None):
        version = services.product_publish(actor=request.user, product=self._changeable(code))
        return Response(VersionSerializer(version).data)

    @extend_schema(request=None, responses=ProductSerializer)
    @action(detail=True, methods=["post"])
    def retire(self, request, code=None):
        product = services.product_retire(actor=request.user, product=self._changeable(code))
        return Response(ProductSerializer(product).data)

    @extend_schema(methods=["GET"], responses=ScenariosSerializer)
    @extend_schema(methods=["PUT"], request=ScenariosSerializer, responses=ScenariosSerializer)
    @action(detail=True, methods=["get", "put"])
    def scenarios(self, request, code=None):
        """场景清单 (商E贷 17 个重点场景): read by everyone who may read the product; replaced (PUT)
        only by a head-office (行级) administrator of its bank, as a new published version."""
        if request.method == "PUT":
            product = self._changeable(code)
            data = ScenariosSerializer(data=request.data)
            data.is_valid(raise_exception=True)
            services.product_scenarios_update(
                actor=request.user,
                product=product,
                scenarios=[dict(item) for item in data.validated_data["scenarios"]],
                complete=data.validated_data["complete"],
                request=request,
            )
        product = self.get_object()
        version = product.current_version
        definition = version.definition if version else {}
        if "scenarios" not in definition:
            raise ApplicationError("该产品没有场景清单", code="not_found")
        return Response(
            {
                "scenarios": definition["scenarios"],
                "complete": bool(definition.get("scenarios_complete")),
                "version": version.number,
            }
        )

    @extend_schema(responses=VersionSerializer(many=True))
    @action(detail=True, methods=["get"])
    def versions(self, request, code=None):
        product = self.get_object()
        versions = (
            restrict(LoanProductVersion.objects.filter(product=product), request.user)
            if request.user.is_authenticated
            else product.versions.filter(published_at__isnull=False)
        )
        return Response(VersionSerializer(versions.order_by("-number"), many=True).data)
