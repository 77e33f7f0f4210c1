"""批分单 pages: the list (each role sees its own through the restriction), the form that fills
one in, and the detail with its timeline and the actions the policy table allows the user."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.shortcuts import redirect, render
from django.views import View

from coordination import policy, selectors, services
from coordination.models import ProblemKind, ProblemSource, ProblemState
from coordination.policy import Action
from entities.models import MarketEntity
from portal.errors import ApplicationError
from portal.mixins import RestrictedListView
from portal.policy_resources import PolicyActionView, PolicyDetailView, as_int, refused_page
from portal.tenancy import VIEW, resolve


class ProblemListView(RestrictedListView):
    template_name = "coordination/problem_list.html"
    context_object_name = "problems"

    def select(self, *, user, params):
        return selectors.problem_list(
            user=user,
            state=params.get("state") or None,
            kind=params.get("kind") or None,
            q=(params.get("q") or "").strip() or None,
            open_only=params.get("open") == "1",
        )

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            states=ProblemState.choices,
            kinds=ProblemKind.choices,
            can_open=policy.TABLE.may(Action.OPEN, self.request.user),
            waiting=selectors.waiting_for(user=self.request.user),
            **kwargs,
        )


class ProblemCreateView(LoginRequiredMixin, View):
    template_name = "coordination/problem_form.html"

    def _context(self, request, values: dict, errors: dict | None = None) -> dict:
        return {
            "values": values,
            "errors": errors or {},
            "kinds": ProblemKind.choices,
            "sources": ProblemSource.choices,
            "departments": selectors.departments_for(user=request.user),
        }

    def _refuse_role(self, request):
        policy.TABLE.require(Action.OPEN, request.user)

    def get(self, request):
        try:
            self._refuse_role(request)
        except ApplicationError as error:
            return refused_page(request, error)
        values = {"source": request.GET.get("source", ""), "due_working_days": 5, "uscc": ""}
        if request.GET.get("entity"):
            try:
                values["uscc"] = resolve(MarketEntity, request.user, VIEW, pk=request.GET["entity"]).uscc
            except ApplicationError:
                pass
        return render(request, self.template_name, self._context(request, values))

    def post(self, request):
        data = request.POST
        values = {k: data.get(k, "") for k in ("uscc", "kind", "source", "description", "department_id")}
        values.update(
            due_working_days=data.get("due_working_days", ""), commitment_text=data.get("commitment_text", "")
        )
        values["tolerance"] = data.get("tolerance") == "on"
        try:
            self._refuse_role(request)
            entity = resolve(MarketEntity, request.user, VIEW, uscc=values["uscc"].strip().upper(), field="entity_id")
            problem = services.problem_open(
                actor=request.user,
                entity_id=entity.pk,
                kind=values["kind"],
                source=values["source"],
                description=values["description"],
                department_id=as_int(values["department_id"]),
                due_working_days=as_int(values["due_working_days"]),
                tolerance=values["tolerance"],
                commitment_text=values["commitment_text"],
            )
        except ApplicationError as error:
            if error.code == "permission_denied":
                return refused_page(request, error)
            errors = dict(error.field_errors or {})
            if "entity_id" in errors:
                errors["uscc"] = errors.pop("entity_id")
            messages.error(request, error.message)
            return render(request, self.template_name, self._context(request, values, errors), status=400)
        messages.success(request, f"批分单 {problem.number} 已转交{problem.department.name}")
        return redirect("coordination:problem_detail", pk=problem.pk)


class ProblemDetailView(PolicyDetailView):
    template_name = "coordination/problem_detail.html"
    policy_table = policy.TABLE
    read_one = staticmethod(selectors.problem_get)
    object_name = "problem"

    def context(self, request, problem, can):
        departments = selectors.departments_for(user=request.user, county_code=problem.region_id, level=problem.level)
        return {
            "events": selectors.problem_events(user=request.user, problem=problem),
            "departments": departments if can.get("REROUTE") else [],
        }


class ProblemActionView(PolicyActionView):
    """One POST per action of the detail page; the service checks everything."""

    policy_table = policy.TABLE
    action_services = services.SERVICES
    service_object = "problem_id"
    int_fields = ("department_id", "due_working_days")
    detail_url = "coordination:problem_detail"
    noun = "批分单"
