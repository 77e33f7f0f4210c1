"""One year's holiday arrangement as an administrator types it, parsed and checked. Pure
Python, no Django.

One item per line; blank lines and lines starting with # are ignored:

    2027-01-01 元旦                    a single holiday
    2027-02-06..2027-02-13 春节        a holiday range, both ends included (also "至" or "~")
    调休 2027-02-14                    an adjusted working day (a worked Saturday/Sunday)
    调休 2027-02-20 春节               … optionally with the holiday it makes up for
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta

ADJUSTED_PREFIX = "调休"
MAX_RANGE_DAYS = 31
MIN_YEAR, MAX_YEAR = 2004, 2100
WEEKDAY_NAMES = "一二三四五六日"

_DATE = r"\d{4}-\d{1,2}-\d{1,2}"
_HOLIDAY = re.compile(
    rf"^(?P<start>{_DATE})(?:\s*(?:\.\.|至|~|～)\s*(?P<end>{_DATE}))?(?:(?:\s+|(?=[^\x00-\x7f]))(?P<name>.+))?$"
)
_ADJUSTED = re.compile(rf"^{ADJUSTED_PREFIX}\s*(?P<day>{_DATE})(?:(?:\s+|(?=[^\x00-\x7f]))(?P<name>.+))?$")

FORMAT_HELP = "格式: 「2027-01-01 元旦」「2027-02-06..2027-02-13 春节」「调休 2027-02-14」"


@dataclass
class Arrangement:
    year: int
    holidays: dict[date, str] = field(default_factory=dict)
    adjusted_workdays: dict[date, str] = field(default_factory=dict)


class ArrangementInvalid(ValueError):
    def __init__(self, errors: list[str]):
        self.errors = errors
        super().__init__("; ".join(errors))


def _parse_date(text: str) -> date | None:
    try:
        y, m, d = (int(part) for part in text.split("-"))
        return date(y, m, d)
    except ValueError:
        return None


def parse_arrangement(year: int, text: str) -> Arrangement:
    """Parse and validate; raises ArrangementInvalid with every problem found, one message
    per problem, each naming its line."""
    errors: list[str] = []
    if not (MIN_YEAR <= year <= MAX_YEAR):
        raise ArrangementInvalid([f"年份须在 {MIN_YEAR}–{MAX_YEAR} 之间"])
    result = Arrangement(year)
    holiday_line: dict[date, int] = {}
    adjusted_line: dict[date, int] = {}
    adjusted_items: list[tuple[int, date]] = []

    def in_year(no: int, d: date) -> bool:
        if d.year != year:
            errors.append(f"第 {no} 行: {d.isoformat()} 不在 {year} 年内")
            return False
        return True

    for no, raw in enumerate(text.splitlines(), start=1):
        line = " ".join(raw.replace("\u3000", " ").split())
        if not line or line.startswith("#"):
            continue
        adjusted = _ADJUSTED.match(line)
        holiday = None if adjusted else _HOLIDAY.match(line)
        if adjusted is None and holiday is None:
            errors.append(f"第 {no} 行无法识别: 「{line}」。{FORMAT_HELP}")
            continue
        if adjusted:
            day = _parse_date(adjusted["day"])
            if day is None:
                errors.append(f"第 {no} 行: 日期 {adjusted['day']} 不存在")
                continue
            if not in_year(no, day):
                continue
            if day in adjusted_line:
                errors.append(f"第 {no} 行: 调休上班日 {day.isoformat()} 与第 {adjusted_line[day]} 行重复")
                continue
            if day.weekday() < 5:
                errors.append(
                    f"第 {no} 行: 调休上班日 {day.isoformat()} 是星期{WEEKDAY_NAMES[day.weekday()]}, 只能是星期六或"
                    f"星期日"
                )
                continue
            adjusted_line[day] = no
            adjusted_items.append((no, day))
            result.adjusted_workdays[day] = (adjusted["name"] or "").strip()
            continue

        start, end = _parse_date(holiday["start"]), _parse_date(holiday["end"] or holiday["start"])
        bad = [text for text, d in ((holiday["start"], start), (holiday["end"], end)) if text and d is None]
        if bad:
            errors.append(f"第 {no} 行: 日期 {bad[0]} 不存在")
            continue
        name = (holiday["name"] or "").strip()
        if not name:
            errors.append(f"第 {no} 行: 请写明节日名称, 如「{holiday['start']} 元旦」")
            continue
        if name.startswith((ADJUSTED_PREFIX, "上班", "补班")):
            errors.append(f"第 {no} 行: 调休上班日请写成「{ADJUSTED_PREFIX} {holiday['start']}」")
            continue
        if not (in_year(no, start) and in_year(no, end)):
            continue
        if end < start:
            errors.append(f"第 {no} 行: 起始日期 {start.isoformat()} 晚于结束日期 {end.isoformat()}")
            continue
        if (end - start).days + 1 > MAX_RANGE_DAYS:
            errors.append(f"第 {no} 行: 放假区间超过 {MAX_RANGE_DAYS} 天, 请检查日期")
            continue
        days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
        clash = next((d for d in days if d in holiday_line), None)
        if clash is not None:
            other = holiday_line[clash]
            errors.append(f"第 {no} 行: {clash.isoformat()} 与第 {other} 行({result.holidays[clash]})的放假日期重叠")
            continue
        for d in days:
            holiday_line[d] = no
            result.holidays[d] = name

    for no, day in adjusted_items:
        if day in holiday_line:
            errors.append(
                f"第 {no} 行: {day.isoformat()} 已是第 {holiday_line[day]} 行的放假日({result.holidays[day]}), "
                "不能同时是调休上班日"
            )
    if not errors and not result.holidays:
        errors.append("请至少录入一个节假日 (如元旦)")
    if errors:
        raise ArrangementInvalid(errors)
    return result


def format_arrangement(holidays: dict[date, str], adjusted_workdays: dict[date, str]) -> str:
    """The text an administrator would type for these days (consecutive days of one name
    become a range), so a stored year can be shown and edited in the same format."""
    lines: list[str] = []
    run: list[date] = []

    def flush():
        if run:
            name = holidays[run[0]]
            span = run[0].isoformat() if len(run) == 1 else f"{run[0].isoformat()}..{run[-1].isoformat()}"
            lines.append(f"{span} {name}")
            run.clear()

    for d in sorted(holidays):
        if run and (d - run[-1] != timedelta(days=1) or holidays[d] != holidays[run[0]]):
            flush()
        run.append(d)
    flush()
    for d in sorted(adjusted_workdays):
        name = adjusted_workdays[d]
        lines.append(f"{ADJUSTED_PREFIX} {d.isoformat()}" + (f" {name}" if name else ""))
    return "\n".join(lines)
