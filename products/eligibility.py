"""The eligibility engine on the portal's own data: facts of a ``MarketEntity`` row, one
product version evaluated for one entity, and the public preview served from the database.

The engine (``eligibility``) is pure Python; this module is where it meets Django:

- ``entity_request(entity)``: the entity as the ``entity`` part of a preview request
  (eligibility-api.md), so an entity row and a preview request are read by the same
  registry readers (``eligibility.fields``) and can never disagree;
- ``entity_facts(entity, as_of, need)``: the engine's facts of that row;
- ``evaluate_entity(entity, version, as_of, need)``: verdict, offer, reasons and the trace of
  one product version, with the version's id (evaluations and recommendations record it);
- ``preview_catalog()`` / ``run_preview(data)``: the eligibility preview over the active
  products' current versions in the database (never the catalogue files), used by the
  command, the HTTP endpoint and the 资格自测 page alike.

Honours (名特优新): the register lists every honour an entity holds, so an entity row's
honours are always *known*: no ``Honor`` row means "holds none", not "unknown". An honour
whose ``valid_until`` is missing leaves its validity open (``unknown``), as in a request.

三型: ``tier`` is the regulator's mark only; the portal's estimate goes as ``tier_estimate``,
which no rule reads: it only names itself in the reason of a rule the missing mark leaves
unknown ("尚无市场监管部门的三型标记（平台预估：成长型）…").

Bank relationships (借贷往来): the rows banks recorded for their own customers, by bank code;
a product reads only its own bank's (``eligibility.fields.product_facts``). No row for a bank
means its facts are unknown (the bank has not said), never "no borrowing there".
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Mapping

from django.db import connection
from django.db.models import OuterRef, Prefetch, Subquery
from django.utils import timezone

from eligibility import Evaluation, evaluate_product, from_request, preview, validate_preview_request
from eligibility.preview import product_result
from entities.classification import classify_size
from entities.models import BankRelationship
from products.models import Bank
from products.selectors import active_products, version_definitions

# --- entity rows -----------------------------------------------------------------------------


def _text(value: Any) -> Any:
    """Blank text columns are unknown, like NULL (the SQL side reads them with NULLIF)."""
    return None if value == "" else value


# where ``related_rows`` puts an entity's honours and bank relationships
_HONORS_ATTR, _RELATIONSHIPS_ATTR = "honor_rows", "bank_relationship_rows"


# ``MarketEntity.objects.prefetch_related(*related_rows())``: entities with the related rows
# ``entity_request`` reads (honours, bank relationships with their banks' codes), fetched for all
# of them in one query each, as plain lists: for pages and runs over many entities (Django's
# prefetch through the related managers builds a queryset per entity, which cost more than the
# rows on a page of 50). A tuple to spread, not a wrapper: the lookup stays ``Model.objects…``
# for the tenancy checker. New objects on every call: Django's prefetch adds hints to the
# queryset it is given, which must not be one shared by every request.
def related_rows(through: str = "") -> tuple[Prefetch, ...]:
    """The prefetches of the entities' related rows; ``through``: the path to the entities
    (``"entity"`` on declarations), none on entities."""
    prefix = f"{through}__" if through else ""
    with_codes = BankRelationship.objects.annotate(
        bank_code=Subquery(Bank.objects.filter(organisation_id=OuterRef("bank_id")).values("code")[:1])
    )
    return (
        Prefetch(f"{prefix}honors", to_attr=_HONORS_ATTR),
        Prefetch(f"{prefix}bank_relationships", queryset=with_codes, to_attr=_RELATIONSHIPS_ATTR),
    )


def carries_related_rows(entity) -> bool:
    """Whether the entity was read with ``related_rows()`` (its honours and bank relationships
    with it)."""
    return hasattr(entity, _HONORS_ATTR) and hasattr(entity, _RELATIONSHIPS_ATTR)


def _honors(entity) -> list[dict[str, Any]]:
    rows = getattr(entity, _HONORS_ATTR, None)
    return [
        {"kind": honor.kind, "valid_from": honor.valid_from, "valid_until": honor.valid_until}
        for honor in (entity.honors.all() if rows is None else rows)
    ]


def _bank_relationships(entity) -> list[dict[str, Any]]:
    rows = getattr(entity, _RELATIONSHIPS_ATTR, None)
    rows = list(entity.bank_relationships.all()) if rows is None else rows
    if not rows:
        return []
    if all(hasattr(row, "bank_code") for row in rows):  # read with related_rows(): the codes came with them
        codes = {row.bank_id: row.bank_code for row in rows if row.bank_code is not None}
    else:
        codes = dict(
            Bank.objects.filter(organisation_id__in={r.bank_id for r in rows}).values_list("organisation_id", "code")
        )
    return [
        {
            "bank": codes[row.bank_id],
            "months_borrowed": row.months_borrowed,
            "credit_line": row.credit_line,
            "non_performing": row.non_performing,
            "overdue_12m": row.overdue_12m,
        }
        for row in rows
        if row.bank_id in codes
    ]


def entity_request(entity, *, honors: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The entity row as the ``entity`` of a preview request (dates as ``datetime.date``).

    ``honors`` may be given when the caller already holds them (batch work); otherwise they
    are read through ``entity.honors``, as the bank relationships are through
    ``entity.bank_relationships`` (for many entities: ``related_rows()``)."""
    return {
        "entity_type": _text(entity.entity_type),
        "register_status": _text(entity.register_status),
        "established_on": entity.established_on,
        "region_code": _text(entity.region_id),
        "industry_code": _text(entity.industry_id),
        "tier": _text(entity.tier),  # the regulator's mark (名录库)
        "tier_estimate": _text(entity.tier_computed),  # the portal's estimate: informative, never decisive
        "size_class": _text(entity.size_class),
        "honors": _honors(entity) if honors is None else honors,
        "annual_revenue": entity.annual_revenue,
        "net_assets": entity.net_assets,
        "total_assets": entity.total_assets,
        "employees": entity.employees,
        "social_insurance_headcount": entity.social_insurance_headcount,
        "tax_status": _text(entity.tax_status),
        "has_tax_record": entity.has_tax_record,
        "legal_rep_changed_on": entity.legal_rep_changed_on,
        "main_business_changed_on": entity.main_business_changed_on,
        "operator": {
            "birth_date": entity.operator_birth_date,
            "nationality": _text(entity.operator_nationality),
            "local_residence": entity.operator_local_residence,
            "residence_region_code": _text(entity.operator_residence_region_code),
            "industry_experience_months": entity.operator_industry_experience_months,
            "realisable_net_assets": entity.operator_realisable_net_assets,
        },
        "operating_region_code": _text(entity.operating_region_code),
        "bank_relationships": _bank_relationships(entity),
        "credit": {
            "dishonest_debtor": entity.dishonest_debtor,
            "joint_punishment": entity.joint_punishment,
            "consumption_restricted": entity.consumption_restricted,
            "overdue_consecutive_24m": entity.overdue_consecutive_24m,
            "overdue_total_24m": entity.overdue_total_24m,
            "overdue_12m": entity.overdue_12m,
            "major_bad_record": entity.major_bad_record,
            "pending_litigation": entity.pending_litigation,
        },
        "tobacco_licence": _tobacco_licence(entity),
    }


