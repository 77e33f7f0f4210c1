"""The ledger (台账): one row per recommendation with every date, decision and drawdown.

Statistics derive from the ledger only, so this is the one place that turns recommendations
into rows. Everything is restricted with `restrict(Recommendation…)`: a county sees its
county, a bank branch what was pushed to it and its sub-branches, an account manager his
leads. Amounts are integer 元 in rows and the API; the xlsx and csv exports show 万元 with
two decimals and say so in every amount header. No personal numbers (ID, phone) appear.

The ledger is reporting's (statistics derive from it); its page (/matching/ledger/, kept at
its first address) and API (/api/v1/ledger/) are reporting.views.LedgerView and
reporting.apis.LedgerViewSet.

Pages:  rows = ledger_rows(user, request.GET)   (or paginate ledger_queryset + ledger_row)
Export: ledger_export(actor=…, filters=…, extension="xlsx" | "csv", request=…, via=…) -> File:
        the one export service of the ledger page, the API, the reports page and the
        export_report command — rows through restrict(…, EXPORT), written by
        portal.spreadsheets (text never a formula), audited once as ledger.export (the same
        record whichever way it was asked for; `via` names a command). Pages answer with
        portal.spreadsheets.download(); ledger_xlsx(rows, title) / ledger_csv(rows) -> File.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import EmptyResultSet
from django.db import connection, transaction
from django.db.models import BigIntegerField, Count, F, Max, OuterRef, Prefetch, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from entities.restrictions import region_range_q
from matching.clocks import overdue_flags
from matching.models import (
    Disbursement,
    EventKind,
    LeadOrigin,
    Recommendation,
    RecommendationState,
    WorkflowEvent,
)
from matching.selectors import lead_rows
from matching.watch import basis_change_text
from portal import bounds, spreadsheets
from portal.services import ApplicationError
from portal.spreadsheets import HEADER, Book, Cell, Style
from portal.tenancy import EXPORT, VIEW, restrict
from products.models import BankBranch
from reporting.models import LedgerFact

# --- filters -------------------------------------------------------------------------------

_YEAR = re.compile(r"^(\d{4})$")
_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_QUARTER = re.compile(r"^(\d{4})-?[Qq]([1-4])$")
_REGION = re.compile(r"^\d{2}(\d{2}(\d{2})?)?$")


@dataclass(frozen=True)
class LedgerFilters:
    region: str = ""  # region code prefix: "14", "1405", "140525" (also "140500" → "1405")
    bank: str = ""  # bank code
    branch: int | None = None  # branch id: the branch and its sub-branches
    states: tuple[str, ...] = ()
    period: str = ""  # as given: YYYY, YYYY-MM, YYYY-Qn
    date_from: dt.date | None = None  # pushed on or after (local date)
    date_to: dt.date | None = None  # pushed on or before (local date)
    # a LeadOrigin (推荐清单推送 or 直接申请, seed 002 point 5), or "" for both. The
    # ledger shows both by default; the figures (reporting.selectors._scoped) count the
    # 推荐清单's leads unless asked for the direct applications, which are counted apart
    origin: str = ""

    def describe(self) -> str:
        """Chinese one-line summary for the export's subtitle."""
        parts = []
        if self.region:
            parts.append(f"区划 {self.region}")
        if self.bank:
            parts.append(f"银行 {self.bank}")
        if self.branch:
            branch = BankBranch.objects.filter(pk=self.branch).first()
            parts.append(f"机构 {branch.name if branch else self.branch}")
        if self.states:
            parts.append("状态 " + "、".join(RecommendationState(s).label for s in self.states))
        if self.date_from or self.date_to:
            parts.append(f"推送日期 {self.date_from or '…'} 至 {self.date_to or '…'}")
        if self.origin:
            parts.append(f"来源 {LeadOrigin(self.origin).label}")
        return "; ".join(parts) or "全部"

    def params(self) -> dict[str, str]:
        """The filters as query parameters (what an export's audit event records)."""
        out = {
            "region": self.region,
            "bank": self.bank,
            "branch": str(self.branch or ""),
            "state": ",".join(self.states),
            "period": self.period,
            "origin": self.origin,
        }
        if not self.period:
            out.update(
                date_from=self.date_from.isoformat() if self.date_from else "",
                date_to=self.date_to.isoformat() if self.date_to else "",
            )
        return {k: v for k, v in out.items() if v}


