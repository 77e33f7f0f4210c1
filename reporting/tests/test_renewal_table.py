"""The 中小微企业无还本续贷情况统计表 built from the banks' records of their customers' renewals.

004 十六: "按时准确填报《支持小微企业融资协调工作机制成效统计表》《中小微企业无还本续贷情况统计表》";
002 3: "按季度监测银行机构无还本续贷余额情况，对出现异常波动的银行机构及时进行跟踪"."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.test import Client

from entities import services as entity_services
from reporting import selectors, services
from reporting.factories import at

pytestmark = pytest.mark.django_db

FIGURES = dict(
    small_business_balance=100_000_000,
    all_loans_balance=900_000_000,
    credit_loan_balance=25_000_000,
    average_rate=Decimal("4.2"),
)


def _report(world, code, period, *, count, amount, balance):
    services.bank_report_submit(
        actor=world.users[f"{code}_admin"],
        branch_id=world.branches[code].pk,
        period=period,
        renewals_count=count,
        renewals_amount=amount,
        renewal_balance=balance,
        **FIGURES,
    )


@pytest.fixture
def march_renewals(history):
    """Hand-counted March 2026: 中国银行 reports 4 renewals for 200 万 and a balance up from 1,000 万
    to 1,400 万 (+40%); its records say 2 renewed without repayment (50 万 + 70 万), one refused,
    one renewed in April. 建设银行 reports 1 for 30 万, balance 800 万 → 840 万 (+5%), no records."""
    world = history.world
    entity, owner = world.entity(name="泽州县续贷统计测试厂")
    manager = world.users["boc_manager"]
    with time_machine.travel(at("2026-03-10"), tick=False):
        needs = [
            entity_services.renewal_record(
                actor=owner, entity_id=entity.pk, amount=amount, due_date=dt.date(2026, 3, 25), bank_code="boc"
            )
            for amount in (500_000, 700_000, 900_000, 1_100_000)
        ]
    with time_machine.travel(at("2026-03-20"), tick=False):
        entity_services.renewal_outcome(actor=manager, renewal_id=needs[0].pk, action="renew")
        entity_services.renewal_outcome(actor=manager, renewal_id=needs[1].pk, action="renew")
        entity_services.renewal_outcome(actor=manager, renewal_id=needs[2].pk, action="refuse", refusal_reason="credit")
    with time_machine.travel(at("2026-04-02"), tick=False):
        entity_services.renewal_outcome(actor=manager, renewal_id=needs[3].pk, action="renew")
        _report(world, "boc", "2026-02", count=3, amount=1_000_000, balance=10_000_000)
        _report(world, "boc", "2026-03", count=4, amount=2_000_000, balance=14_000_000)
        _report(world, "ccb", "2026-02", count=1, amount=200_000, balance=8_000_000)
        _report(world, "ccb", "2026-03", count=1, amount=300_000, balance=8_400_000)
    return world


def test_统计表_有台账取台账数_报送数并列_差异_环比异常波动标记(march_renewals, settings):
    """004 十六 《中小微企业无还本续贷情况统计表》 from the records where they exist, the reported
    totals beside them, the difference; 002 "对出现异常波动的银行机构及时进行跟踪"."""
    settings.RENEWAL_SWING_THRESHOLD_PERCENT = 30
    q = selectors.parse_query({"period": "2026-03", "as_of": "2026-04-30"})
    rows = {r["name"]: r for r in selectors.renewals(march_renewals.users["city"], q)}
    boc, ccb = rows["中国银行"], rows["中国建设银行"]
    # 中国银行: the records (2, 120 万) beside the report (4, 200 万): -2 and -80 万; +40% flagged
    assert (boc["renewals_count"], boc["renewals_amount"]) == (2, 1_200_000)
    assert (boc["reported_count"], boc["reported_amount"]) == (4, 2_000_000)
    assert (boc["count_difference"], boc["amount_difference"]) == (-2, -800_000)
    assert boc["renewal_balance"] == 14_000_000 and boc["swing"] == Decimal(40) and boc["abnormal"] is True
    # 中国建设银行: no records, the table keeps its report; +5% is not abnormal
    assert ccb["has_records"] is False and ccb["recorded_count"] is None
    assert (ccb["renewals_count"], ccb["renewals_amount"]) == (1, 300_000)
    assert ccb["swing"] == Decimal(5) and ccb["abnormal"] is False
    # a higher threshold (the setting) flags nobody
    settings.RENEWAL_SWING_THRESHOLD_PERCENT = 50
    assert not any(r["abnormal"] for r in selectors.renewals(march_renewals.users["city"], q))


def test_统计表_页面与导出_标出异常波动(march_renewals, settings, read_xlsx):
    settings.RENEWAL_SWING_THRESHOLD_PERCENT = 30
    client = Client()
    client.force_login(march_renewals.users["city"])
    # when the table is exported
    response = client.get("/reporting/export/renewals.xlsx?period=2026-03&as_of=2026-04-30")
    assert response.status_code == 200
    sheet = read_xlsx(response.content)
    text = [[cell for cell in row] for row in sheet.iter_rows(values_only=True)]
    # then 中国银行's row carries the records, the report, the difference and the flag
    boc = next(row for row in text if "中国银行" in row)
    # 续贷笔数/金额 (from the records), 台账, 报送, 差异 (amounts in 万元)
    assert [float(v) for v in boc[2:10]] == [2, 120, 2, 120, 4, 200, -2, -80]
    assert "异常波动, 请跟踪" in boc and "+40.0%" in boc
    assert any("超过 30% 标记为异常波动" in str(row[0]) for row in text if row and row[0])
    # and the dashboard's table on the report page shows the same flag
    page = client.get("/reporting/?period=2026-03&as_of=2026-04-30").content.decode()
    assert "异常波动, 请跟踪" in page
