"""The one spreadsheet writer of the portal. Every xlsx and csv file the portal hands out
(exports, reports, error reports, templates) is written by this module and answered by
`deliver()`; no other module writes spreadsheets (tests/test_export_injection.py fails when
one imports openpyxl's writers or csv.writer, or sets a Content-Disposition itself).

Text is text (spreadsheet formula injection, CWE-1236). A value typed into an entity name, a
purpose, an operator's name or a decline note such as `=HYPERLINK("http://x","点击")`,
`+1`, `-1+2` or `@SUM(A1)` opens as that text, never as a formula:
- xlsx: every str is stored as a string cell (data_type "s"), never a formula; a text that
  starts with a formula character (= + - @, full-width too, after blanks) or with a tab or
  CR also carries Excel's quote prefix, so editing the cell keeps it text. Characters XML
  cannot hold are dropped (they would make openpyxl refuse the whole file).
- csv: such a text is prefixed with a single quote ' (OWASP, "CSV Injection"). UTF-8 with
  a BOM so Excel reads the Chinese, CRLF line ends, quoted only where needed.
Numbers (int, Decimal, float) and dates stay numbers and dates: in xlsx with their number
format, in csv written plainly (a negative amount is a number, not a formula).

Exports and their audit. EXPORTS lists every kind of file the portal hands out, what
personal data it holds (decided here, in one place) and which model its rows are resolved
through (`restrict(qs, user, EXPORT)`). `deliver(request, kind, file, filters=...)` answers
the download and, for every kind that holds data, writes the audit event `<kind>.export`
(actor, file, format, filters, row count, whether it holds personal data): the shared path,
so no export can forget it. `record()` audits the same way outside a request (the
export_report command). The audit log lists every export with the action filter `*.export`.

Building a file:
    book = Book()                       # Book(streaming=True): write-only, any number of rows
    sheet = book.sheet("台账")
    sheet.append(["序号", "名称"], style=HEADER)
    sheet.append([1, Cell(amount, WAN_STYLE), name])
    sheet.sign_off()                    # government forms: 填表人 / 审核人 / 填报日期 at the end
    sheet.print_one_page_wide()         # and landscape, one page wide, header rows repeated
    file = book.file("台账.xlsx", rows=1)
    file = csv_file("台账.csv", headers, rows)
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from functools import lru_cache
from urllib.parse import quote

from django.http import HttpResponse
from django.utils import timezone
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.worksheet.worksheet import Worksheet

from portal.services import audit_record

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MEDIA_TYPE = "text/csv"
CSV = "text/csv; charset=utf-8"
CONTENT_TYPES = {"xlsx": XLSX, "csv": CSV}
column_letter = get_column_letter  # 1 → "A", for ranges such as a template's input area

# what makes a spreadsheet program read a cell as a formula (OWASP: = + - @ tab CR), and
# the full-width forms a Chinese input method types
FORMULA_CHARACTERS = frozenset("=+-@＝＋－＠")
CONTROL_LEADS = frozenset("\t\r")
_BLANKS = " \u3000\n"


def formula_like(text: str) -> bool:
    """Would a spreadsheet program take this text (or its first non-blank character) for a formula?"""
    if not text:
        return False
    if text[0] in CONTROL_LEADS:
        return True
    stripped = text.lstrip(_BLANKS)
    return bool(stripped) and stripped[0] in FORMULA_CHARACTERS


def _clean(text: str) -> str:
    return ILLEGAL_CHARACTERS_RE.sub("", text)


def csv_field(value):
    """A value as one csv field: text neutralised, numbers as numbers, dates ISO, None empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, (int, float, Decimal)):
        return value
    if isinstance(value, dt.datetime):
        return _local(value).strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return value.isoformat()
    text = _clean(str(value))
    return "'" + text if formula_like(text) else text


# --- files and the export registry ---------------------------------------------------------


@dataclass(frozen=True)
class File:
    """A written spreadsheet: its bytes, name, format and number of data rows."""

    content: bytes
    filename: str
    extension: str  # "xlsx" | "csv"
    rows: int | None = None  # data rows (None: a blank template)

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES[self.extension]


