"""The calendar's entries in the restriction registry (registered from
``WorkdaysConfig.ready``): calendar years and days are public reference data, everyone may
read them, only platform administrators change them (``portal.tenancy.public``)."""

from __future__ import annotations

from portal.tenancy import public, restriction
from workdays.models import CalendarDay, CalendarYear


def register() -> None:
    """Idempotent."""
    restriction(CalendarYear)(public)
    restriction(CalendarDay)(public)
