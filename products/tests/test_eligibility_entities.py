"""The engine on real entity rows: facts of a row, ``evaluate_entity`` with the version it used,
and every catalogue product compiled to SQL agreeing with the engine on realistic entities."""

import datetime as dt

import pytest
from django.db.models import BigIntegerField, CharField

from batch_matching.compile import annotate_eligibility, compile_product, eligible_q, expression
from batch_matching.factories import make_entity, save_rows
from entities.models import MarketEntity
from entities.synthetic import Generator
from portal.factories import user_with_role
from portal.models import Role
from products.eligibility import entity_facts, entity_request_json, evaluate_entity, run_preview
from products.models import LoanProduct, LoanProductVersion
from products.selectors import active_products
from products.services import catalog_load, product_edit, product_publish

pytestmark = pytest.mark.django_db

AS_OF = dt.date(2026, 11, 22)
NEEDS = [None, {"amount": 100000, "term_months": 12}, {"term_months": 36}, {"amount": 2000000}]


@pytest.fixture
def catalogue_of_2026():
    """The seed catalogue loaded on 2026-01-01 (its versions take effect that day)."""
    catalog_load(today=dt.date(2026, 1, 1))


def survival_shop(**changes):
    """products.md: individual business, survival tier, 18 months, revenue 150000, operator 40."""
    values = {
        "entity_type": "individual_business",
        "register_status": "active",
        "region_id": "140502",
        "industry_id": "5291",
        "established_on": dt.date(2025, 5, 10),
        "tier": "survival",
        "annual_revenue": 150000,
        "net_assets": 400000,
        "employees": 3,
        "social_insurance_headcount": 1,
        "tax_status": "small_scale_taxpayer",
        "has_tax_record": True,
        "size_class": "micro",
        "operator_birth_date": dt.date(1986, 3, 1),
        "operator_nationality": "CN",
        "operator_local_residence": True,
        "operator_industry_experience_months": 0,
        "dishonest_debtor": False,
        "joint_punishment": False,
        "consumption_restricted": False,
        "overdue_consecutive_24m": 0,
        "overdue_total_24m": 0,
        "overdue_12m": 0,
        "major_bad_record": False,
        "pending_litigation": False,
    }
    values.update(changes)
    return make_entity(**values)


def version_of(code):
    return LoanProductVersion.objects.select_related("product__bank").get(
        pk=LoanProduct.objects.get(code=code).current_version_id
    )


# --- facts of a row --------------------------------------------------------------------------


def test_entity_facts_read_a_row_like_a_preview_request(catalogue_of_2026):
    # given the survival-tier shop of products.md with a valid honour
    entity = survival_shop(honors=[{"kind": "quality", "valid_until": dt.date(2027, 6, 30)}])
    # when its facts are read on the evaluation date
    facts = entity_facts(entity, AS_OF)
    # then time-dependent facts are computed on that date, and honours are known
    assert facts["operating_months"] == 18 and facts["operator_age"] == 40
    assert facts["has_valid_honor"] is True and facts["honors_valid"] == ["quality"]
    assert facts["region_code"] == "140502" and facts["industry_code"] == "5291"
    # and the row, sent as a preview request, gives the same results as the row itself
    response, errors = run_preview({"as_of": AS_OF.isoformat(), "entity": entity_request_json(entity)})
    assert errors == {}
    by_code = {r["product"]: r for r in response["results"]}
    for version in LoanProductVersion.objects.filter(pk__in=active_products().values("current_version_id")):
        assert evaluate_entity(entity, version, AS_OF).result["verdict"] == by_code[version.product.code]["verdict"]


def test_missing_data_is_unknown_and_no_honour_row_means_none(catalogue_of_2026):
    # given an entity with no birth date, no revenue and no honour rows
    entity = make_entity(operator_birth_date=None, annual_revenue=None, tier="", established_on=None)
    facts = entity_facts(entity, AS_OF)
    # then those facts are unknown, a blank tier is unknown, and "no honours" is known
    assert facts["operator_age"] is None and facts["annual_revenue"] is None
    assert facts["tier"] is None and facts["operating_months"] is None
    assert facts["has_valid_honor"] is False and facts["honors_valid"] == []


