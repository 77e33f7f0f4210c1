"""Spreadsheets of reporting: the 成效统计表 laid out as a government statistics table (title,
reporting unit, period, as-of moment, unit of measure, two-level headers, rows by county or
by bank, a 合计 row, notes, signature line), the bank ranking (排名通报), the 无还本续贷
table and any dashboard table; xlsx printed one page wide like every government form, and
csv (UTF-8 with BOM) for the tabular ones. All written by portal.spreadsheets (text never a
formula, numbers stay numbers) and returned as spreadsheets.File; the ledger is
reporting.ledger's one export (ledger_export)."""

from __future__ import annotations

from decimal import Decimal

from django.utils import timezone

from portal import spreadsheets
from portal.models import Organisation
from portal.spreadsheets import XLSX, Style
from portal.tenancy import scope_for
from reporting import dashboard, kpis, selectors
from reporting.dashboard import PERCENT, WAN, Table, display

EFFECTIVENESS_TITLE = "支持小微企业融资协调工作机制成效统计表"
_FORMATS = {WAN: "#,##0.00", PERCENT: '0.0"%"', "rate": "0.000", "score": "0.00", "int": "#,##0"}
_HEADER = spreadsheets.HEADER

# (group, header, value of a Figures, kind)
EFFECTIVENESS_COLUMNS: list[tuple[str, str, object, str]] = [
    ("走访摸排", "走访经营主体(户)", lambda f: f.visited, "int"),
    ("申报清单", "企业(户)", lambda f: f.declared, "int"),
    ("申报清单", "申报金额", lambda f: f.declared_amount, WAN),
    ("推荐清单", "企业(户)", lambda f: f.recommended, "int"),
    ("推荐清单", "融资需求", lambda f: f.need_amount, WAN),
    ("推荐清单", "其中已移出(户)", lambda f: f.removed, "int"),
    ("银行对接", "已对接(户)", lambda f: f.contacted, "int"),
    ("授信", "企业(户)", lambda f: f.credited, "int"),
    ("授信", "笔数", lambda f: f.credited_rows, "int"),
    ("授信", "金额", lambda f: f.credit_amount, WAN),
    ("放款", "企业(户)", lambda f: f.disbursed, "int"),
    ("放款", "金额", lambda f: f.disbursed_amount, WAN),
    ("其中: 信用贷款", "笔数", lambda f: f.credit_loans, "int"),
    ("其中: 信用贷款", "金额", lambda f: f.credit_loan_amount, WAN),
    ("其中: 首贷", "首贷户(户)", lambda f: f.first_loans, "int"),
    ("其中: 中长期贷款", "笔数", lambda f: f.medium_long, "int"),
    ("其中: 中长期贷款", "金额", lambda f: f.medium_long_amount, WAN),
    ("贷款利率(%)", "平均", lambda f: f.average_rate(), "rate"),
    ("贷款利率(%)", "加权平均", lambda f: f.weighted_rate(), "rate"),
    ("办理时限", "反馈逾期(笔)", lambda f: f.feedback_late, "int"),
    ("办理时限", "决策逾期(笔)", lambda f: f.decision_late, "int"),
    ("三个100%", "对接覆盖率", lambda f: f.contact_coverage().percent, PERCENT),
    ("三个100%", "评级授信率", lambda f: f.credit_rate().percent, PERCENT),
    ("三个100%", "贷款落地率", lambda f: f.landing_rate().percent, PERCENT),
]


def _cell_value(value, kind: str):
    if value is None:
        return None
    if kind == WAN:
        return kpis.wan(value)
    if kind in ("rate", "score"):
        return Decimal(value)
    return value


def reporting_unit(user, q: selectors.ReportQuery, unit: str | None = None) -> str:
    if unit:
        return unit
    scope = scope_for(user)
    if scope and scope.organisation_id:
        organisation = Organisation.objects.filter(pk=scope.organisation_id).first()
        if organisation:
            return organisation.name
    prefix = selectors.scope_region_prefix(user, q)
    code = selectors.scope_region_code(prefix)
    name = selectors.region_names([code]).get(code) if code else None
    return f"{name}支持小微企业融资协调工作机制" if name else "政银企融资对接平台"


def _period_text(q: selectors.ReportQuery) -> str:
    f = q.filters
    if f.period:
        return f"{q.period_label}({f.date_from:%Y-%m-%d} 至 {f.date_to:%Y-%m-%d})"
    if f.date_from or f.date_to:
        return f"{f.date_from or '…'} 至 {f.date_to or '…'}"
    return "全部"


