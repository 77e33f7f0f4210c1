"""Issue 13, findings 7 and 11a: every spreadsheet the portal hands out is written by the one
writer (portal.spreadsheets), so text typed into the portal never opens as a formula, and every
export of personal data is audited.

- A world whose text fields hold formulas (entity name, operator's name, purpose, decline
  note, account manager's name, branch and bank names, an import's file name and messages)
  is downloaded through EVERY export of the portal, pages and API, xlsx and csv: no xlsx cell
  is a formula (formula-like text is a string with Excel's quote prefix) and no csv field
  starts with a formula character unless prefixed with '.
- The census: every kind in spreadsheets.EXPORTS is downloaded here, every download came
  through spreadsheets.deliver() or download(), every URL that looks like a download is in DOWNLOADS, and no
  module but the writer imports openpyxl's writers or csv.writer or sets a Content-Disposition.
  A new export that bypasses the writer, or that nobody added here, turns this file red.
- Each personal-data export writes one audit event naming the actor, the export, its filters
  and row count, and resolves its rows through restrict(…, EXPORT) for its own model.
"""

from __future__ import annotations

import ast
import csv
import io
import re
from pathlib import Path
from urllib.parse import unquote

import pytest
from django.apps import apps
from django.db import connection
from django.test import Client
from django.urls import resolve
from openpyxl import load_workbook
from rest_framework.test import APIClient

from batch_matching.factories import build, run_inline
from campaigns import services as campaign_services
from campaigns.factories import open_campaign
from entities.models import EntityImport, MarketEntity
from matching import services as s
from matching.declaration_import import error_report_keep
from matching.factories import CRITERIA
from matching.models import Recommendation, RecommendationBatch
from portal import spreadsheets, tenancy, url_inventory
from portal.models import AuditEvent, Organisation
from products.models import Bank, BankBranch, LoanProduct

pytestmark = pytest.mark.django_db

HYPERLINK = '=HYPERLINK("http://x","y")'
DDE = "=cmd|' /C calc'!A0"
NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


@pytest.fixture
def formula_world(committed):
    """The batch-matching world (泽州 task force, boc and ccb branches, entities, a full run)
    with formulas in every text field an export shows; its workflow writes committed (the
    statistics index the reports read is synced by them)."""
    if connection.vendor != "postgresql":
        pytest.skip("the potential-customer export reads the PostgreSQL layout of stored results")
    batch_world = build(count=20)
    users = batch_world.users
    entity = batch_world.special["model"]
    MarketEntity.objects.filter(pk=entity.pk).update(
        name=HYPERLINK, operator_name="@SUM(A1)", operator_phone="13812345678"
    )
    run_inline()
    # a declaration of that entity, reviewed, signed off and pushed to boc and ccb
    with committed():
        declaration = s.declaration_create(
            actor=batch_world.special["enterprise_user"],
            entity_id=entity.pk,
            amount=300_000,
            term_months=12,
            purpose="-1+2",
            bank_codes=["boc", "ccb"],
            basic_criteria=CRITERIA,
            consent=True,
            submit=True,
        )
        for role in ("staff", "reviewer", "lead"):
            s.declaration_review(actor=users[role], declaration_id=declaration.pk, decision="approve")
        batch = s.batch_signoff(actor=users["convener"], declaration_ids=[declaration.pk], title="=1+1")
        s.batch_push(actor=users["convener"], batch_id=batch.pk)
        recs = {r.bank.code: r for r in Recommendation.objects.filter(declaration=declaration).select_related("bank")}
        s.recommendation_decline(
            actor=users["ccb_admin"], recommendation_id=recs["ccb"].pk, reason_code="operating_too_short", note="+1"
        )
        manager = users["boc_manager"]
        manager.first_name, manager.last_name = DDE, ""
        manager.save()
        s.recommendations_assign(actor=users["boc_admin"], recommendation_ids=[recs["boc"].pk], manager_id=manager.pk)
    BankBranch.objects.filter(pk=recs["boc"].branch_id).update(name="-泽州支行")
    Bank.objects.filter(code="ccb").update(name="@建设银行")
    # a finished register import whose file name and messages are formulas
    entity_import = EntityImport.objects.create(
        uploaded_by=users["staff"],
        organisation=batch_world.world.task_force,
        region_prefix="140525",
        file_name="\t=2+3.csv",
        content=b"",
        status="succeeded",
        rows=2,
        rejected=2,
        errors=[{"line": 2, "column": "名称", "message": "=1+1"}, {"line": 3, "column": None, "message": "@SUM(A1)"}],
    )
    # the weekly 成效统计表 of the city, stored
    from reporting import services as reporting_services

    city = Organisation.objects.get(pk=users["city"].memberships.get().organisation_id)
    scheduled = reporting_services.scheduled_report_build(organisation_id=city.pk)
    # a 批量申报 upload's refused lines, kept for the task-force staff who uploaded it
    errors_token = error_report_keep(
        actor=users["staff"],
        errors=[
            {"line": 2, "column": "企业名称", "message": "=1+1"},
            {"line": 3, "column": None, "message": "@SUM(A1)"},
        ],
        file_name="\t=2+3.xlsx",
    )
    # a running 大走访 campaign of 晋城 whose 泽州 targets include the entity named with a formula
    campaign = open_campaign(batch_world.world, name="=1+1 走访")
    campaign_services.targets_build(actor=users["staff"], campaign_id=campaign.pk)
    batch_world.ids = {
        "campaign": campaign.pk,
        "errors_token": errors_token,
        "batch": batch.pk,
        "import": entity_import.pk,
        "scheduled": scheduled.pk,
        "product": LoanProduct.objects.get(code="yanshang-e-dai").pk,
    }
    return batch_world


