"""The dashboard (驾驶舱) as data: every chart is backed by a Table (its table view and its
xlsx / csv download) and a small JSON series for ECharts. Pages, the API and the downloads
all build it here, from the selectors, so a figure is computed once and shown the same way
everywhere."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from urllib.parse import urlencode

from coordination.models import ProblemKind
from coordination.selectors import problem_figures, problem_records, problems_as_of
from entities.renewals import RenewalStatus
from matching.models import Recommendation
from portal.services import ApplicationError
from portal.tenancy import VIEW, restrict, scope_for
from reporting import kpis, selectors

WAN = "wan"  # 元 shown as 万元, two decimals
PERCENT = "percent"


@dataclass
class Table:
    name: str
    title: str
    columns: list[tuple[str, str]]  # (header, kind): text | int | wan | percent | rate | score
    rows: list[list] = field(default_factory=list)
    total: list | None = None
    note: str = ""
    # drill-downs: per row (and the total), {column index: query string of reporting:drill}
    links: list[dict[int, str]] = field(default_factory=list)
    total_links: dict[int, str] = field(default_factory=dict)
    drill: str = ""  # the drill-down's kind (DRILL_KINDS) the links go to

    def display_rows(self) -> list[list[str]]:
        return [[display(v, kind) for v, (_, kind) in zip(row, self.columns)] for row in self.rows]

    def display_total(self) -> list[str] | None:
        return [display(v, kind) for v, (_, kind) in zip(self.total, self.columns)] if self.total else None

    def linked_rows(self) -> list[list[tuple[str, str]]]:
        """(shown value, drill-down query or "") per cell, for the page."""
        return [
            [(value, (self.links[i] if i < len(self.links) else {}).get(j, "")) for j, value in enumerate(row)]
            for i, row in enumerate(self.display_rows())
        ]

    def linked_total(self) -> list[tuple[str, str]] | None:
        shown = self.display_total()
        return None if shown is None else [(value, self.total_links.get(j, "")) for j, value in enumerate(shown)]


def display(value, kind: str) -> str:
    if value is None:
        return "—"
    if value == "":
        return ""
    if kind == WAN:
        return f"{kpis.wan(value):,.2f}"
    if kind == PERCENT:
        return f"{value:.1f}%"
    if kind == "rate":
        return f"{Decimal(value):.3f}"
    if kind == "score":
        return f"{Decimal(value):.2f}"
    if kind == "int":
        return f"{int(value):,}"
    return str(value)


def _pct(ratio: kpis.Ratio) -> float | None:
    return ratio.percent


# --- tables ----------------------------------------------------------------------------------------


def gauges_table(total: kpis.Figures) -> Table:
    rows = [[r.label, r.numerator, r.denominator, r.percent] for r in total.three_100()]
    return Table(
        "gauges",
        "三个100%",
        [("指标", "text"), ("分子(户)", "int"), ("分母(户)", "int"), ("比率", PERCENT)],
        rows,
        note="; ".join(kpis.DEFINITIONS[k] for k in ("contact_coverage", "credit_rate", "landing_rate")),
    )


def funnel_table(total: kpis.Figures) -> Table:
    rows = [[s["stage"], s["count"], s["amount"]] for s in total.funnel()]
    return Table(
        "funnel",
        "融资对接漏斗",
        [("环节", "text"), ("户数", "int"), ("金额(万元)", WAN)],
        rows,
        note="申报金额为申报的融资金额; 推荐金额为推荐清单企业的融资需求; 授信、放款金额为实际金额。"
        + kpis.DEFINITIONS["declared"]
        + kpis.DEFINITIONS["need"],
    )


def trend_table(months: Mapping[str, kpis.Figures]) -> Table:
    rows = []
    for month in sorted(months):
        f = months[month]
        rows.append(
            [
                month,
                f.rows,
                f.contacted,
                f.credited_rows,
                f.credit_amount,
                f.disbursed,
                f.disbursed_amount,
                f.weighted_rate(),
            ]
        )
    return Table(
        "trend",
        "按推送月份的对接进展",
        [
            ("推送月份", "text"),
            ("推荐(笔)", "int"),
            ("已对接(笔)", "int"),
            ("授信(笔)", "int"),
            ("授信金额(万元)", WAN),
            ("放款(笔)", "int"),
            ("放款金额(万元)", WAN),
            ("加权平均利率(%)", "rate"),
        ],
        rows,
        note="每月推送的推荐在统计时点的进展",
    )


def ranking_rows(banks: Mapping[str, kpis.Figures]) -> list[dict]:
    names = selectors.bank_names(banks.keys())
    rows = []
    for bank_id, f in banks.items():
        rows.append(
            {
                "bank_id": bank_id,
                "name": names.get(bank_id, bank_id),
                "rows": f.rows,
                "contacted": f.contacted,
                "credited_rows": f.credited_rows,
                "credit_amount": f.credit_amount,
                "disbursed_amount": f.disbursed_amount,
                "credit_loan_share": f.credit_loan_share_amount().percent,
                "weighted_rate": f.weighted_rate(),
                "feedback_timely": f.feedback_timely().percent,
                "decision_timely": f.decision_timely().percent,
                "feedback_late": f.feedback_late,
                "decision_late": f.decision_late,
                "satisfaction": f.satisfaction(),
                "rated": f.rated,
            }
        )
    return kpis.rank(rows, "credit_amount")


def ranking_table(rows: list[dict], total: kpis.Figures | None = None) -> Table:
    """The banks ranked, with the 合计 of the scope (entities counted once: the banks' 户 may
    add up to more, kpis.DEFINITIONS["dedup"])."""
    return Table(
        "ranking",
        "银行机构排名通报",
        [
            ("名次", "int"),
            ("银行", "text"),
            ("推荐(笔)", "int"),
            ("已对接(户)", "int"),
            ("授信(笔)", "int"),
            ("授信金额(万元)", WAN),
            ("放款金额(万元)", WAN),
            ("信用贷款占比", PERCENT),
            ("加权平均利率(%)", "rate"),
            ("反馈及时率", PERCENT),
            ("决策及时率", PERCENT),
            ("反馈逾期(笔)", "int"),
            ("决策逾期(笔)", "int"),
            ("满意度(分)", "score"),
        ],
        [
            [
                r["rank"],
                r["name"],
                r["rows"],
                r["contacted"],
                r["credited_rows"],
                r["credit_amount"],
                r["disbursed_amount"],
                r["credit_loan_share"],
                r["weighted_rate"],
                r["feedback_timely"],
                r["decision_timely"],
                r["feedback_late"],
                r["decision_late"],
                r["satisfaction"],
            ]
            for r in rows
        ],
        total=None if total is None else ["", "合计", *_ranking_values(total)],
        note="按授信金额排名; "
        + "; ".join(kpis.DEFINITIONS[k] for k in ("dedup", "feedback_timely", "decision_timely", "satisfaction")),
    )


def _ranking_values(f: kpis.Figures) -> list:
    return [
        f.rows,
        f.contacted,
        f.credited_rows,
        f.credit_amount,
        f.disbursed_amount,
        f.credit_loan_share_amount().percent,
        f.weighted_rate(),
        f.feedback_timely().percent,
        f.decision_timely().percent,
        f.feedback_late,
        f.decision_late,
        f.satisfaction(),
    ]


REGION_COLUMNS = [
    ("县(区)", "text"),
    ("走访(户)", "int"),
    ("申报(户)", "int"),
    ("推荐(户)", "int"),
    ("已对接(户)", "int"),
    ("授信(户)", "int"),
    ("授信金额(万元)", WAN),
    ("放款(户)", "int"),
    ("放款金额(万元)", WAN),
    ("对接覆盖率", PERCENT),
    ("评级授信率", PERCENT),
    ("贷款落地率", PERCENT),
    ("逾期(笔)", "int"),
]


def _region_row(name: str, f: kpis.Figures) -> list:
    return [
        name,
        f.visited,
        f.declared,
        f.recommended,
        f.contacted,
        f.credited,
        f.credit_amount,
        f.disbursed,
        f.disbursed_amount,
        f.contact_coverage().percent,
        f.credit_rate().percent,
        f.landing_rate().percent,
        f.late_total(),
    ]


def region_table(groups: Mapping[str, kpis.Figures], total: kpis.Figures, by: str) -> Table:
    names = selectors.region_names(groups.keys())
    columns = list(REGION_COLUMNS)
    if by == "city":
        columns[0] = ("市", "text")
    rows = [_region_row(names.get(code, code), groups[code]) for code in sorted(groups)]
    return Table(
        "regions",
        "分县(区)情况" if by == "county" else "分市情况",
        columns,
        rows,
        total=_region_row("合计", total),
        note=" ".join(kpis.DEFINITIONS[k] for k in ("scope", "dedup", "need")),
    )


def one_high_table(one_high: dict) -> Table:
    rows = [
        [
            m["month"],
            m["small_business"],
            m["all_loans"],
            m["small_business_growth"],
            m["all_loans_growth"],
            m["credit_loan_share"],
            m["average_rate"],
            m["reporters"],
        ]
        for m in one_high["trend"]
    ]
    return Table(
        "one_high",
        "一高一提一降",
        [
            ("月份", "text"),
            ("普惠型小微企业贷款余额(万元)", WAN),
            ("各项贷款余额(万元)", WAN),
            ("小微贷款比年初增速", PERCENT),
            ("各项贷款比年初增速", PERCENT),
            ("信用贷款余额占比", PERCENT),
            ("平均利率(%)", "rate"),
            ("报送机构数", "int"),
        ],
        rows,
        note=f"银行报送数; 增速以 {one_high['base_month']} 末余额为基数"
        + ("" if one_high["has_base"] else "(基数月份未报送, 增速暂缺)"),
    )


def targets_table(targets: list[dict]) -> Table:
    rows = [
        [t["region"], t["year"], t["label"], t["target_display"], t["actual_display"], t["progress"]] for t in targets
    ]
    return Table(
        "targets",
        "目标进度",
        [
            ("区划", "text"),
            ("年度", "int"),
            ("指标", "text"),
            ("目标", "text"),
            ("完成", "text"),
            ("完成进度", PERCENT),
        ],
        rows,
    )


def drill_query(params: Mapping[str, str], **extra) -> str:
    """The query string of a drill-down (reporting:drill): the dashboard's filters and the figure."""
    return urlencode({**params, **{k: v for k, v in extra.items() if v not in (None, "")}})


