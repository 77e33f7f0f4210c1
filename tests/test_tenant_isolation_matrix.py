"""The tenant-isolation matrix, generated from the URL configuration (pages and the API):
every endpoint × every role of one county (泽州, 晋城) × an object belonging to another
organisation (新荣区, 大同) → 403/404/405, never its data. Lists, exports and searches must
not show the other organisation's rows. A new endpoint is covered without anyone
remembering: an endpoint with arguments that this file cannot map fails the test."""
import datetime as dt
import io
import re
from dataclasses import dataclass

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from entities.models import EntityImport, MarketEntity
from matching import services as s
from matching.materials import material_upload
from matching.models import Notification, Recommendation
from matching.tests.test_workflow_services import CRITERIA, pushed
from matching.tests.workflow_world import build_world, valid_uscc
from portal import url_inventory
from portal.factories import OrganisationFactory, region, user_with_role
from portal.models import AuditEvent, Organisation, OrganisationKind, Role
from portal.tokens import api_token_issue
from products.models import Bank, BankBranch, BranchLevel

pytestmark = pytest.mark.django_db

OTHER_NAME = "大同新荣隔离测试商店"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64

# endpoints whose objects are public reference data or the caller's own catalogue: no tenant object
PUBLIC = [
    r"^workdays/", r"^products/", r"^api/v1/\^(banks|branches|products|decline-reasons)",
    # report kind and file format, no object: what they contain is the caller's own scope (reporting/tests)
    r"^reporting/(tables|export)/",
]


@dataclass
class Other:
    entity: MarketEntity
    declaration: object
    recommendation: Recommendation
    batch: object
    material: object
    visit: object
    notification: Notification
    audit_event: AuditEvent
    task_force: Organisation
    entity_import: EntityImport
    bank_report: object
    scheduled_report: object
    api_token: object


def build_other() -> Other:
    """Another city's task force, enterprise and bank branch, with a pushed, declined lead."""
    province = Organisation.objects.get(kind=OrganisationKind.PROVINCE_MECHANISM)
    city = OrganisationFactory(kind=OrganisationKind.CITY_MECHANISM, region=region("140200"), parent=province, name="大同市机制")
    county = OrganisationFactory(kind=OrganisationKind.COUNTY_MECHANISM, region=region("140212"), parent=city, name="新荣区机制")
    task_force = OrganisationFactory(kind=OrganisationKind.TASK_FORCE, region=region("140212"), parent=county, name="新荣区专班")
    staff = user_with_role(Role.TASK_FORCE_STAFF, organisation=task_force, username="other-staff")
    reviewer = user_with_role(Role.TASK_FORCE_BANK_REVIEWER, organisation=task_force, username="other-reviewer")
    lead = user_with_role(Role.TASK_FORCE_LEAD, organisation=task_force, username="other-lead")
    convener = user_with_role(Role.CONVENER, organisation=county, username="other-convener")
    jshb = Bank.objects.get(code="jshb")
    datong = BankBranch.objects.get(bank=jshb, level=BranchLevel.CITY, region_id="140200")
    bank_admin = user_with_role(Role.BANK_ADMIN, organisation=datong.organisation, username="other-bank-admin")
    org = OrganisationFactory(kind=OrganisationKind.ENTERPRISE, region=region("140212"), name=OTHER_NAME)
    entity = MarketEntity.objects.create(
        uscc=valid_uscc().replace("140525", "140212"), name=OTHER_NAME, entity_type="individual_business",
        register_status="active", established_on=dt.date(2019, 1, 1), region_id="140212", industry_id="5211",
        annual_revenue=700_000, organisation=org, operator_name="隔离某", operator_phone="13912345678",
    )
    owner = user_with_role(Role.ENTERPRISE_USER, organisation=org, username="other-enterprise")
    visit = s.visit_record(actor=staff, entity_id=entity.pk, visited_on=dt.date.today(), people="隔离测试", need_found=True)
    declaration = s.declaration_create(actor=owner, entity_id=entity.pk, amount=120_000, term_months=12, purpose="隔离测试用途",
                                       bank_codes=["jshb"], basic_criteria=CRITERIA, consent=True, submit=True)
    material = material_upload(actor=owner, declaration_id=declaration.pk,
                               uploaded_file=SimpleUploadedFile("营业执照.png", PNG, content_type="image/png"))
    for actor in (staff, reviewer, lead):
        s.declaration_review(actor=actor, declaration_id=declaration.pk, decision="approve")
    batch = s.batch_signoff(actor=convener, declaration_ids=[declaration.pk])
    s.batch_push(actor=convener, batch_id=batch.pk)
    recommendation = Recommendation.objects.get(declaration=declaration)
    s.recommendation_decline(actor=bank_admin, recommendation_id=recommendation.pk, reason_code="high_debt")
    entity_import = EntityImport.objects.create(uploaded_by=staff, organisation=task_force, region_prefix="140212",
                                                file_name="新荣名录.csv", content=b"")
    from django.core.files.base import ContentFile

    from reporting.models import ScheduledReport
    from reporting.services import bank_report_submit

    bank_report = bank_report_submit(actor=bank_admin, branch_id=datong.pk, period=dt.date.today().strftime("%Y-%m"),
                                     small_business_balance=1, all_loans_balance=2, credit_loan_balance=0, average_rate=4)
    scheduled_report = ScheduledReport(organisation=county, region=county.region, week="2026-W01", period="2026",
                                       as_of=dt.datetime.now(dt.timezone.utc), filename=f"{OTHER_NAME}.xlsx")
    scheduled_report.file.save("other.xlsx", ContentFile(OTHER_NAME.encode()), save=True)
    return Other(
        entity=entity, declaration=declaration, recommendation=recommendation, batch=batch, material=material, visit=visit,
        notification=Notification.objects.filter(recipient=owner).first(), task_force=task_force,
        audit_event=AuditEvent.objects.filter(actor=staff).first(), entity_import=entity_import,
        bank_report=bank_report, scheduled_report=scheduled_report,
        api_token=api_token_issue(actor=bank_admin, name=f"{OTHER_NAME}系统")[0],
    )


