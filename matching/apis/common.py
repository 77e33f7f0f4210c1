"""What every resource of the workflow API shares: the error format, the policy gate,
file renderers and the brief serializers of entities, banks and intended banks."""

from __future__ import annotations

import json

from drf_spectacular.utils import OpenApiResponse, extend_schema_field
from rest_framework import renderers, serializers

from matching import workflow
from matching.workflow import Action
from portal.api import ChoiceLabelField

IMPORT_MAX_BYTES = 20 * 1024 * 1024  # a declaration import file


# --- shared pieces -------------------------------------------------------------------------


class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="invalid | conflict | permission_denied | not_found | …")
    message = serializers.CharField(help_text="中文错误说明")
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()), help_text="字段 → 错误列表"
    )


ERRORS = {
    400: OpenApiResponse(ErrorSerializer, description="输入有误(字段错误在 errors 中)"),
    403: OpenApiResponse(ErrorSerializer, description="角色无权执行"),
    404: OpenApiResponse(ErrorSerializer, description="不存在或不在您的权限范围"),
    409: OpenApiResponse(ErrorSerializer, description="当前状态不允许该操作"),
}


def _responses(ok, code: int = 200) -> dict:
    return {code: ok, **ERRORS}


def _input(serializer_class, request) -> dict:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _pk(view) -> int:
    return int(view.kwargs[view.lookup_url_kwarg or view.lookup_field])


class PolicyGateMixin:
    """API permissions from the workflow table (matching/workflow.py): after the
    object's visibility check (another tenant's object: 404), an action the caller's role may
    never perform is refused with 403 before its input is read. `policy_actions` maps a
    viewset action (or "action:METHOD") to the workflow actions any of which lets the role in;
    the service then checks the state and the per-object rules."""

    policy_actions: dict[str, tuple[Action, ...]] = {}

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        actions = self.policy_actions.get(f"{self.action}:{request.method}") or self.policy_actions.get(self.action)
        if actions and not any(workflow.may(action, request.user) for action in actions):
            refusal = (
                workflow.role_refusal(actions[0]) if len(actions) == 1 else workflow.Refusal("您的角色无权执行此操作")
            )
            raise refusal.error()


def _doc(*actions: Action) -> str:
    return " ".join(f"[{workflow.rule(a).label}] {workflow.describe(a)}" for a in actions)


class BinaryRenderer(renderers.BaseRenderer):
    """Lets a file download be negotiated whatever the client accepts; errors still go out
    as the JSON error format."""

    media_type = "*/*"
    format = "bin"
    charset = None
    render_style = "binary"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if isinstance(data, (bytes, bytearray)):
            return bytes(data)
        response = (renderer_context or {}).get("response")
        if response is not None:  # an error reached a client that asked for a file: still JSON
            response["Content-Type"] = "application/json"
        return json.dumps(data, ensure_ascii=False).encode("utf-8")


FILE_RENDERERS = [renderers.JSONRenderer, BinaryRenderer]


def _user_name(user) -> str | None:
    return (user.get_full_name() or user.username) if user is not None else None


@extend_schema_field({"type": "string", "nullable": True})
class UserNameField(serializers.ReadOnlyField):
    """A user attribute (``actor``, ``uploaded_by``, …) as the user's name: full name, else the
    username; null without a user."""

    def to_representation(self, value):
        return _user_name(value)


class EntityBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    uscc = serializers.CharField()
    entity_type = serializers.CharField()
    entity_type_display = ChoiceLabelField("entity_type")
    region_code = serializers.CharField(source="region_id")


class BankBriefSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()


class IntendedBankSerializer(serializers.Serializer):
    position = serializers.IntegerField()
    code = serializers.CharField(source="bank.code")
    name = serializers.CharField(source="bank.name")
