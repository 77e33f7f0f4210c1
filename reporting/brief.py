"""工作通报 / 简报 (seed 004 十六 "定期通报工作进展", 十七): the mechanism's periodic brief, per county
and per bank, for a period and as of a moment: progress (declared, pushed, granted, amounts), the
三个100% (对接覆盖率, 评级授信率, 贷款落地率: reporting.kpis), overdue items (leads, 直接申请, 批分单,
督办单), the ranking of counties and banks, and 无还本续贷 (应续尽续 and the statistics table).

Every figure comes from the functions the dashboard uses (reporting.dashboard's tables over
reporting.selectors, coordination.selectors.problem_figures, reporting.supervision.selectors): the
brief computes nothing of its own. Its sections are a small ordered registry (SECTIONS): a module
adds one with `register_section(name, title, order, build)` (千企万户大走访's 走访覆盖 is one), and the
page, the xlsx and the scheduled mail show it in order.

The brief is read as a page (printable: print CSS), downloaded as xlsx (one sheet, one page wide,
signed off), and built and mailed by the weekly job to the mechanism's subscribers
(reporting.services.scheduled_brief_build, BriefSubscription)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property

from django.utils import timezone

from portal import spreadsheets
from portal.models import Region, Role
from reporting import dashboard, kpis, selectors
from reporting.dashboard import PERCENT, WAN, Table
from reporting.supervision.selectors import orders_as_of

# who generates a brief: the county's lead and convener for the county, the city and the province
# regulators for their region (a brief is the mechanism's, not the task force staff's)
BRIEF_ROLES = {Role.TASK_FORCE_LEAD, Role.CONVENER, Role.CITY_REGULATOR, Role.PROVINCE_REGULATOR}


@dataclass
class BriefData:
    """What the sections read, computed once per brief by the dashboard's functions."""

    user: object
    q: selectors.ReportQuery

    @cached_property
    def figures(self) -> dict:
        return selectors.figures_with_activity(self.user, self.q, ["county", "bank"])

    @property
    def total(self) -> kpis.Figures:
        return self.figures["total"][""]

    @cached_property
    def problems(self) -> dict:
        return dashboard.problem_figures_for(self.user, self.q)

    @cached_property
    def direct(self) -> dict:
        return selectors.direct_figures(self.user, self.q)

    @cached_property
    def orders(self) -> dict:
        found = orders_as_of(user=self.user, moment=self.q.as_of, region=self.q.filters.region)
        return {name: qs.count() for name, qs in found.items()}


@dataclass(frozen=True)
class Section:
    name: str
    title: str
    order: int
    build: Callable[[BriefData], list[Table]]


SECTIONS: dict[str, Section] = {}


def register_section(name: str, title: str, order: int, build: Callable[[BriefData], list[Table]]) -> None:
    """Add (or replace) a section of the brief; sections are shown by `order`."""
    SECTIONS[name] = Section(name, title, order, build)


def sections() -> list[Section]:
    return sorted(SECTIONS.values(), key=lambda s: (s.order, s.name))


# --- the sections -------------------------------------------------------------------------------------


def _progress(data: BriefData) -> list[Table]:
    return [dashboard.region_table(data.figures["county"], data.total, "county")]


def _three_100(data: BriefData) -> list[Table]:
    names = selectors.region_names(data.figures["county"].keys())
    rows = []
    for code in sorted(data.figures["county"]):
        f = data.figures["county"][code]
        rows.append([names.get(code, code), *(r.percent for r in f.three_100())])
    return [
        dashboard.gauges_table(data.total),
        Table(
            "three_100_counties",
            "三个100% · 分县(区)",
            [("县(区)", "text"), ("对接覆盖率", PERCENT), ("评级授信率", PERCENT), ("贷款落地率", PERCENT)],
            rows,
            total=["合计", *(r.percent for r in data.total.three_100())],
        ),
    ]


def _overdue(data: BriefData) -> list[Table]:
    total, direct = data.total, data.direct["total"][""]
    rows = [
        ["推荐线索 · 反馈逾期(笔)", total.feedback_late],
        ["推荐线索 · 决策逾期(笔)", total.decision_late],
        ["直接申请 · 超期或逾期未回复(笔)", direct.feedback_late],
        ["批分单 · 部门逾期(件)", data.problems["overdue"]],
        ["督办单 · 逾期未回复(件)", data.orders["overdue"]],
    ]
    return [
        Table(
            "overdue",
            "逾期事项",
            [("事项", "text"), ("数量", "int")],
            rows,
            note="截至统计时点: 线索与直接申请按 5 个工作日反馈时限; 批分单按承办部门办理时限; 督办单按回复时限",
        )
    ]


def _ranking(data: BriefData) -> list[Table]:
    names = selectors.region_names(data.figures["county"].keys())
    counties = kpis.rank(
        [
            {
                "name": names.get(code, code),
                "credit_amount": f.credit_amount,
                "credited": f.credited,
                "disbursed_amount": f.disbursed_amount,
                "landing": f.landing_rate().percent,
            }
            for code, f in data.figures["county"].items()
        ],
        "credit_amount",
    )
    county_table = Table(
        "county_ranking",
        "县(区)排名",
        [
            ("名次", "int"),
            ("县(区)", "text"),
            ("授信(户)", "int"),
            ("授信金额(万元)", WAN),
            ("放款金额(万元)", WAN),
            ("贷款落地率", PERCENT),
        ],
        [
            [r["rank"], r["name"], r["credited"], r["credit_amount"], r["disbursed_amount"], r["landing"]]
            for r in counties
        ],
        note="按授信金额排名",
    )
    banks = dashboard.ranking_table(dashboard.ranking_rows(data.figures["bank"]), data.total)
    return [county_table, banks]


