"""`make bench-dashboard`: the regulator dashboard and the 成效统计表 export of a province with
200,000 recommendations and their events.

Generates, set-based inside PostgreSQL (INSERT … SELECT over generate_series), a year of
activity across Shanxi's 117 counties and the five catalogue banks: entities, visits,
declarations with their review events, batches, recommendations in every state with the
events and deadline clocks the workflow services would have written, drawdowns, and a year
of bank-reported monthly figures. Then times, server side through Django's test client,
the province regulator's dashboard (several runs, p50 / p95) and the export of the
成效统计表 (`export_report effectiveness`). Targets: dashboard <= 1 s, export <= 5 s.

The dashboard's 大走访 card counts a running campaign in each city whose targets are every
generated entity of its counties (one in fifty excluded, one in ten given to a visitor):
its counting alone (`campaigns.selectors.campaign_coverage` for the province) is timed too
(`coverage_p50_s`, `coverage_p95_s`).

Floors, measured in the same run: the reads the page (or the export) made — its SELECT
statements, parameters bound, captured from one run — run bare through a cursor in the same
order; each figure is printed with its ratio to that floor and the load average (benchlib).
Prints progress on stderr and, last, one JSON line of figures on stdout.
Options: --recommendations N (default 200000), --runs N (default 7), --keep (reuse data
already generated in this database)."""

from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

import django  # noqa: E402

django.setup()

from benchlib import Figures, bare_seconds, captured, insert_select, p50, p95  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

TZ = "Asia/Shanghai"


def log(message: str) -> None:
    print(f"[bench-dashboard] {message}", file=sys.stderr, flush=True)


# --- generating rows ------------------------------------------------------------------------------


def execute(sql: str, params=None):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


# --- the world: organisations, users, banks --------------------------------------------------------


def world(year: int):
    from django.contrib.auth import get_user_model

    from portal.models import Membership, Organisation, OrganisationKind, Region, Role
    from products.services import catalog_load

    catalog_load()
    province, _ = Organisation.objects.get_or_create(
        code="bench-province",
        defaults={
            "name": "山西省支持小微企业融资协调工作机制",
            "kind": OrganisationKind.PROVINCE_MECHANISM,
            "region_id": "140000",
        },
    )
    User = get_user_model()
    regulator, created = User.objects.get_or_create(
        username="bench-province-regulator", defaults={"first_name": "省机制"}
    )
    if created:
        regulator.set_unusable_password()
        regulator.save()
    Membership.objects.get_or_create(user=regulator, organisation=province, role=Role.PROVINCE_REGULATOR)
    counties = list(
        Region.objects.filter(level="county", code__startswith="14").order_by("code").values_list("code", flat=True)
    )
    task_forces = {}
    for code in counties:
        org, _ = Organisation.objects.get_or_create(
            code=f"bench-tf-{code}",
            defaults={
                "name": f"{code} 工作专班",
                "kind": OrganisationKind.TASK_FORCE,
                "region_id": code,
                "parent": province,
            },
        )
        task_forces[code] = org.pk
    return regulator, counties, task_forces


def branch_map(counties: list[str]) -> dict[tuple[int, str], int]:
    from products.models import Bank
    from products.selectors import branch_for

    out = {}
    for bank in Bank.objects.order_by("id"):
        for county in counties:
            branch = branch_for(bank=bank, county_code=county)
            if branch is None:
                branch = bank.branches.order_by("id").first()
            out[(bank.pk, county)] = branch.pk
    return out


# --- the generator ------------------------------------------------------------------------------------


def generate(n_recs: int, year: int, until: dt.date, regulator, counties, task_forces) -> dict:
    from django.db import transaction

    started = time.perf_counter()
    with transaction.atomic():
        try:
            # generated rows are consistent by construction: skip the per-row foreign-key triggers
            with transaction.atomic():
                execute("SET LOCAL session_replication_role = replica")
        except Exception:  # not a superuser: keep the checks
            log("foreign-key checks stay on (not a superuser)")
        out = _generate(n_recs, year, until, regulator, counties, task_forces)
    execute("ANALYZE")
    out["generate_s"] = round(time.perf_counter() - started, 1)
    return out


