"""Pure arithmetic against the hand-typed 2025/2026 notices (no database)."""

from datetime import date, datetime, timedelta
from datetime import timezone as dt_timezone

import pytest

from workdays.arithmetic import (
    SHANGHAI,
    WorkdayCalendar,
    YearNotCovered,
    due_after_calendar_days,
    end_of_local_day,
    local_date,
)
from workdays.factories import (
    ADJUSTED_2025,
    ADJUSTED_2026,
    HOLIDAYS_2025,
    HOLIDAYS_2026,
    expected_working,
    hand_calendar,
)

D = date.fromisoformat
CAL = hand_calendar()


def test_the_hand_typed_notices_agree_with_the_chinese_calendar_library():
    # two independent sources for the same two years
    import chinese_calendar

    for year, holidays, adjusted in ((2025, HOLIDAYS_2025, ADJUSTED_2025), (2026, HOLIDAYS_2026, ADJUSTED_2026)):
        days = [date(year, 1, 1) + timedelta(days=i) for i in range(365)]
        assert {d for d in days if chinese_calendar.is_holiday(d) and d.weekday() < 5} == {
            d for ds in holidays.values() for d in ds if d.weekday() < 5
        }
        assert {d for d in days if chinese_calendar.is_workday(d) and d.weekday() >= 5} == set(adjusted)


def test_the_adjusted_working_days_of_the_notices_are_weekends():
    # 2025-01-26 Sun, 02-08 Sat, 04-27 Sun, 09-28 Sun, 10-11 Sat; 2026-01-04 Sun, 02-14 Sat,
    # 02-28 Sat, 05-09 Sat, 09-20 Sun, 10-10 Sat
    weekday = {d.isoformat(): d.weekday() for d in [*ADJUSTED_2025, *ADJUSTED_2026]}
    assert weekday == {
        "2025-01-26": 6,
        "2025-02-08": 5,
        "2025-04-27": 6,
        "2025-09-28": 6,
        "2025-10-11": 5,
        "2026-01-04": 6,
        "2026-02-14": 5,
        "2026-02-28": 5,
        "2026-05-09": 5,
        "2026-09-20": 6,
        "2026-10-10": 5,
    }


def test_every_day_of_2025_and_2026_is_classified_as_the_notices_say():
    d = date(2025, 1, 1)
    while d.year < 2027:
        assert CAL.is_working_day(d) is expected_working(d), d
        d += timedelta(days=1)


def test_2025_and_2026_each_have_248_working_days():
    # 2025: 261 Mon–Fri − 18 holidays on weekdays + 5 worked weekends
    # 2026: 261 Mon–Fri − 19 holidays on weekdays + 6 worked weekends
    assert CAL.working_days_between(D("2024-12-31"), D("2025-12-31")) == 248
    assert CAL.working_days_between(D("2025-12-31"), D("2026-12-31")) == 248


