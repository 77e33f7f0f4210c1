"""The ledger (台账): one row per recommendation, its filters and tenant restriction, and the
xlsx / csv exports."""

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.utils import timezone
from openpyxl import load_workbook
from rest_framework.test import APIClient

from matching import services as s
from matching.factories import CRITERIA
from matching.models import Recommendation
from portal.factories import user_with_role
from portal.models import AuditEvent, Role
from portal.services import ApplicationError
from products.models import BankBranch, BranchLevel
from reporting import ledger

pytestmark = pytest.mark.django_db


def pushed(world, name, banks=("boc", "ccb"), amount=300_000):
    entity, user = world.entity(name=name)
    declaration = s.declaration_create(
        actor=user,
        entity_id=entity.pk,
        amount=amount,
        term_months=12,
        purpose="进货周转",
        bank_codes=list(banks),
        basic_criteria=CRITERIA,
        consent=True,
        submit=True,
    )
    for role in ("staff", "reviewer", "lead"):
        s.declaration_review(actor=world.users[role], declaration_id=declaration.pk, decision="approve")
    batch = s.batch_signoff(actor=world.users["convener"], declaration_ids=[declaration.pk])
    s.batch_push(actor=world.users["convener"], batch_id=batch.pk)
    return {r.bank.code: r for r in Recommendation.objects.filter(declaration=declaration)}


@pytest.fixture
def ledger_world(world):
    """The 泽州 world with two entities: A went to boc (approved, two drawdowns) and ccb (declined);
    B went to boc only (pushed). `world.recs`: "a_boc", "a_ccb", "b_boc"."""
    u = world.users
    a = pushed(world, "甲小吃店")
    admin = u["boc_admin"]
    s.recommendation_contact(actor=admin, recommendation_id=a["boc"].pk, channel="visit")
    s.recommendation_materials_complete(actor=admin, recommendation_id=a["boc"].pk)
    s.recommendation_approve(
        actor=admin,
        recommendation_id=a["boc"].pk,
        credit_amount=250_000,
        rate_percent=Decimal("3.65"),
        term_months=12,
        guarantee="credit",
        is_credit_loan=True,
        is_first_loan=True,
    )
    today = timezone.localdate()
    s.recommendation_disburse(actor=admin, recommendation_id=a["boc"].pk, amount=100_000, disbursed_on=today)
    s.recommendation_disburse(actor=admin, recommendation_id=a["boc"].pk, amount=50_000, disbursed_on=today)
    s.recommendation_decline(
        actor=u["ccb_admin"], recommendation_id=a["ccb"].pk, reason_code="operating_too_short", note="未满 2 年"
    )
    b = pushed(world, "乙五金店", banks=("boc",), amount=120_000)
    world.recs = {"a_boc": a["boc"], "a_ccb": a["ccb"], "b_boc": b["boc"]}
    return world


def ids(rows):
    return {row["id"] for row in rows}


# --- rows ----------------------------------------------------------------------------------


