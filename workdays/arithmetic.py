"""Working-day arithmetic on the Chinese statutory calendar. Pure Python, no Django.

A `WorkdayCalendar` knows, for each year it covers, the statutory holiday dates and the
adjusted working days (调休: a Saturday or Sunday worked in exchange for a holiday). Every
other Monday–Friday of a covered year is a working day, every other Saturday/Sunday is not.

Conventions (the clocks rely on them):

- `add_working_days(start, n)` counts from the day *after* `start`: the result is the n-th
  working day after `start` (n = 0 returns `start` itself). A negative n counts backwards
  from the day before `start`: the |n|-th working day before it.
- `working_days_between(a, b)` is the number of working days in the half-open interval
  (a, b]: `a` excluded, `b` included; it is negative when b < a (antisymmetric). So
  `working_days_between(d, add_working_days(d, n)) == n` for every n >= 0, and for a
  countdown `working_days_between(today, due_date)` is the number of working days left
  with today already spent (0 on the due date itself).
- A due *moment* is the end of the local (Asia/Shanghai) due date: 23:59:59.999999, the
  last instant a timestamp (Python or PostgreSQL, both microsecond resolution) can hold
  on that day. Overdue means `now > due_at`; there is no gap before the next day.

A year the calendar does not cover raises `YearNotCovered`; only the explicitly
provisional variants fall back to plain Monday–Friday for such a year, and say so.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
END_OF_DAY = time(23, 59, 59, 999999)
_DAY = timedelta(days=1)


class YearNotCovered(LookupError):
    """The calendar has no holiday arrangement for `year`; an administrator must enter it."""

    def __init__(self, year: int):
        self.year = year
        self.message = f"工作日历未包含 {year} 年的节假日安排, 请管理员录入"
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message


def _is_weekend(d: date) -> bool:
    return d.weekday() >= 5


@dataclass(frozen=True, eq=False)
class WorkdayCalendar:
    years: frozenset[int]
    holidays: frozenset[date]
    adjusted_workdays: frozenset[date]
    names: Mapping[date, str] = field(default_factory=dict, repr=False)

    def __post_init__(self):
        years, holidays, adjusted = frozenset(self.years), frozenset(self.holidays), frozenset(self.adjusted_workdays)
        both = holidays & adjusted
        if both:
            raise ValueError(f"dates both holiday and adjusted working day: {sorted(both)}")
        stray = sorted(d for d in holidays | adjusted if d.year not in years)
        if stray:
            raise ValueError(f"dates outside the covered years: {stray[:5]}")
        object.__setattr__(self, "years", years)
        object.__setattr__(self, "holidays", holidays)
        object.__setattr__(self, "adjusted_workdays", adjusted)
        object.__setattr__(self, "names", dict(self.names))
        # only the dates that change the plain Mon–Fri answer matter for counting
        object.__setattr__(self, "_off_weekdays", tuple(sorted(d for d in holidays if not _is_weekend(d))))
        object.__setattr__(self, "_on_weekends", tuple(sorted(d for d in adjusted if _is_weekend(d))))

    @classmethod
    def build(
        cls,
        years: Iterable[int],
        holidays: Mapping[date, str] | Iterable[date],
        adjusted_workdays: Mapping[date, str] | Iterable[date],
    ) -> WorkdayCalendar:
        names: dict[date, str] = {}
        for source in (holidays, adjusted_workdays):
            if isinstance(source, Mapping):
                names.update(source)
        return cls(frozenset(years), frozenset(holidays), frozenset(adjusted_workdays), names)

    # --- single days -------------------------------------------------------------------

    def covers(self, year: int) -> bool:
        return year in self.years

    def require(self, year: int) -> None:
        if year not in self.years:
            raise YearNotCovered(year)

    def is_working_day(self, d: date) -> bool:
        self.require(d.year)
        return self._working(d)

    def is_working_day_provisional(self, d: date) -> tuple[bool, bool]:
        """(working?, provisional?) — plain Mon–Fri for a year the calendar does not cover."""
        if d.year in self.years:
            return self._working(d), False
        return not _is_weekend(d), True

    def holiday_name(self, d: date) -> str:
        return self.names.get(d, "")

    def _working(self, d: date) -> bool:
        if d in self.adjusted_workdays:
            return True
        if d in self.holidays:
            return False
        return not _is_weekend(d)

    # --- adding --------------------------------------------------------------------------

    def add_working_days(self, start: date, n: int) -> date:
        result, _ = self._add(start, n, strict=True)
        return result

    def add_working_days_provisional(self, start: date, n: int) -> tuple[date, bool]:
        """Like `add_working_days`, but a year the calendar does not cover counts as plain
        Mon–Fri; `provisional` is True when any day stepped over lies in such a year."""
        return self._add(start, n, strict=False)

    def _add(self, start: date, n: int, *, strict: bool) -> tuple[date, bool]:
        step = _DAY if n >= 0 else -_DAY
        remaining = abs(n)
        provisional = False
        d = start
        while remaining:
            d += step
            if d.year in self.years:
                working = self._working(d)
            elif strict:
                raise YearNotCovered(d.year)
            else:
                provisional = True
                working = not _is_weekend(d)
            if working:
                remaining -= 1
        return d, provisional

    # --- counting ------------------------------------------------------------------------

    def working_days_between(self, a: date, b: date) -> int:
        """Working days in (a, b]; negative when b < a. Needs every year of that interval."""
        if b < a:
            return -self.working_days_between(b, a)
        if a == b:
            return 0
        for year in range((a + _DAY).year, b.year + 1):
            self.require(year)
        return self._count(a, b)

    def working_days_between_provisional(self, a: date, b: date) -> tuple[int, bool]:
        """Like `working_days_between`, with plain Mon–Fri for years not covered."""
        if b < a:
            count, provisional = self.working_days_between_provisional(b, a)
            return -count, provisional
        if a == b:
            return 0, False
        provisional = any(y not in self.years for y in range((a + _DAY).year, b.year + 1))
        return self._count(a, b), provisional

    def _count(self, a: date, b: date) -> int:
        # plain weekdays in (a, b], minus weekday holidays, plus worked weekends; a year not
        # covered contributes no exceptions, which is exactly the provisional rule
        count = _weekdays_through(b) - _weekdays_through(a)
        count -= bisect_right(self._off_weekdays, b) - bisect_right(self._off_weekdays, a)
        count += bisect_right(self._on_weekends, b) - bisect_right(self._on_weekends, a)
        return count

    # --- moments -----------------------------------------------------------------------

    def due_after_working_days(self, started_at: datetime, n: int) -> datetime:
        """End (23:59:59.999999 Asia/Shanghai) of the n-th working day after the local date
        of `started_at`. The day the clock starts never counts, whatever its hour."""
        return end_of_local_day(self.add_working_days(local_date(started_at), n))

    def due_after_working_days_provisional(self, started_at: datetime, n: int) -> tuple[datetime, bool]:
        d, provisional = self.add_working_days_provisional(local_date(started_at), n)
        return end_of_local_day(d), provisional


def _weekdays_through(d: date) -> int:
    """Mondays–Fridays from a fixed epoch up to and including `d` (any monotone origin)."""
    ordinal = d.toordinal()  # date(1, 1, 1) is a Monday and has ordinal 1
    weeks, rest = divmod(ordinal, 7)
    return weeks * 5 + min(rest, 5)


def local_date(moment: datetime) -> date:
    """The Asia/Shanghai calendar date of an aware moment (naive moments are refused)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("an aware datetime is required")
    return moment.astimezone(SHANGHAI).date()


def end_of_local_day(d: date) -> datetime:
    return datetime.combine(d, END_OF_DAY, tzinfo=SHANGHAI)


def due_after_calendar_days(started_at: datetime, days: int) -> datetime:
    """End of the local date `days` calendar days after the start date (the 30-day clock)."""
    return end_of_local_day(local_date(started_at) + timedelta(days=days))
