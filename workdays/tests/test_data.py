"""The calendar in the database: seeded by the migration, loaded as a pure calendar."""

from datetime import date, timedelta

import pytest

from workdays.arithmetic import YearNotCovered
from workdays.factories import ADJUSTED_2025, ADJUSTED_2026, HOLIDAYS_2025, HOLIDAYS_2026, SAMPLE_2027, expected_working
from workdays.loader import calendar_from_db
from workdays.models import CalendarDay, CalendarDayKind, CalendarSource, CalendarYear
from workdays.seed import seed_calendar_from_library
from workdays.services import calendar_year_enter

pytestmark = pytest.mark.django_db
D = date.fromisoformat


def test_a_migrated_database_knows_2004_to_2026_from_the_library():
    years = CalendarYear.objects.order_by("year")
    assert list(years.values_list("year", flat=True)) == list(range(2004, 2027))
    assert set(years.values_list("source", flat=True)) == {CalendarSource.LIBRARY}
    assert not CalendarYear.objects.filter(year=2027).exists()


@pytest.mark.parametrize(
    "year, holidays, adjusted", [(2025, HOLIDAYS_2025, ADJUSTED_2025), (2026, HOLIDAYS_2026, ADJUSTED_2026)]
)
def test_the_seeded_days_are_the_notices_days(year, holidays, adjusted):
    stored = CalendarDay.objects.filter(year_id=year)
    assert set(stored.filter(kind=CalendarDayKind.HOLIDAY).values_list("date", flat=True)) == {
        d for days in holidays.values() for d in days
    }
    assert dict(stored.filter(kind=CalendarDayKind.ADJUSTED_WORKDAY).values_list("date", "name")) == adjusted


def test_the_seeded_days_carry_chinese_names():
    names = dict(
        CalendarDay.objects.filter(
            date__in=[D("2025-01-28"), D("2025-10-01"), D("2026-06-19"), D("2026-09-25"), D("2026-01-04")]
        ).values_list("date", "name")
    )
    assert names == {
        D("2025-01-28"): "春节",
        D("2025-10-01"): "国庆节",
        D("2026-06-19"): "端午节",
        D("2026-09-25"): "中秋节",
        D("2026-01-04"): "元旦",
    }


def test_the_calendar_from_the_database_classifies_2025_and_2026_as_the_notices_say():
    calendar = calendar_from_db()
    d = D("2025-01-01")
    while d.year < 2027:
        assert calendar.is_working_day(d) is expected_working(d), d
        d += timedelta(days=1)
    assert calendar.add_working_days(D("2025-09-30"), 5) == D("2025-10-14")
    with pytest.raises(YearNotCovered, match="2027"):
        calendar.add_working_days(D("2026-12-28"), 5)


def test_the_loaded_calendar_is_cached_until_a_year_changes(
    django_assert_num_queries, platform_admin, django_capture_on_commit_callbacks
):
    first = calendar_from_db()
    # given a warm cache, a call costs one small query (the years' revisions)
    with django_assert_num_queries(1):
        assert calendar_from_db() is first
    # when an administrator enters 2027
    with django_capture_on_commit_callbacks(execute=True):
        calendar_year_enter(actor=platform_admin, year=2027, text=SAMPLE_2027)
    # then the next call sees it
    fresh = calendar_from_db()
    assert fresh is not first and fresh.covers(2027)
    # 12-29, 12-30, 12-31, (01-01 元旦, weekend), Mon 01-04, Tue 01-05
    assert fresh.add_working_days(D("2026-12-28"), 5) == D("2027-01-05")


def test_another_process_writing_a_year_is_seen_without_explicit_invalidation():
    calendar_from_db()
    # a write that did not go through this process (no on-commit invalidation here)
    CalendarYear.objects.filter(year=2026).update(revision="00000000-0000-0000-0000-000000000001")
    CalendarDay.objects.filter(date=D("2026-12-31")).delete()
    CalendarDay.objects.create(year_id=2026, date=D("2026-12-31"), kind=CalendarDayKind.HOLIDAY, name="测试")
    assert not calendar_from_db().is_working_day(D("2026-12-31"))


def test_seeding_again_is_idempotent_and_keeps_an_administrators_year(platform_admin):
    # given an administrator re-entered 2026 and someone damaged 2025
    calendar_year_enter(actor=platform_admin, year=2026, text="2026-01-01 元旦", replace=True)
    CalendarDay.objects.filter(date=D("2025-10-08")).delete()
    revision_2024 = CalendarYear.objects.get(year=2024).revision
    # when the library seeding runs again (as after a test flush)
    counts = seed_calendar_from_library()
    # then 2025 is repaired, 2026 stays the administrator's, the rest is untouched
    assert counts == {"created": 0, "updated": 1, "unchanged": 21, "kept_admin": 1}
    assert CalendarDay.objects.filter(date=D("2025-10-08"), kind=CalendarDayKind.HOLIDAY).exists()
    assert CalendarDay.objects.filter(year_id=2026).count() == 1
    assert CalendarYear.objects.get(year=2024).revision == revision_2024
    assert seed_calendar_from_library()["updated"] == 0


def test_seeding_an_empty_database_recreates_every_year():
    CalendarYear.objects.all().delete()
    assert seed_calendar_from_library()["created"] == 23
    assert CalendarDay.objects.filter(year_id=2025).count() == 28 + 5


def test_calendar_data_is_public_reference_data_for_reading_only():
    from portal.factories import user_with_role
    from portal.models import Role
    from portal.tenancy import CHANGE, restrict

    banker = user_with_role(Role.ACCOUNT_MANAGER)
    assert restrict(CalendarYear.objects.all(), banker).count() == 23
    assert restrict(CalendarDay.objects.filter(year_id=2025), banker).count() == 33
    assert not restrict(CalendarYear.objects.all(), banker, CHANGE).exists()
