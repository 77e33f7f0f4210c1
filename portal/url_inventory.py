"""Walks the URL configuration and classifies each endpoint, for the restriction-coverage
and tenant-isolation tests (a new endpoint is covered without anyone remembering)."""

from __future__ import annotations

from dataclasses import dataclass

from django.apps import apps
from django.db.models import QuerySet
from django.urls import NoReverseMatch, URLPattern, URLResolver, get_resolver, reverse
from django.views.generic.list import MultipleObjectMixin
from rest_framework.mixins import ListModelMixin

from portal.mixins import TenantRestricted

# endpoints that are not lists of tenant data, with the reason; anything else that is a
# function view fails the coverage test until it is listed here or made a restricted class
NOT_LISTS = {
    "home": "role home page; its widgets use selectors",
    "healthz": "liveness probe, no data",
    "favicon": "a redirect to the static icon, no data",
}
SKIPPED_NAMESPACES = {"admin"}  # Django admin: superusers only

# lists whose answer is a file or a computed figure, not a queryset: the model (app_label.Model)
# and action their restrict() call must name
OWN_MODELS = {
    "EntityExportView": ("entities.MarketEntity", "export"),
    "PotentialCustomerExportView": ("batch_matching.MatchResult", "export"),
    "KpiViewSet": ("reporting.LedgerFact", "view"),
}


@dataclass(frozen=True)
class Endpoint:
    route: str
    name: str | None
    view_class: type | None
    actions: dict | None
    is_list: bool
    needs_args: bool
    namespace: str | None = None

    def url(self) -> str | None:
        """The path of an endpoint that takes no arguments, or None."""
        if self.needs_args or not self.name:
            return None
        try:
            return reverse(f"{self.namespace}:{self.name}" if self.namespace else self.name)
        except NoReverseMatch:
            return None


def _route_of(pattern) -> str:
    return str(pattern.pattern)


def walk(patterns=None, prefix: str = "", namespace: str | None = None):
    patterns = get_resolver().url_patterns if patterns is None else patterns
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            ns = pattern.namespace or namespace
            if ns in SKIPPED_NAMESPACES:
                continue
            yield from walk(pattern.url_patterns, prefix + _route_of(pattern), ns)
        elif isinstance(pattern, URLPattern):
            yield _classify(pattern, prefix + _route_of(pattern), namespace)


def _classify(pattern: URLPattern, route: str, namespace: str | None = None) -> Endpoint:
    callback = pattern.callback
    view_class = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
    actions = getattr(callback, "actions", None)
    is_list = False
    if view_class is not None:
        if issubclass(view_class, MultipleObjectMixin):
            is_list = True
        elif actions is not None:
            is_list = "list" in actions.values()
        else:
            is_list = issubclass(view_class, ListModelMixin)
    needs_args = bool(pattern.pattern.regex.groupindex) or "<" in route
    return Endpoint(
        route=route,
        name=pattern.name,
        view_class=view_class,
        actions=actions,
        is_list=is_list,
        needs_args=needs_args,
        namespace=namespace,
    )


def unrestricted(endpoints) -> list[str]:
    """Endpoints that may list tenant data without passing through restrict()."""
    problems = []
    for endpoint in endpoints:
        if endpoint.view_class is None:
            if endpoint.name not in NOT_LISTS:
                problems.append(f"{endpoint.route} ({endpoint.name}): function view not declared in NOT_LISTS")
            continue
        if endpoint.is_list and not issubclass(endpoint.view_class, TenantRestricted):
            problems.append(f"{endpoint.route} ({endpoint.view_class.__name__}): list without restrict()")
    return problems


def own_model(endpoint: Endpoint, response) -> tuple[type, str] | None:
    """The model and action a list endpoint must have restricted: the one it declares in
    OWN_MODELS, else the queryset a page listed (its `object_list`), else the API viewset's
    queryset or serializer model."""
    view_class = endpoint.view_class
    if view_class is None:
        return None
    if view_class.__name__ in OWN_MODELS:
        label, action = OWN_MODELS[view_class.__name__]
        return apps.get_model(label), action
    action = getattr(view_class, "restrict_action", "view")
    context = getattr(response, "context", None) or getattr(response, "context_data", None)
    if context is not None and "view" in context:
        object_list = getattr(context["view"], "object_list", None)
        if isinstance(object_list, QuerySet):
            return object_list.model, action
    queryset = getattr(view_class, "queryset", None)
    if queryset is not None:
        return queryset.model, action
    meta = getattr(getattr(view_class, "serializer_class", None), "Meta", None)
    if getattr(meta, "model", None) is not None:
        return meta.model, action
    return None


def restriction_problem(endpoint: Endpoint, response, seen: list[tuple[type, str]]) -> str | None:
    """Why a list endpoint's answer (given the restrict() calls a spy saw while it was made)
    is not proven restricted, or None when it called restrict() for its own model and action."""
    own = own_model(endpoint, response)
    if own is None:
        return f"{endpoint.route}: which model does it list? (url_inventory.OWN_MODELS)"
    if own not in seen:
        names = sorted({f"{m.__name__}:{a}" for m, a in seen})
        return f"{endpoint.route} answered without restrict({own[0].__name__}, {own[1]!r}); it restricted {names}"
    return None
