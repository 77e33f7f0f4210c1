"""Batch pages (推荐清单): sign-off, preview, export, push."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import Http404
from django.shortcuts import redirect, render
from django.views import View

from matching import selectors, services, workflow
from matching.exports import recommendation_list_export
from matching.forms import BatchEntryRemoveForm
from matching.views.common import _int_or_none, _refused
from matching.workflow import Action
from portal import bounds, spreadsheets
from portal.forms import apply_application_error
from portal.mixins import RestrictedListView
from portal.services import ApplicationError

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
        return self.render_batch(request, batch)

    def render_batch(self, request, batch, *, failed=None, status=200):
        """The batch page; `failed`: the refused 移出批次 form (bound, with its errors), drawn
        again in its declaration's row with the reason as typed."""
        declarations = list(
            batch.declarations.select_related("entity", "region").prefetch_related("intended_banks__bank")
        )
        routes = selectors.batch_routes(batch, declarations)
        for declaration in declarations:
            declaration.routes = [routes[(declaration.pk, i.bank_id)] for i in declaration.intended_banks.all()]
            # signed in by mistake: the convener takes it out before the push (workflow CORRECT_BATCH_ENTRY)
            declaration.removable = workflow.allows(Action.CORRECT_BATCH_ENTRY, request.user, declaration)
            if declaration.removable:  # its own form: the ids carry the declaration (a row each)
                declaration.remove_form = BatchEntryRemoveForm(
                    initial={"declaration": declaration.pk}, auto_id=f"remove-{declaration.pk}-%s"
                )
                if failed is not None and failed.cleaned_data.get("declaration") == declaration.pk:
                    declaration.remove_form = failed
        return render(
            request,
            self.template_name,
            {
                "batch": batch,
                "declarations": declarations,
                "progress": selectors.batch_progress(batch),
                "progress_total": selectors.batch_progress_total(batch),
                "can_push": workflow.allows(Action.PUSH, request.user, batch),
                "unrouted": [r for d in declarations for r in d.routes if r["branch"] is None],
                "can_remove": any(d.removable for d in declarations),
            },
            status=status,
        )

    def post(self, request, pk):
        """推送, or 移出批次 (a form with the declaration): done, back to the page (PRG); a
        refused 移出批次 gets the page again (400) with the reason as typed beside its box."""
        if not selectors.batch_list(user=request.user).filter(pk=pk).exists():
            raise Http404
        if "declaration" in request.POST:
            return self._remove_entry(request, pk)
        try:
            services.batch_push(actor=request.user, batch_id=pk)
            messages.success(request, "推荐清单已推送至意向对接银行")
        except ApplicationError as error:
            _refused(request, error)
        return redirect("matching:batch_detail", pk=pk)

    def _remove_entry(self, request, pk):
        form = BatchEntryRemoveForm(request.POST, auto_id=f"remove-{_int_or_none(request.POST.get('declaration'))}-%s")
        try:
            if form.is_valid():
                declaration = services.batch_entry_correct(
                    actor=request.user,
                    declaration_id=form.cleaned_data["declaration"],
                    reason=form.cleaned_data["reason"],
                    batch_id=pk,
                )
                messages.success(request, f"已将「{declaration.entity.name}」移出本批次, 退回待签字")
                return redirect("matching:batch_detail", pk=pk)
        except ApplicationError as error:
            if error.code in ("not_found", "conflict", "permission_denied"):  # no row to show it in: say why
                _refused(request, error)
                return redirect("matching:batch_detail", pk=pk)
            apply_application_error(form, error)
        if "declaration" in form.errors:  # not a row of the page (a tampered form)
            messages.error(request, "记录不存在或您无权操作")
            return redirect("matching:batch_detail", pk=pk)
        batch = selectors.batch_list(user=request.user).get(pk=pk)
        return self.render_batch(request, batch, failed=form, status=400)