def _first(params: Mapping, key: str) -> str:
    value = params.get(key, "")
    if isinstance(value, (list, tuple)):
        value = value[0] if value else ""
    return str(value or "").strip()


def _all(params: Mapping, key: str) -> list[str]:
    if hasattr(params, "getlist"):
        values = params.getlist(key)
    else:
        value = params.get(key) or []
        values = list(value) if isinstance(value, (list, tuple)) else [value]
    return [v.strip() for value in values for v in str(value).split(",") if v.strip()]


def period_range(period: str) -> tuple[dt.date, dt.date]:
    """First and last local date of a period "YYYY", "YYYY-MM" or "YYYY-Qn"."""
    period = period.strip()
    if m := _YEAR.match(period):
        year = int(m[1])
        return dt.date(year, 1, 1), dt.date(year, 12, 31)
    if m := _MONTH.match(period):
        year, month = int(m[1]), int(m[2])
        if 1 <= month <= 12:
            start = dt.date(year, month, 1)
            return start, (dt.date(year + (month == 12), month % 12 + 1, 1) - dt.timedelta(days=1))
    if m := _QUARTER.match(period):
        year, quarter = int(m[1]), int(m[2])
        start = dt.date(year, 3 * quarter - 2, 1)
        end = dt.date(year + (quarter == 4), (3 * quarter) % 12 + 1, 1) - dt.timedelta(days=1)
        return start, end
    raise ValueError(period)


def _date(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def parse_filters(params: Mapping | LedgerFilters | None) -> LedgerFilters:
    """Filters from query parameters (region, bank, branch, state, period, date_from,
    date_to); refuses bad values with Chinese field errors."""
    if isinstance(params, LedgerFilters):
        return params
    params = params or {}
    errors: dict[str, list[str]] = {}
    region = _first(params, "region")
    if region:
        if not _REGION.match(region):
            errors["region"] = ["区划代码应为 2、4 或 6 位数字"]
        else:
            region = region.rstrip("0") if len(region) == 6 and region.endswith("00") else region
            region = region if len(region) % 2 == 0 else region + "0"
    branch = _first(params, "branch")
    branch_id = None
    if branch:
        branch_id = bounds.query_id(branch)
        if branch_id is None:
            errors["branch"] = ["机构编号应为数字"]
    states = _all(params, "state")
    unknown = [s for s in states if s not in RecommendationState.values]
    if unknown:
        errors["state"] = [f"未知状态: {', '.join(unknown)}"]
    period = _first(params, "period")
    date_from = date_to = None
    if period:
        try:
            date_from, date_to = period_range(period)
        except ValueError:
            errors["period"] = ["期间格式应为 YYYY、YYYY-MM 或 YYYY-Qn(如 2026、2026-03、2026-Q1)"]
    for key in ("date_from", "date_to"):
        text = _first(params, key)
        if not text:
            continue
        if period:
            errors[key] = ["期间与起止日期不能同时指定"]
            continue
        try:
            value = _date(text)
        except ValueError:
            errors[key] = ["日期格式应为 YYYY-MM-DD"]
            continue
        if key == "date_from":
            date_from = value
        else:
            date_to = value
    origin = _first(params, "origin")
    if origin and origin not in LeadOrigin.values:
        errors["origin"] = ["来源应为 pushed(推荐清单推送) 或 direct(直接申请)"]
    if date_from and date_to and date_from > date_to and "period" not in errors:
        errors.setdefault("date_to", ["截止日期不能早于起始日期"])
    if errors:
        raise ApplicationError(next(iter(errors.values()))[0], field_errors=errors)
    return LedgerFilters(
        region=region,
        bank=_first(params, "bank"),
        branch=branch_id,
        states=tuple(dict.fromkeys(states)),
        period=period,
        date_from=date_from,
        date_to=date_to,
        origin=origin,
    )


def _local_midnight(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min), timezone.get_default_timezone())


