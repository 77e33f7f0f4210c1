"""Pages of the workflow. Thin: parse the form, call one service or selector, render.
A refused action (ApplicationError) comes back as a Chinese message on the same page.
Every button a page shows is what the workflow table (matching/workflow.py) allows the user on
that object now (`workflow.allows`), the progress steps follow the table's path, and what a
template needs to know of a state (a draft, a finished lead) is decided here from the table,
never by comparing state strings in the template."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import View

from batch_matching import selectors as batch_selectors
from entities.models import MarketEntity
from matching import notifications, selectors, services, workflow
from matching.clocks import annotate_countdowns, late_feedback_counts, overdue_by_branch
from matching.declaration_import import DeclarationImportError, declaration_import_template, declarations_import
from matching.exports import recommendation_list_export
from matching.forms import (
    ApproveForm,
    BankRecommendForm,
    ContactForm,
    DeclarationForm,
    DeclineForm,
    DisburseForm,
    ReviewForm,
    StaffDeclarationForm,
    VisitForm,
    yuan_from_wan,
)
from matching.materials import material_open, material_upload
from matching.models import (
    BASIC_CRITERIA,
    DeadlineScan,
    DeclarationState,
    DeclineReason,
    Recommendation,
    RecommendationState,
)
from matching.workflow import Action
from portal import bounds, spreadsheets
from portal.mixins import RestrictedListView, RoleRequiredMixin
from portal.models import Role
from portal.services import ApplicationError
from portal.tenancy import restrict, scope_for
from products.eligibility import evaluate_entity
from products.models import Bank
from products.selectors import banks_serving
from workdays.arithmetic import SHANGHAI


def _int_or_none(value):
    return bounds.query_id(value)


def _safe_next(request, default: str) -> str:
    """Only same-site relative paths: never an open redirect."""

    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


def _refused(request, error: ApplicationError):
    messages.error(request, error.message)


def _refused_all(request, error: ApplicationError):
    """The message and every other field error (e.g. each limit an approval exceeds), once each."""
    messages.error(request, error.message)
    seen = {error.message}
    for field_messages in (error.field_errors or {}).values():
        for message in field_messages:
            if message not in seen and message not in error.message:
                seen.add(message)
                messages.error(request, message)


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

    def get(self, request):
        entity = self._entity(request)
        current = selectors.open_declaration_of(user=request.user, entity_id=entity.pk)
        if current and current.state not in workflow.states(Action.EDIT):
            messages.info(request, f"您已有进行中的申报({current.get_state_display()})")
            return redirect("matching:declaration_detail", pk=current.pk)
        initial = {"term_months": 12}
        if current:
            initial = {
                "amount_wan": current.amount / 10000,
                "term_months": current.term_months,
                "purpose": current.purpose,
                "banks": [b.bank for b in current.intended_banks.select_related("bank")],
                "consent": current.consent_given_at is not None,
                **{f"criteria_{k}": v.get("met") for k, v in current.basic_criteria.items()},
                **{f"evidence_{k}": v.get("evidence") for k, v in current.basic_criteria.items()},
            }
        return self._render(request, entity, DeclarationForm(initial=initial, county=entity.region_id), current)

    def _render(self, request, entity, form, current):
        banks = banks_serving(entity.region_id).prefetch_related("products")
        return render(request, self.template_name, {"entity": entity, "form": form, "draft": current, "banks": banks})

    def post(self, request):
        entity = self._entity(request)
        current = selectors.open_declaration_of(user=request.user, entity_id=entity.pk)
        form = DeclarationForm(request.POST, county=entity.region_id)
        if not form.is_valid():
            return self._render(request, entity, form, current)
        submit = "submit" in request.POST
        data = dict(
            amount=yuan_from_wan(form.cleaned_data["amount_wan"]),
            term_months=form.cleaned_data["term_months"],
            purpose=form.cleaned_data["purpose"],
            bank_codes=[b.code for b in form.cleaned_data["banks"]],
            basic_criteria=form.criteria(),
            consent=form.cleaned_data["consent"],
        )
        try:
            if current and current.state in workflow.states(Action.EDIT):
                declaration = services.declaration_update(actor=request.user, declaration_id=current.pk, **data)
                if submit:
                    declaration = services.declaration_submit(actor=request.user, declaration_id=declaration.pk)
            else:
                declaration = services.declaration_create(
                    actor=request.user, entity_id=entity.pk, submit=submit, **data
                )
        except ApplicationError as error:
            for field, errors in error.field_errors.items():
                if field in form.fields:
                    form.add_error(field, errors)
            _refused(request, error)
            return self._render(request, entity, form, current)
        messages.success(request, "申报已提交, 请留意审核进度" if submit else "草稿已保存")
        return redirect("matching:declaration_detail", pk=declaration.pk)


# --- declarations: list, detail and actions ---------------------------------------------


class DeclarationListView(RestrictedListView):
    template_name = "matching/declaration_list.html"
    context_object_name = "declarations"

    def select(self, *, user, params):
        return selectors.declaration_list(user=user, state=params.get("state") or None, q=params.get("q") or None)

    def get_context_data(self, **kwargs):
        return super().get_context_data(states=DeclarationState.choices, **kwargs)


class ReviewQueueView(RestrictedListView):
    """审核队列: what waits for my review stage, with bulk actions."""

    template_name = "matching/review_queue.html"
    context_object_name = "declarations"

    def select(self, *, user, params):
        scope = scope_for(user)
        return selectors.review_queue(user=user, role=scope.role if scope else "", q=params.get("q") or None)

    def post(self, request):
        ids = bounds.form_ids(request.POST.getlist("ids"))
        decision = request.POST.get("decision", "approve")
        if not ids:
            messages.error(request, "请先勾选申报")
            return redirect("matching:review_queue")
        results = services.declarations_review_bulk(
            actor=request.user, declaration_ids=ids, decision=decision, comment=request.POST.get("comment", "")
        )
        done = sum(1 for r in results.values() if r == "ok")
        messages.success(request, f"已处理 {done} 条")
        for pk, result in results.items():
            if result != "ok":
                messages.error(request, f"申报 {pk}: {result}")
        return redirect("matching:review_queue")


class DeclarationDetailView(LoginRequiredMixin, View):
    """One declaration; every button on it is what the workflow table allows the user to do
    on it now (matching/workflow.py)."""

    template_name = "matching/declaration_detail.html"

    def get(self, request, pk):
        declaration = selectors.declaration_get(user=request.user, pk=pk)
        if declaration is None:
            raise Http404
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
        for r in recommendations:
            r.can = workflow.allowed(user, r, RECOMMENDATION_BUTTONS)
            r.declined = r.state in workflow.states(Action.COACH)  # its coaching is shown to the task force
        review = workflow.review_action(declaration.state)
        can = workflow.allowed(user, declaration, DECLARATION_BUTTONS)
        context = {
            "declaration": declaration,
            "timeline": selectors.declaration_timeline(user=user, declaration=declaration),
            "recommendations": recommendations,
            "warnings": selectors.declaration_warnings(declaration) if scope.is_government else [],
            "criteria": [(label, declaration.basic_criteria.get(key, {})) for key, label in BASIC_CRITERIA.items()],
            "review_form": ReviewForm(),
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
            "eligibility": _eligibility(declaration) if scope.is_government else [],
            "stored": batch_selectors.declaration_results(user=user, declaration=declaration)
            if scope.is_government
            else None,
            "materials": declaration.materials.all(),
        }
        return render(request, self.template_name, context)


# the buttons of a declaration's page, and of each of its recommendations on it
DECLARATION_BUTTONS = (Action.EDIT, Action.CONSENT, Action.SUBMIT, Action.WITHDRAW, Action.MATERIALS_UPLOAD)
RECOMMENDATION_BUTTONS = (Action.RATE, Action.COACH, Action.REDIRECT, Action.REMOVE)


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


def _eligibility(declaration) -> list[dict]:
    """The eligibility trace of each intended bank's products."""

    rows = []
    for intended in declaration.intended_banks.select_related("bank"):
        for product in intended.bank.products.filter(status="active").select_related("current_version"):
            result = evaluate_entity(
                declaration.entity,
                product.current_version,
                need={"amount": declaration.amount, "term_months": declaration.term_months},
            ).result
            result["verdict_label"] = VERDICT_LABELS.get(result["verdict"], result["verdict"])
            rows.append({"bank": intended.bank, "product": product, "result": result})
    return rows


