import re
import sys

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.urls import reverse
from django.utils.module_loading import import_string
from django.views import View
from django.views.decorators.http import require_GET

from portal import audit_log, spreadsheets, tokens, users
from portal.api_support import is_api_request, json_error
from portal.forms import (
    ApiTokenForm,
    ApiTokenRevokeForm,
    AuditFilterForm,
    ContactForm,
    UserForm,
    apply_application_error,
)
from portal.middleware import DATABASE_ERRORS, database_unavailable_response
from portal.mixins import RestrictedListView, RoleRequiredMixin
from portal.models import ApiToken, BeatHeartbeat, Organisation, OrganisationKind, Role
from portal.selectors import audit_event_list, audit_filter_choices, organisation_list
from portal.services import CONTACT_KINDS, ApplicationError, organisation_contact_update
from portal.tenancy import CHANGE, CONTACT, MANAGE_USERS, USER_ADMIN_ROLES, resolve, scope_for

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
    Role.DEPARTMENT_STAFF: "portal/home/department.html",
    Role.VISITOR: "portal/home/visitor.html",
}

# each role's home page says whose it is
HOME_TITLES = {
    Role.ENTERPRISE_USER: "企业首页",
    Role.TASK_FORCE_STAFF: "专班工作台",
    Role.TASK_FORCE_BANK_REVIEWER: "银行审核工作台",
    Role.TASK_FORCE_LEAD: "组长工作台",
    Role.CONVENER: "召集人工作台",
    Role.CITY_REGULATOR: "市级融资对接驾驶舱",
    Role.PROVINCE_REGULATOR: "省级融资对接驾驶舱",
    Role.BANK_ADMIN: "银行管理员工作台",
    Role.ACCOUNT_MANAGER: "客户经理工作台",
    Role.PLATFORM_ADMIN: "平台管理",
    Role.DEPARTMENT_STAFF: "职能部门工作台",
    Role.VISITOR: "走访工作台",
}


@login_required
@require_GET
def home(request):
    scope = scope_for(request.user)
    role = scope.role if scope and scope.role else (Role.PLATFORM_ADMIN if scope and scope.is_platform_admin else None)
    if role is None:
        context = {}
        for dotted in settings.PORTAL_NO_MEMBERSHIP_WIDGETS:
            context.update(import_string(dotted)(request=request))
        return render(request, "portal/home/no_membership.html", context)
    # the scheduler's last run: shown on the administrator's home only (read for no one else)
    context = {"heartbeat": BeatHeartbeat.objects.filter(name="beat").first()} if role == Role.PLATFORM_ADMIN else {}
    for dotted in settings.PORTAL_HOME_WIDGETS:
        context.update(import_string(dotted)(request=request, scope=scope, role=role))
    context["home_title"] = HOME_TITLES[role]
    return render(request, HOME_TEMPLATES[role], context)


@require_GET
def healthz(request):
    return JsonResponse({"status": "ok"})


@require_GET
def favicon(request):
    """Browsers ask for /favicon.ico whatever the page links: the portal's icon (an SVG)."""
    return redirect(static("portal/favicon.svg"), permanent=True)


def csrf_failure(request, reason=""):
    """A refused form (CSRF_FAILURE_VIEW): the page was open too long, cookies are off, or the
    form came from elsewhere. Said in Chinese, with what to do; the API answers in its format."""
    if is_api_request(request):
        return json_error("csrf_failed", 403)
    return render(request, "403_csrf.html", status=403)


class OrganisationListView(RestrictedListView):
    template_name = "portal/organisation_list.html"
    context_object_name = "organisations"

    def select(self, *, user, params):
        return organisation_list(user=user, kind=params.get("kind") or None, q=params.get("q") or None)

    def get_context_data(self, **kwargs):
        scope = scope_for(self.request.user)
        return super().get_context_data(
            kinds=OrganisationKind.choices,
            contact_kinds=[str(k) for k in CONTACT_KINDS],
            can_edit_contact=bool(scope and scope.role in (Role.BANK_ADMIN, Role.DEPARTMENT_STAFF)),
            **kwargs,
        )


