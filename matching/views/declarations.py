"""Declaration pages: 我要融资, 代为申报, edit, list, review queue, detail and its actions,
bank recommendation, import, materials."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views import View

from coordination.selectors import entity_problems_context
from entities import selectors as entity_selectors
from entities.models import MarketEntity
from matching import criteria, selectors, services, workflow
from matching.clocks import annotate_countdowns
from matching.declaration_import import (
    DeclarationImportError,
    declaration_import_template,
    declarations_import,
    error_report_get,
    error_report_keep,
)
from matching.exports import declaration_import_errors_xlsx, declaration_list_export
from matching.forms import (
    BankRecommendForm,
    DeclarationForm,
    ReviewForm,
    StaffDeclarationForm,
    WithdrawForm,
    yuan_from_wan,
)
from matching.materials import material_open, material_upload
from matching.models import (
    BASIC_CRITERIA,
    DeclarationMaterial,
    DeclarationState,
    RecommendationState,
    Visit,
)
from matching.verdicts import declaration_verdicts, form_verdicts
from matching.views.common import _refused, _safe_next, lead_materials, recommendation_forms
from matching.workflow import Action
from portal import bounds, spreadsheets
from portal.forms import apply_application_error
from portal.mixins import RestrictedListView, RoleRequiredMixin
from portal.models import Role
from portal.services import ApplicationError
from portal.tenancy import restrict, scope_for
from products.models import Bank
from products.selectors import banks_serving

# --- enterprise: 我要融资 ----------------------------------------------------------------


class DeclareView(RoleRequiredMixin, View):
    """我要融资: the enterprise's short form; a draft is kept until submitted."""

    allowed_roles = {Role.ENTERPRISE_USER}
    template_name = "matching/declare.html"

    def _entity(self, request) -> MarketEntity:
        entity = restrict(MarketEntity.objects.all(), request.user).order_by("id").first()
        if entity is None:
            raise Http404("您的账号尚未关联经营主体")
        return entity

    def _current(self, request, entity):
        """The draft to continue, or None for a new declaration; a redirect (with the message
        naming it) while the entity has an open case that is not a draft (services.open_case:
        after every bank decided, e.g. declined, a new declaration is possible)."""
        current = selectors.open_declaration_of(user=request.user, entity_id=entity.pk)
        if current and current.state in workflow.states(Action.EDIT):
            return current, None
        problem = services.open_case(entity, actor=request.user)
        if problem:
            messages.info(request, problem)
            return None, redirect("matching:declaration_detail", pk=current.pk) if current else redirect("home")
        return None, None

    def get(self, request):
        entity = self._entity(request)
        current, elsewhere = self._current(request, entity)
        if elsewhere is not None:
            return elsewhere
        initial = DeclarationForm.initial_from(current) if current else {"term_months": 12}
        return self._render(request, entity, DeclarationForm(initial=initial, county=entity.region_id), current)

    def _render(self, request, entity, form, current, status=200):
        # each bank serving the entity with the products it qualifies for, for the need typed so far
        bank_verdicts = form_verdicts(entity=entity, banks=banks_serving(entity.region_id), need=form.typed_need())
        return render(
            request,
            self.template_name,
            {"entity": entity, "form": form, "draft": current, "bank_verdicts": bank_verdicts},
            status=status,
        )

    def post(self, request):
        entity = self._entity(request)
        current = selectors.open_declaration_of(user=request.user, entity_id=entity.pk)
        if current and current.state not in workflow.states(Action.EDIT):
            current = None  # not a draft: a new declaration, which the service refuses while a case is open
        form = DeclarationForm(request.POST, county=entity.region_id)
        if not form.is_valid():
            return self._render(request, entity, form, current, status=400)
        submit = "submit" in request.POST
        data = form.service_data()
        try:
            if current:
                declaration = services.declaration_update(actor=request.user, declaration_id=current.pk, **data)
                if submit:
                    declaration = services.declaration_submit(actor=request.user, declaration_id=declaration.pk)
            else:
                declaration = services.declaration_create(
                    actor=request.user, entity_id=entity.pk, submit=submit, **data
                )
        except ApplicationError as error:
            _form_errors(form, error)
            return self._render(request, entity, form, current, status=400)
        messages.success(request, "申报已提交, 请留意审核进度" if submit else "草稿已保存")
        return redirect("matching:declaration_detail", pk=declaration.pk)