VERDICT_LABELS = {"eligible": "符合条件", "incomplete": "信息不全待核实", "ineligible": "不符合条件"}

# the declaration's way to the 推荐清单, from the workflow table: (step label, state reached)
TIMELINE_STEPS = workflow.path()
_ORDER = workflow.state_order()


def _steps(declaration, recommendations) -> list[dict]:
    """申报 → 初审 → 银行审核 → 组长审核 → 推荐 → 对接 → 授信/不予授信 → 放款, with what is done."""
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
    steps.append({"label": "授信/不予授信", "done": decided})
    steps.append({"label": "放款", "done": RecommendationState.DISBURSED in states})
    return steps


class DeclarationActionView(LoginRequiredMixin, View):
    """POST-only actions on one declaration."""

    def post(self, request, pk, action):
        if selectors.declaration_get(user=request.user, pk=pk) is None:
            raise Http404
        try:
            self._do(request, pk, action)
        except ApplicationError as error:
            _refused(request, error)
        return redirect(_safe_next(request, f"/matching/declarations/{pk}/"))

    def _do(self, request, pk, action):
        post = request.POST
        if action == "review":
            form = ReviewForm(post)
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
            services.declaration_withdraw(actor=request.user, declaration_id=pk, reason=post.get("reason", ""))
            messages.success(request, "申报已撤回")
        elif action == "consent":
            if not post.get("consent"):
                raise ApplicationError("请勾选企业同意向意向对接银行共享信息")
            services.declaration_consent_record(actor=request.user, declaration_id=pk)
            messages.success(request, "已记录企业同意共享信息")
        elif action == "submit":
            services.declaration_submit(actor=request.user, declaration_id=pk)
            messages.success(request, "申报已提交")
        else:
            raise Http404