# (day, working?) around each holiday, read off the notices and a wall calendar
AROUND_HOLIDAYS = [
    # 2025 元旦 (Wed)
    ("2024-12-31", None),
    ("2025-01-01", False),
    ("2025-01-02", True),
    # 2025 春节: Sun 01-26 worked, 01-28..02-04 off, Sat 02-08 worked
    ("2025-01-25", False),
    ("2025-01-26", True),
    ("2025-01-27", True),
    ("2025-01-28", False),
    ("2025-02-01", False),
    ("2025-02-04", False),
    ("2025-02-05", True),
    ("2025-02-07", True),
    ("2025-02-08", True),
    ("2025-02-09", False),
    # 2025 清明 Fri–Sun
    ("2025-04-03", True),
    ("2025-04-04", False),
    ("2025-04-06", False),
    ("2025-04-07", True),
    # 2025 劳动节: Sun 04-27 worked, 05-01..05-05 off
    ("2025-04-26", False),
    ("2025-04-27", True),
    ("2025-04-30", True),
    ("2025-05-01", False),
    ("2025-05-05", False),
    ("2025-05-06", True),
    # 2025 端午 Sat–Mon
    ("2025-05-30", True),
    ("2025-05-31", False),
    ("2025-06-02", False),
    ("2025-06-03", True),
    # 2025 国庆·中秋: Sun 09-28 worked, 10-01..10-08 off, Sat 10-11 worked
    ("2025-09-27", False),
    ("2025-09-28", True),
    ("2025-09-30", True),
    ("2025-10-01", False),
    ("2025-10-06", False),
    ("2025-10-08", False),
    ("2025-10-09", True),
    ("2025-10-10", True),
    ("2025-10-11", True),
    ("2025-10-12", False),
    ("2025-10-13", True),
    # year boundary and 2026 元旦: 01-01..01-03 off, Sun 01-04 worked
    ("2025-12-31", True),
    ("2026-01-01", False),
    ("2026-01-02", False),
    ("2026-01-03", False),
    ("2026-01-04", True),
    ("2026-01-05", True),
    # 2026 春节: Sat 02-14 worked, 02-15..02-23 off, Sat 02-28 worked
    ("2026-02-13", True),
    ("2026-02-14", True),
    ("2026-02-15", False),
    ("2026-02-23", False),
    ("2026-02-24", True),
    ("2026-02-27", True),
    ("2026-02-28", True),
    ("2026-03-01", False),
    ("2026-03-02", True),
    # 2026 清明 Sat–Mon
    ("2026-04-03", True),
    ("2026-04-04", False),
    ("2026-04-06", False),
    ("2026-04-07", True),
    # 2026 劳动节: 05-01..05-05 off, Sat 05-09 worked
    ("2026-04-30", True),
    ("2026-05-01", False),
    ("2026-05-05", False),
    ("2026-05-06", True),
    ("2026-05-09", True),
    ("2026-05-10", False),
    # 2026 端午 Fri–Sun
    ("2026-06-18", True),
    ("2026-06-19", False),
    ("2026-06-21", False),
    ("2026-06-22", True),
    # 2026 中秋 Fri–Sun, Sun 09-20 worked (国庆 swap)
    ("2026-09-19", False),
    ("2026-09-20", True),
    ("2026-09-24", True),
    ("2026-09-25", False),
    ("2026-09-27", False),
    ("2026-09-28", True),
    # 2026 国庆: 10-01..10-07 off, Sat 10-10 worked
    ("2026-09-30", True),
    ("2026-10-01", False),
    ("2026-10-07", False),
    ("2026-10-08", True),
    ("2026-10-10", True),
    ("2026-10-11", False),
    # 2027 is not in this calendar
    ("2027-01-04", None),
]


@pytest.mark.parametrize("day, working", AROUND_HOLIDAYS)
def test_is_working_day_around_the_holidays(day, working):
    if working is None:
        with pytest.raises(YearNotCovered) as refused:
            CAL.is_working_day(D(day))
        assert str(D(day).year) in str(refused.value)
    else:
        assert CAL.is_working_day(D(day)) is working


