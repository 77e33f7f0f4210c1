"""The official 推荐清单 spreadsheet of a batch (title, reporting unit, date, one row per
entity and intended bank, a 合计 counting each entity and its need once), written by
portal.spreadsheets (text never a formula) and printed one page wide like the other
government forms."""

from __future__ import annotations

from decimal import Decimal

from django.utils import timezone

from matching import selectors
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


def _branch_name(route: dict) -> str:
    return route["branch"].name if route["branch"] is not None else "无服务机构, 无法推送"


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
    declarations = list(
        batch.declarations.select_related("entity", "region").prefetch_related("intended_banks__bank").order_by("id")
    )
    # before the push, the branch the push will route each to (or none: the push refuses it)
    routes = selectors.batch_routes(batch, declarations)
    for declaration in declarations:
        total += declaration.amount
        entities.add(declaration.entity_id)
        for intended in declaration.intended_banks.all():
            rec = recommendations.get((declaration.pk, intended.bank_id))
            rows += 1
            sheet.append(
                [
                    rows,
                    *_need_cells(declaration),
                    intended.bank.name,
                    _branch_name(routes[(declaration.pk, intended.bank_id)]),
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


# --- 申报清单 -----------------------------------------------------------------------------------

DECLARATION_HEADERS = [
    "序号",
    "企业名称",
    "统一社会信用代码",
    "所在县(区)",
    "主体类型",
    "融资金额(万元)",
    "期限(月)",
    "资金用途",
    "意向对接银行",
    "来源",
    "状态",
    "提交日期",
]


def declaration_list_export(*, actor, state: str | None = None, q: str | None = None) -> spreadsheets.File:
    """申报清单 as the list page shows it (same filters), its rows resolved through
    restrict(Declaration, EXPORT): a county's task force exports its county, a city its
    counties; a bank or an account manager exports nothing."""
    declarations = selectors.declaration_list(user=actor, state=state, q=q, action=EXPORT)
    today = timezone.localdate()
    book = spreadsheets.Book()
    sheet = book.sheet("申报清单")
    sheet.merge(1, 1, 1, len(DECLARATION_HEADERS))
    sheet.write(1, 1, "支持小微企业融资协调工作机制 申报清单", style=Style(bold=True, size=14, align="center"))
    who = actor.get_full_name() or actor.get_username()
    sheet.write(2, 1, f"导出人: {who}    导出日期: {today:%Y-%m-%d}    金额单位: 万元")
    sheet.row = 2
    sheet.append(DECLARATION_HEADERS, style=_HEADER)
    rows = 0
    total = 0
    for declaration in declarations:
        rows += 1
        total += declaration.amount
        sheet.append(
            [
                rows,
                *_need_cells(declaration),
                "、".join(intended.bank.name for intended in declaration.intended_banks.all()),
                declaration.get_source_display(),
                declaration.get_state_display(),
                timezone.localtime(declaration.submitted_at).date() if declaration.submitted_at else "未提交",
            ],
            style=_CELL,
        )
    last = sheet.append(["合计", f"{rows} 条申报"], style=BOLD)
    sheet.write(last, 6, _wan(total), style=BOLD.but(number_format="#,##0.00"))
    sheet.sign_off()
    sheet.widths([6, 28, 22, 12, 12, 14, 8, 20, 22, 12, 12, 12])
    sheet.print_one_page_wide(title_rows="3:3")
    return book.file(f"申报清单_{today:%Y%m%d}.xlsx", rows=rows)


# --- 批量申报 error report ------------------------------------------------------------------------

ERROR_HEADERS = ["行号", "列", "原因"]


def declaration_import_errors_xlsx(errors: list[dict], *, file_name: str = "") -> spreadsheets.File:
    """The rows of an uploaded 批量申报 file that were not imported, with their line, column and
    reason: to correct the file and upload only these lines again."""
    book = spreadsheets.Book()
    sheet = book.sheet("错误报告")
    sheet.merge(1, 1, 1, len(ERROR_HEADERS))
    sheet.write(1, 1, "批量申报 错误报告", style=Style(bold=True, size=14, align="center"))
    sheet.write(2, 1, f"文件: {file_name or '—'}    导入日期: {timezone.localdate():%Y-%m-%d}")
    sheet.row = 2
    sheet.append(ERROR_HEADERS, style=_HEADER)
    for error in errors:
        sheet.append([error["line"], error.get("column") or "整行", error["message"]], style=_CELL)
    sheet.widths([8, 20, 70])
    sheet.print_one_page_wide(landscape=False, title_rows="3:3")
    return book.file(f"批量申报错误报告_{timezone.localdate():%Y%m%d}.xlsx", rows=len(errors))


def _need_cells(declaration) -> list:
    """The entity and its need, as both lists print them: name, USCC, county, type, amount
    (万元), term, purpose."""
    return [
        declaration.entity.name,
        declaration.entity.uscc,
        declaration.region.name,
        declaration.entity.get_entity_type_display(),
        Cell(_wan(declaration.amount), _AMOUNT),
        declaration.term_months,
        declaration.purpose,
    ]