def test_one_row_per_recommendation_with_every_date_decision_and_drawdown(ledger_world):
    rows = {row["id"]: row for row in ledger.ledger_rows(ledger_world.users["staff"], {})}
    assert set(rows) == ids([{"id": r.pk} for r in ledger_world.recs.values()])
    a_boc = rows[ledger_world.recs["a_boc"].pk]
    today = timezone.localdate().isoformat()
    assert a_boc["entity_name"] == "甲小吃店" and a_boc["county_code"] == "140525" and a_boc["county_name"] == "泽州县"
    assert a_boc["bank_code"] == "boc" and a_boc["branch_name"] == ledger_world.branches["boc"].name
    assert a_boc["need_amount"] == 300_000 and a_boc["need_term_months"] == 12
    assert a_boc["pushed_on"] == a_boc["contacted_on"] == a_boc["materials_complete_on"] == a_boc["decided_on"] == today
    assert a_boc["contact_channel"] == "上门走访"
    assert a_boc["state"] == "disbursed" and a_boc["credit_amount"] == 250_000 and a_boc["rate_percent"] == "3.650"
    assert a_boc["guarantee_display"] == "信用" and a_boc["is_credit_loan"] is True and a_boc["is_first_loan"] is True
    assert a_boc["disbursed_total"] == 150_000 and a_boc["disbursement_count"] == 2
    assert a_boc["disbursements"] == [
        {"amount": 100_000, "disbursed_on": today},
        {"amount": 50_000, "disbursed_on": today},
    ]
    a_ccb = rows[ledger_world.recs["a_ccb"].pk]
    assert (
        a_ccb["state_display"] == "不予授信"
        and a_ccb["decline_reason"] == "经营时间不足"
        and a_ccb["decline_note"] == "未满 2 年"
    )
    assert a_ccb["credit_amount"] is None and a_ccb["contacted_on"] is None
    # overdue flags come from the stored clocks: answered in time, and no decision clock started
    assert a_ccb["feedback_overdue"] is False and a_ccb["decision_overdue"] is None
    # no personal numbers anywhere in a row
    assert not {key for key in a_boc if "phone" in key or "id_number" in key}


def test_the_ledger_is_restricted_to_the_tenant(ledger_world):
    u = ledger_world.users
    recs = ledger_world.recs
    # the county's task force, the convener and the city see all three
    for who in ("staff", "convener", "city"):
        assert ids(ledger.ledger_rows(u[who], {})) == {r.pk for r in recs.values()}
    # a bank branch sees what was pushed to it (and its sub-branches), nothing of the other bank
    assert ids(ledger.ledger_rows(u["boc_admin"], {})) == {recs["a_boc"].pk, recs["b_boc"].pk}
    assert ids(ledger.ledger_rows(u["ccb_admin"], {})) == {recs["a_ccb"].pk}
    # an account manager sees only the leads assigned to him
    assert ledger.ledger_rows(u["boc_manager"], {}) == []
    s.recommendations_assign(
        actor=u["boc_admin"], recommendation_ids=[recs["b_boc"].pk], manager_id=u["boc_manager"].pk
    )
    assert ids(ledger.ledger_rows(u["boc_manager"], {})) == {recs["b_boc"].pk}
    # another county sees nothing
    assert ledger.ledger_rows(user_with_role(Role.TASK_FORCE_STAFF, region_code="140521"), {}) == []


def test_filters_region_bank_branch_state(ledger_world):
    staff = ledger_world.users["staff"]
    recs = ledger_world.recs
    assert ids(ledger.ledger_rows(staff, {"bank": "boc"})) == {recs["a_boc"].pk, recs["b_boc"].pk}
    assert ids(ledger.ledger_rows(staff, {"state": "declined"})) == {recs["a_ccb"].pk}
    assert ids(ledger.ledger_rows(staff, {"state": "declined,pushed"})) == {recs["a_ccb"].pk, recs["b_boc"].pk}
    for region in ("14", "1405", "140500", "140525"):
        assert len(ledger.ledger_rows(ledger_world.users["city"], {"region": region})) == 3, region
    assert ledger.ledger_rows(ledger_world.users["city"], {"region": "140521"}) == []
    # a branch filter takes the branch and its sub-branches
    boc_county = ledger_world.branches["boc"]
    boc_city = BankBranch.objects.get(bank__code="boc", level=BranchLevel.CITY, region_id="140500")
    expected = {recs["a_boc"].pk, recs["b_boc"].pk}
    assert ids(ledger.ledger_rows(staff, {"branch": str(boc_county.pk)})) == expected
    assert ids(ledger.ledger_rows(staff, {"branch": boc_city.pk})) == expected
    assert ledger.ledger_rows(staff, {"branch": "999999"}) == []