def _form_errors(form, error: ApplicationError, aliases: dict[str, str] | None = None) -> None:
    """A service's refusal on the form, drawn again as typed (portal.forms.apply_application_error):
    each field error beside the field of that name (or its alias: the staff form names the entity
    by `uscc`), the five criteria's and the message above the form."""
    apply_application_error(form, error, {"basic_criteria": None, **(aliases or {})})


# --- declarations: list, detail and actions ---------------------------------------------


class DeclarationListView(RestrictedListView):
    template_name = "matching/declaration_list.html"
    context_object_name = "declarations"

    def select(self, *, user, params):
        return selectors.declaration_list(user=user, state=params.get("state") or None, q=params.get("q") or None)

    def get_context_data(self, **kwargs):
        scope = scope_for(self.request.user)
        # 申报清单 exports for whoever restrict(Declaration, EXPORT) lets export (the government)
        return super().get_context_data(
            states=DeclarationState.choices, can_export=bool(scope and scope.is_government), **kwargs
        )


class DeclarationExportView(LoginRequiredMixin, View):
    """申报清单 as xlsx (申报清单_20261205.xlsx), with the list page's filters; audited."""

    def get(self, request):
        state = request.GET.get("state") or None
        if state not in dict(DeclarationState.choices):
            state = None
        q = (request.GET.get("q") or "").strip()[:100] or None
        file = declaration_list_export(actor=request.user, state=state, q=q)
        return spreadsheets.deliver(request, "declaration", file, filters={"state": state, "q": q})


class ReviewQueueView(RestrictedListView):
    """审核队列: what waits for my review stage, with bulk actions. Each row shows what the
    reviewer must see before approving (selectors.review_briefs): the five basic criteria and
    their exception, the eligibility of the intended banks' products for the declared need,
    and 多头授信 warnings. Bulk approval refuses, one by one with the reason, a declaration whose
    exception the lead has not confirmed; the others proceed."""

    template_name = "matching/review_queue.html"
    context_object_name = "declarations"
    paginate_by = 20  # each row evaluates its intended banks' products

    def select(self, *, user, params):
        scope = scope_for(user)
        return selectors.review_queue(user=user, role=scope.role if scope else "", q=params.get("q") or None)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        rows = list(context["declarations"])
        briefs = selectors.review_briefs(rows)
        for declaration in rows:
            declaration.brief = briefs[declaration.pk]
        context["declarations"] = rows
        return context

    def post(self, request):
        ids = bounds.form_ids(request.POST.getlist("ids"))
        decision = request.POST.get("decision", "approve")
        if not ids:
            messages.error(request, "请先勾选申报")
            return redirect("matching:review_queue")
        results = services.declarations_review_bulk(
            actor=request.user, declaration_ids=ids, decision=decision, comment=request.POST.get("comment", "")
        )
        names = dict(selectors.declaration_list(user=request.user).filter(pk__in=ids).values_list("pk", "entity__name"))
        done = sum(1 for r in results.values() if r == "ok")
        refused = len(results) - done
        messages.success(request, f"已处理 {done} 条" + (f", {refused} 条未处理(原因见下)" if refused else ""))
        for pk, result in results.items():
            if result != "ok":
                messages.error(request, f"{names.get(pk, f'申报 {pk}')}: {result}")
        return redirect("matching:review_queue")