# --- batches: sign-off, preview, export, push --------------------------------------------


class BatchListView(RestrictedListView):
    """推荐清单: declarations awaiting sign-off, batches being built and pushed."""

    template_name = "matching/batch_list.html"
    context_object_name = "batches"

    def select(self, *, user, params):
        return selectors.batch_list(user=user)

    def get_context_data(self, **kwargs):
        can_signoff = workflow.may(Action.SIGNOFF, self.request.user)
        ready = (
            selectors.declaration_list(user=self.request.user, state=list(workflow.states(Action.SIGNOFF)))
            if can_signoff
            else []
        )
        return super().get_context_data(ready=ready, is_convener=can_signoff, **kwargs)

    def post(self, request):
        ids = bounds.form_ids(request.POST.getlist("ids"))
        try:
            batch = services.batch_signoff(actor=request.user, declaration_ids=ids, title=request.POST.get("title", ""))
        except ApplicationError as error:
            _refused(request, error)
            return redirect("matching:batch_list")
        messages.success(request, f"已签字确认 {len(ids)} 条申报, 生成批次「{batch.title}」, 请预览后推送")
        return redirect("matching:batch_detail", pk=batch.pk)


class BatchDetailView(LoginRequiredMixin, View):
    template_name = "matching/batch_detail.html"

    def get(self, request, pk):
        if request.GET.get("format") == "xlsx":
            try:
                batch, file = recommendation_list_export(actor=request.user, batch_id=pk)
            except ApplicationError:
                raise Http404 from None
            return spreadsheets.deliver(request, "batch", file, filters={"batch": batch.pk}, obj=batch)
        batch = selectors.batch_list(user=request.user).filter(pk=pk).first()
        if batch is None:
            raise Http404
        declarations = batch.declarations.select_related("entity", "region").prefetch_related("intended_banks__bank")
        return render(
            request,
            self.template_name,
            {
                "batch": batch,
                "declarations": declarations,
                "progress": selectors.batch_progress(batch),
                "can_push": workflow.allows(Action.PUSH, request.user, batch),
            },
        )

    def post(self, request, pk):
        if not selectors.batch_list(user=request.user).filter(pk=pk).exists():
            raise Http404
        try:
            services.batch_push(actor=request.user, batch_id=pk)
            messages.success(request, "推荐清单已推送至意向对接银行")
        except ApplicationError as error:
            _refused(request, error)
        return redirect("matching:batch_detail", pk=pk)


# --- bank: inbox and lead detail ---------------------------------------------------------


