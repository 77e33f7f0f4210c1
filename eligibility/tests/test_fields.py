import datetime as dt

import pytest

from eligibility.fields import (
    FIELDS,
    RELATIONSHIPS,
    REQUEST_FIELDS,
    add_months,
    from_request,
    honor_status,
    months_between,
    product_facts,
    tobacco_licence_status,
)
from products.catalog.factories import AS_OF, contract_example

D = dt.date


@pytest.mark.parametrize(
    "start, end, months",
    [
        (D(2025, 5, 10), D(2026, 11, 22), 18),  # the contract example
        (D(2025, 5, 25), D(2026, 11, 22), 17),
        (D(2025, 1, 31), D(2025, 2, 28), 1),  # month end clamps
        (D(2024, 2, 29), D(2025, 2, 28), 12),
        (D(2026, 11, 22), D(2026, 11, 22), 0),
    ],
)
def test_months_between(start, end, months):
    assert months_between(start, end) == months


def test_add_months_clamps_to_month_end():
    assert add_months(D(2025, 1, 31), 1) == D(2025, 2, 28)
    assert add_months(D(2024, 12, 15), 14) == D(2026, 2, 15)


def test_contract_example_facts():
    request = contract_example()
    facts = from_request(request["entity"], request["need"], AS_OF)

    assert facts["operating_months"] == 18
    assert facts["operator_age"] == 40
    assert facts["honors_valid"] == ["quality"]
    assert facts["has_valid_honor"] is True
    assert facts["total_assets"] is None
    assert facts["legal_rep_changed_months"] is None
    assert facts["need_amount"] == 100000
    assert facts["nationality"] == "CN"
    # the registry's facts, and the entity's bank relationships (read per product)
    assert set(facts) == set(REQUEST_FIELDS) | {RELATIONSHIPS}


def test_missing_entity_gives_every_fact_unknown():
    facts = from_request({}, None, AS_OF)
    assert all(value is None for value in facts.values())


def test_age_is_whole_years():
    entity = {"operator": {"birth_date": "1963-11-23"}}
    assert from_request(entity, None, AS_OF)["operator_age"] == 62
    entity = {"operator": {"birth_date": "1963-11-22"}}
    assert from_request(entity, None, AS_OF)["operator_age"] == 63


def test_dates_after_as_of_are_unknown():
    assert from_request({"established_on": "2027-01-01"}, None, AS_OF)["operating_months"] is None


@pytest.mark.parametrize(
    "honors, kinds, has_valid",
    [
        (None, None, None),
        ([], [], False),
        ([{"kind": "quality", "valid_until": "2026-11-22"}], ["quality"], True),  # last day is valid
        ([{"kind": "quality", "valid_until": "2026-11-21"}], [], False),
        ([{"kind": "quality", "valid_until": None}], None, None),
        ([{"kind": "renowned", "valid_until": "2027-01-01"}, {"kind": "quality", "valid_until": None}], None, True),
        ([{"kind": "emerging", "valid_from": "2026-12-01", "valid_until": "2027-12-01"}], [], False),
    ],
)
def test_honour_validity(honors, kinds, has_valid):
    assert honor_status(honors, AS_OF) == (kinds, has_valid)


def test_size_class_is_stated_or_classified():
    calls = []

    def classifier(industry, employees, revenue, assets):
        calls.append((industry, employees, revenue, assets))
        return "small"

    entity = {"industry_code": "5291", "employees": 12, "annual_revenue": 2000000}
    assert from_request(entity, None, AS_OF, size_classifier=classifier)["size_class"] == "small"
    assert calls == [("5291", 12, 2000000, None)]
    assert (
        from_request({**entity, "size_class": "micro"}, None, AS_OF, size_classifier=classifier)["size_class"]
        == "micro"
    )
    assert from_request(entity, None, AS_OF)["size_class"] is None


@pytest.mark.parametrize(
    "need_term, max_term, term, years",
    [
        (None, 36, 12, 1),
        (None, None, 12, 1),
        (None, 6, 6, 1),
        (36, 12, 36, 3),
        (13, 36, 13, 2),
    ],
)
def test_product_term(need_term, max_term, term, years):
    facts = product_facts({"need_term_months": need_term, "operator_age": 60}, max_term)
    assert (facts["term_months"], facts["term_years"], facts["age_plus_term_years"]) == (term, years, 60 + years)


def test_every_field_has_a_label_and_a_sql_hint():
    for field in FIELDS.values():
        assert field.label and field.sql, field.key
        assert field.per_product or field.read is not None or field.key == "size_class"
    time_cured = {key for key, field in FIELDS.items() if field.time_cured}
    assert time_cured == {
        "operating_months",
        "operator_age",
        "legal_rep_changed_months",
        "main_business_changed_months",
    }


@pytest.mark.parametrize(
    "licence, status",
    [
        (None, None),  # not known whether the entity holds one
        ({"held": None}, None),
        ({"held": False}, "none"),
        ({"held": True, "valid_until": None}, None),  # held, validity unknown
        ({"held": True, "valid_until": "2026-11-22"}, "valid"),  # through the last day
        ({"held": True, "valid_until": "2026-11-21"}, "expired"),
        ({"held": True, "valid_from": "2026-11-23", "valid_until": "2031-11-22"}, "not_yet_valid"),
        ({"number": "140502100001", "valid_until": "2027-01-01"}, "valid"),  # a number means held
    ],
)
def test_tobacco_licence_status(licence, status):
    facts = from_request({"tobacco_licence": licence}, None, AS_OF)
    assert facts["tobacco_licence"] == status


def test_tobacco_licence_status_checks_start_before_end():
    # the SQL compilation's order of checks: not yet started wins over ended
    assert tobacco_licence_status(True, D(2027, 1, 1), D(2026, 1, 1), AS_OF) == "not_yet_valid"
