"""Keeping the statistics index (LedgerFact) in step with the event history.

`sync()` runs before every read of figures: it folds the events recorded since the last
sync (by event id) into the index rows of their recommendations — set-based SQL on
PostgreSQL, kpis.fold in Python elsewhere — and re-reads clocks whose due dates are still
provisional (they move when an administrator enters a calendar year). The watermark lags
two minutes behind the newest event, so an event whose transaction commits after a later
one's is folded too; folding is idempotent (each row is recomputed from all its events).
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable

from django.db import connection, transaction
from django.db.models import Max, Min
from django.utils import timezone

from matching.models import ClockKind, DeadlineClock, Declaration, Recommendation, WorkflowEvent
from reporting import kpis
from reporting.models import DeclarationFact, FactWatermark, LedgerFact

SETTLE = dt.timedelta(minutes=2)
LOCK_KEY = 0x5EB0_0001  # pg advisory lock of the index sync
WATERMARK = "ledger"

_FIELDS = [
    "entity_id", "declaration_id", "region", "bank_id", "branch_id", "branch_path", "pushed_at", "pushed_month", "need_amount",
    "contacted_at", "feedback_at", "materials_at", "decision_at", "approved_at", "declined_at", "not_drawn_at",
    "removed_at", "rated_at", "credit_amount", "rate_percent", "term_months", "is_credit_loan", "is_first_loan", "score",
    "disbursed_total", "disbursement_count", "first_disbursed_at", "last_disbursed_at", "feedback_due_at",
    "feedback_satisfied_at", "decision_due_at", "decision_satisfied_at", "clock_provisional", "last_event_id",
]


def _k(name: str) -> str:
    return f"'{getattr(kpis, name)}'"


_REFRESH_SQL = f"""
INSERT INTO reporting_ledgerfact (recommendation_id, {", ".join(_FIELDS)})
SELECT r.id, r.entity_id, r.declaration_id, r.region_id, r.bank_id, r.branch_id, o.path, r.pushed_at,
    (extract(year FROM r.pushed_at AT TIME ZONE %(tz)s) * 100 + extract(month FROM r.pushed_at AT TIME ZONE %(tz)s))::int, d.amount,
    ev.contacted_at, ev.feedback_at, ev.materials_at, ev.decision_at, ev.approved_at, ev.declined_at, ev.not_drawn_at,
    ev.removed_at, ev.rated_at, ev.credit_amount, ev.rate_percent, ev.term_months,
    coalesce(ev.is_credit_loan, false), coalesce(ev.is_first_loan, false), ev.score,
    coalesce(ev.disbursed_total, 0), coalesce(ev.disbursement_count, 0), ev.first_disbursed_at, ev.last_disbursed_at,
    fc.due_at, fc.satisfied_at, dc.due_at, dc.satisfied_at,
    coalesce(fc.provisional, false) OR coalesce(dc.provisional, false), coalesce(ev.last_event_id, 0)