def _generate(n_recs: int, year: int, until: dt.date, regulator, counties, task_forces) -> dict:
    from entities.models import MarketEntity
    from matching.models import (
        DeadlineClock,
        Declaration,
        DeclarationBank,
        DeclineReason,
        Disbursement,
        Recommendation,
        RecommendationBatch,
        Visit,
        WorkflowEvent,
    )
    from products.models import Bank

    user = regulator.pk
    banks = list(Bank.objects.order_by("id").values_list("id", flat=True))
    branches = branch_map(counties)
    reason = DeclineReason.objects.order_by("ordering").values_list("pk", flat=True).first()
    days = (until - dt.date(year, 1, 1)).days
    n_entities = int(n_recs / 1.54) + 1  # 54 % declare two intended banks
    execute("SELECT setseed(0.2026)")
    execute("DROP TABLE IF EXISTS b_county, b_branch, b_ent, b_rec")
    execute("CREATE TEMP TABLE b_county (idx int PRIMARY KEY, code varchar(12), task_force int)")
    execute(
        "INSERT INTO b_county VALUES " + ", ".join(f"({i}, '{c}', {task_forces[c]})" for i, c in enumerate(counties))
    )
    execute("CREATE TEMP TABLE b_branch (bank int, county varchar(12), branch int, PRIMARY KEY (bank, county))")
    execute("INSERT INTO b_branch VALUES " + ", ".join(f"({b}, '{c}', {br})" for (b, c), br in branches.items()))

    # entities and their declarations (one each), declared on a day of the year
    execute(f"""
        CREATE TEMP TABLE b_ent AS
        SELECT i, nextval(pg_get_serial_sequence('{MarketEntity._meta.db_table}', 'id')) AS entity_id,
               nextval(pg_get_serial_sequence('{Declaration._meta.db_table}', 'id')) AS declaration_id,
               c.code AS county, c.task_force,
               (timestamp '{year}-01-01 09:00' + (floor(random() * {days}) || ' days')::interval
                 + (floor(random() * 8 * 60) || ' minutes')::interval) AT TIME ZONE '{TZ}' AS declared_at,
               (1 + floor(random() * 100)) * 10000 AS amount,
               (ARRAY[6, 12, 12, 12, 24, 36])[1 + floor(random() * 6)] AS term,
               random() < 0.54 AS two_banks,
               floor(random() * {len(banks)})::int AS bank_slot
        FROM generate_series(1, {n_entities}) i
        JOIN b_county c ON c.idx = i % {len(counties)}
    """)
    execute("CREATE INDEX ON b_ent (i)")
    insert_select(
        MarketEntity,
        {
            "id": "entity_id",
            "uscc": "'9214' || lpad(i::text, 14, '0')",
            "name": "'基准测试经营主体' || i",
            "entity_type": "'individual_business'",
            "register_status": "'active'",
            "region_code": "county",
            "established_on": "date '2018-05-01'",
            "annual_revenue": "amount * 3",
            "employees": "3",
        },
        "b_ent",
    )
    log(f"entities: {n_entities}")
    insert_select(
        Visit,
        {
            "entity_id": "entity_id",
            "task_force_id": "task_force",
            "region_id": "county",
            "visited_on": f"(declared_at AT TIME ZONE '{TZ}')::date - 3",
            "people": "'走访组'",
            "findings": "''",
            "need_found": "true",
            "recorded_by_id": str(user),
            "created_at": "declared_at - interval '3 days'",
        },
        "b_ent WHERE i % 10 < 8",
    )

    # batches: one per county and week
    execute(f"""
        CREATE TEMP TABLE b_batch AS
        SELECT nextval(pg_get_serial_sequence('{RecommendationBatch._meta.db_table}', 'id')) AS batch_id, county,
            task_force, week,
               ((timestamp '{year}-01-01 15:00' + (week * 7 + 6 || ' days')::interval) AT TIME ZONE '{TZ}') AS pushed_at
        FROM (SELECT DISTINCT county, task_force, floor(extract(epoch FROM declared_at - (timestamp '{year}-01-01'
            AT TIME ZONE '{TZ}')) / 604800)::int AS week FROM b_ent) w
    """)
    execute("CREATE UNIQUE INDEX ON b_batch (county, week)")
    insert_select(
        RecommendationBatch,
        {
            "id": "batch_id",
            "task_force_id": "task_force",
            "region_id": "county",
            "title": "county || ' 第' || week || '批'",
            "state": "'pushed'",
            "created_by_id": str(user),
            "created_at": "pushed_at",
            "pushed_by_id": str(user),
            "pushed_at": "pushed_at",
        },
        "b_batch",
    )
    insert_select(
        Declaration,
        {
            "id": "e.declaration_id",
            "entity_id": "e.entity_id",
            "task_force_id": "e.task_force",
            "region_id": "e.county",
            "source": "'staff'",
            "state": "'recommended'",
            "amount": "e.amount",
            "term_months": "e.term",
            "purpose": "'进货周转'",
            "basic_criteria": "'{}'::jsonb",
            "created_by_id": str(user),
            "created_at": "e.declared_at",
            "submitted_at": "e.declared_at",
            "updated_at": "e.declared_at",
            "batch_id": "b.batch_id",
        },
        f"b_ent e JOIN b_batch b ON b.county = e.county AND b.week = floor(extract(epoch FROM e.declared_at - "
        f"(timestamp '{year}-01-01' AT TIME ZONE '{TZ}')) / 604800)::int",
    )
    insert_select(
        DeclarationBank,
        {
            "declaration_id": "declaration_id",
            "bank_id": f"(ARRAY{banks})[1 + (bank_slot + k) % {len(banks)}]",
            "position": "k + 1",
        },
        "b_ent, LATERAL (SELECT 0 AS k UNION ALL SELECT 1 WHERE two_banks) ks",
    )
    log("declarations, batches, visits")

    # recommendations with their fate: r1 draws the path, r2 the speed, r3 the amounts
    execute(f"""
        CREATE TEMP TABLE b_rec AS
        SELECT nextval(pg_get_serial_sequence('{Recommendation._meta.db_table}', 'id')) AS rid, e.*, b.batch_id,
            b.pushed_at,
               db.bank_id, br.branch AS branch_id, random() AS r1, random() AS r2, random() AS r3
        FROM b_ent e
        JOIN b_batch b ON b.county = e.county AND b.week = floor(extract(epoch FROM e.declared_at - (timestamp
            '{year}-01-01' AT TIME ZONE '{TZ}')) / 604800)::int
        JOIN {DeclarationBank._meta.db_table} db ON db.declaration_id = e.declaration_id
        JOIN b_branch br ON br.bank = db.bank_id AND br.county = e.county
        WHERE b.pushed_at < now()
        LIMIT {n_recs}
    """)
    execute("""
        ALTER TABLE b_rec ADD COLUMN contacted_at timestamptz, ADD COLUMN materials_at timestamptz, ADD COLUMN
            decided_at timestamptz,
            ADD COLUMN approved boolean DEFAULT false, ADD COLUMN declined boolean DEFAULT false, ADD COLUMN
                not_drawn_at timestamptz,
            ADD COLUMN removed_at timestamptz, ADD COLUMN credit bigint, ADD COLUMN disbursed1 bigint, ADD COLUMN
                disbursed2 bigint,
            ADD COLUMN disbursed_at timestamptz, ADD COLUMN score int, ADD COLUMN state varchar(16);
        UPDATE b_rec SET
            contacted_at = CASE WHEN r1 >= 0.10 THEN pushed_at + ((1 + floor(r2 * 9)) || ' days')::interval END;
        UPDATE b_rec SET declined = true, decided_at = coalesce(contacted_at, pushed_at + interval '3 days') +
            interval '2 days'
            WHERE r1 >= 0.06 AND r1 < 0.18;
        UPDATE b_rec SET materials_at = contacted_at + ((1 + floor(r3 * 8)) || ' days')::interval WHERE r1 >= 0.22
            AND contacted_at IS NOT NULL AND NOT declined;
        UPDATE b_rec SET approved = true, decided_at = materials_at + ((2 + floor(r2 * 36)) || ' days')::interval,
            credit = greatest(10000, round(amount * (0.6 + r3 * 0.4) / 10000) * 10000)
            WHERE r1 >= 0.27 AND materials_at IS NOT NULL;
        UPDATE b_rec SET not_drawn_at = decided_at + interval '10 days' WHERE approved AND r1 >= 0.27 AND r1 < 0.33;
        UPDATE b_rec SET disbursed_at = decided_at + ((1 + floor(r3 * 10)) || ' days')::interval,
            disbursed1 = CASE WHEN r2 < 0.5 THEN credit ELSE credit / 2 END, disbursed2 = CASE WHEN r2 < 0.5 THEN
                NULL ELSE credit - credit / 2 END
            WHERE approved AND r1 >= 0.36;
        UPDATE b_rec SET score = 3 + floor(r3 * 3)::int WHERE decided_at IS NOT NULL AND r2 < 0.3;
        UPDATE b_rec SET removed_at = pushed_at + interval '4 days' WHERE r1 >= 0.18 AND r1 < 0.19 AND decided_at IS
            NULL;
    """)
    # nothing happens in the future: undo steps after now
    execute("""
        UPDATE b_rec SET score = NULL WHERE decided_at > now() - interval '1 day';
        UPDATE b_rec SET disbursed_at = NULL, disbursed1 = NULL, disbursed2 = NULL WHERE disbursed_at > now();
        UPDATE b_rec SET not_drawn_at = NULL WHERE not_drawn_at > now();
        UPDATE b_rec SET approved = false, declined = false, decided_at = NULL, credit = NULL, not_drawn_at = NULL,
            disbursed_at = NULL,
            disbursed1 = NULL, disbursed2 = NULL, score = NULL WHERE decided_at > now();
        UPDATE b_rec SET materials_at = NULL WHERE materials_at > now();
        UPDATE b_rec SET contacted_at = NULL WHERE contacted_at > now();
        UPDATE b_rec SET removed_at = NULL WHERE removed_at > now();
        UPDATE b_rec SET state = CASE
            WHEN removed_at IS NOT NULL THEN 'removed' WHEN declined THEN 'declined' WHEN not_drawn_at IS NOT NULL
                THEN 'not_drawn'
            WHEN disbursed_at IS NOT NULL THEN 'disbursed' WHEN approved THEN 'approved' WHEN materials_at IS NOT
                NULL THEN 'under_review'
            WHEN contacted_at IS NOT NULL THEN 'contacted' ELSE 'pushed' END;
    """)
    execute("CREATE INDEX ON b_rec (rid)")
    n = insert_select(
        Recommendation,
        {
            "id": "rid",
            "batch_id": "batch_id",
            "declaration_id": "declaration_id",
            "entity_id": "entity_id",
            "region_id": "county",
            "bank_id": "bank_id",
            "branch_id": "branch_id",
            "state": "state",
            "pushed_at": "pushed_at",
            "contacted_at": "contacted_at",
            "contact_channel": "CASE WHEN contacted_at IS NULL THEN '' ELSE 'phone' END",
            "contact_note": "''",
            "materials_complete_at": "materials_at",
            "decided_at": "decided_at",
            "credit_amount": "credit",
            "rate_percent": "CASE WHEN approved THEN round((3.2 + r3 * 2.5)::numeric, 3) END",
            "credit_term_months": "CASE WHEN approved THEN term END",
            "guarantee": "CASE WHEN NOT approved THEN '' WHEN r2 < 0.35 THEN 'credit' WHEN r2 < 0.7 THEN 'surety' "
            "ELSE 'mortgage' END",
            "is_credit_loan": "CASE WHEN approved THEN r2 < 0.35 END",
            "is_first_loan": "CASE WHEN approved THEN r3 < 0.4 END",
            "decline_reason_id": f"CASE WHEN declined THEN {reason} END",
            "decline_note": "''",
            "disbursed_total": "coalesce(disbursed1, 0) + coalesce(disbursed2, 0)",
            "removed_at": "removed_at",
            "removed_reason": "CASE WHEN removed_at IS NULL THEN '' ELSE '提供虚假材料' END",
            "satisfaction": "score",
            "satisfaction_comment": "''",
            "updated_at": "now()",
        },
        "b_rec",
    )
    log(f"recommendations: {n}")
    insert_select(
        Disbursement,
        {
            "recommendation_id": "rid",
            "amount": "d.amount",
            "disbursed_on": f"(d.at AT TIME ZONE '{TZ}')::date",
            "recorded_by_id": str(user),
            "created_at": "d.at",
        },
        "b_rec, LATERAL (VALUES (disbursed1, disbursed_at), (disbursed2, disbursed_at + interval '5 days')) "
        "d(amount, at) "
        "WHERE d.amount IS NOT NULL AND d.at <= now()",
    )

    # the events the services would have written, in one INSERT per kind
    ev = WorkflowEvent
    decl_events = [
        ("declaration.created", "declared_at - interval '1 hour'"),
        ("declaration.submitted", "declared_at"),
        ("review.preliminary_review.approve", "declared_at + interval '1 day'"),
        ("review.bank_review.approve", "declared_at + interval '2 days'"),
        ("review.lead_review.approve", "declared_at + interval '3 days'"),
        ("declaration.signed_off", "least(declared_at + interval '4 days', b.pushed_at - interval '1 hour')"),
    ]
    total_events = 0
    for kind, at in decl_events:
        total_events += insert_select(
            ev,
            {
                "declaration_id": "e.declaration_id",
                "kind": f"'{kind}'",
                "actor_id": str(user),
                "data": "'{}'::jsonb",
                "created_at": at,
            },
            f"b_ent e JOIN b_batch b ON b.county = e.county AND b.week = floor(extract(epoch FROM e.declared_at - "
            f"(timestamp '{year}-01-01' AT TIME ZONE '{TZ}')) / 604800)::int",
        )
    rec_events = [
        ("recommendation.pushed", "pushed_at", "jsonb_build_object('bank', bank_id, 'branch', branch_id)", "true"),
        ("recommendation.assigned", "pushed_at + interval '2 hours'", "'{}'::jsonb", "r2 < 0.7"),
        (
            "clock.reminder",
            "pushed_at + interval '4 days'",
            "jsonb_build_object('clock', 'feedback')",
            "contacted_at IS NULL OR contacted_at > pushed_at + interval '4 days'",
        ),
        (
            "recommendation.contacted",
            "contacted_at",
            "jsonb_build_object('channel', 'phone')",
            "contacted_at IS NOT NULL",
        ),
        ("recommendation.materials_complete", "materials_at", "'{}'::jsonb", "materials_at IS NOT NULL"),
        (
            "recommendation.approved",
            "decided_at",
            "jsonb_build_object('credit_amount', credit, 'rate_percent', round((3.2 + r3 * 2.5)::numeric, 3)::text, "
            "'term_months', term, "
            "'guarantee', CASE WHEN r2 < 0.35 THEN 'credit' WHEN r2 < 0.7 THEN 'surety' ELSE 'mortgage' END, "
            "'is_credit_loan', r2 < 0.35, 'is_first_loan', r3 < 0.4)",
            "approved",
        ),
        (
            "recommendation.declined",
            "decided_at",
            "jsonb_build_object('reason', 'operating_too_short', 'curable', true, 'note', '')",
            "declined",
        ),
        (
            "recommendation.disbursed",
            "disbursed_at",
            "jsonb_build_object('amount', disbursed1, 'disbursed_on', (disbursed_at AT TIME ZONE "
            "'Asia/Shanghai')::date::text)",
            "disbursed1 IS NOT NULL",
        ),
        (
            "recommendation.disbursed",
            "disbursed_at + interval '5 days'",
            "jsonb_build_object('amount', disbursed2, 'disbursed_on', ((disbursed_at + interval '5 days') AT TIME "
            "ZONE 'Asia/Shanghai')::date::text)",
            "disbursed2 IS NOT NULL AND disbursed_at + interval '5 days' <= now()",
        ),
        ("recommendation.not_drawn", "not_drawn_at", "jsonb_build_object('note', '')", "not_drawn_at IS NOT NULL"),
        (
            "recommendation.rated",
            "decided_at + interval '1 day'",
            "jsonb_build_object('score', score)",
            "score IS NOT NULL",
        ),
        (
            "recommendation.removed",
            "removed_at",
            "jsonb_build_object('reason', '提供虚假材料')",
            "removed_at IS NOT NULL",
        ),
    ]
    for kind, at, data, where in rec_events:
        total_events += insert_select(
            ev,
            {
                "declaration_id": "declaration_id",
                "recommendation_id": "rid",
                "kind": f"'{kind}'",
                "actor_id": str(user),
                "data": data,
                "created_at": at,
            },
            f"b_rec WHERE {where}",
        )
    # the second drawdown did not fit before now for some: keep the ledger equal to its events
    execute(f"""UPDATE {Recommendation._meta.db_table} r SET disbursed_total = b.disbursed1
                FROM b_rec b WHERE r.id = b.rid AND b.disbursed2 IS NOT NULL AND b.disbursed_at + interval '5 days'
                    > now()""")
    log(f"events: {total_events}")

    # deadline clocks: feedback for every recommendation, decision once materials are complete
    insert_select(
        DeadlineClock,
        {
            "recommendation_id": "rid",
            "kind": "'feedback'",
            "state": "CASE WHEN coalesce(contacted_at, CASE WHEN declined THEN decided_at END) IS NOT NULL THEN "
            "'satisfied' "
            "WHEN removed_at IS NOT NULL THEN 'stopped' WHEN pushed_at + interval '7 days' < now() THEN 'overdue' "
            "ELSE 'running' END",
            "started_at": "pushed_at",
            "due_at": "pushed_at + interval '7 days'",
            "remind_at": "pushed_at + interval '6 days'",
            "escalate_at": "pushed_at + interval '14 days'",
            "provisional": "false",
            "satisfied_at": "coalesce(contacted_at, CASE WHEN declined THEN decided_at END)",
            "stopped_at": "removed_at",
        },
        "b_rec",
    )
    insert_select(
        DeadlineClock,
        {
            "recommendation_id": "rid",
            "kind": "'decision'",
            "state": "CASE WHEN decided_at IS NOT NULL THEN 'satisfied' WHEN materials_at + interval '30 days' < "
            "now() THEN 'overdue' ELSE 'running' END",
            "started_at": "materials_at",
            "due_at": "materials_at + interval '30 days'",
            "remind_at": "materials_at + interval '29 days'",
            "escalate_at": "materials_at + interval '37 days'",
            "provisional": "false",
            "satisfied_at": "decided_at",
        },
        "b_rec WHERE materials_at IS NOT NULL",
    )
    log("clocks")

    bank_reports(year, until, regulator)
    return {"recommendations": n, "entities": n_entities, "events": total_events}


