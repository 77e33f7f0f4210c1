"""The official 推荐清单 spreadsheet of a batch (title, reporting unit, date, one row per
entity and intended bank, a 合计 counting each entity and its need once), written by
portal.spreadsheets (text never a formula) and printed one page wide like the other
government forms."""

from __future__ import annotations

from decimal import Decimal

from django.utils import timezone

from matching.models import RecommendationBatch
from portal import spreadsheets
from portal.spreadsheets import BOLD, Cell, Style
from portal.tenancy import EXPORT, resolve

HEADERS = [
    "序号",
    "企业名称",
    "统一社会信用代码",
    "所在县(区)",
    "主体类型",
    "融资金额(万元)",
    "期限(月)",
    "资金用途",
    "意向对接银行",
    "承办机构",
    "状态",
]
TOTAL_NOTE = "注: 同时推荐给两家意向银行的企业按银行分行列示; 合计户数按企业去重, 融资金额每户计一次。"
_HEADER = Style(bold=True, align="center", border=True)
_CELL = Style(border=True)
_AMOUNT = Style(border=True, number_format="#,##0.00")


def _wan(yuan: int) -> Decimal:
    return (Decimal(yuan) / Decimal(10000)).quantize(Decimal("0.01"))


def recommendation_list_export(*, actor, batch_id) -> tuple[RecommendationBatch, spreadsheets.File]:
    """The batch named by `batch_id`, resolved through restrict(RecommendationBatch, EXPORT)
    (not exportable = not found), and its 推荐清单."""
    batch = resolve(RecommendationBatch.objects.select_related("task_force"), actor, EXPORT, pk=batch_id)
    return batch, recommendation_list_xlsx(batch)


def recommendation_list_xlsx(batch: RecommendationBatch) -> spreadsheets.File:
    book = spreadsheets.Book()
    sheet = book.sheet("推荐清单")
    sheet.merge(1, 1, 1, len(HEADERS))
    sheet.write(
        1, 1, f"支持小微企业融资协调工作机制 推荐清单({batch.title})", style=Style(bold=True, size=14, align="center")
    )
    pushed = timezone.localtime(batch.pushed_at).strftime("%Y-%m-%d") if batch.pushed_at else "未推送"
    sheet.write(2, 1, f"填报单位: {batch.task_force.name}    推送日期: {pushed}    金额单位: 万元")
    sheet.row = 2
    sheet.append(HEADERS, style=_HEADER)
    total = 0  # each declaration's need once, however many intended banks it has
    rows = 0
    entities = set()
    recommendations = {(r.declaration_id, r.bank_id): r for r in batch.recommendations.select_related("branch")}
    declarations = (
        batch.declarations.select_related("entity", "region").prefetch_related("intended_banks__bank").order_by("id")
    )
    for declaration in declarations:
        total += declaration.amount
        entities.add(declaration.entity_id)
        for intended in declaration.intended_banks.all():
            rec = recommendations.get((declaration.pk, intended.bank_id))
            rows += 1
            sheet.append(
                [
                    rows,
                    declaration.entity.name,
                    declaration.entity.uscc,
                    declaration.region.name,
                    declaration.entity.get_entity_type_display(),
                    Cell(_wan(declaration.amount), _AMOUNT),
                    declaration.term_months,
                    declaration.purpose,
                    intended.bank.name,
                    rec.branch.name if rec else "(推送时确定)",
                    rec.get_state_display() if rec else "待推送",
                ],
                style=_CELL,
            )
    last = sheet.append(["合计", f"{len(entities)} 户, {rows} 条推荐"], style=BOLD)
    sheet.write(last, 6, _wan(total), style=BOLD.but(number_format="#,##0.00"))
    sheet.append([TOTAL_NOTE], style=Style(italic=True))
    sheet.sign_off()
    sheet.widths([6, 28, 22, 12, 12, 14, 8, 20, 14, 22, 10])
    sheet.print_one_page_wide(title_rows="3:3")
    return book.file(f"推荐清单-{batch.pk}.xlsx", rows=rows)
