"""批量申报: declarations entered in bulk from a spreadsheet filled after visits.

Rules (the same as the register import): good rows in, bad rows reported.
* A file that cannot be read, has no header row, lacks a required column or has more than
  MAX_ROWS data rows raises DeclarationImportError: nothing is imported (command exit 2,
  API 400).
* Otherwise every row is checked on its own. A bad row is reported with its line number
  (the spreadsheet's row number, the header being line 1), the column and a Chinese
  reason, one entry per bad cell, and is skipped; the good rows are imported, each in its
  own transaction (a visit and its declaration together), so one bad row never undoes the
  others and a re-run after fixing the bad rows does not duplicate the good ones (an entity
  with an open declaration is refused).
* A good row becomes a declaration through matching.services.declaration_create (source
  "专班批量申报"), preceded by visit_record when a visit date is given, so it obeys the rules of
  every path: an entity with an open case (an open declaration, or a lead not yet decided at a
  bank: matching.services.open_case) is refused — the row is reported on the 统一社会信用代码
  column with the message naming the case, and the other rows are imported as usual.
* 还款方式 (optional column, the last): the requested repayment mode, written as the platform
  names it (按月结息、到期一次性还本, 等额本息, 等额本金, 分期还本, 随借随还; the engine's
  need.repayment codes bullet, equal_installment, … are accepted too), or empty / 未定 (the
  product rules on it, e.g. 晋享贷's "采用按月结息，到期一次性还本的授信期限最长不超过1年", then
  read it as unknown). Any other value is a bad cell of that row (line, column 还款方式, the
  values it may take), and the row is skipped like any other bad row: the file is not rejected
  as a whole, its good rows are imported.
* The five basic criteria (seed 004 三(四)): 是 — all five verified; 否 — not all, and the
  optional column 未满足的基本标准 names the unmet ones (the others count as verified; empty:
  none counts as verified). A row is submitted for preliminary review when the entity
  consented (是) and either all five are verified or the row gives a 例外理由 (which the
  task-force lead must confirm before his approval: matching/criteria.py); otherwise it stays
  a draft for the staff to complete.

`declarations_import(actor=…, content=…, file_name=…)` returns
{rows, created, submitted, drafts, rejected, errors: [{line, column, message}], declarations: [{line, id, state}]}.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from openpyxl import load_workbook
from stdnum.cn import uscc as stdnum_uscc

from entities.models import MarketEntity
from matching import services, workflow
from matching.models import (
    BASIC_CRITERIA,
    REPAYMENT_CHOICES,
    REPAYMENT_UNDECIDED,
    Declaration,
    DeclarationSource,
    DeclarationState,
)
from portal.models import Role
from portal.services import ApplicationError, audit_record
from portal.spreadsheets import BOLD, HEADER, Book, column_letter
from portal.tenancy import VIEW, restrict, scope_for
from products.models import Bank

USCC = "统一社会信用代码"
AMOUNT = "融资金额(万元)"
TERM = "期限(月)"
PURPOSE = "资金用途"
BANK1 = "意向银行1"
BANK2 = "意向银行2"
CRITERIA = "五项基本标准已核实(是/否)"
CONSENT = "企业已同意共享(是/否)"
UNMET = "未满足的基本标准"
EXCEPTION = "例外理由"
VISIT_DATE = "走访日期"
VISIT_PEOPLE = "走访人员"
NOTE = "备注"
REPAYMENT = "还款方式"
# the columns added later come last (the five criteria's exception, the repayment mode): templates
# filled before them still import
HEADERS = (
    USCC,
    AMOUNT,
    TERM,
    PURPOSE,
    BANK1,
    BANK2,
    CRITERIA,
    CONSENT,
    VISIT_DATE,
    VISIT_PEOPLE,
    NOTE,
    UNMET,
    EXCEPTION,
    REPAYMENT,
)
REQUIRED_HEADERS = (USCC, AMOUNT, TERM, PURPOSE, BANK1, CRITERIA, CONSENT)
MAX_ROWS = 5000
MAX_AMOUNT_WAN = Decimal("10000")  # 1 亿元, the services' ceiling
# who files on entities' behalf: the workflow table's FILE rule, without the enterprise itself
IMPORT_ROLES = workflow.roles(workflow.Action.FILE) - {Role.ENTERPRISE_USER}
# the restriction a row's entity is looked up through: the one matching.services uses to find
# the entity it declares for (_entity_for_declaring)
DECLARE_ACTION = VIEW

# names people write for the banks of the catalogue, besides each bank's code and full name
BANK_ALIASES = {
    "中行": "boc",
    "中国银行": "boc",
    "建行": "ccb",
    "建设银行": "ccb",
    "中国建设银行": "ccb",
    "晋商银行": "jshb",
    "山西银行": "shanxibank",
    "山西省农村信用社": "sxrcc",
    "山西农信": "sxrcc",
    "农信社": "sxrcc",
    "农村信用社": "sxrcc",
    "晋城农信": "sxrcc",
    "山西省农信社": "sxrcc",
    "农商行": "sxrcc",
    "农村商业银行": "sxrcc",
}
YES = {"是", "y", "yes", "true", "1", "√", "✓", "已核实", "同意"}
NO = {"否", "n", "no", "false", "0", "×", "", "未核实", "不同意"}
_BANK_SPLIT = re.compile(r"[、,，;；/\s]+")
_DATE_TEXT = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$")
# service field errors → the column they come from
_SERVICE_COLUMNS = {
    "entity_id": USCC,
    "criteria_exception": EXCEPTION,
    "amount": AMOUNT,
    "term_months": TERM,
    "purpose": PURPOSE,
    "banks": BANK1,
    "consent": CONSENT,
    "visited_on": VISIT_DATE,
    "basic_criteria": CRITERIA,
    "repayment": REPAYMENT,
}
# 还款方式 as written in a file (label without its punctuation, or the engine's code) → code
_REPAYMENT_PUNCTUATION = re.compile(r"[、,，;；\s]+")
_REPAYMENT_BY_TEXT = {
    **{_REPAYMENT_PUNCTUATION.sub("", label): code for code, label in REPAYMENT_CHOICES},
    **{code: code for code, _ in REPAYMENT_CHOICES},
    "按月结息到期还本": "bullet",
    REPAYMENT_UNDECIDED: "",
}


class DeclarationImportError(Exception):
    """The file cannot be imported at all; the message is Chinese."""


@dataclass
class ImportSummary:
    rows: int = 0
    created: int = 0
    submitted: int = 0
    drafts: int = 0
    errors: list[dict] = field(default_factory=list)
    rejected_lines: set[int] = field(default_factory=set)
    declarations: list[dict] = field(default_factory=list)

    def reject(self, line: int, column: str | None, message: str) -> None:
        self.errors.append({"line": line, "column": column, "message": message})
        self.rejected_lines.add(line)

    def as_dict(self) -> dict:
        return {
            "rows": self.rows,
            "created": self.created,
            "submitted": self.submitted,
            "drafts": self.drafts,
            "rejected": len(self.rejected_lines),
            "errors": self.errors,
            "declarations": self.declarations,
        }


# --- reading -------------------------------------------------------------------------------


def _normalise_header(text: str) -> str:
    text = (text or "").strip().replace("（", "(").replace("）", ")").replace(" ", "").replace("\u3000", "")
    return text.replace("(万)", "(万元)")


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value).strip()


def _xlsx_rows(content: bytes) -> Iterator[tuple[int, list[str]]]:
    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        rows = workbook.worksheets[0].iter_rows(values_only=True)
    except Exception as exc:  # openpyxl raises many kinds on a damaged file
        raise DeclarationImportError(f"无法读取文件: XLSX 文件已损坏或格式不支持({type(exc).__name__})") from exc
    try:
        for number, values in enumerate(rows, start=1):
            yield number, [_cell_text(v) for v in values]
    finally:
        workbook.close()


def _csv_rows(content: bytes) -> Iterator[tuple[int, list[str]]]:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DeclarationImportError(
            "无法读取文件: 不是 XLSX 文件, 也不是 UTF-8 编码的 CSV 文件(请使用模板填写)"
        ) from exc
    if "\x00" in text:
        raise DeclarationImportError("无法读取文件: 不是 XLSX 或 CSV 文件")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        for cells in reader:
            yield reader.line_num, [c.strip() for c in cells]
    except csv.Error as exc:
        raise DeclarationImportError(f"无法读取文件: CSV 格式错误({exc})") from exc


def read_table(content: bytes) -> tuple[dict[str, int], list[tuple[int, str]], Iterator[tuple[int, list[str]]]]:
    """(column index of each known header, (index, header) of the bank columns, data rows).
    Raises DeclarationImportError for an unreadable file or missing headers."""
    if not content:
        raise DeclarationImportError("无法读取文件: 文件为空")
    rows = _xlsx_rows(content) if content[:4] == b"PK\x03\x04" else _csv_rows(content)
    for _, cells in rows:
        if any(cells):
            header = [_normalise_header(c) for c in cells]
            break
    else:
        raise DeclarationImportError("无法读取文件: 没有表头行")
    columns = {name: header.index(name) for name in HEADERS if name in header}
    missing = [name for name in REQUIRED_HEADERS if name not in columns]
    if missing:
        raise DeclarationImportError(f"表头缺少列: {'、'.join(missing)}(请使用批量申报模板)")
    bank_columns = [(i, name) for i, name in enumerate(header) if re.fullmatch(r"意向银行\d+", name)]
    return columns, bank_columns, rows


# --- cells ---------------------------------------------------------------------------------


class _BankNames:
    def __init__(self):
        self.by_key: dict[str, Bank] = {}
        banks = {bank.code: bank for bank in Bank.objects.all()}
        for bank in banks.values():
            self.by_key[bank.code.lower()] = bank
            self.by_key[self._key(bank.name)] = bank
        for alias, code in BANK_ALIASES.items():
            if code in banks:
                self.by_key.setdefault(self._key(alias), banks[code])

    @staticmethod
    def _key(text: str) -> str:
        text = text.strip().replace(" ", "")
        for suffix in ("股份有限公司", "有限责任公司", "有限公司"):
            text = text.removesuffix(suffix)
        return text.lower()

    def get(self, text: str) -> Bank | None:
        return self.by_key.get(self._key(text))


def _yes_no(text: str) -> bool | None:
    key = text.strip().lower()
    if key in YES:
        return True
    if key in NO:
        return False
    return None


def _amount_yuan(text: str) -> int:
    text = text.replace(",", "").replace("，", "").strip()
    for suffix in ("万元", "万"):
        text = text.removesuffix(suffix)
    try:
        wan = Decimal(text)
    except InvalidOperation:
        raise ValueError("融资金额应为数字(单位: 万元)") from None
    if not wan.is_finite():
        raise ValueError("融资金额应为数字(单位: 万元)")
    if wan <= 0:
        raise ValueError("融资金额须大于 0")
    if wan > MAX_AMOUNT_WAN:
        raise ValueError("融资金额超过 1 亿元(10000 万元), 请核实(单位: 万元)")
    yuan = int((wan * 10000).quantize(Decimal("1"), rounding=ROUND_HALF_UP))
    if yuan <= 0:
        raise ValueError("融资金额须大于 0")
    return yuan


def _term(text: str) -> int:
    try:
        value = Decimal(text.removesuffix("个月").removesuffix("月").strip())
    except InvalidOperation:
        raise ValueError("期限应为整数(单位: 月)") from None
    if not value.is_finite() or value != value.to_integral_value():
        raise ValueError("期限应为整数(单位: 月)")
    if not 1 <= value <= 360:
        raise ValueError("期限须为 1 至 360 个月")
    return int(value)


def _repayment(text: str) -> str:
    """A 还款方式 cell → the code stored ("" for empty or 未定); ValueError naming the choices."""
    key = _REPAYMENT_PUNCTUATION.sub("", text).lower()
    if not key:
        return ""
    if key not in _REPAYMENT_BY_TEXT:
        choices = "、".join(f"「{label}」" for _, label in REPAYMENT_CHOICES)
        raise ValueError(f"还款方式「{text}」无法识别, 应为 {choices} 之一, 或留空({REPAYMENT_UNDECIDED})")
    return _REPAYMENT_BY_TEXT[key]


def _date(text: str, today: dt.date) -> dt.date:
    match = _DATE_TEXT.match(text.strip())
    value = None
    if match:
        try:
            value = dt.date(int(match[1]), int(match[2]), int(match[3]))
        except ValueError:
            value = None
    elif re.fullmatch(r"\d{8}", text.strip()):
        try:
            value = dt.datetime.strptime(text.strip(), "%Y%m%d").date()
        except ValueError:
            value = None
    if value is None:
        raise ValueError("走访日期格式应为 YYYY-MM-DD")
    if value > today:
        raise ValueError("走访日期不能晚于今天")
    return value


@dataclass
class _Row:
    line: int
    uscc: str = ""
    amount: int = 0
    term_months: int = 0
    purpose: str = ""
    repayment: str = ""  # a code of REPAYMENT_CHOICES, "" = 未定
    banks: list[Bank] = field(default_factory=list)
    criteria: bool = False
    unmet: list[str] = field(default_factory=list)  # keys of BASIC_CRITERIA
    exception: str = ""
    consent: bool = False
    visited_on: dt.date | None = None
    people: str = ""
    note: str = ""


def _parse_row(
    line: int,
    cells: list[str],
    columns: dict[str, int],
    bank_columns: list[tuple[int, str]],
    banks: _BankNames,
    today: dt.date,
    summary: ImportSummary,
) -> _Row | None:
    def cell(name: str) -> str:
        index = columns.get(name)
        return cells[index].strip() if index is not None and index < len(cells) else ""

    row = _Row(line=line)
    bad = False

    def error(column: str, message: str) -> None:
        nonlocal bad
        bad = True
        summary.reject(line, column, message)

    row.uscc = cell(USCC).upper().replace(" ", "")
    if not row.uscc:
        error(USCC, "统一社会信用代码不能为空")
    for name, parse, attr in ((AMOUNT, _amount_yuan, "amount"), (TERM, _term, "term_months")):
        text = cell(name)
        if not text:
            error(name, f"{name.split('(')[0]}不能为空")
            continue
        try:
            setattr(row, attr, parse(text))
        except ValueError as exc:
            error(name, str(exc))
    row.purpose = cell(PURPOSE)
    if not row.purpose:
        error(PURPOSE, "资金用途不能为空")
    elif len(row.purpose) > 255:
        error(PURPOSE, "资金用途不能超过 255 字")
    try:
        row.repayment = _repayment(cell(REPAYMENT))
    except ValueError as exc:
        error(REPAYMENT, str(exc))

    names = [
        (header, name)
        for index, header in bank_columns
        for name in _BANK_SPLIT.split(cells[index] if index < len(cells) else "")
        if name
    ]
    unknown = [(header, name) for header, name in names if banks.get(name) is None]
    for header, name in unknown:
        error(
            header,
            f"未知银行「{name}」(可填写银行名称或代码, 如 中国银行、建设银行、山西银行、晋商银行、山西省农村信用社)",
        )
    resolved = [banks.get(name) for _, name in names if banks.get(name) is not None]
    if not names:
        error(BANK1, "请填写 1 至 2 家意向对接银行")
    elif len(names) > services.MAX_INTENDED_BANKS:
        error(BANK1, f"意向对接银行最多 {services.MAX_INTENDED_BANKS} 家, 本行填写了 {len(names)} 家")
    elif not unknown and len({b.pk for b in resolved}) != len(resolved):
        error(BANK2, "意向对接银行不能重复")
    row.banks = resolved

    for name, attr in ((CRITERIA, "criteria"), (CONSENT, "consent")):
        value = _yes_no(cell(name))
        if value is None:
            error(name, f"「{cell(name)}」应为 是 或 否")
        else:
            setattr(row, attr, value)

    unmet_text, row.exception = cell(UNMET), cell(EXCEPTION)
    by_label = {label: key for key, label in BASIC_CRITERIA.items()}
    for name in (n for n in _BANK_SPLIT.split(unmet_text) if n):
        if name not in by_label:
            error(UNMET, f"未知的基本标准「{name}」(应为 {'、'.join(BASIC_CRITERIA.values())} 之一)")
        elif by_label[name] not in row.unmet:
            row.unmet.append(by_label[name])
    if unmet_text and row.criteria:
        error(UNMET, f"「{CRITERIA}」为「是」时不应填写未满足的基本标准")
    if len(row.exception) > 2000:
        error(EXCEPTION, "例外理由不能超过 2000 字")

    visit_text, row.people = cell(VISIT_DATE), cell(VISIT_PEOPLE)
    if visit_text:
        try:
            row.visited_on = _date(visit_text, today)
        except ValueError as exc:
            error(VISIT_DATE, str(exc))
        if not row.people:
            error(VISIT_PEOPLE, "填写走访日期时须填写走访人员")
        elif len(row.people) > 255:
            error(VISIT_PEOPLE, "走访人员不能超过 255 字")
    elif row.people:
        error(VISIT_DATE, "填写走访人员时须填写走访日期")
    row.note = cell(NOTE)
    return None if bad else row


# --- import --------------------------------------------------------------------------------


def _uscc_problem(code: str) -> str:
    """Why a row's code names no entity the actor may declare for. A well-formed code gets one
    message whether it is unknown or registered outside the actor's region (never looked up
    outside the restriction), so the report never tells another region's codes apart."""
    try:
        stdnum_uscc.validate(code)
    except Exception:
        return f"统一社会信用代码「{code}」格式或校验位错误"
    return f"本辖区名录库中没有统一社会信用代码为 {code} 的经营主体(不存在或不在您的辖区), 不能代为申报"


