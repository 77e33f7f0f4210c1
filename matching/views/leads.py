"""Bank pages: the lead inbox, a lead and its actions."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views import View

from coordination.selectors import entity_problems_context
from entities.selectors import entity_get
from matching import selectors, services, workflow
from matching.clocks import annotate_countdowns
from matching.contact import Contact, masked_contact
from matching.forms import (
    ApproveForm,
    ContactForm,
    CorrectDecisionForm,
    CorrectDrawdownForm,
    CorrectionForm,
    DeclineForm,
    DisburseForm,
    MaterialsListForm,
    MaterialsSupplementForm,
    MaterialWithdrawForm,
    yuan_from_wan,
)
from matching.inbox import amount_range, inbox_choices
from matching.materials import lead_material_list, lead_material_upload
from matching.models import LeadOrigin, Recommendation
from matching.views.common import (
    RECOMMENDATION_FORMS,
    _int_or_none,
    _refused,
    _refused_all,
    _safe_next,
    lead_materials,
    recommendation_forms,
)
from matching.views.declarations import DeclarationDetailView
from matching.workflow import Action
from portal import bounds
from portal.forms import apply_application_error
from portal.mixins import RestrictedListView
from portal.services import ApplicationError
from portal.templatetags.portal_format import wan
from portal.tenancy import scope_for

# --- bank: inbox and lead detail ---------------------------------------------------------


class LeadInboxView(RestrictedListView):
    """线索收件箱 of a branch: status tabs, countdowns, filters (each a drop-down: county, product,
    need band, account manager; and a name search), bulk assign."""

    template_name = "matching/lead_inbox.html"
    context_object_name = "leads"

    def select(self, *, user, params):
        def text(key: str) -> str | None:
            # a filter's text as typed or picked: bounded, without the NUL PostgreSQL refuses
            return (params.get(key) or "").replace("\x00", "").strip()[:100] or None

        low, high = amount_range(params.get("amount"))
        manager = text("manager")
        return selectors.recommendation_list(
            user=user,
            tab=text("tab") or selectors.INBOX_FIRST_TAB,
            county=text("county"),
            bank=text("bank"),
            product=text("product"),
            manager=manager if manager == selectors.UNASSIGNED else _int_or_none(manager),
            q=text("q"),
            min_amount=low,
            max_amount=high,
            origin=text("origin"),
        ).prefetch_related("product_version__product")

    def get_context_data(self, **kwargs):
        counts = selectors.inbox_counts(user=self.request.user)
        tabs = [{"key": k, "label": label, "count": counts[k]} for k, (label, _) in selectors.INBOX_TABS.items()]
        can_assign = workflow.may(Action.ASSIGN, self.request.user)
        managers = list(selectors.account_managers(user=self.request.user)) if can_assign else []
        context = super().get_context_data(
            tabs=tabs,
            tab=self.request.GET.get("tab") or selectors.INBOX_FIRST_TAB,
            managers=managers,
            is_bank_admin=can_assign,
            choices=inbox_choices(user=self.request.user),
            unassigned=selectors.UNASSIGNED,
            origins=LeadOrigin.choices,
            **kwargs,
        )
        context["leads"] = annotate_countdowns(context["leads"])
        return context

    def post(self, request):
        ids = bounds.form_ids(request.POST.getlist("ids"))
        try:
            manager = _int_or_none(request.POST.get("manager")) or 0
            n = services.recommendations_assign(actor=request.user, recommendation_ids=ids, manager_id=manager)
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
        return self.render_lead(request, lead, masked_contact(lead))

    def render_lead(self, request, lead, contact: Contact, *, failed: dict | None = None, status: int = 200):
        """The lead page; `failed`: the one action form that was refused ({context name: bound
        form with its errors}), drawn again with what was typed beside the page's other forms."""
        scope = scope_for(request.user)
        annotate_countdowns([lead])
        can = workflow.allowed(
            request.user, lead, workflow.LEAD_WORK + (Action.APPROVE_OVERRIDE, Action.CONTACT_REVEAL)
        )
        finished = lead.state in workflow.final_states(Recommendation)
        materials = lead_materials_context(request.user, lead, can)
        forms = {**lead_forms(lead, materials), **(failed or {})}
        forms["disburse_form"].fields["amount_wan"].widget.attrs["placeholder"] = (
            f"剩余 {wan((lead.credit_amount or 0) - lead.disbursed_total)}"
        )
        return render(
            request,
            self.template_name,
            {
                "lead": lead,
                "can": can,
                "finished": finished,
                "limits": services.approval_limits(lead) if can["APPROVE"] else None,
                "timeline": selectors.declaration_timeline(user=request.user, declaration=lead.declaration).filter(
                    recommendation=lead
                )
                if scope.is_bank
                else selectors.declaration_timeline(user=request.user, declaration=lead.declaration),
                **forms,
                "failed": next(iter(failed or {}), ""),
                "is_bank": scope.is_bank,
                "remaining": (lead.credit_amount or 0) - lead.disbursed_total,
                **lead_contact_context(request.user, lead, contact, can),
                **materials,
                **lead_corrections_context(request.user, lead),
                **entity_problems_context(user=request.user, entity_id=lead.entity_id, source="bank"),
            },
            status=status,
        )


