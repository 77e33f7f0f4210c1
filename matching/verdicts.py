"""The verdicts a page shows for a declaration: one per active product of its intended banks.

A declaration carries a need (amount, term and the requested repayment mode, which 晋享贷's
"按月结息、到期一次性还本 ≤ 1 年" reads; the purpose is free text that no catalogue rule reads:
the notices' 贷款用途 conditions are the banks' own checks, shown as such). Whether a
product fits *this declaration* depends on that need: a 24-month need fails 惠商贷's
"贷款期限不超过 12 个月" whatever the entity's data say. This module is the one place where a
declaration's intended banks' products are judged for it, and every page, queue and API that
shows such a verdict takes it from here:

- ``need_verdicts(declarations)``: for a page of declarations, each active product (with a
  published version) of each declaration's intended banks (in the declaration's order), judged
  by the live engine (``products.eligibility.evaluate_entity``) for the declaration's own need
  (``declaration_need``), with its reasons and offer (``products.presentation.result_view``:
  one set of verdict labels). The products of a bank are read once per page (``products``, a
  cache by bank id the caller may share). The review queue page and its API
  (``matching.selectors.review_briefs``: label, offer, first reason, the count of fits) read it;
- ``declaration_verdicts(user=…, declaration=…)``: the same rows for one declaration (its page,
  where reviewers decide), each beside the stored batch result (``batch_matching``: every
  entity × every product, evaluated *without* a need, i.e. the product's default term and no
  requested amount), shown as what it is — the generic result of a named run — and where the
  two differ the row says why: the need (the rules it changes, with the need's own numbers), or
  the register data / product rules having changed since the run (the live result is current).
  A page never shows the stored verdict as a second verdict on the declaration;
- ``verdict_summary(rows)``: the one-line counts (符合 n · 信息不全 n · 不符合 n);
- ``form_verdicts(entity=…, banks=…, need=…)``: for a declare form (我要融资, 代为申报) before a
  declaration exists, each offered bank's active products judged by the same engine function
  for the need typed so far (``form_need``), split into what the entity qualifies for (符合,
  then 信息不全: what it may qualify for once the missing facts are known), with offer and
  reasons, and the rest (不符合) only counted with their first reason.

An entity's products judged without a need (the enterprise's home page, the entity's page,
差一点符合, 潜在客户) are batch matching's stored results (``batch_matching.selectors``), not
a declaration's verdicts.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Iterable

from django.utils import timezone

from batch_matching import selectors as batch_selectors
from batch_matching.models import Verdict
from products.eligibility import evaluate_entity
from products.models import LoanProduct, ProductStatus
from products.presentation import VERDICT_LABELS, result_view

# the stored verdict (batch_matching.models.Verdict) in the engine's words
STORED_VERDICTS = {Verdict.ELIGIBLE: "eligible", Verdict.INCOMPLETE: "incomplete", Verdict.INELIGIBLE: "ineligible"}
# no stored row once a run exists: neither eligible nor a near miss — ineligible or 信息不全
# (batch matching stores neither)
UNSTORED = "unstored"


def declaration_need(declaration) -> dict[str, Any]:
    """The need of a declaration as the engine reads it (the preview contract's ``need``): its
    amount, term and requested repayment mode (``need.repayment``; left out while 未定, which the
    engine reads as unknown)."""
    need = {"amount": declaration.amount, "term_months": declaration.term_months}
    if declaration.repayment:
        need["repayment"] = declaration.repayment
    return need


def need_text(declaration) -> str:
    amount = declaration.amount / 10000
    wan = f"{amount:,.2f}".rstrip("0").rstrip(".")
    return f"申请金额 {wan} 万元、期限 {declaration.term_months} 个月"


@dataclass
class ProductVerdict:
    """One intended bank's product for one declaration."""

    product: Any  # LoanProduct
    result: dict[str, Any]  # the live result for the declaration's need (products.presentation.result_view)
    # beside it on the declaration's page only (declaration_verdicts): the stored generic result
    stored: Any = None  # batch_matching StoredResult, or None (no stored row, or not read)
    stored_verdict: str | None = None  # "eligible" / "ineligible" / UNSTORED, None before any run
    agrees: bool = True  # the stored generic result says the same as the verdict for the need
    note: str = ""  # how the stored result relates to the verdict, in Chinese

    @property
    def bank(self):
        return self.product.bank

    @property
    def verdict(self) -> str:
        return self.result["verdict"]

    @property
    def verdict_label(self) -> str:
        return self.result["verdict_label"]

    @property
    def max_amount(self) -> int | None:
        return self.result["max_amount"]

    @property
    def reason(self) -> str:
        """Why it does not fit, in one line: its first failed, else first unknown, condition
        (empty when it fits)."""
        if self.verdict == "eligible":
            return ""
        for outcome in ("fail", "unknown"):
            for reason in self.result["reasons"]:
                if reason["outcome"] == outcome:
                    return reason["message"]
        return ""


def _intended_products(declaration, cache: dict[int, list]) -> list:
    """The active products (with a published version) of the declaration's intended banks, in
    the declaration's order of banks, then by product code; each bank's read once into
    ``cache`` (by bank id). The banks come from a declaration already read through the
    restriction; products are public."""
    return _bank_products([intended.bank for intended in declaration.intended_banks.all()], cache)


def _bank_products(banks: list, cache: dict[int, list]) -> list:
    """The active products (with a published version) of ``banks``, in their order, then by
    product code; each bank's read once into ``cache`` (by bank id)."""
    missing = {bank.pk for bank in banks} - cache.keys()
    if missing:
        for bank_id in missing:
            cache[bank_id] = []
        products = (
            LoanProduct.objects.filter(bank_id__in=missing, status=ProductStatus.ACTIVE, current_version__isnull=False)
            .select_related("bank", "current_version__product__bank")
            .order_by("bank_id", "code")
        )
        for product in products:
            cache[product.bank_id].append(product)
    return [product for bank in banks for product in cache[bank.pk]]


def need_verdicts(
    declarations: Iterable, *, as_of: dt.date | None = None, products: dict[int, list] | None = None
) -> dict[int, list[ProductVerdict]]:
    """declaration id → its intended banks' active products, each judged by the engine for the
    declaration's own need. ``products``: the cache of products by bank id (shared across a
    page). Prefetch ``intended_banks__bank`` (and the entities' ``honors``) on the declarations."""
    as_of = as_of or timezone.localdate()
    cache: dict[int, list] = {} if products is None else products
    found = {}
    for declaration in declarations:
        need = declaration_need(declaration)
        found[declaration.pk] = [
            ProductVerdict(
                product,
                result_view(evaluate_entity(declaration.entity, product.current_version, as_of, need=need).result),
            )
            for product in _intended_products(declaration, cache)
        ]
    return found


# how well a product fits a need, best first
FIT_ORDER = {"eligible": 0, "incomplete": 1, "ineligible": 2}


def best_product(declaration, bank):
    """The product of ``bank`` a push names on the lead (its version holds the bank's approval
    to the product's limits): the one that fits the declaration's need best — eligible before
    incomplete before ineligible, then the larger offer, then the product code — never simply
    the bank's first product (惠商贷 for a 24-month need it fails). None: no active product."""
    verdicts = [v for v in need_verdicts([declaration])[declaration.pk] if v.product.bank_id == bank.pk]
    if not verdicts:
        return None
    return min(
        verdicts,
        key=lambda v: (FIT_ORDER[v.result["verdict"]], -(v.result["max_amount"] or 0), v.product.code),
    ).product


def _changed_by_need(with_need: dict, generic: dict) -> list[str]:
    """The messages of the rules whose outcome the need changes (with the need's numbers)."""
    before = {reason["rule"]: reason["outcome"] for reason in generic["reasons"]}
    return [
        reason["message"]
        for reason in with_need["reasons"]
        if before.get(reason["rule"]) != reason["outcome"] and reason["outcome"] != "pass"
    ] or [reason["message"] for reason in with_need["reasons"] if before.get(reason["rule"]) != reason["outcome"]]


def _same(stored_verdict: str, verdict: str) -> bool:
    """Whether a stored verdict says what an evaluation says (no row: not eligible, no near miss)."""
    if stored_verdict == UNSTORED:
        return verdict in ("ineligible", "incomplete")
    return stored_verdict == verdict


def _note(declaration, product, live: dict, stored, stored_verdict, run, as_of) -> tuple[bool, str]:
    if stored_verdict is None:
        return True, "尚未运行批量匹配"
    source = f"批量匹配 #{run.pk}" if run is not None else "批量匹配"
    if _same(stored_verdict, live["verdict"]):
        return True, f"与{source}结果一致"
    generic = evaluate_entity(declaration.entity, product.current_version, as_of).result
    same_version = stored is None or stored.version.pk == product.current_version_id
    if _same(stored_verdict, generic["verdict"]) and same_version:
        changes = "; ".join(_changed_by_need(live, generic))
        return False, (
            f"{source}按通用条件评估(不含申报需求: 期限按 {generic['term_months']} 个月, 不计申请金额), "
            f"与本次申报的结论不同; 本次{need_text(declaration)}" + (f": {changes}" if changes else "")
        )
    return False, f"{source}之后主体信息或产品规则已有变化, 以上为按当前信息的实时评估(增量匹配完成后批量结果随之更新)"


def declaration_verdicts(*, user, declaration, as_of: dt.date | None = None) -> dict[str, Any]:
    """``{"rows": [ProductVerdict], "run": the full run in force or None, "need": text}``: the
    declaration's ``need_verdicts``, each annotated with the stored result ``user`` may see for
    it and how that relates to the verdict."""
    as_of = as_of or timezone.localdate()
    rows = need_verdicts([declaration], as_of=as_of)[declaration.pk]
    stored = batch_selectors.stored_results(
        user=user, entity=declaration.entity, product_ids=[row.product.pk for row in rows]
    )
    run = batch_selectors.last_full_run(user)
    generation = batch_selectors.entity_generation(declaration.entity.region_id)  # its province's
    for row in rows:
        result = stored.get(row.product.pk)
        if result is not None:
            stored_verdict = "ineligible" if result.near_miss else STORED_VERDICTS[Verdict(result.verdict)]
        else:
            stored_verdict = None if generation is None else UNSTORED
        row.stored, row.stored_verdict = result, stored_verdict
        row.agrees, row.note = _note(declaration, row.product, row.result, result, stored_verdict, run, as_of)
    return {"rows": rows, "run": run, "need": need_text(declaration)}


def verdict_summary(rows: list[ProductVerdict]) -> str:
    """符合 2 · 信息不全 1 · 不符合 3 (for a queue row), in the verdicts' order."""
    counts = {key: 0 for key in VERDICT_LABELS}
    for row in rows:
        counts[row.verdict] += 1
    return " · ".join(f"{VERDICT_LABELS[key]} {n}" for key, n in counts.items() if n) or "无在售产品"


# --- a declare form, before the declaration exists --------------------------------------------


def form_need(*, amount: int | None = None, term_months: int | None = None, repayment: str = "") -> dict[str, Any]:
    """The need typed on a declare form so far, as the engine reads it (``declaration_need``'s
    shape): what is not typed yet is left out (the engine then reads the product's default term
    and no requested amount)."""
    need: dict[str, Any] = {}
    if amount:
        need["amount"] = amount
    if term_months:
        need["term_months"] = term_months
    if repayment:
        need["repayment"] = repayment
    return need


@dataclass
class BankVerdicts:
    """One bank offered on a declare form: its products the entity qualifies for, and the rest."""

    bank: Any  # Bank
    fits: list[ProductVerdict]  # 符合, then 信息不全; the better offer first
    others: list[ProductVerdict]  # 不符合

    @property
    def code(self) -> str:
        return self.bank.code


def form_verdicts(*, entity, banks: Iterable, need: dict[str, Any], as_of: dt.date | None = None) -> list[BankVerdicts]:
    """Each of ``banks`` (in their order) with its active products judged for ``entity`` and the
    typed ``need`` (``form_need``) by ``products.eligibility.evaluate_entity``, as a declaration's
    verdicts are: what the entity qualifies for (符合 and 信息不全, with offer and reasons) and
    what it does not (不符合). ``entity`` is one the user may declare for."""
    as_of = as_of or timezone.localdate()
    banks = list(banks)
    cache: dict[int, list] = {}
    _bank_products(banks, cache)
    found = []
    for bank in banks:
        rows = [
            ProductVerdict(
                product, result_view(evaluate_entity(entity, product.current_version, as_of, need=need).result)
            )
            for product in cache[bank.pk]
        ]
        rows.sort(key=lambda v: (FIT_ORDER[v.verdict], -(v.max_amount or 0), v.product.code))
        found.append(
            BankVerdicts(
                bank,
                fits=[row for row in rows if row.verdict != "ineligible"],
                others=[row for row in rows if row.verdict == "ineligible"],
            )
        )
    return found