# (kind, who downloads, url, api?, the injected texts it must show)
def downloads(world) -> list[tuple[str, str, str, bool, set[str]]]:
    ids = world.ids
    entity_texts = {HYPERLINK, "@SUM(A1)"}
    ledger_texts = {HYPERLINK, "-1+2", "+1", DDE, "-泽州支行", "@建设银行"}
    out = [
        ("entity", "staff", "/entities/export.xlsx?region=140525", False, entity_texts),
        (
            "potential_customer",
            "boc_admin",
            f"/matching-batch/potential-customers/export.xlsx?product={ids['product']}",
            False,
            entity_texts,
        ),
        ("ledger", "staff", "/matching/ledger/?format=xlsx", False, ledger_texts),
        ("ledger", "staff", "/matching/ledger/?format=csv", False, ledger_texts),
        ("ledger", "staff", "/api/v1/ledger/export.xlsx/", True, ledger_texts),
        ("ledger", "staff", "/api/v1/ledger/export.csv/", True, ledger_texts),
        ("ledger", "city", "/reporting/export/ledger.xlsx", False, ledger_texts),
        ("ledger", "city", "/reporting/export/ledger.csv", False, ledger_texts),
        (
            "batch",
            "convener",
            f"/matching/batches/{ids['batch']}/?format=xlsx",
            False,
            {HYPERLINK, "-1+2", "-泽州支行", "@建设银行"},
        ),
        ("declaration", "staff", "/matching/declarations/export.xlsx", False, {HYPERLINK, "-1+2"}),
        (
            "declaration_import",
            "staff",
            f"/matching/declarations/import/?errors={ids['errors_token']}",
            False,
            {"=1+1", "@SUM(A1)"},
        ),
        (
            "entity_import",
            "staff",
            f"/entities/imports/{ids['import']}/errors.xlsx",
            False,
            {"\t=2+3.csv", "=1+1", "@SUM(A1)"},
        ),
        ("campaign.coverage", "city", f"/campaigns/{ids['campaign']}/export/coverage.xlsx", False, set()),
        ("campaign.targets", "staff", f"/campaigns/{ids['campaign']}/export/targets.xlsx", False, {HYPERLINK}),
        ("reporting.scheduled", "city", f"/reporting/reports/{ids['scheduled']}/download/", False, set()),
        # the 工作简报 (its bank ranking names the banks)
        ("reporting.brief", "city", "/reporting/brief/?format=xlsx", False, {"@建设银行"}),
        # the audit log: its object names and changes hold what users typed (checked for formulas)
        ("audit", "city", "/audit/?format=xlsx", False, set()),
        ("register_template", "staff", "/entities/imports/template/", False, set()),
        ("register_template", "staff", "/entities/imports/template/?format=csv", False, set()),
        ("declaration_template", "staff", "/matching/declarations/import/?template=1", False, set()),
        ("declaration_template", "staff", "/api/v1/declarations/import-template/", True, set()),
    ]
    for extension in ("xlsx", "csv"):
        out.append(
            (
                "reporting.effectiveness",
                "city",
                f"/reporting/export/effectiveness.{extension}?by=bank",
                False,
                {"@建设银行"},
            )
        )
        out.append(("reporting.effectiveness", "city", f"/reporting/export/effectiveness.{extension}", False, set()))
        out.append(("reporting.ranking", "city", f"/reporting/export/ranking.{extension}", False, {"@建设银行"}))
        out.append(("reporting.renewals", "city", f"/reporting/export/renewals.{extension}", False, set()))
        from reporting.dashboard import TABLE_NAMES

        for name in TABLE_NAMES:
            out.append(
                (
                    "reporting.table",
                    "city",
                    f"/reporting/tables/{name}.{extension}",
                    False,
                    {"@建设银行"} if name == "ranking" else set(),
                )
            )
    return out