class DeclarationDetailView(LoginRequiredMixin, View):
    """One declaration; every button on it is what the workflow table allows the user to do
    on it now (matching/workflow.py)."""

    template_name = "matching/declaration_detail.html"

    def get(self, request, pk):
        declaration = selectors.declaration_get(user=request.user, pk=pk)
        if declaration is None:
            raise Http404
        return self.render_declaration(request, declaration)

    def render_declaration(
        self, request, declaration, *, review_form=None, withdraw_form=None, lead_form=None, status=200
    ):
        """The page; `review_form`, `withdraw_form`: the refused 审核意见 or 撤回申报, drawn again
        as typed with its errors; `lead_form`: (recommendation id, action, bound form), the refused
        form of one bank's recommendation (评价, 辅导, 改推, 移出), drawn again the same way."""
        user = request.user
        scope = scope_for(user)
        recommendations = (
            annotate_countdowns(
                selectors.recommendation_list(user=user)
                .filter(declaration=declaration)
                .prefetch_related("coachings__actor")
            )
            if not scope.is_bank
            else []
        )
        # the files the user may see (a bank: not what another bank collected on its own lead)
        materials = list(
            restrict(DeclarationMaterial.objects.filter(declaration=declaration), user)
            .select_related("uploaded_by", "recommendation__bank")
            .order_by("uploaded_at", "id")
        )
        for r in recommendations:
            r.can = workflow.allowed(user, r, RECOMMENDATION_BUTTONS)
            r.declined = r.state in workflow.states(Action.COACH)  # its coaching is shown to the task force
            r.lead_materials = lead_materials(r, materials)
            r.forms = recommendation_forms(r)
            if lead_form is not None and lead_form[0] == r.pk:
                r.forms[lead_form[1]] = lead_form[2]
        review = workflow.review_action(declaration.state)
        can = workflow.allowed(user, declaration, DECLARATION_BUTTONS)
        context = {
            "declaration": declaration,
            "timeline": selectors.declaration_timeline(user=user, declaration=declaration),
            "recommendations": recommendations,
            "warnings": selectors.declaration_warnings(declaration) if scope.is_government else [],
            "criteria": [(label, declaration.basic_criteria.get(key, {})) for key, label in BASIC_CRITERIA.items()],
            "criteria_summary": criteria.summary(declaration),
            "can_confirm_exception": workflow.allows(Action.CRITERIA_EXCEPTION_CONFIRM, user, declaration),
            "lead_waits_for_confirmation": review == Action.REVIEW_LEAD
            and criteria.approval_problem(declaration, bulk=False, lead=True),
            "review_form": review_form or ReviewForm(),
            "withdraw_form": withdraw_form or WithdrawForm(auto_id="withdraw-%s"),
            "can": can,
            "can_review": review is not None and workflow.allows(review, user, declaration),
            "review_refusal": _review_refusal(user, declaration, review),
            "can_upload": can["MATERIALS_UPLOAD"],
            "edit_url": _edit_url(user, declaration) if can["EDIT"] else "",
            "is_enterprise": scope.is_enterprise,
            "is_task_force": any(workflow.may(action, user) for action in (Action.COACH, Action.REDIRECT)),
            # a draft (new or returned) shows its reviewers' last comment
            "is_draft": declaration.state in workflow.states(Action.EDIT),
            "banks": banks_serving(declaration.region_id),
            "steps": _steps(declaration, recommendations),
            # each intended bank's products judged for this declaration's own need, the stored
            # batch result beside it as what it is (matching/verdicts.py)
            "verdicts": declaration_verdicts(user=user, declaration=declaration) if scope.is_government else None,
            "materials": materials,
            "profile": _entity_profile(user, declaration),
            # the entity's 批分单 not yet closed (coordination, seed 004 二(七))
            **entity_problems_context(user=user, entity_id=declaration.entity_id, source="review"),
            # the items a file may answer: every list of the banks working the declaration
            "material_items": list(
                dict.fromkeys(i["name"] for r in recommendations for i in r.lead_materials["items"])
            ),
        }
        return render(request, self.template_name, context, status=status)