class LeadInboxView(RestrictedListView):
    """线索收件箱 of a branch: status tabs, countdowns, filters, bulk assign."""

    template_name = "matching/lead_inbox.html"
    context_object_name = "leads"

    def select(self, *, user, params):
        return selectors.recommendation_list(
            user=user,
            tab=params.get("tab") or selectors.INBOX_FIRST_TAB,
            county=params.get("county") or None,
            bank=params.get("bank") or None,
            q=params.get("q") or None,
            min_amount=_int_or_none(params.get("min_wan")) and _int_or_none(params.get("min_wan")) * 10000,
            max_amount=_int_or_none(params.get("max_wan")) and _int_or_none(params.get("max_wan")) * 10000,
        )

    def get_context_data(self, **kwargs):
        counts = selectors.inbox_counts(user=self.request.user)
        tabs = [{"key": k, "label": label, "count": counts[k]} for k, (label, _) in selectors.INBOX_TABS.items()]
        can_assign = workflow.may(Action.ASSIGN, self.request.user)
        managers = selectors.account_managers(user=self.request.user) if can_assign else []
        context = super().get_context_data(
            tabs=tabs,
            tab=self.request.GET.get("tab") or selectors.INBOX_FIRST_TAB,
            managers=managers,
            is_bank_admin=can_assign,
            **kwargs,
        )
        context["leads"] = annotate_countdowns(context["leads"])
        return context

    def post(self, request):
        ids = bounds.form_ids(request.POST.getlist("ids"))
        try:
            n = services.recommendations_assign(
                actor=request.user, recommendation_ids=ids, manager_id=_int_or_none(request.POST.get("manager")) or 0
            )
            messages.success(request, f"已分配 {n} 条线索")
        except ApplicationError as error:
            _refused(request, error)
        return redirect(request.get_full_path())


class LeadDetailView(LoginRequiredMixin, View):
    template_name = "matching/lead_detail.html"

    def get(self, request, pk):
        lead = selectors.recommendation_get(user=request.user, pk=pk)
        if lead is None:
            raise Http404
        scope = scope_for(request.user)
        annotate_countdowns([lead])
        can = workflow.allowed(request.user, lead, workflow.LEAD_WORK + (Action.APPROVE_OVERRIDE,))
        return render(
            request,
            self.template_name,
            {
                "lead": lead,
                "can": can,
                "finished": lead.state in workflow.final_states(Recommendation),
                "limits": services.approval_limits(lead) if can["APPROVE"] else None,
                "timeline": selectors.declaration_timeline(user=request.user, declaration=lead.declaration).filter(
                    recommendation=lead
                )
                if scope.is_bank
                else selectors.declaration_timeline(user=request.user, declaration=lead.declaration),
                "contact_form": ContactForm(),
                "approve_form": ApproveForm(initial={"term_months": lead.declaration.term_months}),
                "decline_form": DeclineForm(),
                "disburse_form": DisburseForm(initial={"disbursed_on": timezone.localdate()}),
                "reasons": DeclineReason.objects.filter(is_active=True),
                "is_bank": scope.is_bank,
                "remaining": (lead.credit_amount or 0) - lead.disbursed_total,
            },
        )


class LeadActionView(LoginRequiredMixin, View):
    """POST-only actions on one lead (recommendation)."""

    def post(self, request, pk, action):
        if selectors.recommendation_get(user=request.user, pk=pk) is None:
            raise Http404
        try:
            target = self._do(request, pk, action)
        except ApplicationError as error:
            _refused_all(request, error)
            target = None
        return redirect(target or _safe_next(request, f"/matching/leads/{pk}/"))

    def _form(self, form_class, data):
        form = form_class(data)
        if not form.is_valid():
            first = next(iter(form.errors.values()))[0]
            raise ApplicationError(f"输入有误: {first}")
        return form.cleaned_data

    def _do(self, request, pk, action):
        user, post = request.user, request.POST
        if action == "contact":
            data = self._form(ContactForm, post)
            services.recommendation_contact(
                actor=user, recommendation_id=pk, channel=data["channel"], note=data["note"]
            )
            messages.success(request, "已登记对接")
        elif action == "materials":
            services.recommendation_materials_complete(actor=user, recommendation_id=pk)
            messages.success(request, "已登记材料收齐, 30 日内须作出授信决定")
        elif action == "approve":
            data = self._form(ApproveForm, post)
            approved = services.recommendation_approve(
                actor=user,
                recommendation_id=pk,
                credit_amount=yuan_from_wan(data["credit_amount_wan"]),
                rate_percent=data["rate_percent"],
                term_months=data["term_months"],
                guarantee=data["guarantee"],
                is_credit_loan=data["is_credit_loan"],
                is_first_loan=data["is_first_loan"],
                override_reason=data.get("override_reason", ""),
            )
            messages.success(request, "已登记授信(超限审批)" if approved.override_reason else "已登记授信")
        elif action == "decline":
            data = self._form(DeclineForm, post)
            services.recommendation_decline(
                actor=user, recommendation_id=pk, reason_code=data["reason_code"].code, note=data["note"]
            )
            messages.success(request, "已登记不予授信, 已即时反馈专班")
        elif action == "disburse":
            data = self._form(DisburseForm, post)
            services.recommendation_disburse(
                actor=user,
                recommendation_id=pk,
                amount=yuan_from_wan(data["amount_wan"]),
                disbursed_on=data["disbursed_on"],
            )
            messages.success(request, "已登记放款")
        elif action == "not-drawn":
            services.recommendation_not_drawn(actor=user, recommendation_id=pk, note=post.get("note", ""))
            messages.success(request, "已登记未提款")
        elif action == "remove":
            services.recommendation_remove(actor=user, recommendation_id=pk, reason=post.get("reason", ""))
            messages.success(request, "已移出推荐清单")
        elif action == "coach":
            services.coaching_record(actor=user, recommendation_id=pk, note=post.get("note", ""))
            messages.success(request, "已登记辅导情况")
        elif action == "redirect":
            draft = services.recommendation_redirect(
                actor=user, recommendation_id=pk, bank_code=post.get("bank", ""), comment=post.get("comment", "")
            )
            bank = draft.intended_banks.select_related("bank").first().bank
            messages.success(request, f"已提议改推至{bank.name}: 待企业同意共享信息后提交, 经三级审核和签字确认后推送")
            return f"/matching/declarations/{draft.pk}/"
        elif action == "rate":
            services.satisfaction_rate(
                actor=user,
                recommendation_id=pk,
                score=_int_or_none(post.get("score")) or 0,
                comment=post.get("comment", ""),
            )
            messages.success(request, "感谢您的评价")
        else:
            raise Http404


