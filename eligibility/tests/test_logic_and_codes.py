import pytest

from eligibility.codes import industry_path, is_region_code, match_path, region_path
from eligibility.logic import Outcome, all_of, any_of, negate

P, F, U = Outcome.PASS, Outcome.FAIL, Outcome.UNKNOWN


@pytest.mark.parametrize(
    "a, b, conjunction, disjunction",
    [
        (P, P, P, P),
        (P, F, F, P),
        (P, U, U, P),
        (F, F, F, F),
        (F, U, F, U),
        (U, U, U, U),
    ],
)
def test_kleene_truth_tables(a, b, conjunction, disjunction):
    assert all_of([a, b]) is all_of([b, a]) is conjunction
    assert any_of([a, b]) is any_of([b, a]) is disjunction


def test_negation_and_empty_groups():
    assert [negate(x) for x in (P, F, U)] == [F, P, U]
    assert all_of([]) is P and any_of([]) is F


@pytest.mark.parametrize(
    "code, path",
    [
        ("5291", ("F", "52", "529", "5291")),
        ("0111", ("A", "01", "011", "0111")),
        ("a", ("A",)),
        ("03", ("A", "03")),
        ("97", ("T", "97")),
    ],
)
def test_industry_paths(code, path):
    assert industry_path(code) == path


@pytest.mark.parametrize("code", ["", "00", "98", "U", "52911", "5a", "５２", 52, None])
def test_invalid_industry_codes(code):
    assert industry_path(code) is None


@pytest.mark.parametrize(
    "code, path",
    [
        ("140502", ("14", "1405", "140502")),
        ("140500", ("14", "1405")),
        ("140000", ("14",)),
        ("1405", ("14", "1405")),
    ],
)
def test_region_paths(code, path):
    assert region_path(code) == path


@pytest.mark.parametrize("code", ["990101", "14050", "1405021", "abcdef", 140502, None])
def test_invalid_region_codes(code):
    assert not is_region_code(code)


@pytest.mark.parametrize(
    "code, prefix, outcome",
    [
        ("5291", "52", P),
        ("5291", "51", F),
        ("F", "52", U),
        ("52", "5291", U),
        ("A", "F", F),
    ],
)
def test_industry_matching_is_three_valued(code, prefix, outcome):
    assert match_path(industry_path(code), industry_path(prefix)) is outcome


@pytest.mark.parametrize(
    "code, prefix, outcome",
    [
        ("140502", "1405", P),
        ("140105", "1405", F),
        ("140000", "1405", U),
        ("110101", "14", F),
    ],
)
def test_region_matching_is_three_valued(code, prefix, outcome):
    assert match_path(region_path(code), region_path(prefix)) is outcome
