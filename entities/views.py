"""Pages of the entities app: thin — read the request, call one selector or service, render."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, HttpResponseBadRequest, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views import View
from django.views.generic import TemplateView

from entities import renewals as renewal_policy
from entities import selectors, services, spreadsheets
from entities.forms import (
    MAX_UPLOAD_BYTES,
    BankRelationshipForm,
    CreditFlagsForm,
    CreditRepairForm,
    EntityEditForm,
    FinancialYearForm,
    HonorDecisionForm,
    HonorGrantForm,
    HonorProposalForm,
    RegisterUploadForm,
    RenewalForm,
    RenewalOutcomeForm,
    TierMarkForm,
)
from entities.models import (
    CREDIT_FLAG_LABELS,
    EntityImport,
    EntityType,
    FinancialYear,
    HonorKind,
    HonorProposalAction,
    HonorProposalState,
    ImportStatus,
    RegisterStatus,
    SizeClass,
    Tier,
)
from entities.personal_data import PERSONAL_FIELDS, masked, may_reveal, sees_own
from entities.register_file import LABELS
from entities.renewals import RenewalAction
from entities.restrictions import HONOR_GRANTERS, HONOR_PROPOSERS, REGISTER_KEEPERS, TIER_MARKERS, bank_root_id
from portal import bounds
from portal import spreadsheets as portal_spreadsheets
from portal.forms import apply_application_error
from portal.mixins import RestrictedListView, RoleRequiredMixin
from portal.services import ApplicationError
from portal.tenancy import EXPORT, GOVERNMENT_ROLES, resolve, scope_for

EXPORT_LIMIT = 10_000
# Chinese names of the search parameters, for the filter error line
FILTER_LABELS = {
    "q": "名称或代码",
    "region": "行政区划",
    "township": "乡镇(街道)",
    "entity_type": "主体类型",
    "tier": "分型",
    "honor": "名特优新",
    "size_class": "企业划型",
    "register_status": "登记状态",
    "credit": "信用状况",
    "revenue_min": "年营业收入下限",
    "revenue_max": "年营业收入上限",
}


def _after(request) -> int | None:
    return bounds.query_id(request.GET.get("after"))


class EntityListView(RestrictedListView):
    """经营主体查询: filters, keyset pages of 50 (no COUNT over the table)."""

    template_name = "entities/entity_list.html"
    paginate_by = None

    def select(self, *, user, params):
        self.filters, self.filter_errors = selectors.EntityFilters.from_params(params, money_unit=10_000)
        return selectors.entity_search(user=user, filters=self.filters)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        page = selectors.entity_page(self.object_list, after=_after(self.request))
        params = self.request.GET.copy()
        params.pop("after", None)
        region = self.filters.region
        context.update(
            page=page,
            filters=self.filters,
            filter_errors={FILTER_LABELS.get(name, name): message for name, message in self.filter_errors.items()},
            query=params.urlencode(),
            region_choices=selectors.region_choices(user=self.request.user),
            township_choices=selectors.township_choices(region=region),
            entity_types=EntityType.choices,
            tiers=Tier.choices,
            honors=HonorKind.choices,
            size_classes=SizeClass.choices,
            register_statuses=RegisterStatus.choices,
            credit_filters=[(k, v[0]) for k, v in selectors.CREDIT_FILTERS.items()],
            object_list=None,
        )
        return context


class EntityExportView(RestrictedListView):
    """The current search as xlsx (at most EXPORT_LIMIT rows; phone numbers masked)."""

    restrict_action = EXPORT
    paginate_by = None

    def select(self, *, user, params):
        filters, _ = selectors.EntityFilters.from_params(params, money_unit=10_000)
        return selectors.entity_search(user=user, filters=filters, action=EXPORT)

    def render_to_response(self, context, **response_kwargs):
        rows = (
            [
                e.uscc,
                e.name,
                e.get_entity_type_display(),
                e.get_register_status_display(),
                e.established_on,
                e.region.name,
                e.industry_id or "",
                e.annual_revenue,
                e.get_tier_display() if e.tier else "",
                e.get_size_class_display() if e.size_class else "",
                e.operator_name,
                masked("operator_phone", e.operator_phone),
                "是" if e.has_adverse_credit else "否",
            ]
            for e in self.object_list.select_related("region")[:EXPORT_LIMIT]
        )
        filters = {key: value for key, value in self.request.GET.items() if key != "page"}
        return portal_spreadsheets.deliver(self.request, "entity", spreadsheets.entities_xlsx(rows), filters=filters)


class TownshipOptionsView(LoginRequiredMixin, View):
    """<option>s of the townships of a county, for the search form (htmx)."""

    def get(self, request):
        options = selectors.township_choices(region=request.GET.get("region", ""))
        return render(
            request,
            "entities/_township_options.html",
            {"townships": options, "selected": request.GET.get("township", "")},
        )


class EntitySuggestView(RestrictedListView):
    """<option>s for picking an entity by name or USCC (走访登记, 代为申报, 推荐企业): up to ten
    of the entities the user may see whose name contains what was typed (2 characters or more)
    or whose USCC it is; the option's value is the USCC the form takes (htmx into a datalist)."""

    template_name = "entities/_entity_suggestions.html"
    context_object_name = "suggestions"
    paginate_by = None
    LIMIT = 10

    def select(self, *, user, params):
        typed = (params.get("q") or params.get("uscc") or "").replace("\x00", "").strip()[:100]
        found = selectors.entity_search(user=user, filters=selectors.EntityFilters(q=typed))
        if len(typed) < 2:  # one character would walk the whole register for nothing useful
            return found.none()
        return found.select_related("region")[: self.LIMIT]