def bank_reports(year: int, until: dt.date, regulator) -> None:
    """Monthly figures of every city branch from the previous December to this month."""
    from products.models import BankBranch
    from reporting.models import BankPeriodReport

    months = (until.year - year) * 12 + until.month + 1
    insert_select(
        BankPeriodReport,
        {
            "bank_id": "b.bank_id",
            "branch_id": "b.id",
            "region_id": "b.region_id",
            "period": f"(date '{year - 1}-12-01' + (m || ' months')::interval)::date",
            "small_business_balance": "(2000000000 + b.id * 10000000) * (1 + m * 0.012)",
            "all_loans_balance": "(9000000000 + b.id * 30000000) * (1 + m * 0.006)",
            "credit_loan_balance": "(2000000000 + b.id * 10000000) * (1 + m * 0.012) * (0.22 + m * 0.004)",
            "average_rate": "round(4.60 - m * 0.03, 3)",
            "renewals_count": "20 + m",
            "renewals_amount": "(20 + m) * 500000",
            "renewal_balance": "(200 + 20 * m) * 500000",
            "submitted_by_id": str(regulator.pk),
            "submitted_at": "(date '{0}-12-01' + ((m + 1) || ' months')::interval)::timestamp AT TIME ZONE "
            "'Asia/Shanghai' + interval '5 days'".format(year - 1),
            "is_current": "true",
            "note": "''",
        },
        f"{BankBranch._meta.db_table} b, generate_series(0, {months - 1}) m WHERE b.level = 'city'",
    )


