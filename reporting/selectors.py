"""Reads of reporting, each restricted to what the actor may see and aggregated in SQL.

The figures follow reporting.kpis (the definitions and their reference implementation,
which the tests compare with what is computed here). They are computed set-based over the
statistics index (reporting.facts: per ledger row, the moment each of its events was
recorded and the values it carried, with its clocks' due moments), so a figure "as of" a
moment compares recorded moments with it — one narrow table answers any scope, period and
as-of date, and past figures cannot move. The scope is the ledger's own
(`reporting.ledger.ledger_queryset`: the same restriction and filters; a test holds them
equal). Computed figures are cached while the data is unchanged (see `_cached`; those read
beside the index — bank reports, renewal needs, targets, 批分单 — `kept_beside_the_index`).

Nothing here writes: the index is kept in step by the writes that change the ledger
(reporting.facts.sync_after_commit, after their commit) and by the beat task, never by a
read, so a GET of any figure only reads."""

from __future__ import annotations

import contextvars
import datetime as dt
import hashlib
import logging
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Count, Exists, F, Max, OuterRef, Q, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from campaigns import selectors as campaigns_selectors
from campaigns.models import CampaignEvent
from coordination.models import Problem, ProblemEvent
from entities.models import Renewal
from entities.renewals import RenewalStatus
from entities.restrictions import region_range_q
from matching.models import DeclarationBank, LeadOrigin, Recommendation, Visit
from portal.models import AuditEvent, Region, RegionLevel
from portal.services import ApplicationError
from portal.tenancy import VIEW, Scope, restrict, scope_for
from products.models import Bank, BankBranch
from reporting import facts, kpis, ledger
from reporting.models import (
    BankPeriodReport,
    DeclarationFact,
    LedgerFact,
    LedgerFactVersion,
    ScheduledReport,
    Target,
    TargetMetric,
    VisitFact,
)

REPORT_KEYS = ("region", "bank", "branch", "period", "date_from", "date_to", "origin")
DIMENSIONS = ("county", "city", "bank", "branch", "month")

logger = logging.getLogger(__name__)


class SystemActor:
    """The actor of scheduled jobs and the export command: sees everything, like a platform
    administrator, without being a user row (nothing is audited in its name)."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_superuser = True
    pk = id = None
    username = "system"
    _portal_scope = Scope(0, None, None, None, None, "", None, None, True)

    def get_full_name(self):
        return "系统"


SYSTEM = SystemActor()


# --- a cache of computed figures, valid while the data is unchanged ----------------------------------

NOW_TTL = 60  # as-of-now figures also move with the clock (a due moment passing): at most a minute old
PAST_TTL = 24 * 3600


def data_version() -> str:
    """Changes whenever anything the figures read changes: a new event (every workflow write
    records one, the deadline scan too), a new visit, a provisional due date recomputed, the
    index rebuilt. One read-only statement (reporting.facts.version), or the version pinned
    by `one_data_version()` around a page of figures."""

    pinned = _PINNED_VERSION.get()
    return pinned if pinned is not None else facts.version()


_PINNED_VERSION: contextvars.ContextVar[str | None] = contextvars.ContextVar("reporting_data_version", default=None)


@contextmanager
def one_data_version() -> Iterator[str]:
    """Within it, every cached figure is keyed by one data version, read once on entering: the
    dashboard, the KPI answer and the brief each read a dozen cached parts together and write
    nothing, and reading the version for each part had cost three to five statements apiece
    (bench-load). Nested, the outer one's version stands. Not for a block that writes figures'
    sources and then reads them: the version would not see its own write."""
    pinned = _PINNED_VERSION.get()
    if pinned is not None:
        yield pinned
        return
    version = facts.version()
    token = _PINNED_VERSION.set(version)
    reads = _PAGE_READS.set({})
    try:
        yield version
    finally:
        _PAGE_READS.reset(reads)
        _PINNED_VERSION.reset(token)


# what a page of figures reads once for all of its parts (inside `one_data_version()`): the banks
_PAGE_READS: contextvars.ContextVar[dict | None] = contextvars.ContextVar("reporting_page_reads", default=None)


@dataclass(frozen=True)
class BankRow:
    pk: int
    code: str
    name: str
    organisation_id: int


def bank_directory() -> list[BankRow]:
    """Every bank (id, code, name, organisation), by code: public reference data of a few dozen
    rows, which a page of figures names in half a dozen places (ranking, 续贷, 直接申请, …) —
    read once inside `one_data_version()`, else on each call."""
    reads = _PAGE_READS.get()
    if reads is not None and "banks" in reads:
        return reads["banks"]
    rows = [BankRow(*row) for row in Bank.objects.order_by("code").values_list("pk", "code", "name", "organisation_id")]
    if reads is not None:
        reads["banks"] = rows
    return rows


# What the figures beside the statistics index read — the banks' monthly reports (一高一提一降,
# 续贷), the renewal needs (应续尽续), the targets (目标进度) and the 批分单 — is not in the data
# version. Each of their writes adds a row (a report, a renewal need, a 批分单 or one of its
# events, the deadline scan's too) or is audited in its own transaction (a renewal's outcome or
# withdrawal: portal.services.audit_record), or stamps the row (a target's updated_at, the admin
# site's edits too): the newest of each is the mark of those writes.
_WRITES_MARKED = (
    (AuditEvent, "id"),
    (BankPeriodReport, "id"),
    (Renewal, "id"),
    (Target, "updated_at"),
    (Problem, "id"),
    (ProblemEvent, "id"),
)


def writes_mark() -> str:
    """Changes with every write of what the figures beside the index read (_WRITES_MARKED): one
    statement of six index reads, read once inside `one_data_version()`, else on each call.
    Read where the data version is read (the primary): a replica's figures are at most its lag
    behind it."""
    reads = _PAGE_READS.get()
    if reads is not None and "mark" in reads:
        return reads["mark"]
    quote = connection.ops.quote_name
    sql = "SELECT " + ", ".join(
        f"(SELECT MAX({quote(model._meta.get_field(field).column)}) FROM {quote(model._meta.db_table)})"
        for model, field in _WRITES_MARKED
    )
    with connection.cursor() as cursor:
        cursor.execute(sql)
        mark = ":".join(str(value) for value in cursor.fetchone())
    if reads is not None:
        reads["mark"] = mark
    return mark


def _who(user) -> tuple:
    """Whose figures: the user and the scope that restricts them (part of every cache key)."""
    scope = scope_for(user)
    return (
        getattr(user, "pk", None),
        scope.role if scope else None,
        scope.organisation_path if scope else "",
        scope.region_prefix if scope else None,
        scope.is_platform_admin if scope else False,
    )


def _remember(key_parts: tuple, compute, ttl: int):
    """compute() once per key while the key lasts (ttl seconds at most); computed without the
    cache when the cache (Redis) is down: the page must still answer."""
    key = "reporting:" + hashlib.sha1(repr(key_parts).encode()).hexdigest()
    try:
        value = cache.get(key)
    except Exception:
        logger.warning("reporting cache unavailable; computing %s without it", key_parts[0])
        return compute()
    if value is None:
        value = compute()
        try:
            cache.set(key, value, ttl)
        except Exception:
            logger.warning("reporting cache unavailable; %s not cached", key_parts[0])
    return value


def _cached(kind: str, user, q: ReportQuery, extra: tuple, compute, version: str | None = None):
    moment = q.as_of.isoformat() if q.as_of_given else "now"
    return _remember(
        (kind, _who(user), q.filters, moment, extra, version or data_version()),
        compute,
        PAST_TTL if q.as_of_given else NOW_TTL,
    )


def kept_beside_the_index(kind: str, user, q: ReportQuery, compute, extra: tuple = ()):
    """compute() of a figure read beside the statistics index (bank reports, renewal needs,
    targets, 批分单), kept while neither the data version nor the writes mark (`writes_mark`)
    moved, and never longer than NOW_TTL, whatever the moment: a newest id can miss a write whose
    transaction committed after a later one's (until then)."""
    moment = q.as_of.isoformat() if q.as_of_given else "now"
    return _remember(
        (kind, _who(user), q.filters, moment, extra, data_version(), writes_mark()),
        compute,
        NOW_TTL,
    )


def campaign_coverage(*, user, as_of: dt.datetime | None = None):
    """大走访 coverage of the campaigns the user sees (campaigns.selectors.campaign_coverage), kept
    while nothing it counts changed: visits and declarations move the figures' data version
    (a declaration is created with its workflow event; visits are only ever added), targets,
    assignments and the campaigns themselves change only with a campaign event (opened … assigned:
    campaigns.services), and "overdue" moves with the day. A province's campaigns count hundreds
    of thousands of targets (0.3 s at 127,274 in bench-dashboard): counted once per change, not on
    every dashboard and KPI request."""
    campaigns_mark = CampaignEvent.objects.aggregate(last=Max("id"), n=Count("id"))
    moment = as_of.isoformat() if as_of is not None else ("now", timezone.localdate().isoformat())
    return _remember(
        ("coverage", _who(user), moment, data_version(), campaigns_mark["last"], campaigns_mark["n"]),
        lambda: campaigns_selectors.campaign_coverage(user=user, as_of=as_of),
        PAST_TTL if as_of is not None else NOW_TTL,
    )