def lead_corrections_context(user, lead) -> dict:
    """The 更正 card of the lead page (the bank administrator's, issue 16 item 6): which
    corrections the table allows him now, the state a 撤销 returns to, the drawdowns and the
    bank's files he may correct, and the version of the lead the page shows (a correction sent
    after someone else's is refused, not applied to a lead he has not seen)."""
    fix = workflow.allowed(user, lead, workflow.LEAD_CORRECTIONS)
    if not any(fix.values()):
        return {"fix": fix}
    back = services.state_before_correction(lead) if fix["CORRECT_STATE"] else None
    return {
        "fix": fix,
        "fix_version": services.correction_version(lead),
        "fix_back_to": back.label if back is not None else "",
        "fix_drawdowns": list(lead.disbursements.filter(voided_at__isnull=True)) if fix["CORRECT_DRAWDOWN"] else [],
        "fix_files": list(lead.bank_materials.filter(withdrawn_at__isnull=True)) if fix["MATERIAL_WITHDRAW"] else [],
    }


def lead_forms(lead, materials: dict, data=None) -> dict:
    """The action forms of the lead page by their context names, unbound (with the lead's
    defaults) or bound to `data` (a POST); each form's ids have its own prefix (several have a
    说明 `note`, the 更正 forms each a `reason`)."""
    items = [item["name"] for item in materials["lead_materials"]["items"]]
    initial = {
        "approve_form": {"term_months": lead.declaration.term_months},
        "disburse_form": {"disbursed_on": timezone.localdate()},
        "materials_list_form": {"items": materials["suggested_items"], "note": lead.materials_note},
        "correct_decision_form": CorrectDecisionForm.initial_from(lead),
    }
    classes = {
        "contact_form": ContactForm,
        "approve_form": ApproveForm,
        "decline_form": DeclineForm,
        "disburse_form": DisburseForm,
        "materials_list_form": MaterialsListForm,
        "supplement_form": MaterialsSupplementForm,
        # the 更正 card (the bank administrator's, lead_corrections_context)
        "correct_state_form": CorrectionForm,
        "correct_decision_form": CorrectDecisionForm,
        "correct_drawdown_form": CorrectDrawdownForm,
        "material_withdraw_form": MaterialWithdrawForm,
    }
    choices = {
        MaterialsSupplementForm: {"items": items},
        CorrectDrawdownForm: {"drawdowns": lead.disbursements.filter(voided_at__isnull=True)},
        MaterialWithdrawForm: {"files": lead.bank_materials.filter(withdrawn_at__isnull=True)},
    }
    forms = {}
    for name, form_class in classes.items():
        kwargs = {"auto_id": name.removesuffix("_form").replace("_", "-") + "-%s", **choices.get(form_class, {})}
        if data is not None:
            forms[name] = form_class(data, **kwargs)
        else:
            forms[name] = form_class(initial=initial.get(name), **kwargs)
    forms["correct_state_form"].fields["reason"].label = f"撤销「{lead.get_state_display()}」的更正原因"
    return forms


# the actions whose form is on the lead page: refused, the page is drawn again with that form
PAGE_FORMS = {
    "contact": "contact_form",
    "approve": "approve_form",
    "decline": "decline_form",
    "disburse": "disburse_form",
    "materials-list": "materials_list_form",
    "materials-supplement": "supplement_form",
    "correct-state": "correct_state_form",
    "correct-decision": "correct_decision_form",
    "correct-drawdown": "correct_drawdown_form",
    "material-withdraw": "material_withdraw_form",
}


def lead_contact_context(user, lead, contact: Contact, can) -> dict:
    """The enterprise card of the lead page: its consented contact (masked unless revealed),
    whether the user may reveal it (the assigned account manager, while the lead is open) or
    why not, and the link to the entity's page when the user may open it."""
    if contact.revealed or can["CONTACT_REVEAL"]:
        why_masked = ""
    elif lead.state not in workflow.states(Action.CONTACT_REVEAL):
        why_masked = "线索已办结, 联系方式不再显示"
    else:
        why_masked = "联系方式仅向分配办理该线索的客户经理显示"
    return {
        "contact": contact,
        "why_masked": why_masked,
        "entity_visible": entity_get(user=user, pk=lead.entity_id) is not None,
    }


