"""督办单 API: list and read the orders you may see, issue one (a regulator), and sign for,
answer or close it as the policy table allows (reporting/supervision/policy.py): the creation and
one POST per row come from portal.policy_resources. Ids are validated by portal.bounds and
resolved through the restriction by the services."""

from __future__ import annotations

import django_filters
from rest_framework import serializers

from portal import bounds
from portal.api import ChoiceLabelField
from portal.policy_resources import PolicyViewSet, error_responses
from reporting.models import SupervisionOrder, SupervisionState
from reporting.supervision import policy, selectors, services
from reporting.supervision.policy import Action


class EventSerializer(serializers.Serializer):
    kind = serializers.CharField(help_text="事项代码")
    kind_label = ChoiceLabelField("kind", help_text="事项(中文)")
    note = serializers.CharField(help_text="说明")
    created_at = serializers.DateTimeField()


class OrderOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField(help_text="督办单编号")
    issuer_id = serializers.IntegerField(help_text="督办机构 id")
    issuer_name = serializers.CharField(source="issuer.name", help_text="督办机构")
    target_id = serializers.IntegerField(help_text="被督办单位(银行机构或职能部门)id")
    target_name = serializers.CharField(source="target.name", help_text="被督办单位")
    target_contact_name = serializers.CharField(
        source="target.contact_name", help_text="被督办单位联系人(该单位管理员维护; 未指定为空)"
    )
    target_contact_phone = serializers.CharField(source="target.contact_phone", help_text="被督办单位联系电话")
    subject = serializers.CharField(help_text="督办事项")
    demand = serializers.CharField(help_text="督办要求")
    state = serializers.CharField(
        help_text="状态: " + "、".join(f"{v} {label}" for v, label in SupervisionState.choices)
    )
    state_label = ChoiceLabelField("state")
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


class SupervisionOrderViewSet(PolicyViewSet):
    """督办单: 监管机构向银行机构或职能部门下发, 被督办单位签收、办理回复; 逾期未回复的升级至上级协调机制."""

    queryset = SupervisionOrder.objects.select_related("issuer", "target").order_by("-created_at", "-id")
    serializer_class = OrderOutputSerializer
    filterset_class = OrderFilter

    policy_table = policy.TABLE
    states = SupervisionState
    error_docs = error_responses(forbidden="角色无权执行, 或不是下发给本单位、由本机构下发的督办单")
    read_one = staticmethod(selectors.order_get)
    detail_serializer = OrderDetailSerializer
    create_action = Action.ISSUE
    create_input = IssueSerializer
    create_service = staticmethod(services.supervision_issue)
    action_inputs = INPUTS
    action_services = services.SERVICES
    service_object = "order_id"
