"""Visits (走访), decline reasons and notifications."""

from __future__ import annotations

import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from matching import notifications, selectors, services
from matching.apis.common import EntityBriefSerializer, PolicyGateMixin, _doc, _input, _pk, _responses, _user_name
from matching.apis.leads import DeclineReasonOutputSerializer
from matching.models import (
    DeclineReason,
    Notification,
    Visit,
    VisitChannel,
)
from matching.workflow import Action
from portal import bounds
from portal.api import RestrictedViewSetMixin

# --- visits --------------------------------------------------------------------------------


class VisitOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    entity = EntityBriefSerializer()
    region_code = serializers.CharField(source="region_id")
    visited_on = serializers.DateField()
    people = serializers.CharField()
    findings = serializers.CharField()
    need_found = serializers.BooleanField()
    channel = serializers.CharField(help_text="走访方式: on_site 实地走访 / phone 电话走访")
    basic_situation = serializers.CharField(help_text="企业基本情况(重点走访)")
    operation = serializers.CharField(help_text="经营状况(重点走访)")
    need_amount = serializers.IntegerField(allow_null=True, help_text="融资需求金额(元)")
    need_term_months = serializers.IntegerField(allow_null=True, help_text="融资需求期限(月)")
    loan_purpose = serializers.CharField(help_text="真实贷款用途")
    basic_criteria = serializers.JSONField(help_text="五项基本标准: {标准: {met: 是否满足, evidence: 依据}}")
    recorded_by = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()

    def get_recorded_by(self, obj) -> str | None:
        return _user_name(obj.recorded_by)


class VisitInputSerializer(serializers.Serializer):
    entity_id = bounds.IdField(help_text="经营主体 id(本县区的主体, 或大走访中分配给您的走访对象)")
    visited_on = serializers.DateField(help_text="走访日期(不晚于今天)")
    channel = serializers.ChoiceField(
        choices=VisitChannel.choices,
        default=VisitChannel.ON_SITE,
        help_text="走访方式: on_site 实地走访 / phone 电话走访",
    )
    people = serializers.CharField(max_length=255, help_text="走访人员")
    findings = serializers.CharField(allow_blank=True, default="", max_length=5000, help_text="走访情况")
    need_found = serializers.BooleanField(default=False, help_text="发现融资需求")
    basic_situation = serializers.CharField(allow_blank=True, default="", max_length=5000, help_text="企业基本情况")
    operation = serializers.CharField(allow_blank=True, default="", max_length=5000, help_text="经营状况")
    need_amount = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=100_000_000, help_text="融资需求金额(元)"
    )
    need_term_months = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=360, help_text="融资需求期限(月)"
    )
    loan_purpose = serializers.CharField(allow_blank=True, default="", max_length=255, help_text="真实贷款用途")
    basic_criteria = serializers.DictField(
        child=serializers.DictField(), required=False, help_text="五项基本标准: {标准代码: {met: true, evidence: 依据}}"
    )


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
