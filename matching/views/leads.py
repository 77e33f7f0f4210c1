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
    DeclineForm,
    DisburseForm,
    yuan_from_wan,
)
from matching.inbox import amount_range, inbox_choices
from matching.materials import lead_material_list, lead_material_upload
from matching.models import (
    DeclineReason,
    Recommendation,
)
from matching.views.common import _int_or_none, _refused, _refused_all, _safe_next, lead_materials
from matching.workflow import Action
from portal import bounds
from portal.mixins import RestrictedListView
from portal.services import ApplicationError
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
        ).select_related("product_version__product")

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

    def render_lead(self, request, lead, contact: Contact):
        scope = scope_for(request.user)
        annotate_countdowns([lead])
        can = workflow.allowed(
            request.user, lead, workflow.LEAD_WORK + (Action.APPROVE_OVERRIDE, Action.CONTACT_REVEAL)
        )
        finished = lead.state in workflow.final_states(Recommendation)
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
                "contact_form": ContactForm(),
                "approve_form": ApproveForm(initial={"term_months": lead.declaration.term_months}),
                "decline_form": DeclineForm(),
                "disburse_form": DisburseForm(initial={"disbursed_on": timezone.localdate()}),
                "reasons": DeclineReason.objects.filter(is_active=True),
                "is_bank": scope.is_bank,
                "remaining": (lead.credit_amount or 0) - lead.disbursed_total,
                **lead_contact_context(request.user, lead, contact, can),
                **entity_problems_context(user=request.user, entity_id=lead.entity_id, source="bank"),
                **lead_materials_context(request.user, lead, can),
            },
        )


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
        if selectors.recommendation_get(user=request.user, pk=pk) is None:
            raise Http404
        try:
            target = self._do(request, pk, action)
        except ApplicationError as error:
            _refused_all(request, error)
            target = None
        return redirect(target or _safe_next(request, f"/matching/leads/{pk}/"))

    def _form(self, form_class, data):
        """The action's form, cleaned; invalid, every error at once, each naming its field in
        Chinese (授信金额(万元): …), as the page's messages."""
        form = form_class(data)
        if not form.is_valid():
            named = {
                name: [
                    f"{form.fields[name].label}: {message}" if name in form.fields else message for message in errors
                ]
                for name, errors in form.errors.items()
            }
            raise ApplicationError(
                "请修改后重新提交: " + "; ".join(m for messages_ in named.values() for m in messages_),
                field_errors=named,
            )
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
            services.recommendation_materials_complete(
                actor=user, recommendation_id=pk, version=post.get("version") or None
            )
            messages.success(request, "已登记材料收齐, 30 日内须作出授信决定")
        elif action == "materials-list":
            services.recommendation_materials_list(
                actor=user,
                recommendation_id=pk,
                items=post.get("items", ""),
                note=post.get("note", ""),
                version=post.get("version") or None,
            )
            messages.success(request, "已列明所需材料, 已通知企业上传")
        elif action == "materials-supplement":
            services.recommendation_materials_supplement(
                actor=user,
                recommendation_id=pk,
                missing=post.getlist("missing") + post.get("extra", "").splitlines(),
                note=post.get("note", ""),
                version=post.get("version") or None,
            )
            messages.success(request, "已要求企业补充材料")
        elif action == "materials-submit":
            services.recommendation_materials_submit(
                actor=user, recommendation_id=pk, note=post.get("note", ""), version=post.get("version") or None
            )
            messages.success(request, "材料已提交, 银行须在 5 个工作日内确认收齐或列明需补充的材料")
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
