"""Product pages: 产品超市 and 资格自测 (open to everyone, phone-friendly), and 我行产品 for a
bank's head-office (行级) administrators (their own bank's products: versions, rule editor
with validation and a test run, publish, retire; a branch administrator sees that products
are kept by the head office). Thin: forms validate, services write, selectors read; the
same services and restrictions as the API."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views import View
from django.views.generic import ListView

from eligibility.fields import ENTITY_TYPES
from entities.models import MarketEntity
from portal.forms import apply_application_error
from portal.mixins import RestrictedListView, RoleRequiredMixin, TenantRestricted
from portal.models import Role
from portal.services import ApplicationError
from portal.tenancy import CHANGE, resolve, restrict, scope_for
from products import selectors
from products.apis_eligibility import EligibilityAnonThrottle
from products.catalog import CHANNELS, GUARANTEES
from products.eligibility import entity_request_json, run_preview, trial_evaluation
from products.forms import (
    SAMPLE_AS_OF,
    FourListsForm,
    ProductEditForm,
    ScenarioFormSet,
    ScenarioListForm,
    SelfTestForm,
    TestRunForm,
    scenario_initial,
)
from products.models import FOUR_LISTS, Bank, LoanProduct, ProductStatus
from products.presentation import (
    describe_caps,
    describe_rules,
    order_by_fit,
    product_summary,
    result_view,
    trace_tree,
    wan,
)
from products.restrictions import is_head_office_admin
from products.services import (
    SCENARIOS_HEAD_OFFICE_ONLY,
    product_edit,
    product_four_lists_update,
    product_publish,
    product_retire,
    product_scenarios_update,
)


def _positive_int(value) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if 0 < number <= 10**6 else None


def _wan_to_yuan(value) -> int | None:
    """A filter amount typed in 万元, as 元; None for anything that is not a positive number."""
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError, TypeError):
        return None
    if not amount.is_finite() or amount <= 0 or amount > 10**9:
        return None
    return int(amount * 10000)


class PublicRestrictedListView(RestrictedListView):
    """A list open to anonymous visitors (public data only); signed-in users' lists still go
    through restrict() in the selector."""

    def dispatch(self, request, *args, **kwargs):
        return ListView.dispatch(self, request, *args, **kwargs)


# --- 产品超市 ---------------------------------------------------------------------------------


class MarketView(PublicRestrictedListView):
    template_name = "products/market.html"
    context_object_name = "products"
    paginate_by = 30

    def select(self, *, user, params):
        return selectors.marketplace_products(
            user=user,
            bank=params.get("bank") or None,
            amount=_wan_to_yuan(params.get("amount")),
            term_months=_positive_int(params.get("term")),
            guarantee=params.get("guarantee") or None,
            channel=params.get("channel") or None,
            entity_type=params.get("entity_type") or None,
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["cards"] = [
            {"product": product, "summary": product_summary(product.current_version.definition)}
            for product in context["products"]
            if product.current_version is not None
        ]
        context.update(
            banks=Bank.objects.order_by("code").values_list("code", "name"),
            guarantees=GUARANTEES.items(),
            channels=CHANNELS.items(),
            entity_types=ENTITY_TYPES.items(),
        )
        return context


class ProductDetailView(TenantRestricted, View):
    """One product in plain Chinese: who may borrow, how much, conditions, what the bank checks."""

    def get(self, request, code):
        product = self._product(request, code)
        definition = product.current_version.definition
        return render(
            request,
            "products/detail.html",
            {
                "product": product,
                "definition": definition,
                "summary": product_summary(definition),
                "conditions": describe_rules(definition["rules"]),
                "caps": describe_caps(definition.get("caps", [])),
                "payment_rule": definition.get("payment_rule"),
                "self_payment_max_wan": wan((definition.get("payment_rule") or {}).get("self_payment_max")),
                "can_apply": _own_entity(request.user) is not None and product.status == ProductStatus.ACTIVE,
            },
        )

    @staticmethod
    def _product(request, code) -> LoanProduct:
        queryset = selectors.active_products()
        if request.user.is_authenticated:  # a bank's staff also see their own drafts
            queryset = restrict(LoanProduct.objects.select_related("bank", "current_version"), request.user)
        product = queryset.filter(code=code, current_version__isnull=False).first()
        if product is None:
            raise Http404("产品不存在或已下架")
        return product


# --- 资格自测 ---------------------------------------------------------------------------------


def _own_entity(user):
    """The enterprise user's own market entity (its profile prefills the self-test)."""
    scope = scope_for(user) if user.is_authenticated else None
    if scope is None or not scope.is_enterprise or not scope.organisation_id:
        return None
    return (
        restrict(MarketEntity.objects.filter(organisation_id=scope.organisation_id), user)
        .prefetch_related("honors")
        .order_by("id")
        .first()
    )


