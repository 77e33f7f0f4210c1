from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils.module_loading import import_string
from django.views.decorators.http import require_GET

from portal.api_support import is_api_request, json_error
from portal.mixins import RestrictedListView
from portal.models import BeatHeartbeat, OrganisationKind, Role
from portal.selectors import audit_event_list, organisation_list
from portal.tenancy import scope_for

HOME_TEMPLATES = {
    Role.ENTERPRISE_USER: "portal/home/enterprise.html",
    Role.TASK_FORCE_STAFF: "portal/home/task_force.html",
    Role.TASK_FORCE_BANK_REVIEWER: "portal/home/task_force.html",
    Role.TASK_FORCE_LEAD: "portal/home/task_force.html",
    Role.CONVENER: "portal/home/task_force.html",
    Role.CITY_REGULATOR: "portal/home/regulator.html",
    Role.PROVINCE_REGULATOR: "portal/home/regulator.html",
    Role.BANK_ADMIN: "portal/home/bank.html",
    Role.ACCOUNT_MANAGER: "portal/home/bank.html",
    Role.PLATFORM_ADMIN: "portal/home/platform_admin.html",
}


@login_required
@require_GET
def home(request):
    scope = scope_for(request.user)
    role = scope.role if scope and scope.role else (Role.PLATFORM_ADMIN if scope and scope.is_platform_admin else None)
    if role is None:
        return render(request, "portal/home/no_membership.html")
    context = {"heartbeat": BeatHeartbeat.objects.filter(name="beat").first()}
    for dotted in settings.PORTAL_HOME_WIDGETS:
        context.update(import_string(dotted)(request=request, scope=scope, role=role))
    return render(request, HOME_TEMPLATES[role], context)


@require_GET
def healthz(request):
    from django.http import JsonResponse

    return JsonResponse({"status": "ok"})


class OrganisationListView(RestrictedListView):
    template_name = "portal/organisation_list.html"
    context_object_name = "organisations"

    def select(self, *, user, params):
        return organisation_list(user=user, kind=params.get("kind") or None, q=params.get("q") or None)

    def get_context_data(self, **kwargs):
        return super().get_context_data(kinds=OrganisationKind.choices, **kwargs)


class AuditEventListView(RestrictedListView):
    template_name = "portal/audit_event_list.html"
    context_object_name = "events"

    def select(self, *, user, params):
        return audit_event_list(user=user, action=params.get("action") or None, actor=params.get("actor") or None)


def error_400(request, exception=None):
    if is_api_request(request):
        return json_error("parse_error", 400)
    return render(request, "400.html", status=400)


def error_403(request, exception=None):
    if is_api_request(request):
        return json_error("permission_denied", 403)
    return render(request, "403.html", status=403)


def error_404(request, exception=None):
    if is_api_request(request):
        return json_error("not_found", 404)
    return render(request, "404.html", status=404)


def error_500(request):
    import sys

    from django.http import HttpResponse
    from django.template.loader import render_to_string

    from portal.middleware import DATABASE_ERRORS, database_unavailable_response

    # called while the exception is being handled: a database outage outside a view (the
    # session's user, a 404 page's navigation) is a 503 too
    if isinstance(sys.exc_info()[1], DATABASE_ERRORS):
        return database_unavailable_response(request)
    if is_api_request(request):  # the API keeps its error format, also for what nobody foresaw
        return json_error("server_error", 500)
    # without the request's context processors: they may be what failed
    return HttpResponse(render_to_string("500.html"), status=500)
