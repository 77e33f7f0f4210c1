"""Property tests: Kleene consistency, switch = its desugaring, soundness under unknown data,
offer ≤ every cap, validation never raises, date arithmetic."""

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from eligibility import Outcome, Verdict, evaluate, explain, preview, trace_rules, validate_preview_request
from eligibility.fields import ENTITY_TYPES, HONOR_KINDS, TIERS, add_months, from_request, months_between
from eligibility.rules import desugar, node_kind, validate_rules
from products.catalog.factories import catalog

settings.register_profile("engine", deadline=None, max_examples=200)
settings.load_profile("engine")

VALUES = {
    "operating_months": st.integers(0, 60),
    "operator_age": st.integers(16, 70),
    "annual_revenue": st.integers(0, 2_000_000),
    "tier": st.sampled_from(list(TIERS)),
    "entity_type": st.sampled_from(list(ENTITY_TYPES)),
    "dishonest_debtor": st.booleans(),
    "has_valid_honor": st.booleans(),
    "region_code": st.sampled_from(["140502", "140500", "140000", "140105", "110101"]),
    "industry_code": st.sampled_from(["A", "01", "0111", "0311", "F", "52", "5291", "5251"]),
    "honors_valid": st.lists(st.sampled_from(list(HONOR_KINDS)), unique=True),
    "nationality": st.sampled_from(["CN", "HK", "US"]),
}
PREFIXES = {"region_code": ["14", "1405", "140502", "11"], "industry_code": ["A", "01", "03", "F", "52", "5291"]}


def leaf_for(field):
    values = VALUES[field]
    if field in ("dishonest_debtor", "has_valid_honor"):
        return st.builds(lambda op: {"field": field, "op": op}, st.sampled_from(["is_true", "is_false"]))
    if field in PREFIXES:
        return st.builds(
            lambda v, unmatched: {
                "field": field,
                "op": "prefix_in",
                "value": v,
                **({"unmatched": "unknown"} if unmatched else {}),
            },
            st.lists(st.sampled_from(PREFIXES[field]), min_size=1, max_size=3),
            st.booleans(),
        )
    if field == "honors_valid":
        return st.builds(
            lambda op, v: {"field": field, "op": op, "value": v},
            st.sampled_from(["contains", "not_contains"]),
            st.sampled_from(list(HONOR_KINDS)),
        )
    if field in ("tier", "entity_type", "nationality"):
        return st.one_of(
            st.builds(lambda op, v: {"field": field, "op": op, "value": v}, st.sampled_from(["==", "!="]), values),
            st.builds(
                lambda op, v: {"field": field, "op": op, "value": v},
                st.sampled_from(["in", "not_in"]),
                st.lists(values, min_size=1, max_size=3),
            ),
        )
    return st.builds(
        lambda op, v: {"field": field, "op": op, "value": v},
        st.sampled_from(["==", "!=", ">", ">=", "<", "<="]),
        values,
    )


leaves = st.sampled_from(sorted(VALUES)).flatmap(leaf_for)


def groups(children):
    return st.one_of(
        st.builds(lambda c: {"all": c}, st.lists(children, min_size=1, max_size=4)),
        st.builds(lambda c: {"any": c}, st.lists(children, min_size=1, max_size=4)),
        st.builds(lambda c: {"not": c}, children),
        st.builds(
            lambda cases: {"switch": "tier", "cases": cases},
            st.dictionaries(st.sampled_from(list(TIERS)), children, min_size=1),
        ),
    )


trees = st.recursive(leaves, groups, max_leaves=12)
facts = st.fixed_dictionaries({key: st.one_of(st.none(), values) for key, values in VALUES.items()})
full_facts = st.fixed_dictionaries(VALUES)


def outcome(tree, fact_values):
    return trace_rules(tree, fact_values).outcome


def has_not(tree):
    kind = node_kind(tree)
    if kind == "leaf":
        return False
    if kind == "not":
        return True
    if kind == "switch":
        return any(has_not(case) for case in tree["cases"].values())
    return any(has_not(child) for child in tree[kind])


@given(trees)
def test_generated_trees_validate(tree):
    validate_rules(tree)
    validate_rules(desugar(tree))


@given(trees, facts)
def test_switch_means_its_desugaring(tree, fact_values):
    assert outcome(tree, fact_values) is outcome(desugar(tree), fact_values)


@given(trees, trees, facts)
def test_de_morgan_and_double_negation(a, b, fact_values):
    assert outcome({"not": {"all": [a, b]}}, fact_values) is outcome({"any": [{"not": a}, {"not": b}]}, fact_values)
    assert outcome({"not": {"not": a}}, fact_values) is outcome(a, fact_values)
    assert outcome({"all": [a]}, fact_values) is outcome({"any": [a]}, fact_values) is outcome(a, fact_values)


@given(trees, full_facts, st.sets(st.sampled_from(sorted(VALUES))))
def test_unknown_data_never_decides_wrongly(tree, known, hidden):
    """Kleene soundness: a definite outcome on partial data stays the same whatever the
    missing values turn out to be."""
    partial = {key: (None if key in hidden else value) for key, value in known.items()}
    partial_outcome = outcome(tree, partial)
    if partial_outcome is not Outcome.UNKNOWN:
        assert outcome(tree, known) is partial_outcome