class SelfTestView(View):
    """资格自测: a short form; the answer is every active product's verdict, offer and reasons.
    Anonymous visitors are rate-limited like the API; nothing is stored."""

    template_name = "products/self_test.html"

    def get(self, request):
        entity = _own_entity(request.user)
        if entity is None:
            return self._render(request, SelfTestForm())
        profile = entity_request_json(entity)
        form = SelfTestForm(initial=SelfTestForm.initial_from_request(profile))
        response, _ = run_preview({"entity": profile})
        return self._render(request, form, response, entity=entity)

    def post(self, request):
        throttle = EligibilityAnonThrottle()
        if not throttle.allow_request(request, self):
            wait = throttle.wait()
            return render(request, "products/throttled.html", {"wait": int(wait or 60) + 1}, status=429)
        form = SelfTestForm(request.POST)
        response = None
        if form.is_valid():
            response, errors = run_preview(form.to_request())
            if errors:
                form.add_request_errors(errors)
        status = 200 if response is not None else 400
        return self._render(request, form, response, status=status)

    def _render(self, request, form, response=None, *, entity=None, status=200):
        # an enterprise reads them by fit (an offer from its own data before a bare maximum)
        results = [result_view(result) for result in order_by_fit(response["results"])] if response else None
        counts = {
            verdict: sum(1 for r in results or [] if r["verdict"] == verdict)
            for verdict in ("eligible", "incomplete", "ineligible")
        }
        return render(
            request,
            self.template_name,
            {
                "form": form,
                "results": results,
                "counts": counts,
                "as_of": response and response["as_of"],
                "entity": entity,
            },
            status=status,
        )


# --- 我行产品 (bank administrators) ------------------------------------------------------------

MANAGER_ROLES = {Role.BANK_ADMIN}


class BankProductListView(RoleRequiredMixin, RestrictedListView):
    """我行产品: the products the bank's administrators keep (restricted for CHANGE)."""

    allowed_roles = MANAGER_ROLES
    restrict_action = CHANGE
    template_name = "products/bank_products.html"
    context_object_name = "products"

    def select(self, *, user, params):
        return selectors.bank_products(user=user, q=params.get("q") or None).prefetch_related("versions")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["rows"] = [
            {"product": product, "draft": next((v for v in product.versions.all() if v.published_at is None), None)}
            for product in context["products"]
        ]
        scope = scope_for(self.request.user)
        context["can_manage"] = bool(scope and (scope.is_platform_admin or is_head_office_admin(scope)))
        # 四张清单 not yet published (seed 002 point 5): flagged to the bank's administrator
        context["missing_four_lists"] = selectors.products_missing_four_lists(user=self.request.user)
        return context


class _ManagedProduct(RoleRequiredMixin, TenantRestricted, View):
    allowed_roles = MANAGER_ROLES
    restrict_action = CHANGE

    def product(self, code) -> LoanProduct:
        try:
            return selectors.product_for_change(user=self.request.user, code=code)
        except ApplicationError:
            raise Http404("产品不存在, 或您无权管理") from None


class BankProductDetailView(_ManagedProduct):
    """Versions, the editor (save a draft, or test-run what is in the editor) and publishing."""

    template_name = "products/bank_product_detail.html"

    def get(self, request, code):
        product = self.product(code)
        base, effective_from = self._base(product)
        form = ProductEditForm(initial=ProductEditForm.initial_from(base, effective_from))
        return self._render(product, form, TestRunForm(initial={"as_of": SAMPLE_AS_OF}))

    def post(self, request, code):
        product = self.product(code)
        form = ProductEditForm(request.POST)
        test_form = TestRunForm(request.POST)
        if not form.is_valid():
            messages.error(request, "规则未通过校验, 未保存; 请按提示修改")
            return self._render(product, form, test_form, status=400)
        base, _ = self._base(product)
        definition = form.definition(base)
        if request.POST.get("action") == "test":
            return self._test_run(product, form, test_form, definition)
        try:
            draft = product_edit(
                actor=request.user,
                product=product,
                definition=definition,
                effective_from=form.cleaned_data["effective_from"],
            )
        except ApplicationError as error:
            apply_application_error(form, error)
            return self._render(product, form, test_form, status=400)
        messages.success(request, f"已保存为草稿第 {draft.number} 版; 发布后生效")
        return redirect("products:bank_product_detail", code=product.code)

    def _test_run(self, product, form, test_form, definition):
        if not test_form.is_valid():
            return self._render(product, form, test_form, status=400)
        data = test_form.cleaned_data
        as_of = data.get("as_of") or dt.date.fromisoformat(SAMPLE_AS_OF)
        entity = None
        if data.get("uscc"):
            try:
                entity = resolve(
                    MarketEntity.objects.prefetch_related("honors"),
                    self.request.user,
                    uscc=data["uscc"].strip().upper(),
                )
            except ApplicationError:
                test_form.add_error("uscc", "未找到该主体, 或您无权查看")
                return self._render(product, form, test_form, status=400)
        result, evaluation, errors = trial_evaluation(
            definition,
            entity=entity,
            request_entity=None if entity else data.get("entity"),
            as_of=as_of,
            need=test_form.need(),
        )
        if errors:
            for path, problems in errors.items():
                test_form.add_error("entity_json", f"{path}: {'；'.join(problems)}")
            return self._render(product, form, test_form, status=400)
        trial = {
            "result": result_view(result),
            "trace": trace_tree(evaluation.trace),
            "caps": [{"key": c.key, "outcome": c.outcome.value, "message": c.message} for c in evaluation.caps],
            "as_of": as_of,
            "entity": entity,
        }
        return self._render(product, form, test_form, trial=trial)

    def _base(self, product):
        draft = product.versions.filter(published_at__isnull=True).first()
        if draft is not None:
            return draft.definition, draft.effective_from
        return product.current_version.definition, timezone.localdate()

    def _render(self, product, form, test_form, *, trial=None, status=200):
        versions = selectors.product_versions(user=self.request.user, product=product)
        draft = next((v for v in versions if v.published_at is None), None)
        return render(
            self.request,
            self.template_name,
            {
                "product": product,
                "form": form,
                "test_form": test_form,
                "versions": versions,
                "draft": draft,
                "trial": trial,
            },
            status=status,
        )