# --- the rows ------------------------------------------------------------------------------


def ledger_queryset(
    user, filters: Mapping | LedgerFilters | None = None, *, action: str = VIEW
) -> QuerySet[Recommendation]:
    """Recommendations of the ledger the user may see (or export: action=EXPORT), filtered,
    in push order."""
    f = parse_filters(filters)
    qs = restrict(Recommendation.objects.all(), user, action)
    if f.region:
        qs = qs.filter(region_range_q(f.region, "region_id"))
    if f.bank:
        qs = qs.filter(bank__code=f.bank)
    if f.branch:
        path = BankBranch.objects.filter(pk=f.branch).values_list("organisation__path", flat=True).first()
        qs = qs.filter(branch__organisation__path__startswith=path) if path else qs.none()
    if f.states:
        qs = qs.filter(state__in=f.states)
    if f.origin:
        qs = qs.filter(origin=f.origin)
    if f.date_from:
        qs = qs.filter(pushed_at__gte=_local_midnight(f.date_from))
    if f.date_to:
        qs = qs.filter(pushed_at__lt=_local_midnight(f.date_to + dt.timedelta(days=1)))
    return (
        # a lead's row (matching.selectors.lead_rows: three relations joined, the lookups read
        # apart, the planning of a wider join costs more than the query), its batch and approver
        lead_rows(qs)
        # the need the row serves (reporting.models.LedgerFact.need_id), for the totals
        .annotate(need_id=Subquery(LedgerFact.objects.filter(recommendation_id=OuterRef("pk")).values("need_id")[:1]))
        .prefetch_related(
            "batch",
            "override_by",
            Prefetch("disbursements", queryset=Disbursement.objects.order_by("disbursed_on", "id")),
            "clocks",
            Prefetch(
                "events",
                queryset=WorkflowEvent.objects.filter(kind=EventKind.RECOMMENDATION_BASIS_CHANGED).order_by(
                    "created_at", "id"
                ),
                to_attr="basis_events",
            ),
        )
        .order_by("pushed_at", "id")
    )


def _day(moment: dt.datetime | None) -> str | None:
    return timezone.localtime(moment).date().isoformat() if moment else None