# --- evaluate_entity and versions ------------------------------------------------------------


def test_evaluate_entity_gives_the_worked_example_and_records_the_version(catalogue_of_2026):
    # given the survival shop and 惠商贷's current version
    entity = survival_shop()
    version = version_of("huishangdai")
    # when evaluated
    outcome = evaluate_entity(entity, version, AS_OF)
    # then 20% of revenue binds (products.md), and the version used is named
    assert outcome.evaluation.verdict.value == "eligible"
    assert (outcome.result["max_amount"], outcome.result["binding_cap"]) == (30000, "revenue_share")
    assert outcome.version_id == version.pk and outcome.result["version"] == version.pk
    assert outcome.version_number == 1


def test_a_published_edit_is_used_and_recorded_while_the_old_version_stays_evaluable(catalogue_of_2026):
    # given 惠商贷 v1 and its bank's administrator publishing v2 with a 10% revenue share
    entity = survival_shop()
    product = LoanProduct.objects.get(code="huishangdai")
    v1 = version_of("huishangdai")
    admin = user_with_role(Role.BANK_ADMIN, organisation=product.bank.organisation)
    definition = dict(v1.definition)
    definition["caps"] = [
        dict(cap, percent=10) if cap["kind"] == "revenue_share" else cap for cap in definition["caps"]
    ]
    product_edit(actor=admin, product=product, definition=definition, effective_from=AS_OF)
    v2 = product_publish(actor=admin, product=product)
    # when the entity is evaluated against the current version and previewed
    current = version_of("huishangdai")
    outcome = evaluate_entity(entity, current, AS_OF)
    response, _ = run_preview(
        {"as_of": AS_OF.isoformat(), "entity": entity_request_json(entity), "products": ["huishangdai"]}
    )
    # then the new rule applies and v2 is recorded, in both
    assert current.pk == v2.pk and outcome.version_id == v2.pk
    assert outcome.result["max_amount"] == 15000
    assert response["results"][0]["max_amount"] == 15000 and response["results"][0]["version"] == v2.pk
    # and v1 still evaluates as it did (an old recommendation can be explained)
    assert evaluate_entity(entity, v1, AS_OF).result["max_amount"] == 30000


# --- every catalogue product: SQL ⇔ engine on realistic entities -----------------------------


def realistic_entities():
    rows = []
    for row in Generator(seed=20261122, today=AS_OF).entities(160):
        honors_until = row.pop("honors_imported_valid_until")
        kinds = [kind for kind in row.pop("honors_imported").split(",") if kind]
        row.pop("tier_imported", None), row.pop("tier_computed", None)
        row["honors"] = [{"kind": kind, "valid_from": None, "valid_until": honors_until} for kind in kinds]
        rows.append(row)
    return rows


