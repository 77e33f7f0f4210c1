import re
import sys

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils.module_loading import import_string
from django.views import View
from django.views.decorators.http import require_GET

from portal import tokens
from portal.api_support import is_api_request, json_error
from portal.forms import ApiTokenForm, ApiTokenRevokeForm
from portal.middleware import DATABASE_ERRORS, database_unavailable_response
from portal.mixins import RestrictedListView, RoleRequiredMixin
from portal.models import ApiToken, BeatHeartbeat, OrganisationKind, Role
from portal.selectors import audit_event_list, organisation_list
from portal.services import ApplicationError
from portal.tenancy import CHANGE, resolve, scope_for

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


class ApiTokenListView(RoleRequiredMixin, RestrictedListView):
    """API 令牌: a bank administrator's tokens for his bank's systems (his subtree's), the form
    to issue one, and — right after issuing — the key, shown this once (portal/tokens.py)."""

    allowed_roles = tokens.ISSUER_ROLES
    template_name = "portal/api_token_list.html"
    context_object_name = "api_tokens"

    def select(self, *, user, params):
        return tokens.api_token_list(user=user)

    def get_context_data(self, **kwargs):
        scope = scope_for(self.request.user)
        kwargs.setdefault("form", ApiTokenForm())
        return super().get_context_data(may_issue=bool(scope and scope.role in tokens.ISSUER_ROLES), **kwargs)

    def post(self, request):
        self.object_list = self.get_queryset()
        form = ApiTokenForm(request.POST)
        issued = key = None
        if form.is_valid():
            try:
                issued, key = tokens.api_token_issue(
                    actor=request.user, name=form.cleaned_data["name"], days=form.cleaned_data["days"], request=request
                )
            except ApplicationError as error:
                for field, problems in error.field_errors.items():
                    for problem in problems:
                        form.add_error(field if field in form.fields else None, problem)
                if not error.field_errors:
                    form.add_error(None, error.message)
        if issued is None:
            return self.render_to_response(self.get_context_data(form=form), status=400)
        self.object_list = self.get_queryset()
        response = self.render_to_response(
            self.get_context_data(form=ApiTokenForm(), issued=issued, key=key), status=201
        )
        response["Cache-Control"] = "no-store"  # the key must not stay in any cache
        return response


class ApiTokenRevokeView(RoleRequiredMixin, View):
    """Revoking a token: a confirmation page first, then the revocation."""

    allowed_roles = tokens.ISSUER_ROLES

    def _token(self, request, pk) -> ApiToken:
        try:
            return resolve(ApiToken.objects.select_related("user"), request.user, CHANGE, pk=pk)
        except ApplicationError:
            raise Http404("令牌不存在或您无权操作") from None

    def get(self, request, pk):
        return render(
            request, "portal/api_token_revoke.html", {"token": self._token(request, pk), "form": ApiTokenRevokeForm()}
        )

    def post(self, request, pk):
        token = self._token(request, pk)
        form = ApiTokenRevokeForm(request.POST)
        if not form.is_valid():
            return render(request, "portal/api_token_revoke.html", {"token": token, "form": form}, status=400)
        try:
            tokens.api_token_revoke(
                actor=request.user, token_id=token.pk, reason=form.cleaned_data["reason"], request=request
            )
        except ApplicationError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, f"令牌「{token.name}」已吊销, 使用它的系统将无法再访问平台")
        return redirect("api_token_list")


def error_400(request, exception=None):
    if is_api_request(request):
        return json_error("parse_error", 400)
    return render(request, "400.html", status=400)


_CHINESE = re.compile(r"[\u4e00-\u9fff]")


def error_403(request, exception=None):
    if is_api_request(request):
        return json_error("permission_denied", 403)
    # a refusal that says why (PermissionDenied("没有权限: 名特优新由省市场监管局认定…")) shows its
    # reason; only a Chinese one, so no library's English text reaches the page
    reason = str(exception or "")
    return render(request, "403.html", {"reason": reason if _CHINESE.search(reason) else ""}, status=403)


def error_404(request, exception=None):
    if is_api_request(request):
        return json_error("not_found", 404)
    return render(request, "404.html", status=404)


def error_500(request):
    # called while the exception is being handled: a database outage outside a view (the
    # session's user, a 404 page's navigation) is a 503 too
    if isinstance(sys.exc_info()[1], DATABASE_ERRORS):
        return database_unavailable_response(request)
    if is_api_request(request):  # the API keeps its error format, also for what nobody foresaw
        return json_error("server_error", 500)
    # without the request's context processors: they may be what failed
    return HttpResponse(render_to_string("500.html"), status=500)
