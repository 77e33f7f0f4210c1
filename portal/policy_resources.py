"""What a resource whose states and actions are one policy table shares between its API and its
pages: the 批分单 (coordination/policy.py), the 大走访活动 (campaigns/policy.py) and the 督办单
(reporting/supervision/policy.py) are three; matching/workflow.py is the larger table of the 申报 →
推荐 workflow, with its own helpers.

A policy module offers `Action`, a StrEnum of "noun.verb" values (the verb, with "-" for "_", is
the action's URL slug), and `TABLE`, its portal.policy_table.PolicyTable: `TABLE.rule(action)`
is its row (`label`, `description`, `states` — empty for the one row that creates the object —
and `target`, None when the state stays), `TABLE.require(action, actor, obj=None)` raises the
refusal as an ApplicationError (the role, then the object's state, then the row's checks), and
`TABLE.allowed(user, obj)` is {action name: bool} for a page's forms.
Its services module offers `SERVICES = {action: (service, (argument, …))}` for the rows that act
on an object, each called as `service(actor=…, <object>_id=pk, **arguments)`.

API (`PolicyViewSet`, or `PolicyViewSetMixin` on a viewset of one's own): the restricted list
and detail, the creation (POST on the list, 201), the edit of the object's fields (PATCH on the
detail, `update_action`: a field left out stays) and one POST endpoint per row (`/<pk>/<slug>/`,
200), each gated by the role before its input is read, answering the object as its detail
serializer reads it, and documented from its row (`action_doc`) with the standard error
responses (`error_responses`).

Pages (`PolicyDetailView`, `PolicyActionView`): the detail page with the forms of the actions the
user may take on the object in its state (`can`: TABLE.allowed), and one POST per action: the
service checks everything; not visible → 404, a refusal → its message and field errors above the
page's forms (messages), success → "已<label>" and back to the detail (PRG). `refused_page` draws
a role's refusal as the 403 page.

A policy-table resource adopts it in one step (campaigns/apis.py and views.py, abridged):

    # campaigns/apis.py
    class CampaignViewSet(PolicyViewSet):
        queryset = Campaign.objects.order_by("-id")  # restricted by the viewset
        serializer_class = CampaignOutputSerializer  # the list's
        policy_table = policy.TABLE
        states = CampaignState
        error_docs = error_responses(forbidden="角色无权执行, 或不是本市开展的活动、活动未覆盖本县区")
        read_one = staticmethod(selectors.campaign_get)  # (user=, pk=) → the visible object
        detail_serializer = CampaignOutputSerializer
        create_action = Action.OPEN
        create_input = CampaignInputSerializer
        create_service = staticmethod(services.campaign_open)  # (actor=, **input) → the object
        update_action = Action.EDIT  # PATCH /campaigns/<pk>/
        update_input = CampaignEditSerializer
        action_inputs = {Action.START: None, Action.END: None}  # None: no input
        action_services = services.SERVICES
        service_object = "campaign_id"

    # campaigns/views.py (urls: "<int:pk>/" and "<int:pk>/<slug:action>/")
    class CampaignDetailView(PolicyDetailView):
        template_name = "campaigns/campaign_detail.html"
        policy_table = policy.TABLE
        read_one = staticmethod(selectors.campaign_get)
        object_name = "campaign"

    class CampaignActionView(PolicyActionView):
        policy_table = policy.TABLE
        action_services = {...}  # the rows whose button posts here (修改活动 is a form page)
        service_object = "campaign_id"
        detail_url = "campaigns:campaign_detail"
        # succeeded(request, pk, action, result): what follows a done action (default "已<label>")
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import Http404
from django.shortcuts import redirect, render
from django.views import View
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action as drf_action
from rest_framework.response import Response

from portal.api import RestrictedViewSetMixin
from portal.errors import ApplicationError
from portal.policy_table import PolicyTable

# --- the API ---------------------------------------------------------------------------------


def error_responses(*, forbidden: str) -> dict[int, OpenApiResponse]:
    """The documented error responses of a policy resource; `forbidden` says who is refused (403)."""
    return {
        400: OpenApiResponse(description="输入有误(字段错误在 errors 中)"),
        403: OpenApiResponse(description=forbidden),
        404: OpenApiResponse(description="不存在或不在您的权限范围"),
        409: OpenApiResponse(description="当前状态不允许该操作"),
    }


def action_doc(rule, states) -> str:
    """The API documentation of a row: "[label] description。可办理状态: …; 办理后: …。"
    (`states`: the TextChoices of the object's state, for their Chinese labels)."""
    acts_in = "、".join(states(s).label for s in rule.states) or "新建"
    after = states(rule.target).label if rule.target is not None else "状态不变"
    return f"[{rule.label}] {rule.description}。可办理状态: {acts_in}; 办理后: {after}。"


def verb(action) -> str:
    """The action's verb: "problem.propose_escalation" → "propose_escalation"."""
    return action.value.split(".", 1)[1]


def slug(action) -> str:
    """The action's URL slug: "propose-escalation"."""
    return verb(action).replace("_", "-")


class PolicyViewSetMixin:
    """The creation and the per-row POST endpoints of a policy resource's viewset, from the class
    attributes below (see the module's example); a subclass gets them when it is defined."""

    policy_table: PolicyTable
    states: type  # the TextChoices of the object's state
    error_docs: dict[int, OpenApiResponse]
    read_one = None  # staticmethod: (user=, pk=) → the object, restricted for viewing
    detail_serializer: type
    create_action = None  # the row without states, or None: no creation
    create_input: type | None = None
    create_service = None  # staticmethod: (actor=, **validated input) → the new object
    update_action = None  # the row that edits the object's fields (PATCH on the detail), or None
    update_input: type | None = None  # its input, validated partially: a field left out stays
    action_inputs: dict = {}  # {action: input serializer class, or None: no input} of the rows acting on an object
    action_services: dict = {}  # the services module's SERVICES
    service_object = "id"  # the services' keyword for the object's id

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.create_action is not None and "create" not in cls.__dict__:
            cls.create = _create_endpoint(cls)
        if cls.update_action is not None and "partial_update" not in cls.__dict__:
            cls.partial_update = _update_endpoint(cls)
        for action_ in cls.action_inputs:
            if verb(action_) not in cls.__dict__:
                setattr(cls, verb(action_), _action_endpoint(cls, action_))

    def gate(self, action_) -> None:
        """A role the table never allows the action: 403, before any input is read."""
        self.policy_table.require(action_, self.request.user)

    def validated(self, serializer_class, *, partial: bool = False) -> dict:
        if serializer_class is None:
            return {}
        serializer = serializer_class(data=self.request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def read(self, pk: int) -> dict:
        obj = self.read_one(user=self.request.user, pk=pk)
        return self.detail_serializer(obj, context={"request": self.request}).data

    def act(self, request, action_) -> Response:
        self.gate(action_)
        inputs = self.validated(self.action_inputs[action_])
        call, _ = self.action_services[action_]
        call(actor=request.user, **{self.service_object: int(self.kwargs["pk"])}, **inputs)
        return Response(self.read(int(self.kwargs["pk"])))


class PolicyViewSet(
    PolicyViewSetMixin,
    RestrictedViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """A policy resource's viewset: the restricted list (`serializer_class`), the detail
    (`detail_serializer`), the creation and the per-row endpoints."""

    lookup_value_regex = r"\d+"

    def get_serializer_class(self):
        return self.detail_serializer if self.action == "retrieve" else super().get_serializer_class()


def _create_endpoint(cls):
    def create(self, request):
        self.gate(cls.create_action)
        created = cls.create_service(actor=request.user, **self.validated(cls.create_input))
        return Response(self.read(created.pk), status=status.HTTP_201_CREATED)

    return extend_schema(
        request=cls.create_input,
        responses={201: cls.detail_serializer, **cls.error_docs},
        description=action_doc(cls.policy_table.rule(cls.create_action), cls.states),
    )(create)


def _update_endpoint(cls):
    """PATCH on the detail: the row's service with the fields given (the others stay)."""

    def partial_update(self, request, pk=None):
        self.gate(cls.update_action)
        inputs = self.validated(cls.update_input, partial=True)
        call, _ = cls.action_services[cls.update_action]
        call(actor=request.user, **{cls.service_object: int(pk)}, **inputs)
        return Response(self.read(int(pk)))

    return extend_schema(
        request=cls.update_input,
        responses={200: cls.detail_serializer, **cls.error_docs},
        description=action_doc(cls.policy_table.rule(cls.update_action), cls.states) + " 未提交的字段保持不变。",
    )(partial_update)


def _action_endpoint(cls, action_):
    """One POST endpoint for a row (named before DRF's decorator reads the name)."""

    def endpoint(self, request, pk=None):
        return self.act(request, action_)

    endpoint.__name__ = endpoint.__qualname__ = verb(action_)
    endpoint = drf_action(detail=True, methods=["post"], url_path=slug(action_), url_name=slug(action_))(endpoint)
    return extend_schema(
        request=cls.action_inputs[action_],
        responses={200: cls.detail_serializer, **cls.error_docs},
        description=action_doc(cls.policy_table.rule(action_), cls.states),
    )(endpoint)


# --- the pages -------------------------------------------------------------------------------


def refused_page(request, error: ApplicationError):
    """A refusal (a role the table never allows) as the 403 page saying why."""
    return render(request, "403.html", {"reason": error.message}, status=403)


def as_int(value):
    """A number typed in a form, or what was typed (the service refuses it beside its field)."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return value


class PolicyDetailView(LoginRequiredMixin, View):
    """The detail page: the object (not visible → 404) and `can`, the forms the user may use now."""

    template_name: str
    policy_table: PolicyTable
    read_one = None  # staticmethod: (user=, pk=) → the object, restricted for viewing
    object_name = "object"

    def context(self, request, obj, can: dict[str, bool]) -> dict:
        """What else the page shows (its timeline, …)."""
        return {}

    def get(self, request, pk):
        try:
            obj = self.read_one(user=request.user, pk=pk)
        except ApplicationError:
            raise Http404 from None
        can = self.policy_table.allowed(request.user, obj)
        return render(
            request, self.template_name, {self.object_name: obj, "can": can, **self.context(request, obj, can)}
        )


class PolicyActionView(LoginRequiredMixin, View):
    """One POST per action of the detail page (URL kwarg `action`: the slug); the service checks
    everything. The refusal's message and its field errors go above the page's forms, each once."""

    policy_table: PolicyTable
    action_services: dict = {}
    service_object = "id"
    int_fields: tuple[str, ...] = ()  # inputs given to the service as numbers (`as_int`)
    detail_url: str
    noun = ""  # taken off the row's label in the success message: "受理批分单" → "已受理"

    def post(self, request, pk, action):
        chosen = {slug(a): a for a in self.action_services}.get(action)
        if chosen is None:
            raise Http404
        call, fields = self.action_services[chosen]
        inputs = {f: request.POST.get(f, "") for f in fields}
        for name in self.int_fields:
            if name in inputs:
                inputs[name] = as_int(inputs[name])
        try:
            result = call(actor=request.user, **{self.service_object: pk}, **inputs)
        except ApplicationError as error:
            if error.code == "not_found":
                raise Http404 from None
            messages.error(request, error.message)
            for field_messages in (error.field_errors or {}).values():
                for message in field_messages:
                    if message != error.message:
                        messages.error(request, message)
        else:
            return self.succeeded(request, pk, chosen, result)
        return redirect(self.detail_url, pk=pk)

    def succeeded(self, request, pk, action, result):
        """After the service did the action: "已<label>" and back to the detail page."""
        messages.success(request, f"已{self.policy_table.rule(action).label.removesuffix(self.noun)}")
        return redirect(self.detail_url, pk=pk)
