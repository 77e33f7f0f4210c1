"""The two interpreters agree: ``evaluate`` (the engine, on an entity row's facts) and
``compile`` (SQL over the same rows in PostgreSQL), three-valued logic included.

unknown ⇔ NULL: pass ⇔ IS TRUE, fail ⇔ IS FALSE, unknown ⇔ IS NULL for rule trees;
eligible ⇔ IS TRUE, ineligible ⇔ IS FALSE, incomplete ⇔ IS NULL for verdicts.
"""

import datetime as dt

import pytest
from django.db import connection, transaction
from django.db.models import BigIntegerField, BooleanField, CharField
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from batch_matching.compile import (
    CONSTANT_FIELDS,
    compile_product,
    compile_rules,
    expression,
    honors_sql,
    leaf_compiler,
    relationships_sql,
)
from batch_matching.factories import (
    as_of_dates,
    cap_lists,
    entity_rows,
    max_terms,
    needs,
    product_banks,
    relationship_trees,
    rule_trees,
    save_rows,
)
from eligibility import Outcome, evaluate_product, trace_rules
from eligibility.caps import cap_errors
from eligibility.fields import FIELDS, product_facts
from eligibility.rules import rule_errors
from entities.models import BankRelationship, MarketEntity
from products.eligibility import entity_facts

pytestmark = pytest.mark.django_db

PROPERTY_SETTINGS = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
SQL_OUTCOME = {True: Outcome.PASS, False: Outcome.FAIL, None: Outcome.UNKNOWN}


@st.composite
def rule_scenarios(draw):
    as_of = draw(as_of_dates)
    return {
        "as_of": as_of,
        "rows": draw(st.lists(entity_rows(as_of), min_size=1, max_size=6)),
        "trees": draw(st.lists(rule_trees, min_size=1, max_size=4)),
        "need": draw(needs),
        "max_term": draw(max_terms),
        "bank": draw(product_banks),
    }


@st.composite
def product_scenarios(draw):
    as_of = draw(as_of_dates)
    max_term = draw(max_terms)
    definition = {
        "code": "random",
        "rules": draw(rule_trees),
        "caps": draw(cap_lists),
        "term": {"max_months": max_term} if max_term else {},
    }
    bank = draw(product_banks)
    if bank is not None:
        definition["bank"] = bank
    return {
        "as_of": as_of,
        "rows": draw(st.lists(entity_rows(as_of), min_size=1, max_size=6)),
        "definition": definition,
        "need": draw(needs),
    }


def _sql_values(entities, sql, output_field=None):
    rows = (
        MarketEntity.objects.filter(pk__in=[e.pk for e in entities])
        .annotate(value=expression(sql, output_field or BooleanField()))
        .values_list("pk", "value")
    )
    return dict(rows)


def _joined_values(entities, tree, *, as_of, need=None, max_term=None, bank=None):
    """The tree's values the way a batch plan reads them: the bank's relationship row and the
    entity's honours joined once per entity (``relationships_sql``, ``honors_sql``), not read
    by a subquery per leaf."""
    sql = compile_rules(
        tree, as_of=as_of, need=need, max_term_months=max_term, bank=bank, relationships="rel", honors="hon"
    )
    joins = [honors_sql("hon", as_of)] + ([relationships_sql(bank, "rel")] if bank else [])
    table = MarketEntity._meta.db_table
    statement = (
        f'SELECT "{table}"."id", {sql.sql} FROM "{table}" {" ".join(j.sql for j in joins)} '
        f'WHERE "{table}"."id" = ANY(%s)'
    )
    params = sql.params + tuple(p for j in joins for p in j.params) + ([e.pk for e in entities],)
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return dict(cursor.fetchall())


class _Rollback(Exception):
    pass


def _in_rolled_back_transaction(check):
    # each example writes its own rows and leaves nothing behind for the next one
    try:
        with transaction.atomic():
            check()
            raise _Rollback
    except _Rollback:
        pass


def test_every_registry_field_has_a_sql_translation():
    # given the field registry, then the compiler knows how to reach each field
    for field in FIELDS.values():
        assert leaf_compiler(field) is not None, field.key
    # and the columns it names exist on the entity table (a bank relationship's on its own)
    columns = {f.column for f in MarketEntity._meta.concrete_fields}
    relationship_columns = {f.column for f in BankRelationship._meta.concrete_fields}
    for field in FIELDS.values():
        if field.key in CONSTANT_FIELDS or field.derive in ("valid_honor_kinds", "has_valid_honor"):
            continue
        if field.derive == "bank_relationship":
            assert field.sql in relationship_columns, (field.key, field.sql)
            continue
        assert field.sql in columns, (field.key, field.sql)


