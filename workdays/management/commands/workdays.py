"""`manage.py workdays add DATE N` / `manage.py workdays check DATE` on the calendar in the
database. No provisional answers: a year the calendar does not cover exits 2 naming it,
and so does a malformed DATE or N."""

import re
from datetime import date

from django.core.management.base import BaseCommand, CommandError

from workdays.arithmetic import YearNotCovered
from workdays.loader import calendar_from_db

USAGE_ERROR = 2
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _date(text: str) -> date:
    try:
        if not _ISO.match(text):
            raise ValueError
        return date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"日期格式错误: 「{text}」, 应为 YYYY-MM-DD", returncode=USAGE_ERROR) from None


def _count(text: str) -> int:
    if not re.fullmatch(r"\d{1,5}", text.strip()):
        raise CommandError(f"工作日数错误: 「{text}」, 应为非负整数", returncode=USAGE_ERROR)
    return int(text)


class Command(BaseCommand):
    help = "工作日计算: add DATE N 输出 DATE 之后第 N 个工作日 (从次日起算); check DATE 输出 working 或 holiday"

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        add = sub.add_parser("add", help="DATE 之后第 N 个工作日 (YYYY-MM-DD)")
        add.add_argument("date")
        add.add_argument("n")
        check = sub.add_parser("check", help="DATE 是否工作日: working / holiday")
        check.add_argument("date")

    def handle(self, *args, **options):
        day = _date(options["date"])
        n = _count(options["n"]) if options["action"] == "add" else None
        calendar = calendar_from_db()
        try:
            if n is not None:
                self.stdout.write(calendar.add_working_days(day, n).isoformat())
            else:
                self.stdout.write("working" if calendar.is_working_day(day) else "holiday")
        except YearNotCovered as exc:
            raise CommandError(exc.message, returncode=USAGE_ERROR) from None
