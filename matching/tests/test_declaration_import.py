"""批量申报 from a spreadsheet filled after visits: good rows in, bad rows reported with line,
column and reason; unreadable files and missing headers import nothing."""

import datetime as dt
import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.utils import timezone
from openpyxl import Workbook, load_workbook
from rest_framework.test import APIClient

from entities.models import MarketEntity
from matching import services as s
from matching.declaration_import import (
    HEADERS,
    DeclarationImportError,
    declaration_import_template,
    declarations_import,
)
from matching.models import Declaration, DeclarationSource, DeclarationState, Visit
from portal.factories import user_with_role
from portal.models import AuditEvent, Role
from portal.services import ApplicationError
from products.factories import valid_uscc

pytestmark = pytest.mark.django_db


def xlsx(rows, headers=HEADERS) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(list(headers))
    for row in rows:
        sheet.append(list(row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def row(
    uscc,
    amount="30",
    term="12",
    purpose="进货周转",
    bank1="中国银行",
    bank2="",
    criteria="是",
    consent="是",
    visited="",
    people="",
    note="",
    unmet="",
    exception="",
    repayment="",
):
    return [
        uscc,
        amount,
        term,
        purpose,
        bank1,
        bank2,
        criteria,
        consent,
        visited,
        people,
        note,
        unmet,
        exception,
        repayment,
    ]


def entity_elsewhere(name="沁水县小店", county="140521"):
    return MarketEntity.objects.create(
        uscc=valid_uscc(),
        name=name,
        entity_type="individual_business",
        register_status="active",
        established_on=dt.date(2020, 5, 1),
        region_id=county,
        industry_id="6210",
    )


def errors_by_line(summary):
    out = {}
    for error in summary["errors"]:
        out.setdefault(error["line"], []).append((error["column"], error["message"]))
    return out


def test_good_rows_in_bad_rows_reported(world):
    staff = world.users["staff"]
    good = [world.entity(name=f"好{i}", with_user=False)[0] for i in range(3)]
    busy, busy_user = world.entity(name="已申报")
    s.declaration_create(
        actor=busy_user, entity_id=busy.pk, amount=100_000, term_months=6, purpose="x", bank_codes=["boc"]
    )
    dup = world.entity(name="重复", with_user=False)[0]
    elsewhere = entity_elsewhere()
    today = timezone.localdate()
    rows = [
        # line 2: submitted (criteria and consent), with a visit; Chinese names of both banks
        row(
            good[0].uscc,
            amount="12.5",
            bank1="中国银行",
            bank2="建设银行",
            visited=today.isoformat(),
            people="周干事、吴经理",
            note="需要流动资金",
        ),
        # line 3: a draft (criteria not verified), bank given by code, a real date cell
        row(good[1].uscc, criteria="否", bank1="ccb", visited=today, people="周干事"),
        # line 4: a draft (no consent), 山西省农村信用社 by its full name
        row(good[2].uscc.lower(), consent="否", bank1="山西省农村信用社", note="下周补充材料"),
        # line 5: unknown code; line 6: another county's entity; line 7: an open declaration already
        row("91140525MA0000000X"),
        row(elsewhere.uscc),
        row(busy.uscc),
        # line 8: unknown bank, amount 0, term 0
        row(dup.uscc, amount="0", term="0", bank1="火星银行"),
        # line 9: three banks; line 10: the same bank twice; line 11: not 是/否; line 12: visit in the future
        # without people
        row(dup.uscc, bank1="中国银行、建设银行", bank2="山西银行"),
        row(dup.uscc, bank1="中国银行", bank2="boc"),
        row(dup.uscc, criteria="也许"),
        row(dup.uscc, visited=(today + dt.timedelta(days=3)).isoformat()),
        # line 13: empty row is skipped, not counted
        [""] * len(HEADERS),
        # line 14: good (first of dup); line 15: the same entity again in the file
        row(dup.uscc, amount="abc"),
        row(dup.uscc),
        row(dup.uscc),
    ]
    summary = declarations_import(actor=staff, content=xlsx(rows), file_name="走访后申报.xlsx")

    assert summary["rows"] == 14 and summary["created"] == 4 and summary["rejected"] == 10
    assert summary["submitted"] == 2 and summary["drafts"] == 2
    by_line = errors_by_line(summary)
    assert set(by_line) == {5, 6, 7, 8, 9, 10, 11, 12, 14, 16}
    assert by_line[5] == [("统一社会信用代码", by_line[5][0][1])] and "校验位" in by_line[5][0][1]
    assert "不在您的辖区" in by_line[6][0][1]
    assert "已有进行中的申报" in by_line[7][0][1]
    columns_8 = {c for c, _ in by_line[8]}
    assert columns_8 == {"融资金额(万元)", "期限(月)", "意向银行1"} and any("火星银行" in m for _, m in by_line[8])
    assert "最多 2 家" in by_line[9][0][1]
    assert by_line[10] == [("意向银行2", "意向对接银行不能重复")]
    assert by_line[11][0][0] == "五项基本标准已核实(是/否)"
    assert {c for c, _ in by_line[12]} == {"走访日期", "走访人员"}
    assert by_line[14] == [("融资金额(万元)", "融资金额应为数字(单位: 万元)")]
    assert "与第 15 行是同一经营主体" in by_line[16][0][1]

    created = {d["line"]: Declaration.objects.get(pk=d["id"]) for d in summary["declarations"]}
    assert set(created) == {2, 3, 4, 15}
    first = created[2]
    assert first.state == DeclarationState.SUBMITTED and first.source == DeclarationSource.BULK_IMPORT
    assert first.amount == 125_000 and first.entity == good[0]
    assert list(first.intended_banks.values_list("bank__code", flat=True)) == ["boc", "ccb"]
    assert all(c["met"] for c in first.basic_criteria.values()) and first.consent_given_at is not None
    assert first.visit.people == "周干事、吴经理" and first.visit.findings == "需要流动资金" and first.visit.need_found
    assert created[3].state == DeclarationState.DRAFT and created[3].visit.visited_on == today
    assert list(created[3].intended_banks.values_list("bank__code", flat=True)) == ["ccb"]
    assert created[4].state == DeclarationState.DRAFT and created[4].consent_given_at is None
    assert created[4].last_comment == "下周补充材料" and created[4].visit is None
    assert list(created[4].intended_banks.values_list("bank__code", flat=True)) == ["sxrcc"]
    assert Visit.objects.count() == 2
    assert AuditEvent.objects.get(action="declaration.import").after["created"] == 4


def test_importing_the_same_file_twice_creates_nothing_twice(world):
    entity = world.entity(with_user=False)[0]
    content = xlsx([row(entity.uscc)])
    assert declarations_import(actor=world.users["staff"], content=content)["created"] == 1
    again = declarations_import(actor=world.users["staff"], content=content)
    assert again["created"] == 0 and again["rejected"] == 1 and "已有进行中的申报" in again["errors"][0]["message"]
    assert Declaration.objects.filter(entity=entity).count() == 1


def test_columns_may_come_in_any_order_and_csv_works(world):
    entity = world.entity(with_user=False)[0]
    headers = list(reversed(HEADERS))
    values = list(reversed(row(entity.uscc, bank1="建行")))
    text = ",".join(headers) + "\n" + ",".join(values) + "\n"
    summary = declarations_import(actor=world.users["staff"], content=text.encode("utf-8-sig"))
    assert summary["created"] == 1, summary
    assert Declaration.objects.get(entity=entity).intended_banks.get().bank.code == "ccb"


@pytest.mark.parametrize(
    "content,message",
    [
        (b"", "文件为空"),
        (b"\x00\x01\x02garbage\xff\xfe", "无法读取文件"),
        (b"PK\x03\x04broken zip", "XLSX 文件已损坏"),
    ],
)
def test_unreadable_files_import_nothing(world, content, message):
    with pytest.raises(DeclarationImportError, match=message):
        declarations_import(actor=world.users["staff"], content=content)
    assert not Declaration.objects.exists()


def test_missing_headers_import_nothing(world):
    entity = world.entity(with_user=False)[0]
    headers = [h for h in HEADERS if h != "意向银行1"]
    content = xlsx([[entity.uscc, "30", "12", "x", "", "是", "是", "", "", ""]], headers=headers)
    with pytest.raises(DeclarationImportError, match="表头缺少列: 意向银行1"):
        declarations_import(actor=world.users["staff"], content=content)
    assert not Declaration.objects.exists()


def test_only_task_force_staff_import(world):
    # the lead reviews (组长审核) and never files: the workflow table's FILE rule
    for actor in (world.users["boc_admin"], world.users["convener"], world.users["lead"], world.entity()[1]):
        with pytest.raises(ApplicationError) as error:
            declarations_import(actor=actor, content=xlsx([]))
        assert error.value.code == "permission_denied"
    assert declarations_import(actor=world.users["staff"], content=xlsx([]))["rows"] == 0


def test_the_template_has_the_headers_and_imports_as_empty(world):
    content = declaration_import_template()
    workbook = load_workbook(io.BytesIO(content))
    assert [c.value for c in workbook["批量申报"][1]] == list(HEADERS)
    assert "填写说明" in workbook.sheetnames
    assert declarations_import(actor=world.users["staff"], content=content) == {
        "rows": 0,
        "created": 0,
        "submitted": 0,
        "drafts": 0,
        "rejected": 0,
        "errors": [],
        "declarations": [],
    }


# --- the command -----------------------------------------------------------------------------


def test_the_command_prints_the_summary_as_json(world, tmp_path, capsys):
    entity = world.entity(with_user=False)[0]
    path = tmp_path / "申报.xlsx"
    path.write_bytes(xlsx([row(entity.uscc), row("91140525MA0000000X")]))
    call_command("import_declarations", str(path), "--user", world.users["staff"].username)
    summary = json.loads(capsys.readouterr().out)
    assert summary["rows"] == 2 and summary["created"] == 1 and summary["rejected"] == 1
    assert summary["errors"][0]["line"] == 3


def test_the_command_exits_2_for_an_unreadable_file_or_missing_headers(world, tmp_path):
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(xlsx([], headers=["名称", "金额"]))
    with pytest.raises(SystemExit) as exit_info:
        call_command("import_declarations", str(bad), "--user", world.users["staff"].username)
    assert exit_info.value.code == 2
    with pytest.raises(SystemExit) as exit_info:
        call_command("import_declarations", str(tmp_path / "missing.xlsx"), "--user", world.users["staff"].username)
    assert exit_info.value.code == 2
    template = tmp_path / "template.xlsx"
    call_command("import_declarations", "--template", str(template))
    assert load_workbook(template)["批量申报"]["A1"].value == "统一社会信用代码"


# --- the API -------------------------------------------------------------------------------


def api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_the_api_imports_and_answers_the_summary(world):
    entity = world.entity(with_user=False)[0]
    upload = SimpleUploadedFile("申报.xlsx", xlsx([row(entity.uscc), row(entity.uscc)]))
    response = api(world.users["staff"]).post("/api/v1/declarations/import/", {"file": upload}, format="multipart")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["created"] == 1 and body["rejected"] == 1 and body["errors"][0]["line"] == 3
    assert body["errors"][0]["column"] == "统一社会信用代码"


def test_the_api_refuses_bad_files_and_other_roles(world):
    response = api(world.users["staff"]).post(
        "/api/v1/declarations/import/", {"file": SimpleUploadedFile("x.xlsx", b"PK\x03\x04zz")}, format="multipart"
    )
    assert response.status_code == 400 and "无法读取文件" in response.json()["message"]
    response = api(world.users["staff"]).post("/api/v1/declarations/import/", {}, format="multipart")
    assert response.status_code == 400 and "file" in response.json()["errors"]
    response = api(world.users["boc_admin"]).post(
        "/api/v1/declarations/import/", {"file": SimpleUploadedFile("x.xlsx", xlsx([]))}, format="multipart"
    )
    assert response.status_code == 403 and response.json()["code"] == "permission_denied"
    response = api(world.users["staff"]).get("/api/v1/declarations/import-template/")
    assert response.status_code == 200 and response.content[:2] == b"PK"
    other = user_with_role(Role.TASK_FORCE_STAFF, region_code="140521")
    entity = world.entity(with_user=False)[0]
    body = (
        api(other)
        .post(
            "/api/v1/declarations/import/",
            {"file": SimpleUploadedFile("x.xlsx", xlsx([row(entity.uscc)]))},
            format="multipart",
        )
        .json()
    )
    assert body["created"] == 0 and "不在您的辖区" in body["errors"][0]["message"]


def test_a_code_registered_in_another_county_is_reported_exactly_like_an_unknown_code(world):
    # given an entity of 沁水 (another county) and a well-formed code the register does not know
    elsewhere = entity_elsewhere()
    unknown = valid_uscc()
    assert not MarketEntity.objects.filter(uscc=unknown).exists()

    # when the 泽州 task force imports a file naming both
    summary = declarations_import(
        actor=world.users["staff"], content=xlsx([row(elsewhere.uscc), row(unknown)]), file_name="x.xlsx"
    )

    # then both rows are rejected with one and the same message (only the code differs), and
    # nothing is declared for the other county's entity
    by_line = errors_by_line(summary)
    assert summary["created"] == 0 and summary["rejected"] == 2
    ((column_2, message_2),) = by_line[2]
    ((column_3, message_3),) = by_line[3]
    assert column_2 == column_3 == "统一社会信用代码"
    assert message_2.replace(elsewhere.uscc, "<代码>") == message_3.replace(unknown, "<代码>")
    assert elsewhere.name not in message_2 and "沁水" not in message_2
    assert not Declaration.objects.filter(entity=elsewhere).exists()