def ledger_row(rec: Recommendation) -> dict:
    """One ledger row. Amounts in 元 (int), dates as YYYY-MM-DD strings."""
    disbursements = list(rec.disbursements.all())
    manager = rec.assigned_to
    return {
        "id": rec.pk,
        "batch_id": rec.batch_id,
        "batch_title": rec.batch.title if rec.batch_id else rec.get_origin_display(),
        "origin": rec.origin,
        "origin_label": rec.get_origin_display(),
        "no_loan_entity": rec.no_loan_entity,
        "declaration_id": rec.declaration_id,
        "entity_id": rec.entity_id,
        "entity_name": rec.entity.name,
        "uscc": rec.entity.uscc,
        "county_code": rec.region_id,
        "county_name": rec.region.name,
        "bank_code": rec.bank.code,
        "bank_name": rec.bank.name,
        "branch_id": rec.branch_id,
        "branch_name": rec.branch.name,
        "account_manager": (manager.get_full_name() or manager.username) if manager else "",
        "need_amount": rec.declaration.amount,
        "need_id": getattr(rec, "need_id", None) or rec.declaration_id,
        "need_term_months": rec.declaration.term_months,
        "purpose": rec.declaration.purpose,
        "source": rec.declaration.get_source_display(),
        "pushed_on": _day(rec.pushed_at),
        "contacted_on": _day(rec.contacted_at),
        "contact_channel": rec.get_contact_channel_display() if rec.contact_channel else "",
        "materials_complete_on": _day(rec.materials_complete_at),
        "materials_complete_how": materials_complete_how(rec),
        "decided_on": _day(rec.decided_at),
        "state": rec.state,
        "state_display": rec.get_state_display(),
        "credit_amount": rec.credit_amount,
        "rate_percent": str(rec.rate_percent) if rec.rate_percent is not None else None,
        "credit_term_months": rec.credit_term_months,
        "guarantee": rec.guarantee,
        "guarantee_display": rec.get_guarantee_display() if rec.guarantee else "",
        "is_credit_loan": rec.is_credit_loan,
        "is_first_loan": rec.is_first_loan,
        "approval_override": approval_override_text(rec),
        "credit_basis_change": credit_basis_change_text(rec),
        "disbursed_total": rec.disbursed_total,
        "disbursement_count": len(disbursements),
        "first_disbursed_on": disbursements[0].disbursed_on.isoformat() if disbursements else None,
        "disbursements": [{"amount": d.amount, "disbursed_on": d.disbursed_on.isoformat()} for d in disbursements],
        "decline_reason_code": rec.decline_reason.code if rec.decline_reason else "",
        "decline_reason": rec.decline_reason.label if rec.decline_reason else "",
        "decline_note": rec.decline_note,
        "removed_on": _day(rec.removed_at),
        "removed_reason": rec.removed_reason,
        "satisfaction": rec.satisfaction,
        **overdue_flags(rec),
    }


def credit_basis_change_text(rec: Recommendation) -> str:
    """The latest 授信依据变化 of an approved or drawn lead (matching.watch): the date and the
    mark or 名特优新 title the approval relied on that was revoked, expired or lowered, or that
    it is back; empty when nothing changed."""
    events = getattr(rec, "basis_events", None)
    if events is None:
        events = list(
            WorkflowEvent.objects.filter(recommendation=rec, kind=EventKind.RECOMMENDATION_BASIS_CHANGED).order_by(
                "created_at", "id"
            )
        )
    return basis_change_text(events[-1]) if events else ""


def materials_complete_how(rec: Recommendation) -> str:
    """How the decision clock started (seed 004: 30 days from complete materials): the bank
    confirmed the materials complete, or it neither confirmed nor named what was missing
    within 5 working days of the submission, and the clock started on its own (自动起算)."""
    if rec.materials_complete_at is None:
        return ""
    return "自动起算" if rec.materials_auto_started else "银行确认收齐"


def approval_override_text(rec: Recommendation) -> str:
    """An approval beyond the limits, approved by a bank administrator: his reason, what it
    exceeded and who approved it (empty for an approval within the limits)."""
    if not rec.override_reason:
        return ""
    by = rec.override_by
    name = (by.get_full_name() or by.username) if by is not None else ""
    exceeded = "; ".join(rec.override_exceeded or [])
    return (
        f"{rec.override_reason}(超出: {exceeded}; 审批人: {name})"
        if exceeded
        else f"{rec.override_reason}(审批人: {name})"
    )


def ledger_rows_iter(user, filters: Mapping | LedgerFilters | None = None, *, action: str = VIEW) -> Iterator[dict]:
    """The rows, streamed from the database in chunks (for exports of any size)."""
    for rec in ledger_queryset(user, filters, action=action).iterator(chunk_size=1000):
        yield ledger_row(rec)


def ledger_rows(user, filters: Mapping | LedgerFilters | None = None, *, limit: int | None = None) -> list[dict]:
    """The rows as a list. Pages should paginate `ledger_queryset` and map `ledger_row`
    over one page rather than build every row."""
    qs = ledger_queryset(user, filters)
    if limit is not None:
        qs = qs[:limit]
    return [ledger_row(rec) for rec in qs]


