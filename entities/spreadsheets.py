"""XLSX/CSV files of the entities app: the register template, an import's error report and
the (masked) entity export. Written by portal.spreadsheets (text never a formula); the views
answer them with spreadsheets.deliver (audited: entity.export, entity_import.export)."""

from __future__ import annotations

from collections.abc import Iterable

from django.utils import timezone

from entities.register_file import HEADERS, REQUIRED
from portal import spreadsheets
from portal.spreadsheets import BOLD, TEXT_FORMAT, Book, Style

EXAMPLE_ROW = [
    "91110000600037341L",
    "泽州县金辉小吃店",
    "个体工商户",
    "存续",
    "2019-03-01",
    "140525",
    "6210",
    "是",
    "850000",
    "",
    "",
    "3",
    "2",
    "小规模纳税人",
    "是",
    "成长型",
    "特色",
    "2027-06-30",
    "陈金辉",
    "140525198501011237",
    "13812345678",
    "否",
    "0",
    "0",
    "无",
    "",
    "",
    "",
    "500000",
]
RULES = [
    ("统一社会信用代码", "必填; 18 位, 末位为校验码(GB 32100-2015); 同一文件内不得重复; 已存在的代码按本行更新"),
    ("名称", "必填; 不超过 200 字"),
    ("主体类型", "必填; 个体工商户 | 小微企业 | 农民专业合作社 | 家庭农场"),
    ("登记状态", "必填; 存续 | 经营异常 | 吊销未注销 | 注销"),
    ("成立日期", "YYYY-MM-DD, 不得晚于今天"),
    ("行政区划代码", "必填; 6 位县级行政区划代码(GB/T 2260), 须在本机构管辖范围内"),
    ("行业代码", "GB/T 4754-2017: 门类字母或 2-4 位代码"),
    ("经营场所固定", "是 | 否"),
    ("年营业收入 / 资产总额 / 净资产", "整数元, 不含小数、千分位或单位, 不得为负数"),
    ("从业人数 / 参保人数", "非负整数"),
    ("纳税人类型", "一般纳税人 | 小规模纳税人 | 无"),
    ("有纳税记录 / 失信被执行人", "是 | 否"),
    ("分型", "生存型 | 成长型 | 发展型, 或留空(未标记)"),
    ("名特优新", "知名 | 特色 | 优质 | 新兴, 多个用、分隔, 或留空(不在名单); 填写时须填写有效期至"),
    ("经营者身份证号", "18 位居民身份证号码, 末位为校验码"),
    ("经营者手机号", "11 位手机号码"),
    ("近两年连续逾期期数 / 近两年累计逾期期数", "非负整数; 连续期数不大于累计期数"),
    (
        "烟草专卖零售许可证号",
        "6-32 位数字或字母; 未持有许可证填写「无」; 不清楚留空(更新已有主体时保留原值)。填写许可证号时须填写有效期至",
    ),
    ("烟草专卖零售许可证有效期自 / 有效期至", "YYYY-MM-DD, 有效期至含当日; 有效期至不能早于有效期自"),
    ("经营地行政区划代码", "经营地与注册地(行政区划代码)不同时填写: 6 位县级行政区划代码, 可在本机构管辖范围外"),
    ("经营者自有可变现净资产", "借款人(经营者)自有可变现净资产, 整数元, 不得为负数"),
    ("空白单元格", "表示未知, 不是 0; 更新已有主体时保留原值(分型、名特优新除外: 留空表示不在名单)"),
]


def template_xlsx() -> bytes:
    book = Book()
    sheet = book.sheet("名录库")
    sheet.append(HEADERS, style=BOLD.but(number_format="@"))
    sheet.append(EXAMPLE_ROW, style=TEXT_FORMAT)  # text: keeps codes and leading zeros as typed
    sheet.widths([max(12, len(header) * 2 + 2) for header in HEADERS])
    notes = book.sheet("填写说明")
    notes.append(["列", "规则"], style=BOLD)
    for row in RULES:
        notes.append(row)
    notes.append(["必填列", "、".join(h for h in HEADERS if h in REQUIRED)])
    notes.widths([36, 100])
    return book.content()


def template_csv() -> bytes:
    return spreadsheets.csv_bytes(HEADERS, [EXAMPLE_ROW])[0]


def errors_xlsx(errors: list[dict], *, file_name: str, import_id: int) -> spreadsheets.File:
    """An import's error report: line, column and message of every refused cell or row."""
    book = Book()
    sheet = book.sheet("错误报告")
    sheet.append(["行号", "列", "错误说明"], style=BOLD)
    for error in errors:
        sheet.append([error["line"], error["column"] or "(整行)", error["message"]])
    sheet.widths([10, 22, 80])
    info = book.sheet("导入文件")
    info.append(["文件名", file_name])
    info.append(["错误数", len(errors)])
    return book.file(f"名录库导入错误报告-{import_id}.xlsx", rows=len(errors))


EXPORT_HEADERS = [
    "统一社会信用代码",
    "名称",
    "主体类型",
    "登记状态",
    "成立日期",
    "行政区划",
    "行业",
    "年营业收入(元)",
    "分型",
    "企业划型",
    "经营者",
    "经营者手机号(脱敏)",
    "不良信用",
]
_DATE = Style(number_format="yyyy-mm-dd")


def entities_xlsx(rows: Iterable[list]) -> spreadsheets.File:
    """The entity export (streamed: up to the views' EXPORT_LIMIT rows)."""
    book = Book(streaming=True)
    sheet = book.sheet("经营主体")
    sheet.append(EXPORT_HEADERS)
    count = 0
    for row in rows:
        sheet.append(row)
        count += 1
    return book.file(f"经营主体_{timezone.localdate():%Y%m%d}.xlsx", rows=count)
