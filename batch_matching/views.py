"""Pages of batch matching. Thin: read the request, call one selector or service, render.

- 批量匹配 (platform administrators): start a full run, watch its progress (a static script,
  ``run_progress.js``, polls the run's JSON while it runs: counts, bar, end time, an aria-live
  status; no inline script), resume a stopped one, the history of runs;
- 潜在客户 (bank branch staff): counts per product and county, the list by offer, xlsx;
- 差一点符合 (task force and regulators): near misses with what is missing; its tab 待标记三型
  lists the entities with only the portal's 三型 estimate, worth asking the regulator to mark.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views import View
from django.views.generic import TemplateView

from batch_matching import exports, selectors, services
from batch_matching.models import MatchResult, RunKind
from entities.models import MarketEntity
from portal import bounds, spreadsheets
from portal.mixins import RestrictedListView, RoleRequiredMixin
from portal.models import Role
from portal.services import ApplicationError
from portal.tenancy import EXPORT, restrict, scope_for
from products.models import BankBranch, LoanProduct, ProductStatus

GOVERNMENT_ROLES = {
    Role.TASK_FORCE_STAFF,
    Role.TASK_FORCE_BANK_REVIEWER,
    Role.TASK_FORCE_LEAD,
    Role.CONVENER,
    Role.CITY_REGULATOR,
    Role.PROVINCE_REGULATOR,
}
BANK_ROLES = {Role.BANK_ADMIN, Role.ACCOUNT_MANAGER}


def _int(value) -> int | None:
    return bounds.query_id(value)


def _wan_to_yuan(value) -> int | None:
    """An amount typed in 万元, as whole 元 (None when it is no amount a column can hold)."""
    params = bounds.QueryParams({"amount": value})
    amount = params.decimal("amount", field=bounds.column(MatchResult, "max_amount"), unit=10_000, min_value=0)
    return None if amount is None else int((amount * 10_000).to_integral_value())


# --- runs ------------------------------------------------------------------------------------


class AdministratorMixin(RoleRequiredMixin):
    allowed_roles = {Role.PLATFORM_ADMIN}


class RunListView(AdministratorMixin, RestrictedListView):
    """批量匹配: the state of the results, the run in progress and the history."""

    template_name = "batch_matching/run_list.html"
    context_object_name = "runs"
    paginate_by = 20

    def select(self, *, user, params):
        kind = params.get("kind", RunKind.FULL)
        return selectors.run_list(user=user, kind=None if kind == "all" else kind)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        state = selectors.matching_state()
        current = state["run"]
        context.update(
            state=state,
            kind=self.request.GET.get("kind", RunKind.FULL),
            kinds=RunKind.choices,
            current_products=selectors.run_products(user=self.request.user, run=current) if current else [],
        )
        return context

    def post(self, request):
        try:
            run = services.run_start(actor=request.user, province=request.POST.get("province") or None)
        except ApplicationError as exc:
            messages.error(request, exc.message)
            return redirect("matching_batch:run_list")
        area = f"省份 {run.province}" if run.province else "全部省份"
        messages.success(
            request, f"全量匹配 #{run.pk}({area})已开始: {run.entities} 个经营主体, {run.chunks_total} 个分块"
        )
        return redirect(f"{reverse('matching_batch:run_detail')}?run={run.pk}")


class RunDetailView(AdministratorMixin, TemplateView):
    template_name = "batch_matching/run_detail.html"

    def get_context_data(self, **kwargs):
        run = selectors.run_get(user=self.request.user, pk=_int(self.request.GET.get("run")) or 0)
        if run is None:
            raise Http404
        return super().get_context_data(
            run=run,
            products=selectors.run_products(user=self.request.user, run=run),
            chunks=run.chunks.order_by("number"),
            **kwargs,
        )


class RunProgressView(AdministratorMixin, View):
    """A run's progress as JSON (selectors.run_progress: the pages' selector and restriction),
    polled every second by ``run_progress.js`` on the run pages until the run is over."""

    def get(self, request):
        progress = selectors.run_progress(user=request.user, pk=_int(request.GET.get("run")) or 0)
        if progress is None:
            return JsonResponse({"detail": "记录不存在或您无权操作"}, status=404)
        return JsonResponse(progress, json_dumps_params={"ensure_ascii": False})


class RunResumeView(AdministratorMixin, View):
    def post(self, request):
        run = selectors.run_get(user=request.user, pk=_int(request.POST.get("run")) or 0)
        if run is None:
            raise Http404
        try:
            services.run_resume(run_id=run.pk, actor=request.user)
            messages.success(request, f"全量匹配 #{run.pk} 已继续")
        except ApplicationError as exc:
            messages.error(request, exc.message)
        return redirect(f"{reverse('matching_batch:run_detail')}?run={run.pk}")


# --- 潜在客户 ----------------------------------------------------------------------------------


class PotentialCustomerListView(RoleRequiredMixin, RestrictedListView):
    """潜在客户: eligible entities in the branch's service area whose data is shared with banks."""

    allowed_roles = BANK_ROLES
    template_name = "batch_matching/potential_customers.html"
    paginate_by = None

    def _filters(self):
        params = self.request.GET
        self.scope = selectors.lead_scope(user=self.request.user, branch_id=_int(params.get("branch")))
        products = self.scope.products if self.scope else []
        product_id = _int(params.get("product"))
        self.product = next((p for p in products if p.pk == product_id), products[0] if products else None)
        counties = {c.code for c in self.scope.counties} if self.scope else set()
        self.county = params.get("county") if params.get("county") in counties else None
        self.min_amount = _wan_to_yuan(params.get("min_amount"))

    def select(self, *, user, params):
        self._filters()
        if self.scope is None or self.product is None:
            self.page = selectors.LeadPage([], None)
            return selectors.results(user=user).none()
        self.page = selectors.potential_customers(
            user=user,
            scope=self.scope,
            product_id=self.product.pk,
            county=self.county,
            min_amount=self.min_amount,
            after=selectors.parse_cursor(params.get("after")),
        )
        return selectors.results(user=user).none()  # the page is keyset-paged above

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        counts = (
            selectors.potential_counts(
                user=self.request.user, scope=self.scope, product_id=self.product.pk if self.product else None
            )
            if self.scope
            else {"per_product": {}, "per_county": {}}
        )
        params = self.request.GET.copy()
        params.pop("after", None)
        counties = self.scope.counties if self.scope else []
        context.update(
            scope=self.scope,
            product=self.product,
            county=self.county,
            page=self.page,
            query=params.urlencode(),
            min_amount=self.request.GET.get("min_amount", ""),
            product_counts=[
                (p, counts["per_product"].get(p.pk, 0)) for p in (self.scope.products if self.scope else [])
            ],
            county_counts=[(c, counts["per_county"].get(c.code, 0)) for c in counties],
            county_total=sum(counts["per_county"].values()),
            run=selectors.last_full_run(self.request.user),
            branches=(
                BankBranch.objects.select_related("bank").order_by("bank__code", "region_id", "name")
                if self.request.user.is_superuser or self._is_admin()
                else []
            ),
            object_list=None,
        )
        return context

    def _is_admin(self) -> bool:
        scope = scope_for(self.request.user)
        return bool(scope and scope.is_platform_admin)