# (start, n, result) counted by hand: counting starts the day after start
ADDS = [
    ("2025-09-30", 5, "2025-10-14"),  # 10-09 Thu, 10-10 Fri, 10-11 Sat (调休), 10-13 Mon, 10-14 Tue
    ("2025-09-30", 4, "2025-10-13"),
    ("2025-09-30", 1, "2025-10-09"),
    ("2025-09-26", 1, "2025-09-28"),  # Sun 09-28 worked
    ("2025-09-26", 2, "2025-09-29"),
    ("2025-10-10", 1, "2025-10-11"),  # Sat 10-11 worked
    ("2025-10-11", 1, "2025-10-13"),
    ("2025-10-01", 0, "2025-10-01"),  # n = 0 is the start itself, holiday or not
    ("2024-12-31", 1, "2025-01-02"),  # the start's year need not be covered: only days after it count
    ("2025-01-24", 1, "2025-01-26"),  # Sun 01-26 worked
    ("2025-01-24", 2, "2025-01-27"),
    ("2025-01-24", 3, "2025-02-05"),  # 01-28..02-04 off
    ("2025-01-27", 1, "2025-02-05"),
    ("2025-02-05", 3, "2025-02-08"),  # 02-06, 02-07, Sat 02-08 worked
    ("2025-02-08", 1, "2025-02-10"),
    ("2025-04-03", 1, "2025-04-07"),  # 清明 Fri–Sun
    ("2025-04-25", 1, "2025-04-27"),  # Sun 04-27 worked
    ("2025-04-26", 5, "2025-05-06"),  # 04-27, 04-28, 04-29, 04-30, 05-06
    ("2025-04-30", 1, "2025-05-06"),
    ("2025-05-30", 1, "2025-06-03"),  # 端午 Sat–Mon
    ("2025-12-26", 5, "2026-01-05"),  # 12-29, 12-30, 12-31, Sun 01-04 (调休), 01-05: across the year boundary
    ("2025-12-30", 2, "2026-01-04"),
    ("2025-12-31", 1, "2026-01-04"),
    ("2025-12-31", 2, "2026-01-05"),
    ("2026-02-13", 1, "2026-02-14"),  # Sat 02-14 worked
    ("2026-02-13", 2, "2026-02-24"),  # 02-15..02-23 off
    ("2026-02-14", 1, "2026-02-24"),
    ("2026-02-24", 4, "2026-02-28"),  # 02-25, 02-26, 02-27, Sat 02-28 worked
    ("2026-02-28", 1, "2026-03-02"),
    ("2026-04-03", 1, "2026-04-07"),  # 清明 Sat–Mon
    ("2026-04-30", 1, "2026-05-06"),
    ("2026-04-30", 4, "2026-05-09"),  # 05-06, 05-07, 05-08, Sat 05-09 worked
    ("2026-05-09", 1, "2026-05-11"),
    ("2026-06-18", 1, "2026-06-22"),  # 端午 Fri–Sun
    ("2026-09-18", 1, "2026-09-20"),  # Sun 09-20 worked
    ("2026-09-24", 1, "2026-09-28"),  # 中秋 Fri–Sun
    ("2026-09-30", 1, "2026-10-08"),
    ("2026-09-30", 5, "2026-10-13"),  # 10-08, 10-09, Sat 10-10, 10-12, 10-13
    ("2026-12-28", 3, "2026-12-31"),  # stops before 2027: no need for that year
    ("2025-01-01", 30, "2025-02-18"),  # Jan: 2,3,6–10,13–17,20–24, Sun 26, 27; Feb: 5,6,7, Sat 8, 10–14, 17, 18
]


@pytest.mark.parametrize("start, n, expected", ADDS)
def test_add_working_days_around_the_holidays(start, n, expected):
    assert CAL.add_working_days(D(start), n) == D(expected)
    # and it is the n-th working day after start, counted the other way
    assert CAL.working_days_between(D(start), D(expected)) == n
    assert CAL.add_working_days_provisional(D(start), n) == (D(expected), False)


@pytest.mark.parametrize(
    "start, n, expected",
    [
        ("2025-10-09", -1, "2025-09-30"),  # backwards over 国庆
        ("2025-10-13", -1, "2025-10-11"),  # Sat 10-11 worked
        ("2025-10-13", -2, "2025-10-10"),
        ("2026-01-05", -1, "2026-01-04"),
        ("2026-01-04", -1, "2025-12-31"),
    ],
)
def test_add_negative_working_days_counts_backwards_from_the_day_before(start, n, expected):
    assert CAL.add_working_days(D(start), n) == D(expected)


def test_adding_into_a_year_not_covered_is_refused_naming_the_year():
    # a push on 2026-12-28: 12-29, 12-30, 12-31, then 2027
    with pytest.raises(YearNotCovered) as refused:
        CAL.add_working_days(D("2026-12-28"), 5)
    assert refused.value.year == 2027
    assert str(refused.value) == "工作日历未包含 2027 年的节假日安排, 请管理员录入"
    with pytest.raises(YearNotCovered, match="2024"):
        CAL.add_working_days(D("2025-01-02"), -2)


def test_provisional_falls_back_to_monday_to_friday_in_a_year_not_covered():
    # 12-29, 12-30, 12-31, Fri 2027-01-01, Mon 2027-01-04 (2027-01-01 may well be 元旦: provisional)
    assert CAL.add_working_days_provisional(D("2026-12-28"), 5) == (D("2027-01-04"), True)
    assert CAL.add_working_days_provisional(D("2026-12-28"), 3) == (D("2026-12-31"), False)
    assert CAL.add_working_days_provisional(D("2027-03-01"), 0) == (D("2027-03-01"), False)
    assert CAL.is_working_day_provisional(D("2027-01-01")) == (True, True)
    assert CAL.is_working_day_provisional(D("2026-10-01")) == (False, False)


