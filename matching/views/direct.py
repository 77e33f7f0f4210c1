"""直接申请 (seed 002 point 5): the enterprise applies to one product of the 产品超市, with its
consent to share its data with that bank (services.direct_application_create)."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.views import View

from entities.models import MarketEntity
from matching import services
from matching.forms import DirectApplicationForm
from matching.services.direct import product_for_direct_application
from portal.forms import apply_application_error
from portal.mixins import RoleRequiredMixin
from portal.models import Role
from portal.services import ApplicationError
from portal.tenancy import restrict


class DirectApplyView(RoleRequiredMixin, View):
    """直接申请: the need and the consent for one product; on success the lead is at the bank."""

    allowed_roles = {Role.ENTERPRISE_USER}
    template_name = "matching/direct_apply.html"

    def _context(self, request, product_id):
        entity = restrict(MarketEntity.objects.all(), request.user).order_by("id").first()
        if entity is None:
            raise Http404("您的账号尚未关联经营主体")
        try:
            product = product_for_direct_application(user=request.user, product_id=product_id)
        except ApplicationError:
            raise Http404("贷款产品不存在或已下架") from None
        return entity, product

    def get(self, request, product_id):
        entity, product = self._context(request, product_id)
        problem = services.open_case(entity, actor=request.user)
        return self._render(request, entity, product, DirectApplicationForm(), problem=problem)

    def post(self, request, product_id):
        entity, product = self._context(request, product_id)
        form = DirectApplicationForm(request.POST)
        if not form.is_valid():
            return self._render(request, entity, product, form, status=400)
        try:
            lead = services.direct_application_create(
                actor=request.user, entity_id=entity.pk, product_id=product.pk, **form.service_kwargs()
            )
        except ApplicationError as error:
            apply_application_error(form, error, aliases={"product_id": None, "entity_id": None})
            return self._render(request, entity, product, form, status=400)
        messages.success(request, f"申请已送达{lead.branch.name}, 银行原则上 5 个工作日内回复")
        return redirect("matching:declaration_detail", pk=lead.declaration_id)

    def _render(self, request, entity, product, form, *, problem=None, status=200):
        context = {"entity": entity, "product": product, "form": form, "problem": problem}
        return render(request, self.template_name, context, status=status)