def _entity_profile(user, declaration) -> dict | None:
    """The entity as its own page shows it (entities.selectors.entity_profile: register facts,
    三型 mark and estimate, 名特优新, credit, yearly financials), for the staff and banks who
    decide on the declaration and may see the entity; the enterprise has its own page."""
    if scope_for(user).is_enterprise:
        return None
    entity = entity_selectors.entity_get(user=user, pk=declaration.entity_id)
    if entity is None:
        return None
    return {"entity": entity, **entity_selectors.entity_profile(user=user, entity=entity)}


# the buttons of a declaration's page, and of each of its recommendations on it
DECLARATION_BUTTONS = (Action.EDIT, Action.CONSENT, Action.SUBMIT, Action.WITHDRAW, Action.MATERIALS_UPLOAD)
RECOMMENDATION_BUTTONS = (Action.RATE, Action.COACH, Action.REDIRECT, Action.REMOVE, Action.MATERIALS_SUBMIT)


def _review_refusal(user, declaration, review) -> str:
    """Why a reviewer of this level may not review it (the maker-checker rule), to show instead
    of the buttons; empty when there is nothing to explain."""
    if review is None or not workflow.may(review, user):
        return ""
    found = workflow.refusal(review, user, declaration)
    return found.message if found is not None else ""


def _edit_url(user, declaration) -> str:
    """The enterprise edits its draft on 我要融资; task-force staff on the edit page."""

    scope = scope_for(user)
    return (
        reverse("matching:declare")
        if scope.is_enterprise
        else reverse("matching:declaration_edit", args=[declaration.pk])
    )


# the declaration's way to the 推荐清单, from the workflow table: (step label, state reached)
TIMELINE_STEPS = workflow.path()
_ORDER = workflow.state_order()


def _steps(declaration, recommendations) -> list[dict]:
    """申报 → 初审 → 银行审核 → 组长审核 → 推荐 → 对接 → 材料收齐 → 授信/不予授信 → 放款, with what is done."""
    # a declaration removed from the list had reached it (the state REMOVE's last lead leaves)
    removed = workflow.effect(Action.REMOVE, "last_lead")
    reached = (
        _ORDER.index(declaration.state)
        if declaration.state in _ORDER
        else (_ORDER.index(removed.source[0]) if declaration.state == removed.target else 0)
    )
    steps = [{"label": label, "done": reached >= i + 1} for i, (label, _) in enumerate(TIMELINE_STEPS)]
    states = {r.state for r in recommendations}
    contacted = any(r.contacted_at for r in recommendations) or bool(states & {RecommendationState.DECLINED})
    decided = any(r.decided_at for r in recommendations)
    steps.append({"label": "对接", "done": contacted})
    steps.append({"label": "材料收齐", "done": any(r.materials_complete_at for r in recommendations) or decided})
    steps.append({"label": "授信/不予授信", "done": decided})
    steps.append({"label": "放款", "done": RecommendationState.DISBURSED in states})
    return steps