# URLs that serve files but are not spreadsheets the portal writes
NOT_SPREADSHEETS = {
    "matching:material_download": "an uploaded material (PDF/JPG/PNG) served as stored",
    "material-download": "the API of the same",
}
_DOWNLOAD_LIKE = re.compile(r"export|template|errors|download|xlsx|csv|extension")


def _client(user, api: bool):
    client = APIClient() if api else Client()
    client.force_login(user)
    return client


def _cells(content: bytes):
    workbook = load_workbook(io.BytesIO(content))
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows():
            yield from row


def _fields(content: bytes):
    assert content.startswith("\ufeff".encode()), "csv without BOM"
    for row in csv.reader(io.StringIO(content.decode("utf-8-sig"), newline="")):
        yield from row


def test_no_export_opens_text_as_a_formula(formula_world):
    # given a formula_world whose text fields hold formulas
    seen_kinds, seen_routes = set(), set()
    for kind, who, url, api, texts in downloads(formula_world):
        # when each export is downloaded by someone who sees the data
        response = _client(formula_world.users[who], api).get(url)
        assert response.status_code == 200, (url, response.status_code)
        assert getattr(response, "export_kind", None) == kind, (
            f"{url} did not answer through spreadsheets.deliver() / download()"
        )
        seen_kinds.add(kind)
        seen_routes.add(resolve(url.split("?")[0]).view_name)
        # and its file is named in Chinese (issue 16 item 19: 推荐清单-2.xlsx, not recommendation-list-2.xlsx)
        filename = unquote(response["Content-Disposition"].split("filename*=UTF-8''", 1)[1])
        assert re.search(r"[\u4e00-\u9fff]", filename) and not re.search(r"[A-Za-z]{3,}", filename.rsplit(".", 1)[0]), (
            url,
            filename,
        )
        content = response.content
        found = set()
        if content[:4] == b"PK\x03\x04":
            # then no xlsx cell is a formula; formula-like text is a string carrying the quote prefix
            for cell in _cells(content):
                assert cell.data_type != "f", (url, cell.coordinate, cell.value)
                if isinstance(cell.value, str):
                    found.add(cell.value)
                    if spreadsheets.formula_like(cell.value):
                        assert cell.data_type == "s" and cell.quotePrefix, (url, cell.coordinate, cell.value)
        else:
            # and no csv field starts with a formula character unless prefixed with '
            for field in _fields(content):
                assert not spreadsheets.formula_like(field) or NUMBER.match(field), (url, field)
                found.add(field[1:] if field.startswith("'") and spreadsheets.formula_like(field[1:]) else field)
        # and the injected texts are there, as the text they are
        assert texts <= found, (url, texts - found)
    # the census: every kind of export was downloaded, every download-like URL was tried
    assert seen_kinds == set(spreadsheets.EXPORTS)
    for endpoint in url_inventory.walk():
        view_name = f"{endpoint.namespace}:{endpoint.name}" if endpoint.namespace else endpoint.name
        if _DOWNLOAD_LIKE.search(f"{endpoint.route} {endpoint.name or ''}") and view_name not in NOT_SPREADSHEETS:
            assert view_name in seen_routes, f"{endpoint.route} looks like a download: add it to downloads() here"


def test_numbers_and_dates_stay_numbers_and_dates(formula_world):
    # given the ledger of the county
    response = _client(formula_world.users["staff"], False).get("/matching/ledger/?format=xlsx")
    sheet = load_workbook(io.BytesIO(response.content))["台账"]
    header = [c.value for c in sheet[4]]
    row = [c for c in sheet[5]]
    # then amounts are numbers in 万元 with two decimals and dates are dates
    need = row[header.index("融资需求(万元)")]
    assert need.data_type == "n" and need.value == 30 and need.number_format == "#,##0.00"
    assert row[header.index("推送日期")].is_date
    # and in csv a negative figure is a number, not a neutralised text
    assert spreadsheets.csv_field(-1.5) == -1.5 and spreadsheets.csv_field("-1.5") == "'-1.5"