class OrganisationContactView(View):
    """联系人: a bank administrator names the contact of his branch (or of one below it, ?id=), a
    department's staff that of the department; shown on leads, 批分单 and 督办单."""

    template_name = "portal/organisation_contact.html"

    def _organisation(self, request):
        scope = scope_for(request.user)
        if scope is None:
            raise Http404
        pk = request.GET.get("id") or scope.organisation_id
        try:
            return resolve(Organisation.objects.filter(kind__in=CONTACT_KINDS), request.user, CONTACT, pk=pk)
        except ApplicationError:
            raise Http404 from None

    def get(self, request):
        organisation = self._organisation(request)
        form = ContactForm(
            initial={"contact_name": organisation.contact_name, "contact_phone": organisation.contact_phone}
        )
        return render(request, self.template_name, {"organisation": organisation, "form": form})

    def post(self, request):
        organisation = self._organisation(request)
        form = ContactForm(request.POST)
        if form.is_valid():
            try:
                organisation_contact_update(actor=request.user, organisation_id=organisation.pk, **form.cleaned_data)
            except ApplicationError as error:
                apply_application_error(form, error)
            else:
                messages.success(request, f"已保存{organisation.name}的联系人")
                return redirect(f"{reverse('organisation_contact')}?id={organisation.pk}")
        return render(request, self.template_name, {"organisation": organisation, "form": form}, status=400)


class AuditEventListView(RestrictedListView):
    """审计日志: the events the user may see, in Chinese (portal/audit_log.py), filtered by
    date range, user, action, kind of object and object; ?format=xlsx exports what is listed
    (audited as 导出审计日志)."""

    template_name = "portal/audit_event_list.html"
    context_object_name = "events"

    def get(self, request, *args, **kwargs):
        self.form = AuditFilterForm(request.GET or None, **audit_filter_choices(user=request.user))
        if request.GET.get("format") == "xlsx" and self.form.is_valid():
            labels = {name: str(field.label) for name, field in self.form.fields.items()}
            file, shown = audit_log.audit_export(actor=request.user, filters=self.form.filters(), labels=labels)
            return spreadsheets.deliver(request, "audit", file, filters=shown)
        return super().get(request, *args, **kwargs)

    def select(self, *, user, params):
        if not self.form.is_bound:
            return audit_event_list(user=user)
        if not self.form.is_valid():
            return audit_event_list(user=user).none()
        return audit_event_list(user=user, **self.form.filters())

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        audit_log.described(context["events"])
        context["form"] = self.form
        query = self.request.GET.copy()
        query.pop("page", None)
        query["format"] = "xlsx"
        context["export_query"] = query.urlencode()
        return context


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
                apply_application_error(form, error)
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


class UserListView(RoleRequiredMixin, RestrictedListView):
    """用户管理: the users of the administrator's subtree (portal/users.py), searched and
    filtered by organisation, role and whether active."""

    allowed_roles = USER_ADMIN_ROLES
    restrict_action = MANAGE_USERS
    template_name = "portal/user_list.html"
    context_object_name = "managed_users"

    def select(self, *, user, params):
        active = {"1": True, "0": False}.get(params.get("active", ""))
        try:
            return users.user_list(
                user=user,
                q=(params.get("q") or "").strip()[:100] or None,
                organisation_id=params.get("organisation") or None,
                role=params.get("role") if params.get("role") in Role.values else None,
                is_active=active,
            )
        except ApplicationError:  # an organisation outside the subtree filters to nothing
            return users.user_list(user=user).none()

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            organisations=users.organisation_choices(user=self.request.user),
            roles=[(r, Role(r).label) for r in users.grantable_roles(self.request.user)],
            **kwargs,
        )