def _tobacco_licence(entity) -> dict[str, Any] | None:
    """Unknown (None) unless the row says whether the entity holds one: the number and dates of
    a row whose ``held`` is NULL are not read, exactly as the SQL compilation reads the row."""
    if entity.tobacco_licence_held is None:
        return None
    return {
        "held": entity.tobacco_licence_held,
        "number": _text(entity.tobacco_licence_number),
        "valid_from": entity.tobacco_licence_valid_from,
        "valid_until": entity.tobacco_licence_valid_until,
    }


def entity_request_json(entity) -> dict[str, Any]:
    """``entity_request`` with ISO dates: a preview request body (prefills, "test run")."""

    def plain(value):
        if isinstance(value, dict):
            return {key: plain(item) for key, item in value.items()}
        if isinstance(value, list):
            return [plain(item) for item in value]
        return value.isoformat() if isinstance(value, dt.date) else value

    return plain(entity_request(entity))


def entity_facts(
    entity, as_of: dt.date, need: Mapping[str, Any] | None = None, *, honors: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """The engine's facts of an entity row on ``as_of`` (size class: the row's 划型 column)."""
    return from_request(entity_request(entity, honors=honors), need, as_of)


@dataclass(frozen=True)
class EntityEvaluation:
    product: str
    version_id: int
    version_number: int
    evaluation: Evaluation  # verdict, offer, reasons, caps and the full trace
    result: dict[str, Any]  # the same, as one result of the preview response (+ "version")


def evaluate_entity(
    entity, product_version, as_of: dt.date | None = None, need: Mapping[str, Any] | None = None
) -> EntityEvaluation:
    """One product version for one entity. ``need``: ``{"amount", "term_months"}`` or None."""
    as_of = as_of or timezone.localdate()
    definition = product_version.definition
    facts = entity_facts(entity, as_of, need)
    evaluation = evaluate_product(definition, facts)
    # select_related("product__bank") on the versions saves two queries per evaluation
    result = product_result(definition, {"name": product_version.product.bank.name}, facts)
    result["version"] = product_version.pk
    return EntityEvaluation(definition["code"], product_version.pk, product_version.number, evaluation, result)


# --- the preview over the database -----------------------------------------------------------


def preview_catalog() -> dict[str, Any]:
    """``{"banks", "products"}`` of the active products' current (published) versions, in
    catalogue order; each product carries ``version`` (the id of the version used)."""
    rows = _catalog_rows()
    definitions = version_definitions([row[3] for row in rows])
    banks: dict[str, Any] = {}
    products: dict[str, Any] = {}
    for code, bank_code, bank_name, version_id in rows:
        definition = definitions.get(version_id)
        if definition is None:
            continue
        banks.setdefault(bank_code, {"code": bank_code, "name": bank_name})
        products[code] = {**definition, "code": code, "bank": bank_code, "active": True, "version": version_id}
    return {"banks": banks, "products": products}


def _catalog_rows() -> list[tuple]:
    # the preview runs this on every call: the selector's SQL is compiled once by the ORM,
    # then run through a plain cursor (building the queryset cost more than the query)
    global _CATALOG_SQL
    if _CATALOG_SQL is None or _CATALOG_SQL[0] != connection.vendor:
        queryset = (
            active_products()
            .filter(current_version__isnull=False)
            .order_by("id")
            .values_list("code", "bank__code", "bank__name", "current_version_id")
        )
        sql, params = queryset.query.sql_with_params()
        _CATALOG_SQL = (connection.vendor, sql, params)
    with connection.cursor() as cursor:
        cursor.execute(_CATALOG_SQL[1], _CATALOG_SQL[2])
        return cursor.fetchall()


_CATALOG_SQL: tuple | None = None


def size_classifier(
    industry_code: str, employees: int | None, annual_revenue: int | None, total_assets: int | None
) -> str | None:
    """划型 for a preview request that does not state it (工信部联企业〔2011〕300号)."""
    try:
        return classify_size(industry_code, employees, annual_revenue, total_assets).size_class
    except (ValueError, TypeError):
        return None


def run_preview(
    data: Any, *, today: dt.date | None = None, catalog: Mapping[str, Any] | None = None
) -> tuple[dict[str, Any] | None, dict[str, list[str]]]:
    """(response, {}) or (None, field errors) for a preview request body; never raises on
    any JSON value. Nothing is stored. Each result names the product ``version`` used."""
    catalog = preview_catalog() if catalog is None else catalog
    day = today or timezone.localdate()
    clean, errors = validate_preview_request(data, catalog, today=lambda: day)
    if errors:
        return None, errors
    response = preview(clean, catalog, today=lambda: day, size_classifier=size_classifier)
    for result in response["results"]:
        result["version"] = catalog["products"][result["product"]]["version"]
    return response, {}


INVALID_MESSAGE = "输入有误"


def error_body(errors: Mapping[str, list[str]]) -> dict[str, Any]:
    """Field errors in the portal's one error format (portal.api_support)."""
    return {"code": "invalid", "message": INVALID_MESSAGE, "errors": dict(errors)}


def trial_evaluation(
    definition: Mapping[str, Any],
    *,
    entity: Any = None,
    request_entity: Any = None,
    as_of: dt.date | None = None,
    need: Mapping[str, Any] | None = None,
) -> tuple[dict[str, Any] | None, Evaluation | None, dict[str, list[str]]]:
    """A product definition (saved or not) over one entity: a row, or the ``entity`` of a
    preview request. Returns (result, evaluation with its trace, field errors). For the rule
    editor's "试算" before publishing; nothing is stored."""
    as_of = as_of or timezone.localdate()
    if entity is not None:
        facts = entity_facts(entity, as_of, need)
    else:
        request = {"as_of": as_of.isoformat(), "entity": request_entity, **({"need": dict(need)} if need else {})}
        clean, errors = validate_preview_request(request, {"products": {}}, today=lambda: as_of)
        if errors:
            return None, None, errors
        facts = from_request(clean["entity"], clean["need"], as_of, size_classifier=size_classifier)
    product = {**definition, "code": definition.get("code", ""), "bank": definition.get("bank", "")}
    evaluation = evaluate_product(product, facts)
    return product_result(product, {}, facts), evaluation, {}