def problem_figures_for(user, q: selectors.ReportQuery) -> dict:
    """批分单 of the query: filled in during the period, in the region, as they stood at the as-of
    moment (coordination.selectors.problem_figures: the one computation), kept while unchanged
    (selectors.kept_beside_the_index)."""
    f = q.filters
    return selectors.kept_beside_the_index(
        "problems",
        user,
        q,
        lambda: problem_figures(user=user, now=q.as_of, opened_from=f.date_from, opened_to=f.date_to, region=f.region),
    )


def problem_tables(figures: dict, params: Mapping[str, str] | None = None) -> dict[str, Table]:
    """批分单 filled in during the period (seed 004 二(七)) and not yet closed at the as-of moment,
    by kind, by department and by age (coordination.selectors.problem_figures), each count linked to
    its list."""
    params = params or {}
    note = (
        f"统计期间内填写的批分单, 截至统计时点未办结 {figures['total']} 件, 其中部门逾期 {figures['overdue']} 件;"
        f" 已办结 {figures['closed']} 件 (银行、机构筛选不适用于批分单)"
    )
    total = ["合计", figures["total"]]
    total_links = {1: drill_query(params, figure="open")}
    kinds = dict((label, value) for value, label in ProblemKind.choices)
    return {
        "problem_kinds": Table(
            "problem_kinds",
            "批分单(未办结)· 按问题类型",
            [("问题类型", "text"), ("件数", "int")],
            [list(row) for row in figures["by_kind"]],
            total,
            note,
            links=[{1: drill_query(params, figure="open", kind=kinds.get(row[0], ""))} for row in figures["by_kind"]],
            total_links=total_links,
            drill="problems",
        ),
        "problem_departments": Table(
            "problem_departments",
            "批分单(未办结)· 按承办部门",
            [("承办部门", "text"), ("件数", "int")],
            [list(row) for row in figures["by_department"]],
            total,
            note,
            links=[{1: drill_query(params, figure="open", department=row[0])} for row in figures["by_department"]],
            total_links=total_links,
            drill="problems",
        ),
        "problem_ages": Table(
            "problem_ages",
            "批分单(未办结)· 按已历时长",
            [("填写至今", "text"), ("件数", "int")],
            [list(row) for row in figures["by_age"]],
            total,
            note,
            total_links=total_links,
            drill="problems",
        ),
        "problem_status": Table(
            "problem_status",
            "批分单 · 办理情况",
            [("情况", "text"), ("件数", "int")],
            [
                ["未办结", figures["total"]],
                ["其中部门逾期", figures["overdue"]],
                ["已办结", figures["closed"]],
            ],
            note=note,
            links=[{1: drill_query(params, figure=name)} for name in ("open", "overdue", "closed")],
            drill="problems",
        ),
    }