class PotentialCustomerExportView(PotentialCustomerListView):
    """The list as xlsx: every row (up to selectors.EXPORT_LIMIT) through restrict(MatchResult,
    EXPORT), audited as potential_customer.export (names and masked phones of operators)."""

    restrict_action = EXPORT

    def get(self, request, *args, **kwargs):
        self._filters()
        rows = selectors.potential_export_rows(
            user=request.user,
            scope=self.scope,
            product_id=self.product.pk if self.product else None,
            county=self.county,
            min_amount=self.min_amount,
        )
        code = self.product.code if self.product else "none"
        filters = {
            "product": code if self.product else "",
            "county": self.county or "",
            "min_amount": request.GET.get("min_amount", ""),
            "branch": request.GET.get("branch", ""),
        }
        return spreadsheets.deliver(
            request,
            "potential_customer",
            exports.potential_customers_xlsx(rows, product_name=self.product.name if self.product else "全部产品"),
            filters=filters,
        )


# --- the enterprise's own matches --------------------------------------------------------------


class MyMatchesView(RoleRequiredMixin, RestrictedListView):
    """匹配产品: the products the enterprise qualifies for, best offer first, why, and what is
    missing for the others (the home page shows the first few)."""

    allowed_roles = {Role.ENTERPRISE_USER}
    template_name = "batch_matching/my_matches.html"
    paginate_by = None

    def select(self, *, user, params):
        self.entity = restrict(MarketEntity.objects.all(), user).order_by("id").first()
        self.matches = selectors.entity_matches(user=user, entity=self.entity) if self.entity else []
        return selectors.results(user=user).none()

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            entity=self.entity,
            matches=self.matches,
            run=selectors.last_full_run(self.request.user),
            object_list=None,
            **kwargs,
        )


# --- near misses -----------------------------------------------------------------------------


class NearMissListView(RoleRequiredMixin, RestrictedListView):
    """差一点符合: entities that fail only on rules time or a fix can cure."""

    allowed_roles = GOVERNMENT_ROLES
    template_name = "batch_matching/near_misses.html"
    paginate_by = None

    def select(self, *, user, params):
        after = params.get("after", "")
        parts = after.split(".")
        cursor = tuple(bounds.query_id(p) for p in parts) if len(parts) == 2 else None
        cursor = cursor if cursor and None not in cursor else None
        # ?view=mark: 待标记三型, the entities with only the portal's estimate (issue 15)
        self.tab = "mark" if params.get("view") == "mark" else ""
        select = selectors.awaiting_mark if self.tab == "mark" else selectors.near_misses
        self.rows, self.next_cursor = select(
            user=user,
            product_id=_int(params.get("product")),
            county=params.get("county") or None,
            after=cursor,
            limit=50,
        )
        return selectors.results(user=user).none()

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        params = self.request.GET.copy()
        params.pop("after", None)
        context.update(
            rows=self.rows,
            next_after=".".join(map(str, self.next_cursor)) if self.next_cursor else None,
            query=params.urlencode(),
            products=LoanProduct.objects.filter(status=ProductStatus.ACTIVE)
            .select_related("bank")
            .order_by("bank__code", "code"),
            product_id=_int(self.request.GET.get("product")),
            county=self.request.GET.get("county", ""),
            counties=selectors.near_miss_counties(user=self.request.user),
            run=selectors.last_full_run(self.request.user),
            tab=self.tab,
            object_list=None,
        )
        return context
