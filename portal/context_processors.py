from django.urls import NoReverseMatch, reverse

from portal import replicas
from portal.models import Role
from portal.navigation import items_for
from portal.tenancy import scope_for


def navigation(request):
    user = getattr(request, "user", None)
    scope = scope_for(user) if user is not None and user.is_authenticated else None
    if scope is None:
        return {"nav_items": [], "portal_scope": None}
    items = []
    for label, name in items_for(scope.role):
        try:
            url = reverse(name)
        except NoReverseMatch:
            continue
        items.append({"label": label, "url": url, "active": request.path == url})
    role_label = Role(scope.role).label if scope.role else ("超级管理员" if scope.is_platform_admin else "")
    return {"nav_items": items, "portal_scope": scope, "portal_role_label": role_label}


def replica_as_of(request):
    """ "数据截至 …" on a page whose reads came from a read replica (portal/replicas.py)."""
    return {"replica_as_of": replicas.current_as_of()}
