"""The calendar in the database as a pure `WorkdayCalendar`, cached per process.

Each call reads the years' revisions (one small query) and rebuilds the calendar only
when they changed, so an administrator's entry on one machine is seen at once by every
web process and worker, and nothing is shared in memory across machines."""

from __future__ import annotations

from .arithmetic import WorkdayCalendar
from .models import CalendarDay, CalendarDayKind, CalendarYear

_cached: tuple[tuple, WorkdayCalendar] | None = None


def calendar_from_db() -> WorkdayCalendar:
    global _cached
    stamp = tuple(CalendarYear.objects.order_by("year").values_list("year", "revision"))
    cached = _cached
    if cached is not None and cached[0] == stamp:
        return cached[1]
    years = [year for year, _ in stamp]
    holidays, adjusted = {}, {}
    # restricted to the stamped years: a year committed between the two queries is
    # picked up by the next call (its revision is not in this stamp)
    for day, kind, name in CalendarDay.objects.filter(year_id__in=years).values_list("date", "kind", "name"):
        (holidays if kind == CalendarDayKind.HOLIDAY else adjusted)[day] = name
    calendar = WorkdayCalendar.build(years, holidays, adjusted)
    _cached = (stamp, calendar)
    return calendar


def invalidate_calendar_cache() -> None:
    global _cached
    _cached = None