# --- timing -------------------------------------------------------------------------------------------------


def campaigns(regulator, counties: list[str]) -> int:
    """A running 大走访 in each city of the counties, every entity of its counties a target (one in
    fifty excluded as 吊销), one in ten given to a visitor; returns the number of targets."""
    from campaigns.models import Campaign, CampaignState
    from portal.models import Membership, Region

    started = timezone.now() - dt.timedelta(days=30)
    for city in Region.objects.filter(level="city", code__startswith="14"):
        campaign = Campaign.objects.create(
            name=f"{city.name}千企万户大走访",
            region=city,
            deadline=timezone.localdate() + dt.timedelta(days=10),
            state=CampaignState.RUNNING,
            started_at=started,
        )
        campaign.counties.set([code for code in counties if code.startswith(city.code[:4])])
    targets = execute(
        "INSERT INTO campaigns_target (campaign_id, entity_id, region_id, township_id, source, source_label,"
        " excluded, exclusion_reason, added_by_id, added_at)"
        " SELECT c.id, e.id, e.region_code, NULL, 'register', '', e.id %% 50 = 0,"
        " CASE WHEN e.id %% 50 = 0 THEN '吊销' ELSE '' END, NULL, %s"
        " FROM entities_marketentity e JOIN campaigns_campaign_counties cc ON cc.region_id = e.region_code"
        " JOIN campaigns_campaign c ON c.id = cc.campaign_id",
        [started],
    )
    organisation_id = Membership.objects.get(user=regulator).organisation_id
    execute(
        "INSERT INTO campaigns_assignment (campaign_id, target_id, visitor_id, visitor_organisation_id, due_on,"
        " assigned_by_id, assigned_at, ended_at, overdue_notified_at)"
        " SELECT t.campaign_id, t.id, %s, %s, CURRENT_DATE + (t.id %% 20 - 10)::int, NULL, %s, NULL, NULL"
        " FROM campaigns_target t WHERE t.id %% 10 = 0",
        [regulator.pk, organisation_id, started],
    )
    execute("ANALYZE campaigns_target")
    execute("ANALYZE campaigns_assignment")
    return targets