def _criteria(row: _Row) -> dict:
    """是: all five verified; 否 with the unmet ones named: the others verified; 否 alone: none."""
    if not row.criteria and not row.unmet:
        return {}
    evidence = "批量申报: 走访核实" + (f"({row.visited_on.isoformat()} {row.people})" if row.visited_on else "")
    return {key: {"met": True, "evidence": evidence} for key in BASIC_CRITERIA if key not in row.unmet}


def _create(actor, row: _Row, entity: MarketEntity) -> Declaration:
    with transaction.atomic():
        visit = None
        if row.visited_on:
            visit = services.visit_record(
                actor=actor,
                entity_id=entity.pk,
                visited_on=row.visited_on,
                people=row.people,
                findings=row.note,
                need_found=True,
            )
        declaration = services.declaration_create(
            actor=actor,
            entity_id=entity.pk,
            amount=row.amount,
            term_months=row.term_months,
            purpose=row.purpose,
            repayment=row.repayment,
            bank_codes=[bank.code for bank in row.banks],
            basic_criteria=_criteria(row),
            criteria_exception=row.exception,
            consent=row.consent,
            submit=row.consent and (row.criteria or bool(row.exception)),
            visit_id=visit.pk if visit else None,
            source=DeclarationSource.BULK_IMPORT,
        )
        if row.note and visit is None:
            Declaration.objects.filter(pk=declaration.pk).update(last_comment=row.note[:2000])
        return declaration


