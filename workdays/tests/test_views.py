"""The administrators' 工作日历 pages: list with the missing-year alert, entry form."""

from datetime import date

import pytest
from django.test import Client
from django.urls import NoReverseMatch, reverse

from portal.factories import user_with_role
from portal.models import AuditEvent, Role
from workdays import CALENDAR_YEAR_ENTERED_HOOKS
from workdays.factories import INVALID_ARRANGEMENTS, SAMPLE_2027
from workdays.loader import calendar_from_db
from workdays.models import CalendarDay, CalendarDayKind, CalendarSource, CalendarYear

pytestmark = pytest.mark.django_db


def url(name: str, *args) -> str:
    return reverse(f"workdays:{name}", args=args)


@pytest.fixture(autouse=True)
def _calendar_urls(settings):
    try:
        url("year_list")
    except NoReverseMatch:  # not yet included in portal/urls.py
        settings.ROOT_URLCONF = "workdays.tests.urls"


@pytest.fixture
def admin_client(platform_admin):
    client = Client()
    client.force_login(platform_admin)
    return client


@pytest.fixture
def today_2026_11_25(monkeypatch):
    monkeypatch.setattr("workdays.selectors.timezone.localdate", lambda: date(2026, 11, 25))


def test_the_list_shows_the_years_and_asks_for_next_year(admin_client, today_2026_11_25):
    response = admin_client.get(url("year_list"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "2027 年节假日安排尚未录入" in body
    assert url("year_enter") + "?year=2027" in body
    assert [y.year for y in response.context["years"]][:3] == [2026, 2025, 2024]
    row_2025 = next(y for y in response.context["years"] if y.year == 2025)
    assert (row_2025.holiday_count, row_2025.adjusted_count) == (28, 5)


def test_no_alert_once_next_year_is_entered(admin_client, platform_admin, today_2026_11_25):
    from workdays.services import calendar_year_enter

    calendar_year_enter(actor=platform_admin, year=2027, text=SAMPLE_2027)
    assert "尚未录入" not in admin_client.get(url("year_list")).content.decode()


@pytest.mark.parametrize("role", [Role.BANK_ADMIN, Role.CITY_REGULATOR, Role.TASK_FORCE_LEAD, Role.ENTERPRISE_USER])
def test_other_roles_may_not_open_the_pages(role):
    client = Client()
    client.force_login(user_with_role(role))
    for page in (url("year_list"), url("year_enter"), url("year_detail", 2025)):
        assert client.get(page).status_code == 403
    assert client.post(url("year_enter"), {"year": 2027, "days": SAMPLE_2027}).status_code == 403
    assert not CalendarYear.objects.filter(year=2027).exists()


def test_anonymous_users_are_sent_to_log_in():
    response = Client().get(url("year_list"))
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_the_detail_page_lists_a_years_days(admin_client):
    response = admin_client.get(url("year_detail", 2025))
    assert response.status_code == 200
    assert len(response.context["holidays"]) == 28 and len(response.context["adjusted"]) == 5
    assert admin_client.get(url("year_detail", 2031)).status_code == 404


def test_the_form_proposes_the_missing_year_and_prefills_a_stored_one(admin_client, today_2026_11_25):
    assert admin_client.get(url("year_enter")).context["form"].initial["year"] == 2027
    initial = admin_client.get(url("year_enter") + "?year=2025").context["form"].initial
    assert initial["replace"] is True
    assert "2025-10-01..2025-10-05 国庆节" in initial["days"] and "调休 2025-10-11 国庆节" in initial["days"]


def test_entering_a_year_stores_it_audits_it_and_calls_the_hooks_after_commit(
    admin_client, platform_admin, entered_years, django_capture_on_commit_callbacks
):
    # when the administrator enters 2027
    with django_capture_on_commit_callbacks(execute=False) as pending:
        response = admin_client.post(
            url("year_enter"), {"year": 2027, "days": SAMPLE_2027, "notes": "国办发明电〔2026〕示例号"}
        )
        # then nothing is announced before the transaction commits
        assert entered_years == []
    assert response.status_code == 302 and response["Location"] == url("year_list")
    for callback in pending:
        callback()
    assert entered_years == [2027]

    year = CalendarYear.objects.get(year=2027)
    assert (year.source, year.entered_by, year.notes) == (
        CalendarSource.ADMIN,
        platform_admin,
        "国办发明电〔2026〕示例号",
    )
    assert year.days.filter(kind=CalendarDayKind.HOLIDAY).count() == 26
    assert set(year.days.filter(kind=CalendarDayKind.ADJUSTED_WORKDAY).values_list("date", flat=True)) == {
        date(2027, 2, 20),
        date(2027, 4, 25),
        date(2027, 9, 26),
        date(2027, 10, 9),
    }
    event = AuditEvent.objects.get(action="workdays.year_enter")
    assert event.actor == platform_admin and event.object_id == "2027" and event.before is None
    assert event.after["holidays"]["2027-02-05"] == "春节" and event.after["adjusted_workdays"]["2027-02-20"] == "春节"
    assert calendar_from_db().add_working_days(date(2027, 2, 4), 1) == date(2027, 2, 15)

    followed = admin_client.get(url("year_list"))
    assert "2027 年节假日安排已录入: 放假 26 天, 调休上班 4 天" in followed.content.decode()


def test_a_failing_hook_does_not_stop_the_others(platform_admin, entered_years, django_capture_on_commit_callbacks):
    from workdays.services import calendar_year_enter

    def broken(year):
        raise RuntimeError("boom")

    CALENDAR_YEAR_ENTERED_HOOKS.insert(0, broken)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            calendar_year_enter(actor=platform_admin, year=2027, text=SAMPLE_2027)
    finally:
        CALENDAR_YEAR_ENTERED_HOOKS.remove(broken)
    assert entered_years == [2027]


@pytest.mark.parametrize("text, message", INVALID_ARRANGEMENTS)
def test_each_error_is_shown_on_the_form_and_nothing_is_saved(
    admin_client, entered_years, text, message, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(url("year_enter"), {"year": 2027, "days": text})
    assert response.status_code == 200
    errors = response.context["form"].errors.get("days", [])
    assert any(message in e for e in errors), errors
    assert message in response.content.decode() or not text
    assert not CalendarYear.objects.filter(year=2027).exists()
    assert not AuditEvent.objects.filter(action="workdays.year_enter").exists()
    assert entered_years == []


def test_an_entered_year_is_not_overwritten_without_replace(
    admin_client, entered_years, django_capture_on_commit_callbacks
):
    before = set(CalendarDay.objects.filter(year_id=2026).values_list("date", "kind"))
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(url("year_enter"), {"year": 2026, "days": "2026-01-01 元旦"})
    assert response.status_code == 200
    assert "2026 年的节假日安排已录入" in response.content.decode()
    assert "替换已录入的安排" in response.context["form"].errors["replace"][0]
    assert set(CalendarDay.objects.filter(year_id=2026).values_list("date", "kind")) == before
    assert entered_years == []


def test_replacing_a_year_swaps_all_its_days_and_audits_the_before(
    admin_client, entered_years, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            url("year_enter"), {"year": 2026, "days": "2026-01-01 元旦\n调休 2026-01-04 元旦", "replace": "on"}
        )
    assert response.status_code == 302
    assert dict(CalendarDay.objects.filter(year_id=2026).values_list("date", "kind")) == {
        date(2026, 1, 1): CalendarDayKind.HOLIDAY,
        date(2026, 1, 4): CalendarDayKind.ADJUSTED_WORKDAY,
    }
    assert CalendarYear.objects.get(year=2026).source == CalendarSource.ADMIN
    event = AuditEvent.objects.get(action="workdays.year_enter")
    assert event.before["source"] == CalendarSource.LIBRARY and len(event.before["holidays"]) == 33
    assert entered_years == [2026]
    assert calendar_from_db().is_working_day(date(2026, 10, 1))


def test_a_year_outside_the_accepted_range_is_refused(admin_client):
    response = admin_client.post(url("year_enter"), {"year": 1999, "days": "1999-01-01 元旦"})
    assert response.status_code == 200 and "year" in response.context["form"].errors
