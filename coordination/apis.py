"""批分单 API: list and read the problems you may see, fill one in, and act on it as the policy
table allows (coordination/policy.py): the creation and one POST per row come from
portal.policy_resources. Ids are validated by portal.bounds and resolved through the restriction
by the services."""

from __future__ import annotations

import django_filters
from rest_framework import serializers

from coordination import policy, selectors, services
from coordination.models import Problem, ProblemKind, ProblemSource, ProblemState
from coordination.policy import Action
from portal import bounds
from portal.api import ChoiceLabelField
from portal.policy_resources import PolicyViewSet, error_responses


class ProblemEventSerializer(serializers.Serializer):
    kind = serializers.CharField(help_text="事项代码")
    kind_label = ChoiceLabelField("kind", help_text="事项(中文)")
    department = serializers.CharField(source="department.name", default=None, help_text="当时的承办部门")
    note = serializers.CharField(help_text="说明")
    created_at = serializers.DateTimeField()


class ProblemOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField(help_text="批分单编号")
    entity_id = serializers.IntegerField()
    entity_name = serializers.CharField(source="entity.name")
    region_code = serializers.CharField(source="region_id", help_text="企业所在县区")
    kind = serializers.CharField(help_text="问题类型: " + "、".join(f"{v} {label}" for v, label in ProblemKind.choices))
    kind_label = ChoiceLabelField("kind")
    source = serializers.CharField(help_text="问题来源")
    description = serializers.CharField(help_text="问题描述")
    level = serializers.CharField(help_text="所在层级: county 县级 / city 市级 / province 省级")
    department_id = serializers.IntegerField(allow_null=True, help_text="承办部门(机构 id)")
    department_name = serializers.CharField(source="department.name", default=None)
    department_contact_name = serializers.CharField(
        source="department.contact_name", default="", help_text="承办部门联系人(部门管理员维护; 未指定为空)"
    )
    department_contact_phone = serializers.CharField(
        source="department.contact_phone", default="", help_text="承办部门联系电话"
    )
    state = serializers.CharField(help_text="状态")
    state_label = ChoiceLabelField("state")
    due_working_days = serializers.IntegerField(help_text="办理时限(工作日)")
    due_at = serializers.DateTimeField(allow_null=True, help_text="办理期限")
    is_overdue = serializers.BooleanField(help_text="是否已逾期")
    tolerance = serializers.BooleanField(help_text="是否适用容缺受理")
    commitment_text = serializers.CharField(help_text="企业信用承诺")
    answer = serializers.CharField(help_text="部门答复")
    created_at = serializers.DateTimeField()


class ProblemDetailSerializer(ProblemOutputSerializer):
    events = serializers.SerializerMethodField(help_text="办理记录")

    def get_events(self, obj) -> list[dict]:
        events = selectors.problem_events(user=self.context["request"].user, problem=obj)
        return ProblemEventSerializer(events, many=True).data


class ProblemInputSerializer(serializers.Serializer):
    entity_id = bounds.IdField(help_text="经营主体 id(须在您的县区)")
    kind = serializers.ChoiceField(choices=ProblemKind.choices, help_text="问题类型")
    source = serializers.ChoiceField(choices=ProblemSource.choices, help_text="问题来源")
    description = serializers.CharField(max_length=services.TEXT_MAX, help_text="问题描述")
    department_id = bounds.IdField(help_text="承办部门(本县区职能部门的机构 id)")
    due_working_days = serializers.IntegerField(
        min_value=1, max_value=services.MAX_DUE_WORKING_DAYS, help_text="办理时限(工作日)"
    )
    tolerance = serializers.BooleanField(default=False, help_text="是否适用容缺受理(须填写企业信用承诺)")
    commitment_text = serializers.CharField(
        allow_blank=True, default="", max_length=services.TEXT_MAX, help_text="企业信用承诺"
    )


class NoteSerializer(serializers.Serializer):
    note = serializers.CharField(allow_blank=True, default="", max_length=services.TEXT_MAX, help_text="说明(选填)")


class AnswerSerializer(serializers.Serializer):
    answer = serializers.CharField(max_length=services.TEXT_MAX, help_text="答复办理结果")


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=services.TEXT_MAX, help_text="理由")


class RerouteSerializer(serializers.Serializer):
    department_id = bounds.IdField(help_text="承办部门(本级工作机制职能部门的机构 id)")
    due_working_days = serializers.IntegerField(
        min_value=1, max_value=services.MAX_DUE_WORKING_DAYS, help_text="办理时限(工作日)"
    )


INPUTS = {
    Action.ACCEPT: NoteSerializer,
    Action.ANSWER: AnswerSerializer,
    Action.RETURN: ReasonSerializer,
    Action.REROUTE: RerouteSerializer,
    Action.PROPOSE_ESCALATION: ReasonSerializer,
    Action.APPROVE_ESCALATION: NoteSerializer,
    Action.REFUSE_ESCALATION: ReasonSerializer,
    Action.CLOSE: NoteSerializer,
}


class ProblemFilter(django_filters.FilterSet):
    state = django_filters.ChoiceFilter(choices=ProblemState.choices, help_text="状态")
    kind = django_filters.ChoiceFilter(choices=ProblemKind.choices, help_text="问题类型")
    entity = bounds.IdFilter(field_name="entity_id", help_text="经营主体 id")

    class Meta:
        model = Problem
        fields = ["state", "kind", "entity"]


class ProblemViewSet(PolicyViewSet):
    """批分单: 专班填写后转交职能部门, 部门受理、答复; 逾期升级; 经召集人同意逐级上报上级工作机制."""

    queryset = Problem.objects.select_related("entity", "department").order_by("-created_at", "-id")
    serializer_class = ProblemOutputSerializer
    filterset_class = ProblemFilter

    policy_table = policy.TABLE
    states = ProblemState
    error_docs = error_responses(forbidden="角色无权执行或不是本级工作机制、本部门的批分单")
    read_one = staticmethod(selectors.problem_get)
    detail_serializer = ProblemDetailSerializer
    create_action = Action.OPEN
    create_input = ProblemInputSerializer
    create_service = staticmethod(services.problem_open)
    action_inputs = INPUTS
    action_services = services.SERVICES
    service_object = "problem_id"
