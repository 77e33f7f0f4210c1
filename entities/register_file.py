"""The regulator's register file (名录库): reading CSV/XLSX and validating every cell.

No database access: the caller passes the known region and industry codes. A row is
rejected with one error per bad cell; a file that cannot be read, or whose header is not
exactly HEADERS, raises RegisterFileError (nothing is imported).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import types
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache

from openpyxl import load_workbook
from stdnum import numdb
from stdnum.cn import ric
from stdnum.cn import uscc as stdnum_uscc
from stdnum.exceptions import InvalidChecksum, InvalidFormat, InvalidLength

from entities.classification import GBT4754_SECTIONS
from entities.restrictions import region_within

HEADERS = (
    "统一社会信用代码",
    "名称",
    "主体类型",
    "登记状态",
    "成立日期",
    "行政区划代码",
    "行业代码",
    "经营场所固定",
    "年营业收入",
    "资产总额",
    "净资产",
    "从业人数",
    "参保人数",
    "纳税人类型",
    "有纳税记录",
    "分型",
    "名特优新",
    "名特优新有效期至",
    "经营者姓名",
    "经营者身份证号",
    "经营者手机号",
    "失信被执行人",
    "近两年连续逾期期数",
    "近两年累计逾期期数",
    # 烟草专卖零售许可证 (烟商E贷): the number, or 无 for "holds none"; empty keeps what is known
    "烟草专卖零售许可证号",
    "烟草专卖零售许可证有效期自",
    "烟草专卖零售许可证有效期至",
    # conds: where it operates when not where it is registered; the operator's own realisable
    # net assets (晋享贷: 额度不超过借款人自有可变现净资产总额的 60%)
    "经营地行政区划代码",
    "经营者自有可变现净资产",
)
REQUIRED = {"统一社会信用代码", "名称", "主体类型", "登记状态", "行政区划代码"}

ENTITY_TYPES = {
    "个体工商户": "individual_business",
    "小微企业": "small_micro_enterprise",
    "农民专业合作社": "farmer_cooperative",
    "家庭农场": "family_farm",
}
REGISTER_STATUSES = {"存续": "active", "经营异常": "abnormal", "吊销未注销": "revoked", "注销": "cancelled"}
TAX_STATUSES = {"一般纳税人": "general_taxpayer", "小规模纳税人": "small_scale_taxpayer", "无": "none"}
TIERS = {"生存型": "survival", "成长型": "growth", "发展型": "development"}
HONORS = {"知名": "renowned", "特色": "distinctive", "优质": "quality", "新兴": "emerging"}
HONOR_ORDER = ("renowned", "distinctive", "quality", "emerging")
YES_NO = {"是": True, "否": False}
# reverse maps, for the template and the error report
LABELS = {
    "entity_type": {v: k for k, v in ENTITY_TYPES.items()},
    "register_status": {v: k for k, v in REGISTER_STATUSES.items()},
    "tax_status": {v: k for k, v in TAX_STATUSES.items()},
    "tier": {v: k for k, v in TIERS.items()},
    "honor": {v: k for k, v in HONORS.items()},
}
MAX_ROWS = 2_000_000
# a row the importer may not write: its county lies outside the importer's region, or its code
# names an entity registered outside it. One message for both, so the report never tells
# whether a code exists in another region (register_import rejects the second kind).
OUT_OF_SCOPE_ROW = "该经营主体不在本机构管辖范围内(行政区划代码或平台名录库中登记的所在地), 本行未导入"


class RegisterFileError(Exception):
    """The file cannot be imported at all (exit status 2); the message is Chinese."""


@dataclass
class CellError:
    line: int
    column: str | None
    message: str

    def as_dict(self) -> dict:
        return {"line": self.line, "column": self.column, "message": self.message}


@dataclass
class ValidatedFile:
    rows: int = 0
    valid: list[dict] = field(default_factory=list)  # model column values + "_line"
    errors: list[CellError] = field(default_factory=list)
    rejected_lines: set[int] = field(default_factory=set)
    rejected_codes: list[tuple[int, str]] = field(default_factory=list)  # (line, uscc) of rejected rows


# --- reading ---------------------------------------------------------------------------


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _csv_rows(content: bytes) -> Iterator[tuple[int, list[str]]]:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RegisterFileError(
            "无法读取文件: 不是 UTF-8 编码的 CSV, 也不是 XLSX 文件(请按模板另存为 CSV UTF-8 或 XLSX)"
        ) from exc
    if "\x00" in text:
        raise RegisterFileError("无法读取文件: 文件含有二进制内容, 不是 CSV 或 XLSX 文件")
    reader = csv.reader(io.StringIO(text, newline=""))
    next_line = 1
    try:
        for cells in reader:
            yield next_line, list(map(str.strip, cells))
            next_line = reader.line_num + 1
    except csv.Error as exc:
        raise RegisterFileError(f"无法读取文件: 第 {next_line} 行 CSV 格式错误({exc})") from exc


def _xlsx_rows(content: bytes) -> Iterator[tuple[int, list[str]]]:
    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        sheet = workbook.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
    except Exception as exc:  # openpyxl raises many kinds on a damaged file
        raise RegisterFileError(f"无法读取文件: XLSX 文件已损坏或格式不支持({type(exc).__name__})") from exc
    try:
        for number, values in enumerate(rows, start=1):
            yield number, [_cell_text(v) for v in values]
    finally:
        workbook.close()


def read_table(content: bytes) -> Iterator[tuple[int, list[str]]]:
    """(line number, stripped cells) for every row of a CSV (UTF-8, BOM optional) or XLSX file."""
    if not content:
        raise RegisterFileError("无法读取文件: 文件为空")
    if content[:4] == b"PK\x03\x04":
        if not zipfile.is_zipfile(io.BytesIO(content)):
            raise RegisterFileError("无法读取文件: XLSX 文件已损坏")
        return _xlsx_rows(content)
    if content[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise RegisterFileError("无法读取文件: 不支持旧版 Excel(.xls)格式, 请另存为 XLSX 或 CSV UTF-8")
    return _csv_rows(content)


def plain_csv_lines(content: bytes) -> list[str] | None:
    """The lines of a CSV file that has no quoted fields (so every line is one row), for
    parsing in parallel; None when the file must go through read_table."""
    if content[:4] == b"PK\x03\x04" or b'"' in content or b"\x00" in content:
        return None
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None
    lines = text.split("\n")
    while lines and not lines[-1].strip():
        lines.pop()
    return lines


def parse_lines(lines: list[str], first_line: int) -> list[tuple[int, list[str]]]:
    """(line number, stripped cells) of the non-blank lines; `first_line` numbers lines[0]."""
    rows = []
    for number, cells in enumerate(csv.reader([line.rstrip("\r") for line in lines]), start=first_line):
        if any(cells):
            rows.append((number, list(map(str.strip, cells))))
    return rows


def check_header(cells: list[str]) -> None:
    header = list(cells)
    if header:
        header[0] = header[0].lstrip("\ufeff")
    while header and header[-1] == "":
        header.pop()
    if tuple(header) == HEADERS:
        return
    missing = [h for h in HEADERS if h not in header]
    unexpected = [h for h in header if h not in HEADERS]
    parts = []
    if missing:
        parts.append("缺少表头: " + "、".join(missing))
    if unexpected:
        parts.append("无法识别的表头: " + "、".join(h or "(空)" for h in unexpected))
    if not parts:
        parts.append("表头顺序或数量与模板不符")
    raise RegisterFileError(
        "表头不符合模板, 未导入任何数据。" + "; ".join(parts) + "。表头应为(按顺序): " + ",".join(HEADERS)
    )


# --- cell rules ------------------------------------------------------------------------


class Bad(Exception):
    pass


_INT_RE = re.compile(r"\d+")
_SIGNED_DECIMAL_RE = re.compile(r"[+-]?\d+(\.\d+)?")
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
_PHONE_RE = re.compile(r"1[3-9]\d{9}")
TOBACCO_LICENCE_RE = re.compile(r"[0-9A-Z]{6,32}")
NO_TOBACCO_LICENCE = "无"
_REGION_RE = re.compile(r"\d{6}")


_USCC_RE = re.compile(r"[0-9]{8}[0-9A-HJ-NP-RTUW-Y]{10}")
_ID_RE = re.compile(r"[0-9]{17}[0-9X]")


def _on_compact_number(function):
    """A python-stdnum check-character function run on a number already in its compact form:
    the library's own code (its weights, alphabet and arithmetic), with its first step,
    compact(), bound to the identity, which it is on such a number (18 ASCII digits and
    capitals: nothing to strip, upper-case or map). That step costs more than the check."""
    namespace = dict(function.__globals__, compact=str)
    return types.FunctionType(
        function.__code__, namespace, function.__name__, function.__defaults__, function.__closure__
    )


_uscc_check_character = _on_compact_number(stdnum_uscc.calc_check_digit)


def parse_uscc(text: str) -> str:
    # a well-formed code (the importer's hot path) is checked with stdnum's check character
    # directly; anything else goes through stdnum's validate for the precise reason
    number = text if _USCC_RE.fullmatch(text) else text.replace(" ", "").replace("-", "").upper()
    if _USCC_RE.fullmatch(number) and _uscc_check_character(number) == number[17]:
        return number
    number = stdnum_uscc.compact(text)
    try:
        return stdnum_uscc.validate(number)
    except InvalidLength:
        raise Bad(f"应为 18 位, 实为 {len(number)} 位")
    except InvalidFormat:
        raise Bad("含有不允许的字符(前 8 位为数字, 其余为数字或除 I、O、Z、S、V 外的大写字母)")
    except InvalidChecksum:
        raise Bad(f"校验位错误(按前 17 位应为 {stdnum_uscc.calc_check_digit(number[:17])})")


@lru_cache(maxsize=8192)
def _known_birth_place(code: str) -> bool:
    # stdnum's own check also ties the code to the birth year, which rejects genuine numbers
    # issued after a division changed (泽州县 140525 exists since 1996): we only require the
    # code to exist in its table at some time
    return any(
        "county" in props or "province" in props for part, props in numdb.get("cn/loc").info(code) if len(part) == 4
    )


def parse_id_number(text: str, today: dt.date) -> tuple[str, dt.date]:
    number = text.replace(" ", "").upper()
    if not _ID_RE.fullmatch(number):
        if len(number) != 18:
            raise Bad(f"应为 18 位, 实为 {len(number)} 位")
        raise Bad("格式错误(前 17 位为数字, 第 18 位为数字或 X)")
    if ric.calc_check_digit(number) != number[17]:
        raise Bad("校验位错误")
    try:
        birth = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise Bad("出生日期无效")
    if birth > today or birth.year < 1900:
        raise Bad("出生日期无效")
    if not _known_birth_place(number[:6]):
        raise Bad("地址码(前 6 位)不是有效的行政区划代码")
    return number, birth


def parse_date(text: str) -> dt.date:
    if not _DATE_RE.fullmatch(text):
        raise Bad(f"日期格式应为 YYYY-MM-DD, 实为「{text}」")
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise Bad(f"日期不存在: {text}")


# the ranges of the columns these cells are written to (BigIntegerField, PositiveIntegerField,
# PositiveSmallIntegerField; entities/tests check they match the models): a larger number is a
# row error, never a failed import
MONEY_MAX = 2**63 - 1
COUNT_MAX = 2_147_483_647
SMALL_COUNT_MAX = 32_767


def _bounded(text: str, maximum: int, what: str) -> int:
    digits = text.lstrip("0")  # never int() a huge string: its length decides first
    if len(digits) > len(str(maximum)) or int(text) > maximum:
        raise Bad(f"{what}超出允许范围(最大 {maximum:,}): {text}")
    return int(text)


def parse_money(text: str) -> int:
    if _INT_RE.fullmatch(text):
        return _bounded(text, MONEY_MAX, "金额")
    if _SIGNED_DECIMAL_RE.fullmatch(text.replace(",", "")):
        if text.startswith("-"):
            raise Bad(f"金额不能为负数: {text}")
        raise Bad(f"金额应为整数元(不含小数、千分位或单位): {text}")
    raise Bad(f"金额应为整数元: {text}")


def parse_count(text: str, maximum: int = COUNT_MAX) -> int:
    if _INT_RE.fullmatch(text):
        return _bounded(text, maximum, "数值")
    if text.startswith("-") and _INT_RE.fullmatch(text[1:]):
        raise Bad(f"不能为负数: {text}")
    raise Bad(f"应为非负整数: {text}")


def parse_small_count(text: str) -> int:
    return parse_count(text, SMALL_COUNT_MAX)


def _choice(mapping: dict[str, str], text: str) -> str:
    try:
        return mapping[text]
    except KeyError:
        raise Bad(f"「{text}」不是允许的值, 应为 " + "|".join(mapping)) from None


def parse_honors(text: str) -> str:
    kinds = set()
    for part in re.split(r"[、,，;；]", text):
        part = part.strip()
        if part:
            kinds.add(_choice(HONORS, part))
    return ",".join(k for k in HONOR_ORDER if k in kinds)


# --- validation ------------------------------------------------------------------------


@dataclass(frozen=True)
class Context:
    county_codes: frozenset[str]  # GB/T 2260 county-level codes the portal knows
    region_names: dict  # code -> (level, name), to explain a code of the wrong level
    industry_codes: frozenset[str]
    today: dt.date
    region_prefix: str = ""  # importer's region ("" = anywhere; restrictions.write_region_prefix)
    # whether the importer's file may set the regulator's marks (restrictions.import_mark_rights):
    # the 分型 column (三型 mark) and the 名特优新 columns; otherwise they are not taken
    takes_tier_marks: bool = True
    takes_honors: bool = True
    mark_source: str = "名录库导入"  # the source recorded with a mark the file sets


def _choice_parser(mapping: dict[str, str]):
    allowed = "|".join(mapping)

    def parse(text: str) -> str:
        value = mapping.get(text)
        if value is None:
            raise Bad(f"「{text}」不是允许的值, 应为 {allowed}")
        return value

    return parse


# (column index, key, parser) of the cells that are parsed the same way; empty = None
_SIMPLE = (
    (2, "entity_type", _choice_parser(ENTITY_TYPES)),
    (3, "register_status", _choice_parser(REGISTER_STATUSES)),
    (4, "established_on", parse_date),
    (7, "fixed_premises", _choice_parser(YES_NO)),
    (8, "annual_revenue", parse_money),
    (9, "total_assets", parse_money),
    (10, "net_assets", parse_money),
    (11, "employees", parse_count),
    (12, "social_insurance_headcount", parse_count),
    (13, "tax_status", _choice_parser(TAX_STATUSES)),
    (14, "has_tax_record", _choice_parser(YES_NO)),
    (15, "tier_imported", _choice_parser(TIERS)),
    (16, "honors_imported", parse_honors),
    (17, "honors_imported_valid_until", parse_date),
    (21, "dishonest_debtor", _choice_parser(YES_NO)),
    (22, "overdue_consecutive_24m", parse_small_count),
    (23, "overdue_total_24m", parse_small_count),
    (HEADERS.index("经营者自有可变现净资产"), "operator_realisable_net_assets", parse_money),
)
_OPERATING_REGION = HEADERS.index("经营地行政区划代码")
_REQUIRED_INDEXES = tuple(i for i, h in enumerate(HEADERS) if h in REQUIRED)


def validate_rows(
    rows: Iterator[tuple[int, list[str]]], ctx: Context, progress=None, check_duplicates: bool = True
) -> ValidatedFile:
    """Validate every data row after the header. `progress(rows_seen)` is called now and then.
    Without `check_duplicates` (a chunk of a file validated in parallel) the caller rejects
    repeated codes afterwards with `reject_duplicates`."""
    result = ValidatedFile()
    seen_uscc: dict[str, int] = {}
    width = len(HEADERS)
    today = ctx.today
    county_codes, industry_codes = ctx.county_codes, ctx.industry_codes
    prefix = ctx.region_prefix
    errors, valid = result.errors, result.valid
    count = 0

    for line, cells in rows:
        if not any(cells):
            continue  # blank lines are not rows
        count += 1
        if count > MAX_ROWS:
            raise RegisterFileError(f"文件行数超过上限 {MAX_ROWS} 行, 请拆分后导入")
        if progress is not None and count % 5000 == 0:
            progress(count)
        bad: list[tuple[str | None, str]] = []
        if len(cells) != width:
            if len(cells) > width and any(cells[width:]):
                bad.append((None, f"该行有 {len(cells)} 列, 多于表头的 {width} 列"))
            cells = (cells + [""] * width)[:width]
        out: dict = {"_line": line}
        for index in _REQUIRED_INDEXES:
            if not cells[index]:
                bad.append((HEADERS[index], "必填"))
        for index, key, parse in _SIMPLE:
            text = cells[index]
            if text:
                try:
                    out[key] = parse(text)
                except Bad as exc:
                    bad.append((HEADERS[index], str(exc)))
                    out[key] = None
            else:
                out[key] = None

        text = cells[0]
        number = None
        if text:
            try:
                number = parse_uscc(text)
            except Bad as exc:
                bad.append((HEADERS[0], str(exc)))
        out["uscc"] = number
        name = cells[1]
        if len(name) > 200:
            bad.append((HEADERS[1], "长度不能超过 200 字"))
        out["name"] = name
        if out["established_on"] is not None and out["established_on"] > today:
            bad.append((HEADERS[4], f"成立日期 {out['established_on']} 晚于今天"))
        region = cells[5]
        if region and region not in county_codes:
            if not _REGION_RE.fullmatch(region):
                bad.append((HEADERS[5], f"应为 6 位数字代码(GB/T 2260), 实为「{region}」"))
            elif region in ctx.region_names:
                level, region_name = ctx.region_names[region]
                bad.append((HEADERS[5], f"{region} 是{region_name}({level}), 应填写县级行政区划代码"))
            else:
                bad.append((HEADERS[5], f"未知的行政区划代码 {region}"))
        elif region and not region_within(prefix, region):
            bad.append((HEADERS[5], OUT_OF_SCOPE_ROW))
        out["region_id"] = region or None
        industry = cells[6]
        out["industry_id"] = None
        if industry:
            code = _industry_code(industry, industry_codes)
            if code is None:
                bad.append((HEADERS[6], f"未知的行业代码 {industry}(应为 GB/T 4754-2017 门类字母或 2-4 位代码)"))
            out["industry_id"] = code
        operating = cells[_OPERATING_REGION]
        out["operating_region_code"] = None
        if operating:
            # any county: where it operates is a fact, not the importer's scope
            if operating in county_codes:
                out["operating_region_code"] = operating
            elif operating in ctx.region_names:
                level, region_name = ctx.region_names[operating]
                bad.append(
                    (HEADERS[_OPERATING_REGION], f"{operating} 是{region_name}({level}), 应填写县级行政区划代码")
                )
            else:
                bad.append((HEADERS[_OPERATING_REGION], f"未知的县级行政区划代码「{operating}」"))
        if out["honors_imported"] and not cells[17]:
            bad.append((HEADERS[17], "填写了名特优新, 须填写有效期至"))
        if not cells[16] and cells[17]:
            bad.append((HEADERS[17], "未填写名特优新, 不应填写有效期"))
        out["honors_imported"] = out["honors_imported"] or ""
        operator = cells[18]
        if len(operator) > 64:
            bad.append((HEADERS[18], "长度不能超过 64 字"))
        out["operator_name"] = operator
        out["operator_id_number"] = out["operator_birth_date"] = None
        if cells[19]:
            try:
                out["operator_id_number"], out["operator_birth_date"] = parse_id_number(cells[19], today)
            except Bad as exc:
                bad.append((HEADERS[19], str(exc)))
        phone = cells[20]
        if phone and not _PHONE_RE.fullmatch(phone):
            bad.append((HEADERS[20], "应为 11 位手机号码"))
        out["operator_phone"] = phone
        consecutive, total = out["overdue_consecutive_24m"], out["overdue_total_24m"]
        if consecutive is not None and total is not None and consecutive > total:
            bad.append((HEADERS[22], f"连续逾期期数 {consecutive} 大于累计逾期期数 {total}"))
        out.update(_tobacco_licence(cells, bad))

        if number is not None and check_duplicates:
            first = seen_uscc.get(number)
            if first is not None:
                bad.append((HEADERS[0], duplicate_message(first)))
            else:
                seen_uscc[number] = line
        if bad:
            result.rejected_lines.add(line)
            if number is not None:
                result.rejected_codes.append((line, number))
            order = {h: i for i, h in enumerate(HEADERS)}
            bad.sort(key=lambda item: -1 if item[0] is None else order[item[0]])
            errors.extend(CellError(line, column, message) for column, message in bad)
        else:
            valid.append(out)
    result.rows = count
    if progress is not None:
        progress(count)
    return result


_LICENCE_NUMBER, _LICENCE_FROM, _LICENCE_UNTIL = (
    HEADERS.index("烟草专卖零售许可证号"),
    HEADERS.index("烟草专卖零售许可证有效期自"),
    HEADERS.index("烟草专卖零售许可证有效期至"),
)


def _tobacco_licence(cells: list[str], bad: list) -> dict:
    """The four licence columns of a row: held (None = the row says nothing: keep what is
    known), the number and the validity period (through 有效期至)."""
    number, starts_text, ends_text = cells[_LICENCE_NUMBER], cells[_LICENCE_FROM], cells[_LICENCE_UNTIL]
    out = {
        "tobacco_licence_held": None,
        "tobacco_licence_number": None,
        "tobacco_licence_valid_from": None,
        "tobacco_licence_valid_until": None,
    }
    if not number:
        if starts_text or ends_text:
            column = HEADERS[_LICENCE_FROM] if starts_text else HEADERS[_LICENCE_UNTIL]
            bad.append((column, "未填写烟草专卖零售许可证号, 不应填写有效期"))
        return out
    if number == NO_TOBACCO_LICENCE:
        if starts_text or ends_text:
            column = HEADERS[_LICENCE_FROM] if starts_text else HEADERS[_LICENCE_UNTIL]
            bad.append((column, "许可证号填写「无」(未持有)时不应填写有效期"))
        return {**out, "tobacco_licence_held": False}
    code = number.replace(" ", "").upper()
    if not TOBACCO_LICENCE_RE.fullmatch(code):
        bad.append((HEADERS[_LICENCE_NUMBER], "应为 6-32 位数字或字母, 未持有填写「无」, 不清楚留空"))
    starts = ends = None
    for index, text in ((_LICENCE_FROM, starts_text), (_LICENCE_UNTIL, ends_text)):
        if not text:
            continue
        try:
            value = parse_date(text)
        except Bad as exc:
            bad.append((HEADERS[index], str(exc)))
            continue
        if index == _LICENCE_FROM:
            starts = value
        else:
            ends = value
    if not ends_text:
        bad.append((HEADERS[_LICENCE_UNTIL], "填写了许可证号, 须填写有效期至"))
    if starts and ends and ends < starts:
        bad.append((HEADERS[_LICENCE_UNTIL], "有效期至不能早于有效期自"))
    return {
        "tobacco_licence_held": True,
        "tobacco_licence_number": code,
        "tobacco_licence_valid_from": starts,
        "tobacco_licence_valid_until": ends,
    }


def duplicate_message(first_line: int) -> str:
    return f"与第 {first_line} 行重复, 本行未导入"


def _industry_code(text: str, industry_codes: frozenset[str]) -> str | None:
    code = text.upper()
    if code in industry_codes:
        return code
    if len(code) > 2 and code[0].isalpha() and code[1:].isdigit() and code[1:] in industry_codes:
        if _section_of(code[1:]) == code[0]:
            return code[1:]  # "C3011" → "3011"
    return None


def _section_of(code: str) -> str | None:
    if len(code) < 2 or not code[:2].isdigit():
        return None
    division = int(code[:2])
    for letter, (first, last, _name) in GBT4754_SECTIONS.items():
        if first <= division <= last:
            return letter
    return None
