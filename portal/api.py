"""API base: the restricted base viewset and the portal's own endpoints."""
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, viewsets
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.mixins import TenantRestricted
from portal.models import AuditEvent, Organisation, Role
from portal.tenancy import restrict, scope_for


class RestrictedViewSetMixin(TenantRestricted):
    """Base of every API viewset: the queryset always passes through restrict()."""

    def get_queryset(self):
        action = "view" if self.request.method in ("GET", "HEAD", "OPTIONS") else "change"
        return restrict(super().get_queryset(), self.request.user, action)


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