def _coverage(data: BriefData) -> list[Table]:
    """千企万户大走访's coverage per county (campaigns.selectors.campaign_coverage, the dashboard's card)."""
    return [dashboard.coverage_table(data.user, data.q)]


def _renewals(data: BriefData) -> list[Table]:
    return [
        dashboard.renewal_due_table(selectors.renewal_figures(data.user, data.q)),
        dashboard.renewals_table(selectors.renewals(data.user, data.q), selectors.renewal_swing_threshold()),
    ]


def _direct(data: BriefData) -> list[Table]:
    return [dashboard.direct_table(data.direct)]


def _problems(data: BriefData) -> list[Table]:
    tables = dashboard.problem_tables(data.problems)
    return [tables["problem_status"], tables["problem_kinds"], tables["problem_departments"]]


register_section("progress", "工作进展", 10, _progress)
register_section("three_100", "三个100%", 20, _three_100)
register_section("coverage", "千企万户大走访", 30, _coverage)
register_section("overdue", "逾期事项", 40, _overdue)
register_section("ranking", "排名通报", 50, _ranking)
register_section("renewals", "无还本续贷", 60, _renewals)
register_section("direct", "直接申请", 70, _direct)
register_section("problems", "批分单", 80, _problems)


# --- the brief ---------------------------------------------------------------------------------------

NUMERALS = "一二三四五六七八九十"


@dataclass
class Brief:
    title: str
    unit: str
    query: selectors.ReportQuery
    generated_at: object
    parts: list[tuple[str, list[Table]]] = field(default_factory=list)

    @property
    def period_label(self) -> str:
        return self.query.period_label


def _region_label(user, q: selectors.ReportQuery) -> str:
    prefix = selectors.scope_region_prefix(user, q)
    code = selectors.scope_region_code(prefix)
    name = Region.objects.filter(pk=code).values_list("name", flat=True).first() if code else None
    return name or "全省"


def build(user, params: Mapping | None, *, unit: str | None = None, default_period: str | None = None) -> Brief:
    """The brief for the user and the query (the dashboard's filters: period, region, bank, as-of)."""
    q = selectors.parse_query(params, default_period=default_period or selectors.current_year_period())
    data = BriefData(user, q)
    region = _region_label(user, q)
    bank = f" · {q.filters.bank}" if q.filters.bank else ""
    brief = Brief(
        title=f"{region}{bank} 支持小微企业融资协调工作简报",
        unit=unit or region,
        query=q,
        generated_at=timezone.now(),
    )
    with selectors.one_data_version():  # every section's cached figures: one version
        for number, section in enumerate(sections()):
            label = NUMERALS[number] if number < len(NUMERALS) else str(number + 1)
            brief.parts.append((f"{label}、{section.title}", section.build(data)))
    return brief


def filename(brief: Brief) -> str:
    return f"工作简报_{brief.unit}_{brief.query.filters.period or '全部'}_{timezone.localdate():%Y%m%d}.xlsx"


def brief_xlsx(brief: Brief) -> spreadsheets.File:
    """The brief as one sheet: title, period and as-of line, each section's tables (header row,
    rows, 合计, note), signed off; printed one page wide."""
    book = spreadsheets.Book()
    sheet = book.sheet("工作简报")
    sheet.print_one_page_wide(landscape=False)
    width = max(len(t.columns) for _, tables in brief.parts for t in tables)
    sheet.append([brief.title], style=spreadsheets.Style(bold=True, size=14))
    sheet.append(
        [
            f"报送单位: {brief.unit}    统计期间: {brief.period_label}    "
            f"统计时点: {timezone.localtime(brief.query.as_of):%Y-%m-%d %H:%M}    金额单位: 万元"
        ]
    )
    rows = 0
    for heading, tables in brief.parts:
        sheet.skip()
        sheet.append([heading], style=spreadsheets.Style(bold=True, size=12))
        for table in tables:
            sheet.append([table.title], style=spreadsheets.Style(bold=True))
            sheet.append([h for h, _ in table.columns], style=spreadsheets.HEADER)
            for row in table.rows:
                sheet.append([_cell(v, k) for v, (_, k) in zip(row, table.columns)])
                rows += 1
            if table.total:
                sheet.append(
                    [_cell(v, k) for v, (_, k) in zip(table.total, table.columns)],
                    style=spreadsheets.Style(bold=True),
                )
            if table.note:
                sheet.append(["注: " + table.note], style=spreadsheets.Style(italic=True))
    sheet.widths([30] + [14] * (width - 1))
    sheet.sign_off()
    return book.file(filename(brief), rows=rows)


def _cell(value, kind: str):
    if value is None:
        return None
    if kind == WAN:
        return kpis.wan(value)
    if kind == PERCENT:
        return round(float(value), 1)
    if kind in ("rate", "score"):
        return float(value)
    return value
