"""API base: the restricted base viewset and the portal's own endpoints."""

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import authentication, exceptions, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from portal import bounds, tokens
from portal.mixins import TenantRestricted
from portal.models import ApiToken, AuditEvent, Organisation, Role
from portal.tenancy import restrict, scope_for


class RestrictedViewSetMixin(TenantRestricted):
    """Base of every API viewset: the queryset always passes through restrict(), and an
    action on one object first checks that the caller may see it, so another
    organisation's object answers 404 before any input is validated."""

    def get_queryset(self):
        action = "view" if self.request.method in ("GET", "HEAD", "OPTIONS") else "change"
        return restrict(super().get_queryset(), self.request.user, action)

    def visible_queryset(self):
        return restrict(super().get_queryset(), self.request.user, "view")

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        lookup = self.lookup_url_kwarg or self.lookup_field
        if not getattr(self, "detail", False) or lookup not in self.kwargs:
            return
        try:
            visible = self.visible_queryset().filter(**{self.lookup_field: self.kwargs[lookup]}).exists()
        except (ValueError, TypeError, DjangoValidationError):
            visible = False
        except AssertionError:  # a viewset without a `queryset`: its own get_queryset restricts
            return
        if not visible:
            raise exceptions.NotFound()


class RestrictedReadOnlyViewSet(RestrictedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    pass


class OrganisationSerializer(serializers.ModelSerializer):
    region_code = serializers.CharField(source="region_id", allow_null=True, read_only=True)
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)

    class Meta:
        model = Organisation
        fields = ["id", "name", "kind", "kind_display", "region_code", "parent", "code", "is_active"]


class OrganisationViewSet(RestrictedReadOnlyViewSet):
    queryset = Organisation.objects.select_related("region").order_by("path")
    serializer_class = OrganisationSerializer
    filterset_fields = ["kind", "parent"]


class AuditEventSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor.username", default=None, read_only=True)
    object_type = serializers.CharField(source="object_type.model", default=None, read_only=True)

    class Meta:
        model = AuditEvent
        fields = [
            "id",
            "created_at",
            "actor",
            "organisation",
            "action",
            "object_type",
            "object_id",
            "object_repr",
            "before",
            "after",
            "ip_address",
        ]


class AuditEventViewSet(RestrictedReadOnlyViewSet):
    queryset = AuditEvent.objects.select_related("actor", "object_type")
    serializer_class = AuditEventSerializer
    filterset_fields = ["action", "object_id"]


class MeSerializer(serializers.Serializer):
    username = serializers.CharField()
    full_name = serializers.CharField()
    role = serializers.CharField(allow_null=True)
    role_display = serializers.CharField(allow_null=True)
    organisation = serializers.IntegerField(allow_null=True)
    region_code = serializers.CharField(allow_null=True)


class MeView(APIView):
    """The current user and the membership he acts as (not a list: no restriction needed)."""

    @extend_schema(responses=MeSerializer)
    def get(self, request):
        scope = scope_for(request.user)
        data = {
            "username": request.user.username,
            "full_name": request.user.get_full_name(),
            "role": scope.role if scope else None,
            "role_display": Role(scope.role).label if scope and scope.role else None,
            "organisation": scope.organisation_id if scope else None,
            "region_code": scope.region_code if scope else None,
        }
        return Response(MeSerializer(data).data)


class ApiTokenSerializer(serializers.ModelSerializer):
    user = serializers.CharField(source="user.username", read_only=True)
    status = serializers.CharField(read_only=True, help_text="active | expired | revoked")
    status_display = serializers.CharField(read_only=True)
    revoked_by = serializers.CharField(source="revoked_by.username", default=None, read_only=True)

    class Meta:
        model = ApiToken
        fields = [
            "id",
            "name",
            "prefix",
            "user",
            "organisation",
            "status",
            "status_display",
            "created_at",
            "expires_at",
            "last_used_at",
            "revoked_at",
            "revoked_by",
            "revoke_reason",
        ]
        read_only_fields = fields


class ApiTokenIssuedSerializer(ApiTokenSerializer):
    key = serializers.CharField(read_only=True, help_text="令牌, 仅此一次返回, 平台只保存其摘要")

    class Meta(ApiTokenSerializer.Meta):
        fields = ApiTokenSerializer.Meta.fields + ["key"]
        read_only_fields = fields


class ApiTokenIssueInput(serializers.Serializer):
    name = serializers.CharField(max_length=64, help_text="对接的系统, 如「信贷管理系统」")
    days = bounds.IntegerField(
        min_value=1,
        max_value=settings.API_TOKEN_MAX_DAYS,
        required=False,
        help_text=f"有效期(天), 默认 {settings.API_TOKEN_DEFAULT_DAYS}",
    )


class ApiTokenRevokeInput(serializers.Serializer):
    reason = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")


class ApiTokenViewSet(
    RestrictedViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """API 令牌 of the banks' systems (portal/tokens.py). A bank administrator lists his bank's
    tokens, issues one for himself (from a signed-in session only: a token cannot issue
    tokens) and revokes them; the key is returned once, when issued."""

    queryset = ApiToken.objects.select_related("user", "revoked_by")
    serializer_class = ApiTokenSerializer
    lookup_value_regex = r"\d+"

    @extend_schema(request=ApiTokenIssueInput, responses={201: ApiTokenIssuedSerializer})
    def create(self, request):
        if not isinstance(request.successful_authenticator, authentication.SessionAuthentication):
            refused = exceptions.PermissionDenied()
            refused.message_zh = "请登录门户后签发令牌: 令牌不能用于签发新令牌"
            raise refused
        data = ApiTokenIssueInput(data=request.data)
        data.is_valid(raise_exception=True)
        token, key = tokens.api_token_issue(actor=request.user, request=request, **data.validated_data)
        token.key = key
        return Response(ApiTokenIssuedSerializer(token).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ApiTokenRevokeInput, responses={200: ApiTokenSerializer})
    @action(detail=True, methods=["post"])
    def revoke(self, request, pk=None):
        data = ApiTokenRevokeInput(data=request.data)
        data.is_valid(raise_exception=True)
        token = tokens.api_token_revoke(
            actor=request.user, token_id=pk, reason=data.validated_data["reason"], request=request
        )
        return Response(ApiTokenSerializer(token).data)