# --- the query: scope, period, as-of ---------------------------------------------------------------


@dataclass(frozen=True)
class ReportQuery:
    filters: ledger.LedgerFilters
    as_of: dt.datetime
    as_of_given: bool = False

    @property
    def period_label(self) -> str:
        f = self.filters
        if f.period:
            return _period_label(f.period)
        if f.date_from or f.date_to:
            return f"{f.date_from or '…'} 至 {f.date_to or '…'}"
        return "全部"

    @property
    def year(self) -> int:
        f = self.filters
        if f.date_to:
            return f.date_to.year
        return timezone.localtime(self.as_of).year

    def params(self) -> dict[str, str]:
        """The query as URL parameters (for links to downloads and the API)."""
        f = self.filters
        out = {"region": f.region, "bank": f.bank, "branch": str(f.branch or ""), "period": f.period}
        if not f.period:
            out.update(
                date_from=f.date_from.isoformat() if f.date_from else "",
                date_to=f.date_to.isoformat() if f.date_to else "",
            )
        if self.as_of_given:
            out["as_of"] = timezone.localtime(self.as_of).date().isoformat()
        return {k: v for k, v in out.items() if v}


def _period_label(period: str) -> str:
    start, end = ledger.period_range(period)
    if "Q" in period.upper():
        return f"{start.year}年第{(start.month - 1) // 3 + 1}季度"
    if start.month == 1 and end.month == 12:
        return f"{start.year}年"
    return f"{start.year}年{start.month}月"


def _first(params: Mapping, key: str) -> str:
    value = params.get(key, "") if params else ""
    if isinstance(value, (list, tuple)):
        value = value[0] if value else ""
    return str(value or "").strip()


def end_of_local_day(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.max), timezone.get_default_timezone())


def parse_as_of(text: str) -> dt.datetime:
    """ "YYYY-MM-DD" (the end of that day) or an ISO moment; never later than now."""
    text = text.strip()
    try:
        moment = end_of_local_day(dt.date.fromisoformat(text)) if len(text) == 10 else dt.datetime.fromisoformat(text)
    except ValueError:
        raise ApplicationError(
            "统计时点格式应为 YYYY-MM-DD", field_errors={"as_of": ["统计时点格式应为 YYYY-MM-DD"]}
        ) from None
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, timezone.get_default_timezone())
    return min(moment, timezone.now())


def parse_query(params: Mapping | None, *, default_period: str | None = None) -> ReportQuery:
    """Scope, period and as-of moment from request parameters; bad values → ApplicationError
    with Chinese field errors."""
    params = params or {}
    subset = {k: _first(params, k) for k in REPORT_KEYS if _first(params, k)}
    if default_period and not any(subset.get(k) for k in ("period", "date_from", "date_to")):
        subset["period"] = default_period
    errors: dict[str, list[str]] = {}
    filters = None
    try:
        filters = ledger.parse_filters(subset)
    except ApplicationError as error:
        errors.update(error.field_errors or {"period": [error.message]})
    as_of, given = timezone.now(), False
    text = _first(params, "as_of")
    if text:
        try:
            as_of, given = parse_as_of(text), True
        except ApplicationError as error:
            errors.update(error.field_errors)
    if errors:
        raise ApplicationError(next(iter(errors.values()))[0], field_errors=errors)
    return ReportQuery(filters=filters, as_of=as_of, as_of_given=given)


def current_year_period() -> str:
    return str(timezone.localdate().year)


# --- the ledger as of a moment, aggregated ------------------------------------------------------------

# The figures at the moment p.t, as conditions on the index row (kpis.state_as_of in SQL;
# portable to SQLite). A moment compared with NULL is unknown, never true, so "recorded by t"
# is simply `x <= p.t`. Amounts are summed as double precision: exact for whole 元 below
# 9×10^15, and much cheaper than numeric.
_CONDITIONS = {
    "c": "contacted_at <= p.t",
    "a": "approved_at <= p.t",
    "fl": "approved_at <= p.t AND is_first_loan",
    "dany": "first_disbursed_at <= p.t",
    "rm": "removed_at <= p.t",
    "ls": "NOT (removed_at <= p.t) OR removed_at IS NULL",
    "lc": "(removed_at IS NULL OR removed_at > p.t) AND contacted_at <= p.t",
    "le": "(removed_at IS NULL OR removed_at > p.t) AND (declined_at IS NULL OR declined_at > p.t)",
    "lcr": "(removed_at IS NULL OR removed_at > p.t) AND approved_at <= p.t",
    "lnf": "(removed_at IS NULL OR removed_at > p.t) AND approved_at <= p.t AND (not_drawn_at IS NULL OR "
    "not_drawn_at > p.t)",
    "ld": "(removed_at IS NULL OR removed_at > p.t) AND first_disbursed_at <= p.t",
}
_LONG = f"term_months > {kpis.MEDIUM_LONG_TERM_MONTHS}"
_REAL = "DOUBLE PRECISION"
# 户 fields (distinct county + entity with the condition on one of its rows) → condition key
ENTITY_FLAGS = {
    "recommended": None,
    "contacted": "c",
    "credited": "a",
    "first_loans": "fl",
    "disbursed": "dany",
    "removed": "rm",
    "list_entities": "ls",
    "list_contacted": "lc",
    "list_eligible": "le",
    "list_credited": "lcr",
    "list_need_funds": "lnf",
    "list_disbursed": "ld",
}
# rows by bank / branch count these 户 fields per bank (branch), rows by month in 笔
ROW_COUNTED = ("contacted", "credited", "first_loans", "disbursed", "removed")
# and, for 三个100% of rows by bank / branch / month (asked for with ratios=True)
ROW_COUNTED_LIST = (
    "list_entities",
    "list_contacted",
    "list_eligible",
    "list_credited",
    "list_need_funds",
    "list_disbursed",
)
# 笔 / 元 fields: (aggregate, condition or None)
ROW_SUMS = {
    "rows": ("count(*)", None),
    # every row's need: a bank's (branch's) rows hold a declaration once (one row per bank)
    "need_amount": (f"sum(CAST(need_amount AS {_REAL}))", None),
    # the lead rows' needs: one per declaration pushed (a month's rows)
    "need_leads": (f"sum(CAST(need_amount AS {_REAL}))", "is_lead"),
    "credited_rows": ("count(*)", "approved_at <= p.t"),
    "credit_amount": (f"sum(CAST(credit_amount AS {_REAL}))", "approved_at <= p.t"),
    "credit_loans": ("count(*)", "approved_at <= p.t AND is_credit_loan"),
    "credit_loan_amount": (f"sum(CAST(credit_amount AS {_REAL}))", "approved_at <= p.t AND is_credit_loan"),
    "medium_long": ("count(*)", f"approved_at <= p.t AND {_LONG}"),
    "medium_long_amount": (f"sum(CAST(credit_amount AS {_REAL}))", f"approved_at <= p.t AND {_LONG}"),
    "rate_sum": (f"sum(CAST(rate_percent AS {_REAL}))", "approved_at <= p.t"),
    "rate_weighted_sum": (f"sum(CAST(rate_percent AS {_REAL}) * credit_amount)", "approved_at <= p.t"),
    # rows whose last drawdown was recorded by t; the partly drawn ones are added separately
    "disbursed_amount": (f"sum(CAST(disbursed_total AS {_REAL}))", "last_disbursed_at <= p.t"),
    "disbursements": ("sum(disbursement_count)", "last_disbursed_at <= p.t"),
    "declined_rows": ("count(*)", "declined_at <= p.t"),
    # a clock is answered on time, answered late, or open past its due moment while listed
    "feedback_answered": ("count(*)", "feedback_due_at IS NOT NULL AND feedback_at <= p.t"),
    "feedback_on_time": (
        "count(*)",
        "feedback_at <= p.t AND coalesce(feedback_satisfied_at, feedback_at) <= feedback_due_at",
    ),
    "feedback_open_late": (
        "count(*)",
        "(feedback_at IS NULL OR feedback_at > p.t) AND feedback_due_at < p.t "
        "AND (removed_at IS NULL OR removed_at > p.t OR removed_at > feedback_due_at)",
    ),
    "decision_answered": ("count(*)", "decision_due_at IS NOT NULL AND materials_at <= p.t AND decision_at <= p.t"),
    "decision_on_time": (
        "count(*)",
        "materials_at <= p.t AND decision_at <= p.t "
        "AND coalesce(decision_satisfied_at, decision_at) <= decision_due_at",
    ),
    "decision_open_late": (
        "count(*)",
        "materials_at <= p.t AND (decision_at IS NULL OR decision_at > p.t) AND decision_due_at < p.t "
        "AND (removed_at IS NULL OR removed_at > p.t OR removed_at > decision_due_at)",
    ),
    "rated": ("count(*)", "rated_at <= p.t"),
    "score_sum": ("sum(score)", "rated_at <= p.t"),
}
_KEYS = ("region", "bank_id", "branch_id", "pushed_month")


