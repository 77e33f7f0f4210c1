"""Seeds the calendar from the chinese-calendar library (2004–2026 in 1.11.0). Idempotent:
used by the data migration, and after a test flush (settings.PORTAL_BASELINE_LOADERS).
A year an administrator entered is never overwritten by the library."""

from __future__ import annotations

import uuid
from datetime import date

from chinese_calendar import constants
from django.apps import apps as global_apps
from django.db import transaction
from django.utils import timezone

# the note of a seeded year, as the 工作日历 page shows it (the interface is Chinese only)
SEED_NOTES = "由内置节假日数据初始化 (国务院办公厅通知)"

LIBRARY_NAMES = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "Mid-autumn Festival": "中秋节",
    "National Day": "国庆节",
    "Anti-Fascist 70th Day": "抗战胜利70周年纪念日",
}


def library_arrangements() -> dict[int, tuple[dict[date, str], dict[date, str]]]:
    """{year: ({holiday: 名称}, {adjusted working day: 名称})} for every year the library knows."""
    result: dict[int, tuple[dict[date, str], dict[date, str]]] = {}
    for index, source in enumerate((constants.holidays, constants.workdays)):
        for day, label in source.items():
            name = LIBRARY_NAMES.get(str(label), str(label))
            result.setdefault(day.year, ({}, {}))[index][day] = name
    return dict(sorted(result.items()))


def seed_calendar_from_library(apps=None, app_label: str = "workdays") -> dict[str, int]:
    registry = apps or global_apps  # a migration's historical models, or today's
    CalendarYear = registry.get_model(app_label, "CalendarYear")
    CalendarDay = registry.get_model(app_label, "CalendarDay")
    counts = {"created": 0, "updated": 0, "unchanged": 0, "kept_admin": 0}
    with transaction.atomic():
        rows = {row.year: row for row in CalendarYear.objects.select_for_update()}
        stored: dict[int, set] = {}
        for year_id, day, kind, name in CalendarDay.objects.values_list("year_id", "date", "kind", "name"):
            stored.setdefault(year_id, set()).add((day, kind, name))
        new_days = []
        for year, (holidays, adjusted) in library_arrangements().items():
            wanted = {(d, "holiday", n) for d, n in holidays.items()} | {
                (d, "adjusted_workday", n) for d, n in adjusted.items()
            }
            row = rows.get(year)
            if row is None:
                row = CalendarYear.objects.create(
                    year=year,
                    source="chinese_calendar",
                    entered_at=timezone.now(),
                    notes=SEED_NOTES,
                )
                counts["created"] += 1
            elif row.source == "admin":
                counts["kept_admin"] += 1
                continue
            elif stored.get(year, set()) == wanted:
                counts["unchanged"] += 1
                continue
            else:
                CalendarDay.objects.filter(year=row).delete()
                row.revision = uuid.uuid4()
                row.entered_at = timezone.now()
                row.save(update_fields=["revision", "entered_at"])
                counts["updated"] += 1
            new_days += [CalendarDay(year=row, date=d, kind=kind, name=n) for d, kind, n in sorted(wanted)]
        CalendarDay.objects.bulk_create(new_days, batch_size=1000)
    return counts
