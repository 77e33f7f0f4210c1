import logging

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string

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
