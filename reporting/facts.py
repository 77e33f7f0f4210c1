"""Keeping the statistics index (LedgerFact, DeclarationFact, VisitFact) in step with the
event history. Maintained by the writes, never by a read:

- every write that records workflow events or visits, or moves clocks' due moments, says so
  (matching.hooks.ledger_changed: `matching.workflow.record`, the one writer of an action's
  event, visits, the deadline scan, the recompute of provisional due dates), and reporting registers
      `sync_after_commit()`
  there: one `sync()` runs right after the transaction commits, in the same request or task,
  so the figures read after a write include it;
- the beat task `reporting.tasks.sync_facts` (every minute) folds whatever a write could not
  (a sync that failed after its commit, rows written in bulk without the hook, events
  settling past the watermark); `manage.py reporting_reindex` does it by hand.

Reads (reporting.selectors) only read the index; a GET writes nothing.

Each row also names its need (`need_id`: the declaration that first stated it, found by
following 改推 back along `Declaration.redirected_from`; a declaration's rows share it), so
the statistics count a need once however many banks it went to.

`sync()` folds the events recorded since the last sync (by event id) into the index rows of
their recommendations — set-based SQL on PostgreSQL, kpis.fold in Python elsewhere — and
re-reads clocks whose due dates are still provisional (they move when an administrator
enters a calendar year). The watermark lags two minutes behind the newest event, so an event
whose transaction commits after a later one's is folded too; folding is idempotent (each row
is recomputed from all its events). Syncs are serialised by an advisory lock and read
committed data only, so two writes committing at once are both folded.

On PostgreSQL the three tables are partitioned by province (reporting.partitions): the
upserts name a row's id and region (its key there), and a province written for the first
time gets its own tables at the end of the sync that wrote it.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from contextlib import nullcontext

from django.db import connection, transaction
from django.db.models import CharField, Count, F, Max, Min, Value
from django.db.models.functions import Concat, Substr
from django.utils import timezone

from matching.models import ClockKind, DeadlineClock, Declaration, Recommendation, Visit, WorkflowEvent
from reporting import kpis, partitions
from reporting.models import DeclarationFact, FactWatermark, LedgerFact, LedgerFactVersion, VisitFact

SETTLE = dt.timedelta(minutes=2)
LOCK_KEY = 0x5EB0_0001  # pg advisory lock of the index sync
WATERMARK = "ledger"

# what the index holds of each lead beyond its keys: the facts the KPIs fold (the statistics
# selectors read these columns, reporting.selectors)
FACT_COLUMNS = (
    "need_amount",
    "need_id",
    "contacted_at",
    "feedback_at",
    "materials_at",
    "decision_at",
    "approved_at",
    "declined_at",
    "not_drawn_at",
    "removed_at",
    "rated_at",
    "credit_amount",
    "rate_percent",
    "term_months",
    "is_credit_loan",
    "is_first_loan",
    "score",
    "disbursed_total",
    "disbursement_count",
    "first_disbursed_at",
    "last_disbursed_at",
    "feedback_due_at",
    "feedback_satisfied_at",
    "decision_due_at",
    "decision_satisfied_at",
)
_FIELDS = [
    "entity_id",
    "declaration_id",
    "region",
    "bank_id",
    "branch_id",
    "branch_path",
    "pushed_at",
    "pushed_month",
    "origin",
    *FACT_COLUMNS,
    "clock_provisional",
    "last_event_id",
]


def _k(name: str) -> str:
    return f"'{getattr(kpis, name)}'"


# The need of each declaration of {base} (a query of declaration ids): the declaration that
# first stated it, reached by following 改推 (redirected_from: the declined recommendation a
# re-recommendation follows) back to a declaration that follows none.
_NEEDS_CTE = """up(start_id, id, parent_id) AS (
    SELECT d.id, d.id, pr.declaration_id
    FROM matching_declaration d LEFT JOIN matching_recommendation pr ON pr.id = d.redirected_from_id
    WHERE d.id IN ({base})
  UNION ALL
    SELECT up.start_id, d.id, pr.declaration_id
    FROM up JOIN matching_declaration d ON d.id = up.parent_id
    LEFT JOIN matching_recommendation pr ON pr.id = d.redirected_from_id
), needs AS (SELECT start_id, id AS need_id FROM up WHERE parent_id IS NULL)"""


def need_roots(declaration_ids: Iterable[int]) -> dict[int, int]:
    """{declaration id: the id of the declaration that first stated its need} (the Python
    form of _NEEDS_CTE): one query per step back along the 改推 chains."""
    ids = list(declaration_ids)
    parents: dict[int, int | None] = {}
    pending = set(ids)
    while pending:
        rows = Declaration.objects.filter(pk__in=pending).values_list("pk", "redirected_from__declaration_id")
        pending = set()
        for pk, parent in rows:
            parents[pk] = parent
            if parent is not None and parent not in parents:
                pending.add(parent)

    def root(pk: int) -> int:
        while parents.get(pk) is not None:
            pk = parents[pk]
        return pk

    return {pk: root(pk) for pk in ids}


_REFRESH_SQL = f"""
WITH RECURSIVE {_NEEDS_CTE.format(base="SELECT r.declaration_id FROM matching_recommendation r {rec_filter}")}
INSERT INTO reporting_ledgerfact (recommendation_id, {", ".join(_FIELDS)})
SELECT r.id, r.entity_id, r.declaration_id, r.region_id, r.bank_id, r.branch_id, o.path, r.pushed_at,
    (extract(year FROM r.pushed_at AT TIME ZONE %(tz)s) * 100 + extract(month FROM r.pushed_at AT TIME ZONE
        %(tz)s))::int, r.origin, d.amount, nr.need_id,
    ev.contacted_at, ev.feedback_at, ev.materials_at, ev.decision_at, ev.approved_at, ev.declined_at, ev.not_drawn_at,
    ev.removed_at, ev.rated_at, ev.credit_amount, ev.rate_percent, ev.term_months,
    coalesce(ev.is_credit_loan, false), coalesce(ev.is_first_loan, false), ev.score,
    coalesce(ev.disbursed_total, 0), coalesce(ev.disbursement_count, 0), ev.first_disbursed_at, ev.last_disbursed_at,
    fc.due_at, fc.satisfied_at, dc.due_at, dc.satisfied_at,
    coalesce(fc.provisional, false) OR coalesce(dc.provisional, false), coalesce(ev.last_event_id, 0)