@dataclass
class LedgerTotals:
    """The 合计 of ledger rows: 笔 (rows), 户 (distinct entities), the 融资需求 counted once per
    need — a declaration pushed to two banks is two rows of one need, a 改推 continues the
    need it follows (`need_id`); a need whose amounts differ counts its largest — and the
    credit and drawdown sums of the rows."""

    rows: int = 0
    entities: set = field(default_factory=set)
    needs: dict = field(default_factory=dict)  # need id → its (largest) amount
    credit_amount: int = 0
    credited: int = 0
    disbursed_total: int = 0
    disbursement_count: int = 0

    def add(self, row: dict) -> None:
        self.rows += 1
        self.entities.add(row["entity_id"])
        need = row.get("need_id") or row["declaration_id"]
        self.needs[need] = max(self.needs.get(need, 0), row["need_amount"] or 0)
        if row["credit_amount"]:
            self.credited += 1
            self.credit_amount += row["credit_amount"]
        self.disbursed_total += row["disbursed_total"] or 0
        self.disbursement_count += row["disbursement_count"] or 0

    @property
    def need_amount(self) -> int:
        return sum(self.needs.values())

    def as_dict(self) -> dict:
        return {
            "rows": self.rows,
            "entities": len(self.entities),
            "needs": len(self.needs),
            "need_amount": self.need_amount,
            "credited": self.credited,
            "credit_amount": self.credit_amount,
            "disbursed_total": self.disbursed_total,
            "disbursement_count": self.disbursement_count,
        }


TOTALS_NOTE = (
    "合计: 户数按企业去重; 融资需求按需求计一次(同一申报推送给两家银行、或不予授信后改推其他银行的只计一次, "
    "金额不同时取其大者); 授信、放款按笔相加。"
)


def ledger_totals(rows: Iterable[dict]) -> dict:
    totals = LedgerTotals()
    for row in rows:
        totals.add(row)
    return totals.as_dict()


def ledger_totals_db(user, filters: Mapping | LedgerFilters | None = None) -> dict:
    """The same totals as `ledger_totals`, computed in the database (no rows built)."""
    qs = ledger_queryset(user, filters).order_by()
    totals = qs.aggregate(
        rows=Count("id"),
        entities=Count("entity_id", distinct=True),
        credited=Count("id", filter=Q(credit_amount__isnull=False)),
        credit_amount=Sum("credit_amount"),
        disbursed_total=Sum("disbursed_total"),
    )
    needs = (
        qs.values(need=Coalesce(F("need_id"), F("declaration_id"), output_field=BigIntegerField()))
        .annotate(largest=Max("declaration__amount"))
        .values("need", "largest")
    )
    try:
        sql, params = needs.query.sql_with_params()
    except EmptyResultSet:  # a role the restriction gives no lead at all (a department's staff)
        totals["needs"], totals["need_amount"] = 0, 0
    else:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*), sum(largest) FROM ({sql}) needs", params)
            totals["needs"], totals["need_amount"] = cursor.fetchone()
    totals["disbursement_count"] = Disbursement.objects.filter(recommendation__in=qs.values("pk")).count()
    return {key: int(value or 0) for key, value in totals.items()}


# --- exports -------------------------------------------------------------------------------

EXPORT_KIND = "ledger"  # portal.spreadsheets.EXPORTS: audited as ledger.export