RENEWAL_COLUMNS = list(selectors.RENEWAL_FIGURES)


def renewal_due_table(figures: dict, params: Mapping[str, str] | None = None) -> Table:
    """应续尽续 per lending bank as of the moment (reporting.selectors.renewal_figures): renewals
    still 待续贷 due within 30/60/90 days and past due, and the outcomes recorded in the period."""
    params = params or {}

    def row(r: dict) -> list:
        return [*(r[k] for k in RENEWAL_COLUMNS), r["due_90_amount"], r["renewed_amount"]]

    return Table(
        "renewal_due",
        "应续尽续 · 续贷到期与办理结果",
        [
            ("银行", "text"),
            *((label, "int") for label in selectors.RENEWAL_FIGURES.values()),
            ("90 天内到期金额(万元)", WAN),
            ("无还本续贷已续金额(万元)", WAN),
        ],
        [[r["name"], *row(r)] for r in figures["banks"]],
        total=["合计", *row(figures["total"])],
        note="到期笔数为统计时点仍待续贷、到期日在统计日起 30/60/90 天内(含)的续贷需求;"
        " 已到期未办结为到期日已过仍待续贷;"
        " 办理结果为统计时点前已登记、办结日期在统计期间内的续贷需求 (004 二(八) 应续尽续)",
        links=[
            {i + 1: drill_query(params, figure=name, bank=r["bank_code"]) for i, name in enumerate(RENEWAL_COLUMNS)}
            for r in figures["banks"]
        ],
        total_links={i + 1: drill_query(params, figure=name) for i, name in enumerate(RENEWAL_COLUMNS)},
        drill="renewals",
    )