FROM matching_recommendation r
JOIN matching_declaration d ON d.id = r.declaration_id
LEFT JOIN needs nr ON nr.start_id = d.id
JOIN products_bankbranch b ON b.id = r.branch_id
JOIN portal_organisation o ON o.id = b.organisation_id
LEFT JOIN (
    SELECT e.recommendation_id,
        min(e.created_at) FILTER (WHERE e.kind = {_k("CONTACTED")}) AS contacted_at,
        min(e.created_at) FILTER (WHERE e.kind IN ({_k("CONTACTED")}, {_k("DECLINED")})) AS feedback_at,
        min(e.created_at) FILTER (WHERE e.kind IN ({_k("MATERIALS")}, {_k("MATERIALS_AUTO")})) AS materials_at,
        min(e.created_at) FILTER (WHERE e.kind IN ({_k("APPROVED")}, {_k("DECLINED")})) AS decision_at,
        min(e.created_at) FILTER (WHERE e.kind = {_k("APPROVED")}) AS approved_at,
        min(e.created_at) FILTER (WHERE e.kind = {_k("DECLINED")}) AS declined_at,
        min(e.created_at) FILTER (WHERE e.kind = {_k("NOT_DRAWN")}) AS not_drawn_at,
        min(e.created_at) FILTER (WHERE e.kind = {_k("REMOVED")}) AS removed_at,
        min(e.created_at) FILTER (WHERE e.kind = {_k("RATED")}) AS rated_at,
        max((e.data ->> 'credit_amount')::bigint) FILTER (WHERE e.kind = {_k("APPROVED")}) AS credit_amount,
        max((e.data ->> 'rate_percent')::numeric) FILTER (WHERE e.kind = {_k("APPROVED")}) AS rate_percent,
        max((e.data ->> 'term_months')::int) FILTER (WHERE e.kind = {_k("APPROVED")}) AS term_months,
        bool_or((e.data ->> 'is_credit_loan')::boolean) FILTER (WHERE e.kind = {_k("APPROVED")}) AS is_credit_loan,
        bool_or((e.data ->> 'is_first_loan')::boolean) FILTER (WHERE e.kind = {_k("APPROVED")}) AS is_first_loan,
        max((e.data ->> 'score')::int) FILTER (WHERE e.kind = {_k("RATED")}) AS score,
        sum((e.data ->> 'amount')::bigint) FILTER (WHERE e.kind = {_k("DISBURSED")}) AS disbursed_total,
        count(*) FILTER (WHERE e.kind = {_k("DISBURSED")}) AS disbursement_count,
        min(e.created_at) FILTER (WHERE e.kind = {_k("DISBURSED")}) AS first_disbursed_at,
        max(e.created_at) FILTER (WHERE e.kind = {_k("DISBURSED")}) AS last_disbursed_at,
        max(e.id) AS last_event_id
    FROM matching_workflowevent e
    WHERE e.recommendation_id IS NOT NULL {{event_filter}}
    GROUP BY e.recommendation_id
) ev ON ev.recommendation_id = r.id
LEFT JOIN matching_deadlineclock fc ON fc.recommendation_id = r.id AND fc.kind = '{ClockKind.FEEDBACK.value}'
LEFT JOIN matching_deadlineclock dc ON dc.recommendation_id = r.id AND dc.kind = '{ClockKind.DECISION.value}'
{{rec_filter}}
ON CONFLICT (recommendation_id, region) DO UPDATE SET {", ".join(f"{name} = EXCLUDED.{name}" for name in _FIELDS)}
"""


_DECLARATION_SQL = f"""
WITH RECURSIVE {_NEEDS_CTE.format(base="SELECT d.id FROM matching_declaration d {filter}")}
INSERT INTO reporting_declarationfact (declaration_id, entity_id, region, amount, need_id, submitted_at)
SELECT d.id, d.entity_id, d.region_id, d.amount, nr.need_id,
    (SELECT min(e.created_at) FROM matching_workflowevent e
     WHERE e.declaration_id = d.id AND e.kind IN ({", ".join(f"'{k}'" for k in kpis.DECLARATION_KINDS)}))