class DeclarationActionView(LoginRequiredMixin, View):
    """POST-only actions on one declaration."""

    def post(self, request, pk, action):
        """Done: back to the page (PRG). A refused 审核意见 the user may still give, or a refused
        撤回申报, gets the page again (400) with what was typed and the error beside it; the
        other actions (and a review no longer open to the user) say why as messages."""
        if selectors.declaration_get(user=request.user, pk=pk) is None:
            raise Http404
        form = ReviewForm(request.POST) if action == "review" else None
        if action == "withdraw":
            form = WithdrawForm(request.POST, auto_id="withdraw-%s")
            if not form.is_valid():
                return self._refused_withdraw(request, pk, form)
        try:
            self._do(request, pk, action, form)
        except ApplicationError as error:
            declaration = selectors.declaration_get(user=request.user, pk=pk)
            if action == "withdraw" and workflow.allows(Action.WITHDRAW, request.user, declaration):
                apply_application_error(form, error)
                return self._refused_withdraw(request, pk, form)
            review = workflow.review_action(declaration.state)
            if action != "review" or review is None or not workflow.allows(review, request.user, declaration):
                _refused(request, error)  # no form on the page to show it beside
            else:
                apply_application_error(form, error, {"decision": None})
                return DeclarationDetailView().render_declaration(request, declaration, review_form=form, status=400)
        return redirect(_safe_next(request, f"/matching/declarations/{pk}/"))

    def _refused_withdraw(self, request, pk, form):
        declaration = selectors.declaration_get(user=request.user, pk=pk)
        return DeclarationDetailView().render_declaration(request, declaration, withdraw_form=form, status=400)

    def _do(self, request, pk, action, form):
        post = request.POST
        if action == "review":
            if not form.is_valid():
                raise ApplicationError("请选择审核结论")
            services.declaration_review(
                actor=request.user,
                declaration_id=pk,
                decision=form.cleaned_data["decision"],
                comment=form.cleaned_data["comment"],
            )
            messages.success(request, "审核意见已提交")
        elif action == "withdraw":
            services.declaration_withdraw(actor=request.user, declaration_id=pk, reason=form.cleaned_data["reason"])
            messages.success(request, "申报已撤回")
        elif action == "consent":
            if not post.get("consent"):
                raise ApplicationError("请勾选企业同意向意向对接银行共享信息")
            services.declaration_consent_record(actor=request.user, declaration_id=pk)
            messages.success(request, "已记录企业同意共享信息")
        elif action == "submit":
            services.declaration_submit(actor=request.user, declaration_id=pk)
            messages.success(request, "申报已提交")
        elif action == "confirm-exception":
            services.declaration_criteria_exception_confirm(
                actor=request.user, declaration_id=pk, comment=post.get("comment", "")
            )
            messages.success(request, "已确认五项基本标准例外")
        else:
            raise Http404


class StaffDeclareView(RoleRequiredMixin, View):
    """专班代为申报: staff enter a declaration for an entity met on a visit."""

    allowed_roles = workflow.roles(Action.FILE) - {Role.ENTERPRISE_USER}
    template_name = "matching/staff_declare.html"

    def _entity(self, request, uscc) -> MarketEntity | None:
        uscc = (uscc or "").strip().upper()[:18]
        return restrict(MarketEntity.objects.all(), request.user).filter(uscc=uscc).first() if uscc else None

    def _context(self, form, entity) -> dict:
        """The form and, once the entity is known (named by ?uscc= or typed before an error),
        each bank serving it with the products it qualifies for, for the need typed so far."""
        bank_verdicts = (
            form_verdicts(entity=entity, banks=banks_serving(entity.region_id), need=form.typed_need())
            if entity is not None
            else []
        )
        return {"form": form, "banks": Bank.objects.order_by("code"), "entity": entity, "bank_verdicts": bank_verdicts}

    def get(self, request):
        visit = self._visit(request, request.GET.get("visit"))
        if visit is not None:  # started from a visit: pre-filled from its 重点走访 record
            entity, initial = visit.entity, StaffDeclarationForm.initial_from_visit(visit)
        else:
            entity = self._entity(request, request.GET.get("uscc"))
            initial = {"term_months": 12, **({"uscc": entity.uscc} if entity else {})}
        context = self._context(StaffDeclarationForm(initial=initial), entity)
        return render(request, self.template_name, {**context, "visit": visit})

    def _visit(self, request, pk):
        pk = pk or ""
        if not (pk.isascii() and pk.isdigit() and 0 < int(pk) < 2**31):
            return None
        return restrict(Visit.objects.select_related("entity"), request.user).filter(pk=int(pk)).first()

    def post(self, request):
        form = StaffDeclarationForm(request.POST)
        entity = self._entity(request, request.POST.get("uscc"))
        context = self._context(form, entity)
        if not form.is_valid():
            return render(request, self.template_name, context, status=400)
        if entity is None:
            form.add_error("uscc", "未找到该主体, 或不在您的辖区")
            return render(request, self.template_name, context, status=400)
        try:
            declaration = services.declaration_create(
                actor=request.user, entity_id=entity.pk, submit="submit" in request.POST, **form.service_data()
            )
        except ApplicationError as error:
            _form_errors(form, error, {"entity_id": "uscc"})
            return render(request, self.template_name, context, status=400)
        messages.success(request, f"已为{entity.name}录入申报")
        return redirect("matching:declaration_detail", pk=declaration.pk)