PERSONAL = sorted(name for name, export in spreadsheets.EXPORTS.items() if export.personal_data)


def test_the_personal_data_exports_are_the_row_exports():
    # the decision, in one place: exports naming entities or people hold personal data
    assert PERSONAL == ["audit", "batch", "campaign.targets", "declaration", "entity", "ledger", "potential_customer"]
    assert all(spreadsheets.EXPORTS[name].model for name in PERSONAL)


@pytest.mark.parametrize("kind", PERSONAL)
def test_each_personal_data_export_is_audited_once_and_resolved_for_export(formula_world, kind):
    export = spreadsheets.EXPORTS[kind]
    model = apps.get_model(export.model)
    for _, who, url, api, _ in [d for d in downloads(formula_world) if d[0] == kind]:
        user = formula_world.users[who]
        AuditEvent.objects.filter(action=export.action).delete()
        seen = []
        undo = tenancy.observe(lambda m, scope, action: seen.append((m, action)))
        try:
            # when the export is downloaded
            response = _client(user, api).get(url)
        finally:
            undo()
        assert response.status_code == 200
        # then one audit event names the actor, the export, its filters and its row count
        events = list(AuditEvent.objects.filter(action=export.action))
        assert len(events) == 1, url
        event = events[0]
        assert event.actor == user and event.after["export"] == export.title and event.after["personal_data"] is True
        assert event.after["rows"] == _data_rows(response.content, kind) > 0, url
        assert event.after["format"] in ("xlsx", "csv") and isinstance(event.after["filters"], dict)
        # and its rows were resolved through restrict(…, EXPORT) for its own model
        assert (model, tenancy.EXPORT) in seen, (url, export.model)
    if kind == "entity":
        assert event.after["filters"] == {"region": "140525"}
    if kind == "batch":
        assert (
            event.object_id == str(formula_world.ids["batch"])
            and event.object_type.model_class() is RecommendationBatch
        )


def _data_rows(content: bytes, kind: str) -> int:
    if content[:4] != b"PK\x03\x04":
        return sum(1 for _ in csv.reader(io.StringIO(content.decode("utf-8-sig")))) - 1
    rows = list(load_workbook(io.BytesIO(content)).worksheets[0].iter_rows(values_only=True))
    if kind == "entity":  # a plain table: a header row, then the entities
        return len(rows) - 1
    return sum(1 for row in rows if row and isinstance(row[0], int))  # numbered (序号) rows


def test_the_ledger_page_api_and_reports_page_are_one_export(formula_world):
    # given the same filters on the ledger page, the API and the reports page
    from django.utils import timezone

    year = str(timezone.localdate().year)
    urls = [
        ("/matching/ledger/?format=csv&period=" + year, False),
        ("/api/v1/ledger/export.csv/?period=" + year, True),
        ("/reporting/export/ledger.csv?period=" + year, False),
    ]
    bodies, afters = [], []
    for url, api in urls:
        AuditEvent.objects.filter(action="ledger.export").delete()
        # when each is downloaded by the city regulator
        response = _client(formula_world.users["city"], api).get(url)
        assert response.status_code == 200, url
        bodies.append(response.content)
        afters.append(AuditEvent.objects.get(action="ledger.export").after)
    # then the three files are the same file, audited the same way
    assert bodies[0] == bodies[1] == bodies[2] and bodies[0].count(b"\r\n") == 3  # header + 2 recommendations
    assert afters[0] == afters[1] == afters[2]
    assert afters[0]["filters"] == {"period": year} and afters[0]["rows"] == 2


def test_an_export_the_actor_may_not_export_is_not_found(formula_world):
    # given a bank administrator, who sees no recommendation batch of the county
    client = _client(formula_world.users["boc_admin"], False)
    before = AuditEvent.objects.filter(action="batch.export").count()
    # when he asks for the county's 推荐清单
    response = client.get(f"/matching/batches/{formula_world.ids['batch']}/?format=xlsx")
    # then it does not exist for him, and nothing was exported
    assert response.status_code == 404
    assert AuditEvent.objects.filter(action="batch.export").count() == before


def test_the_audit_log_lists_every_export(formula_world):
    # given a few exports
    for _, who, url, api, _ in downloads(formula_world)[:3]:
        _client(formula_world.users[who], api).get(url)
    platform = Client()
    from portal.factories import user_with_role
    from portal.models import Role

    platform.force_login(user_with_role(Role.PLATFORM_ADMIN))
    # when the platform administrator filters the audit log by *.export
    html = platform.get("/audit/?action=*.export").content.decode()
    # then each export is listed
    for action in ("entity.export", "potential_customer.export", "ledger.export"):
        assert action in html