class EntityDetailView(LoginRequiredMixin, TemplateView):
    template_name = "entities/entity_detail.html"

    def get_context_data(self, **kwargs):
        entity = selectors.entity_get(user=self.request.user, pk=kwargs["pk"])
        if entity is None:
            raise Http404
        scope = scope_for(self.request.user)
        own = sees_own(scope, entity)
        editable = services.editable_fields(actor=self.request.user, entity=entity)
        context = super().get_context_data(**kwargs)
        context.update(selectors.entity_detail(user=self.request.user, entity=entity))
        context.update(
            entity=entity,
            personal=[
                {
                    "field": f,
                    "label": label,
                    "value": getattr(entity, f) if own else masked(f, getattr(entity, f)),
                    "revealable": not own and may_reveal(scope) and bool(getattr(entity, f)),
                }
                for f, label in PERSONAL_FIELDS.items()
            ],
            can_edit=bool(editable),
            # financial years and credit facts: register keepers of the region (services.editable_fields)
            can_keep_register="financial_year" in editable,
            # the regulator's marks (issue 15): 三型 by city/province regulators, 名特优新 by the
            # province; county task forces (and cities) propose 名特优新 to the province
            can_mark_tier=bool(editable)
            and scope.role in TIER_MARKERS
            and entity.entity_type == EntityType.INDIVIDUAL_BUSINESS,
            can_grant_honor=bool(editable) and scope.role in HONOR_GRANTERS,
            can_propose_honor=bool(editable) and scope.role in HONOR_PROPOSERS,
            can_record_repair=bool(scope and (scope.is_platform_admin or scope.role in REGISTER_KEEPERS)),
            credit_labels=CREDIT_FLAG_LABELS,
            honors_imported_labels="、".join(LABELS["honor"][k] for k in entity.honors_imported.split(",") if k),
        )
        return context


class EntityRevealView(LoginRequiredMixin, View):
    """POST: the clear value of one personal field (audited), as a fragment replacing the mask."""

    def post(self, request, pk):
        entity = selectors.entity_get(user=request.user, pk=pk)
        if entity is None:
            raise Http404
        try:
            value = services.entity_reveal_personal_data(
                actor=request.user, entity=entity, field=request.POST.get("field", ""), request=request
            )
        except ApplicationError as exc:
            return HttpResponse(exc.message, status=403 if exc.code == "permission_denied" else 400)
        return render(request, "entities/_revealed.html", {"value": value})


class MyEntityView(LoginRequiredMixin, View):
    """我的企业: the enterprise user's own entity."""

    def get(self, request):
        entity = selectors.entity_of_enterprise(user=request.user)
        if entity is None:
            return render(request, "entities/no_entity.html")
        return redirect("entities:entity_detail", pk=entity.pk)