class DeclarationEditView(LoginRequiredMixin, View):
    """修改申报草稿: for whoever the workflow table lets edit this draft (task-force staff on a
    declaration filed on the enterprise's behalf; the enterprise uses 我要融资). Saving may
    record the enterprise's written consent and submit."""

    template_name = "matching/declaration_edit.html"

    def _declaration(self, request, pk):
        declaration = selectors.declaration_get(user=request.user, pk=pk)
        if declaration is None:
            raise Http404
        if not workflow.may(Action.EDIT, request.user):
            raise PermissionDenied(workflow.role_refusal(Action.EDIT).message)
        return declaration

    def _render(self, request, declaration, form, status=200):
        refusal = workflow.refusal(Action.EDIT, request.user, declaration)
        return render(
            request,
            self.template_name,
            {
                "declaration": declaration,
                "form": form,
                "banks": banks_serving(declaration.region_id),
                "refusal": refusal.message if refusal else "",
                "can_submit": workflow.may(Action.SUBMIT, request.user),
            },
            status=status,
        )

    def get(self, request, pk):
        declaration = self._declaration(request, pk)
        initial = DeclarationForm.initial_from(declaration)
        return self._render(request, declaration, DeclarationForm(initial=initial, county=declaration.region_id))

    def post(self, request, pk):
        declaration = self._declaration(request, pk)
        form = DeclarationForm(request.POST, county=declaration.region_id)
        if not form.is_valid():
            return self._render(request, declaration, form, status=400)
        try:
            data = form.service_data()
            services.declaration_update(
                actor=request.user, declaration_id=pk, **{**data, "consent": data["consent"] or None}
            )
            if "submit" in request.POST:
                services.declaration_submit(actor=request.user, declaration_id=pk)
        except ApplicationError as error:
            _form_errors(form, error)
            return self._render(request, self._declaration(request, pk), form, status=400)
        messages.success(request, "申报已提交" if "submit" in request.POST else "已保存修改")
        return redirect("matching:declaration_detail", pk=pk)


class BankRecommendView(RoleRequiredMixin, View):
    """银行推荐: a bank recommends an entity to the county task force."""

    allowed_roles = workflow.roles(Action.BANK_RECOMMEND)
    template_name = "matching/bank_recommend.html"

    def get(self, request):
        return render(request, self.template_name, {"form": BankRecommendForm(initial={"term_months": 12})})

    def post(self, request):
        form = BankRecommendForm(request.POST)
        if not form.is_valid():
            return render(request, self.template_name, {"form": form}, status=400)
        entity = (
            restrict(MarketEntity.objects.all(), request.user)
            .filter(uscc=form.cleaned_data["uscc"].strip().upper())
            .first()
        )
        if entity is None:
            form.add_error("uscc", "未找到该主体, 或不在本行服务区域")
            return render(request, self.template_name, {"form": form}, status=400)
        try:
            services.declaration_recommend_by_bank(
                actor=request.user,
                entity_id=entity.pk,
                amount=yuan_from_wan(form.cleaned_data["amount_wan"]),
                term_months=form.cleaned_data["term_months"],
                purpose=form.cleaned_data["purpose"],
                repayment=form.cleaned_data["repayment"],
                note=form.cleaned_data["note"],
            )
        except ApplicationError as error:
            _form_errors(form, error, {"entity_id": "uscc"})
            return render(request, self.template_name, {"form": form}, status=400)
        messages.success(
            request, f"已向{entity.region.name}工作专班推荐{entity.name}; 待企业同意共享信息并提交后进入专班审核"
        )
        return redirect("matching:lead_inbox")


