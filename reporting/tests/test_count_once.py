"""Statistics count entities once (issue 15, item 18): an entity pushed to two banks is one
推荐户 with one need in the 推荐清单, the ledger and the 成效统计表; rows by bank count it in
each bank; by-bank and by-county totals agree, and every report says how.

The case (reporting.factories.build_two_banks, March 2026, 泽州县), counted by hand:

    甲  50 万 → 中国银行 (contacted, approved 30 万) and 建设银行 (declined), then 改推 → 山西银行:
        3 rows, 1 户, 1 need (50 万)
    乙  20 万 → 中国银行 (contacted, declined), then a new need 10 万 → 中国银行 again:
        2 rows, 1 户, 2 needs (30 万)
    total: 5 rows (笔), 2 户, 3 needs, 80 万; 已对接 2 户; 授信 1 户 1 笔 30 万
    中国银行 3 rows, 2 户, 80 万 · 中国建设银行 1 row, 1 户, 50 万 · 山西银行 1 row, 1 户, 50 万
    (the banks' 户 add up to 4, their needs to 180 万: 甲 is in three banks' rows)
"""

import re
from decimal import Decimal

import pytest
from django.test import Client

from products.models import Bank
from reporting import exports, facts, kpis, selectors
from reporting.ledger import ledger_export, ledger_totals_db
from reporting.models import LedgerFact

pytestmark = pytest.mark.django_db

MARCH = {"period": "2026-03", "as_of": "2026-03-31"}
W = Decimal("10000")


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _by_code(groups: dict) -> dict:
    codes = dict(Bank.objects.values_list("pk", "code"))
    return {codes[int(key)]: fig for key, fig in groups.items()}


def _hand_count(f: kpis.Figures, *, rows, entities, need, contacted, credited) -> None:
    assert (f.rows, f.recommended, f.need_amount, f.contacted, f.credited) == (
        rows,
        entities,
        need,
        contacted,
        credited,
    )


def test_推荐清单_推送两家银行的企业是一个推荐户_一笔融资需求(two_banks):
    """004 三(五): "每家企业只推送给意向对接银行" — pushed to its two intended banks (and
    re-recommended to a third after a decline), 甲 is one 推荐户 with one need: the total and
    the county count it once; each bank's row counts it for that bank."""
    q = selectors.parse_query(MARCH)
    result = selectors.figures_with_activity(two_banks.world.users["city"], q, ["county", "bank", "month"])
    total = result["total"][""]

    # then the total: 5 笔, 2 户, 80 万 of need (甲's 50 万 once, 乙's 20 + 10 万)
    _hand_count(total, rows=5, entities=2, need=800_000, contacted=2, credited=1)
    assert (total.credited_rows, total.credit_amount, total.declined_rows) == (1, 300_000, 2)
    # and the 申报清单 too: 2 户, 甲's re-recommendation is not a second 50 万
    assert (total.declared, total.declared_amount) == (2, 800_000)
    # and the county's row is the total
    _hand_count(result["county"]["140525"], rows=5, entities=2, need=800_000, contacted=2, credited=1)

    # and each bank counts its own 户 and needs: 乙 is one 户 at 中国银行 with two needs
    banks = _by_code(result["bank"])
    _hand_count(banks["boc"], rows=3, entities=2, need=800_000, contacted=2, credited=1)
    _hand_count(banks["ccb"], rows=1, entities=1, need=500_000, contacted=0, credited=0)
    _hand_count(banks["shanxibank"], rows=1, entities=1, need=500_000, contacted=0, credited=0)
    assert sum(f.recommended for f in banks.values()) == 4 and sum(f.need_amount for f in banks.values()) == 1_800_000

    # and the month counts 笔, each need once
    month = result["month"]["2026-03"]
    assert (month.rows, month.recommended, month.need_amount) == (5, 5, 800_000)