class EntityEditView(LoginRequiredMixin, View):
    template_name = "entities/entity_edit.html"

    def _entity_and_fields(self, request, pk):
        entity = selectors.entity_get(user=request.user, pk=pk, action="change")
        fields = services.editable_fields(actor=request.user, entity=entity) if entity else ()
        if entity is None or not fields:
            raise Http404
        return entity, fields

    def get(self, request, pk):
        entity, fields = self._entity_and_fields(request, pk)
        return render(
            request, self.template_name, {"entity": entity, "form": EntityEditForm(entity=entity, fields=fields)}
        )

    def post(self, request, pk):
        entity, fields = self._entity_and_fields(request, pk)
        form = EntityEditForm(request.POST, entity=entity, fields=fields)
        if form.is_valid():
            try:
                services.entity_update(actor=request.user, entity=entity, data=form.changed_values(), request=request)
            except ApplicationError as exc:
                apply_application_error(form, exc)
            else:
                messages.success(request, "已保存")
                return redirect("entities:entity_detail", pk=entity.pk)
        return render(request, self.template_name, {"entity": entity, "form": form}, status=400)


class EntityWriteView(LoginRequiredMixin, View):
    """A form page that writes to one entity through one service. The entity is loaded with
    the central restriction for "change": another region's entity, or one the role may only
    read, is a 404; an enterprise user on its own entity is refused (403), since honours,
    financial years and credit facts are register data kept by the regulator."""

    template_name = ""
    title = ""
    denied_message = "没有权限: 该信息只能通过名录库导入或由监管部门维护"

    def entity_for_change(self, request, pk):
        entity = selectors.entity_get(user=request.user, pk=pk, action="change")
        if entity is None:
            raise Http404
        if not self.may_write(request.user, entity):
            raise PermissionDenied(self.denied_message)
        return entity

    def may_write(self, user, entity) -> bool:
        return "financial_year" in services.editable_fields(actor=user, entity=entity)

    def render_page(self, request, entity, form, status=200, **extra):
        context = {"entity": entity, "form": form, "title": self.title, **extra}
        return render(request, self.template_name, context, status=status)

    def done(self, request, entity, message, anchor):
        messages.success(request, message)
        return redirect(reverse("entities:entity_detail", args=[entity.pk]) + anchor)

    def submit(self, request, entity, form, write, *, success, anchor, context=dict):
        """Validate ``form``, then ``write(form)`` through the service: on success back to the
        entity page with ``success(result)``; otherwise the page again (400) with the errors
        next to their fields, and ``context()`` for its lists. A refused permission is a 403."""
        if form.is_valid():
            try:
                result = write(form)
            except ApplicationError as exc:
                if exc.code == "permission_denied":
                    raise PermissionDenied(exc.message) from exc
                form.add_service_error(exc)
            else:
                return self.done(request, entity, success(result), anchor)
        return self.render_page(request, entity, form, status=400, **context())


class CreditRepairCreateView(EntityWriteView):
    """登记信用修复: what was repaired, when, by which authority; shared with banks."""

    template_name = "entities/credit_repair_form.html"
    title = "登记信用修复"

    def may_write(self, user, entity):
        scope = scope_for(user)
        return bool(scope and not scope.is_enterprise and (scope.is_platform_admin or scope.role in REGISTER_KEEPERS))

    def get(self, request, pk):
        entity = self.entity_for_change(request, pk)
        return self.render_page(
            request, entity, CreditRepairForm(), repairs=entity.credit_repairs.order_by("-repaired_on", "-id")
        )

    def post(self, request, pk):
        entity = self.entity_for_change(request, pk)
        return self.submit(
            request,
            entity,
            CreditRepairForm(request.POST),
            lambda form: services.credit_repair_record(
                actor=request.user, entity=entity, request=request, **form.cleaned_data
            ),
            success=lambda _: "已登记信用修复",
            anchor="#credit",
            context=lambda: {"repairs": entity.credit_repairs.order_by("-repaired_on", "-id")},
        )