def test_period_filters_on_the_local_push_date(ledger_world):
    staff = ledger_world.users["staff"]
    recs = ledger_world.recs
    # given a recommendation pushed late in the evening of 31 March (Beijing time), i.e. still March
    late = timezone.make_aware(dt.datetime(2026, 3, 31, 23, 30), timezone.get_default_timezone())
    Recommendation.objects.filter(pk=recs["a_boc"].pk).update(pushed_at=late)
    Recommendation.objects.filter(pk=recs["a_ccb"].pk).update(pushed_at=late + dt.timedelta(hours=1))  # 1 April
    Recommendation.objects.filter(pk=recs["b_boc"].pk).update(pushed_at=late - dt.timedelta(days=400))  # 2025
    assert ids(ledger.ledger_rows(staff, {"period": "2026-03"})) == {recs["a_boc"].pk}
    assert ids(ledger.ledger_rows(staff, {"period": "2026-04"})) == {recs["a_ccb"].pk}
    assert ids(ledger.ledger_rows(staff, {"period": "2026-Q1"})) == {recs["a_boc"].pk}
    assert ids(ledger.ledger_rows(staff, {"period": "2026Q2"})) == {recs["a_ccb"].pk}
    assert ids(ledger.ledger_rows(staff, {"period": "2026"})) == {recs["a_boc"].pk, recs["a_ccb"].pk}
    assert ids(ledger.ledger_rows(staff, {"period": "2025"})) == {recs["b_boc"].pk}
    assert ids(ledger.ledger_rows(staff, {"date_from": "2026-03-31", "date_to": "2026-03-31"})) == {recs["a_boc"].pk}
    assert ids(ledger.ledger_rows(staff, {"date_from": "2026-04-01"})) == {recs["a_ccb"].pk}
    assert ids(ledger.ledger_rows(staff, {"date_to": "2026-01-01"})) == {recs["b_boc"].pk}


@pytest.mark.parametrize(
    "period,first,last",
    [
        ("2024-02", dt.date(2024, 2, 1), dt.date(2024, 2, 29)),
        ("2026-12", dt.date(2026, 12, 1), dt.date(2026, 12, 31)),
        ("2026-Q1", dt.date(2026, 1, 1), dt.date(2026, 3, 31)),
        ("2026-q4", dt.date(2026, 10, 1), dt.date(2026, 12, 31)),
        ("2026", dt.date(2026, 1, 1), dt.date(2026, 12, 31)),
    ],
)
def test_period_range(period, first, last):
    assert ledger.period_range(period) == (first, last)


@pytest.mark.parametrize(
    "params,field",
    [
        ({"period": "2026-13"}, "period"),
        ({"period": "上个月"}, "period"),
        ({"state": "lost"}, "state"),
        ({"region": "14a"}, "region"),
        ({"date_from": "2026/01/01"}, "date_from"),
        ({"branch": "x"}, "branch"),
        ({"period": "2026", "date_from": "2026-01-01"}, "date_from"),
        ({"date_from": "2026-05-01", "date_to": "2026-04-01"}, "date_to"),
    ],
)
def test_bad_filters_are_refused_with_field_errors(params, field):
    with pytest.raises(ApplicationError) as error:
        ledger.parse_filters(params)
    assert field in error.value.field_errors


def test_totals_in_python_and_in_the_database_agree(ledger_world):
    staff = ledger_world.users["staff"]
    # A's 30 万 need is pushed to two banks: one need, counted once (issue 15 item 18)
    expected = {
        "rows": 3,
        "entities": 2,
        "needs": 2,
        "need_amount": 300_000 + 120_000,
        "credited": 1,
        "credit_amount": 250_000,
        "disbursed_total": 150_000,
        "disbursement_count": 2,
    }
    assert ledger.ledger_totals(ledger.ledger_rows(staff, {})) == expected
    assert ledger.ledger_totals_db(staff, {}) == expected
    assert ledger.ledger_totals_db(ledger_world.users["ccb_admin"], {})["rows"] == 1


