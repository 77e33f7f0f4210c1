"""督办单 pages: the 逾期督办 drill-down (the overdue leads and 批分单 behind each count, and the
form that issues a 督办单 about the ones ticked), the list, and the detail with its timeline and
the actions the policy table allows the user."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.shortcuts import redirect, render
from django.views import View

from portal.errors import ApplicationError
from portal.forms import apply_application_error
from portal.mixins import RestrictedListView, TenantRestricted
from portal.models import OrganisationKind
from portal.policy_resources import PolicyActionView, PolicyDetailView, refused_page
from reporting.models import SupervisionState
from reporting.supervision import policy, selectors, services
from reporting.supervision.policy import Action


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class IssueForm(forms.Form):
    target_id = forms.TypedChoiceField(label="被督办单位", coerce=int)
    subject = forms.CharField(label="督办事项", max_length=200)
    demand = forms.CharField(label="督办要求", widget=forms.Textarea(attrs={"rows": 3}))
    due_working_days = forms.IntegerField(label="回复时限(工作日)", min_value=1, max_value=30, initial=3)
    lead_ids = forms.TypedMultipleChoiceField(label="涉及线索", coerce=int, required=False)
    problem_ids = forms.TypedMultipleChoiceField(label="涉及批分单", coerce=int, required=False)

    def __init__(self, *args, targets=(), leads=(), problems=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["target_id"].choices = [("", "请选择")] + [
            (t.pk, f"{t.name}({t.get_kind_display()})") for t in targets
        ]
        self.fields["lead_ids"].choices = [(c.recommendation_id, str(c.recommendation_id)) for c in leads]
        self.fields["problem_ids"].choices = [(p.pk, p.number) for p in problems]


class OverdueDrilldownView(LoginRequiredMixin, TenantRestricted, View):
    """逾期督办 drill-down: ?branch=<BankBranch id>[&kind=feedback|decision] lists the overdue leads
    the count of that row counts; ?department=<Organisation id> the overdue 批分单 of that department."""

    template_name = "reporting/supervision_overdue.html"

    def _world(self, request):
        user = request.user
        branch_id = _int(request.GET.get("branch"))
        department_id = _int(request.GET.get("department"))
        kind = request.GET.get("kind") or None
        clocks = selectors.overdue_clocks(user=user, branch_id=branch_id, kind=kind) if branch_id else []
        problems = selectors.overdue_problems(user=user, department_id=department_id) if department_id else []
        if branch_id is None and department_id is None:
            clocks = selectors.overdue_clocks(user=user)
            problems = selectors.overdue_problems(user=user)
        clocks, problems = list(clocks[:500]), list(problems[:500])
        targets = list(selectors.targets_for(user=user)) if policy.TABLE.may(Action.ISSUE, user) else []
        initial_target = None
        if branch_id and clocks:
            branch = clocks[0].recommendation.branch.organisation_id
            initial_target = branch if any(t.pk == branch for t in targets) else None
        elif department_id and any(t.pk == department_id for t in targets):
            initial_target = department_id
        return {
            "clocks": clocks,
            "problems": problems,
            "targets": targets,
            "initial": {
                "target_id": initial_target,
                "lead_ids": [c.recommendation_id for c in clocks],
                "problem_ids": [p.pk for p in problems],
                "due_working_days": 3,
                "subject": "逾期事项督办",
            },
        }

    def _render(self, request, world, form, status=200):
        return render(
            request,
            self.template_name,
            {**world, "form": form, "can_issue": bool(world["targets"])},
            status=status,
        )

    def get(self, request):
        world = self._world(request)
        form = IssueForm(
            initial=world["initial"], targets=world["targets"], leads=world["clocks"], problems=world["problems"]
        )
        return self._render(request, world, form)

    def post(self, request):
        world = self._world(request)
        form = IssueForm(request.POST, targets=world["targets"], leads=world["clocks"], problems=world["problems"])
        if form.is_valid():
            try:
                order = services.supervision_issue(actor=request.user, **form.cleaned_data)
            except ApplicationError as error:
                if error.code == "permission_denied":
                    return refused_page(request, error)
                apply_application_error(form, error)
            else:
                messages.success(request, f"督办单 {order.number} 已下发{order.target.name}")
                return redirect("reporting:supervision_detail", pk=order.pk)
        return self._render(request, world, form, status=400)


class SupervisionListView(RestrictedListView):
    template_name = "reporting/supervision_list.html"
    context_object_name = "orders"

    def select(self, *, user, params):
        return selectors.order_list(user=user, state=params.get("state") or None, open_only=params.get("open") == "1")

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            states=SupervisionState.choices, can_issue=policy.TABLE.may(Action.ISSUE, self.request.user), **kwargs
        )


class SupervisionDetailView(PolicyDetailView):
    template_name = "reporting/supervision_detail.html"
    policy_table = policy.TABLE
    read_one = staticmethod(selectors.order_get)
    object_name = "order"

    def context(self, request, order, can):
        return {
            "events": selectors.order_events(user=request.user, order=order),
            "is_department": order.target.kind == OrganisationKind.DEPARTMENT,
            **selectors.order_items(user=request.user, order=order),
        }


class SupervisionActionView(PolicyActionView):
    """One POST per action of the detail page; the service checks everything."""

    policy_table = policy.TABLE
    action_services = services.SERVICES
    service_object = "order_id"
    detail_url = "reporting:supervision_detail"
    noun = "督办单"