def declarations_import(*, actor, content: bytes, file_name: str = "", today: dt.date | None = None) -> dict:
    """Import a 批量申报 file for `actor` (task-force staff). Raises
    DeclarationImportError when the file cannot be read; ApplicationError(permission_denied)
    for a role that may not declare on entities' behalf."""
    scope = scope_for(actor)
    if scope is None or scope.role not in IMPORT_ROLES:
        raise ApplicationError("您的角色无权批量申报", code="permission_denied")
    today = today or timezone.localdate()
    columns, bank_columns, table = read_table(content)
    banks = _BankNames()
    summary = ImportSummary()

    parsed: list[_Row] = []
    for line, cells in table:
        if not any(cells):
            continue
        summary.rows += 1
        if summary.rows > MAX_ROWS:
            raise DeclarationImportError(f"文件超过 {MAX_ROWS} 行数据, 请分批导入")
        row = _parse_row(line, cells, columns, bank_columns, banks, today, summary)
        if row is not None:
            parsed.append(row)

    # every row's code through the tenant restriction, for the action declaration_create
    # performs on the entity (DECLARE_ACTION), set-based; a code outside it is "not found"
    codes = {row.uscc for row in parsed}
    entities = {e.uscc: e for e in restrict(MarketEntity.objects.all(), actor, DECLARE_ACTION).filter(uscc__in=codes)}
    first_line: dict[str, int] = {}
    for row in parsed:
        entity = entities.get(row.uscc)
        if entity is None:
            summary.reject(row.line, USCC, _uscc_problem(row.uscc))
            continue
        if row.uscc in first_line:
            summary.reject(
                row.line, USCC, f"与第 {first_line[row.uscc]} 行是同一经营主体, 一个经营主体只能有一个进行中的申报"
            )
            continue
        first_line[row.uscc] = row.line
        try:  # an entity with an open case is refused by the service (open_case), like every path
            declaration = _create(actor, row, entity)
        except ApplicationError as exc:
            if exc.field_errors:
                for key, messages in exc.field_errors.items():
                    for message in messages:
                        summary.reject(row.line, _SERVICE_COLUMNS.get(key), message)
            else:
                summary.reject(row.line, None, exc.message)
            continue
        summary.created += 1
        if declaration.state == DeclarationState.SUBMITTED:
            summary.submitted += 1
        else:
            summary.drafts += 1
        summary.declarations.append({"line": row.line, "id": declaration.pk, "state": declaration.state})

    summary.errors.sort(key=lambda e: (e["line"], HEADERS.index(e["column"]) if e["column"] in HEADERS else 99))
    result = summary.as_dict()
    audit_record(
        actor=actor,
        action="declaration.import",
        after={
            "file": file_name[:200],
            **{k: result[k] for k in ("rows", "created", "submitted", "drafts", "rejected")},
        },
    )
    return result