class RegulatorMarkView(EntityWriteView):
    """A page on which a regulator writes one of the register's marks (三型, 名特优新, a 名特优新
    proposal): the entity is loaded for "change" through the central restriction (another
    region's entity is a 404), the actor's role must be in ``writer_roles`` (otherwise a 403
    saying who may), GET shows ``form_class`` with ``page_context``, POST writes through
    ``write`` (one service) and goes back to the entity page with ``success_message``.

    ``revoke`` is the shared flow of the revoke forms listed beside the titles (the title's id
    and a reason, POSTed; the title is resolved by the service among the entity's own)."""

    writer_roles: frozenset[str] = frozenset()
    form_class: type = None
    anchor = "#classification"

    def may_write(self, user, entity) -> bool:
        scope = scope_for(user)
        return bool(scope and scope.role in self.writer_roles)

    def initial(self, entity) -> dict:
        return {}

    def page_context(self, request, entity) -> dict:
        return {}

    def write(self, request, entity, form):
        raise NotImplementedError

    def success_message(self, result) -> str:
        raise NotImplementedError

    def get(self, request, pk):
        entity = self.entity_for_change(request, pk)
        form = self.form_class(initial=self.initial(entity))
        return self.render_page(request, entity, form, **self.page_context(request, entity))

    def post(self, request, pk):
        entity = self.entity_for_change(request, pk)
        return self.submit(
            request,
            entity,
            self.form_class(request.POST),
            lambda form: self.write(request, entity, form),
            success=self.success_message,
            anchor=self.anchor,
            context=lambda: self.page_context(request, entity),
        )

    def revoke(self, request, entity, write, *, success: str, redirect_to: str):
        """``write(honor_id, reason)`` for the title named in the POST; a reason missing is shown
        next to that title's reason box, a title not found (another entity's, or revoked a
        moment ago) as an alert with a 404, a refused role as a 403."""
        honor_id = request.POST.get("honor", "")
        try:
            write(bounds.query_id(honor_id) or 0, request.POST.get("reason", ""))
        except ApplicationError as exc:
            if exc.code == "permission_denied":
                raise PermissionDenied(exc.message) from exc
            reason_errors = (exc.field_errors or {}).get("reason")
            return self.render_page(
                request,
                entity,
                self.form_class(),
                status=404 if exc.code == "not_found" else 400,
                revoke_error=reason_errors[0] if reason_errors else None,
                revoke_alert=None if reason_errors else exc.message,
                revoke_honor=honor_id,
                **self.page_context(request, entity),
            )
        messages.success(request, success)
        return redirect(redirect_to)


class TierMarkView(RegulatorMarkView):
    """标记三型: the mark of the provincial 名录库, with its source and date (city and
    provincial regulators of the entity's region)."""

    template_name = "entities/tier_mark_form.html"
    title = "标记三型"
    denied_message = "没有权限: 三型标记由市、省级市场监管部门标记(或导入全省名录库)"
    writer_roles = frozenset(TIER_MARKERS)
    form_class = TierMarkForm

    def initial(self, entity):
        return {"tier": entity.tier_imported or ""}

    def write(self, request, entity, form):
        return services.tier_mark_set(
            actor=request.user,
            entity=entity,
            tier=form.cleaned_data["tier"] or None,
            note=form.cleaned_data["note"],
            marked_on=form.cleaned_data["marked_on"],
            request=request,
        )

    def success_message(self, entity):
        return f"已标记为{entity.get_tier_imported_display()}" if entity.tier_imported else "已撤销三型标记"


class HonorGrantView(RegulatorMarkView):
    """认定名特优新: a title with its validity period (the provincial regulator); the titles the
    entity holds are listed with their revoke forms (HonorRevokeView)."""

    template_name = "entities/honor_form.html"
    title = "认定名特优新"
    denied_message = "没有权限: 名特优新由省市场监管局认定, 县级专班可提出认定申请"
    writer_roles = frozenset(HONOR_GRANTERS)
    form_class = HonorGrantForm

    def page_context(self, request, entity):
        return {"honors": selectors.entity_honors(user=request.user, entity=entity)}

    def write(self, request, entity, form):
        return services.honor_grant(actor=request.user, entity=entity, request=request, **form.cleaned_data)

    def success_message(self, honor):
        return f"已认定「{honor.get_kind_display()}」, 有效期至 {honor.valid_until:%Y-%m-%d}"


class HonorRevokeView(HonorGrantView):
    """撤销名特优新: POST the title (``honor``) and the reason; back to the titles page."""

    http_method_names = ["post"]

    def post(self, request, pk):
        entity = self.entity_for_change(request, pk)
        return self.revoke(
            request,
            entity,
            lambda honor_id, reason: services.honor_revoke(
                actor=request.user, entity=entity, honor_id=honor_id, reason=reason, request=request
            ),
            success="已撤销该称号",
            redirect_to=reverse("entities:honor_grant", args=[entity.pk]),
        )


