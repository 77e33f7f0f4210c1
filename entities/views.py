"""Pages of the entities app: thin — read the request, call one selector or service, render."""
from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views import View
from django.views.generic import TemplateView

from entities import selectors, services, spreadsheets
from entities.forms import CreditRepairForm, EntityEditForm, RegisterUploadForm
from entities.models import CREDIT_FLAG_LABELS, EntityType, HonorKind, ImportStatus, RegisterStatus, SizeClass, Tier
from entities.personal_data import PERSONAL_FIELDS, masked, may_reveal, sees_own
from entities.register_file import LABELS
from entities.restrictions import REGISTER_KEEPERS
from portal.mixins import RestrictedListView, RoleRequiredMixin
from portal.services import ApplicationError
from portal.tenancy import EXPORT, scope_for

EXPORT_LIMIT = 10_000


def _after(request) -> int | None:
    value = request.GET.get("after", "")
    return int(value) if value.isdigit() else None


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
            filter_errors=self.filter_errors,
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
                e.uscc, e.name, e.get_entity_type_display(), e.get_register_status_display(), e.established_on,
                e.region.name, e.industry_id or "", e.annual_revenue, e.get_tier_display() if e.tier else "",
                e.get_size_class_display() if e.size_class else "", e.operator_name, masked("operator_phone", e.operator_phone),
                "是" if e.has_adverse_credit else "否",
            ]
            for e in self.object_list.select_related("region")[:EXPORT_LIMIT]
        )
        response = HttpResponse(spreadsheets.entities_xlsx(rows), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        response["Content-Disposition"] = "attachment; filename*=UTF-8''entities.xlsx"
        return response


class TownshipOptionsView(LoginRequiredMixin, View):
    """<option>s of the townships of a county, for the search form (htmx)."""

    def get(self, request):
        options = selectors.township_choices(region=request.GET.get("region", ""))
        return render(request, "entities/_township_options.html", {"townships": options, "selected": request.GET.get("township", "")})


class EntityDetailView(LoginRequiredMixin, TemplateView):
    template_name = "entities/entity_detail.html"

    def get_context_data(self, **kwargs):
        entity = selectors.entity_get(user=self.request.user, pk=kwargs["pk"])
        if entity is None:
            raise Http404
        scope = scope_for(self.request.user)
        own = sees_own(scope, entity)
        context = super().get_context_data(**kwargs)
        context.update(selectors.entity_detail(user=self.request.user, entity=entity))
        context.update(
            entity=entity,
            personal=[
                {"field": f, "label": label, "value": getattr(entity, f) if own else masked(f, getattr(entity, f)), "revealable": not own and may_reveal(scope) and bool(getattr(entity, f))}
                for f, label in PERSONAL_FIELDS.items()
            ],
            can_edit=bool(services.editable_fields(actor=self.request.user, entity=entity)),
            can_record_repair=bool(scope and (scope.is_platform_admin or scope.role in REGISTER_KEEPERS)),
            repair_form=CreditRepairForm(),
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
            value = services.entity_reveal_personal_data(actor=request.user, entity=entity, field=request.POST.get("field", ""), request=request)
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
        return render(request, self.template_name, {"entity": entity, "form": EntityEditForm(entity=entity, fields=fields)})

    def post(self, request, pk):
        entity, fields = self._entity_and_fields(request, pk)
        form = EntityEditForm(request.POST, entity=entity, fields=fields)
        if form.is_valid():
            try:
                services.entity_update(actor=request.user, entity=entity, data=form.changed_values(), request=request)
            except ApplicationError as exc:
                for name, errors in exc.field_errors.items():
                    for error in errors:
                        form.add_error(name if name in form.fields else None, error)
                if not exc.field_errors:
                    form.add_error(None, exc.message)
            else:
                messages.success(request, "已保存")
                return redirect("entities:entity_detail", pk=entity.pk)
        return render(request, self.template_name, {"entity": entity, "form": form}, status=400)


class CreditRepairCreateView(LoginRequiredMixin, View):
    def post(self, request, pk):
        entity = selectors.entity_get(user=request.user, pk=pk, action="change")
        if entity is None:
            raise Http404
        form = CreditRepairForm(request.POST)
        if form.is_valid():
            try:
                services.credit_repair_record(actor=request.user, entity=entity, request=request, **form.cleaned_data)
            except ApplicationError as exc:
                messages.error(request, f"{exc.message}: " + "; ".join(f"{m}" for ms in exc.field_errors.values() for m in ms))
            else:
                messages.success(request, "已登记信用修复")
        else:
            messages.error(request, "信用修复登记有误: " + "; ".join(f"{form.fields[n].label}{e[0]}" if n in form.fields else e[0] for n, e in form.errors.items()))
        return redirect(reverse("entities:entity_detail", args=[entity.pk]) + "#credit")


# --- register import -----------------------------------------------------------------------


class ImportRoleMixin(RoleRequiredMixin):
    allowed_roles = REGISTER_KEEPERS


class EntityImportListView(ImportRoleMixin, RestrictedListView):
    """名录库导入: upload form and the imports of the organisation (and those below it)."""

    template_name = "entities/import_list.html"
    context_object_name = "imports"
    paginate_by = 20

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
            entity_import = services.entity_import_submit(actor=request.user, file_name=upload.name, content=upload.read(), request=request)
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
        entity_import = selectors.entity_import_get(user=request.user, pk=pk)
        if entity_import is None or entity_import.status != ImportStatus.SUCCEEDED:
            raise Http404
        content = spreadsheets.errors_xlsx(entity_import.errors, file_name=entity_import.file_name)
        response = HttpResponse(content, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        response["Content-Disposition"] = f"attachment; filename*=UTF-8''import-{entity_import.pk}-errors.xlsx"
        return response


class RegisterTemplateView(LoginRequiredMixin, View):
    """The register template, as XLSX (default) or CSV (?format=csv)."""

    def get(self, request):
        if request.GET.get("format") == "csv":
            response = HttpResponse(spreadsheets.template_csv(), content_type="text/csv; charset=utf-8")
            response["Content-Disposition"] = "attachment; filename*=UTF-8''%E5%90%8D%E5%BD%95%E5%BA%93%E6%A8%A1%E6%9D%BF.csv"
            return response
        if request.GET.get("format", "xlsx") != "xlsx":
            return HttpResponseBadRequest("format 应为 xlsx 或 csv")
        response = HttpResponse(spreadsheets.template_xlsx(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        response["Content-Disposition"] = "attachment; filename*=UTF-8''%E5%90%8D%E5%BD%95%E5%BA%93%E6%A8%A1%E6%9D%BF.xlsx"
        return response