FROM matching_declaration d LEFT JOIN needs nr ON nr.start_id = d.id {{filter}}
ON CONFLICT (declaration_id, region) DO UPDATE SET entity_id = EXCLUDED.entity_id,
    amount = EXCLUDED.amount, need_id = EXCLUDED.need_id, submitted_at = EXCLUDED.submitted_at
"""


_SIB = ("contacted_at", "approved_at", "first_disbursed_at", "removed_at", "declined_at", "not_drawn_at")

_GROUPS_SQL = f"""
WITH r AS (
    SELECT recommendation_id, declaration_id, pushed_at, is_first_loan, {", ".join(_SIB)},
        row_number() OVER (PARTITION BY declaration_id, pushed_at ORDER BY recommendation_id) AS rn
    FROM reporting_ledgerfact {{filter}}
), s AS (SELECT * FROM r WHERE rn = 2)
UPDATE reporting_ledgerfact f SET
    is_lead = (r.rn = 1),
    has_sibling = (r.rn = 1 AND s.recommendation_id IS NOT NULL),
    sib_first_loan = coalesce(r.rn = 1 AND s.is_first_loan, false),
    {", ".join(f"sib_{c} = CASE WHEN r.rn = 1 THEN s.{c} END" for c in _SIB)}
FROM r LEFT JOIN s ON s.declaration_id = r.declaration_id AND s.pushed_at = r.pushed_at
WHERE f.recommendation_id = r.recommendation_id
"""
_PREV_GROUP_SQL = """
WITH l AS (
    SELECT recommendation_id, CASE WHEN is_lead THEN
        lag(pushed_at) OVER (PARTITION BY entity_id, region, is_lead ORDER BY pushed_at, recommendation_id) END AS prev
    FROM reporting_ledgerfact {filter}
)
UPDATE reporting_ledgerfact f SET prev_group_pushed_at = l.prev
FROM l WHERE f.recommendation_id = l.recommendation_id AND f.prev_group_pushed_at IS DISTINCT FROM l.prev
"""
_PREV_DECLARATION_SQL = """
WITH d AS (
    SELECT declaration_id, CASE WHEN submitted_at IS NOT NULL THEN
        lag(submitted_at) OVER (PARTITION BY entity_id, region, submitted_at IS NULL ORDER BY submitted_at,
            declaration_id) END AS prev
    FROM reporting_declarationfact {filter}
)
UPDATE reporting_declarationfact f SET prev_submitted_at = d.prev
FROM d WHERE f.declaration_id = d.declaration_id AND f.prev_submitted_at IS DISTINCT FROM d.prev
"""
_PREV_NEED_SQL = """
WITH d AS (
    SELECT declaration_id, CASE WHEN submitted_at IS NOT NULL THEN
        lag(submitted_at) OVER (PARTITION BY need_id, submitted_at IS NULL ORDER BY submitted_at, declaration_id) END
        AS prev
    FROM reporting_declarationfact {filter}
)
UPDATE reporting_declarationfact f SET prev_need_submitted_at = d.prev
FROM d WHERE f.declaration_id = d.declaration_id AND f.prev_need_submitted_at IS DISTINCT FROM d.prev
"""


def _groups_postgresql(cursor, ids: list[int] | None, declaration_ids: list[int]) -> None:
    """Lead rows and siblings of the touched push groups; previous-group and previous-
    declaration moments of the touched entities."""
    if ids is None:
        cursor.execute(_GROUPS_SQL.format(filter=""))
        cursor.execute(_PREV_GROUP_SQL.format(filter=""))
        cursor.execute(_PREV_DECLARATION_SQL.format(filter=""))
        cursor.execute(_PREV_NEED_SQL.format(filter=""))
        return
    touched = (
        "WHERE declaration_id IN "
        "(SELECT declaration_id FROM reporting_ledgerfact WHERE recommendation_id = ANY(%(ids)s))"
    )
    cursor.execute(_GROUPS_SQL.format(filter=touched), {"ids": ids})
    entities = "WHERE entity_id IN (SELECT entity_id FROM reporting_ledgerfact WHERE recommendation_id = ANY(%(ids)s))"
    cursor.execute(_PREV_GROUP_SQL.format(filter=entities), {"ids": ids})
    if declaration_ids:
        entities = (
            "WHERE entity_id IN (SELECT entity_id FROM reporting_declarationfact WHERE declaration_id = ANY(%(ids)s))"
        )
        cursor.execute(_PREV_DECLARATION_SQL.format(filter=entities), {"ids": declaration_ids})
        needs = "WHERE need_id IN (SELECT need_id FROM reporting_declarationfact WHERE declaration_id = ANY(%(ids)s))"
        cursor.execute(_PREV_NEED_SQL.format(filter=needs), {"ids": declaration_ids})


def _refresh_postgresql(ids: list[int] | None, declaration_ids: list[int] | None) -> int:
    tz = timezone.get_default_timezone_name()
    with connection.cursor() as cursor:
        if ids is None:
            cursor.execute("SET LOCAL work_mem = '256MB'")
            cursor.execute(_REFRESH_SQL.format(event_filter="", rec_filter=""), {"tz": tz})
            count = cursor.rowcount
            cursor.execute(_DECLARATION_SQL.format(filter=""))
            _refold_corrected(None)
            _groups_postgresql(cursor, None, [])
            return count
        cursor.execute(
            _REFRESH_SQL.format(
                event_filter="AND e.recommendation_id = ANY(%(ids)s)", rec_filter="WHERE r.id = ANY(%(ids)s)"
            ),
            {"tz": tz, "ids": ids},
        )
        count = cursor.rowcount
        if declaration_ids:
            cursor.execute(_DECLARATION_SQL.format(filter="WHERE d.id = ANY(%(ids)s)"), {"ids": declaration_ids})
        _refold_corrected(ids)
        _groups_postgresql(cursor, ids, declaration_ids)
        return count


def fact_values(
    rec: Recommendation,
    events: Iterable[WorkflowEvent],
    clocks: Iterable[DeadlineClock],
    need_id: int | None = None,
) -> dict:
    """The index row of one recommendation (the Python form of _REFRESH_SQL); `need_id`: the
    declaration that first stated its need (need_roots), its own declaration by default."""
    events = list(events)
    values = kpis.fold(kpis.Event(e.kind, e.created_at, e.data or {}) for e in events)
    by_kind = {c.kind: c for c in clocks}
    feedback, decision = by_kind.get(ClockKind.FEEDBACK), by_kind.get(ClockKind.DECISION)
    values.update(
        entity_id=rec.entity_id,
        declaration_id=rec.declaration_id,
        region=rec.region_id,
        bank_id=rec.bank_id,
        branch_id=rec.branch_id,
        branch_path=rec.branch.organisation.path,
        pushed_at=rec.pushed_at,
        pushed_month=int(timezone.localtime(rec.pushed_at).strftime("%Y%m")),
        origin=rec.origin,
        need_amount=rec.declaration.amount,
        need_id=need_id if need_id is not None else rec.declaration_id,
        feedback_due_at=feedback.due_at if feedback else None,
        feedback_satisfied_at=feedback.satisfied_at if feedback else None,
        decision_due_at=decision.due_at if decision else None,
        decision_satisfied_at=decision.satisfied_at if decision else None,
        clock_provisional=bool((feedback and feedback.provisional) or (decision and decision.provisional)),
        last_event_id=max((e.pk for e in events), default=0),
    )
    return values


def _refresh_declarations_python(ids: list[int] | None) -> None:
    declarations = Declaration.objects.order_by("id")
    if ids is not None:
        declarations = declarations.filter(pk__in=ids)
    firsts = dict(
        WorkflowEvent.objects.filter(
            kind__in=kpis.DECLARATION_KINDS, **({"declaration_id__in": ids} if ids is not None else {})
        )
        .values("declaration_id")
        .annotate(first=Min("created_at"))
        .values_list("declaration_id", "first")
    )
    for chunk in _chunks(declarations.iterator(chunk_size=1000), 1000):
        roots = need_roots([d.pk for d in chunk])
        for d in chunk:
            DeclarationFact.objects.update_or_create(
                declaration_id=d.pk,
                defaults={
                    "entity_id": d.entity_id,
                    "region": d.region_id,
                    "amount": d.amount,
                    "need_id": roots[d.pk],
                    "submitted_at": firsts.get(d.pk),
                },
            )


def _groups_python(ids: list[int] | None, declaration_ids: list[int] | None) -> None:
    """The Python form of _groups_postgresql."""
    facts = LedgerFact.objects.all()
    if ids is not None:
        touched = LedgerFact.objects.filter(recommendation_id__in=ids)
        facts = facts.filter(entity_id__in=touched.values("entity_id"))
    groups: dict = defaultdict(list)
    for fact in facts.order_by("recommendation_id"):
        groups[(fact.declaration_id, fact.pushed_at)].append(fact)
    leads: dict = defaultdict(list)
    for rows in groups.values():
        lead, sibling = rows[0], (rows[1] if len(rows) > 1 else None)
        values = {
            "is_lead": True,
            "has_sibling": sibling is not None,
            "sib_first_loan": bool(sibling and sibling.is_first_loan),
        }
        values.update({f"sib_{c}": getattr(sibling, c) if sibling else None for c in _SIB})
        leads[(lead.entity_id, lead.region)].append((lead.pushed_at, lead.pk, values))
        for other in rows[1:]:
            LedgerFact.objects.filter(pk=other.pk).update(
                is_lead=False,
                has_sibling=False,
                sib_first_loan=False,
                prev_group_pushed_at=None,
                **{f"sib_{c}": None for c in _SIB},
            )
    for entries in leads.values():
        previous = None
        for pushed_at, pk, values in sorted(entries, key=lambda e: (e[0], e[1])):
            LedgerFact.objects.filter(pk=pk).update(prev_group_pushed_at=previous, **values)
            previous = pushed_at
    declarations = DeclarationFact.objects.filter(submitted_at__isnull=False)
    if ids is not None:
        declarations = declarations.filter(
            entity_id__in=DeclarationFact.objects.filter(declaration_id__in=list(declaration_ids or [])).values(
                "entity_id"
            )
        )
    by_entity: dict = defaultdict(list)
    by_need: dict = defaultdict(list)
    for d in declarations:
        by_entity[(d.entity_id, d.region)].append(d)
    needs = DeclarationFact.objects.filter(submitted_at__isnull=False)
    if ids is not None:
        needs = needs.filter(
            need_id__in=DeclarationFact.objects.filter(declaration_id__in=list(declaration_ids or [])).values("need_id")
        )
    for d in needs:
        by_need[d.need_id].append(d)
    for rows in by_entity.values():
        previous = None
        for d in sorted(rows, key=lambda d: (d.submitted_at, d.pk)):
            if d.prev_submitted_at != previous:
                DeclarationFact.objects.filter(pk=d.pk).update(prev_submitted_at=previous)
            previous = d.submitted_at
    for rows in by_need.values():
        previous = None
        for d in sorted(rows, key=lambda d: (d.submitted_at, d.pk)):
            if d.prev_need_submitted_at != previous:
                DeclarationFact.objects.filter(pk=d.pk).update(prev_need_submitted_at=previous)
            previous = d.submitted_at


def _refold_corrected(ids: list[int] | None) -> None:
    """The rows with a correction among their events, folded again by kpis.fold (the set-based
    SQL takes the first moment of each milestone; a correction takes one back or changes its
    values, which the reference fold applies in order). Corrections are rare: a few rows."""
    corrected = WorkflowEvent.objects.filter(kind__in=kpis.CORRECTION_KINDS)
    if ids is not None:
        corrected = corrected.filter(recommendation_id__in=ids)
    corrected_ids = sorted(set(corrected.values_list("recommendation_id", flat=True)))
    if corrected_ids:
        _fold_python(corrected_ids)


def keep_before_correction(recommendation_ids: list[int], moment: dt.datetime) -> None:
    """Registered in matching.hooks.CORRECTION_HOOKS: inside a correction's transaction, before
    it changes anything, keep the index rows of the corrected leads' push groups (a lead row
    carries its sibling's milestones) as the events recorded them until now, valid until the
    correction's moment (LedgerFactVersion). The figures as of an earlier moment read them."""
    declarations = Recommendation.objects.filter(pk__in=recommendation_ids).values("declaration_id")
    group = sorted(Recommendation.objects.filter(declaration_id__in=declarations).values_list("pk", flat=True))
    refresh(group)
    own = {"id", "recommendation", "valid_from", "valid_until"}
    columns = [f.attname for f in LedgerFactVersion._meta.concrete_fields if f.name not in own]
    for fact in LedgerFact.objects.filter(recommendation_id__in=group):
        since = LedgerFactVersion.objects.filter(recommendation_id=fact.pk).aggregate(last=Max("valid_until"))["last"]
        LedgerFactVersion.objects.create(
            recommendation_id=fact.pk,
            valid_from=since,
            valid_until=moment,
            **{c: getattr(fact, c) for c in columns},
        )


