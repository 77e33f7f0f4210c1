"""The 潜在客户 spreadsheet of a bank branch: one row per eligible entity of a product, best
offer first (rows from selectors.potential_export_rows, through restrict(MatchResult,
EXPORT)); phone numbers masked. Written by portal.spreadsheets, audited on download."""

from __future__ import annotations

from decimal import Decimal

from django.utils import timezone

from portal import spreadsheets
from portal.spreadsheets import BOLD, Cell, Style

HEADERS = [
    "序号",
    "名称",
    "统一社会信用代码",
    "县(区)",
    "主体类型",
    "三型标记",
    "成立日期",
    "可贷额度(万元)",
    "决定额度的上限",
    "经营者",
    "经营者手机号",
]
_AMOUNT = Style(number_format="#,##0.00")
_DATE = Style(number_format="yyyy-mm-dd")


def potential_customers_xlsx(rows: list[dict], *, product_name: str) -> spreadsheets.File:
    """潜在客户 of one product (or of all the bank's products), named after it and the day."""
    book = spreadsheets.Book()
    sheet = book.sheet("潜在客户")
    sheet.append(HEADERS, style=BOLD)
    for number, row in enumerate(rows, start=1):
        e = row["entity"]
        amount = row["max_amount"]
        sheet.append(
            [
                number,
                e.name,
                e.uscc,
                row["county"],
                e.get_entity_type_display(),
                row["tier"] if row["tier"] != "—" else "",
                Cell(e.established_on, _DATE) if e.established_on else None,
                Cell((Decimal(amount) / 10_000).quantize(Decimal("0.01")), _AMOUNT)
                if amount is not None
                else "银行审批",
                row["binding_label"],
                e.operator_name,
                row["phone"],
            ]
        )
    sheet.widths([6, 30, 22, 12, 12, 8, 12, 14, 18, 10, 14])
    return book.file(f"潜在客户-{product_name}_{timezone.localdate():%Y%m%d}.xlsx", rows=len(rows))
