"""API base: the restricted base viewset and the portal's own endpoints."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import authentication, exceptions, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from portal import audit_log, bounds, tokens, users
from portal.errors import ApplicationError
from portal.forms import AuditFilterForm
from portal.mixins import TenantRestricted
from portal.models import ApiToken, AuditEvent, Organisation, Role
from portal.selectors import audit_event_list, audit_filter_choices
from portal.tenancy import MANAGE_USERS, restrict, scope_for


class ChoiceLabelField(serializers.CharField):
    """The Chinese label of a model field with choices, what ``get_<field>_display()`` gives
    (状态, 来源, 事项 …): read-only. DRF would inspect the bound method's signature on every
    row before calling it (``fields.is_simple_callable``); this calls it."""

    def __init__(self, field: str, **kwargs):
        kwargs["read_only"] = True
        super().__init__(source=f"get_{field}_display", **kwargs)

    def get_attribute(self, instance):
        return getattr(instance, self.source)()


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
    kind_display = ChoiceLabelField("kind")

    class Meta:
        model = Organisation
        fields = ["id", "name", "kind", "kind_display", "region_code", "parent", "code", "is_active"]


class OrganisationViewSet(RestrictedReadOnlyViewSet):
    queryset = Organisation.objects.select_related("region").order_by("path")
    serializer_class = OrganisationSerializer
    filterset_fields = ["kind", "parent"]


class AuditChangeSerializer(serializers.Serializer):
    label = serializers.CharField(help_text="字段的中文名")
    before = serializers.CharField(help_text="变更前(空: 无)")
    after = serializers.CharField(help_text="变更后")


class AuditEventSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor.username", default=None, read_only=True)
    object_type = serializers.CharField(source="object_type.model", default=None, read_only=True)
    action_label = serializers.SerializerMethodField(help_text="动作的中文名")
    changes = serializers.SerializerMethodField(help_text="逐字段的变更: 字段中文名、变更前、变更后")

    @extend_schema_field(serializers.CharField())
    def get_action_label(self, event) -> str:
        return audit_log.action_label(event.action)

    @extend_schema_field(AuditChangeSerializer(many=True))
    def get_changes(self, event) -> list[dict]:
        return [vars(c) for c in audit_log.changes(event)]

    class Meta:
        model = AuditEvent
        fields = [
            "id",
            "created_at",
            "actor",
            "organisation",
            "action",
            "action_label",
            "object_type",
            "object_id",
            "object_repr",
            "before",
            "after",
            "changes",
            "ip_address",
        ]


@extend_schema_view(
    list=extend_schema(
        summary="审计日志",
        parameters=[
            OpenApiParameter("date_from", OpenApiTypes.DATE, description="起始日期(北京时间, 含)"),
            OpenApiParameter("date_to", OpenApiTypes.DATE, description="截止日期(北京时间, 含)"),
            OpenApiParameter("actor", str, description="操作人用户名"),
            OpenApiParameter("action", str, description="动作, 如 entity.update; *.export 为全部导出"),
            OpenApiParameter("object_type", str, description="对象类型, 如 entities.marketentity"),
            OpenApiParameter("q", str, description="对象名称(包含)或编号"),
        ],
    )
)
class AuditEventViewSet(RestrictedReadOnlyViewSet):
    """审计日志: the page's filters (portal.forms.AuditFilterForm), errors as field errors."""

    queryset = AuditEvent.objects.select_related("actor", "object_type")
    serializer_class = AuditEventSerializer

    def get_queryset(self):
        if self.action != "list":
            return super().get_queryset()
        user = self.request.user
        form = AuditFilterForm(self.request.query_params or None, **audit_filter_choices(user=user))
        if not form.is_bound:
            return audit_event_list(user=user)
        if not form.is_valid():
            raise exceptions.ValidationError({field: list(errors) for field, errors in form.errors.items()})
        return audit_event_list(user=user, **form.filters())


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


class ManagedUserSerializer(serializers.ModelSerializer):
    full_name = serializers.CharField(source="first_name", read_only=True)
    phone = serializers.SerializerMethodField(help_text="手机号(部分隐藏)")
    organisation_id = serializers.SerializerMethodField(help_text="所属机构(默认身份)")
    role = serializers.SerializerMethodField(help_text="角色(默认身份)")
    role_display = serializers.SerializerMethodField(help_text="角色的中文名")
    version = serializers.SerializerMethodField(help_text="版本: 修改时带上, 他人已修改则拒绝")

    class Meta:
        model = get_user_model()
        fields = ["id", "username", "full_name", "phone", "email", "organisation_id", "role", "role_display"]
        fields += ["is_active", "last_login", "version"]
        read_only_fields = fields

    def _membership(self, user):
        return users.primary_membership(user)

    @extend_schema_field(serializers.CharField())
    def get_phone(self, user) -> str:
        profile = getattr(user, "account_profile", None)
        return profile.masked_phone if profile else ""

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_organisation_id(self, user):
        membership = self._membership(user)
        return membership.organisation_id if membership else None

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_role(self, user):
        membership = self._membership(user)
        return membership.role if membership else None

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_role_display(self, user):
        membership = self._membership(user)
        return membership.get_role_display() if membership else None

    @extend_schema_field(serializers.CharField())
    def get_version(self, user) -> str:
        return users.user_version(user)


