"""Pagination and the one API error format. Kept apart from the viewsets because DRF
reads these settings while its generic views are being imported.

Every API error is {"code", "message", "errors"}: the exceptions a view raises go through
`exception_handler` (DRF's setting); what escapes it — an unexpected exception in a view, an
error in a middleware — reaches Django's handler500 (and handler404/403), which answer in
the same format for paths under /api/ (`json_error`), also with DEBUG=False."""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.pagination import CursorPagination, PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from portal.bounds import ID_MAX
from portal.services import ApplicationError


def _bounded(parameters: list[dict], limits: dict[str, tuple[int, int]]) -> list[dict]:
    """The pagination parameters with the limits they are read with (a page number or size
    outside them is a 404 or the largest page, never a 500)."""
    for parameter in parameters:
        if parameter.get("name") in limits:
            low, high = limits[parameter["name"]]
            parameter["schema"] = {**parameter.get("schema", {}), "minimum": low, "maximum": high}
    return parameters


class Pagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500

    def get_schema_operation_parameters(self, view):
        return _bounded(
            super().get_schema_operation_parameters(view),
            {self.page_query_param: (1, ID_MAX), self.page_size_query_param: (1, self.max_page_size)},
        )


class BoundedCursorPagination(CursorPagination):
    page_size_query_param = "page_size"
    max_page_size = 500

    def get_schema_operation_parameters(self, view):
        return _bounded(
            super().get_schema_operation_parameters(view), {self.page_size_query_param: (1, self.max_page_size)}
        )


_MESSAGES = {
    "not_authenticated": "请先登录",
    "authentication_failed": "身份验证失败",
    "permission_denied": "没有权限执行此操作",
    "not_found": "未找到",
    "method_not_allowed": "不支持的请求方法",
    "throttled": "请求过于频繁, 请稍后再试",
    "parse_error": "请求格式错误",
    "unsupported_media_type": "不支持的内容类型",
    "invalid": "输入有误",
    "not_acceptable": "无法按请求的格式返回",
    "server_error": "服务器内部错误, 请稍后重试; 如反复出现请联系平台管理员",
    "request_too_large": "请求内容过大",
    "csrf_failed": "安全校验失败 (CSRF): 请刷新页面后重试; 以会话调用接口时须带 X-CSRFToken 请求头",
}

API_PREFIX = "/api/"


def is_api_request(request) -> bool:
    return request is not None and request.path.startswith(API_PREFIX)


def json_error(code: str, status_code: int, message: str | None = None, errors: dict | None = None) -> JsonResponse:
    """An error in the API's format, outside DRF (handlers, middleware)."""
    return JsonResponse(
        {"code": code, "message": message or _MESSAGES.get(code, _MESSAGES["server_error"]), "errors": errors or {}},
        status=status_code,
        json_dumps_params={"ensure_ascii": False},
    )


_APPLICATION_ERROR_STATUS = {
    "conflict": status.HTTP_409_CONFLICT,
    "permission_denied": status.HTTP_403_FORBIDDEN,
    "not_found": status.HTTP_404_NOT_FOUND,
}


def exception_handler(exc, context):
    """Every API error is {"code", "message", "errors"}: errors maps field → list of messages."""
    if isinstance(exc, ApplicationError):
        return Response(
            {"code": exc.code, "message": exc.message, "errors": exc.field_errors},
            status=_APPLICATION_ERROR_STATUS.get(exc.code, status.HTTP_400_BAD_REQUEST),
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, DjangoValidationError):  # a model's full_clean() in a service: field errors, not a 500
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    code = getattr(exc, "default_code", "error")
    # a session call without the CSRF token: DRF's SessionAuthentication refuses it with
    # "CSRF Failed: …" (a plain PermissionDenied); say what it is and how to send the token
    if isinstance(exc, exceptions.PermissionDenied) and str(exc.detail).startswith("CSRF Failed"):
        code = "csrf_failed"
    if isinstance(exc, exceptions.ValidationError):
        detail = response.data
        errors = detail if isinstance(detail, dict) else {"non_field_errors": detail}
        response.data = {"code": "invalid", "message": _MESSAGES["invalid"], "errors": errors}
    else:
        # a refusal that says why in Chinese (portal.tokens.TokenRefused) keeps its message
        message = getattr(exc, "message_zh", None) or _MESSAGES.get(code, str(getattr(exc, "detail", "")))
        response.data = {"code": code, "message": message, "errors": {}}
    return response