class FactsAsOf:
    """The index rows valid at a past moment when a correction came after it (issue 16 item 6):
    the current rows not corrected since (`current`) and, for those that were, the rows as
    they were then (`versions`, LedgerFactVersion). Filters apply to both; the statements read
    both (`facts_sql`); a subquery of immutable columns (the entities) reads the current rows."""

    def __init__(self, current: QuerySet, versions: QuerySet):
        self.current, self.versions = current, versions

    def filter(self, *args, **kwargs) -> FactsAsOf:
        return FactsAsOf(self.current.filter(*args, **kwargs), self.versions.filter(*args, **kwargs))

    @property
    def query(self):
        return self.current.query

    def values(self, *fields) -> QuerySet:
        return self.current.values(*fields)


def facts_sql(qs, columns) -> tuple[str, list]:
    """The SELECT of the index rows `qs` holds (a queryset, or FactsAsOf), with `columns`."""
    if isinstance(qs, FactsAsOf):
        current, current_params = qs.current.values(*columns).query.sql_with_params()
        past, past_params = qs.versions.values(*columns).query.sql_with_params()
        return f"{current} UNION ALL {past}", [*current_params, *past_params]
    return qs.values(*columns).query.sql_with_params()


def facts_queryset(user, q: ReportQuery) -> QuerySet[LedgerFact] | FactsAsOf:
    """The index rows of the ledger rows of the query: the same scope as
    `reporting.ledger.ledger_queryset` (restriction and filters), pushed by the as-of moment.
    As of a past moment some row was corrected after, each such row as it was then
    (FactsAsOf): the figures as of a date show what was recorded by that date."""
    current = _scoped(LedgerFact, user, q)
    if not q.as_of_given:
        return current
    versions = _scoped(LedgerFactVersion, user, q)
    later = versions.filter(valid_until__gt=q.as_of)
    if not later.exists():
        return current
    superseded = later.filter(recommendation_id=OuterRef("recommendation_id"))
    return FactsAsOf(
        current.exclude(Exists(superseded)),
        later.filter(Q(valid_from__isnull=True) | Q(valid_from__lte=q.as_of)),
    )


def _scoped(model, user, q: ReportQuery) -> QuerySet:
    f = q.filters
    qs = restrict(model.objects.all(), user, VIEW)
    if f.region:
        qs = qs.filter(region_range_q(f.region, "region"))
    if f.bank:
        qs = qs.filter(bank_id__in=Bank.objects.filter(code=f.bank).values("pk"))
    if f.branch:
        path = BankBranch.objects.filter(pk=f.branch).values_list("organisation__path", flat=True).first()
        qs = qs.filter(branch_path__startswith=path) if path else qs.none()
    if f.date_from:
        qs = qs.filter(pushed_at__gte=ledger._local_midnight(f.date_from))
    if f.date_to:
        qs = qs.filter(pushed_at__lt=ledger._local_midnight(f.date_to + dt.timedelta(days=1)))
    # the notice's figures (三个100%, the 成效统计表) are about the 推荐清单's leads: the direct
    # applications (直接申请, seed 002 point 5) are counted apart, asked for with origin=direct
    qs = qs.filter(origin=f.origin or LeadOrigin.PUSHED)
    return qs.filter(pushed_at__lte=q.as_of).order_by()


def _run(sql: str, params: list) -> list[dict]:
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # reporting statements: hash their groups in memory; JIT compilation costs more than it saves here
            cursor.execute("SET LOCAL work_mem = '64MB'; SET LOCAL jit = off")
        cursor.execute(sql, params)
        names = [c[0] for c in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]


def _moment_param(moment: dt.datetime) -> tuple[str, object]:
    if connection.vendor == "postgresql":
        return "CAST(%s AS TIMESTAMP WITH TIME ZONE)", moment
    return "%s", connection.ops.adapt_datetimefield_value(moment)


def _aggregate(expr: str, condition: str | None) -> str:
    return f"{expr} FILTER (WHERE {condition})" if condition else expr


def figures(
    user, q: ReportQuery, dims: Sequence[str] = (), *, ratios: bool = False, version: str | None = None
) -> dict[str, dict[str, kpis.Figures]]:
    """The figures of the query (see _figures), from the cache while the data is unchanged."""
    dims = tuple(d for d in DIMENSIONS if d in dims)
    return _cached("figures", user, q, (dims, ratios), lambda: _figures(user, q, dims, ratios=ratios), version)


# 户 conditions on a push group's lead row: its own row or its sibling's
_OWN_LISTED = "(removed_at IS NULL OR removed_at > p.t)"
_SIB_LISTED = "(has_sibling AND (sib_removed_at IS NULL OR sib_removed_at > p.t))"
_GROUP_CONDITIONS = {
    "c": "contacted_at <= p.t OR sib_contacted_at <= p.t",
    "a": "approved_at <= p.t OR sib_approved_at <= p.t",
    "fl": "(approved_at <= p.t AND is_first_loan) OR (sib_approved_at <= p.t AND sib_first_loan)",
    "dany": "first_disbursed_at <= p.t OR sib_first_disbursed_at <= p.t",
    "rm": "removed_at <= p.t OR sib_removed_at <= p.t",
    "ls": f"{_OWN_LISTED} OR {_SIB_LISTED}",
    "lc": f"({_OWN_LISTED} AND contacted_at <= p.t) OR ({_SIB_LISTED} AND sib_contacted_at <= p.t)",
    "le": f"({_OWN_LISTED} AND (declined_at IS NULL OR declined_at > p.t)) "
    f"OR ({_SIB_LISTED} AND (sib_declined_at IS NULL OR sib_declined_at > p.t))",
    "lcr": f"({_OWN_LISTED} AND approved_at <= p.t) OR ({_SIB_LISTED} AND sib_approved_at <= p.t)",
    "lnf": f"({_OWN_LISTED} AND approved_at <= p.t AND (not_drawn_at IS NULL OR not_drawn_at > p.t)) "
    f"OR ({_SIB_LISTED} AND sib_approved_at <= p.t AND (sib_not_drawn_at IS NULL OR sib_not_drawn_at > p.t))",
    "ld": f"({_OWN_LISTED} AND first_disbursed_at <= p.t) OR ({_SIB_LISTED} AND sib_first_disbursed_at <= p.t)",
}
_GROUP_COLUMNS = (
    "entity_id",
    "region",
    "has_sibling",
    "is_first_loan",
    "sib_first_loan",
    "prev_group_pushed_at",
    "contacted_at",
    "approved_at",
    "first_disbursed_at",
    "removed_at",
    "declined_at",
    "not_drawn_at",
    "sib_contacted_at",
    "sib_approved_at",
    "sib_first_disbursed_at",
    "sib_removed_at",
    "sib_declined_at",
    "sib_not_drawn_at",
    "need_amount",
)


def _whole_groups(user, q: ReportQuery) -> bool:
    """The cohort is made of whole push groups (no bank or branch filter, a region-bound or
    all-seeing actor): each group's lead row can answer for the group."""
    scope = scope_for(user)
    return (
        not (q.filters.bank or q.filters.branch)
        and scope is not None
        and (scope.is_platform_admin or scope.is_government)
    )


def _repeated_entities(user, q: ReportQuery) -> QuerySet:
    """The entities with two push groups in the cohort (a second declaration, a 改推): the only
    ones counted twice by summing over lead rows, or over a bank's rows."""
    start = ledger._local_midnight(q.filters.date_from) if q.filters.date_from else None
    repeat = Q(prev_group_pushed_at__gte=start) if start else Q(prev_group_pushed_at__isnull=False)
    return facts_queryset(user, q).filter(is_lead=True).filter(repeat).values("entity_id")


