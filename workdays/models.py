"""The working-day calendar as data: which years are known, and their holidays and
adjusted working days. Ordinary weekends are not stored; every statutory holiday date
(weekend ones included) and every adjusted working day is, so the arithmetic is exact."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

__all__ = ["CalendarYear", "CalendarDay", "CalendarSource", "CalendarDayKind"]


class CalendarSource(models.TextChoices):
    LIBRARY = "chinese_calendar", "内置节假日数据"
    ADMIN = "admin", "管理员录入"


class CalendarDayKind(models.TextChoices):
    HOLIDAY = "holiday", "放假"
    ADJUSTED_WORKDAY = "adjusted_workday", "调休上班"


class CalendarYear(models.Model):
    """A year whose arrangement is known. A year without a row is not covered: the
    arithmetic refuses it (or, for clocks, falls back to a provisional answer)."""

    year = models.PositiveSmallIntegerField("年份", primary_key=True)
    source = models.CharField("来源", max_length=32, choices=CalendarSource.choices)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="录入人",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    entered_at = models.DateTimeField("录入时间")
    notes = models.TextField("说明", blank=True, default="")
    # changes on every write of the year or its days; processes compare it to know that
    # their cached calendar is stale
    revision = models.UUIDField(default=uuid.uuid4, editable=False)

    class Meta:
        db_table = "matching_calendaryear"  # created by the matching app before the calendar had its own
        verbose_name = verbose_name_plural = "工作日历年份"
        ordering = ["-year"]
        constraints = [
            models.CheckConstraint(condition=Q(source__in=CalendarSource.values), name="calendar_year_source_valid"),
        ]

    def __str__(self):
        return f"{self.year} 年工作日历"


class CalendarDay(models.Model):
    date = models.DateField("日期", unique=True)
    year = models.ForeignKey(CalendarYear, verbose_name="年份", on_delete=models.CASCADE, related_name="days")
    kind = models.CharField("类型", max_length=32, choices=CalendarDayKind.choices)
    name = models.CharField("名称", max_length=32, blank=True, default="")

    class Meta:
        db_table = "matching_calendarday"
        verbose_name = verbose_name_plural = "节假日与调休"
        ordering = ["date"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=CalendarDayKind.values), name="calendar_day_kind_valid"),
        ]

    def __str__(self):
        return f"{self.date:%Y-%m-%d} {self.get_kind_display()} {self.name}".rstrip()