# (header, row key, kind); kinds: text, int, wan (元 → 万元, 2 decimals), date, rate, bool, list
COLUMNS: list[tuple[str, str, str]] = [
    ("经营主体", "entity_name", "text"),
    ("统一社会信用代码", "uscc", "text"),
    ("县(区)", "county_name", "text"),
    ("区划代码", "county_code", "text"),
    ("银行", "bank_name", "text"),
    ("承办机构", "branch_name", "text"),
    ("客户经理", "account_manager", "text"),
    ("申报来源", "source", "text"),
    ("融资需求(万元)", "need_amount", "wan"),
    ("需求期限(月)", "need_term_months", "int"),
    ("资金用途", "purpose", "text"),
    ("推送日期", "pushed_on", "date"),
    ("对接日期", "contacted_on", "date"),
    ("对接方式", "contact_channel", "text"),
    ("材料收齐日期", "materials_complete_on", "date"),
    ("材料收齐方式", "materials_complete_how", "text"),
    ("决定日期", "decided_on", "date"),
    ("状态", "state_display", "text"),
    ("授信金额(万元)", "credit_amount", "wan"),
    ("年利率(%)", "rate_percent", "rate"),
    ("授信期限(月)", "credit_term_months", "int"),
    ("担保方式", "guarantee_display", "text"),
    ("信用贷款", "is_credit_loan", "bool"),
    ("首贷", "is_first_loan", "bool"),
    ("超限审批", "approval_override", "text"),
    ("授信依据变化", "credit_basis_change", "text"),
    ("累计放款(万元)", "disbursed_total", "wan"),
    ("放款笔数", "disbursement_count", "int"),
    ("首笔放款日期", "first_disbursed_on", "date"),
    ("放款明细(日期 金额万元)", "disbursements", "list"),
    ("不予授信原因", "decline_reason", "text"),
    ("不予授信说明", "decline_note", "text"),
    ("移出日期", "removed_on", "date"),
    ("移出原因", "removed_reason", "text"),
    ("服务评价", "satisfaction", "int"),
    ("反馈逾期", "feedback_overdue", "bool"),
    ("决策逾期", "decision_overdue", "bool"),
]
HEADERS = ["序号"] + [header for header, _, _ in COLUMNS]
AMOUNT_NOTE = "金额单位: 万元(保留两位小数); 日期格式: YYYY-MM-DD"
_WAN = Decimal("10000")


def _wan(yuan: int | None) -> Decimal | None:
    return None if yuan is None else (Decimal(yuan) / _WAN).quantize(Decimal("0.01"))


def _bool(value: bool | None) -> str:
    return "" if value is None else ("是" if value else "否")


def _drawdowns(items: list[dict]) -> str:
    return "; ".join(f"{d['disbursed_on']} {_wan(d['amount'])}" for d in items)


def _export_value(kind: str, value):
    """A cell value for xlsx (dates as date objects, amounts as Decimal 万元)."""
    if value is None or value == "":
        return None
    if kind == "wan":
        return _wan(value)
    if kind == "date":
        return dt.date.fromisoformat(value)
    if kind == "rate":
        return Decimal(value)
    if kind == "bool":
        return _bool(value)
    if kind == "list":
        return _drawdowns(value) or None
    return value