def _entity_counts(user, q: ReportQuery, source_of, whole_groups: bool) -> tuple[list[dict], bool]:
    """户 per county — distinct (county, entity) pairs with each condition on one of their
    rows — and the 融资需求 per county, each need once; with whether some entity has two push
    groups in the cohort.

    Where the cohort is made of whole push groups, each group's lead row answers for the
    group (its own and its sibling's milestones; its declaration's need), so entities and
    needs are counted by summing over leads — no grouping by entity. An entity with two
    groups in the cohort (a second declaration, a re-recommendation) would count twice:
    those few entities are counted exactly by grouping their rows, and replace their lead-row
    counts."""
    flags = [(name, key) for name, key in ENTITY_FLAGS.items() if key]
    if not whole_groups:
        return _grouped(source_of(facts_queryset(user, q), _ROW_COLUMNS), "region"), False

    leads = facts_queryset(user, q).filter(is_lead=True)
    start = ledger._local_midnight(q.filters.date_from) if q.filters.date_from else None
    counts = ", ".join(
        ["count(*) AS recommended"]
        + [f"count(*) FILTER (WHERE {_GROUP_CONDITIONS[key]}) AS {name}" for name, key in flags]
        + [f"sum(CAST(need_amount AS {_REAL})) AS need_amount"]
    )
    source, params = source_of(leads, _GROUP_COLUMNS)
    if start:
        start_sql, start_param = _moment_param(start)
        repeats, repeat_params = (
            f"count(*) FILTER (WHERE prev_group_pushed_at >= {start_sql}) AS repeats",
            [start_param],
        )
    else:
        repeats, repeat_params = "count(*) FILTER (WHERE prev_group_pushed_at IS NOT NULL) AS repeats", []
    result = _run(f"SELECT region AS key, {counts}, {repeats} FROM {source} GROUP BY region", repeat_params + params)
    rows = {r["key"]: r for r in result}
    if not sum(r.pop("repeats") or 0 for r in result):
        return list(rows.values()), False
    repeated = _repeated_entities(user, q)
    # the few entities with two groups: take their lead-row counts out, put their exact counts in
    source, params = source_of(leads.filter(entity_id__in=repeated), _GROUP_COLUMNS)
    naive = _run(f"SELECT region AS key, {counts} FROM {source} GROUP BY region", params)
    exact = _grouped(source_of(facts_queryset(user, q).filter(entity_id__in=repeated), _ROW_COLUMNS), "region")
    names = (*ENTITY_FLAGS, "need_amount")
    for sign, part in ((-1, naive), (1, exact)):
        for r in part:
            row = rows.setdefault(r["key"], {"key": r["key"], **{name: 0 for name in names}})
            for name in names:
                row[name] = (row[name] or 0) + sign * (r[name] or 0)
    return list(rows.values()), True


# the index columns the exact counts read
_ROW_COLUMNS = ("entity_id", "declaration_id", "is_lead", *_KEYS, *facts.FACT_COLUMNS)
_NEED = "coalesce(need_id, declaration_id)"  # a row folded before needs were indexed: its own declaration's


def _grouped(source_and_params, key: str) -> list[dict]:
    """Per value of `key` (region, bank_id, branch_id, pushed_month), by grouping the cohort's
    rows: 户 — distinct (key, entity) pairs with each condition on one of their rows — and
    the 融资需求, each need (declaration, and the 改推 that continue it) once per (key,
    entity) at its largest amount."""
    source, params = source_and_params
    flags = [(name, cond) for name, cond in ENTITY_FLAGS.items() if cond]
    if connection.vendor == "postgresql":
        # one bit per condition, or-ed over the rows
        mask = " + ".join(
            f"(CASE WHEN {_CONDITIONS[cond]} THEN {1 << i} ELSE 0 END)" for i, (_, cond) in enumerate(flags)
        )
        needs = (
            f"SELECT {key} AS k, entity_id, bit_or({mask}) AS m, max(need_amount) AS n FROM {source} "
            f"GROUP BY {key}, entity_id, {_NEED}"
        )
        entities = f"SELECT k, entity_id, bit_or(m) AS m, sum(n) AS n FROM ({needs}) l0 GROUP BY k, entity_id"
        counts = ", ".join(
            ["count(*) AS recommended"]
            + [f"count(*) FILTER (WHERE m & {1 << i} > 0) AS {name}" for i, (name, _) in enumerate(flags)]
            + [f"sum(CAST(n AS {_REAL})) AS need_amount"]
        )
    else:
        needs = (
            f"SELECT {key} AS k, entity_id, "
            + ", ".join(f"max(CASE WHEN {_CONDITIONS[cond]} THEN 1 ELSE 0 END) AS {cond}" for _, cond in flags)
            + f", max(need_amount) AS n FROM {source} GROUP BY {key}, entity_id, {_NEED}"
        )
        entities = (
            "SELECT k, entity_id, "
            + ", ".join(f"max({cond}) AS {cond}" for _, cond in flags)
            + f", sum(n) AS n FROM ({needs}) l0 GROUP BY k, entity_id"
        )
        counts = ", ".join(
            ["count(*) AS recommended"]
            + [f"sum({cond}) AS {name}" for name, cond in flags]
            + [f"sum(CAST(n AS {_REAL})) AS need_amount"]
        )
    return _run(f"SELECT k AS key, {counts} FROM ({entities}) l1 GROUP BY k", params)


def _row_counts(source_and_params, key: str, names: Sequence[str]) -> list[dict]:
    """What the rollup of the rows by `key` counts (see _figures): the rows, the rows with each
    condition of `names`, their needs (a month's: its lead rows' needs)."""
    source, params = source_and_params
    need = _aggregate(f"sum(CAST(need_amount AS {_REAL}))", "is_lead" if key == "pushed_month" else None)
    counts = ", ".join(
        ["count(*) AS recommended"]
        + [_aggregate("count(*)", _CONDITIONS[ENTITY_FLAGS[name]]) + f" AS {name}" for name in names]
        + [f"{need} AS need_amount"]
    )
    return _run(f"SELECT {key} AS key, {counts} FROM {source} GROUP BY {key}", params)


def _dimension_key(dim: str, key) -> str:
    return _month_key(key) if dim == "month" else str(key)


def _count_once(user, q, source_of, rollups, dims, counted, whole_groups: bool, repeats: bool) -> None:
    """Rows by bank and branch count 户 per bank (branch) — an entity pushed to two banks is
    one 户 in each — and each need once; rows by month count 笔 and each need once.

    The rollup of the rows counted every row (a month: every lead row's need). Over whole
    push groups that is already right for an entity with one group in the cohort (a group
    has one row per bank, one need); the entities with two groups are taken out and counted
    exactly. Otherwise every group is counted exactly."""
    targets = {
        dim: ("need_amount",) if dim == "month" else ("recommended", *counted, "need_amount")
        for dim in ("bank", "branch", "month")
        if dim in dims
    }
    if not targets or (whole_groups and not repeats):
        return
    cohort = facts_queryset(user, q)
    if whole_groups:
        cohort = cohort.filter(entity_id__in=_repeated_entities(user, q))
    source = source_of(cohort, _ROW_COLUMNS)
    for dim, names in targets.items():
        column = _DIMENSION_COLUMNS[dim]
        exact = _grouped(source, column)
        if whole_groups:
            naive = _row_counts(source, column, [n for n in names if ENTITY_FLAGS.get(n)])
            parts = ((-1, naive), (1, exact))
        else:
            for fig in rollups[dim].values():
                for name in names:
                    setattr(fig, name, 0)
            parts = ((1, exact),)
        for sign, part in parts:
            for r in part:
                fig = rollups[dim].setdefault(_dimension_key(dim, r["key"]), kpis.Figures())
                for name in names:
                    setattr(fig, name, getattr(fig, name) + sign * int(round(r.get(name) or 0)))


_DIMENSION_COLUMNS = {"county": "region", "bank": "bank_id", "branch": "branch_id", "month": "pushed_month"}