def time_coverage(regulator, runs: int, figures: Figures) -> None:
    from campaigns.selectors import campaign_coverage

    def count():
        return campaign_coverage(user=regulator)

    total = count().total
    times = _timed(count, runs, cold=False)
    log("campaign coverage: " + ", ".join(f"{t * 1000:.0f}" for t in times) + f" ms ({total})")
    floor, statements = _floor(count, runs, cold=False)
    floor_is = "its SELECT statements run bare through a cursor"
    figures.add("coverage_p50_s", p50(times), "s", floor=p50(floor), floor_is=floor_is, digits=3, reads=statements)
    figures.add("coverage_p95_s", p95(times), "s", floor=p95(floor), floor_is=floor_is, digits=3, targets=total.targets)


def reads(statements: list[str]) -> list[str]:
    """The SELECT statements among a run's (the floor replays reads, never writes)."""
    return [sql for sql in statements if sql.lstrip().upper().startswith(("SELECT", "WITH"))]


def _timed(fn, runs: int, *, cold: bool) -> list[float]:
    from django.core.cache import cache

    times = []
    for _ in range(runs):
        if cold:
            cache.clear()
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return times


def _floor(fn, runs: int, *, cold: bool) -> tuple[list[float], int]:
    """(seconds of each bare replay, statements replayed) of the reads one run of fn makes."""
    from django.core.cache import cache

    if cold:
        cache.clear()
    _, statements = captured(fn, connection)
    selects = reads(statements)
    return [bare_seconds(selects, connection) for _ in range(runs)], len(selects)


