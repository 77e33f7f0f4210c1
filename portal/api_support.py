"""Pagination and the one API error format. Kept apart from the viewsets because DRF
reads these settings while its generic views are being imported."""
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from portal.services import ApplicationError


class Pagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


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
}


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
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    code = getattr(exc, "default_code", "error")
    if isinstance(exc, exceptions.ValidationError):
        detail = response.data
        errors = detail if isinstance(detail, dict) else {"non_field_errors": detail}
        response.data = {"code": "invalid", "message": _MESSAGES["invalid"], "errors": errors}
    else:
        response.data = {"code": code, "message": _MESSAGES.get(code, str(getattr(exc, "detail", ""))), "errors": {}}
    return response
