"""python manage.py export_report {effectiveness|ledger|ranking|renewals} --period P --region CODE --out FILE.xlsx

Writes one report for scripts and schedules (as the system: everything in the region),
audited like a download (actor: none, via: the command). Exit status 0 on success, 2 with a
Chinese message on bad arguments."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from portal import spreadsheets
from portal.models import Region
from portal.services import ApplicationError
from reporting import exports, ledger, selectors

KINDS = ("effectiveness", "ledger", "ranking", "renewals")
PERIOD = re.compile(r"^\d{4}(-(0[1-9]|1[0-2])|-Q[1-4])?$")


class _Parser(CommandParser):
    """argparse errors in Chinese, exit status 2 (from the command line) or CommandError(returncode=2)."""

    def error(self, message):
        text = f"参数错误: {_chinese(message)}"
        if self.called_from_command_line:
            self.print_usage(sys.stderr)
            self.exit(2, f"{text}\n")
        raise CommandError(text, returncode=2)


def _chinese(message: str) -> str:
    message = message.replace("the following arguments are required", "缺少必需参数")
    message = message.replace("argument", "参数").replace("invalid choice", "无效取值").replace("choose from", "可选")
    message = message.replace("unrecognized arguments", "无法识别的参数").replace("expected one argument", "需要一个值")
    return message


class Command(BaseCommand):
    help = "导出报表(成效统计表 / 台账 / 银行排名通报 / 无还本续贷情况统计表)为 xlsx 或 csv"

    def create_parser(self, prog_name, subcommand, **kwargs):
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.__class__ = _Parser
        return parser

    def add_arguments(self, parser):
        parser.add_argument(
            "kind",
            choices=KINDS,
            help="报表: effectiveness 成效统计表, ledger 台账, ranking 银行排名通报, renewals 无还本续贷情况统计表",
        )
        parser.add_argument("--period", required=True, help="统计期间: YYYY、YYYY-MM 或 YYYY-Qn")
        parser.add_argument("--region", required=True, help="行政区划代码: 140000 省 / 140500 市 / 140525 县")
        parser.add_argument("--out", required=True, help="输出文件 (.xlsx 或 .csv)")
        parser.add_argument(
            "--by", choices=("county", "city", "bank"), default="county", help="成效统计表的分行方式 (默认 county)"
        )
        parser.add_argument("--as-of", dest="as_of", default="", help="统计时点 YYYY-MM-DD (默认现在)")

    def handle(self, *args, kind, period, region, out, by, as_of, **options):
        period = period.strip().upper()
        if not PERIOD.match(period):
            raise CommandError(
                f"期间格式错误: {period!r}, 应为 YYYY、YYYY-MM 或 YYYY-Qn(如 2026、2026-03、2026-Q1)", returncode=2
            )
        try:
            ledger.period_range(period)
        except ValueError:
            raise CommandError(f"期间格式错误: {period!r}", returncode=2) from None
        code = region.strip()
        found = Region.objects.filter(code=code).first()
        if found is None or found.level == "township":
            raise CommandError(
                f"未知的行政区划代码: {code!r}(应为省、市或县级代码, 如 140000、140500、140525)", returncode=2
            )
        path = Path(out)
        extension = path.suffix.lower().lstrip(".")
        if extension not in ("xlsx", "csv"):
            raise CommandError(f"输出文件须以 .xlsx 或 .csv 结尾: {out!r}", returncode=2)
        if not path.parent.exists():
            raise CommandError(f"输出目录不存在: {path.parent}", returncode=2)
        params = {"region": found.scope_prefix, "period": period}
        if as_of:
            params["as_of"] = as_of
        try:
            q = selectors.parse_query(params)
        except ApplicationError as error:
            raise CommandError(f"参数错误: {error.message}", returncode=2) from None
        user = selectors.SYSTEM
        name = exports.filename(kind, q, extension)
        if kind == "effectiveness":
            file = (
                exports.effectiveness_xlsx(user, q, by=by)
                if extension == "xlsx"
                else exports.effectiveness_csv(user, q, by=by)
            )
        elif kind == "ledger":  # the ledger's one export service, which audits it itself
            file = ledger.ledger_export(
                actor=user, filters=q.filters, extension=extension, via=f"export_report --out {path}"
            )
        else:
            table = exports.ranking_table(user, q) if kind == "ranking" else exports.renewals_table(user, q)
            file = (
                exports.table_xlsx(table, user, q, name=name)
                if extension == "xlsx"
                else exports.table_csv(table, q, name=name)
            )
        path.write_bytes(file.content)
        if kind != "ledger":
            filters = {**q.params(), "by": by} if kind == "effectiveness" else q.params()
            spreadsheets.record(
                actor=None, kind=f"reporting.{kind}", file=file, filters=filters, via=f"export_report --out {path}"
            )
        self.stdout.write(f"已导出 {path} ({len(file.content)} 字节)")