def _figures(
    user, q: ReportQuery, dims: Sequence[str] = (), *, ratios: bool = False
) -> dict[str, dict[str, kpis.Figures]]:
    """{"total": {"": Figures}, "county": {code: Figures}, "city": …, "bank": {bank id: Figures},
    "branch": {branch id: …}, "month": {"YYYY-MM": Figures}} for the requested dimensions.

    户 counts distinct (county, entity) pairs: a county's row counts its entities and the
    total adds the counties up. Rows by bank and branch count distinct (bank, entity) pairs,
    as an entity pushed to two banks belongs to both: the banks' rows may add up to more than
    the total, which counts it once (kpis.DEFINITIONS["dedup"]). Rows by month count 笔
    (ledger rows) in the 户 fields. 融资需求 counts each need once per row of any dimension
    and in the total (kpis: need_id).

    Set-based statements over the index: the sums per (county, bank, branch, month), rolled
    up here, with the drawdowns of rows only partly drawn by the moment; the entity flags and
    needs per county; for the few entities with two push groups in the cohort, their exact
    counts per bank, branch and month (_count_once)."""
    dims = [d for d in DIMENSIONS if d in dims]
    if facts_queryset(user, q).query.is_empty():
        # nothing to see (no access, or a branch that does not exist): no SQL to run
        return {"total": {"": kpis.Figures()}, **{d: {} for d in dims}}
    moment_sql, moment = _moment_param(q.as_of)

    def source_of(qs: QuerySet, columns) -> tuple[str, list]:
        sql, sql_params = facts_sql(qs, columns)
        return f"(SELECT {moment_sql} AS t) p CROSS JOIN ({sql}) b", [moment, *sql_params]

    source, params = source_of(facts_queryset(user, q), ("recommendation_id", *_ROW_COLUMNS))
    keys = ", ".join(_KEYS)

    sums = [_aggregate(expr, cond) + f" AS {name}" for name, (expr, cond) in ROW_SUMS.items()]
    counted = ROW_COUNTED + (ROW_COUNTED_LIST if ratios and set(dims) & {"bank", "branch", "month"} else ())
    sums += [_aggregate("count(*)", _CONDITIONS[ENTITY_FLAGS[name]]) + f" AS {name}" for name in counted]
    columns = list(ROW_SUMS) + list(counted)
    b_keys = ", ".join(f"b.{k}" for k in _KEYS)
    # drawdowns of rows only partly drawn by the moment, from the ledger's drawdown rows
    partial = [
        "sum(x.amount) AS disbursed_amount"
        if c == "disbursed_amount"
        else "count(*) AS disbursements"
        if c == "disbursements"
        else f"NULL AS {c}"
        for c in columns
    ]
    rollups = " UNION ALL ".join(
        f"SELECT '{dim}' AS dim, CAST({key} AS TEXT) AS key, {', '.join(f'sum({c}) AS {c}' for c in columns)} FROM "
        f"g GROUP BY {key}"
        for dim, key in (("county", "region"), ("bank", "bank_id"), ("branch", "branch_id"), ("month", "pushed_month"))
        if dim == "county" or dim in dims
    )
    # rows only partly drawn by the moment exist only for a past moment
    partial_sql = (
        f"""
            UNION ALL
            SELECT {b_keys}, {", ".join(partial)}
            FROM {source} JOIN matching_disbursement x ON x.recommendation_id = b.recommendation_id AND x.created_at
                <= p.t AND (x.voided_at IS NULL OR x.voided_at > p.t)
            WHERE b.first_disbursed_at <= p.t AND b.last_disbursed_at > p.t
            GROUP BY {b_keys}"""
        if q.as_of_given
        else ""
    )
    sql = f"""
        WITH g AS MATERIALIZED (
            SELECT {keys}, {", ".join(sums)} FROM {source} GROUP BY {keys}{partial_sql}
        )
        {rollups}"""
    rolled = _run(sql, params + params if q.as_of_given else params)

    whole_groups = _whole_groups(user, q)
    entities, repeats = _entity_counts(user, q, source_of, whole_groups)
    rollups_by_dim: dict[str, dict[str, kpis.Figures]] = {d: {} for d in ("county", "bank", "branch", "month")}
    for row in rolled:
        dim, key = row.pop("dim"), str(row.pop("key"))
        if "rows" in row:
            row["recommended"] = row["rows"]
        fig = kpis.Figures.from_row(row)
        fig.feedback_late = (
            int(row.get("feedback_answered") or 0) - fig.feedback_on_time + int(row.get("feedback_open_late") or 0)
        )
        fig.feedback_determined = fig.feedback_on_time + fig.feedback_late
        fig.decision_late = (
            int(row.get("decision_answered") or 0) - fig.decision_on_time + int(row.get("decision_open_late") or 0)
        )
        fig.decision_determined = fig.decision_on_time + fig.decision_late
        if dim == "month":
            fig.need_amount = int(round(row.get("need_leads") or 0))
        rollups_by_dim[dim][_month_key(key) if dim == "month" else key] = fig
    rollups = rollups_by_dim
    # county rows count entities (distinct county + entity) in their 户 fields, each need once
    for row in entities:
        fig = rollups["county"].setdefault(str(row["key"]), kpis.Figures())
        for name in (*ENTITY_FLAGS, "need_amount"):
            setattr(fig, name, int(round(row[name] or 0)))
    _count_once(user, q, source_of, rollups, dims, counted, whole_groups, repeats)
    total = kpis.Figures()
    cities: dict[str, kpis.Figures] = defaultdict(kpis.Figures)
    for code, fig in rollups["county"].items():
        total.add(fig)
        cities[code[:4] + "00"].add(fig)
    out: dict[str, dict[str, kpis.Figures]] = {"total": {"": total}}
    for dim in dims:
        out[dim] = dict(cities) if dim == "city" else dict(rollups[dim])
    return out


def _month_key(value) -> str:
    value = str(value)  # YYYYMM
    return f"{value[:4]}-{value[4:6]}"


# --- visits and declarations of the period -----------------------------------------------------------


def _local_range(q: ReportQuery) -> tuple[dt.datetime | None, dt.datetime]:
    f = q.filters
    start = ledger._local_midnight(f.date_from) if f.date_from else None
    end = q.as_of
    if f.date_to:
        end = min(end, ledger._local_midnight(f.date_to + dt.timedelta(days=1)) - dt.timedelta(microseconds=1))
    return start, end


def _distinct_per_county(qs: QuerySet, region_field: str, amount_field: str | None = None) -> list[dict]:
    """(county, entity) pairs per county — a hash aggregation in two steps, much cheaper than
    COUNT(DISTINCT) per group."""
    if qs.query.is_empty():
        return []
    inner = qs.order_by().values(region_field, "entity_id")
    inner = inner.annotate(amount=Sum(amount_field)) if amount_field else inner.annotate(n=Count("pk"))
    sql, params = inner.query.sql_with_params()
    amount = ", sum(amount) AS amount" if amount_field else ""
    return _run(
        f"SELECT {region_field} AS region, count(*) AS n{amount} FROM ({sql}) pairs GROUP BY {region_field}",
        list(params),
    )


def _declarations_in_scope(user) -> QuerySet[DeclarationFact]:
    """The declaration index rows the user may see: a mechanism's region directly (what
    matching.restrictions.declaration_q says for government roles), through restrict()."""
    return restrict(DeclarationFact.objects.all(), user)


def activity(user, q: ReportQuery, *, version: str | None = None) -> dict[str, dict]:
    return _cached("activity", user, q, (), lambda: _activity_counts(user, q), version)


def _activity_counts(user, q: ReportQuery) -> dict[str, dict]:
    """Visited and declared entities (户, distinct county + entity) and declared amounts of the
    period by county: {county: {"visited", "declared", "declared_amount"}}. Empty where they
    do not apply (a branch filter, a bank's own view). A declaration counts in the period of
    its first submission."""
    f = q.filters
    scope = scope_for(user)
    if f.branch or (scope and scope.is_bank):
        return {}
    start, end = _local_range(q)
    out: dict[str, dict] = defaultdict(lambda: {"visited": 0, "declared": 0, "declared_amount": 0})
    if not f.bank:
        visits = restrict(Visit.objects.all(), user).filter(
            created_at__lte=end, visited_on__lte=timezone.localtime(end).date()
        )
        if f.date_from:
            visits = visits.filter(visited_on__gte=f.date_from)
        if f.region:
            visits = visits.filter(region_range_q(f.region, "region_id"))
        if q.as_of_given or not (scope and (scope.is_platform_admin or scope.is_government)):
            for row in _distinct_per_county(visits, "region_id"):
                out[row["region"]]["visited"] = row["n"]
        else:
            # today: an entity's first visit of the period is the one whose predecessor came before it
            index = restrict(VisitFact.objects.filter(visited_on__lte=timezone.localtime(end).date()), user)
            if f.date_from:
                index = index.filter(visited_on__gte=f.date_from)
            if f.region:
                index = index.filter(region_range_q(f.region, "region"))
            first = Q(prev_visited_on__isnull=True) | (
                Q(prev_visited_on__lt=f.date_from) if f.date_from else Q(pk__in=[])
            )
            for row in index.order_by().values("region").annotate(n=Count("pk", filter=first)):
                out[row["region"]]["visited"] = row["n"]
    declarations = _declarations_in_scope(user).filter(submitted_at__isnull=False, submitted_at__lte=end)
    if start:
        declarations = declarations.filter(submitted_at__gte=start)
    if f.region:
        declarations = declarations.filter(region_range_q(f.region, "region"))
    if f.bank:
        declarations = declarations.filter(
            Exists(DeclarationBank.objects.filter(declaration_id=OuterRef("pk"), bank__code=f.bank))
        )
        amounts = {row["region"]: row["amount"] for row in _need_amounts_per_county(declarations)}
        for row in _distinct_per_county(declarations, "region"):
            out[row["region"]].update(declared=row["n"], declared_amount=int(amounts.get(row["region"]) or 0))
    else:
        # an entity's first declaration of the period is the one whose predecessor came before it
        first = Q(prev_submitted_at__isnull=True) | (Q(prev_submitted_at__lt=start) if start else Q(pk__in=[]))
        # a 改推 whose need was already declared in the period: that need is counted once
        repeat = Q(prev_need_submitted_at__gte=start) if start else Q(prev_need_submitted_at__isnull=False)
        rows = (
            declarations.order_by()
            .values("region")
            .annotate(n=Count("pk", filter=first), amount=Sum("amount"), repeats=Count("pk", filter=repeat))
        )
        for row in rows:
            out[row["region"]].update(declared=row["n"], declared_amount=int(row["amount"] or 0))
        if any(row["repeats"] for row in rows):
            # the needs declared twice: their summed amounts out, each need's largest in
            repeated = declarations.filter(need_id__in=declarations.filter(repeat).values("need_id"))
            for row in repeated.order_by().values("region", "need_id").annotate(m=Max("amount"), n=Sum("amount")):
                out[row["region"]]["declared_amount"] += int(row["m"] or 0) - int(row["n"] or 0)
    return dict(out)


