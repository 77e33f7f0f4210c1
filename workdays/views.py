from django.contrib import messages
from django.shortcuts import redirect
from django.utils import timezone
from django.views.generic import FormView, TemplateView

from portal import bounds
from portal.mixins import RestrictedListView, RoleRequiredMixin
from portal.models import Role
from portal.services import ApplicationError

from .arrangement import MAX_YEAR, MIN_YEAR, format_arrangement
from .forms import CalendarYearForm
from .models import CalendarDayKind, CalendarYear
from .selectors import calendar_days_of, calendar_year_get, calendar_year_list, missing_calendar_years
from .services import calendar_year_enter

ADMINS = {Role.PLATFORM_ADMIN}


def _spans(years: list[int]) -> str:
    """[2004, 2005, 2006, 2027] -> "2004–2006, 2027"."""
    spans: list[list[int]] = []
    for year in years:
        if spans and year == spans[-1][1] + 1:
            spans[-1][1] = year
        else:
            spans.append([year, year])
    return ", ".join(str(a) if a == b else f"{a}–{b}" for a, b in spans)


class CalendarYearListView(RoleRequiredMixin, RestrictedListView):
    allowed_roles = ADMINS
    template_name = "workdays/year_list.html"
    context_object_name = "years"

    def select(self, *, user, params):
        return calendar_year_list(user=user)

    def get_context_data(self, **kwargs):
        return super().get_context_data(calendar_missing_years=missing_calendar_years(), **kwargs)


class CalendarYearDetailView(RoleRequiredMixin, TemplateView):
    allowed_roles = ADMINS
    template_name = "workdays/year_detail.html"

    def get_context_data(self, **kwargs):
        year = calendar_year_get(user=self.request.user, year=self.kwargs["year"])
        days = list(calendar_days_of(user=self.request.user, year=year.year))
        return super().get_context_data(
            calendar_year=year,
            holidays=[d for d in days if d.kind == CalendarDayKind.HOLIDAY],
            adjusted=[d for d in days if d.kind == CalendarDayKind.ADJUSTED_WORKDAY],
            **kwargs,
        )


class CalendarYearEnterView(RoleRequiredMixin, FormView):
    """Enter (or, with 替换, re-enter) one year's arrangement; ?year=2026 prefills a stored year."""

    allowed_roles = ADMINS
    template_name = "workdays/year_form.html"
    form_class = CalendarYearForm

    def get_initial(self):
        year = bounds.QueryParams(self.request.GET).integer("year", min_value=MIN_YEAR, max_value=MAX_YEAR)
        if year is None:
            missing = missing_calendar_years()
            year = missing[0] if missing else timezone.localdate().year + 1
        initial = {"year": year}
        stored = CalendarYear.objects.filter(year=year).first()
        if stored is not None:
            days = list(stored.days.all())
            initial.update(
                days=format_arrangement(
                    {d.date: d.name for d in days if d.kind == CalendarDayKind.HOLIDAY},
                    {d.date: d.name for d in days if d.kind == CalendarDayKind.ADJUSTED_WORKDAY},
                ),
                notes=stored.notes,
                replace=True,
            )
        return initial

    def get_context_data(self, **kwargs):
        years = sorted(CalendarYear.objects.values_list("year", flat=True))
        return super().get_context_data(covered_years=_spans(years), **kwargs)

    def form_valid(self, form):
        data = form.cleaned_data
        try:
            row = calendar_year_enter(
                actor=self.request.user,
                year=data["year"],
                text=data["days"],
                notes=data["notes"],
                replace=data["replace"],
                request=self.request,
            )
        except ApplicationError as exc:
            for field, errors in exc.field_errors.items():
                for error in errors:
                    form.add_error(field if field in form.fields else None, error)
            if not exc.field_errors:
                form.add_error(None, exc.message)
            return self.form_invalid(form)
        counts = {kind: row.days.filter(kind=kind).count() for kind in CalendarDayKind.values}
        messages.success(
            self.request,
            f"{row.year} 年节假日安排已录入: 放假 {counts[CalendarDayKind.HOLIDAY]} 天, "
            f"调休上班 {counts[CalendarDayKind.ADJUSTED_WORKDAY]} 天",
        )
        return redirect("workdays:year_list")