class BankProductPublishView(_ManagedProduct):
    def post(self, request, code):
        product = self.product(code)
        try:
            version = product_publish(actor=request.user, product=product)
        except ApplicationError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, f"已发布第 {version.number} 版, 自现在起用于资格评估与推荐")
        return redirect("products:bank_product_detail", code=product.code)


class BankProductRetireView(_ManagedProduct):
    def post(self, request, code):
        product = self.product(code)
        try:
            product_retire(actor=request.user, product=product)
        except ApplicationError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, "产品已下架, 不再出现在产品超市和资格评估中")
        return redirect("products:bank_product_detail", code=product.code)


class BankProductScenariosView(_ManagedProduct):
    """场景清单 of a product that has one (商E贷's 17 重点场景, an annex the notice does not
    include): the bank's head-office (行级) administrator keeps it; saving publishes a new
    version of the product (product_scenarios_update), which re-matches it."""

    template_name = "products/bank_product_scenarios.html"

    def product(self, code) -> LoanProduct:
        product = super().product(code)
        if not is_head_office_admin(scope_for(self.request.user)):
            raise PermissionDenied(SCENARIOS_HEAD_OFFICE_ONLY)
        if product.current_version is None or "scenarios" not in product.current_version.definition:
            raise Http404("该产品没有场景清单")
        return product

    def get(self, request, code):
        product = self.product(code)
        definition = product.current_version.definition
        formset = ScenarioFormSet(initial=scenario_initial(definition), prefix="scenarios")
        list_form = ScenarioListForm(initial={"complete": bool(definition.get("scenarios_complete"))})
        return self._render(product, formset, list_form)

    def post(self, request, code):
        product = self.product(code)
        formset = ScenarioFormSet(request.POST, prefix="scenarios")
        list_form = ScenarioListForm(request.POST)
        if not (formset.is_valid() and list_form.is_valid()):
            return self._render(product, formset, list_form, status=400)
        scenarios = [form.scenario for form in formset.forms if form.scenario is not None]
        try:
            version = product_scenarios_update(
                actor=request.user,
                product=product,
                scenarios=scenarios,
                complete=list_form.cleaned_data["complete"],
                request=request,
            )
        except ApplicationError as error:
            return self._render(
                product, formset, list_form, problems=error.field_errors.get("scenarios") or [error.message], status=400
            )
        if version.pk == product.current_version_id:
            messages.info(request, "场景清单未改变, 未发布新版本")
        else:
            messages.success(request, f"场景清单已更新: 已发布第 {version.number} 版, 自今日起用于资格评估与匹配")
        return redirect("products:bank_product_scenarios", code=product.code)

    def _render(self, product, formset, list_form, *, problems=(), status=200):
        versions = selectors.product_versions(user=self.request.user, product=product)
        return render(
            self.request,
            self.template_name,
            {
                "product": product,
                "definition": product.current_version.definition,
                "formset": formset,
                "list_form": list_form,
                "problems": problems,
                "versions": versions,
            },
            status=status,
        )


class BankProductFourListsView(_ManagedProduct):
    """融资服务四张清单 of one product (seed 002 point 5: "推动全县银行机构编制授权、授信、受理回告
    清单并向社会公示"): the bank's administrators write them; the 产品超市 shows them."""

    template_name = "products/bank_product_four_lists.html"

    def get(self, request, code):
        product = self.product(code)
        return self._render(product, FourListsForm(initial={name: getattr(product, name) for name in FOUR_LISTS}))

    def post(self, request, code):
        product = self.product(code)
        form = FourListsForm(request.POST)
        if not form.is_valid():
            return self._render(product, form, status=400)
        try:
            product_four_lists_update(actor=request.user, product=product, lists=form.cleaned_data)
        except ApplicationError as error:
            apply_application_error(form, error)
            return self._render(product, form, status=400)
        messages.success(request, "四张清单已保存, 产品超市即日公示")
        return redirect("products:bank_product_four_lists", code=product.code)

    def _render(self, product, form, *, status=200):
        return render(self.request, self.template_name, {"product": product, "form": form}, status=status)