class ManagedUserInvitedSerializer(ManagedUserSerializer):
    temporary_password = serializers.CharField(read_only=True, help_text="临时密码, 仅此一次返回, 首次登录须修改")

    class Meta(ManagedUserSerializer.Meta):
        fields = ManagedUserSerializer.Meta.fields + ["temporary_password"]
        read_only_fields = fields


class UserUpdateInput(serializers.Serializer):
    full_name = serializers.CharField(max_length=150, help_text="姓名")
    phone = serializers.CharField(max_length=20, required=False, allow_blank=True, help_text="手机号(修改时留空则不变)")
    email = serializers.CharField(max_length=254, required=False, allow_blank=True, default="", help_text="电子邮箱")
    organisation_id = bounds.IdField(help_text="所属机构(须在您管理的机构范围内)")
    role = serializers.ChoiceField(choices=Role.choices, help_text="角色(须为该类机构可有、且您可授予的角色)")
    version = serializers.CharField(required=False, allow_blank=True, help_text="读取时的版本")


class UserInviteInput(UserUpdateInput):
    username = serializers.CharField(max_length=150, help_text="用户名")
    version = None


class UserActionInput(serializers.Serializer):
    version = serializers.CharField(required=False, allow_blank=True, help_text="读取时的版本")


def _api_fields(call):
    """The services name the organisation field `organisation` (the page's), the API `organisation_id`."""
    try:
        return call()
    except ApplicationError as error:
        if "organisation" in error.field_errors:
            error.field_errors["organisation_id"] = error.field_errors.pop("organisation")
        raise


@extend_schema_view(
    list=extend_schema(
        summary="用户管理: 您管理的用户",
        parameters=[
            OpenApiParameter("q", str, description="姓名、用户名、手机号或邮箱(包含)"),
            OpenApiParameter("organisation", dict(bounds.ID_SCHEMA), description="机构(含下级机构)"),
            OpenApiParameter("role", str, description="角色"),
            OpenApiParameter("is_active", bool, description="是否启用"),
        ],
    )
)
class UserViewSet(RestrictedViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """用户管理 (portal/users.py): an organisation administrator lists, invites and changes the
    users of his subtree, deactivates and reactivates them and resets their passwords (a
    temporary password, returned once). Every id is resolved inside his subtree."""

    queryset = get_user_model().objects.select_related("account_profile")
    serializer_class = ManagedUserSerializer
    lookup_value_regex = r"\d+"
    restrict_action = MANAGE_USERS

    def get_queryset(self):
        queryset = super(RestrictedViewSetMixin, self).get_queryset().filter(pk__in=users.people().values("pk"))
        return restrict(queryset, self.request.user, MANAGE_USERS)

    def visible_queryset(self):
        return self.get_queryset()

    def list(self, request):
        params = bounds.QueryParams(request.query_params)
        organisation_id = params.id("organisation")
        role = params.text("role") or None
        if role is not None and role not in Role.values:
            params.errors["role"] = "没有这个角色"
        active_text = params.text("is_active").lower()
        active = {"true": True, "1": True, "false": False, "0": False}.get(active_text)
        if active_text and active is None:
            params.errors["is_active"] = "应为 true 或 false"
        params.raise_for_errors()
        queryset = users.user_list(
            user=request.user, q=params.text("q") or None, organisation_id=organisation_id, role=role, is_active=active
        )
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(ManagedUserSerializer(page, many=True).data)

    @extend_schema(request=UserInviteInput, responses={201: ManagedUserInvitedSerializer})
    def create(self, request):
        data = UserInviteInput(data=request.data)
        data.is_valid(raise_exception=True)
        user, password = _api_fields(
            lambda: users.user_invite(actor=request.user, request=request, **data.validated_data)
        )
        user.temporary_password = password
        return Response(ManagedUserInvitedSerializer(user).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=UserUpdateInput, responses={200: ManagedUserSerializer})
    def partial_update(self, request, pk=None):
        data = UserUpdateInput(data=request.data)
        data.is_valid(raise_exception=True)
        user = _api_fields(
            lambda: users.user_update(actor=request.user, user_id=pk, request=request, **data.validated_data)
        )
        return Response(ManagedUserSerializer(user).data)

    @extend_schema(request=UserActionInput, responses={200: ManagedUserSerializer})
    @action(detail=True, methods=["post"])
    def deactivate(self, request, pk=None):
        data = UserActionInput(data=request.data)
        data.is_valid(raise_exception=True)
        user = users.user_deactivate(actor=request.user, user_id=pk, request=request, **data.validated_data)
        return Response(ManagedUserSerializer(user).data)

    @extend_schema(request=UserActionInput, responses={200: ManagedUserSerializer})
    @action(detail=True, methods=["post"])
    def reactivate(self, request, pk=None):
        data = UserActionInput(data=request.data)
        data.is_valid(raise_exception=True)
        user = users.user_reactivate(actor=request.user, user_id=pk, request=request, **data.validated_data)
        return Response(ManagedUserSerializer(user).data)

    @extend_schema(request=UserActionInput, responses={200: ManagedUserInvitedSerializer})
    @action(detail=True, methods=["post"], url_path="reset-password")
    def reset_password(self, request, pk=None):
        data = UserActionInput(data=request.data)
        data.is_valid(raise_exception=True)
        user, password = users.user_reset_password(
            actor=request.user, user_id=pk, request=request, **data.validated_data
        )
        user.temporary_password = password
        response = Response(ManagedUserInvitedSerializer(user).data)
        response["Cache-Control"] = "no-store"
        return response
