from functools import lru_cache

from django.urls import NoReverseMatch, get_script_prefix, get_urlconf, reverse

from portal import replicas
from portal.models import Role
from portal.navigation import items_for
from portal.tenancy import scope_for


def navigation(request):
    user = getattr(request, "user", None)
    scope = scope_for(user) if user is not None and user.is_authenticated else None
    if scope is None:
        return {"nav_items": [], "portal_scope": None}
    items = [
        {"label": label, "url": url, "active": request.path == url}
        for label, url in _links(scope.role, get_script_prefix(), get_urlconf())
    ]
    role_label = Role(scope.role).label if scope.role else ("超级管理员" if scope.is_platform_admin else "")
    return {"nav_items": items, "portal_scope": scope, "portal_role_label": role_label}


@lru_cache(maxsize=64)
def _links(role: str | None, script_prefix: str, urlconf) -> tuple[tuple[str, str], ...]:
    """A role's navigation as (label, URL): the URL conf does not change while a process runs,
    so each role's links are reversed once (per script prefix and URL conf), not on every page."""
    links = []
    for label, name in items_for(role):
        try:
            links.append((label, reverse(name, urlconf=urlconf)))
        except NoReverseMatch:
            continue
    return tuple(links)


def replica_as_of(request):
    """ "数据截至 …" on a page whose reads came from a read replica (portal/replicas.py)."""
    return {"replica_as_of": replicas.current_as_of()}
