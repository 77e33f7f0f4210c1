"""督办单 API: list and read the orders you may see, issue one (a regulator), and sign for,
answer or close it as the policy table allows (reporting/supervision/policy.py). Ids are
validated by portal.bounds and resolved through the restriction by the services."""

from __future__ import annotations

import django_filters
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from portal import bounds
from portal.api import RestrictedViewSetMixin
from reporting.models import SupervisionOrder, SupervisionState
from reporting.supervision import policy, selectors, services
from reporting.supervision.policy import Action

ERRORS = {
    400: OpenApiResponse(description="输入有误(字段错误在 errors 中)"),
    403: OpenApiResponse(description="角色无权执行, 或不是下发给本单位、由本机构下发的督办单"),
    404: OpenApiResponse(description="不存在或不在您的权限范围"),
    409: OpenApiResponse(description="当前状态不允许该操作"),
}


def _doc(action_: Action) -> str:
    rule = policy.rule(action_)
    states = "、".join(SupervisionState(s).label for s in rule.states) or "新建"
    return f"[{rule.label}] {rule.description}。可办理状态: {states}; 办理后: {SupervisionState(rule.target).label}。"


class EventSerializer(serializers.Serializer):
    kind = serializers.CharField(help_text="事项代码")
    kind_label = serializers.CharField(source="get_kind_display", help_text="事项(中文)")
    note = serializers.CharField(help_text="说明")
    created_at = serializers.DateTimeField()


class OrderOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField(help_text="督办单编号")
    issuer_id = serializers.IntegerField(help_text="督办机构 id")
    issuer_name = serializers.CharField(source="issuer.name", help_text="督办机构")
    target_id = serializers.IntegerField(help_text="被督办单位(银行机构或职能部门)id")
    target_name = serializers.CharField(source="target.name", help_text="被督办单位")
    subject = serializers.CharField(help_text="督办事项")
    demand = serializers.CharField(help_text="督办要求")
    state = serializers.CharField(
        help_text="状态: " + "、".join(f"{v} {label}" for v, label in SupervisionState.choices)
    )
    state_label = serializers.CharField(source="get_state_display")
    due_working_days = serializers.IntegerField(help_text="回复时限(工作日)")
    due_at = serializers.DateTimeField(help_text="回复期限")
    is_overdue = serializers.BooleanField(help_text="是否已逾期未回复")
    answer = serializers.CharField(help_text="办理回复")
    created_at = serializers.DateTimeField()


class OrderDetailSerializer(OrderOutputSerializer):
    lead_ids = serializers.SerializerMethodField(help_text="涉及线索 id(您可见的)")
    problem_ids = serializers.SerializerMethodField(help_text="涉及批分单 id(您可见的)")
    events = serializers.SerializerMethodField(help_text="办理记录")

    def _items(self, obj):
        if not hasattr(self, "_cached_items"):
            self._cached_items = selectors.order_items(user=self.context["request"].user, order=obj)
        return self._cached_items

    def get_lead_ids(self, obj) -> list[int]:
        return list(self._items(obj)["leads"].values_list("pk", flat=True))

    def get_problem_ids(self, obj) -> list[int]:
        return list(self._items(obj)["problems"].values_list("pk", flat=True))

    def get_events(self, obj) -> list[dict]:
        return EventSerializer(selectors.order_events(user=self.context["request"].user, order=obj), many=True).data


class IssueSerializer(serializers.Serializer):
    target_id = bounds.IdField(help_text="被督办单位的机构 id(本辖区的银行机构或职能部门)")
    subject = serializers.CharField(max_length=200, help_text="督办事项")
    demand = serializers.CharField(max_length=services.TEXT_MAX, help_text="督办要求")
    due_working_days = serializers.IntegerField(
        min_value=1, max_value=services.MAX_DUE_WORKING_DAYS, help_text="回复时限(工作日)"
    )
    lead_ids = bounds.IdListField(
        required=False, default=list, max_length=services.MAX_ITEMS, help_text="涉及线索 id(须为被督办机构的线索)"
    )
    problem_ids = bounds.IdListField(
        required=False, default=list, max_length=services.MAX_ITEMS, help_text="涉及批分单 id(须为转交被督办部门的)"
    )


class SupervisionNoteSerializer(serializers.Serializer):
    note = serializers.CharField(allow_blank=True, default="", max_length=services.TEXT_MAX, help_text="说明(选填)")


class SupervisionAnswerSerializer(serializers.Serializer):
    answer = serializers.CharField(max_length=services.TEXT_MAX, help_text="办理回复")


INPUTS = {
    Action.ACKNOWLEDGE: SupervisionNoteSerializer,
    Action.ANSWER: SupervisionAnswerSerializer,
    Action.CLOSE: SupervisionNoteSerializer,
}


class OrderFilter(django_filters.FilterSet):
    state = django_filters.ChoiceFilter(choices=SupervisionState.choices, help_text="状态")

    class Meta:
        model = SupervisionOrder
        fields = ["state"]


class SupervisionOrderViewSet(
    RestrictedViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """督办单: 监管机构向银行机构或职能部门下发, 被督办单位签收、办理回复; 逾期未回复的升级至上级协调机制."""

    queryset = SupervisionOrder.objects.select_related("issuer", "target").order_by("-created_at", "-id")
    serializer_class = OrderOutputSerializer
    filterset_class = OrderFilter
    lookup_value_regex = r"\d+"

    def get_serializer_class(self):
        return OrderDetailSerializer if self.action == "retrieve" else OrderOutputSerializer

    def _gate(self, action_: Action) -> None:
        if not policy.may(action_, self.request.user):
            raise policy.refusal(action_, self.request.user)

    def _read(self, pk: int) -> dict:
        order = selectors.order_get(user=self.request.user, pk=pk)
        return OrderDetailSerializer(order, context={"request": self.request}).data

    @extend_schema(
        request=IssueSerializer, responses={201: OrderDetailSerializer, **ERRORS}, description=_doc(Action.ISSUE)
    )
    def create(self, request):
        self._gate(Action.ISSUE)
        serializer = IssueSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        order = services.supervision_issue(actor=request.user, **serializer.validated_data)
        return Response(self._read(order.pk), status=status.HTTP_201_CREATED)

    def _act(self, request, action_: Action) -> Response:
        self._gate(action_)
        serializer = INPUTS[action_](data=request.data)
        serializer.is_valid(raise_exception=True)
        call, _ = services.SERVICES[action_]
        call(actor=request.user, order_id=int(self.kwargs["pk"]), **serializer.validated_data)
        return Response(self._read(int(self.kwargs["pk"])))


def _endpoint(action_: Action):
    name = action_.value.split(".", 1)[1]

    def endpoint(self, request, pk=None):
        return self._act(request, action_)

    endpoint.__name__ = endpoint.__qualname__ = name
    endpoint = action(detail=True, methods=["post"], url_path=name, url_name=name)(endpoint)
    return extend_schema(
        request=INPUTS[action_], responses={200: OrderDetailSerializer, **ERRORS}, description=_doc(action_)
    )(endpoint)


for _action in INPUTS:
    setattr(SupervisionOrderViewSet, _action.value.split(".", 1)[1], _endpoint(_action))