# --- visits and notifications ------------------------------------------------------------


class VisitListView(RestrictedListView):
    template_name = "matching/visit_list.html"
    context_object_name = "visits"

    def select(self, *, user, params):
        return selectors.visit_list(user=user)

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            form=kwargs.pop("form", None) or VisitForm(initial={"visited_on": timezone.localdate()}), **kwargs
        )

    def post(self, request):
        form = VisitForm(request.POST)
        if form.is_valid():
            entity = (
                restrict(MarketEntity.objects.all(), request.user)
                .filter(uscc=form.cleaned_data["uscc"].strip().upper())
                .first()
            )
            if entity is None:
                messages.error(request, "未找到该统一社会信用代码的主体, 或不在您的辖区")
            else:
                try:
                    services.visit_record(
                        actor=request.user,
                        entity_id=entity.pk,
                        **{k: form.cleaned_data[k] for k in ("visited_on", "people", "findings", "need_found")},
                    )
                    messages.success(request, f"已登记对{entity.name}的走访")
                except ApplicationError as error:
                    _refused(request, error)
        else:
            messages.error(
                request,
                "请检查走访登记表: " + "; ".join(f"{form.fields[f].label}: {e[0]}" for f, e in form.errors.items()),
            )
        return redirect("matching:visit_list")


class NotificationListView(RestrictedListView):
    template_name = "matching/notification_list.html"
    context_object_name = "notifications"

    def select(self, *, user, params):
        return selectors.notification_list(user=user, unread_only=params.get("unread") == "1")

    def post(self, request):
        notifications.notifications_mark_read(actor=request.user)
        messages.success(request, "已全部标为已读")
        return redirect("matching:notification_list")


class OverdueView(RestrictedListView):
    """逾期督办: overdue feedbacks and decisions by bank and branch, late feedbacks per bank."""

    template_name = "matching/overdue.html"
    context_object_name = "rows"
    paginate_by = 100

    def select(self, *, user, params):
        return overdue_by_branch(user=user)

    def get_context_data(self, **kwargs):
        today = timezone.localdate()
        try:
            start = dt.date.fromisoformat(self.request.GET.get("start", ""))
        except ValueError:
            start = today.replace(day=1)
        try:
            end = dt.date.fromisoformat(self.request.GET.get("end", ""))
        except ValueError:
            end = today
        late = late_feedback_counts(
            user=self.request.user,
            start=dt.datetime.combine(start, dt.time.min, tzinfo=SHANGHAI),
            end=dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=SHANGHAI),
        )
        return super().get_context_data(
            late=late,
            start=start,
            end=end,
            now=timezone.now(),
            last_scan=DeadlineScan.objects.filter(finished_at__isnull=False, skipped=False).first(),
            **kwargs,
        )


