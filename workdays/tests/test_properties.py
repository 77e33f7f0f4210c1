"""Properties over every year the library knows (2004–2026), no database."""

from datetime import date, timedelta

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from workdays.arithmetic import WorkdayCalendar, YearNotCovered
from workdays.seed import library_arrangements

_ARRANGEMENTS = library_arrangements()
CAL = WorkdayCalendar.build(
    _ARRANGEMENTS,
    {d: n for holidays, _ in _ARRANGEMENTS.values() for d, n in holidays.items()},
    {d: n for _, adjusted in _ARRANGEMENTS.values() for d, n in adjusted.items()},
)

days = st.dates(min_value=date(2004, 1, 1), max_value=date(2026, 12, 31))
counts = st.integers(min_value=0, max_value=400)


def _add(d, n):
    try:
        return CAL.add_working_days(d, n)
    except YearNotCovered:
        assume(False)


def _slow_between(a, b):
    return sum(CAL.is_working_day(a + timedelta(days=i)) for i in range(1, (b - a).days + 1))


@settings(max_examples=300, deadline=None)
@given(days, counts, counts)
def test_add_working_days_is_strictly_monotonic_in_n(d, n1, n2):
    n1, n2 = sorted((n1, n2))
    a, b = _add(d, n1), _add(d, n2)
    assert a <= b
    assert (a < b) == (n1 < n2)


@settings(max_examples=300, deadline=None)
@given(days, days, counts)
def test_add_working_days_is_monotonic_in_the_start(d1, d2, n):
    d1, d2 = sorted((d1, d2))
    assert _add(d1, n) <= _add(d2, n)


@settings(max_examples=300, deadline=None)
@given(days, counts)
def test_between_a_start_and_n_working_days_later_is_n(d, n):
    later = _add(d, n)
    assert CAL.working_days_between(d, later) == n
    if n:
        assert CAL.is_working_day(later)
        # and no earlier day already completes the count
        assert CAL.working_days_between(d, later - timedelta(days=1)) == n - 1


@settings(max_examples=300, deadline=None)
@given(days, st.integers(min_value=-800, max_value=800))
def test_between_agrees_with_counting_day_by_day_and_is_antisymmetric(a, offset):
    b = a + timedelta(days=offset)
    assume(date(2004, 1, 1) <= b <= date(2026, 12, 31))
    lo, hi = sorted((a, b))
    assert CAL.working_days_between(lo, hi) == _slow_between(lo, hi)
    assert CAL.working_days_between(a, b) == -CAL.working_days_between(b, a)


@settings(max_examples=200, deadline=None)
@given(days, st.integers(min_value=1, max_value=200))
def test_negative_n_undoes_positive_n_from_a_working_day(d, k):
    assume(CAL.is_working_day(d))
    try:
        earlier = CAL.add_working_days(d, -k)
    except YearNotCovered:
        assume(False)
    assert CAL.is_working_day(earlier)
    assert CAL.add_working_days(earlier, k) == d
    assert CAL.working_days_between(earlier, d) == k


@settings(max_examples=200, deadline=None)
@given(days, counts)
def test_provisional_equals_strict_wherever_strict_answers(d, n):
    try:
        strict = CAL.add_working_days(d, n)
    except YearNotCovered:
        result, provisional = CAL.add_working_days_provisional(d, n)
        assert provisional and result.year >= 2027
        return
    assert CAL.add_working_days_provisional(d, n) == (strict, False)