@given(trees, facts)
def test_reasons_explain_the_outcome(tree, fact_values):
    trace = trace_rules(tree, fact_values)
    found = {reason.outcome for reason in explain(trace)}
    if has_not(tree):
        return
    if trace.outcome is Outcome.PASS:
        assert found <= {Outcome.PASS}
    else:
        assert trace.outcome in found


@given(trees, facts)
def test_failed_only_gives_every_failed_reason_with_its_message(tree, fact_values):
    # given any tree and facts, when traced composing only the failures' messages
    full, lean = trace_rules(tree, fact_values), trace_rules(tree, fact_values, failed_only=True)
    # then every node has the same outcome, and explain gives the same reasons in the same
    # order: the failed ones word for word, the others without a message
    assert lean.outcome is full.outcome
    full_reasons, lean_reasons = explain(full), explain(lean)
    assert [(r.rule, r.outcome) for r in lean_reasons] == [(r.rule, r.outcome) for r in full_reasons]
    for lean_reason, full_reason in zip(lean_reasons, full_reasons, strict=True):
        if full_reason.outcome is Outcome.FAIL:
            assert lean_reason.message == full_reason.message


caps_lists = st.lists(
    st.one_of(
        st.builds(lambda a: {"kind": "product_cap", "amount": a}, st.integers(1, 5_000_000)),
        st.builds(
            lambda a: {"kind": "tier_cap", "amounts": a},
            st.dictionaries(st.sampled_from(list(TIERS)), st.integers(1, 2_000_000), min_size=1),
        ),
        st.builds(lambda p: {"kind": "revenue_share", "percent": p}, st.integers(1, 100)),
        st.builds(
            lambda p: {"kind": "net_assets_share", "percent": p},
            st.decimals(min_value="0.1", max_value="100", places=1).map(str),
        ),
        st.builds(lambda p: {"kind": "realisable_assets_share", "percent": p}, st.integers(1, 100)),
    ),
    max_size=4,
)
money = st.one_of(st.none(), st.integers(0, 50_000_000))


@given(caps_lists, st.one_of(st.none(), st.sampled_from(list(TIERS))), money, money, money, money)
def test_offer_is_at_most_every_cap(caps, tier, revenue, net_assets, realisable, need):
    fact_values = {
        "tier": tier,
        "annual_revenue": revenue,
        "net_assets": net_assets,
        "operator_realisable_net_assets": realisable,
        "need_amount": need,
    }
    evaluation = evaluate(
        {"field": "dishonest_debtor", "op": "is_false"}, caps, {**fact_values, "dishonest_debtor": False}
    )
    amounts = [c.amount for c in evaluation.caps if c.amount is not None]
    if any(c.outcome is not Outcome.PASS for c in evaluation.caps):
        assert evaluation.max_amount is None and evaluation.verdict is not Verdict.ELIGIBLE
        return
    if not amounts:
        assert evaluation.max_amount is None
        return
    assert isinstance(evaluation.max_amount, int)
    assert evaluation.max_amount == min(amounts) >= 1
    assert all(evaluation.max_amount <= amount for amount in amounts)
    assert any(c.key == evaluation.binding_cap and c.amount == evaluation.max_amount for c in evaluation.caps)


@given(st.integers(0, 10**12), st.integers(1, 100))
def test_share_rounds_down_to_whole_yuan(revenue, percent):
    evaluation = evaluate(
        {"field": "dishonest_debtor", "op": "is_false"},
        [{"kind": "revenue_share", "percent": percent}],
        {"dishonest_debtor": False, "annual_revenue": revenue},
    )
    amount = evaluation.caps[0].amount
    assert amount * 100 <= revenue * percent < (amount + 1) * 100


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=12)),
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)
request_keys = st.sampled_from(["as_of", "entity", "need", "products"])
entity_keys = st.sampled_from(
    [
        "entity_type",
        "established_on",
        "region_code",
        "industry_code",
        "tier",
        "honors",
        "annual_revenue",
        "operator",
        "credit",
        "register_status",
        "operating_region_code",
        "bank_relationships",
    ]
)


@given(
    st.one_of(
        json_values,
        st.dictionaries(request_keys, json_values),
        st.builds(lambda e: {"entity": e}, st.dictionaries(entity_keys, json_values)),
    )
)
def test_validation_never_raises(body):
    clean, errors = validate_preview_request(body, catalog(), today=lambda: dt.date(2026, 11, 22))
    assert (clean is None) == bool(errors)
    if clean is not None:
        response = preview(clean, catalog())
        assert all(r["verdict"] in {"eligible", "incomplete", "ineligible"} for r in response["results"])


@given(st.dates(min_value=dt.date(1950, 1, 1), max_value=dt.date(2100, 1, 1)), st.integers(0, 600))
def test_months_between_inverts_add_months(day, months):
    assert months_between(day, add_months(day, months)) == months


@given(
    st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2030, 1, 1)),
    st.dates(min_value=dt.date(2030, 1, 1), max_value=dt.date(2040, 1, 1)),
    st.integers(0, 400),
)
def test_operating_months_never_decrease(established, as_of, days_later):
    entity = {"established_on": established.isoformat()}
    earlier = from_request(entity, None, as_of)["operating_months"]
    later = from_request(entity, None, as_of + dt.timedelta(days=days_later))["operating_months"]
    assert later >= earlier
