"""The campaign's xlsx files (portal.spreadsheets, the one writer):

* 走访覆盖情况表 (`campaign.coverage`): targets, visited, with a need, with a declaration, overdue
  and the rate per county and per township — figures only, no row names an entity or a person;
* 走访目标企业清单 (`campaign.targets`): every target of the user's area with its source, its
  exclusion and reason, its visitor, whether it was visited, with a need, with a declaration, and
  the coverage per visitor on a second sheet — it names entities and visitors (personal data)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.utils import timezone

from campaigns import selectors
from campaigns.coverage import Coverage, Figures
from campaigns.models import Campaign
from portal.models import Region
from portal.spreadsheets import BOLD, HEADER, Book, File

FIGURE_HEADERS = [
    "目标企业(户)",
    "已分配(户)",
    "已走访(户)",
    "有融资需求(户)",
    "已申报(户)",
    "逾期未走访(户)",
    "覆盖率(%)",
    "剔除(户)",
]


def _figures(f: Figures) -> list:
    return [f.targets, f.assigned, f.visited, f.with_need, f.declared, f.overdue, f.rate, f.excluded]


def _title(sheet, campaign: Campaign, title: str, columns: int) -> None:
    sheet.append([f"{campaign.name} · {title}"], style=BOLD.but(size=14))
    sheet.append(
        [
            f"摸排截止日期 {campaign.deadline:%Y-%m-%d}(距截止 {campaign.days_left()} 个自然日); "
            f"统计时间 {timezone.localtime():%Y-%m-%d %H:%M}"
        ]
    )
    sheet.merge(1, 1, 1, columns)
    sheet.merge(2, 1, 2, columns)


def coverage_file(campaign: Campaign, result: Coverage) -> File:
    book = Book()
    sheet = book.sheet("走访覆盖情况")
    headers = ["县区", "乡镇(街道)", *FIGURE_HEADERS]
    _title(sheet, campaign, "走访覆盖情况表", len(headers))
    sheet.append(headers, style=HEADER)
    names = dict(
        Region.objects.filter(
            code__in={k for k in result.by_county} | {t for _, t in result.by_township if t}
        ).values_list("code", "name")
    )
    rows = 0
    for county, figures in sorted(result.by_county.items()):
        listed = figures.targets or figures.excluded
        sheet.append([names.get(county, county), "合计" if listed else "未生成清单", *_figures(figures)], style=BOLD)
        rows += 1
        for (c, township), tf in sorted(result.by_township.items(), key=lambda kv: (kv[0][0], kv[0][1] or "")):
            if c == county:
                sheet.append(
                    [
                        names.get(county, county),
                        names.get(township, "未填乡镇") if township else "未填乡镇",
                        *_figures(tf),
                    ]
                )
                rows += 1
    sheet.append(["总计", "", *_figures(result.total)], style=BOLD)
    sheet.widths([14, 16] + [11] * len(FIGURE_HEADERS))
    sheet.sign_off()
    sheet.print_one_page_wide(title_rows="3:3")
    return book.file(f"走访覆盖情况表_{campaign.pk}_{timezone.localdate():%Y%m%d}.xlsx", rows=rows)


def _yes(value: bool) -> str:
    return "是" if value else "否"


def targets_file(*, user, campaign: Campaign, result: Coverage) -> File:
    book = Book()
    sheet = book.sheet("走访目标企业清单")
    headers = [
        "序号", "统一社会信用代码", "名称", "县区", "乡镇(街道)", "名单来源", "是否剔除", "剔除原因",
        "走访人员", "走访期限", "已走访", "有融资需求", "已申报",
    ]  # fmt: skip
    _title(sheet, campaign, "走访目标企业清单", len(headers))
    sheet.append(headers, style=HEADER)
    rows = list(selectors.export_rows(user=user, campaign=campaign))
    visitors = {
        u.pk: u.get_full_name() or u.username
        for u in get_user_model().objects.filter(pk__in={r.visitor_id for r in rows if r.visitor_id})
    }
    for n, target in enumerate(rows, start=1):
        source = target.get_source_display() + (f"({target.source_label})" if target.source_label else "")
        sheet.append(
            [
                n,
                target.entity.uscc,
                target.entity.name,
                target.region.name,
                target.township.name if target.township else "",
                source,
                _yes(target.excluded),
                target.exclusion_reason,
                visitors.get(target.visitor_id, ""),
                target.due_on,
                _yes(target.visited),
                _yes(target.with_need),
                _yes(target.declared),
            ]
        )
    sheet.widths([6, 22, 28, 10, 14, 14, 8, 28, 12, 12, 8, 10, 8])
    sheet.sign_off()
    sheet.print_one_page_wide(title_rows="3:3")
    by_visitor = book.sheet("按走访人员")
    _title(by_visitor, campaign, "走访人员完成情况", len(FIGURE_HEADERS) + 1)
    by_visitor.append(["走访人员", *FIGURE_HEADERS], style=HEADER)
    names = {
        u.pk: u.get_full_name() or u.username
        for u in get_user_model().objects.filter(pk__in=[k for k in result.by_visitor if k])
    }
    for visitor_id, figures in sorted(result.by_visitor.items(), key=lambda kv: kv[0] or 0):
        by_visitor.append([names.get(visitor_id, "未分配") if visitor_id else "未分配", *_figures(figures)])
    by_visitor.widths([16] + [11] * len(FIGURE_HEADERS))
    by_visitor.print_one_page_wide(title_rows="3:3")
    return book.file(f"走访目标企业清单_{campaign.pk}_{timezone.localdate():%Y%m%d}.xlsx", rows=len(rows))