class HonorProposeView(RegulatorMarkView):
    """提出名特优新申请 (county task force, city regulator): grant a title with a proposed
    validity period, or (POST ``action=revoke``, ``honor``, ``reason``) revoke one the entity
    holds; the provincial regulator decides on 名特优新申请."""

    template_name = "entities/honor_propose.html"
    title = "提出名特优新申请"
    denied_message = "没有权限: 名特优新申请由县级专班或市级市场监管部门提出"
    writer_roles = frozenset(HONOR_PROPOSERS)
    form_class = HonorProposalForm

    def page_context(self, request, entity):
        return {
            "honors": selectors.entity_honors(user=request.user, entity=entity),
            "proposals": selectors.honor_proposals(user=request.user, entity=entity)[:20],
        }

    def write(self, request, entity, form):
        return services.honor_propose(
            actor=request.user, entity=entity, action=HonorProposalAction.GRANT, request=request, **form.cleaned_data
        )

    def success_message(self, proposal):
        return f"已提出「{proposal.get_kind_display()}」认定申请, 待省市场监管局审核"

    def post(self, request, pk):
        if request.POST.get("action") != HonorProposalAction.REVOKE:
            return super().post(request, pk)
        entity = self.entity_for_change(request, pk)
        return self.revoke(
            request,
            entity,
            lambda honor_id, reason: services.honor_propose(
                actor=request.user,
                entity=entity,
                action=HonorProposalAction.REVOKE,
                honor_id=honor_id,
                reason=reason,
                request=request,
            ),
            success="已提出撤销申请, 待省市场监管局审核",
            redirect_to=reverse("entities:entity_detail", args=[entity.pk]) + self.anchor,
        )


class HonorProposalListView(RoleRequiredMixin, RestrictedListView):
    """名特优新申请: the proposals of the actor's region; the provincial regulator decides
    the pending ones here (批准 / 不批准 with a note)."""

    allowed_roles = GOVERNMENT_ROLES
    permission_denied_message = "没有权限: 名特优新申请由市场监管部门和县级专班查看"
    template_name = "entities/honor_proposals.html"
    context_object_name = "proposals"
    paginate_by = 50

    def select(self, *, user, params):
        state = params.get("state", HonorProposalState.PENDING)
        return selectors.honor_proposals(user=user, state="" if state == "all" else state)

    # the refused decision (proposal id, bound form), drawn again as typed (HonorProposalDecideView)
    failed: tuple | None = None

    def get_context_data(self, **kwargs):
        scope = scope_for(self.request.user)
        context = super().get_context_data(
            states=HonorProposalState.choices,
            state=self.request.GET.get("state", HonorProposalState.PENDING),
            may_decide=bool(scope and scope.role in HONOR_GRANTERS),
            **kwargs,
        )
        failed_pk, failed_form = self.failed or (None, None)
        for proposal in context["proposals"]:
            # each proposal's own form (its ids carry the proposal: a page lists many)
            proposal.decide_form = (
                failed_form if proposal.pk == failed_pk else HonorDecisionForm(auto_id=f"decide-{proposal.pk}-%s")
            )
        return context


class HonorProposalDecideView(RoleRequiredMixin, View):
    """POST 批准 / 不批准 one proposal (the provincial regulator); back to the list."""

    allowed_roles = HONOR_GRANTERS
    permission_denied_message = "没有权限: 名特优新申请由省市场监管局审核"

    def post(self, request, pk):
        """Decided: back to the list (PRG). Refused while the proposal still waits: the list
        again (400) with the opinion as typed and the error beside it."""
        form = HonorDecisionForm(request.POST, auto_id=f"decide-{pk}-%s")
        if not form.is_valid():
            return self._refused(request, pk, form)
        try:
            proposal = services.honor_proposal_decide(
                actor=request.user,
                proposal_id=pk,
                decision=form.cleaned_data["decision"],
                note=form.cleaned_data["note"],
                request=request,
            )
        except ApplicationError as exc:
            if exc.code == "not_found":
                raise Http404 from exc
            if exc.code == "permission_denied":
                raise PermissionDenied(exc.message) from exc
            if exc.code == "conflict":  # decided meanwhile: no form to show it beside
                messages.error(request, exc.message)
                return redirect("entities:honor_proposals")
            apply_application_error(form, exc, {"decision": None})
            return self._refused(request, pk, form)
        what = f"{proposal.entity.name}「{proposal.get_kind_display()}」{proposal.get_action_display()}申请"
        messages.success(request, f"{what}: {proposal.get_state_display()}")
        return redirect("entities:honor_proposals")

    def _refused(self, request, pk, form):
        """The pending list with this proposal's form as typed: 批准 / 不批准 are buttons, so
        a missing 审核结果 is said above the form; the opinion's error sits beside its box."""
        if form.errors.pop("decision", None):
            form.add_error(None, "请选择批准或不批准")
        view = HonorProposalListView(failed=(pk, form))
        view.setup(request)
        view.request.GET = QueryDict(f"state={HonorProposalState.PENDING}")
        response = view.get(request)
        response.status_code = 400
        return response