class DeclarationImportView(RoleRequiredMixin, View):
    """批量申报: download the xlsx template, upload it filled after visits; good rows become
    declarations, bad rows are reported with their line and reason."""

    allowed_roles = workflow.roles(Action.FILE) - {Role.ENTERPRISE_USER}
    template_name = "matching/declaration_import.html"
    MAX_BYTES = 5 * 1024 * 1024
    max_upload_bytes = MAX_BYTES  # refused by Content-Length above it (portal.middleware)

    def get(self, request):
        if request.GET.get("template"):
            return spreadsheets.deliver(
                request,
                "declaration_template",
                spreadsheets.File(declaration_import_template(), "批量申报模板.xlsx", "xlsx"),
            )
        if "errors" in request.GET:
            # the refused lines of the user's own last uploads (kept an hour), as xlsx
            kept = error_report_get(actor=request.user, token=request.GET["errors"])
            if kept is None:
                raise Http404("错误报告已过期, 请重新上传")
            file = declaration_import_errors_xlsx(kept["errors"], file_name=kept["file_name"])
            return spreadsheets.deliver(request, "declaration_import", file, filters={"file": kept["file_name"]})
        return render(request, self.template_name, {})

    def post(self, request):
        upload = request.FILES.get("file")
        if upload is None:
            messages.error(request, "请选择要上传的 xlsx 文件")
            return render(request, self.template_name, {})
        if upload.size > self.MAX_BYTES:
            messages.error(request, "文件超过 5 MB, 请拆分后上传")
            return render(request, self.template_name, {})
        try:
            summary = declarations_import(actor=request.user, content=upload.read(), file_name=upload.name)
        except (DeclarationImportError, ApplicationError) as error:
            messages.error(request, f"文件无法导入, 未导入任何记录: {getattr(error, 'message', error)}")
            return render(request, self.template_name, {})
        created = {row["id"]: row["line"] for row in summary["declarations"]}
        declarations = list(selectors.declaration_list(user=request.user).filter(pk__in=created))
        for declaration in declarations:
            declaration.line = created[declaration.pk]
        declarations.sort(key=lambda d: d.line)
        token = (
            error_report_keep(actor=request.user, errors=summary["errors"], file_name=upload.name)
            if summary["errors"]
            else ""
        )
        return render(
            request,
            self.template_name,
            {"summary": summary, "file_name": upload.name, "created": declarations, "errors_token": token},
        )


class MaterialDownloadView(LoginRequiredMixin, View):
    """Uploaded materials live outside the web root; this permission-checked view is the only way to them."""

    def get(self, request, pk):
        try:
            opened = material_open(actor=request.user, material_id=pk, request=request)
        except ApplicationError:
            raise Http404
        return FileResponse(opened.file, as_attachment=True, filename=opened.filename, content_type=opened.content_type)


class MaterialUploadView(LoginRequiredMixin, View):
    def post(self, request, pk):
        if selectors.declaration_get(user=request.user, pk=pk) is None:
            raise Http404
        files = request.FILES.getlist("files")
        if not files:
            messages.error(request, "请选择要上传的文件")
        for upload in files:
            try:
                material_upload(
                    actor=request.user, declaration_id=pk, uploaded_file=upload, item=request.POST.get("item", "")
                )
                messages.success(request, f"已上传 {upload.name}")
            except ApplicationError as error:
                messages.error(request, f"{upload.name}: {error.message}")
        return redirect("matching:declaration_detail", pk=pk)