@dataclass(frozen=True)
class Export:
    """A kind of file the portal hands out."""

    name: str  # the audit action is "<name>.export"
    title: str
    personal_data: str = ""  # which personal data its rows hold; "" = none
    model: str = ""  # "app_label.Model" its rows are resolved through with restrict(…, EXPORT)
    audited: bool = True  # False only for blank templates (no data at all)

    @property
    def action(self) -> str:
        return f"{self.name}.export"


_PERSON = "经营者姓名、经营者手机号(脱敏)"
_INDIVIDUAL = "个体工商户的名称和统一社会信用代码(可识别经营者本人)"
EXPORTS: dict[str, Export] = {
    e.name: e
    for e in (
        Export("entity", "经营主体导出", f"{_PERSON}; {_INDIVIDUAL}", "entities.MarketEntity"),
        Export("potential_customer", "潜在客户导出", f"{_PERSON}; {_INDIVIDUAL}", "batch_matching.MatchResult"),
        Export(
            "ledger", "融资对接台账", f"{_INDIVIDUAL}及其融资需求、授信与放款; 客户经理姓名", "matching.Recommendation"
        ),
        Export("batch", "推荐清单", f"{_INDIVIDUAL}及其融资需求", "matching.RecommendationBatch"),
        Export("declaration", "申报清单", f"{_INDIVIDUAL}及其融资需求", "matching.Declaration"),
        # the lines of the user's own upload that were not imported: line, column and reason only
        Export("declaration_import", "批量申报错误报告"),
        Export("entity_import", "名录库导入错误报告", "", "entities.EntityImport"),
        Export(
            "campaign.targets",
            "走访目标企业清单",
            f"{_INDIVIDUAL}; 走访人员姓名",
            "campaigns.Target",
        ),
        Export("audit", "审计日志", f"操作人姓名与 IP 地址; {_INDIVIDUAL}(对象名称)", "portal.AuditEvent"),
        # aggregates by county, city or bank: no row names a person
        Export("reporting.effectiveness", "成效统计表"),
        Export("reporting.ranking", "银行机构排名通报"),
        Export("reporting.renewals", "无还本续贷情况统计表"),
        Export("reporting.table", "驾驶舱表格"),
        Export("reporting.brief", "工作简报"),
        Export("campaign.coverage", "走访覆盖情况表"),
        Export("reporting.scheduled", "每周成效统计表(已生成)"),
        # blank forms
        Export("register_template", "名录库模板", audited=False),
        Export("declaration_template", "批量申报模板", audited=False),
    )
}


def record(*, actor, kind: str, file: File, filters: dict | None = None, obj=None, request=None, via: str = ""):
    """Audit the handing out of `file` (every kind that holds data); returns the event or None."""

    export = EXPORTS[kind]
    if not export.audited:
        return None
    after = {
        "export": export.title,
        "file": file.filename,
        "format": file.extension,
        "rows": file.rows,
        "filters": {k: v for k, v in (filters or {}).items() if v not in (None, "", [], ())},
        "personal_data": bool(export.personal_data),
    }
    if via:
        after["via"] = via
    return audit_record(actor=actor, action=export.action, obj=obj, after=after, request=request)


def download(kind: str, file: File):
    """The HTTP answer handing out `file` of kind `kind` (one of EXPORTS) — for a file its
    export service has already audited (reporting.ledger.ledger_export); every other page
    and API answers through deliver()."""

    if kind not in EXPORTS:
        raise KeyError(f"unknown export kind {kind!r}")
    response = HttpResponse(file.content, content_type=file.content_type)
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(file.filename)}"
    response.export_kind = kind  # for the tests' census of exports
    return response


def deliver(request, kind: str, file: File, *, filters: dict | None = None, obj=None):
    """The download of `file` as kind `kind` (one of EXPORTS), audited; with download() the
    only way a page or an API answers with a spreadsheet."""
    record(actor=request.user, kind=kind, file=file, filters=filters, obj=obj, request=request)
    return download(kind, file)


# --- csv -----------------------------------------------------------------------------------