def ledger_xlsx(
    rows: Iterable[dict], title: str, *, subtitle: str = "", filename: str = "台账.xlsx"
) -> spreadsheets.File:
    """The ledger as an xlsx workbook: a title row, a note on units, Chinese headers, one row
    per recommendation, and a 合计 row. Streams (write-only), so any number of rows fits."""

    book = Book(streaming=True)
    sheet = book.sheet("台账")
    widths = {"text": 16, "int": 10, "wan": 14, "date": 12, "rate": 10, "bool": 8, "list": 30}
    wide = {"entity_name", "branch_name", "purpose", "decline_note", "credit_basis_change"}
    sheet.widths([6] + [24 if key in wide else max(widths[kind], len(header) * 2) for header, key, kind in COLUMNS])
    sheet.freeze("C5")
    # printed as the other government forms: landscape, one page wide, the header on every
    # page; on A3, its 30-odd columns stay legible
    sheet.print_one_page_wide(title_rows="4:4", paper="A3")

    formats = {"wan": "#,##0.00", "date": "yyyy-mm-dd", "rate": "0.000", "int": "0"}
    plain = {kind: Style(number_format=fmt) for kind, fmt in formats.items()}
    bold = {kind: Style(bold=True, number_format=fmt) for kind, fmt in formats.items()}
    generated = timezone.localtime().strftime("%Y-%m-%d %H:%M")
    sheet.append([Cell(title, Style(bold=True, size=14))])
    sheet.append([f"{subtitle + '; ' if subtitle else ''}{AMOUNT_NOTE}; 导出时间: {generated}; 注: {TOTALS_NOTE}"])
    sheet.skip()
    sheet.append(HEADERS, style=HEADER.but(border=False))

    totals = LedgerTotals()
    for number, row in enumerate(rows, start=1):
        totals.add(row)
        values = [number]
        for _, key, kind in COLUMNS:
            value = _export_value(kind, row.get(key))
            values.append(Cell(value, plain[kind]) if value is not None and kind in plain else value)
        sheet.append(values)

    total_values: dict[str, object] = {
        "entity_name": f"共 {totals.rows} 条, {len(totals.entities)} 户, {len(totals.needs)} 笔融资需求",
        "need_amount": _wan(totals.need_amount),
        "credit_amount": _wan(totals.credit_amount),
        "disbursed_total": _wan(totals.disbursed_total),
        "disbursement_count": totals.disbursement_count,
    }
    total_row = [Cell("合计", Style(bold=True))]
    for _, key, kind in COLUMNS:
        value = total_values.get(key)
        total_row.append(Cell(value, bold.get(kind, Style(bold=True))) if value is not None else None)
    sheet.append(total_row)
    sheet.sign_off()
    return book.file(filename, rows=totals.rows)


def ledger_csv(rows: Iterable[dict], *, filename: str = "台账.csv") -> spreadsheets.File:
    """The ledger as CSV (UTF-8 with BOM so Excel reads the Chinese), same columns and units
    as the xlsx, without title or total rows (a plain table for other systems)."""
    return spreadsheets.csv_file(
        filename,
        HEADERS,
        (
            [number] + [_export_value(kind, row.get(key)) for _, key, kind in COLUMNS]
            for number, row in enumerate(rows, start=1)
        ),
    )


@transaction.atomic
def ledger_export(
    *, actor, filters: Mapping | LedgerFilters | None, extension: str, request=None, via: str = ""
) -> spreadsheets.File:
    """The ledger file of `actor` (xlsx or csv): its rows resolved through
    restrict(Recommendation, EXPORT), filtered, and its handing out audited (ledger.export,
    with the filters and the row count; `request` gives the address, `via` names a command).
    The one export of the ledger: the ledger page, the API, the reports page and the
    export_report command (actor reporting.selectors.SYSTEM, audited without a user) use it."""
    f = parse_filters(filters)
    if extension not in ("xlsx", "csv"):
        raise ApplicationError("导出格式应为 xlsx 或 csv", field_errors={"format": ["导出格式应为 xlsx 或 csv"]})
    rows = ledger_rows_iter(actor, f, action=EXPORT)
    name = ledger_filename(f, extension)
    if extension == "xlsx":
        file = ledger_xlsx(rows, "融资对接台账", subtitle=f"筛选: {f.describe()}", filename=name)
    else:
        file = ledger_csv(rows, filename=name)
    user = actor if getattr(actor, "pk", None) is not None else None  # the system actor is no user row
    spreadsheets.record(actor=user, kind=EXPORT_KIND, file=file, filters=f.params(), request=request, via=via)
    return file


def ledger_filename(filters: LedgerFilters, extension: str) -> str:
    stamp = timezone.localtime().strftime("%Y%m%d")
    scope = filters.period or (
        f"{filters.date_from or ''}_{filters.date_to or ''}" if filters.date_from or filters.date_to else ""
    )
    return f"台账{('_' + scope) if scope else ''}_{stamp}.{extension}"