class FinancialYearView(EntityWriteView):
    """录入年度财务数据: one row per year; ?year=YYYY opens an existing year for correction."""

    template_name = "entities/financial_year_form.html"
    title = "录入年度财务数据"

    def _years(self, entity):
        return list(FinancialYear.objects.filter(entity=entity).order_by("-year"))

    def get(self, request, pk):
        entity = self.entity_for_change(request, pk)
        years = self._years(entity)
        wanted = request.GET.get("year", "")
        record = next((y for y in years if str(y.year) == wanted), None)
        return self.render_page(request, entity, FinancialYearForm(record=record), years=years, editing=record)

    def post(self, request, pk):
        entity = self.entity_for_change(request, pk)
        return self.submit(
            request,
            entity,
            FinancialYearForm(request.POST),
            lambda form: services.financial_year_record(
                actor=request.user,
                entity=entity,
                year=form.cleaned_data["year"],
                values=form.service_values(),
                request=request,
            ),
            success=lambda record: f"已保存 {record.year} 年度财务数据",
            anchor="#financials",
            context=lambda: {"years": self._years(entity), "editing": None},
        )


class CreditFlagsView(EntityWriteView):
    """登记信用信息: the credit facts as read in a source on a date (each keeps both)."""

    template_name = "entities/credit_flags_form.html"
    title = "登记信用信息"

    def get(self, request, pk):
        entity = self.entity_for_change(request, pk)
        return self.render_page(request, entity, CreditFlagsForm(entity=entity))

    def post(self, request, pk):
        entity = self.entity_for_change(request, pk)
        return self.submit(
            request,
            entity,
            CreditFlagsForm(request.POST, entity=entity),
            lambda form: services.credit_flags_record(
                actor=request.user,
                entity=entity,
                values=form.flag_values(),
                source=form.cleaned_data["source"],
                observed_on=form.cleaned_data["observed_on"],
                request=request,
            ),
            success=lambda _: "已登记信用信息",
            anchor="#credit",
        )


# --- register import -----------------------------------------------------------------------


class BankRelationshipView(LoginRequiredMixin, View):
    """填报本行借贷往来: a bank's staff record what their own bank knows of a customer it may see
    (months borrowed there, the line, a non-performing loan, overdues in 12 months); the
    bank's products read it (建设银行 示范标杆商户). Another bank's row is never shown or changed."""

    template_name = "entities/bank_relationship_form.html"
    title = "填报本行借贷往来"

    def _entity(self, request, pk):
        entity = selectors.entity_get(user=request.user, pk=pk)
        if entity is None:
            raise Http404
        if bank_root_id(scope_for(request.user)) is None:
            raise PermissionDenied(services.BANK_STAFF_ONLY)
        return entity

    def _render(self, request, entity, form, status=200):
        context = {
            "entity": entity,
            "form": form,
            "title": self.title,
            "relationship": selectors.own_bank_relationship(user=request.user, entity=entity),
        }
        return render(request, self.template_name, context, status=status)

    def get(self, request, pk):
        entity = self._entity(request, pk)
        relationship = selectors.own_bank_relationship(user=request.user, entity=entity)
        return self._render(request, entity, BankRelationshipForm(relationship=relationship))

    def post(self, request, pk):
        entity = self._entity(request, pk)
        if request.POST.get("action") == "delete":
            relationship = selectors.own_bank_relationship(user=request.user, entity=entity)
            if relationship is not None:
                services.bank_relationship_delete(actor=request.user, relationship=relationship, request=request)
            messages.success(request, "已删除本行填报的借贷往来")
            return redirect(reverse("entities:entity_detail", args=[entity.pk]) + "#bank-relationships")
        form = BankRelationshipForm(request.POST)
        if form.is_valid():
            try:
                services.bank_relationship_record(
                    actor=request.user, entity=entity, values=form.values(), request=request
                )
            except ApplicationError as exc:
                if exc.code == "permission_denied":
                    raise PermissionDenied(exc.message) from exc
                form.add_service_error(exc)
            else:
                messages.success(request, "已保存本行借贷往来")
                return redirect(reverse("entities:entity_detail", args=[entity.pk]) + "#bank-relationships")
        return self._render(request, entity, form, status=400)