def test_the_same_counts_without_whole_push_groups(two_banks):
    """A bank sees only its rows (no lead rows to sum over): every count is made by grouping, with
    the same answers — 中国银行: 2 户, 80 万; a regulator filtering 建设银行: 1 户, 50 万."""
    q = selectors.parse_query(MARCH)
    boc = selectors.figures(two_banks.world.users["boc_admin"], q, ["county", "bank"])
    _hand_count(boc["total"][""], rows=3, entities=2, need=800_000, contacted=2, credited=1)
    _hand_count(boc["county"]["140525"], rows=3, entities=2, need=800_000, contacted=2, credited=1)
    _hand_count(_by_code(boc["bank"])["boc"], rows=3, entities=2, need=800_000, contacted=2, credited=1)
    ccb = selectors.figures(two_banks.world.users["city"], selectors.parse_query({**MARCH, "bank": "ccb"}), ["bank"])
    _hand_count(ccb["total"][""], rows=1, entities=1, need=500_000, contacted=0, credited=0)


def test_the_index_folded_in_python_counts_the_same(two_banks):
    """The other databases' path (facts.need_roots, the Python fold) finds the same needs."""
    sql = dict(LedgerFact.objects.values_list("recommendation_id", "need_id"))
    assert len(set(sql.values())) == 3  # 甲's chain, 乙's two needs
    LedgerFact.objects.all().delete()
    facts._refresh_python(None, None)
    assert dict(LedgerFact.objects.values_list("recommendation_id", "need_id")) == sql
    total = selectors.figures(two_banks.world.users["city"], selectors.parse_query(MARCH))["total"][""]
    _hand_count(total, rows=5, entities=2, need=800_000, contacted=2, credited=1)


def _total_row(sheet, label="合计", column=1) -> list:
    for row in sheet.iter_rows(values_only=True):
        if row and len(row) > column and row[column] == label:
            return list(row)
    raise AssertionError(f"no {label} row")


def _column(group: str, header: str) -> int:
    """The index of an effectiveness column (two header rows)."""
    names = [(g, h) for g, h, _, _ in exports.EFFECTIVENESS_COLUMNS]
    return 2 + names.index((group, header))


def test_成效统计表_按县与按银行的合计一致_并说明如何计数(two_banks, read_xlsx):
    """004 (十六) 《支持小微企业融资协调工作机制成效统计表》: by county and by bank, the 合计 is the
    same 2 户 and 80 万; the banks' rows count 甲 in each bank; the note says how."""
    user = two_banks.world.users["city"]
    q = selectors.parse_query(MARCH)
    recommended, need = _column("推荐清单", "企业(户)"), _column("推荐清单", "融资需求")
    by_county = read_xlsx(exports.effectiveness_xlsx(user, q, by="county").content)
    by_bank = read_xlsx(exports.effectiveness_xlsx(user, q, by="bank").content)
    county_total, bank_total = _total_row(by_county), _total_row(by_bank)
    assert (county_total[recommended], county_total[need]) == (2, Decimal("80.00"))
    assert (bank_total[recommended], bank_total[need]) == (2, Decimal("80.00"))
    rows = {
        row[1]: row for row in by_bank.iter_rows(values_only=True) if row and row[1] in ("中国银行", "中国建设银行")
    }
    assert (rows["中国银行"][recommended], rows["中国银行"][need]) == (2, Decimal("80.00"))
    assert (rows["中国建设银行"][recommended], rows["中国建设银行"][need]) == (1, Decimal("50.00"))
    notes = " ".join(str(row[0]) for row in by_bank.iter_rows(values_only=True) if row and str(row[0]).startswith("注"))
    assert "同时推荐给两家银行的企业在每家银行各计一次" in notes and "合计按企业去重" in notes
    assert "只计一次" in notes
    # and the csv by bank has the same 合计
    csv = exports.effectiveness_csv(user, q, by="bank").content.decode("utf-8-sig").splitlines()
    total = next(line for line in csv if ",合计," in line).split(",")
    assert (total[recommended], total[need]) == ("2", "80.00")