def test_working_days_between_is_half_open_and_antisymmetric():
    assert CAL.working_days_between(D("2025-09-30"), D("2025-10-14")) == 5
    assert CAL.working_days_between(D("2025-10-14"), D("2025-09-30")) == -5
    assert CAL.working_days_between(D("2025-10-01"), D("2025-10-08")) == 0
    assert CAL.working_days_between(D("2025-09-30"), D("2025-10-01")) == 0  # (a, b]: 09-30 is excluded
    assert CAL.working_days_between(D("2025-10-08"), D("2025-10-09")) == 1  # b is included
    assert CAL.working_days_between(D("2025-10-09"), D("2025-10-09")) == 0
    assert CAL.working_days_between(D("2025-12-31"), D("2026-01-04")) == 1
    assert CAL.working_days_between(D("2024-12-31"), D("2025-01-02")) == 1  # only (a, b] must be covered


def test_working_days_between_refuses_or_is_provisional_for_a_year_not_covered():
    with pytest.raises(YearNotCovered, match="2027"):
        CAL.working_days_between(D("2026-12-28"), D("2027-01-05"))
    with pytest.raises(YearNotCovered, match="2027"):
        CAL.working_days_between(D("2027-01-05"), D("2026-12-28"))
    assert CAL.working_days_between_provisional(D("2026-12-28"), D("2027-01-04")) == (5, True)
    assert CAL.working_days_between_provisional(D("2027-01-04"), D("2026-12-28")) == (-5, True)
    assert CAL.working_days_between_provisional(D("2026-12-28"), D("2026-12-31")) == (3, False)


def test_due_moment_is_the_end_of_the_local_due_date():
    pushed = datetime(2025, 9, 30, 15, 0, tzinfo=SHANGHAI)
    due = CAL.due_after_working_days(pushed, 5)
    assert due == datetime(2025, 10, 14, 23, 59, 59, 999999, tzinfo=SHANGHAI)
    # the next instant a timestamp can hold is the following local midnight: no gap
    assert due + timedelta(microseconds=1) == datetime(2025, 10, 15, tzinfo=SHANGHAI)
    assert due.astimezone(dt_timezone.utc) == datetime(2025, 10, 14, 15, 59, 59, 999999, tzinfo=dt_timezone.utc)


def test_the_start_date_of_a_due_moment_is_the_local_date():
    # 2025-10-10 16:30 UTC is Saturday 2025-10-11 00:30 in Shanghai: day 0 is the 11th
    started = datetime(2025, 10, 10, 16, 30, tzinfo=dt_timezone.utc)
    assert local_date(started) == D("2025-10-11")
    assert CAL.due_after_working_days(started, 1) == end_of_local_day(D("2025-10-13"))
    with pytest.raises(ValueError):
        local_date(datetime(2025, 10, 10, 12, 0))


def test_provisional_due_moment():
    pushed = datetime(2026, 12, 28, 10, 0, tzinfo=SHANGHAI)
    assert CAL.due_after_working_days_provisional(pushed, 5) == (end_of_local_day(D("2027-01-04")), True)
    with pytest.raises(YearNotCovered):
        CAL.due_after_working_days(pushed, 5)


def test_the_thirty_day_clock_counts_calendar_days_to_the_end_of_the_local_day():
    started = datetime(2025, 9, 30, 9, 0, tzinfo=SHANGHAI)
    assert due_after_calendar_days(started, 30) == datetime(2025, 10, 30, 23, 59, 59, 999999, tzinfo=SHANGHAI)


def test_a_calendar_refuses_inconsistent_data():
    with pytest.raises(ValueError):
        WorkdayCalendar.build({2025}, {D("2025-10-11")}, {D("2025-10-11")})
    with pytest.raises(ValueError):
        WorkdayCalendar.build({2025}, {D("2026-01-01")}, set())


def test_holiday_names_are_kept():
    cal = WorkdayCalendar.build({2025}, {D("2025-10-01"): "国庆节"}, {D("2025-10-11"): "国庆节"})
    assert cal.holiday_name(D("2025-10-01")) == "国庆节"
    assert cal.holiday_name(D("2025-10-02")) == ""