def csv_bytes(headers: Sequence | None, rows: Iterable[Sequence]) -> tuple[bytes, int]:
    """UTF-8 (with BOM) csv of the rows, every field through csv_field; and the row count."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    if headers is not None:
        writer.writerow([csv_field(h) for h in headers])
    count = 0
    for row in rows:
        writer.writerow([csv_field(v) for v in row])
        count += 1
    return ("\ufeff" + buffer.getvalue()).encode("utf-8"), count


def csv_file(
    filename: str, headers: Sequence | None, rows: Iterable[Sequence], *, data_rows: int | None = None
) -> File:
    """A csv File; `data_rows` when some of `rows` are not data (a 合计 row, a template's example)."""
    content, count = csv_bytes(headers, rows)
    return File(content, filename, "csv", count if data_rows is None else data_rows)


# --- xlsx ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Style:
    bold: bool = False
    italic: bool = False
    size: float | None = None
    fill: str | None = None  # RGB hex, e.g. "DDEBF7"
    align: str | None = None  # left | center | right
    valign: str | None = None  # top | center | bottom
    wrap: bool = False
    border: bool = False  # thin on all four sides
    number_format: str | None = None

    def but(self, **changes) -> Style:
        return replace(self, **changes)


PLAIN = Style()
BOLD = Style(bold=True)
HEADER = Style(bold=True, fill="DDEBF7", align="center", valign="center", wrap=True, border=True)
TEXT_FORMAT = Style(number_format="@")  # a cell kept as text when someone types into it
FORMATS = {
    "wan": "#,##0.00",
    "percent": '0.0"%"',
    "rate": "0.000",
    "score": "0.00",
    "int": "#,##0",
    "date": "yyyy-mm-dd",
}


@lru_cache(maxsize=256)
def _parts(style: Style):
    thin = Side(style="thin")
    font = (
        Font(bold=style.bold, italic=style.italic, size=style.size or 11)
        if (style.bold or style.italic or style.size)
        else None
    )
    fill = PatternFill("solid", fgColor=style.fill) if style.fill else None
    alignment = (
        Alignment(horizontal=style.align, vertical=style.valign, wrap_text=style.wrap or None)
        if (style.align or style.valign or style.wrap)
        else None
    )
    border = Border(top=thin, bottom=thin, left=thin, right=thin) if style.border else None
    return font, fill, alignment, border


@dataclass(frozen=True)
class Cell:
    """A value with its style, for Sheet.append."""

    value: object
    style: Style = PLAIN


def _local(moment: dt.datetime) -> dt.datetime:
    return timezone.localtime(moment).replace(tzinfo=None) if timezone.is_aware(moment) else moment


def _xlsx_value(value):
    """(value, is_formula_like_text) as a cell should hold it."""
    if isinstance(value, dt.datetime):
        return _local(value), False
    if value is None or isinstance(value, (bool, int, float, Decimal, dt.date, dt.time)):
        return value, False
    text = _clean(str(value))
    return text, formula_like(text)


def _fill(cell, value, style: Style | None) -> None:
    """Put `value` into an openpyxl cell as data: a str always as a string, never a formula."""
    value, risky = _xlsx_value(value)
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"  # openpyxl makes any "=…" a formula; a string it is
        if risky:
            cell.quotePrefix = True
    _apply(cell, style)


def _apply(cell, style: Style | None) -> None:
    if style is not None and style != PLAIN:
        font, fill, alignment, border = _parts(style)
        if font is not None:
            cell.font = font
        if fill is not None:
            cell.fill = fill
        if alignment is not None:
            cell.alignment = alignment
        if border is not None:
            cell.border = border
        if style.number_format:
            cell.number_format = style.number_format


def signature_line() -> str:
    """填表人 / 审核人 / 填报日期: what a government form ends with, to be signed on paper."""
    return f"填表人:                    审核人:                    填报日期: {timezone.localdate():%Y年%m月%d日}"


class Sheet:
    """One worksheet; every value goes through `_fill`."""

    def __init__(self, book: Book, worksheet):
        self._book, self._ws = book, worksheet
        self.row = 0  # the last row written by append() (1-based)

    @property
    def streaming(self) -> bool:
        return self._book.streaming

    # values
    def append(self, values: Iterable = (), *, style: Style | None = None) -> int:
        """Write a row after the last one; items may be plain values or Cell(value, style)."""
        self.row += 1
        if self.streaming:
            cells = []
            for item in values:
                value, item_style = (item.value, item.style) if isinstance(item, Cell) else (item, style)
                cell = WriteOnlyCell(self._ws)
                _fill(cell, value, item_style)
                cells.append(cell)
            self._ws.append(cells)
        else:
            for col, item in enumerate(values, start=1):
                self.write(self.row, col, item, style=style)
        return self.row

    def write(self, row: int, col: int, value, *, style: Style | None = None) -> None:
        self._need_random_access()
        if isinstance(value, Cell):
            value, style = value.value, value.style
        _fill(self._ws.cell(row=row, column=col), value, style)
        self.row = max(self.row, row)

    def style(self, row: int, col: int, style: Style) -> None:
        """Style a cell without writing it, e.g. the border of a merged range."""
        self._need_random_access()
        _apply(self._ws.cell(row=row, column=col), style)

    def skip(self, rows: int = 1) -> None:
        if self.streaming:
            for _ in range(rows):
                self._ws.append([])
        self.row += rows

    # layout
    def merge(self, row: int, col: int, end_row: int, end_col: int) -> None:
        self._need_random_access()
        self._ws.merge_cells(start_row=row, start_column=col, end_row=end_row, end_column=end_col)

    def widths(self, widths: Iterable[float], *, start: int = 1) -> None:
        for col, width in enumerate(widths, start=start):
            self._ws.column_dimensions[get_column_letter(col)].width = width

    def height(self, row: int, height: float) -> None:
        self._need_random_access()
        self._ws.row_dimensions[row].height = height

    def freeze(self, ref: str) -> None:
        self._ws.freeze_panes = ref

    def sign_off(self, *, blank_before: bool = True) -> int:
        """The government form's last line: 填表人 / 审核人 / 填报日期 (today, Beijing time)."""
        if blank_before:
            self.skip()
        return self.append([signature_line()])

    def print_one_page_wide(self, *, landscape: bool = True, title_rows: str | None = None, paper: str = "A4") -> None:
        """How the government forms print: A4 (A3 for a very wide one), landscape, scaled to one page wide (as many
        pages long as needed), the header rows repeated on every page. A streaming sheet
        takes it before its first row (its sheet properties are written with that row)."""
        ws = self._ws
        ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
        ws.page_setup.paperSize = {"A4": Worksheet.PAPERSIZE_A4, "A3": Worksheet.PAPERSIZE_A3}[paper]
        ws.page_setup.orientation = "landscape" if landscape else "portrait"
        ws.page_setup.fitToWidth = 1
        ws.page_setup.fitToHeight = 0
        if title_rows:
            ws.print_title_rows = title_rows

    def choices(self, cell_range: str, options: Sequence[str], *, error: str | None = None) -> bool:
        """A drop-down of `options` on `cell_range` (Excel keeps a list under 255 characters;
        a longer one is left out and False returned)."""
        self._need_random_access()
        listed = ",".join(str(o).replace('"', '""') for o in options)
        if not options or len(listed) >= 250:
            return False
        validation = DataValidation(
            type="list", formula1=f'"{listed}"', allow_blank=True, showErrorMessage=error is not None, error=error
        )
        self._ws.add_data_validation(validation)
        validation.add(cell_range)
        return True

    def number_format(self, cell_range: str, number_format: str) -> None:
        """A number format on empty cells (a template's input area)."""
        self._need_random_access()
        for row in self._ws[cell_range]:
            for cell in row:
                cell.number_format = number_format

    def _need_random_access(self) -> None:
        if self.streaming:
            raise TypeError("a streaming sheet is written row by row with append()")


class Book:
    """An xlsx workbook. streaming=True writes rows as they come (openpyxl write-only mode):
    any number of rows in little memory, but only append()."""

    def __init__(self, *, streaming: bool = False):
        self.streaming = streaming
        self._workbook = Workbook(write_only=streaming)
        self._sheets = 0

    def sheet(self, title: str) -> Sheet:
        title = _clean(title)[:31] or "Sheet"
        if not self.streaming and self._sheets == 0:
            worksheet = self._workbook.active
            worksheet.title = title
        else:
            worksheet = self._workbook.create_sheet(title)
        self._sheets += 1
        return Sheet(self, worksheet)

    def content(self) -> bytes:
        buffer = io.BytesIO()
        self._workbook.save(buffer)
        return buffer.getvalue()

    def file(self, filename: str, *, rows: int | None) -> File:
        return File(self.content(), filename, "xlsx", rows)