class ImportRoleMixin(RoleRequiredMixin):
    allowed_roles = REGISTER_KEEPERS


class EntityImportListView(ImportRoleMixin, RestrictedListView):
    """名录库导入: upload form and the imports of the organisation (and those below it)."""

    template_name = "entities/import_list.html"
    context_object_name = "imports"
    paginate_by = 20
    max_upload_bytes = MAX_UPLOAD_BYTES  # refused by Content-Length above it (portal.middleware)

    def select(self, *, user, params):
        return selectors.entity_import_list(user=user)

    def get_context_data(self, **kwargs):
        return super().get_context_data(form=RegisterUploadForm(), **kwargs)

    def post(self, request):
        form = RegisterUploadForm(request.POST, request.FILES)
        if not form.is_valid():
            self.object_list = self.get_queryset()
            context = self.get_context_data()
            context["form"] = form
            return self.render_to_response(context, status=400)
        upload = form.cleaned_data["file"]
        try:
            entity_import = services.entity_import_submit(
                actor=request.user, file_name=upload.name, content=upload.read(), request=request
            )
        except ApplicationError as exc:
            messages.error(request, exc.message)
            return redirect("entities:import_list")
        return redirect("entities:import_detail", pk=entity_import.pk)


class EntityImportDetailView(ImportRoleMixin, TemplateView):
    template_name = "entities/import_detail.html"

    def get_context_data(self, **kwargs):
        entity_import = selectors.entity_import_get(user=self.request.user, pk=kwargs["pk"])
        if entity_import is None:
            raise Http404
        return super().get_context_data(entity_import=entity_import, errors=entity_import.errors[:200], **kwargs)


class EntityImportProgressView(EntityImportDetailView):
    """The progress fragment; polled by htmx every second until the import has finished."""

    template_name = "entities/_import_progress.html"


class EntityImportErrorsView(ImportRoleMixin, View):
    def get(self, request, pk):
        try:
            entity_import = resolve(EntityImport, request.user, EXPORT, pk=pk)
        except ApplicationError:
            raise Http404 from None
        if entity_import.status != ImportStatus.SUCCEEDED:
            raise Http404
        file = spreadsheets.errors_xlsx(
            entity_import.errors, file_name=entity_import.file_name, import_id=entity_import.pk
        )
        return portal_spreadsheets.deliver(
            request, "entity_import", file, filters={"import": entity_import.pk}, obj=entity_import
        )


class RegisterTemplateView(LoginRequiredMixin, View):
    """The register template, as XLSX (default) or CSV (?format=csv)."""

    def get(self, request):
        if request.GET.get("format") == "csv":
            return portal_spreadsheets.deliver(
                request,
                "register_template",
                portal_spreadsheets.File(spreadsheets.template_csv(), "名录库模板.csv", "csv"),
            )
        if request.GET.get("format", "xlsx") != "xlsx":
            return HttpResponseBadRequest("format 应为 xlsx 或 csv")
        return portal_spreadsheets.deliver(
            request,
            "register_template",
            portal_spreadsheets.File(spreadsheets.template_xlsx(), "名录库模板.xlsx", "xlsx"),
        )


# --- 无还本续贷: renewal needs --------------------------------------------------------------


