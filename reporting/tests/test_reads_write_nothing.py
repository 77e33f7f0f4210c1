"""A GET writes nothing — no page or API of the portal (dashboards, KPI pages and API, reports,
the ledger, near misses, lists, details) — while the statistics index stays correct because
the writes keep it: right after a write, the figures include it.

Writes are counted by PostgreSQL itself (pg_stat_xact_user_tables: rows inserted, updated and
deleted by the current transaction, per table), before and after each request."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from matching import services as s
from matching.models import Declaration, Recommendation
from portal import spreadsheets, url_inventory
from portal.factories import user_with_role
from portal.models import Role
from reporting.models import LedgerFact

pytestmark = pytest.mark.django_db

# a download of data is audited: one audit row and nothing else (a blank template: nothing)
DOWNLOAD_WRITES = {"portal_auditevent": (1, 0, 0)}


def _counts() -> dict[str, tuple[int, int, int]]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT relname, n_tup_ins, n_tup_upd, n_tup_del FROM pg_stat_xact_user_tables")
        return {name: (ins, upd, dele) for name, ins, upd, dele in cursor.fetchall()}


def _written(before: dict, after: dict) -> dict[str, tuple[int, int, int]]:
    out = {}
    for table, counts in after.items():
        old = before.get(table, (0, 0, 0))
        delta = tuple(n - o for n, o in zip(counts, old))
        if any(delta):
            out[table] = delta
    return out


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _users(history) -> dict:
    users = dict(history.world.users)
    users["enterprise"] = history.entities["E1"][1]
    users["province"] = user_with_role(Role.PROVINCE_REGULATOR)
    users["platform_admin"] = user_with_role(Role.PLATFORM_ADMIN)
    return users


def _urls(history) -> list[str]:
    endpoints = [e.url() for e in url_inventory.walk()]
    urls = [url for url in endpoints if url]
    urls += [
        # the dashboard and the KPI API for other periods, as-of dates, groupings, a bad filter
        "/reporting/?period=2026-03&as_of=2026-03-31",
        "/reporting/?period=2026&by=bank",
        "/reporting/?period=2026-13",
        "/api/v1/kpis/?period=2026&by=county,city,bank,branch,month",
        "/api/v1/kpis/?period=2026-Q1&as_of=2026-03-31",
        "/api/v1/ledger/?period=2026",
        "/api/v1/ledger/totals/?period=2026",
        "/matching/ledger/?period=2026-03",
        "/api/v1/notifications/unread-count/",
        "/matching/leads/?tab=contacted",
        "/matching/notifications/?unread=1",
        # downloads (audited)
        "/reporting/tables/funnel.xlsx?period=2026",
        "/reporting/export/effectiveness.csv?period=2026&by=bank",
        "/reporting/export/ledger.xlsx?period=2026",
        "/matching/ledger/?format=csv",
        "/api/v1/ledger/export.xlsx/",
    ]
    for declaration in Declaration.objects.all():
        urls += [
            f"/matching/declarations/{declaration.pk}/",
            f"/api/v1/declarations/{declaration.pk}/",
            f"/api/v1/declarations/{declaration.pk}/timeline/",
        ]
        if declaration.batch_id:
            urls += [f"/matching/batches/{declaration.batch_id}/", f"/api/v1/batches/{declaration.batch_id}/"]
    for rec in Recommendation.objects.all():
        urls += [f"/matching/leads/{rec.pk}/", f"/api/v1/leads/{rec.pk}/"]
    return list(dict.fromkeys(urls))


def test_no_get_writes_anything(history):
    # given the history, and a write whose after-commit sync has not run: the statistics index
    # is behind the events, so a read that synced it would write
    with_index_behind = history.recs["E3-ccb"]
    s.recommendation_contact(actor=history.world.users["ccb_admin"], recommendation_id=with_index_behind.pk)
    assert LedgerFact.objects.get(pk=with_index_behind.pk).contacted_at is None

    # when every user GETs every page and API endpoint (lists, dashboards, KPIs, reports,
    # the ledger, details of every declaration, batch and lead, downloads)
    urls = _urls(history)
    problems, answered = [], 0
    for name, user in _users(history).items():
        client = _client(user)
        for url in urls:
            before = _counts()
            response = client.get(url)
            written = _written(before, _counts())
            answered += response.status_code == 200
            # then nothing is written — a download writes its audit row and nothing else
            kind = getattr(response, "export_kind", None)
            expected = DOWNLOAD_WRITES if kind and spreadsheets.EXPORTS[kind].audited else {}
            if written != expected:
                problems.append(f"{name} GET {url} → {response.status_code} wrote {written}")
    assert not problems, "\n".join(problems)
    assert answered > 300  # the pages really answered (not a wall of 403s)
    # and the index is still behind: no read caught it up
    assert LedgerFact.objects.get(pk=with_index_behind.pk).contacted_at is None


def test_the_figures_include_a_write_right_after_it(history, committed):
    city, ccb_admin, staff = history.world.users["city"], history.world.users["ccb_admin"], history.world.users["staff"]
    reader = _client(city)
    before = reader.get("/api/v1/kpis/?period=2026").json()["total"]
    e3 = history.recs["E3-ccb"]

    # when the bank contacts E3 through the API and the task force records a visit to E4 on
    # its page, each request committing as it answers
    with committed():
        contact = _client(ccb_admin).post(
            f"/api/v1/leads/{e3.pk}/contact/", {"channel": "phone"}, content_type="application/json"
        )
    assert contact.status_code == 200, contact.content
    entity = history.entities["E4"][0]
    with committed():
        visit = _client(staff).post(
            "/matching/visits/",
            {"uscc": entity.uscc, "visited_on": timezone.localdate().isoformat(), "people": "王五", "need_found": "on"},
        )
    assert visit.status_code == 302

    # then the very next reads count them: the index was kept by the writes, no read synced it
    after = reader.get("/api/v1/kpis/?period=2026").json()["total"]
    assert after["contacted"] == before["contacted"] + 1
    assert after["visited"] == before["visited"] + 1
    assert LedgerFact.objects.get(pk=e3.pk).contacted_at is not None
    coverage = after["three_100"][0]
    assert coverage["numerator"] == before["three_100"][0]["numerator"] + 1
    html = reader.get("/reporting/?period=2026").content.decode()
    assert f"{coverage['numerator']} / {coverage['denominator']} 户" in html
    # and a moment before the contact still shows it uncontacted
    as_of = (timezone.localdate() - dt.timedelta(days=1)).isoformat()
    past = reader.get(f"/api/v1/kpis/?period=2026&as_of={as_of}").json()["total"]
    assert past["contacted"] == before["contacted"]