class StaffDeclareView(RoleRequiredMixin, View):
    """专班代为申报: staff enter a declaration for an entity met on a visit."""

    allowed_roles = workflow.roles(Action.FILE) - {Role.ENTERPRISE_USER}
    template_name = "matching/staff_declare.html"

    def get(self, request):
        return render(
            request,
            self.template_name,
            {"form": StaffDeclarationForm(initial={"term_months": 12}), "banks": Bank.objects.order_by("code")},
        )

    def post(self, request):
        form = StaffDeclarationForm(request.POST)
        context = {"form": form, "banks": Bank.objects.order_by("code")}
        if not form.is_valid():
            return render(request, self.template_name, context)
        entity = (
            restrict(MarketEntity.objects.all(), request.user)
            .filter(uscc=form.cleaned_data["uscc"].strip().upper())
            .first()
        )
        if entity is None:
            form.add_error("uscc", "未找到该主体, 或不在您的辖区")
            return render(request, self.template_name, context)
        try:
            declaration = services.declaration_create(
                actor=request.user,
                entity_id=entity.pk,
                amount=yuan_from_wan(form.cleaned_data["amount_wan"]),
                term_months=form.cleaned_data["term_months"],
                purpose=form.cleaned_data["purpose"],
                bank_codes=[b.code for b in form.cleaned_data["banks"]],
                basic_criteria=form.criteria(),
                consent=form.cleaned_data["consent"],
                submit="submit" in request.POST,
            )
        except ApplicationError as error:
            for field, errors in error.field_errors.items():
                if field in form.fields:
                    form.add_error(field, errors)
            _refused(request, error)
            return render(request, self.template_name, context)
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
        initial = {
            "amount_wan": declaration.amount / 10000,
            "term_months": declaration.term_months,
            "purpose": declaration.purpose,
            "banks": [b.bank for b in declaration.intended_banks.select_related("bank")],
            "consent": declaration.consent_given_at is not None,
            **{f"criteria_{k}": v.get("met") for k, v in declaration.basic_criteria.items()},
            **{f"evidence_{k}": v.get("evidence") for k, v in declaration.basic_criteria.items()},
        }
        return self._render(request, declaration, DeclarationForm(initial=initial, county=declaration.region_id))

    def post(self, request, pk):
        declaration = self._declaration(request, pk)
        form = DeclarationForm(request.POST, county=declaration.region_id)
        if not form.is_valid():
            return self._render(request, declaration, form)
        try:
            services.declaration_update(
                actor=request.user,
                declaration_id=pk,
                amount=yuan_from_wan(form.cleaned_data["amount_wan"]),
                term_months=form.cleaned_data["term_months"],
                purpose=form.cleaned_data["purpose"],
                bank_codes=[b.code for b in form.cleaned_data["banks"]],
                basic_criteria=form.criteria(),
                consent=form.cleaned_data["consent"] or None,
            )
            if "submit" in request.POST:
                services.declaration_submit(actor=request.user, declaration_id=pk)
        except ApplicationError as error:
            for field, errors in error.field_errors.items():
                if field in form.fields:
                    form.add_error(field, errors)
            _refused(request, error)
            return self._render(request, self._declaration(request, pk), form)
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
            return render(request, self.template_name, {"form": form})
        entity = (
            restrict(MarketEntity.objects.all(), request.user)
            .filter(uscc=form.cleaned_data["uscc"].strip().upper())
            .first()
        )
        if entity is None:
            form.add_error("uscc", "未找到该主体, 或不在本行服务区域")
            return render(request, self.template_name, {"form": form})
        try:
            services.declaration_recommend_by_bank(
                actor=request.user,
                entity_id=entity.pk,
                amount=yuan_from_wan(form.cleaned_data["amount_wan"]),
                term_months=form.cleaned_data["term_months"],
                purpose=form.cleaned_data["purpose"],
                note=form.cleaned_data["note"],
            )
        except ApplicationError as error:
            _refused(request, error)
            return render(request, self.template_name, {"form": form})
        messages.success(request, f"已向{entity.region.name}工作专班推荐{entity.name}")
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
                spreadsheets.File(declaration_import_template(), "declarations-template.xlsx", "xlsx"),
            )
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
        return render(request, self.template_name, {"summary": summary, "file_name": upload.name})


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
                material_upload(actor=request.user, declaration_id=pk, uploaded_file=upload)
                messages.success(request, f"已上传 {upload.name}")
            except ApplicationError as error:
                messages.error(request, f"{upload.name}: {error.message}")
        return redirect("matching:declaration_detail", pk=pk)
