"""The official 推荐清单 spreadsheet of a batch (title, reporting unit, date, one row per
entity and intended bank)."""
from io import BytesIO

from django.utils import timezone
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter

HEADERS = ["序号", "企业名称", "统一社会信用代码", "所在县(区)", "主体类型", "融资金额(万元)", "期限(月)", "资金用途",
           "意向对接银行", "承办机构", "状态"]


def recommendation_list_xlsx(batch) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "推荐清单"
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(HEADERS))
    sheet.cell(1, 1, f"支持小微企业融资协调工作机制 推荐清单({batch.title})").font = Font(bold=True, size=14)
    sheet.cell(1, 1).alignment = Alignment(horizontal="center")
    pushed = timezone.localtime(batch.pushed_at).strftime("%Y-%m-%d") if batch.pushed_at else "未推送"
    sheet.cell(2, 1, f"填报单位: {batch.task_force.name}    推送日期: {pushed}    金额单位: 万元")
    thin = Side(style="thin")
    for col, header in enumerate(HEADERS, start=1):
        cell = sheet.cell(3, col, header)
        cell.font = Font(bold=True)
        cell.border = Border(top=thin, bottom=thin, left=thin, right=thin)
        cell.alignment = Alignment(horizontal="center")
    row = 4
    total = 0
    recommendations = {(r.declaration_id, r.bank_id): r for r in batch.recommendations.select_related("branch")}
    declarations = batch.declarations.select_related("entity", "region").prefetch_related("intended_banks__bank").order_by("id")
    for declaration in declarations:
        for intended in declaration.intended_banks.all():
            rec = recommendations.get((declaration.pk, intended.bank_id))
            values = [
                row - 3, declaration.entity.name, declaration.entity.uscc, declaration.region.name,
                declaration.entity.get_entity_type_display(), round(declaration.amount / 10000, 2), declaration.term_months,
                declaration.purpose, intended.bank.name, rec.branch.name if rec else "(推送时确定)",
                rec.get_state_display() if rec else "待推送",
            ]
            for col, value in enumerate(values, start=1):
                sheet.cell(row, col, value).border = Border(top=thin, bottom=thin, left=thin, right=thin)
            total += declaration.amount
            row += 1
    sheet.cell(row, 1, "合计").font = Font(bold=True)
    sheet.cell(row, 6, round(total / 10000, 2)).font = Font(bold=True)
    for col, width in enumerate([6, 28, 22, 12, 12, 14, 8, 20, 14, 22, 10], start=1):
        sheet.column_dimensions[get_column_letter(col)].width = width
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