def _refresh_python(ids: list[int] | None, declaration_ids: list[int] | None) -> int:
    if ids is None or declaration_ids:
        _refresh_declarations_python(None if ids is None else declaration_ids)
    count = _fold_python(ids)
    _groups_python(ids, declaration_ids)
    return count


def _fold_python(ids: list[int] | None) -> int:
    """Fold the rows of the given recommendations (all when None) with kpis.fold."""
    recs = Recommendation.objects.select_related("declaration", "branch__organisation").order_by("id")
    if ids is not None:
        recs = recs.filter(pk__in=ids)
    count = 0
    for chunk in _chunks(recs.iterator(chunk_size=500), 500):
        chunk_ids = [r.pk for r in chunk]
        events, clocks = defaultdict(list), defaultdict(list)
        for e in WorkflowEvent.objects.filter(recommendation_id__in=chunk_ids).only(
            "id", "kind", "created_at", "data", "recommendation_id"
        ):
            events[e.recommendation_id].append(e)
        for c in DeadlineClock.objects.filter(recommendation_id__in=chunk_ids):
            clocks[c.recommendation_id].append(c)
        roots = need_roots({rec.declaration_id for rec in chunk})
        for rec in chunk:
            LedgerFact.objects.update_or_create(
                recommendation_id=rec.pk,
                defaults=fact_values(rec, events[rec.pk], clocks[rec.pk], roots[rec.declaration_id]),
            )
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


