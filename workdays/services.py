from __future__ import annotations

import logging
import uuid
from functools import partial

from django.db import IntegrityError, transaction
from django.utils import timezone

from portal.services import ApplicationError, audit_record

from . import CALENDAR_YEAR_ENTERED_HOOKS
from .arrangement import ArrangementInvalid, parse_arrangement
from .loader import invalidate_calendar_cache
from .models import CalendarDay, CalendarDayKind, CalendarSource, CalendarYear

logger = logging.getLogger(__name__)


def _snapshot(year: CalendarYear | None) -> dict | None:
    if year is None:
        return None
    days = {"holidays": {}, "adjusted_workdays": {}}
    for day in year.days.order_by("date"):
        bucket = "holidays" if day.kind == CalendarDayKind.HOLIDAY else "adjusted_workdays"
        days[bucket][day.date.isoformat()] = day.name
    return {"source": year.source, "notes": year.notes, **days}


def _run_hook(hook, year: int) -> None:
    try:
        hook(year)
    except Exception:  # one broken hook must not keep the others from recomputing
        logger.exception("calendar year %s entered: hook %r failed", year, hook)


def calendar_year_enter(
    *, actor, year: int, text: str, notes: str = "", replace: bool = False, request=None
) -> CalendarYear:
    """Store an administrator's arrangement of `year` (the textarea format of
    `arrangement.py`), replacing the year's days when `replace`; audited; after commit the
    calendar cache is dropped and every CALENDAR_YEAR_ENTERED_HOOKS callable gets the year."""
    try:
        arrangement = parse_arrangement(year, text)
    except ArrangementInvalid as exc:
        raise ApplicationError(exc.errors[0], field_errors={"days": exc.errors}) from exc

    with transaction.atomic():
        row = CalendarYear.objects.select_for_update().filter(year=year).first()
        if row is not None and not replace:
            message = f"{year} 年的节假日安排已录入 ({row.get_source_display()}), 如需修改请勾选「替换已录入的安排」"
            raise ApplicationError(message, field_errors={"replace": [message]}, code="exists")
        before = _snapshot(row)
        now = timezone.now()
        fields = {
            "source": CalendarSource.ADMIN,
            "entered_by": actor,
            "entered_at": now,
            "notes": notes.strip(),
            "revision": uuid.uuid4(),
        }
        if row is None:
            try:
                with transaction.atomic():
                    row = CalendarYear.objects.create(year=year, **fields)
            except IntegrityError as exc:
                raise ApplicationError(f"{year} 年的节假日安排刚被他人录入, 请刷新后再试", code="conflict") from exc
        else:
            for name, value in fields.items():
                setattr(row, name, value)
            row.save()
            CalendarDay.objects.filter(year=row).delete()
        CalendarDay.objects.bulk_create(
            [
                CalendarDay(year=row, date=d, kind=CalendarDayKind.HOLIDAY, name=n)
                for d, n in sorted(arrangement.holidays.items())
            ]
            + [
                CalendarDay(year=row, date=d, kind=CalendarDayKind.ADJUSTED_WORKDAY, name=n)
                for d, n in sorted(arrangement.adjusted_workdays.items())
            ]
        )
        audit_record(
            actor=actor,
            action="workdays.year_enter",
            obj=row,
            before=before,
            after=_snapshot(row),
            request=request,
        )
        transaction.on_commit(invalidate_calendar_cache)
        for hook in list(CALENDAR_YEAR_ENTERED_HOOKS):
            transaction.on_commit(partial(_run_hook, hook, year))
    return row