# --- template ------------------------------------------------------------------------------

_NOTES = {
    USCC: "必填。18 位统一社会信用代码, 须为本辖区名录库中的经营主体",
    AMOUNT: "必填。单位: 万元, 可保留两位小数, 如 30 或 12.5",
    TERM: "必填。整数, 单位: 月(1–360)",
    PURPOSE: "必填。如: 进货周转、购置设备",
    BANK1: "必填。银行名称或代码, 如 中国银行、建设银行、山西银行、晋商银行、山西省农村信用社",
    BANK2: "选填。最多 2 家意向银行, 不能与意向银行1 相同",
    CRITERIA: "是/否。合规持续经营、固定经营场所、真实融资需求、信用状况良好、贷款用途依法合规均已核实填「是」",
    UNMET: "选填, 仅「否」时填写。未满足的标准名称, 多个用「、」分隔, 如 固定经营场所、信用状况良好; 其余视为已核实",
    EXCEPTION: "选填。有未满足的标准仍申报的理由; 填写后可提交, 须经专班组长确认后方可通过组长审核(不能批量通过)",
    CONSENT: "是/否。企业已同意向意向银行共享信息填「是」; 同意且标准均已核实(或填写了例外理由)的直接提交初审, "
    "否则保存为草稿",
    VISIT_DATE: "选填。YYYY-MM-DD, 不晚于今天; 填写后同时登记走访记录",
    VISIT_PEOPLE: "填写走访日期时必填",
    NOTE: "选填。走访情况或其他说明",
    REPAYMENT: "选填。" + "、".join(label for _, label in REPAYMENT_CHOICES) + f" 之一, 留空为{REPAYMENT_UNDECIDED}。"
    "部分产品对还款方式有要求, 如晋享贷: 按月结息、到期一次性还本的授信期限最长不超过 1 年",
}


