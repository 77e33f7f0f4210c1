"""What the workflow's pages share: ids from the query string, safe redirects, refusals."""

from __future__ import annotations

from django.contrib import messages
from django.utils.http import url_has_allowed_host_and_scheme

from portal import bounds
from portal.services import ApplicationError


def _int_or_none(value):
    return bounds.query_id(value)


def _safe_next(request, default: str) -> str:
    """Only same-site relative paths: never an open redirect."""

    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


def _refused(request, error: ApplicationError):
    messages.error(request, error.message)


def _refused_all(request, error: ApplicationError):
    """The message and every other field error (e.g. each limit an approval exceeds), once each."""
    messages.error(request, error.message)
    seen = {error.message}
    for field_messages in (error.field_errors or {}).values():
        for message in field_messages:
            if message not in seen and message not in error.message:
                seen.add(message)
                messages.error(request, message)