_VISITS_SQL = """
INSERT INTO reporting_visitfact (visit_id, entity_id, region, visited_on, created_at)
SELECT v.id, v.entity_id, v.region_id, v.visited_on, v.created_at FROM matching_visit v WHERE v.id > %(after)s
ON CONFLICT (visit_id, region) DO NOTHING
"""
_PREV_VISIT_SQL = """
WITH v AS (
    SELECT visit_id, lag(visited_on) OVER (PARTITION BY entity_id, region ORDER BY visited_on, visit_id) AS prev
    FROM reporting_visitfact {filter}
)
UPDATE reporting_visitfact f SET prev_visited_on = v.prev
FROM v WHERE f.visit_id = v.visit_id AND f.prev_visited_on IS DISTINCT FROM v.prev
"""


def _sync_visits(after: int) -> None:
    """Index the visits recorded after the watermark; re-chain their entities' visits."""

    new = Visit.objects.filter(id__gt=after)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(_VISITS_SQL, {"after": after})
            if after == 0:
                cursor.execute(_PREV_VISIT_SQL.format(filter=""))
            else:
                cursor.execute(
                    _PREV_VISIT_SQL.format(
                        filter="WHERE entity_id IN (SELECT entity_id FROM matching_visit WHERE id > %(after)s)"
                    ),
                    {"after": after},
                )
        return
    VisitFact.objects.bulk_create(
        [
            VisitFact(
                visit_id=v.pk,
                entity_id=v.entity_id,
                region=v.region_id,
                visited_on=v.visited_on,
                created_at=v.created_at,
            )
            for v in new
        ],
        ignore_conflicts=True,
    )
    chains: dict = defaultdict(list)
    for fact in VisitFact.objects.filter(entity_id__in=new.values("entity_id")):
        chains[(fact.entity_id, fact.region)].append(fact)
    for rows in chains.values():
        previous = None
        for fact in sorted(rows, key=lambda f: (f.visited_on, f.pk)):
            if fact.prev_visited_on != previous:
                VisitFact.objects.filter(pk=fact.pk).update(prev_visited_on=previous)
            previous = fact.visited_on


