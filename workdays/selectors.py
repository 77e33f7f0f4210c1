from __future__ import annotations

from datetime import date

from django.db.models import Count, Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from portal.tenancy import restrict

from .models import CalendarDay, CalendarDayKind, CalendarYear


def calendar_year_list(*, user) -> QuerySet[CalendarYear]:
    qs = CalendarYear.objects.select_related("entered_by").annotate(
        holiday_count=Count("days", filter=Q(days__kind=CalendarDayKind.HOLIDAY)),
        adjusted_count=Count("days", filter=Q(days__kind=CalendarDayKind.ADJUSTED_WORKDAY)),
    )
    return restrict(qs, user).order_by("-year")


def calendar_year_get(*, user, year: int) -> CalendarYear:
    return get_object_or_404(restrict(CalendarYear.objects.select_related("entered_by"), user), year=year)


def calendar_days_of(*, user, year: int) -> QuerySet[CalendarDay]:
    return restrict(CalendarDay.objects.filter(year_id=year), user).order_by("date")


def missing_calendar_years(*, today: date | None = None) -> list[int]:
    """This year and next year when the calendar does not know them: the administrators'
    alert (the State Council publishes next year's arrangement in November)."""
    today = today or timezone.localdate()
    wanted = [today.year, today.year + 1]
    known = set(CalendarYear.objects.filter(year__in=wanted).values_list("year", flat=True))
    return [year for year in wanted if year not in known]