# --- no other writer --------------------------------------------------------------------------

ROOT = Path(__file__).resolve().parent.parent
WRITER = "portal/spreadsheets.py"
# modules that may use csv.writer / openpyxl for something other than a file the portal hands out
ALLOWED = {
    "entities/management/commands/generate_entities.py": "writes a synthetic register file for load tests (an "
    "import's input)",
    "entities/factories.py": "builds register files for the import tests (an import's input, as users' files are)",
    "matching/factories.py": "builds 批量申报 files for the import tests (an import's input, as users' files are)",
}
OPENPYXL_READERS = {"load_workbook"}


def _portal_modules():
    for path in sorted(ROOT.rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        parts = relative.split("/")
        if (
            parts[0] in {".venv", "node_modules", "tests", "bench", "scripts", "var", "staticfiles"}
            or "tests" in parts
            or "migrations" in parts
            or parts[-1].startswith("test_")
            or parts[-1] == "conftest.py"
        ):
            continue
        yield relative, path


def writer_violations(source: str) -> list[str]:
    """What in a module writes spreadsheets or attachments other than through the writer."""
    problems = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "openpyxl":
            names = {alias.name for alias in node.names}
            if node.module != "openpyxl" or names - OPENPYXL_READERS:
                problems.append(f"line {node.lineno}: from {node.module} import {', '.join(sorted(names))}")
        elif isinstance(node, ast.Import) and any(alias.name.split(".")[0] == "openpyxl" for alias in node.names):
            problems.append(f"line {node.lineno}: import openpyxl")
        elif (
            isinstance(node, ast.ImportFrom)
            and node.module == "csv"
            and {a.name for a in node.names} & {"writer", "DictWriter"}
        ):
            problems.append(f"line {node.lineno}: from csv import writer")
        elif (
            isinstance(node, ast.Attribute)
            and node.attr in {"writer", "DictWriter"}
            and isinstance(node.value, ast.Name)
            and node.value.id == "csv"
        ):
            problems.append(f"line {node.lineno}: csv.{node.attr}")
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and "content-disposition" in node.value.lower()
        ):
            problems.append(f"line {node.lineno}: sets a Content-Disposition")
    return problems


def test_no_module_but_the_writer_writes_spreadsheets():
    # given every module of the portal (tests, migrations and benchmarks aside)
    found = {}
    modules = 0
    for relative, path in _portal_modules():
        modules += 1
        if relative == WRITER or relative in ALLOWED:
            continue
        problems = writer_violations(path.read_text(encoding="utf-8"))
        if problems:
            found[relative] = problems
    # then none writes xlsx or csv, or answers an attachment, except through portal.spreadsheets
    assert modules > 50
    assert found == {}, found


def test_the_check_catches_a_writer_outside_the_writer():
    # given modules that write spreadsheets themselves
    assert writer_violations("from openpyxl import Workbook\n")
    assert writer_violations("from openpyxl.styles import Font\n")
    assert writer_violations("import csv\nw = csv.writer(f)\n")
    assert writer_violations("r = HttpResponse(b'')\nr['Content-Disposition'] = 'attachment'\n")
    # and readers, which are fine
    assert not writer_violations("from openpyxl import load_workbook\nimport csv\nr = csv.reader(f)\n")


# --- the writer itself -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text,risky",
    [
        (HYPERLINK, True),
        ("+1", True),
        ("-1+2", True),
        ("@SUM(A1)", True),
        ("\t=1", True),
        ("\rx", True),
        ("  =1", True),
        ("＝1+1", True),
        ("泽州县金辉小吃店", False),
        ("138****5678", False),
        ("2026-03-01", False),
        ("—", False),
        ("", False),
    ],
)
def test_formula_like_text(text, risky):
    assert spreadsheets.formula_like(text) is risky
    assert spreadsheets.csv_field(text) == ("'" + text if risky else text)


def test_a_text_xlsx_cannot_hold_is_cleaned_not_refused():
    # given a name with a control character openpyxl refuses
    book = spreadsheets.Book()
    book.sheet("x").append(["泽州\x07小吃店", "=1+1"])
    # when written, then the file opens with the text (without the character), as text
    cells = list(_cells(book.content()))
    assert cells[0].value == "泽州小吃店" and cells[1].value == "=1+1" and cells[1].data_type == "s"