def direct_table(direct: dict, params: Mapping[str, str] | None = None) -> Table:
    """直接申请 (seed 002 point 5 "小微“无贷户”授信申请原则上5个工作日内回复") per bank, counted apart
    from the 推荐清单's leads: applications, replied within 5 working days, replied late or overdue."""
    params = params or {}
    banks = direct["bank"]
    names = selectors.bank_names(banks.keys())
    codes = selectors.bank_codes(banks.keys())

    def values(f: kpis.Figures) -> list:
        return [f.rows, f.feedback_on_time, f.feedback_late, f.feedback_timely().percent]

    keys = ("applications", "on_time", "late")
    rows, links = [], []
    for bank_id in sorted(banks, key=lambda b: names.get(b, b)):
        rows.append([names.get(bank_id, bank_id), *values(banks[bank_id])])
        links.append(
            {i + 1: drill_query(params, figure=k, bank=codes.get(int(bank_id), "")) for i, k in enumerate(keys)}
        )
    return Table(
        "direct",
        "直接申请 · 5 个工作日回复",
        [
            ("银行", "text"),
            ("直接申请(笔)", "int"),
            ("5 个工作日内回复(笔)", "int"),
            ("超期或逾期未回复(笔)", "int"),
            ("回复及时率", PERCENT),
        ],
        rows,
        total=["合计", *values(direct["total"][""])],
        note="直接申请单独统计, 不计入推荐清单的三个100%; 小微“无贷户”授信申请原则上5个工作日内回复 (002 第5点)",
        links=links,
        total_links={i + 1: drill_query(params, figure=k) for i, k in enumerate(keys)},
        drill="direct",
    )