def test_台账_合计按企业和需求去重(two_banks, read_xlsx):
    """004 三(六): "建立推荐清单台账" — the ledger lists every row (5), and its 合计 counts 2 户
    and 3 needs, 80 万: on the page, in the API and in the xlsx."""
    user = two_banks.world.users["city"]
    q = selectors.parse_query(MARCH)
    expected = {"rows": 5, "entities": 2, "needs": 3, "need_amount": 800_000, "credited": 1, "credit_amount": 300_000}
    totals = ledger_totals_db(user, q.filters)
    assert {key: totals[key] for key in expected} == expected
    client = _client(user)
    api = client.get("/api/v1/ledger/totals/?period=2026-03").json()
    assert {key: api[key] for key in expected} == expected
    page = client.get("/matching/ledger/?period=2026-03").content.decode()
    assert 'data-testid="ledger-total-entities">2<' in page and 'data-testid="ledger-total-need">80.00<' in page
    assert "融资需求按需求计一次" in page
    sheet = read_xlsx(ledger_export(actor=user, filters=q.filters, extension="xlsx").content)
    rows = list(sheet.iter_rows(values_only=True))
    headers = next(row for row in rows if row and row[0] == "序号")
    total = next(row for row in rows if row and row[0] == "合计")
    assert total[1] == "共 5 条, 2 户, 3 笔融资需求"
    assert total[headers.index("融资需求(万元)")] == Decimal("80.00")
    assert "注: 合计: 户数按企业去重" in rows[1][0]


def test_the_api_and_the_dashboard_count_once(two_banks, read_xlsx):
    user = two_banks.world.users["city"]
    client = _client(user)
    # the KPI API: the total and the county group 2 户, 80 万; 中国银行's group 2 户
    body = client.get("/api/v1/kpis/?period=2026-03&as_of=2026-03-31&by=county,bank").json()
    assert (body["total"]["recommended"], body["total"]["need_amount"]) == (2, 800_000)
    county = body["groups"]["county"][0]
    assert (county["recommended"], county["need_amount"]) == (2, 800_000)
    banks = {g["name"]: g for g in body["groups"]["bank"]}
    assert (banks["中国银行"]["recommended"], banks["中国银行"]["need_amount"]) == (2, 800_000)
    assert "合计按企业去重" in body["definitions"]["dedup"]

    # the dashboard: the county table's 合计 and the bank ranking's 合计 agree (已对接 2 户)
    html = client.get("/reporting/?period=2026-03&as_of=2026-03-31").content.decode()

    def footer(name):
        card = html[html.index(f'data-testid="card-{name}"') :]
        cells = card[card.index("<tfoot>") : card.index("</tfoot>")]
        return [c.strip() for c in re.findall(r"<td[^>]*>([^<]*)</td>", cells)]

    regions, ranking = footer("regions"), footer("ranking")
    assert regions[0] == "合计" and regions[3:5] == ["2", "2"]  # 推荐(户), 已对接(户)
    assert ranking[1] == "合计" and ranking[2:4] == ["5", "2"]  # 推荐(笔), 已对接(户)
    assert "同时推荐给两家银行的企业在每家银行各计一次" in html
    # and the ranking's download carries the same 合计
    sheet = read_xlsx(client.get("/reporting/tables/ranking.xlsx?period=2026-03&as_of=2026-03-31").content)
    assert _total_row(sheet, column=2)[3:5] == [5, 2]
    # and the reports page says how the 成效统计表 counts
    assert "合计按企业去重" in client.get("/reporting/reports/").content.decode()


def test_推荐清单_导出与批次进度_合计每户一次(two_banks, read_xlsx):
    """004 三(五): "分批次将推荐清单推送给辖区内的银行机构" — the batch's 推荐清单 lists 甲 once
    per intended bank (3 rows), and its 合计 is 2 户 and 70 万 (甲's 50 万 once, not twice);
    the batch page's progress counts 甲 in each bank and once in its 合计."""
    client = _client(two_banks.world.users["convener"])
    sheet = read_xlsx(client.get(f"/matching/batches/{two_banks.batch.pk}/?format=xlsx").content)
    total = _total_row(sheet, column=0)
    assert total[1] == "2 户, 3 条推荐" and total[5] == Decimal("70.00")
    page = client.get(f"/matching/batches/{two_banks.batch.pk}/").content.decode()
    footer = page[page.index('data-testid="batch-progress-total"') :]
    cells = re.findall(r"<td>([^<]*)</td>", footer[: footer.index("</tr>")])
    # 推送 2 户, 已对接 2, 已授信 1 (甲), 不予授信 2 (甲 at 建设银行, 乙 at 中国银行)
    assert cells == ["合计(户)", "2", "2", "1", "2", "0"]
    assert "合计按企业去重" in page