FROM matching_recommendation r
JOIN matching_declaration d ON d.id = r.declaration_id
JOIN products_bankbranch b ON b.id = r.branch_id
JOIN portal_organisation o ON o.id = b.organisation_id
LEFT JOIN (
    SELECT e.recommendation_id,
        min(e.created_at) FILTER (WHERE e.kind = {_k('CONTACTED')}) AS contacted_at,
        min(e.created_at) FILTER (WHERE e.kind IN ({_k('CONTACTED')}, {_k('DECLINED')})) AS feedback_at,
        min(e.created_at) FILTER (WHERE e.kind = {_k('MATERIALS')}) AS materials_at,
        min(e.created_at) FILTER (WHERE e.kind IN ({_k('APPROVED')}, {_k('DECLINED')})) AS decision_at,
        min(e.created_at) FILTER (WHERE e.kind = {_k('APPROVED')}) AS approved_at,
        min(e.created_at) FILTER (WHERE e.kind = {_k('DECLINED')}) AS declined_at,
        min(e.created_at) FILTER (WHERE e.kind = {_k('NOT_DRAWN')}) AS not_drawn_at,
        min(e.created_at) FILTER (WHERE e.kind = {_k('REMOVED')}) AS removed_at,
        min(e.created_at) FILTER (WHERE e.kind = {_k('RATED')}) AS rated_at,
        max((e.data ->> 'credit_amount')::bigint) FILTER (WHERE e.kind = {_k('APPROVED')}) AS credit_amount,
        max((e.data ->> 'rate_percent')::numeric) FILTER (WHERE e.kind = {_k('APPROVED')}) AS rate_percent,
        max((e.data ->> 'term_months')::int) FILTER (WHERE e.kind = {_k('APPROVED')}) AS term_months,
        bool_or((e.data ->> 'is_credit_loan')::boolean) FILTER (WHERE e.kind = {_k('APPROVED')}) AS is_credit_loan,
        bool_or((e.data ->> 'is_first_loan')::boolean) FILTER (WHERE e.kind = {_k('APPROVED')}) AS is_first_loan,
        max((e.data ->> 'score')::int) FILTER (WHERE e.kind = {_k('RATED')}) AS score,
        sum((e.data ->> 'amount')::bigint) FILTER (WHERE e.kind = {_k('DISBURSED')}) AS disbursed_total,
        count(*) FILTER (WHERE e.kind = {_k('DISBURSED')}) AS disbursement_count,
        min(e.created_at) FILTER (WHERE e.kind = {_k('DISBURSED')}) AS first_disbursed_at,
        max(e.created_at) FILTER (WHERE e.kind = {_k('DISBURSED')}) AS last_disbursed_at,
        max(e.id) AS last_event_id
    FROM matching_workflowevent e
    WHERE e.recommendation_id IS NOT NULL {{event_filter}}
    GROUP BY e.recommendation_id
) ev ON ev.recommendation_id = r.id
LEFT JOIN matching_deadlineclock fc ON fc.recommendation_id = r.id AND fc.kind = '{ClockKind.FEEDBACK.value}'
LEFT JOIN matching_deadlineclock dc ON dc.recommendation_id = r.id AND dc.kind = '{ClockKind.DECISION.value}'
{{rec_filter}}
ON CONFLICT (recommendation_id) DO UPDATE SET {", ".join(f"{name} = EXCLUDED.{name}" for name in _FIELDS)}
"""


_DECLARATION_SQL = f"""
INSERT INTO reporting_declarationfact (declaration_id, entity_id, region, amount, submitted_at)
SELECT d.id, d.entity_id, d.region_id, d.amount,
    (SELECT min(e.created_at) FROM matching_workflowevent e
     WHERE e.declaration_id = d.id AND e.kind IN ({", ".join(f"'{k}'" for k in kpis.DECLARATION_KINDS)}))
FROM matching_declaration d {{filter}}
ON CONFLICT (declaration_id) DO UPDATE SET entity_id = EXCLUDED.entity_id, region = EXCLUDED.region,
    amount = EXCLUDED.amount, submitted_at = EXCLUDED.submitted_at