class LeadContactRevealView(LoginRequiredMixin, View):
    """POST 查看联系方式: the assigned account manager sees the enterprise's contact in clear
    (audited, workflow CONTACT_REVEAL); htmx swaps the card, a plain form gets the lead page."""

    def post(self, request, pk):
        lead = selectors.recommendation_get(user=request.user, pk=pk)
        if lead is None:
            raise Http404
        try:
            contact = services.recommendation_contact_reveal(actor=request.user, recommendation_id=pk, request=request)
        except ApplicationError as error:
            if request.headers.get("HX-Request"):  # the card again, masked, saying why (htmx swaps a 200 only)
                context = lead_contact_context(request.user, lead, masked_contact(lead), {"CONTACT_REVEAL": False})
                return render(
                    request, "matching/_lead_contact.html", {"lead": lead, **context, "why_masked": error.message}
                )
            _refused(request, error)
            return redirect("matching:lead_detail", pk=pk)
        if request.headers.get("HX-Request"):
            return render(
                request,
                "matching/_lead_contact.html",
                {"lead": lead, **lead_contact_context(request.user, lead, contact, {"CONTACT_REVEAL": True})},
            )
        return LeadDetailView().render_lead(request, lead, contact)


class LeadActionView(LoginRequiredMixin, View):
    """POST-only actions on one lead (recommendation)."""

    def post(self, request, pk, action):
        """Done: back to the page (PRG). Refused: an action whose form is on the lead page gets
        the page again (400) with that form as typed, every error beside its field and the
        rest above the form; so does one whose form is on the declaration's page (评价, 辅导,
        改推, 移出: that page, with the bank's form as typed); the other actions (posted from
        other pages) say why as messages."""
        lead = selectors.recommendation_get(user=request.user, pk=pk)
        if lead is None:
            raise Http404
        form = None
        if action in PAGE_FORMS:
            can = workflow.allowed(request.user, lead, workflow.LEAD_WORK)
            form = lead_forms(lead, lead_materials_context(request.user, lead, can), request.POST)[PAGE_FORMS[action]]
        elif action in RECOMMENDATION_FORMS:
            form = recommendation_forms(lead, request.POST)[action]
        try:
            if form is not None and not form.is_valid():
                return self._refused_form(request, pk, action, form)
            target = self._do(request, pk, action, form.cleaned_data if form is not None else {})
        except ApplicationError as error:
            if form is not None:
                apply_application_error(form, error)
                return self._refused_form(request, pk, action, form)
            _refused_all(request, error)
            target = None
        return redirect(target or _safe_next(request, f"/matching/leads/{pk}/"))

    def _refused_form(self, request, pk, action, form):
        lead = selectors.recommendation_get(user=request.user, pk=pk)  # as it is now, after the refusal
        invalid = [name for name in form.fields if name in form.errors]
        if invalid:  # the first field to fix has the focus (the page opens at the form)
            form.fields[invalid[0]].widget.attrs["autofocus"] = True
        if action in RECOMMENDATION_FORMS:
            declaration = selectors.declaration_get(user=request.user, pk=lead.declaration_id)
            if declaration is not None:
                return DeclarationDetailView().render_declaration(
                    request, declaration, lead_form=(lead.pk, action, form), status=400
                )
            for name, problems in form.errors.items():  # no page of the form to show: say why
                label = form.fields[name].label if name in form.fields else ""
                for problem in problems:
                    messages.error(request, f"{label}: {problem}" if label else problem)
            return redirect(_safe_next(request, f"/matching/leads/{pk}/"))
        return LeadDetailView().render_lead(
            request, lead, masked_contact(lead), failed={PAGE_FORMS[action]: form}, status=400
        )

    def _do(self, request, pk, action, data):
        user, post = request.user, request.POST
        if action == "contact":
            services.recommendation_contact(
                actor=user, recommendation_id=pk, channel=data["channel"], note=data["note"]
            )
            messages.success(request, "已登记对接")
        elif action == "materials":
            services.recommendation_materials_complete(
                actor=user, recommendation_id=pk, version=post.get("version") or None
            )
            messages.success(request, "已登记材料收齐, 30 日内须作出授信决定")
        elif action == "materials-list":
            services.recommendation_materials_list(
                actor=user,
                recommendation_id=pk,
                items=data["items"],
                note=data["note"],
                version=post.get("version") or None,
            )
            messages.success(request, "已列明所需材料, 已通知企业上传")
        elif action == "materials-supplement":
            services.recommendation_materials_supplement(
                actor=user,
                recommendation_id=pk,
                missing=data["missing"] + data["extra"].splitlines(),
                note=data["note"],
                version=post.get("version") or None,
            )
            messages.success(request, "已要求企业补充材料")
        elif action == "materials-submit":
            services.recommendation_materials_submit(
                actor=user, recommendation_id=pk, note=post.get("note", ""), version=post.get("version") or None
            )
            messages.success(request, "材料已提交, 银行须在 5 个工作日内确认收齐或列明需补充的材料")
        elif action == "approve":
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
            services.recommendation_decline(
                actor=user, recommendation_id=pk, reason_code=data["reason_code"].code, note=data["note"]
            )
            messages.success(request, "已登记不予授信, 已即时反馈专班")
        elif action == "disburse":
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
            services.recommendation_remove(actor=user, recommendation_id=pk, reason=data["reason"])
            messages.success(request, "已移出推荐清单")
        elif action == "coach":
            services.coaching_record(actor=user, recommendation_id=pk, note=data["note"])
            messages.success(request, "已登记辅导情况")
        elif action == "redirect":
            draft = services.recommendation_redirect(
                actor=user, recommendation_id=pk, bank_code=data["bank"], comment=data["comment"]
            )
            bank = draft.intended_banks.select_related("bank").first().bank
            messages.success(request, f"已提议改推至{bank.name}: 待企业同意共享信息后提交, 经三级审核和签字确认后推送")
            return f"/matching/declarations/{draft.pk}/"
        elif action == "correct-state":
            lead = services.recommendation_state_correct(
                actor=user, recommendation_id=pk, reason=data["reason"], version=post.get("version") or None
            )
            messages.success(request, f"已更正: 线索退回「{lead.get_state_display()}」, 原记录保留在办理记录中")
        elif action == "correct-decision":
            services.recommendation_decision_correct(
                actor=user,
                recommendation_id=pk,
                credit_amount=yuan_from_wan(data["credit_amount_wan"]),
                rate_percent=data["rate_percent"],
                term_months=data["term_months"],
                guarantee=data["guarantee"],
                is_credit_loan=data["is_credit_loan"],
                is_first_loan=data["is_first_loan"],
                reason=data["reason"],
                version=post.get("version") or None,
            )
            messages.success(request, "已更正授信决定, 原记录保留在办理记录中")
        elif action == "correct-drawdown":
            services.disbursement_correct(
                actor=user,
                recommendation_id=pk,
                disbursement_id=data["disbursement"],
                amount=None if data["void"] else yuan_from_wan(data["amount_wan"]),
                void=data["void"],
                reason=data["reason"],
                version=post.get("version") or None,
            )
            messages.success(request, "已作废该笔放款" if data["void"] else "已更正放款金额")
        elif action == "material-withdraw":
            material = services.lead_material_withdraw(
                actor=user,
                recommendation_id=pk,
                material_id=data["material"],
                reason=data["reason"],
                version=post.get("version") or None,
            )
            messages.success(request, f"已撤回「{material.original_name}」: 文件留存备查, 不再计为申请材料")
        elif action == "rate":
            services.satisfaction_rate(
                actor=user,
                recommendation_id=pk,
                score=data["score"],
                comment=data["comment"],
            )
            messages.success(request, "感谢您的评价")
        else:
            raise Http404


