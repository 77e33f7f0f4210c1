import logging

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string

from portal.api_support import json_error

logger = logging.getLogger(__name__)

DATABASE_ERRORS = (OperationalError, InterfaceError)


def database_unavailable_response(request):
    """The Chinese 503 (the API: its JSON error format). Rendered without the request: the
    context processors (navigation, the user's role and unread count) need the database."""
    if request.path.startswith("/api/"):
        response = JsonResponse(
            {"code": "service_unavailable", "message": "数据库暂时不可用, 请稍后重试; 本次操作未保存。", "errors": {}},
            status=503,
        )
    else:
        response = HttpResponse(render_to_string("503.html"), status=503)
    response["Retry-After"] = "30"
    return response


class DatabaseUnavailableMiddleware:
    """A database outage answers with a clear Chinese 503 page, not a traceback. Errors raised
    outside the views (e.g. loading the session's user) reach handler500, which answers the same."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, DATABASE_ERRORS):
            logger.exception("database unavailable")
            return database_unavailable_response(request)
        return None


# --- request size: refused by Content-Length, before the body is read --------------------------------------

# room for the multipart envelope (boundaries, part headers, the other form fields) around
# a file of exactly the limit; the view still checks the file's own size
MULTIPART_ALLOWANCE = 256 * 1024


def upload_limit(max_bytes: int):
    """Declare a larger request body for one view class or one API action (a register file,
    an import) than the default UPLOAD_MAX_BYTES."""

    def decorate(view):
        view.max_upload_bytes = max_bytes
        return view

    return decorate


def request_limit(view_func, method: str) -> int:
    """The largest body the view accepts: its declared `max_upload_bytes` (on the DRF action
    the method maps to, or on the view class), else UPLOAD_MAX_BYTES."""
    cls = getattr(view_func, "cls", None) or getattr(view_func, "view_class", None)
    actions = getattr(view_func, "actions", None) or {}
    for holder in (getattr(cls, actions.get(method.lower(), ""), None), cls, view_func):
        limit = getattr(holder, "max_upload_bytes", None)
        if limit:
            return limit
    return settings.UPLOAD_MAX_BYTES


class RequestSizeLimitMiddleware:
    """A request whose Content-Length exceeds what its view accepts is answered 413 at once,
    in Chinese (the API: its JSON error format), without reading the body: an oversized
    upload is not received in full before being refused. Listed before every middleware that
    reads the body (CSRF reads request.POST)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if not length:
            return None
        limit = request_limit(view_func, request.method)
        if length <= limit + MULTIPART_ALLOWANCE:
            return None
        limit_mb = limit // (1024 * 1024)
        message = f"上传内容过大: 不能超过 {limit_mb} MB, 请压缩或拆分文件后重试"
        logger.info("request of %s bytes to %s refused (limit %s)", length, request.path, limit)
        if request.path.startswith("/api/"):
            response = json_error("request_too_large", 413, message=message, errors={"file": [message]})
        else:
            response = render(request, "413.html", {"message": message, "limit_mb": limit_mb}, status=413)
        return response


class MustChangePasswordMiddleware:
    """A user signed in with a temporary password (an invitation or a reset by his
    administrator, portal/users.py) sees only the 修改密码 page until he has chosen his own."""

    ALLOWED = ("/accounts/password/", "/accounts/logout/", "/static/", "/favicon.ico", "/healthz")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        session = getattr(request, "session", None)
        if (
            session is not None
            and session.get("portal_must_change_password")
            and request.user.is_authenticated
            and not request.path.startswith(self.ALLOWED)
            and not request.path.startswith("/api/")
        ):
            return redirect("password_change")
        return self.get_response(request)