# --- is the index up to date? -------------------------------------------------------------------

_STATE_SQL = """
SELECT
    (SELECT last_event_id FROM reporting_factwatermark WHERE name = 'ledger') AS ledger_mark,
    (SELECT generation FROM reporting_factwatermark WHERE name = 'ledger') AS generation,
    (SELECT fingerprint FROM reporting_factwatermark WHERE name = 'ledger') AS fingerprint,
    (SELECT synced_at FROM reporting_factwatermark WHERE name = 'ledger') AS synced_at,
    (SELECT last_event_id FROM reporting_factwatermark WHERE name = 'visits') AS visits_mark,
    e.m AS event_max, e.n AS event_count, e.s AS event_settled,
    v.m AS visit_max, v.n AS visit_count, v.s AS visit_settled,
    (SELECT count(*) FROM matching_deadlineclock WHERE provisional) AS provisional_clocks,
    (SELECT count(*) FROM reporting_ledgerfact WHERE clock_provisional) AS provisional_facts
FROM
    (SELECT max(id) AS m, count(*) AS n, max(CASE WHEN created_at < %(settled)s THEN id END) AS s FROM
        matching_workflowevent
     WHERE id > coalesce((SELECT last_event_id FROM reporting_factwatermark WHERE name = 'ledger'), 0)) e,
    (SELECT max(id) AS m, count(*) AS n, max(CASE WHEN created_at < %(settled)s THEN id END) AS s FROM matching_visit
     WHERE id > coalesce((SELECT last_event_id FROM reporting_factwatermark WHERE name = 'visits'), 0)) v
"""