class _Sheet:
    """A government-style table on one worksheet."""

    def __init__(self, sheet: spreadsheets.Sheet, width: int):
        self.sheet, self.width, self.row = sheet, width, 1

    def title(self, text: str):
        self.sheet.merge(self.row, 1, self.row, self.width)
        self.sheet.write(self.row, 1, text, style=Style(bold=True, size=16, align="center", valign="center"))
        self.sheet.height(self.row, 30)
        self.row += 1

    def line(self, text: str, *, italic=False):
        self.sheet.merge(self.row, 1, self.row, self.width)
        self.sheet.write(
            self.row,
            1,
            text,
            style=Style(italic=italic, size=9 if italic else None, align="left", valign="center", wrap=True),
        )
        self.row += 1

    def headers(self, groups: list[str], headers: list[str]):
        """Two header rows; consecutive columns of one group share a merged top cell, a column
        without a group spans both rows."""
        top, bottom = self.row, self.row + 1
        col = 1
        while col <= len(headers):
            group = groups[col - 1]
            span = 1
            while group and col + span <= len(headers) and groups[col + span - 1] == group:
                span += 1
            if group:
                self.sheet.merge(top, col, top, col + span - 1)
                self._head(top, col, group)
                for i in range(span):
                    self._head(bottom, col + i, headers[col + i - 1])
                for i in range(1, span):
                    self.sheet.style(top, col + i, Style(border=True))
            else:
                self.sheet.merge(top, col, bottom, col)
                self._head(top, col, headers[col - 1])
                self.sheet.style(bottom, col, Style(border=True))
            col += span
        self.sheet.height(bottom, 30)
        self.row += 2

    def _head(self, row, col, text):
        self.sheet.write(row, col, text, style=_HEADER)

    def values(self, values: list, kinds: list[str], *, bold=False):
        for col, (value, kind) in enumerate(zip(values, kinds), start=1):
            if value is None:
                style = Style(border=True, bold=bold, align="center")
            else:
                style = Style(border=True, bold=bold, number_format=_FORMATS.get(kind))
            self.sheet.write(self.row, col, _cell_value(value, kind) if value is not None else "—", style=style)
        self.row += 1

    def widths(self, widths: list[int]):
        self.sheet.widths(widths)


def _header_line(user, q, unit: str | None) -> str:
    as_of = timezone.localtime(q.as_of).strftime("%Y-%m-%d %H:%M")
    return (
        f"填报单位: {reporting_unit(user, q, unit)}    统计期间: {_period_text(q)}    "
        f"统计时点: {as_of}    金额单位: 万元"
    )


# --- 成效统计表 --------------------------------------------------------------------------------------


def effectiveness_rows(
    user, q: selectors.ReportQuery, by: str = "county"
) -> tuple[list[tuple[str, kpis.Figures]], kpis.Figures]:
    """Rows (name, figures) by county, city or bank, and the 合计 row. The 合计 is the same
    whichever way the rows go: entities and needs counted once (kpis.DEFINITIONS["dedup"]),
    so by bank it is not the sum of the banks' 户 (an entity pushed to two banks is in both)."""
    if by not in ("county", "city", "bank"):
        raise ValueError(by)
    result = selectors.figures_with_activity(user, q, [by], ratios=True)
    groups = result[by]
    total = result["total"][""]
    if by == "bank":
        names = selectors.bank_names(groups.keys())
        rows = sorted(((names.get(k, k), f) for k, f in groups.items()), key=lambda r: (-r[1].credit_amount, r[0]))
        for f in [total, *(f for _, f in rows)]:
            f.visited = f.declared = f.declared_amount = None
        return rows, total
    names = selectors.region_names(groups.keys())
    return [(names.get(code, code), groups[code]) for code in sorted(groups)], total


def effectiveness_xlsx(
    user, q: selectors.ReportQuery, *, by: str = "county", unit: str | None = None
) -> spreadsheets.File:
    rows, total = effectiveness_rows(user, q, by)
    book = spreadsheets.Book()
    sheet = book.sheet("成效统计表")
    label = {"county": "县(区)", "city": "市", "bank": "银行机构"}[by]
    width = 2 + len(EFFECTIVENESS_COLUMNS)
    s = _Sheet(sheet, width)
    s.title(EFFECTIVENESS_TITLE)
    s.line(_header_line(user, q, unit))
    s.headers(
        ["", ""] + [g for g, _, _, _ in EFFECTIVENESS_COLUMNS],
        ["序号", label] + [h for _, h, _, _ in EFFECTIVENESS_COLUMNS],
    )
    kinds = ["int", "text"] + [k for _, _, _, k in EFFECTIVENESS_COLUMNS]
    for number, (name, f) in enumerate(rows, start=1):
        s.values([number, name] + [fn(f) for _, _, fn, _ in EFFECTIVENESS_COLUMNS], kinds)
    s.values(["", "合计"] + [fn(total) for _, _, fn, _ in EFFECTIVENESS_COLUMNS], kinds, bold=True)
    s.row += 1
    notes = [
        kpis.DEFINITIONS["scope"],
        kpis.DEFINITIONS["declared"],
        kpis.DEFINITIONS["dedup"],
        kpis.DEFINITIONS["need"],
    ]
    if by == "bank":
        notes.append("按银行统计时, 走访、申报不分银行, 不填。")
    notes += [kpis.DEFINITIONS[k] for k in ("contact_coverage", "credit_rate", "landing_rate", "medium_long", "rates")]
    notes.append("反馈逾期: 推送后 5 个工作日内未反馈(对接或不予授信); 决策逾期: 收齐材料后 30 日内未作出授信决定。")
    for note in notes:
        s.line("注: " + note, italic=True)
    s.row += 1
    s.line(spreadsheets.signature_line())
    s.widths([6, 16] + [12] * len(EFFECTIVENESS_COLUMNS))
    sheet.freeze("C5")
    sheet.print_one_page_wide(title_rows="3:4")
    return book.file(filename("effectiveness", q, "xlsx"), rows=len(rows))


