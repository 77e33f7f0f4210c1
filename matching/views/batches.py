"""Batch pages (推荐清单): sign-off, preview, export, push."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import Http404
from django.shortcuts import redirect, render
from django.views import View

from matching import selectors, services, workflow
from matching.exports import recommendation_list_export
from matching.views.common import _int_or_none, _refused
from matching.workflow import Action
from portal import bounds, spreadsheets
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
        declarations = list(
            batch.declarations.select_related("entity", "region").prefetch_related("intended_banks__bank")
        )
        routes = selectors.batch_routes(batch, declarations)
        for declaration in declarations:
            declaration.routes = [routes[(declaration.pk, i.bank_id)] for i in declaration.intended_banks.all()]
            # signed in by mistake: the convener takes it out before the push (workflow CORRECT_BATCH_ENTRY)
            declaration.removable = workflow.allows(Action.CORRECT_BATCH_ENTRY, request.user, declaration)
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
        )

    def post(self, request, pk):
        if not selectors.batch_list(user=request.user).filter(pk=pk).exists():
            raise Http404
        try:
            if "declaration" in request.POST:
                declaration = services.batch_entry_correct(
                    actor=request.user,
                    declaration_id=_int_or_none(request.POST.get("declaration")) or 0,
                    reason=request.POST.get("reason", ""),
                    batch_id=pk,
                )
                messages.success(request, f"已将「{declaration.entity.name}」移出本批次, 退回待签字")
                return redirect("matching:batch_detail", pk=pk)
            services.batch_push(actor=request.user, batch_id=pk)
            messages.success(request, "推荐清单已推送至意向对接银行")
        except ApplicationError as error:
            _refused(request, error)
        return redirect("matching:batch_detail", pk=pk)