def _need_amounts_per_county(qs: QuerySet) -> list[dict]:
    """The declared amount per county, each need (a declaration and the 改推 continuing it)
    once at its largest amount."""
    if qs.query.is_empty():
        return []
    sql, params = qs.order_by().values("region", "need_id", "declaration_id", "amount").query.sql_with_params()
    needs = (
        f"SELECT region, coalesce(need_id, declaration_id) AS k, max(amount) AS m FROM ({sql}) d "
        "GROUP BY region, coalesce(need_id, declaration_id)"
    )
    return _run(f"SELECT region, sum(m) AS amount FROM ({needs}) n GROUP BY region", list(params))


def figures_with_activity(
    user, q: ReportQuery, dims: Sequence[str] = (), *, ratios: bool = False
) -> dict[str, dict[str, kpis.Figures]]:
    """figures() with visited / declared filled into the total, county and city rows."""
    version = data_version()  # read once for both cached parts
    result = figures(user, q, dims, ratios=ratios, version=version)
    scope = scope_for(user)
    if q.filters.branch or (scope and scope.is_bank):
        return result
    act = activity(user, q, version=version)
    rows = {"total": {"": kpis.Figures(visited=0 if not q.filters.bank else None, declared=0, declared_amount=0)}}
    for county, values in act.items():
        for dim, key in (("total", ""), ("county", county), ("city", county[:4] + "00")):
            target = rows.setdefault(dim, {}).setdefault(
                key, kpis.Figures(visited=0 if not q.filters.bank else None, declared=0, declared_amount=0)
            )
            if not q.filters.bank:
                target.visited += values["visited"]
            target.declared += values["declared"]
            target.declared_amount += values["declared_amount"]
    for dim in ("total", "county", "city"):
        if dim not in result:
            continue
        for key, values in rows.get(dim, {}).items():
            fig = result[dim].setdefault(key, kpis.Figures())
            fig.visited, fig.declared, fig.declared_amount = values.visited, values.declared, values.declared_amount
        for fig in result[dim].values():
            if fig.declared is None:
                fig.visited, fig.declared, fig.declared_amount = (0 if not q.filters.bank else None), 0, 0
    return result


# --- names ------------------------------------------------------------------------------------------------


def region_names(codes) -> dict[str, str]:
    return dict(Region.objects.filter(code__in=list(codes)).values_list("code", "name"))


def bank_names(ids) -> dict[str, str]:
    wanted = {int(i) for i in ids if str(i).isdigit()}
    return {str(bank.pk): bank.name for bank in bank_directory() if bank.pk in wanted} if wanted else {}


def bank_codes(ids) -> dict[int, str]:
    wanted = {int(i) for i in ids if str(i).isdigit()}
    return {bank.pk: bank.code for bank in bank_directory() if bank.pk in wanted} if wanted else {}


def branch_names(ids) -> dict[str, str]:
    return {
        str(pk): name
        for pk, name in BankBranch.objects.filter(pk__in=[int(i) for i in ids if str(i).isdigit()]).values_list(
            "pk", "name"
        )
    }


def scope_region_prefix(user, q: ReportQuery) -> str:
    """The region prefix the figures cover: the filter, else the actor's region, else Shanxi-wide ("")."""
    if q.filters.region:
        return q.filters.region
    scope = scope_for(user)
    return (scope.region_prefix if scope and scope.is_government else "") or ""


def scope_region_code(prefix: str) -> str | None:
    if not prefix:
        return None
    return prefix.ljust(6, "0")


def region_choices(user) -> list[tuple[str, str]]:
    """Regions the actor may filter by: his region and what lies below it (province, cities,
    counties), or the regions with ledger rows for banks and administrators."""
    scope = scope_for(user)
    if scope and scope.is_government and scope.region_prefix:
        qs = Region.objects.filter(region_range_q(scope.region_prefix, "code")).exclude(level=RegionLevel.TOWNSHIP)
        if len(scope.region_prefix) < 6:
            qs = qs | Region.objects.filter(code=scope.region_prefix.ljust(6, "0"))
    else:
        counties = set(
            restrict(Recommendation.objects.all(), user).order_by().values_list("region_id", flat=True).distinct()
        )
        codes = counties | {c[:4] + "00" for c in counties} | {c[:2] + "0000" for c in counties}
        qs = Region.objects.filter(code__in=codes)
    return [(r.code, ("　" * {"province": 0, "city": 1}.get(r.level, 2)) + r.name) for r in qs.order_by("code")]


def bank_choices(user) -> list[tuple[str, str]]:
    scope = scope_for(user)
    if scope and scope.is_bank:
        root = scope.organisation_path.strip("/").split("/")[0] if scope.organisation_path else None
        return list(Bank.objects.filter(organisation_id=root).values_list("code", "name")) if root else []
    return list(Bank.objects.order_by("name").values_list("code", "name"))


def branch_choices(user) -> list[tuple[int, str]]:
    scope = scope_for(user)
    if not scope or not scope.is_bank:
        return []
    return list(
        BankBranch.objects.filter(organisation__path__startswith=scope.organisation_path)
        .order_by("organisation__path")
        .values_list("pk", "name")
    )


# --- bank-reported figures (一高一提一降, 无还本续贷) ----------------------------------------------------------


def bank_report_list(*, user, params: Mapping | None = None) -> QuerySet[BankPeriodReport]:
    qs = restrict(BankPeriodReport.objects.select_related("bank", "branch", "region", "submitted_by"), user).filter(
        is_current=True
    )
    params = params or {}
    if _first(params, "bank"):
        qs = qs.filter(bank__code=_first(params, "bank"))
    if _first(params, "period"):
        try:
            start, end = ledger.period_range(_first(params, "period"))
        except ValueError:
            raise ApplicationError(
                "期间格式应为 YYYY、YYYY-MM 或 YYYY-Qn", field_errors={"period": ["期间格式错误"]}
            ) from None
        qs = qs.filter(period__gte=start, period__lte=end)
    return qs.order_by("-period", "bank__name", "branch__name")


def _reports_as_of(user, q: ReportQuery, start: dt.date, end: dt.date) -> QuerySet[BankPeriodReport]:
    """The version of each branch's monthly figures current at the as-of moment."""
    f = q.filters
    qs = restrict(BankPeriodReport.objects.all(), user).filter(
        period__gte=start, period__lte=end, submitted_at__lte=q.as_of
    )
    if f.region:
        qs = qs.filter(region_range_q(f.region, "region_id"))
    if f.bank:
        qs = qs.filter(bank__code=f.bank)
    if f.branch:
        path = BankBranch.objects.filter(pk=f.branch).values_list("organisation__path", flat=True).first()
        qs = qs.filter(branch__organisation__path__startswith=path) if path else qs.none()
    newer = BankPeriodReport.objects.filter(
        branch=OuterRef("branch"),
        period=OuterRef("period"),
        submitted_at__lte=q.as_of,
        submitted_at__gt=OuterRef("submitted_at"),
    )
    return qs.exclude(Exists(newer))


def monthly_balances(
    user, q: ReportQuery, start: dt.date, end: dt.date, *, by: str | None = None
) -> dict[str, list[kpis.Balances]]:
    """Per month in [start, end] (first days), the sums of the reported figures over the scope,
    optionally split by "bank"; {"": [...]} without a split."""
    latest = _reports_as_of(user, q, start, end)
    rows = (
        BankPeriodReport.objects.filter(pk__in=latest.values("pk"))
        .values("period", *(["bank_id"] if by == "bank" else []))
        .annotate(
            sb=Sum("small_business_balance"),
            all=Sum("all_loans_balance"),
            credit=Sum("credit_loan_balance"),
            rate_w=Sum(F("average_rate") * F("small_business_balance")),
            rc=Sum("renewals_count"),
            ra=Sum("renewals_amount"),
            rb=Sum("renewal_balance"),
            n=Count("id"),
        )
        .order_by("period")
    )
    out: dict[str, list[kpis.Balances]] = defaultdict(list)
    for r in rows:
        key = str(r.get("bank_id", "")) if by == "bank" else ""
        out[key].append(
            kpis.Balances(
                month=r["period"],
                small_business=r["sb"] or 0,
                all_loans=r["all"] or 0,
                credit_loans=r["credit"] or 0,
                rate_weighted=Decimal(r["rate_w"] or 0),
                renewals_count=r["rc"] or 0,
                renewals_amount=r["ra"] or 0,
                renewal_balance=r["rb"] or 0,
                reporters=r["n"],
            )
        )
    return dict(out)