class UserFormView(RoleRequiredMixin, View):
    """Inviting a user (no pk) or changing one (pk): the form, then the service; an invited
    user's temporary password is shown on the answer, once."""

    allowed_roles = USER_ADMIN_ROLES

    def _form(self, request, data=None, user=None):
        form = UserForm(
            data,
            organisations=users.organisation_choices(user=request.user),
            roles=users.grantable_roles(request.user),
            editing=user is not None,
            initial=_user_initial(user) if user is not None else None,
        )
        profile = getattr(user, "account_profile", None) if user is not None else None
        if profile is not None and profile.phone:  # never in clear: blank keeps it
            form.fields["phone"].widget.attrs["placeholder"] = f"{profile.masked_phone}(留空则不变)"
        return form

    def _user(self, request, pk):
        if pk is None:
            return None
        try:
            return users.user_for_manage(actor=request.user, user_id=pk)
        except ApplicationError:
            raise Http404("用户不存在或您无权操作") from None

    def _page(self, request, form, user, status=200, **extra):
        context = {"form": form, "managed": user, "version": users.user_version(user) if user else "", **extra}
        response = render(request, "portal/user_form.html", context, status=status)
        response["Cache-Control"] = "no-store"
        return response

    def get(self, request, pk=None):
        user = self._user(request, pk)
        return self._page(request, self._form(request, user=user), user)

    def post(self, request, pk=None):
        user = self._user(request, pk)
        form = self._form(request, request.POST, user=user)
        if form.is_valid():
            data = {k: v for k, v in form.cleaned_data.items() if k not in ("organisation", "version")}
            data["organisation_id"] = form.cleaned_data["organisation"]
            try:
                if user is None:
                    created, password = users.user_invite(actor=request.user, request=request, **data)
                    return self._page(
                        request, self._form(request), None, status=201, created=created, password=password
                    )
                users.user_update(
                    actor=request.user, user_id=user.pk, version=form.cleaned_data["version"], request=request, **data
                )
            except ApplicationError as error:
                form.add_service_errors(error)
            else:
                messages.success(request, f"已保存用户「{data['full_name']}」的信息")
                return redirect("user_edit", pk=user.pk)
        return self._page(request, form, user, status=400)


def _user_initial(user) -> dict:
    membership = users.primary_membership(user)
    return {
        "full_name": user.first_name,
        "email": user.email,
        "organisation": str(membership.organisation_id) if membership else "",
        "role": membership.role if membership else "",
        "version": users.user_version(user),
    }


class UserActionView(RoleRequiredMixin, View):
    """停用 / 启用 / 重置密码 of one user (POST from the user's page)."""

    allowed_roles = USER_ADMIN_ROLES
    ACTIONS = {
        "deactivate": (users.user_deactivate, "已停用用户「{}」, 其 API 令牌同时吊销"),
        "reactivate": (users.user_reactivate, "已启用用户「{}」"),
        "reset-password": (users.user_reset_password, ""),
    }

    def post(self, request, pk, verb):
        if verb not in self.ACTIONS:
            raise Http404("操作不存在")
        service, done = self.ACTIONS[verb]
        version = request.POST.get("version") or None
        try:
            result = service(actor=request.user, user_id=pk, version=version, request=request)
        except ApplicationError as error:
            if error.code == "not_found":
                raise Http404("用户不存在或您无权操作") from None
            messages.error(request, error.message)
            return redirect("user_edit", pk=pk)
        if verb == "reset-password":
            user, password = result
            view = UserFormView()
            response = view._page(request, view._form(request, user=user), user, reset_password=password)
            return response
        messages.success(request, done.format(result.first_name or result.username))
        return redirect("user_edit", pk=pk)


class TrackedPasswordChangeView(auth_views.PasswordChangeView):
    """修改密码: once the user has chosen his own password, a temporary one no longer holds
    him on this page (portal/users.py)."""

    def form_valid(self, form):
        response = super().form_valid(form)
        users.password_changed(user=form.user)
        self.request.session.pop(users.MUST_CHANGE_SESSION_KEY, None)
        return response