# --- exports -------------------------------------------------------------------------------


def _sheet(content: bytes):
    workbook = load_workbook(io.BytesIO(content))
    return workbook["台账"]


def _rows(sheet) -> list[list]:
    """The sheet's rows up to its total, checking that the form ends with its signatures (填表人 /
    审核人 / 填报日期 after a blank row, as every government form)."""
    values = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert str(values[-1][0]).startswith("填表人") and "审核人" in values[-1][0] and not any(values[-2])
    return values[:-2]


def test_the_xlsx_opens_with_title_units_headers_rows_and_a_total(ledger_world):
    rows = ledger.ledger_rows(ledger_world.users["staff"], {})
    content = ledger.ledger_xlsx(rows, "泽州县融资对接台账", subtitle="筛选: 全部").content
    sheet = _sheet(content)
    values = _rows(sheet)
    # a title row and a note that says amounts are in 万元
    assert values[0][0] == "泽州县融资对接台账"
    assert "万元" in values[1][0] and "YYYY-MM-DD" in values[1][0]
    header = values[3]
    assert header[:3] == ["序号", "经营主体", "统一社会信用代码"]
    assert "融资需求(万元)" in header and "授信金额(万元)" in header and "累计放款(万元)" in header
    assert not any(h and ("身份证" in h or "手机" in h or "电话" in h) for h in header)
    data = values[4:-1]
    assert len(data) == 3 and [row[0] for row in data] == [1, 2, 3]
    col = {name: header.index(name) for name in header}
    by_bank_entity = {(row[col["经营主体"]], row[col["银行"]]): row for row in data}
    a_boc = by_bank_entity[("甲小吃店", "中国银行")]
    assert a_boc[col["融资需求(万元)"]] == 30 and a_boc[col["授信金额(万元)"]] == 25
    assert a_boc[col["累计放款(万元)"]] == 15 and a_boc[col["放款笔数"]] == 2
    assert a_boc[col["信用贷款"]] == "是" and a_boc[col["首贷"]] == "是" and a_boc[col["状态"]] == "已放款"
    today = timezone.localdate()
    assert a_boc[col["推送日期"]].date() == today
    assert a_boc[col["放款明细(日期 金额万元)"]] == f"{today} 10.00; {today} 5.00"
    # dates are shown as YYYY-MM-DD and amounts with two decimals
    date_cell = sheet.cell(row=5, column=col["推送日期"] + 1)
    assert date_cell.number_format == "yyyy-mm-dd"
    assert sheet.cell(row=5, column=col["融资需求(万元)"] + 1).number_format == "#,##0.00"
    # and the last row is the total
    total = values[-1]
    assert total[0] == "合计" and total[col["经营主体"]] == "共 3 条, 2 户, 2 笔融资需求"
    # A's need is in two rows (中国银行, 建设银行) and in the total once
    assert total[col["融资需求(万元)"]] == 42 and total[col["授信金额(万元)"]] == 25
    assert "融资需求按需求计一次" in values[1][0]
    assert total[col["累计放款(万元)"]] == 15 and total[col["放款笔数"]] == 2


def test_an_empty_ledger_still_exports_with_a_zero_total():
    sheet = _sheet(ledger.ledger_xlsx([], "空台账").content)
    values = _rows(sheet)
    assert values[-1][0] == "合计" and values[-1][1] == "共 0 条, 0 户, 0 笔融资需求"


def test_the_csv_has_a_bom_the_same_headers_and_amounts_in_wan(ledger_world):
    rows = ledger.ledger_rows(ledger_world.users["boc_admin"], {"state": "disbursed"})
    text = ledger.ledger_csv(rows).content.decode("utf-8")
    assert text.startswith("\ufeff序号,经营主体")
    lines = text.strip().splitlines()
    assert len(lines) == 2
    assert ",30.00," in lines[1] and ",25.00," in lines[1] and ",15.00," in lines[1]