def lead_materials_context(user, lead, can) -> dict:
    """The materials card of the lead page: the list (the bank's, or the one it starts from),
    each item with whether a file answers it, the files the user may see, and the materials
    clock of a submission waiting for the bank."""
    files = list(lead_material_list(actor=user, recommendation_id=lead.pk))
    return {
        "material_files": files,
        "lead_materials": lead_materials(lead, files),
        "suggested_items": "\n".join(services.suggested_materials(lead)) if can["MATERIALS_LIST"] else "",
    }


class LeadMaterialUploadView(LoginRequiredMixin, View):
    """The bank uploads materials it collected itself to its lead (workflow LEAD_MATERIALS_UPLOAD)."""

    def post(self, request, pk):
        if selectors.recommendation_get(user=request.user, pk=pk) is None:
            raise Http404
        files = request.FILES.getlist("files")
        if not files:
            messages.error(request, "请选择要上传的文件")
        for upload in files:
            try:
                lead_material_upload(
                    actor=request.user, recommendation_id=pk, uploaded_file=upload, item=request.POST.get("item", "")
                )
                messages.success(request, f"已上传 {upload.name}")
            except ApplicationError as error:
                messages.error(request, f"{upload.name}: {error.message}")
        return redirect("matching:lead_detail", pk=pk)