def _month_floor(day: dt.date) -> dt.date:
    return day.replace(day=1)


def _period_months(q: ReportQuery) -> tuple[dt.date, dt.date]:
    f = q.filters
    as_of_day = timezone.localtime(q.as_of).date()
    end = min(f.date_to or as_of_day, as_of_day)
    start = f.date_from or dt.date(end.year, 1, 1)
    return _month_floor(start), _month_floor(end)


def one_high(user, q: ReportQuery) -> dict:
    """一高一提一降 of the period: the monthly trend since the previous year-end and the verdicts.
    Kept while unchanged (kept_beside_the_index)."""
    return kept_beside_the_index("one_high", user, q, lambda: _one_high(user, q))


def _one_high(user, q: ReportQuery) -> dict:
    """one_high() computed (kept by it while unchanged)."""
    start, end = _period_months(q)
    base_month = dt.date(start.year - 1, 12, 1)
    series = monthly_balances(user, q, base_month, end).get("", [])
    base = next((b for b in series if b.month == base_month), None)
    months = [b for b in series if b.month >= start]
    latest = months[-1] if months else None
    return {
        "trend": kpis.one_high_trend(months, base),
        "base_month": base_month.strftime("%Y-%m"),
        "has_base": base is not None,
        "base_small_business": base.small_business if base is not None else None,
        "verdict": kpis.one_high_verdict(latest, base, months[0] if months else None),
        "latest": kpis.one_high_trend([latest], base)[0] if latest else None,
    }