def effectiveness_csv(user, q: selectors.ReportQuery, *, by: str = "county") -> spreadsheets.File:
    rows, total = effectiveness_rows(user, q, by)
    headers = ["序号", {"county": "县(区)", "city": "市", "bank": "银行机构"}[by]] + [
        f"{g}-{h}" + ("(万元)" if k == WAN else "") for g, h, _, k in EFFECTIVENESS_COLUMNS
    ]
    body = [
        [n, name] + [_csv(fn(f), k) for _, _, fn, k in EFFECTIVENESS_COLUMNS] for n, (name, f) in enumerate(rows, 1)
    ]
    body.append(["", "合计"] + [_csv(fn(total), k) for _, _, fn, k in EFFECTIVENESS_COLUMNS])
    return spreadsheets.csv_file(filename("effectiveness", q, "csv"), headers, body, data_rows=len(rows))


def _csv(value, kind: str):
    """A figure for csv: a number (Decimal with the xlsx's decimals), never text."""
    if value is None:
        return None
    if kind == WAN:
        return kpis.wan(value)
    if kind == PERCENT:
        return Decimal(f"{value:.1f}")
    if kind in ("rate", "score"):
        return Decimal(str(value))
    return value


# --- any dashboard table (ranking, renewals, charts' data) ---------------------------------------------


def table_xlsx(
    table: Table, user, q: selectors.ReportQuery, *, unit: str | None = None, name: str | None = None
) -> spreadsheets.File:
    book = spreadsheets.Book()
    sheet = book.sheet(table.title)
    s = _Sheet(sheet, max(2, len(table.columns) + 1))
    s.title(table.title)
    s.line(_header_line(user, q, unit))
    headers = ["序号"] + [h for h, _ in table.columns]
    for col, header in enumerate(headers, start=1):
        s._head(s.row, col, header)
    s.row += 1
    kinds = ["int"] + [k for _, k in table.columns]
    for number, row in enumerate(table.rows, start=1):
        s.values([number, *row], kinds)
    if table.total:
        s.values(["", *table.total], kinds, bold=True)
    if table.note:
        s.row += 1
        s.line("注: " + table.note, italic=True)
    s.row += 1
    s.line(spreadsheets.signature_line())
    s.widths([6] + [max(12, min(28, len(h) * 2)) for h, _ in table.columns])
    sheet.print_one_page_wide(title_rows="3:3")
    return book.file(name or _table_filename(table, q, "xlsx"), rows=len(table.rows))


def table_csv(table: Table, q: selectors.ReportQuery, *, name: str | None = None) -> spreadsheets.File:
    headers = [h for h, _ in table.columns]
    rows = [[_csv(v, k) for v, (_, k) in zip(row, table.columns)] for row in table.rows]
    if table.total:
        rows.append([_csv(v, k) for v, (_, k) in zip(table.total, table.columns)])
    return spreadsheets.csv_file(name or _table_filename(table, q, "csv"), headers, rows, data_rows=len(table.rows))


def _table_filename(table: Table, q: selectors.ReportQuery, extension: str) -> str:
    return f"{table.title}_{q.filters.period or '全部'}.{extension}"


def ranking_table(user, q: selectors.ReportQuery) -> Table:
    result = selectors.figures(user, q, ["bank"])
    return dashboard.ranking_table(dashboard.ranking_rows(result["bank"]), result["total"][""])


def renewals_table(user, q: selectors.ReportQuery) -> Table:
    return dashboard.renewals_table(selectors.renewals(user, q), selectors.renewal_swing_threshold())


def filename(kind: str, q: selectors.ReportQuery, extension: str) -> str:
    names = {
        "effectiveness": "成效统计表",
        "ledger": "台账",
        "ranking": "银行排名通报",
        "renewals": "无还本续贷情况统计表",
    }
    scope = q.filters.period or "全部"
    region = f"_{q.filters.region}" if q.filters.region else ""
    return f"{names.get(kind, kind)}{region}_{scope}_{timezone.localdate():%Y%m%d}.{extension}"


__all__ = ["XLSX", "display"]  # re-exported for the views and tests
