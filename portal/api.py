"""API base: the restricted base viewset and the portal's own endpoints."""
from drf_spectacular.utils import extend_schema
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions, serializers, viewsets
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.mixins import TenantRestricted
from portal.models import AuditEvent, Organisation, Role
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
        fields = ["id", "created_at", "actor", "organisation", "action", "object_type", "object_id", "object_repr", "before", "after", "ip_address"]


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