# index rows with a provisional clock whose clock has changed since they were folded
_STALE_CLOCKS_SQL = f"""
SELECT EXISTS (
    SELECT 1 FROM reporting_ledgerfact f
    LEFT JOIN matching_deadlineclock fc ON fc.recommendation_id = f.recommendation_id AND fc.kind =
        '{ClockKind.FEEDBACK.value}'
    LEFT JOIN matching_deadlineclock dc ON dc.recommendation_id = f.recommendation_id AND dc.kind =
        '{ClockKind.DECISION.value}'
    WHERE f.clock_provisional AND (
        f.feedback_due_at IS DISTINCT FROM fc.due_at OR f.feedback_satisfied_at IS DISTINCT FROM fc.satisfied_at
        OR f.decision_due_at IS DISTINCT FROM dc.due_at OR f.decision_satisfied_at IS DISTINCT FROM dc.satisfied_at
        OR NOT (coalesce(fc.provisional, false) OR coalesce(dc.provisional, false)))
)
"""


def state() -> dict:
    """One read-only statement: the watermarks and what lies above them — the newest id and
    the number of events (visits) above each watermark, and the newest one settled. Events
    and visits are only ever added, so while the watermark, the newest id and the count are
    the same, nothing was added (a transaction committing late, with a smaller id, changes
    the count)."""
    settled = timezone.now() - SETTLE
    params = {"settled": connection.ops.adapt_datetimefield_value(settled)}
    # The planner cannot see the watermarks (subqueries), guesses that a third of the events lie
    # above them and plans a parallel scan: starting its workers took 24 of the 28 ms of this
    # read of a few rows, three times per dashboard (bench-dashboard data, EXPLAIN ANALYZE).
    # Serial, in a transaction of its own so the setting ends with it.
    serial = connection.vendor == "postgresql" and not connection.in_atomic_block
    with transaction.atomic() if serial else nullcontext(), connection.cursor() as cursor:
        if serial:
            cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0")
        cursor.execute(_STATE_SQL, params)
        names = [c[0] for c in cursor.description]
        return dict(zip(names, cursor.fetchone()))


def _fingerprint(ledger_mark, event_max, event_count, visits_mark, visit_max, visit_count) -> str:
    return f"{ledger_mark or 0}:{event_max}:{event_count}:{visits_mark or 0}:{visit_max}:{visit_count}"


def version(current: dict | None = None) -> str:
    """Changes whenever anything the figures read changes (for the cache of computed figures):
    an event or a visit added, a provisional due date recomputed, the index rebuilt — and
    each sync that folded something (what it saw and when), so figures computed from the
    index between a write's commit and its sync are not served after the sync."""
    s = current or state()
    synced = s["synced_at"].isoformat() if hasattr(s["synced_at"], "isoformat") else s["synced_at"]
    return (
        _fingerprint(
            s["ledger_mark"], s["event_max"], s["event_count"], s["visits_mark"], s["visit_max"], s["visit_count"]
        )
        + f":{s['provisional_clocks']}:{s['generation']}:{s['fingerprint']}:{synced}"
    )


def up_to_date(current: dict | None = None) -> bool:
    """True when a sync would change nothing: what lies above the watermarks is what the last
    sync saw, nothing new has settled, and no provisional clock moved since it was folded."""
    s = current or state()
    if not s["fingerprint"] or s["event_settled"] is not None or s["visit_settled"] is not None:
        return False
    if s["fingerprint"] != _fingerprint(
        s["ledger_mark"], s["event_max"], s["event_count"], s["visits_mark"], s["visit_max"], s["visit_count"]
    ):
        return False
    if s["provisional_facts"]:
        if connection.vendor != "postgresql":
            return False  # re-read them, as every sync does
        with connection.cursor() as cursor:
            cursor.execute(_STALE_CLOCKS_SQL)
            if cursor.fetchone()[0]:
                return False
    return True


