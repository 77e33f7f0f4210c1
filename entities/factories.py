"""Test factories of the entities app: market entities, and register files (CSV/XLSX rows
in the importer's columns) for the import tests."""

import csv
import datetime as dt
import io

import factory
from openpyxl import Workbook
from stdnum.cn import ric
from stdnum.cn import uscc as stdnum_uscc

from entities.models import MarketEntity
from entities.register_file import HEADERS


def make_uscc(n: int, region: str = "140525", kind: str = "92") -> str:
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    digits = []
    for _ in range(9):
        n, d = divmod(n, 31)
        digits.append(alphabet[d])
    body = kind + region + "".join(reversed(digits))
    return body + stdnum_uscc.calc_check_digit(body)


def make_id_number(region: str = "140525", birth: dt.date = dt.date(1985, 1, 1), serial: int = 123) -> str:
    body = f"{region}{birth:%Y%m%d}{serial:03d}"
    return body + ric.calc_check_digit(body + "0")


class MarketEntityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MarketEntity

    uscc = factory.Sequence(lambda n: make_uscc(n + 1000))
    name = factory.Sequence(lambda n: f"测试商户{n}")
    entity_type = "individual_business"
    register_status = "active"
    established_on = dt.date(2020, 5, 1)
    region_id = "140525"
    industry_id = "5211"
    operator_name = "张三"
    operator_id_number = factory.Sequence(lambda n: make_id_number(serial=n % 1000))
    operator_birth_date = dt.date(1985, 1, 1)
    operator_phone = "13812345678"
    annual_revenue = 300_000
    employees = 2
    social_insurance_headcount = 0
    tax_status = "none"
    has_tax_record = False
    dishonest_debtor = False
    overdue_consecutive_24m = 0
    overdue_total_24m = 0
    # marked 生存型 in the provincial 名录库 (the mark is `tier`); the platform estimates the same
    tier_imported = "survival"
    tier = "survival"
    tier_mark_source = "名录库导入: 测试名录"
    tier_computed = "survival"
    size_class = "micro"


# --- register files ------------------------------------------------------------------------------


def good_row(n: int = 1, **overrides) -> dict[str, str]:
    row = {
        "统一社会信用代码": make_uscc(n),
        "名称": f"泽州县测试{n}号小吃店",
        "主体类型": "个体工商户",
        "登记状态": "存续",
        "成立日期": "2019-03-01",
        "行政区划代码": "140525",
        "行业代码": "6210",
        "经营场所固定": "是",
        "年营业收入": "850000",
        "资产总额": "",
        "净资产": "",
        "从业人数": "3",
        "参保人数": "2",
        "纳税人类型": "小规模纳税人",
        "有纳税记录": "是",
        "分型": "成长型",
        "名特优新": "",
        "名特优新有效期至": "",
        "经营者姓名": "陈金辉",
        "经营者身份证号": make_id_number(serial=n % 1000),
        "经营者手机号": "13812345678",
        "失信被执行人": "否",
        "近两年连续逾期期数": "0",
        "近两年累计逾期期数": "0",
    }
    row.update(overrides)
    return row


def csv_bytes(rows: list[dict], *, headers=HEADERS, bom: bool = False) -> bytes:
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(headers)
    for row in rows:
        writer.writerow([row.get(h, "") for h in headers])
    return (("\ufeff" if bom else "") + text.getvalue()).encode("utf-8")


def xlsx_bytes(rows: list[dict], *, typed: bool = False) -> bytes:
    """`typed` stores numbers and dates as Excel numbers/dates, as users' files do."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(list(HEADERS))
    for row in rows:
        values = []
        for header in HEADERS:
            value = row.get(header, "")
            if (
                typed
                and value
                and header
                in (
                    "年营业收入",
                    "资产总额",
                    "净资产",
                    "从业人数",
                    "参保人数",
                    "近两年连续逾期期数",
                    "近两年累计逾期期数",
                )
            ):
                value = int(value)
            elif typed and value and header in ("成立日期", "名特优新有效期至"):
                value = dt.datetime.fromisoformat(value)
            values.append(value if value != "" else None)
        sheet.append(values)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