@PROPERTY_SETTINGS
@given(scenario=rule_scenarios())
def test_compiled_rule_trees_agree_with_evaluate_on_random_entities(scenario):
    as_of, need, max_term, bank = scenario["as_of"], scenario["need"], scenario["max_term"], scenario["bank"]
    for tree in scenario["trees"]:
        assert rule_errors(tree) == []  # the generator draws only valid trees

    def check():
        # given random entities written as rows
        entities = save_rows(scenario["rows"])
        for tree in scenario["trees"]:
            # when the tree is compiled and PostgreSQL evaluates it for every row
            sql = compile_rules(tree, as_of=as_of, need=need, max_term_months=max_term, bank=bank)
            values = _sql_values(entities, sql)
            # and the batch plan's joined form gives every row the same value
            assert _joined_values(entities, tree, as_of=as_of, need=need, max_term=max_term, bank=bank) == values
            # then each row's NULL/TRUE/FALSE is the engine's unknown/pass/fail
            for entity in entities:
                facts = product_facts(entity_facts(entity, as_of, need), max_term, bank)
                expected = trace_rules(tree, facts).outcome
                event(f"rules {expected}")
                assert SQL_OUTCOME[values[entity.pk]] is expected, (tree, facts, values[entity.pk])

    _in_rolled_back_transaction(check)


@st.composite
def relationship_scenarios(draw):
    as_of = draw(as_of_dates)
    return {
        "as_of": as_of,
        "rows": draw(st.lists(entity_rows(as_of), min_size=2, max_size=6)),
        "trees": draw(st.lists(relationship_trees, min_size=1, max_size=4)),
        "bank": draw(st.sampled_from(["ccb", "boc", None])),
    }


@PROPERTY_SETTINGS
@given(scenario=relationship_scenarios())
def test_the_product_banks_relationship_facts_compile_like_the_engine(scenario):
    """001 附件2 示范标杆商户: "在建设银行累计用款期限 24 个月（含）以上 … 在建设银行无不良贷款记录 …
    在建设银行授信额度在 50 万元以上（含 50 万元）": a product reads the relationship with its
    own bank; the SQL (a subquery per bank) and the engine agree, no row being unknown."""
    as_of, bank = scenario["as_of"], scenario["bank"]

    def check():
        entities = save_rows(scenario["rows"])
        for tree in scenario["trees"]:
            values = _sql_values(entities, compile_rules(tree, as_of=as_of, bank=bank))
            assert _joined_values(entities, tree, as_of=as_of, bank=bank) == values  # the batch plan's form
            for entity in entities:
                facts = product_facts(entity_facts(entity, as_of), None, bank)
                expected = trace_rules(tree, facts).outcome
                event(f"relationship {expected}")
                assert SQL_OUTCOME[values[entity.pk]] is expected, (tree, bank, facts, values[entity.pk])

    _in_rolled_back_transaction(check)


@PROPERTY_SETTINGS
@given(scenario=product_scenarios())
def test_compiled_verdict_and_offer_agree_with_evaluate_on_random_products(scenario):
    as_of, need, definition = scenario["as_of"], scenario["need"], scenario["definition"]
    assert cap_errors(definition["caps"]) == []

    def check():
        entities = save_rows(scenario["rows"])
        compiled = compile_product(definition, as_of=as_of, need=need)
        rows = (
            MarketEntity.objects.filter(pk__in=[e.pk for e in entities])
            .annotate(
                verdict=expression(compiled.verdict_label, CharField()),
                max_amount=expression(compiled.max_amount, BigIntegerField()),
                binding=expression(compiled.binding_cap, CharField()),
            )
            .values_list("pk", "verdict", "max_amount", "binding")
        )
        got = {pk: (verdict, amount, binding) for pk, verdict, amount, binding in rows}
        for entity in entities:
            evaluation = evaluate_product(definition, entity_facts(entity, as_of, need))
            expected = (evaluation.verdict.value, evaluation.max_amount, evaluation.binding_cap)
            event(f"verdict {evaluation.verdict.value}, offer {'none' if evaluation.max_amount is None else 'some'}")
            assert got[entity.pk] == expected, (definition, entity_facts(entity, as_of, need))

    _in_rolled_back_transaction(check)


def test_unknown_is_null_and_a_known_fail_is_false_for_a_simple_rule():
    # given one entity without an establishment date and one established 20 months ago
    as_of = dt.date(2026, 11, 22)
    unknown, young = save_rows(
        [
            {"entity_type": "individual_business", "region_id": "140525", "established_on": None},
            {"entity_type": "individual_business", "region_id": "140525", "established_on": dt.date(2025, 3, 22)},
        ]
    )
    rule = {"field": "operating_months", "op": ">=", "value": 24}
    # when compiled
    values = _sql_values([unknown, young], compile_rules(rule, as_of=as_of))
    # then the missing date is NULL (unknown), the 20 months FALSE (fail)
    assert values == {unknown.pk: None, young.pk: False}
    # and filtering with the expression keeps neither, its negation only the known fail
    sql = compile_rules(rule, as_of=as_of)
    assert not MarketEntity.objects.filter(pk__in=[unknown.pk, young.pk]).filter(expression(sql)).exists()