def time_dashboard(regulator, year: int, runs: int, figures: Figures) -> None:
    from django.test import Client

    client = Client()
    client.force_login(regulator)
    url = f"/reporting/?period={year}"

    def get():
        response = client.get(url)
        assert response.status_code == 200, (response.status_code, response.content[:500])
        return response

    body = get().content.decode()  # warms templates, connections and the statistics index
    assert "echarts" in body and "data-chart" in body
    cold = _timed(get, runs, cold=True)
    log("dashboard cold (cache cleared before each run): " + ", ".join(f"{t * 1000:.0f}" for t in cold) + " ms")
    cold_floor, cold_reads = _floor(get, runs, cold=True)
    warm = _timed(get, runs, cold=False)
    log("dashboard warm (unchanged data, cached figures): " + ", ".join(f"{t * 1000:.0f}" for t in warm) + " ms")
    warm_floor, warm_reads = _floor(get, runs, cold=False)
    floor_is = "the page's SELECT statements run bare through a cursor"
    figures.note(dashboard_runs=runs)
    figures.add(
        "dashboard_cold_p50_s", p50(cold), "s", floor=p50(cold_floor), floor_is=floor_is, digits=3, reads=cold_reads
    )
    figures.add("dashboard_cold_p95_s", p95(cold), "s", floor=p95(cold_floor), floor_is=floor_is, digits=3, target=1.0)
    figures.add(
        "dashboard_warm_p50_s", p50(warm), "s", floor=p50(warm_floor), floor_is=floor_is, digits=3, reads=warm_reads
    )
    figures.add("dashboard_warm_p95_s", p95(warm), "s", floor=p95(warm_floor), floor_is=floor_is, digits=3)