def sync(*, full: bool = False) -> int:
    """Fold pending events into the index; returns the number of rows recomputed. Run after
    the writes commit (sync_after_commit) and by the beat task, never by a read: when nothing
    changed since the last sync it costs one read-only statement and takes no lock."""
    if not full and up_to_date():
        return 0
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])
        mark, _ = FactWatermark.objects.select_for_update().get_or_create(name=WATERMARK)
        visits_mark, _ = FactWatermark.objects.select_for_update().get_or_create(name="visits")
        # what this sync will have folded, read before folding: a sync that comes after it
        # compares with this, and anything added meanwhile makes them differ
        before = state()
        ledger_to = before["event_settled"] or mark.last_event_id
        visits_to = before["visit_settled"] or visits_mark.last_event_id
        above = _above(ledger_to, visits_to)
        newest = max(before["event_max"] or 0, mark.last_event_id)
        if full or (mark.last_event_id == 0 and not mark.fingerprint and newest):
            done = refresh(None)
            mark.generation += 1
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("ANALYZE reporting_ledgerfact, reporting_declarationfact")
        else:
            new = WorkflowEvent.objects.filter(id__gt=mark.last_event_id)
            pending = set(
                new.filter(recommendation_id__isnull=False).values_list("recommendation_id", flat=True).distinct()
            )
            pending |= set(
                LedgerFact.objects.filter(clock_provisional=True).values_list("recommendation_id", flat=True)
            )
            declarations = set(
                new.filter(kind__in=kpis.DECLARATION_KINDS).values_list("declaration_id", flat=True).distinct()
            )
            done = refresh(pending, declarations)
        mark.last_event_id = ledger_to
        mark.fingerprint = _fingerprint(ledger_to, *above[:2], visits_to, *above[2:])
        mark.synced_at = timezone.now()
        mark.save()
        _sync_visits_marked(visits_mark, full, visits_to)
        partitions.split_new_provinces()  # a province written for the first time gets its tables
        return done


# --- kept in step by the writes -------------------------------------------------------------


class IndexSync:
    """One sync() after the commit of a transaction that changed what the index projects
    (registered with transaction.on_commit by sync_after_commit)."""

    def __init__(self):
        self.ran = False

    def __call__(self) -> None:
        self.ran = True
        sync()

    def __repr__(self) -> str:
        return "reporting.facts.sync_after_commit"


def sync_after_commit() -> None:
    """matching.hooks.LEDGER_CHANGED_HOOKS: a write recorded workflow events or visits, or moved
    clocks' due moments. The index is synced right after its transaction commits (at once outside a
    transaction), before the request or task that wrote answers. The writes of one
    transaction share one sync: a pending one is discarded only with a savepoint still open
    around this write, which would discard this write too. A sync that fails after the
    commit is logged (robust) and left to the beat task."""
    connection = transaction.get_connection()
    if connection.in_atomic_block and any(
        isinstance(callback, IndexSync) and not callback.ran for _, callback, _ in connection.run_on_commit
    ):
        return
    transaction.on_commit(IndexSync(), robust=True)


def on_organisation_moved(sender, *, old_path: str, new_path: str, **kwargs) -> None:
    """An organisation moved (portal.models.organisation_moved, inside the move's
    transaction): the index rows of its branches and of those below carry the new path, and
    figures cached for the old hierarchy are superseded (a new generation). Serialised with
    sync() by its lock, so a sync never writes an old path after the move."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])
    LedgerFact.objects.filter(branch_path__startswith=old_path).update(
        branch_path=Concat(Value(new_path), Substr("branch_path", len(old_path) + 1), output_field=CharField())
    )
    FactWatermark.objects.filter(name=WATERMARK).update(generation=F("generation") + 1)


def _above(ledger_mark: int, visits_mark: int) -> tuple:
    """(newest id, count) of the events above one watermark and of the visits above another."""
    events = WorkflowEvent.objects.filter(id__gt=ledger_mark).aggregate(m=Max("id"), n=Count("id"))

    visits = Visit.objects.filter(id__gt=visits_mark).aggregate(m=Max("id"), n=Count("id"))
    return events["m"], events["n"], visits["m"], visits["n"]


def _sync_visits_marked(mark: FactWatermark, full: bool, to: int) -> None:
    after = 0 if full else mark.last_event_id
    if full:
        VisitFact.objects.all().delete()
    if Visit.objects.filter(id__gt=after).exists():
        _sync_visits(after)
    if to != mark.last_event_id:
        mark.last_event_id = to
        mark.save(update_fields=["last_event_id"])
