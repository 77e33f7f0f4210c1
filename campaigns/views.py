"""大走访 pages: the campaigns each role sees, the city's form that opens one, the campaign page
(coverage per county, township and visitor, days left, overdue visits, the timeline, the city's
buttons), the county's 走访目标企业清单 with its build, import and 走访计划 (assign) forms, the
visitor's 我的走访任务 and its visit form (the workflow's visit service), and the xlsx exports."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views import View

from campaigns import exports, policy, selectors, services
from campaigns.forms import CampaignEditForm, CampaignForm, ImportForm, VisitForm
from campaigns.models import CampaignState, TargetSource
from campaigns.policy import Action, county_of
from matching import services as matching_services
from matching import workflow
from matching.models import Declaration, Visit
from matching.workflow import Action as WorkflowAction
from portal.errors import ApplicationError
from portal.forms import apply_application_error
from portal.mixins import RestrictedListView
from portal.models import Region, RegionLevel, Role
from portal.policy_resources import PolicyActionView, PolicyDetailView, refused_page
from portal.spreadsheets import deliver
from portal.tenancy import VIEW, restrict, scope_for


def _campaign(request, pk):
    try:
        return selectors.campaign_get(user=request.user, pk=pk)
    except ApplicationError:
        raise Http404 from None


class CampaignListView(RestrictedListView):
    template_name = "campaigns/campaign_list.html"
    context_object_name = "campaigns"

    def select(self, *, user, params):
        return selectors.campaign_list(user=user, state=params.get("state") or None)

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            states=CampaignState.choices,
            can_open=policy.TABLE.may(Action.OPEN, self.request.user),
            today=timezone.localdate(),
            **kwargs,
        )


def _city_counties(user):
    scope = scope_for(user)
    prefix = scope.region_prefix if scope and scope.region_prefix else "-"
    return restrict(Region.objects.filter(level=RegionLevel.COUNTY, code__startswith=prefix), user, VIEW)


class CampaignCreateView(LoginRequiredMixin, View):
    template_name = "campaigns/campaign_form.html"

    def get(self, request):
        if not policy.TABLE.may(Action.OPEN, request.user):
            return refused_page(request, policy.TABLE.refusal(Action.OPEN, request.user).error())
        counties = _city_counties(request.user)
        form = CampaignForm(counties=counties, initial={"counties": [c.code for c in counties]})
        return render(request, self.template_name, {"form": form})

    def post(self, request):
        form = CampaignForm(request.POST, counties=_city_counties(request.user))
        if form.is_valid():
            data = form.cleaned_data
            try:
                campaign = services.campaign_open(
                    actor=request.user,
                    name=data["name"],
                    deadline=data["deadline"],
                    county_codes=data["counties"],
                    note=data["note"],
                )
            except ApplicationError as error:
                if error.code == "permission_denied":
                    return refused_page(request, error)
                apply_application_error(form, error)
            else:
                messages.success(request, f"已创建大走访活动“{campaign.name}”(草稿), 启动后各县区开始走访")
                return redirect("campaigns:campaign_detail", pk=campaign.pk)
        return render(request, self.template_name, {"form": form}, status=400)


def _pending_declarations(user, campaign):
    """Visits of this campaign's targets that found a need, whose entity has no declaration since
    the start: the task force starts one from each (pre-filled from the visit)."""
    if campaign.started_at is None or not workflow.may(WorkflowAction.FILE, user):
        return []
    entity_ids = selectors.targets(user=user, campaign=campaign, excluded=False).values("entity_id")
    declared = Declaration.objects.filter(created_at__gte=campaign.started_at).values("entity_id")
    return list(
        restrict(Visit.objects.select_related("entity"), user, VIEW)
        .filter(entity_id__in=entity_ids, need_found=True, created_at__gte=campaign.started_at)
        .exclude(entity_id__in=declared)
        .order_by("-visited_on", "-id")[:50]
    )


class CampaignDetailView(PolicyDetailView):
    """The campaign page: coverage, overdue visits, the timeline and the buttons the table allows."""

    template_name = "campaigns/campaign_detail.html"
    policy_table = policy.TABLE
    read_one = staticmethod(selectors.campaign_get)
    object_name = "campaign"

    def context(self, request, campaign, can):
        result = selectors.campaign_coverage(user=request.user, campaign=campaign)
        names = dict(
            Region.objects.filter(code__in=[*result.by_county, *(t for _, t in result.by_township if t)]).values_list(
                "code", "name"
            )
        )
        visitors = {a.visitor_id: a for a in selectors.assignment_rows(user=request.user, campaign=campaign)}
        return {
            "counties": campaign.counties.order_by("code"),
            "coverage": result,
            "by_county": [(names.get(c, c), f) for c, f in sorted(result.by_county.items())],
            "without_list": [names.get(c, c) for c in result.counties_without_list],
            "by_township": [
                (names.get(c, c), names.get(t, "未填乡镇") if t else "未填乡镇", f)
                for (c, t), f in sorted(result.by_township.items(), key=lambda kv: (kv[0][0], kv[0][1] or ""))
            ],
            "by_visitor": [
                (
                    visitors[v].visitor if v in visitors else None,
                    visitors[v].visitor_organisation if v in visitors else None,
                    f,
                )
                for v, f in result.by_visitor.items()
                if v
            ],
            "overdue": selectors.overdue(user=request.user, campaign=campaign)[:100],
            "pending": _pending_declarations(request.user, campaign),
            "events": selectors.campaign_events(user=request.user, campaign=campaign),
            "days_left": campaign.days_left(),
            "days_past": -campaign.days_left(),
        }


class CampaignActionView(PolicyActionView):
    """One POST per button of the campaign page (启动, 结束, 生成清单); the service checks everything.
    修改活动 is its own form page (CampaignEditView)."""

    policy_table = policy.TABLE
    action_services = {a: entry for a, entry in services.SERVICES.items() if a != Action.EDIT}
    service_object = "campaign_id"
    detail_url = "campaigns:campaign_detail"

    def succeeded(self, request, pk, action, result):
        if action == Action.BUILD_TARGETS:
            messages.success(
                request, f"已从名录库生成走访目标企业清单: 新增 {result.added} 户, 其中剔除 {result.excluded} 户"
            )
            return redirect("campaigns:campaign_targets", pk=pk)
        return super().succeeded(request, pk, action, result)


class CampaignEditView(LoginRequiredMixin, View):
    """修改活动: the create form without the counties, pre-filled; shown when the table allows EDIT
    (a draft or running campaign of the user's city). Two people editing at once: the second is
    told the campaign changed (its version), nothing of the first's edit is lost."""

    template_name = "campaigns/campaign_form.html"

    def _editable(self, request, pk):
        """The campaign, or the answer when the user may not edit it now (404, 403, or its state)."""
        campaign = _campaign(request, pk)
        found = policy.TABLE.refusal(Action.EDIT, request.user, campaign)
        if found is None:
            return campaign, None
        if found.code == "conflict":
            messages.error(request, found.message)
            return campaign, redirect("campaigns:campaign_detail", pk=campaign.pk)
        return campaign, refused_page(request, found.error())

    def _page(self, request, campaign, form, status=200):
        return render(request, self.template_name, {"form": form, "campaign": campaign}, status=status)

    def get(self, request, pk):
        campaign, refused = self._editable(request, pk)
        if refused is not None:
            return refused
        initial = {
            "name": campaign.name,
            "deadline": campaign.deadline,
            "note": campaign.note,
            "version": campaign.version,
        }
        return self._page(request, campaign, CampaignEditForm(initial=initial))

    def post(self, request, pk):
        campaign, refused = self._editable(request, pk)
        if refused is not None:
            return refused
        form = CampaignEditForm(request.POST)
        if form.is_valid():
            try:
                edited = services.campaign_edit(actor=request.user, campaign_id=campaign.pk, **form.cleaned_data)
            except ApplicationError as error:
                if error.code == "not_found":
                    raise Http404 from None
                if error.code == "permission_denied":
                    return refused_page(request, error)
                apply_application_error(form, error)
            else:
                messages.success(request, f"已修改大走访活动“{edited.name}”")
                return redirect("campaigns:campaign_detail", pk=edited.pk)
        return self._page(request, campaign, form, status=400)


class CampaignTargetsView(LoginRequiredMixin, View):
    """走访目标企业清单 and 走访计划 of the user's area; the county task force builds, imports, assigns."""

    template_name = "campaigns/campaign_targets.html"

    def _context(self, request, campaign, **extra) -> dict:
        params = request.GET
        excluded = {"1": True, "0": False}.get(params.get("excluded", "0"))
        rows = selectors.target_rows(
            user=request.user,
            campaign=campaign,
            excluded=excluded,
            township=params.get("township") or None,
            q=(params.get("q") or "").strip()[:64] or None,
        )
        can = policy.TABLE.allowed(request.user, campaign)
        visitors = services.visitor_candidates(request.user) if can["ASSIGN"] else []
        names = {}
        page_rows = list(rows[:500])
        if page_rows:
            names = {
                u.pk: u.get_full_name() or u.username
                for u in get_user_model().objects.filter(pk__in={r.visitor_id for r in page_rows if r.visitor_id})
            }
        return {
            "campaign": campaign,
            "rows": [(r, names.get(r.visitor_id, "")) for r in page_rows],
            "total": rows.count(),
            "can": can,
            "visitors": [(u, u.memberships.select_related("organisation").first()) for u in visitors],
            "townships": selectors.townships(user=request.user, campaign=campaign),
            "import_form": extra.pop("import_form", None) or ImportForm(),
            "excluded": params.get("excluded", "0"),
            "county": county_of(scope_for(request.user)),
            **extra,
        }

    def get(self, request, pk):
        campaign = _campaign(request, pk)
        return render(request, self.template_name, self._context(request, campaign))

    def post(self, request, pk):
        campaign = _campaign(request, pk)
        if "import" in request.POST:
            return self._import(request, campaign)
        return self._assign(request, campaign)

    def _import(self, request, campaign):
        form = ImportForm(request.POST, request.FILES)
        if not form.is_valid():
            return render(request, self.template_name, self._context(request, campaign, import_form=form), status=400)
        upload = form.cleaned_data["file"]
        try:
            result = services.targets_import(
                actor=request.user,
                campaign_id=campaign.pk,
                content=upload.read(),
                source=form.cleaned_data["source"],
                source_label=form.cleaned_data["source_label"],
            )
        except ApplicationError as error:
            if error.code in ("permission_denied", "conflict"):
                return refused_page(request, error)
            apply_application_error(form, error)
            return render(request, self.template_name, self._context(request, campaign, import_form=form), status=400)
        label = TargetSource(form.cleaned_data["source"]).label
        messages.success(
            request,
            f"{label}: 共 {result.rows} 行, 导入 {result.added} 户(其中剔除 {result.excluded} 户), "
            f"已在清单中 {result.already} 户, 错误 {len(result.errors)} 行",
        )
        status = 200 if not result.errors else 400
        return render(
            request, self.template_name, self._context(request, campaign, import_result=result), status=status
        )

    def _assign(self, request, campaign):
        data = request.POST
        ids = [i for i in data.getlist("target_ids") if i]
        due = data.get("due_on") or None
        try:
            due_on = dt.date.fromisoformat(due) if due else None
        except ValueError:
            due_on = "invalid"
        try:
            made = services.assignments_make(
                actor=request.user,
                campaign_id=campaign.pk,
                visitor_id=data.get("visitor_id") or None,
                target_ids=ids or None,
                township_code=(data.get("township_code") or None) if not ids else None,
                due_on=due_on,
            )
        except ApplicationError as error:
            if error.code == "permission_denied":
                return refused_page(request, error)
            messages.error(request, error.message)
            return render(request, self.template_name, self._context(request, campaign), status=400)
        messages.success(request, f"已分配 {len(made)} 户走访任务, 已通知走访人员")
        return redirect("campaigns:campaign_targets", pk=campaign.pk)


class MyVisitsView(RestrictedListView):
    """我的走访任务: the visitor's open assignments, visited or not."""

    template_name = "campaigns/my_visits.html"
    context_object_name = "assignments"

    def select(self, *, user, params):
        return selectors.my_assignments(user=user)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        rows = context["assignments"]
        visits: dict[int, list] = {}
        for entity_id, at in (
            restrict(Visit.objects.all(), self.request.user, VIEW)
            .filter(entity_id__in=[a.target.entity_id for a in rows])
            .values_list("entity_id", "created_at")
        ):
            visits.setdefault(entity_id, []).append(at)
        context["rows"] = [
            (a, any(a.campaign.started_at and at >= a.campaign.started_at for at in visits.get(a.target.entity_id, ())))
            for a in rows
        ]
        context["today"] = timezone.localdate()
        return context


class VisitRecordView(LoginRequiredMixin, View):
    """登记走访 of one assigned target, through the workflow's visit service (the one visit path)."""

    template_name = "campaigns/visit_form.html"

    def _assignment(self, request, pk):
        try:
            return selectors.assignment_get(user=request.user, pk=pk)
        except ApplicationError:
            raise Http404 from None

    def get(self, request, pk):
        assignment = self._assignment(request, pk)
        user = request.user
        initial = {"visited_on": timezone.localdate(), "people": user.get_full_name() or user.username}
        return render(request, self.template_name, {"assignment": assignment, "form": VisitForm(initial=initial)})

    def post(self, request, pk):
        assignment = self._assignment(request, pk)
        form = VisitForm(request.POST)
        if form.is_valid():
            try:
                visit = matching_services.visit_record(
                    actor=request.user, entity_id=assignment.target.entity_id, **form.service_data()
                )
            except ApplicationError as error:
                if error.code == "permission_denied":
                    return refused_page(request, error)
                apply_application_error(form, error, {"entity_id": None})
            else:
                entity = assignment.target.entity
                if visit.need_found and workflow.may(WorkflowAction.FILE, request.user):
                    messages.success(request, f"已登记对{entity.name}的走访, 请据此发起申报(已预填)")
                    return redirect(f"/matching/declarations/new/?visit={visit.pk}")
                if visit.need_found:
                    messages.success(request, f"已登记对{entity.name}的重点走访, 专班将据此指导企业申报")
                else:
                    messages.success(request, f"已登记对{entity.name}的走访")
                return redirect("campaigns:my_visits")
        return render(request, self.template_name, {"assignment": assignment, "form": form}, status=400)


class CoverageExportView(LoginRequiredMixin, View):
    def get(self, request, pk):
        campaign = _campaign(request, pk)
        result = selectors.campaign_coverage(user=request.user, campaign=campaign)
        return deliver(request, "campaign.coverage", exports.coverage_file(campaign, result), obj=campaign)


class TargetsExportView(LoginRequiredMixin, View):
    def get(self, request, pk):
        campaign = _campaign(request, pk)
        scope = scope_for(request.user)
        if scope is None or not (scope.is_government or scope.is_platform_admin or scope.role == Role.CITY_REGULATOR):
            return refused_page(request, ApplicationError("您的角色无权导出走访目标企业清单"))
        result = selectors.campaign_coverage(user=request.user, campaign=campaign)
        file = exports.targets_file(user=request.user, campaign=campaign, result=result)
        return deliver(request, "campaign.targets", file, obj=campaign)