"""


def _refresh_postgresql(ids: list[int] | None, declaration_ids: list[int] | None) -> int:
    tz = timezone.get_default_timezone_name()
    with connection.cursor() as cursor:
        if ids is None:
            cursor.execute("SET LOCAL work_mem = '256MB'")
            cursor.execute(_REFRESH_SQL.format(event_filter="", rec_filter=""), {"tz": tz})
            count = cursor.rowcount
            cursor.execute(_DECLARATION_SQL.format(filter=""))
            return count
        cursor.execute(
            _REFRESH_SQL.format(event_filter="AND e.recommendation_id = ANY(%(ids)s)", rec_filter="WHERE r.id = ANY(%(ids)s)"),
            {"tz": tz, "ids": ids},
        )
        count = cursor.rowcount
        if declaration_ids:
            cursor.execute(_DECLARATION_SQL.format(filter="WHERE d.id = ANY(%(ids)s)"), {"ids": declaration_ids})
        return count


def fact_values(rec: Recommendation, events: Iterable[WorkflowEvent], clocks: Iterable[DeadlineClock]) -> dict:
    """The index row of one recommendation (the Python form of _REFRESH_SQL)."""
    events = list(events)
    values = kpis.fold(kpis.Event(e.kind, e.created_at, e.data or {}) for e in events)
    by_kind = {c.kind: c for c in clocks}
    feedback, decision = by_kind.get(ClockKind.FEEDBACK), by_kind.get(ClockKind.DECISION)
    values.update(
        entity_id=rec.entity_id, declaration_id=rec.declaration_id, region=rec.region_id, bank_id=rec.bank_id,
        branch_id=rec.branch_id, branch_path=rec.branch.organisation.path, pushed_at=rec.pushed_at,
        pushed_month=int(timezone.localtime(rec.pushed_at).strftime("%Y%m")),
        need_amount=rec.declaration.amount,
        feedback_due_at=feedback.due_at if feedback else None, feedback_satisfied_at=feedback.satisfied_at if feedback else None,
        decision_due_at=decision.due_at if decision else None, decision_satisfied_at=decision.satisfied_at if decision else None,
        clock_provisional=bool((feedback and feedback.provisional) or (decision and decision.provisional)),
        last_event_id=max((e.pk for e in events), default=0),
    )
    return values


def _refresh_declarations_python(ids: list[int] | None) -> None:
    declarations = Declaration.objects.order_by("id")
    if ids is not None:
        declarations = declarations.filter(pk__in=ids)
    firsts = dict(
        WorkflowEvent.objects.filter(kind__in=kpis.DECLARATION_KINDS, **({"declaration_id__in": ids} if ids is not None else {}))
        .values("declaration_id").annotate(first=Min("created_at")).values_list("declaration_id", "first")
    )
    for d in declarations.iterator(chunk_size=1000):
        DeclarationFact.objects.update_or_create(declaration_id=d.pk, defaults={
            "entity_id": d.entity_id, "region": d.region_id, "amount": d.amount, "submitted_at": firsts.get(d.pk)})


def _refresh_python(ids: list[int] | None, declaration_ids: list[int] | None) -> int:
    if ids is None or declaration_ids:
        _refresh_declarations_python(None if ids is None else declaration_ids)
    recs = Recommendation.objects.select_related("declaration", "branch__organisation").order_by("id")
    if ids is not None:
        recs = recs.filter(pk__in=ids)
    count = 0
    for chunk in _chunks(recs.iterator(chunk_size=500), 500):
        chunk_ids = [r.pk for r in chunk]
        events, clocks = defaultdict(list), defaultdict(list)
        for e in WorkflowEvent.objects.filter(recommendation_id__in=chunk_ids).only("id", "kind", "created_at", "data", "recommendation_id"):
            events[e.recommendation_id].append(e)
        for c in DeadlineClock.objects.filter(recommendation_id__in=chunk_ids):
            clocks[c.recommendation_id].append(c)
        for rec in chunk:
            LedgerFact.objects.update_or_create(recommendation_id=rec.pk, defaults=fact_values(rec, events[rec.pk], clocks[rec.pk]))
            count += 1
    return count


def _chunks(iterable, size):
    chunk = []
    for item in iterable:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def refresh(ids: Iterable[int] | None = None, declaration_ids: Iterable[int] | None = None) -> int:
    """Recompute the index rows of the given recommendations and declarations (all when ids
    is None)."""
    ids = None if ids is None else sorted(set(ids))
    declaration_ids = sorted(set(declaration_ids or ()))
    if ids == [] and not declaration_ids:
        return 0
    if connection.vendor == "postgresql":
        return _refresh_postgresql(ids, declaration_ids)
    return _refresh_python(ids, declaration_ids)


def sync(*, full: bool = False) -> int:
    """Fold pending events into the index; returns the number of rows recomputed."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])
        mark, _ = FactWatermark.objects.select_for_update().get_or_create(name=WATERMARK)
        newest = WorkflowEvent.objects.aggregate(m=Max("id"))["m"] or 0
        if full or (mark.last_event_id == 0 and newest):
            done = refresh(None)
            mark.generation += 1
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("ANALYZE reporting_ledgerfact, reporting_declarationfact")
        else:
            new = WorkflowEvent.objects.filter(id__gt=mark.last_event_id)
            pending = set(new.filter(recommendation_id__isnull=False).values_list("recommendation_id", flat=True).distinct())
            pending |= set(LedgerFact.objects.filter(clock_provisional=True).values_list("recommendation_id", flat=True))
            declarations = set(new.filter(kind__in=kpis.DECLARATION_KINDS).values_list("declaration_id", flat=True).distinct())
            done = refresh(pending, declarations)
        settled = (
            WorkflowEvent.objects.filter(id__gt=mark.last_event_id, created_at__lt=timezone.now() - SETTLE).aggregate(m=Max("id"))["m"]
        )
        if settled:
            mark.last_event_id = settled
        mark.synced_at = timezone.now()
        mark.save()
        return done