def coverage_rows(user, q: selectors.ReportQuery) -> tuple[list[list], list, str]:
    """千企万户大走访 coverage by county over the campaigns the user sees (campaigns.selectors), now,
    or as of the query's date when one is given (targets, assignments, visits and declarations
    recorded by then): [county, targets, visited, rate, with a need, declared, overdue] rows, the
    total and a note. "Now" is not the query's moment to the microsecond: the figures are kept
    while nothing they count changes (selectors.campaign_coverage), which a key of the moment
    would defeat on every request."""
    result = selectors.campaign_coverage(user=user, as_of=q.as_of if q.as_of_given else None)
    names = selectors.region_names(result.by_county.keys())

    def row(label, f):
        return [label, f.targets, f.visited, f.rate, f.with_need, f.declared, f.overdue]

    rows = [row(names.get(code, code), f) for code, f in sorted(result.by_county.items())]
    t = result.total
    note = f"走访目标 {t.targets} 户(另剔除 {t.excluded} 户), 已走访 {t.visited} 户, 逾期未走访 {t.overdue} 户"
    return rows, row("合计", t), note


def coverage_table(user, q: selectors.ReportQuery) -> Table:
    rows, total, note = coverage_rows(user, q)
    return Table(
        "campaign_coverage",
        "千企万户大走访 · 走访覆盖",
        [
            ("县区", "text"),
            ("目标企业", "int"),
            ("已走访", "int"),
            ("覆盖率", PERCENT),
            ("有融资需求", "int"),
            ("已申报", "int"),
            ("逾期未走访", "int"),
        ],
        rows,
        total,
        note,
    )


def renewals_table(rows: list[dict], threshold=None) -> Table:
    """中小微企业无还本续贷情况统计表: per bank, the count and amount from the banks' records of their
    customers' renewals (应续尽续) where they exist, the reported totals beside them and the
    difference, the balance, and the 异常波动 flag of a balance that swung month on month."""

    body = [
        [
            r["name"],
            r["renewals_count"],
            r["renewals_amount"],
            r["recorded_count"],
            r["recorded_amount"],
            r["reported_count"],
            r["reported_amount"],
            r["count_difference"],
            r["amount_difference"],
            r["renewal_balance"],
            r["small_business"],
            kpis.Ratio(r["renewal_balance"], r["small_business"]).percent,
            "" if r["swing"] is None else f"{r['swing']:+.1f}%",
            "异常波动, 请跟踪" if r["abnormal"] else "",
        ]
        for r in rows
    ]
    total = None
    if rows:

        def add(key):
            values = [r[key] for r in rows if r[key] is not None]
            return sum(values) if values else None

        sums = {k: add(k) for k in ("renewals_count", "renewals_amount", "renewal_balance", "small_business")}
        total = [
            "合计",
            sums["renewals_count"],
            sums["renewals_amount"],
            add("recorded_count"),
            add("recorded_amount"),
            add("reported_count"),
            add("reported_amount"),
            add("count_difference"),
            add("amount_difference"),
            sums["renewal_balance"],
            sums["small_business"],
            kpis.Ratio(sums["renewal_balance"], sums["small_business"]).percent,
            "",
            f"{sum(1 for r in rows if r['abnormal'])} 家异常",
        ]
    limit = f"{threshold:g}%" if threshold is not None else "阈值"
    return Table(
        "renewals",
        "中小微企业无还本续贷情况统计表",
        [
            ("银行", "text"),
            ("续贷笔数", "int"),
            ("续贷金额(万元)", WAN),
            ("台账笔数", "int"),
            ("台账金额(万元)", WAN),
            ("报送笔数", "int"),
            ("报送金额(万元)", WAN),
            ("笔数差异(台账-报送)", "int"),
            ("金额差异(万元)", WAN),
            ("无还本续贷余额(万元)", WAN),
            ("普惠型小微企业贷款余额(万元)", WAN),
            ("续贷余额占比", PERCENT),
            ("余额环比", "text"),
            ("跟踪提示", "text"),
        ],
        body,
        total=total,
        note="续贷笔数、金额: 有银行登记的续贷办理结果(应续尽续台账, 无还本续贷已续)时取台账数, 否则取银行报送数;"
        " 报送笔数、金额为期间内各月报送之和, 差异为台账减报送; 余额为期间内最近一次报送;"
        f" 余额环比变动超过 {limit} 标记为异常波动, 需跟踪",
    )