def _recorded_renewals(user, q: ReportQuery, start: dt.date, end: dt.date) -> dict[str, dict]:
    """The renewal needs (entities.Renewal) the banks recorded as 无还本续贷已续 in the period,
    by reporting bank id: count and amount, over the needs the user may read."""
    f = q.filters
    as_of_day = timezone.localtime(q.as_of).date()
    last_day = (end.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
    qs = restrict(Renewal.objects.all(), user, VIEW).filter(
        status=RenewalStatus.RENEWED,
        outcome_on__gte=start,
        outcome_on__lte=min(last_day, as_of_day),
        recorded_at__lte=q.as_of,
        outcome_recorded_at__lte=q.as_of,  # what was known at the as-of moment
    )
    if f.region:
        qs = qs.filter(region_range_q(f.region, "entity__region_id"))
    if f.bank:
        qs = qs.filter(bank__code=f"bank-{f.bank}")
    by_org = {r["bank_id"]: r for r in qs.values("bank_id").annotate(n=Count("id"), amount=Sum("amount"))}
    return {
        str(bank.pk): {
            "count": by_org[bank.organisation_id]["n"],
            "amount": by_org[bank.organisation_id]["amount"] or 0,
        }
        for bank in (bank_directory() if by_org else [])
        if bank.organisation_id in by_org
    }


def renewal_swing_threshold() -> Decimal:
    """The month-on-month change of a bank's reported 无还本续贷余额 (percent) above which it is
    flagged for follow-up (settings.RENEWAL_SWING_THRESHOLD_PERCENT)."""
    return Decimal(str(settings.RENEWAL_SWING_THRESHOLD_PERCENT))


def renewals(user, q: ReportQuery) -> list[dict]:
    """中小微企业无还本续贷情况统计表 by bank over the period. Where the banks recorded outcomes of
    their customers' renewal needs (应续尽续), the count and amount come from those records, with the
    bank-reported totals (sums of the months) beside them and the difference; the balance is the
    period's last reported month. A balance that moved more than the threshold against the
    month before is flagged (002 3: "按季度监测银行机构无还本续贷余额情况，对出现异常波动的银行机构
    及时进行跟踪"). Kept while unchanged (kept_beside_the_index)."""
    threshold = renewal_swing_threshold()
    return kept_beside_the_index("renewals", user, q, lambda: _renewals(user, q, threshold), extra=(threshold,))


def _renewals(user, q: ReportQuery, threshold: Decimal) -> list[dict]:
    """renewals() computed (kept by it while unchanged)."""
    start, end = _period_months(q)
    previous = (start - dt.timedelta(days=1)).replace(day=1)
    by_bank = monthly_balances(user, q, previous, end, by="bank")
    recorded = _recorded_renewals(user, q, start, end)
    names = bank_names(set(by_bank) | set(recorded))
    rows = []
    for bank_id in set(by_bank) | set(recorded):
        all_months = by_bank.get(bank_id, [])
        months = [m for m in all_months if m.month >= start]
        last = months[-1] if months else None
        before = [m for m in all_months if last is not None and m.month < last.month]
        prior = (
            before[-1] if before and before[-1].month == (last.month - dt.timedelta(days=1)).replace(day=1) else None
        )
        swing = None
        if last is not None and prior is not None and prior.renewal_balance:
            swing = Decimal(last.renewal_balance - prior.renewal_balance) * 100 / Decimal(prior.renewal_balance)
        reported_count = sum(m.renewals_count for m in months)
        reported_amount = sum(m.renewals_amount for m in months)
        mine = recorded.get(bank_id)
        rows.append(
            {
                "bank_id": bank_id,
                "name": names.get(bank_id, bank_id),
                "has_records": mine is not None,
                "recorded_count": mine["count"] if mine else None,
                "recorded_amount": mine["amount"] if mine else None,
                "reported_count": reported_count,
                "reported_amount": reported_amount,
                "count_difference": mine["count"] - reported_count if mine else None,
                "amount_difference": mine["amount"] - reported_amount if mine else None,
                # the table's count and amount: the records where they exist, else the reports
                "renewals_count": mine["count"] if mine else reported_count,
                "renewals_amount": mine["amount"] if mine else reported_amount,
                "renewal_balance": last.renewal_balance if last else 0,
                "small_business": last.small_business if last else 0,
                "last_month": last.month.strftime("%Y-%m") if last else "",
                "swing": swing,
                "abnormal": swing is not None and abs(swing) > threshold,
            }
        )
    return sorted(rows, key=lambda r: (-r["renewals_amount"], r["name"]))


# --- renewals due and their outcomes (应续尽续), as of a moment -------------------------------------

RENEWAL_WINDOWS = (30, 60, 90)
# the dashboard's renewal figures: name → label (the drill-down's title too)
RENEWAL_FIGURES = {
    "due_30": "30 天内到期待续贷",
    "due_60": "60 天内到期待续贷",
    "due_90": "90 天内到期待续贷",
    "past_due": "已到期未办结",
    "renewed": "无还本续贷已续",
    "renewed_other": "其他方式续贷",
    "repaid": "已还款",
    "refused": "拒绝续贷",
}
_OUTCOME_FIGURES = {
    "renewed": RenewalStatus.RENEWED,
    "renewed_other": RenewalStatus.RENEWED_OTHER,
    "repaid": RenewalStatus.REPAID,
    "refused": RenewalStatus.REFUSED,
}


def _renewals_scoped(user, q: ReportQuery) -> QuerySet[Renewal]:
    """The renewal needs the user may read, in the query's region and bank (a branch: its bank),
    recorded by the as-of moment."""
    f = q.filters
    qs = restrict(Renewal.objects.all(), user, VIEW).filter(recorded_at__lte=q.as_of)
    if f.region:
        qs = qs.filter(region_range_q(f.region, "entity__region_id"))
    if f.bank:
        qs = qs.filter(bank__code=f"bank-{f.bank}")
    if f.branch:
        qs = qs.filter(bank_id__in=BankBranch.objects.filter(pk=f.branch).values("bank__organisation_id"))
    return qs


def _pending_at(moment: dt.datetime) -> Q:
    return Q(outcome_recorded_at__isnull=True) | Q(outcome_recorded_at__gt=moment)


def _renewal_figure_q(q: ReportQuery, figure: str) -> Q:
    """The condition of one figure (RENEWAL_FIGURES) on a renewal need, as known at the as-of
    moment: due_N: still 待续贷 then and due within N days of the as-of date (today or later);
    past_due: still 待续贷 then and past due; an outcome: that outcome recorded by then, with its
    办结日期 in the period."""
    day = timezone.localtime(q.as_of).date()
    if figure == "past_due":
        return _pending_at(q.as_of) & Q(due_date__lt=day)
    if figure.startswith("due_"):
        days = int(figure.removeprefix("due_"))
        return _pending_at(q.as_of) & Q(due_date__gte=day, due_date__lte=day + dt.timedelta(days=days))
    f = q.filters
    condition = Q(status=_OUTCOME_FIGURES[figure], outcome_recorded_at__lte=q.as_of, outcome_on__lte=day)
    if f.date_from:
        condition &= Q(outcome_on__gte=f.date_from)
    if f.date_to:
        condition &= Q(outcome_on__lte=f.date_to)
    return condition


def renewal_records(user, q: ReportQuery, figure: str) -> QuerySet[Renewal]:
    """The renewal needs behind one figure (RENEWAL_FIGURES, `_renewal_figure_q`). Counted with
    the same condition by `renewal_figures`."""
    if figure not in RENEWAL_FIGURES:
        raise ApplicationError("未知的续贷指标", field_errors={"figure": ["未知的续贷指标"]})
    return _renewals_scoped(user, q).filter(_renewal_figure_q(q, figure))


def renewal_figures(user, q: ReportQuery) -> dict:
    """Per lending bank (its root organisation), the count and amount of each renewal figure as of
    the moment (004 二(八) "应续尽续"), and the scope's total: {"banks": [row], "total": row}; a row
    is {"bank_id", "name", figure: count, figure + "_amount": 元}. One scan of the needs: each
    figure is a filtered aggregate of `_renewal_figure_q`, the drill-down's condition. Kept while
    unchanged (kept_beside_the_index)."""
    return kept_beside_the_index("renewal_figures", user, q, lambda: _renewal_figures(user, q))


def _renewal_figures(user, q: ReportQuery) -> dict:
    """renewal_figures() computed (kept by it while unchanged)."""
    aggregates = {}
    for figure in RENEWAL_FIGURES:
        condition = _renewal_figure_q(q, figure)
        aggregates[figure] = Count("id", filter=condition)
        aggregates[figure + "_amount"] = Coalesce(Sum("amount", filter=condition), 0)
    rows: dict[int, dict] = {}
    for r in _renewals_scoped(user, q).order_by().values("bank_id").annotate(**aggregates):
        if any(r[figure] for figure in RENEWAL_FIGURES):  # a bank with none of the figures: no row
            rows[r.pop("bank_id")] = r
    found = {
        b.organisation_id: {"name": b.name, "code": b.code}
        for b in (bank_directory() if rows else [])
        if b.organisation_id in rows
    }
    banks = [
        {
            "bank_id": org,
            "name": found.get(org, {}).get("name", str(org)),
            "bank_code": found.get(org, {}).get("code", ""),
            **row,
        }
        for org, row in rows.items()
    ]
    banks.sort(key=lambda r: (-r["due_90"], -r["renewed"], r["name"]))
    total = {k: sum(r[k] for r in banks) for k in (*RENEWAL_FIGURES, *(k + "_amount" for k in RENEWAL_FIGURES))}
    return {"banks": banks, "total": total}


# --- direct applications (直接申请, seed 002 point 5), counted apart --------------------------------

DIRECT_FIGURES = {
    "applications": "直接申请(笔)",
    "on_time": "5 个工作日内回复",
    "late": "超期回复或逾期未回复",
}


def direct_query(q: ReportQuery) -> ReportQuery:
    return replace(q, filters=replace(q.filters, origin=LeadOrigin.DIRECT))


def direct_figures(user, q: ReportQuery) -> dict[str, dict[str, kpis.Figures]]:
    """The direct applications' figures (the same statistics index and as-of rule as the 推荐清单's,
    origin=direct), in total and per bank."""
    return figures(user, direct_query(q), ["bank"])


def direct_application_ids(user, q: ReportQuery, figure: str) -> list[int]:
    """The ledger rows behind one direct-application figure (DIRECT_FIGURES) as of the moment,
    with the conditions of the figures' SQL (feedback_on_time, feedback_answered, feedback_open_late)."""
    if figure not in DIRECT_FIGURES:
        raise ApplicationError("未知的直接申请指标", field_errors={"figure": ["未知的直接申请指标"]})
    facts_qs = facts_queryset(user, direct_query(q))
    t = q.as_of
    if figure == "on_time":
        facts_qs = facts_qs.filter(feedback_due_at__isnull=False, feedback_at__lte=t).filter(
            Q(feedback_satisfied_at__isnull=False, feedback_satisfied_at__lte=F("feedback_due_at"))
            | Q(feedback_satisfied_at__isnull=True, feedback_at__lte=F("feedback_due_at"))
        )
    elif figure == "late":
        answered_late = Q(feedback_due_at__isnull=False, feedback_at__lte=t) & (
            Q(feedback_satisfied_at__isnull=False, feedback_satisfied_at__gt=F("feedback_due_at"))
            | Q(feedback_satisfied_at__isnull=True, feedback_at__gt=F("feedback_due_at"))
        )
        open_late = (
            (Q(feedback_at__isnull=True) | Q(feedback_at__gt=t))
            & Q(feedback_due_at__lt=t)
            & (Q(removed_at__isnull=True) | Q(removed_at__gt=t) | Q(removed_at__gt=F("feedback_due_at")))
        )
        facts_qs = facts_qs.filter(answered_late | open_late)
    parts = (facts_qs.current, facts_qs.versions) if isinstance(facts_qs, FactsAsOf) else (facts_qs,)
    return sorted({pk for part in parts for pk in part.values_list("recommendation_id", flat=True)})


# --- targets ------------------------------------------------------------------------------------------------


def target_list(*, user) -> QuerySet[Target]:
    return restrict(Target.objects.select_related("region", "set_by"), user).order_by("region_id", "-year", "metric")


def targets_progress(user, q: ReportQuery, total: kpis.Figures | None = None) -> list[dict]:
    """Targets of the scope's region for the period's year with the actual figure so far
    (``total``: the query's own total when the caller has it, saving its read). Kept while
    unchanged (kept_beside_the_index)."""
    return kept_beside_the_index("targets", user, q, lambda: _targets_progress(user, q, total))


def _targets_progress(user, q: ReportQuery, total: kpis.Figures | None) -> list[dict]:
    code = scope_region_code(scope_region_prefix(user, q)) or "140000"
    year = q.year
    targets = list(restrict(Target.objects.filter(region_id=code, year=year).select_related("region"), user))
    if not targets:
        return []
    region_q = replace(
        q,
        filters=replace(
            q.filters, region=code.rstrip("0") if code.endswith("0000") else code[:4] if code.endswith("00") else code
        ),
    )
    year_q = replace(
        region_q,
        filters=replace(
            region_q.filters, period=str(year), date_from=dt.date(year, 1, 1), date_to=dt.date(year, 12, 31)
        ),
    )
    out = []
    trend = None  # the year's 一高 trend, read once for the targets that need it
    for target in targets:
        actual = None
        if target.metric in (TargetMetric.SME_NET_INCREASE, TargetMetric.CREDIT_LOAN_SHARE):
            trend = trend if trend is not None else one_high(user, year_q)
            latest, base = trend["latest"], trend["base_small_business"]
            if latest:
                if target.metric == TargetMetric.CREDIT_LOAN_SHARE:
                    actual = latest["credit_loan_share"]
                elif base is not None:  # the net increase since the previous year-end (the trend's base)
                    actual = latest["small_business"] - base
        else:
            fig = (
                total
                if total is not None and q.filters.period == str(year) and not q.filters.bank
                else figures(user, year_q)["total"][""]
            )
            actual = fig.credit_amount if target.metric == TargetMetric.CREDITED_AMOUNT else fig.disbursed_amount
        percent_metric = target.metric == TargetMetric.CREDIT_LOAN_SHARE
        out.append(
            {
                "metric": target.metric,
                "label": target.get_metric_display().replace("(元)", "").replace("(%)", ""),
                "region": target.region.name,
                "year": year,
                "target": float(target.value),
                "actual": float(actual) if actual is not None else None,
                "unit": "%" if percent_metric else "万元",
                "target_display": f"{target.value:.1f}%" if percent_metric else f"{kpis.wan(target.value):,.2f} 万元",
                "actual_display": (
                    "—" if actual is None else f"{actual:.1f}%" if percent_metric else f"{kpis.wan(actual):,.2f} 万元"
                ),
                "progress": kpis.target_progress(target.value, actual),
                "note": target.note,
            }
        )
    return out


# --- scheduled reports -----------------------------------------------------------------------------------


def scheduled_report_list(*, user) -> QuerySet[ScheduledReport]:
    return restrict(ScheduledReport.objects.select_related("organisation", "region"), user).order_by(
        "-created_at", "-id"
    )


def scheduled_report_get(*, user, pk: int) -> ScheduledReport | None:
    return scheduled_report_list(user=user).filter(pk=pk).first()