def declaration_import_template() -> bytes:
    """The 批量申报 template: a header row with yes/no and bank drop-downs, and a sheet of notes."""

    book = Book()
    sheet = book.sheet("批量申报")
    sheet.append(HEADERS, style=HEADER.but(border=False))
    sheet.widths([24] + [max(14, len(header) * 2 + 2) for header in HEADERS[1:]])
    sheet.freeze("A2")
    last = MAX_ROWS + 1

    def col(name: str) -> str:
        return column_letter(HEADERS.index(name) + 1)

    for name in (CRITERIA, CONSENT):
        sheet.choices(f"{col(name)}2:{col(name)}{last}", ["是", "否"], error="请选择 是 或 否")
    sheet.choices(
        f"{col(REPAYMENT)}2:{col(REPAYMENT)}{last}",
        [label for _, label in REPAYMENT_CHOICES],
        error="请选择列出的还款方式, 或留空(未定)",
    )
    bank_names = list(Bank.objects.order_by("code").values_list("name", flat=True))
    for name in (BANK1, BANK2):
        sheet.choices(f"{col(name)}2:{col(name)}{last}", bank_names)
    for name in (USCC, PURPOSE, BANK1, BANK2, UNMET, EXCEPTION, VISIT_PEOPLE, NOTE):
        sheet.number_format(f"{col(name)}2:{col(name)}201", "@")  # keep codes as text
    sheet.number_format(f"{col(VISIT_DATE)}2:{col(VISIT_DATE)}201", "yyyy-mm-dd")

    notes = book.sheet("填写说明")
    notes.append(["列名", "说明"], style=BOLD)
    for header in HEADERS:
        notes.append([header, _NOTES[header]])
    notes.skip()
    notes.append(["可填写的银行", "、".join(f"{b.name}({b.code})" for b in Bank.objects.order_by("code"))])
    notes.append(["导入规则", "正确的行导入, 有误的行逐行报告(行号、列名、原因)且不导入; 修改后可只重新导入有误的行"])
    notes.append(
        [
            "一户一案",
            "经营主体已有进行中的申报(含待推送), 或在银行尚有未作出授信决定的推荐时, 该行不导入并说明原因; "
            "其余行照常导入",
        ]
    )
    notes.widths([28, 100])
    return book.content()


# --- the error report of an upload, as xlsx ------------------------------------------------------
# An import stores nothing but the declarations it creates; the lines it refused are kept for
# the uploader for an hour (the cache, keyed by the uploader and a random token) so that the
# page can offer them as an xlsx file. Another user's token finds nothing.
ERROR_REPORT_SECONDS = 3600


def _error_report_key(actor, token: str) -> str:
    return f"declaration-import-errors:{actor.pk}:{token}"


def error_report_keep(*, actor, errors: list[dict], file_name: str) -> str:
    """Keep the refused lines of an upload for ``actor``; the token naming them."""
    token = secrets.token_urlsafe(16)
    cache.set(_error_report_key(actor, token), {"errors": errors, "file_name": file_name}, ERROR_REPORT_SECONDS)
    return token


def error_report_get(*, actor, token: str) -> dict | None:
    """``{"errors", "file_name"}`` kept for ``actor`` under ``token``, or None (expired, or not his)."""
    if not token or len(token) > 64:
        return None
    return cache.get(_error_report_key(actor, token))