class RenewalListView(RestrictedListView):
    """应续尽续: the renewal needs the user may read — a bank its customers' at its bank, the
    enterprise its own, the task force / city / province their area's — with the 30/60/90-day
    tabs of open needs due, and (for the lending bank) the outcome buttons from the table."""

    template_name = "entities/renewal_list.html"
    context_object_name = "renewals"
    paginate_by = 50

    def select(self, *, user, params):
        return selectors.renewal_list(user=user, params=params)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        scope = scope_for(self.request.user)
        role = scope.role if scope else None
        for renewal in context["renewals"]:
            renewal.actions = renewal_policy.actions_for(role, renewal.status)
            renewal.outcomes = [a for a in renewal.actions if a in renewal_policy.OUTCOMES]
        window = self.request.GET.get("window", "")
        counts = selectors.renewal_window_counts(user=self.request.user)
        context.update(
            windows=[(str(days), f"{days} 天内到期", counts[days]) for days in selectors.RENEWAL_WINDOWS],
            window=window,
            may_record=renewal_policy.side_of(role) == renewal_policy.ENTERPRISE,
            outcome_form=RenewalOutcomeForm(),
            is_bank=renewal_policy.side_of(role) == renewal_policy.BANK,
        )
        return context


class RenewalRecordView(LoginRequiredMixin, View):
    """登记续贷需求 for one entity (?entity=ID; the enterprise: its own; ?visit=1 from 走访登记)."""

    template_name = "entities/renewal_form.html"

    def _entity(self, request):
        scope = scope_for(request.user)
        if not renewal_policy.allowed(RenewalAction.RECORD, scope.role if scope else None, None):
            raise PermissionDenied("您的角色不能登记续贷需求")
        entity_id = bounds.query_id(request.GET.get("entity"))
        if entity_id is None and scope.is_enterprise:
            entity = selectors.entity_of_enterprise(user=request.user)
        else:
            entity = selectors.entity_get(user=request.user, pk=entity_id) if entity_id else None
        if entity is None:
            raise Http404
        return entity, scope

    def _form(self, request, scope, data=None):
        banks = None if scope.is_bank else selectors.renewal_banks(user=request.user)
        return RenewalForm(data, banks=banks)

    def _render(self, request, entity, form, status=200):
        context = {
            "entity": entity,
            "form": form,
            "title": "登记续贷需求",
            "from_visit": request.GET.get("visit") == "1",
        }
        return render(request, self.template_name, context, status=status)

    def get(self, request):
        entity, scope = self._entity(request)
        return self._render(request, entity, self._form(request, scope))

    def post(self, request):
        entity, scope = self._entity(request)
        form = self._form(request, scope, request.POST)
        if form.is_valid():
            try:
                services.renewal_record(
                    actor=request.user,
                    entity_id=entity.pk,
                    from_visit=request.GET.get("visit") == "1",
                    request=request,
                    **form.values(),
                )
            except ApplicationError as exc:
                if exc.code == "not_found":
                    raise Http404 from exc
                form.add_service_error(exc)
            else:
                messages.success(request, f"已登记{entity.name}的续贷需求")
                return redirect("entities:renewal_list")
        return self._render(request, entity, form, status=400)


class RenewalActView(LoginRequiredMixin, View):
    """POST an outcome (the lending bank) or 撤销 (a side of the table) on one need."""

    def post(self, request, pk):
        if not selectors.renewal_list(user=request.user).filter(pk=pk).exists():
            raise Http404  # not visible: does not exist (before any input check)
        action = request.POST.get("action", "")
        try:
            if action == RenewalAction.WITHDRAW:
                renewal = services.renewal_withdraw(
                    actor=request.user, renewal_id=pk, note=request.POST.get("note", ""), request=request
                )
            else:
                renewal = services.renewal_outcome(
                    actor=request.user,
                    renewal_id=pk,
                    action=action,
                    refusal_reason=request.POST.get("refusal_reason", ""),
                    note=request.POST.get("note", ""),
                    request=request,
                )
        except ApplicationError as exc:
            if exc.code == "not_found":
                raise Http404 from exc
            if exc.code == "permission_denied":
                raise PermissionDenied(exc.message) from exc
            problems = [m for errors in exc.field_errors.values() for m in errors] or [exc.message]
            messages.error(request, "; ".join(problems))
            return redirect("entities:renewal_list")
        messages.success(request, f"{renewal.entity.name}: {renewal.get_status_display()}")
        return redirect("entities:renewal_list")