def time_export(year: int, runs: int, figures: Figures) -> None:
    from django.core.management import call_command

    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "effectiveness.xlsx"

        def export():
            call_command(
                "export_report",
                "effectiveness",
                "--period",
                str(year),
                "--region",
                "140000",
                "--out",
                str(out),
                stdout=io.StringIO(),
            )

        times = _timed(export, runs, cold=True)
        floor, selects = _floor(export, runs, cold=True)
        size = out.stat().st_size
    log("export 成效统计表 (cold): " + ", ".join(f"{t * 1000:.0f}" for t in times) + f" ms, {size} bytes")
    floor_is = "the export's SELECT statements run bare through a cursor"
    figures.note(export_runs=runs, export_bytes=size)
    figures.add("export_p50_s", p50(times), "s", floor=p50(floor), floor_is=floor_is, digits=3, reads=selects)
    figures.add("export_max_s", max(times), "s", floor=max(floor), floor_is=floor_is, digits=3, target=5.0)


def time_index(started_empty: bool) -> dict:
    from reporting import facts

    started = time.perf_counter()
    rows = facts.sync()
    return {
        "index_rows": rows,
        "index_build_s": round(time.perf_counter() - started, 1),
        "index_started_empty": started_empty,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recommendations", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="reuse data already generated in this database")
    parser.add_argument(
        "--entities", type=int, default=None, help=argparse.SUPPRESS
    )  # accepted from `make bench ENTITIES=`
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("bench-dashboard 需要 PostgreSQL (DATABASE_URL)")
    today = timezone.localdate()
    year = today.year if today >= dt.date(today.year, 3, 1) else today.year - 1
    until = min(today, dt.date(year, 12, 31))
    regulator, counties, task_forces = world(year)
    from matching.models import Recommendation

    existing = Recommendation.objects.count()
    if existing and args.keep:
        generated = {"recommendations": existing, "generate_s": 0.0}
        log(f"reusing {existing} recommendations")
    else:
        generated = generate(args.recommendations, year, until, regulator, counties, task_forces)
        generated["campaign_targets"] = campaigns(regulator, counties)
    from matching.models import WorkflowEvent
    from reporting.models import LedgerFact

    figures = Figures("dashboard", **generated, events_total=WorkflowEvent.objects.count())
    index = time_index(not LedgerFact.objects.exists())
    log(f"statistics index: {index}")
    figures.add(
        "index_build_s",
        index["index_build_s"],
        "s",
        rows=index["index_rows"],
        started_empty=index["index_started_empty"],
    )
    time_dashboard(regulator, year, args.runs, figures)
    time_coverage(regulator, args.runs, figures)
    time_export(year, max(3, args.runs // 2), figures)
    figures.emit()


if __name__ == "__main__":
    main()