def object_for(route: str, other: Other):
    """The other organisation's object an endpoint with arguments is about."""
    table = [
        (r"^entities/imports/", other.entity_import),
        (r"^entities/", other.entity),
        (r"^matching/declarations/", other.declaration),
        (r"^matching/batches/", other.batch),
        (r"^matching/leads/", other.recommendation),
        (r"^matching/materials/", other.material),
        (r"^api/v1/\^organisations", other.task_force),
        (r"^api/v1/\^audit-events", other.audit_event),
        (r"^api/v1/\^entities", other.entity),
        (r"^api/v1/\^declarations", other.declaration),
        (r"^api/v1/\^materials", other.material),
        (r"^api/v1/\^batches", other.batch),
        (r"^api/v1/\^leads", other.recommendation),
        (r"^api/v1/\^visits", other.visit),
        (r"^api/v1/\^notifications", other.notification),
        (r"^reporting/reports/", other.scheduled_report),
        (r"^api/v1/\^scheduled-reports", other.scheduled_report),
        (r"^api/v1/\^bank-reports", other.bank_report),
        (r"^accounts/tokens/", other.api_token),
        (r"^api/v1/\^tokens", other.api_token),
    ]
    for pattern, obj in table:
        if re.search(pattern, route):
            return obj
    return None


def url_of(endpoint, obj) -> str:
    name = f"{endpoint.namespace}:{endpoint.name}" if endpoint.namespace else endpoint.name
    kwargs = {}
    for key in endpoint_kwargs(endpoint):
        if key == "pk":
            kwargs[key] = obj.pk
        elif key == "action":
            kwargs[key] = "contact" if "leads" in endpoint.route else "review"
        else:
            kwargs[key] = getattr(obj, key)
    return reverse(name, kwargs=kwargs)


def endpoint_kwargs(endpoint) -> list[str]:
    return re.findall(r"\(\?P<(\w+)>", endpoint.route) + re.findall(r"<(?:\w+:)?(\w+)>", endpoint.route)


@pytest.fixture
def worlds():
    world = build_world()
    declaration, enterprise_user, recs = pushed(world)
    world.users["enterprise"] = enterprise_user
    other = build_other()
    return world, other


def secrets_of(other: Other) -> list[str]:
    return [OTHER_NAME, other.entity.uscc, "隔离测试用途", "13912345678", "营业执照.png"]


def test_every_endpoint_refuses_another_organisations_object_for_every_role(worlds):
    world, other = worlds
    endpoints = [e for e in url_inventory.walk() if e.needs_args and "(?P<format>" not in e.route]
    unmapped, leaks, checked = [], [], 0
    for endpoint in endpoints:
        if any(re.search(p, endpoint.route) for p in PUBLIC):
            continue
        obj = object_for(endpoint.route, other)
        if obj is None:
            unmapped.append(endpoint.route)
            continue
        url = url_of(endpoint, obj)
        for role_name, user in world.users.items():
            client = Client()
            client.force_login(user)
            for method in ("get", "post"):
                response = getattr(client, method)(url, HTTP_ACCEPT="application/json")
                checked += 1
                body = response.content.decode(errors="ignore") if response.get("Content-Type", "").startswith(("text", "application/json")) else ""
                if response.status_code not in (403, 404, 405) or any(secret in body for secret in secrets_of(other)):
                    leaks.append(f"{role_name} {method.upper()} {url} → {response.status_code}")
    assert not unmapped, "endpoints with arguments not covered by the matrix (map them in object_for):\n" + "\n".join(unmapped)
    assert not leaks, "\n".join(leaks)
    assert checked > 500


def test_lists_searches_and_exports_never_show_another_organisations_rows(worlds):
    world, other = worlds
    lists = [e.url() for e in url_inventory.walk() if e.url()]
    extra = [f"/entities/?q={other.entity.uscc}", f"/api/v1/entities/?q={other.entity.uscc}", "/matching/ledger/?format=csv",
             f"/matching/declarations/?q={other.entity.uscc}", f"/matching/leads/?q={OTHER_NAME}",
             "/reporting/export/ledger.csv", "/reporting/export/effectiveness.csv?by=bank"]
    leaks = []
    for role_name, user in world.users.items():
        client = Client()
        client.force_login(user)
        for url in lists + extra:
            response = client.get(url, HTTP_ACCEPT="application/json")
            content = response.content
            if response.get("Content-Type", "").startswith("application/vnd.openxmlformats"):
                content = _xlsx_text(content).encode()
            body = content.decode(errors="ignore")
            # a search box echoes its own query back: look for the other secrets
            found = [secret for secret in secrets_of(other) if secret in body and secret not in url]
            if found:
                leaks.append(f"{role_name} GET {url} shows {found}")
        ledger = client.get("/matching/ledger/?format=xlsx")
        if ledger.status_code == 200 and OTHER_NAME in _xlsx_text(ledger.content):
            leaks.append(f"{role_name} ledger xlsx shows the other county")
    assert not leaks, "\n".join(leaks)


def _xlsx_text(content: bytes) -> str:
    from openpyxl import load_workbook

    workbook = load_workbook(io.BytesIO(content), read_only=True)
    return " ".join(str(cell) for sheet in workbook.worksheets for row in sheet.iter_rows(values_only=True) for cell in row if cell is not None)