# --- the dashboard -----------------------------------------------------------------------------------


def _series(one_high: dict) -> dict:
    trend = one_high["trend"]
    return {
        "months": [m["month"] for m in trend],
        "small_business_growth": [m["small_business_growth"] for m in trend],
        "all_loans_growth": [m["all_loans_growth"] for m in trend],
        "credit_loan_share": [m["credit_loan_share"] for m in trend],
        "average_rate": [m["average_rate"] for m in trend],
    }


def build(user, params: Mapping | None, *, default_period: str | None = None) -> dict:
    """Everything the dashboard shows, for the user and the query parameters (its cached parts
    keyed by one data version: selectors.one_data_version)."""
    q = selectors.parse_query(params, default_period=default_period or selectors.current_year_period())
    by = (params or {}).get("by") or "county"
    if by not in ("county", "city"):
        raise ApplicationError("分组应为 county 或 city", field_errors={"by": ["分组应为 county 或 city"]})
    with selectors.one_data_version():
        return _build(user, q, by)


def _build(user, q: selectors.ReportQuery, by: str) -> dict:
    scope = scope_for(user)
    result = selectors.figures_with_activity(user, q, ["county", "city", "bank", "month"])
    total = result["total"][""]
    ranking = ranking_rows(result["bank"])
    one_high = selectors.one_high(user, q)
    targets = selectors.targets_progress(user, q, total)
    renewals = selectors.renewals(user, q)
    params = q.params()
    tables = {
        "gauges": gauges_table(total),
        "funnel": funnel_table(total),
        "trend": trend_table(result["month"]),
        "ranking": ranking_table(ranking, total),
        "regions": region_table(result[by], total, by),
        "one_high": one_high_table(one_high),
        "targets": targets_table(targets),
        "renewals": renewals_table(renewals, selectors.renewal_swing_threshold()),
        "renewal_due": renewal_due_table(selectors.renewal_figures(user, q), params),
        "direct": direct_table(selectors.direct_figures(user, q), params),
        **problem_tables(problem_figures_for(user, q), params),
        "campaign_coverage": coverage_table(user, q),
    }
    months = sorted(result["month"])
    charts = {
        "gauges": [
            {"name": r.label, "value": r.percent, "numerator": r.numerator, "denominator": r.denominator}
            for r in total.three_100()
        ],
        "funnel": [{"name": s["stage"], "value": s["count"] or 0} for s in total.funnel() if s["count"] is not None],
        "trend": {
            "months": months,
            "recommended": [result["month"][m].rows for m in months],
            "contacted": [result["month"][m].contacted for m in months],
            "credited": [result["month"][m].credited_rows for m in months],
            "disbursed": [result["month"][m].disbursed for m in months],
            "credit_amount": [float(kpis.wan(result["month"][m].credit_amount)) for m in months],
            "disbursed_amount": [float(kpis.wan(result["month"][m].disbursed_amount)) for m in months],
        },
        "ranking": {
            "banks": [r["name"] for r in ranking],
            "credit_amount": [float(kpis.wan(r["credit_amount"])) for r in ranking],
            "disbursed_amount": [float(kpis.wan(r["disbursed_amount"])) for r in ranking],
        },
        "one_high": _series(one_high),
    }
    return {
        "query": q,
        "params": q.params(),
        "by": by,
        "total": total,
        "tables": tables,
        "charts": charts,
        "ranking": ranking,
        "one_high": one_high,
        "targets": targets,
        "scope": scope,
        "activity_applies": not (q.filters.branch or (scope and scope.is_bank)),
        "definitions": kpis.DEFINITIONS,
    }


TABLE_NAMES = (
    "gauges",
    "funnel",
    "trend",
    "ranking",
    "regions",
    "one_high",
    "targets",
    "renewals",
    "problem_kinds",
    "problem_departments",
    "problem_ages",
    "problem_status",
    "renewal_due",
    "direct",
    "campaign_coverage",
)