# --- the API -------------------------------------------------------------------------------


def api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_ledger_api_lists_restricted_filtered_rows(ledger_world):
    body = api(ledger_world.users["boc_admin"]).get("/api/v1/ledger/", {"state": "disbursed"}).json()
    assert body["count"] == 1 and body["results"][0]["entity_name"] == "甲小吃店"
    assert body["results"][0]["credit_amount"] == 250_000
    assert api(ledger_world.users["ccb_admin"]).get("/api/v1/ledger/").json()["count"] == 1
    assert api(ledger_world.users["staff"]).get("/api/v1/ledger/totals/").json()["rows"] == 3
    response = api(ledger_world.users["staff"]).get("/api/v1/ledger/", {"period": "2026-13"})
    assert response.status_code == 400 and "period" in response.json()["errors"]


def test_ledger_xlsx_export_is_audited_and_restricted(ledger_world):
    client = api(ledger_world.users["ccb_admin"])
    response = client.get("/api/v1/ledger/export.xlsx/", {"bank": "ccb"}, HTTP_ACCEPT=ledger_xlsx_type())
    assert response.status_code == 200
    assert response["Content-Type"] == ledger_xlsx_type()
    assert "attachment" in response["Content-Disposition"] and ".xlsx" in response["Content-Disposition"]
    values = _rows(_sheet(response.content))
    assert len(values[4:-1]) == 1 and values[4][1] == "甲小吃店"
    event = AuditEvent.objects.get(action="ledger.export")
    assert (
        event.actor == ledger_world.users["ccb_admin"]
        and event.after["format"] == "xlsx"
        and event.after["filters"] == {"bank": "ccb"}
    )
    # the path without the trailing slash redirects to it
    assert client.get("/api/v1/ledger/export.xlsx").status_code == 301
    # bad filters answer the JSON error format whatever the client accepts
    response = client.get("/api/v1/ledger/export.xlsx/", {"period": "x"}, HTTP_ACCEPT=ledger_xlsx_type())
    assert response.status_code == 400 and b"period" in response.content


def test_ledger_csv_export(ledger_world):
    response = api(ledger_world.users["staff"]).get("/api/v1/ledger/export.csv/")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert len(response.content.decode("utf-8").strip().splitlines()) == 4
    assert AuditEvent.objects.filter(action="ledger.export", after__format="csv").exists()


def ledger_xlsx_type():
    return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def test_the_ledger_has_one_export_service_and_one_audit_record(ledger_world, tmp_path):
    from django.core.management import call_command

    staff = ledger_world.users["staff"]
    # the export service itself audits what it hands out — no page or command has to
    file = ledger.ledger_export(actor=staff, filters={"period": "2026"}, extension="csv")
    event = AuditEvent.objects.get(action="ledger.export")
    assert (
        event.actor == staff and event.after["rows"] == file.rows == 3 and event.after["filters"] == {"period": "2026"}
    )
    AuditEvent.objects.all().delete()
    # the API hands out the same file under the same record
    api_file = api(staff).get("/api/v1/ledger/export.csv/", {"period": "2026"})
    assert api_file.content == file.content
    api_event = AuditEvent.objects.get(action="ledger.export")
    assert api_event.after == event.after and api_event.actor == staff
    AuditEvent.objects.all().delete()
    # and the export_report command too: one ledger.export record, as the system, saying how
    out = tmp_path / "台账.csv"
    call_command("export_report", "ledger", "--period", "2026", "--region", "140525", "--out", str(out))
    command_event = AuditEvent.objects.get()
    assert command_event.action == "ledger.export" and command_event.actor is None
    assert command_event.after["rows"] == 3 and command_event.after["via"] == f"export_report --out {out}"
    assert command_event.after["filters"] == {"region": "140525", "period": "2026"}