def edge_entities():
    """The worked examples of products.md and their near misses, as rows."""
    base = {
        "entity_type": "individual_business",
        "register_status": "active",
        "region_id": "140502",
        "industry_id": "5291",
        "established_on": dt.date(2025, 5, 10),
        "tier": "survival",
        "annual_revenue": 150000,
        "net_assets": 400000,
        "employees": 3,
        "social_insurance_headcount": 1,
        "tax_status": "small_scale_taxpayer",
        "has_tax_record": True,
        "size_class": "micro",
        "operator_birth_date": dt.date(1986, 3, 1),
        "operator_nationality": "CN",
        "operator_local_residence": True,
        "operator_industry_experience_months": 0,
        "operator_residence_region_code": "140502",
        "dishonest_debtor": False,
        "joint_punishment": False,
        "consumption_restricted": False,
        "overdue_consecutive_24m": 0,
        "overdue_total_24m": 0,
        "overdue_12m": 0,
        "major_bad_record": False,
        "pending_litigation": False,
        "legal_rep_changed_on": dt.date(2025, 5, 10),
        "main_business_changed_on": dt.date(2025, 5, 10),
    }
    honour = [{"kind": "quality", "valid_from": None, "valid_until": dt.date(2027, 6, 30)}]
    variants = [
        {},
        {"tier": "growth", "annual_revenue": 3000000, "honors": honour},
        {
            "tier": "growth",
            "annual_revenue": 3000000,
            "honors": [{"kind": "quality", "valid_from": None, "valid_until": dt.date(2026, 10, 31)}],
        },
        {"tier": "development", "annual_revenue": 900000, "established_on": dt.date(2023, 1, 10)},
        {"operator_birth_date": dt.date(1963, 5, 1)},
        {"established_on": dt.date(2025, 3, 22)},  # 20 months: 码上贷 and 山西银行 need 24
        {"established_on": dt.date(2024, 11, 22), "tier": "growth", "annual_revenue": 300000},
        {"dishonest_debtor": True},
        {"register_status": "abnormal"},
        {"operator_nationality": "HK"},
        {"tier": None, "honors": honour},
        {"tier": None, "annual_revenue": None, "operator_birth_date": None},
        {"established_on": dt.date(2026, 5, 22), "operator_industry_experience_months": 24},
        {"entity_type": "small_micro_enterprise", "size_class": "small", "tier": None},
        {"industry_id": "0111", "entity_type": "farmer_cooperative"},
        {"industry_id": "5251"},
        {"industry_id": "A"},
        {"region_id": "140500"},
        {"net_assets": -10000, "honors": [{"kind": "renowned", "valid_from": None, "valid_until": None}]},
    ]
    return [{**base, **variant} for variant in variants]


def test_every_catalogue_product_compiled_agrees_with_the_engine_on_realistic_entities(catalogue_of_2026):
    # given realistic entities (the synthetic register) and the worked examples as rows
    entities = save_rows(realistic_entities() + edge_entities())
    ids = [entity.pk for entity in entities]
    versions = list(
        LoanProductVersion.objects.select_related("product__bank").filter(
            pk__in=LoanProduct.objects.values("current_version_id")
        )
    )
    assert len(versions) >= 20
    verdicts = set()
    for version in versions:
        for need in NEEDS:
            # when PostgreSQL evaluates the compiled product for every row
            rows = annotate_eligibility(
                MarketEntity.objects.filter(pk__in=ids), version.definition, as_of=AS_OF, need=need
            )
            got = {
                pk: (v, amount, cap)
                for pk, v, amount, cap in rows.values_list(
                    "pk", "eligibility_verdict", "eligibility_max_amount", "eligibility_binding_cap"
                )
            }
            # then each row has the engine's verdict, offer and binding cap
            for entity in entities:
                result = evaluate_entity(entity, version, AS_OF, need).result
                expected = (result["verdict"], result["max_amount"], result["binding_cap"])
                assert got[entity.pk] == expected, (version.product.code, need, entity.pk)
                verdicts.add(result["verdict"])
            # and eligible_q selects exactly the eligible rows
            eligible = set(
                MarketEntity.objects.filter(pk__in=ids)
                .filter(eligible_q(version.definition, as_of=AS_OF, need=need))
                .values_list("pk", flat=True)
            )
            assert eligible == {pk for pk, value in got.items() if value[0] == "eligible"}
    assert verdicts == {"eligible", "incomplete", "ineligible"}


def test_the_offer_expressions_compute_the_worked_example(catalogue_of_2026):
    # given the growth shop with a valid honour and revenue 3,000,000
    entity = survival_shop(
        tier="growth", annual_revenue=3000000, honors=[{"kind": "quality", "valid_until": dt.date(2027, 6, 30)}]
    )
    compiled = compile_product(version_of("huishangdai").definition, as_of=AS_OF)
    # when the offer is computed in SQL
    row = (
        MarketEntity.objects.filter(pk=entity.pk)
        .annotate(
            amount=expression(compiled.max_amount, BigIntegerField()),
            binding=expression(compiled.binding_cap, CharField()),
        )
        .values_list("amount", "binding")
        .get()
    )
    # then 20% of revenue binds below the honour cap (products.md)
    assert row == (600000, "revenue_share")
