"""Recommendation batches (推荐清单): sign-off and push."""

from __future__ import annotations

from django.db.models import Count
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from matching import services
from matching.apis.common import PolicyGateMixin, _doc, _input, _pk, _responses, _user_name
from matching.apis.declarations import LeadBriefSerializer
from matching.models import (
    Declaration,
    Recommendation,
    RecommendationBatch,
)
from matching.workflow import Action
from portal import bounds
from portal.api import ChoiceLabelField, RestrictedViewSetMixin
from portal.tenancy import VIEW, restrict

# --- batches -------------------------------------------------------------------------------


class BatchDeclarationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    entity = serializers.CharField(source="entity.name")
    state = serializers.CharField()
    state_display = ChoiceLabelField("state")


class BatchLeadSerializer(LeadBriefSerializer):
    entity = serializers.CharField(source="entity.name")


class BatchOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    state = serializers.CharField()
    state_display = ChoiceLabelField("state")
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