def mechanism_figures(user, q: selectors.ReportQuery) -> dict:
    """The mechanism's figures beside the KPIs (the API and the brief), computed by the dashboard's
    functions: direct applications, renewals and 批分单, as of the query's moment."""
    direct = selectors.direct_figures(user, q)
    total = direct["total"][""]
    names = selectors.bank_names(direct["bank"].keys())
    renewals = selectors.renewal_figures(user, q)
    problems = problem_figures_for(user, q)
    return {
        "direct_applications": {
            "applications": total.rows,
            "replied_on_time": total.feedback_on_time,
            "late": total.feedback_late,
            "timely_percent": total.feedback_timely().percent,
            "banks": [
                {
                    "key": key,
                    "name": names.get(key, key),
                    "applications": f.rows,
                    "replied_on_time": f.feedback_on_time,
                    "late": f.feedback_late,
                }
                for key, f in sorted(direct["bank"].items())
            ],
        },
        "renewals": {
            "total": renewals["total"],
            "banks": [{k: v for k, v in r.items() if k != "bank_id"} for r in renewals["banks"]],
            "labels": selectors.RENEWAL_FIGURES,
        },
        "problems": {
            "open": problems["total"],
            "overdue": problems["overdue"],
            "closed": problems["closed"],
            "by_kind": [{"name": n, "count": c} for n, c in problems["by_kind"]],
            "by_department": [{"name": n, "count": c} for n, c in problems["by_department"]],
            "by_age": [{"name": n, "count": c} for n, c in problems["by_age"]],
        },
    }


# --- drill-downs: the records behind a figure -------------------------------------------------------

DRILL_KINDS = {"problems": "批分单", "renewals": "续贷需求", "direct": "直接申请"}


def _first(params: Mapping | None, key: str) -> str:
    value = (params or {}).get(key, "")
    if isinstance(value, (list, tuple)):
        value = value[0] if value else ""
    return str(value or "").strip()


def drill(user, kind: str, params: Mapping | None) -> dict:
    """The records behind one figure of the dashboard, with the dashboard's filters and as-of
    moment, read by the same selectors that count it (so the list has as many rows as the figure).
    Restricted like the figure: what the user may not see is neither counted nor listed."""
    if kind not in DRILL_KINDS:
        raise ApplicationError("未知的明细类型", code="not_found")
    q = selectors.parse_query(params, default_period=selectors.current_year_period())
    figure = _first(params, "figure")
    out = {"kind": kind, "kind_label": DRILL_KINDS[kind], "query": q, "params": q.params(), "figure": figure}
    if kind == "problems":
        labels = {"open": "未办结", "overdue": "部门逾期", "closed": "已办结"}
        if figure not in labels:
            raise ApplicationError("未知的批分单指标", field_errors={"figure": ["未知的批分单指标"]})
        f = q.filters
        rows = problems_as_of(user=user, moment=q.as_of, opened_from=f.date_from, opened_to=f.date_to, region=f.region)
        kind_value = _first(params, "kind")
        department = _first(params, "department")
        picked = problem_records(rows, figure, kind=kind_value, department=department)
        detail = [labels[figure]]
        if kind_value in ProblemKind.values:
            detail.append(ProblemKind(kind_value).label)
        if department:
            detail.append(department)
        out.update(title=" · ".join(detail), problems=picked, count=len(picked))
    elif kind == "renewals":
        records = list(selectors.renewal_records(user, q, figure).select_related("entity", "bank"))
        out.update(title=selectors.RENEWAL_FIGURES[figure], renewals=records, count=len(records))
        states = [(r, r.status_as_of(q.as_of)) for r in records]
        out["renewal_states"] = [
            (r, RenewalStatus(state).label, r.outcome_on if state != RenewalStatus.PENDING else None)
            for r, state in states
        ]
    else:
        ids = selectors.direct_application_ids(user, q, figure)
        leads = list(
            restrict(Recommendation.objects.select_related("entity", "bank", "branch"), user, VIEW)
            .filter(pk__in=ids)
            .order_by("pushed_at", "pk")
        )
        out.update(title=selectors.DIRECT_FIGURES[figure], leads=leads, count=len(leads))
    return out
