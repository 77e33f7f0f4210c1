"""The tenant-isolation matrix, generated from the URL configuration (pages and the API):
every endpoint × every role of one county (泽州, 晋城) × an object belonging to another
organisation (新荣区, 大同) → 403/404/405, never its data. Lists, exports and searches must
not show the other organisation's rows. A new endpoint is covered without anyone
remembering: an endpoint with arguments that this file cannot map fails the test."""

import io
import re

import pytest
from django.test import Client
from django.urls import reverse

from portal import url_inventory

pytestmark = pytest.mark.django_db

# endpoints whose objects are public reference data or the caller's own catalogue: no tenant object
PUBLIC = [
    r"^workdays/",
    r"^products/",
    r"^api/v1/\^(banks|branches|products|decline-reasons)",
    # report kind and file format, no object: what they contain is the caller's own scope (reporting/tests)
    r"^reporting/(tables|export)/",
    # a figure's kind (批分单, 续贷, 直接申请), no object: the records listed are the caller's own scope,
    # counted and listed by the same restricted selectors (reporting/tests/test_mechanism_figures.py)
    r"^reporting/drill/",
    # the e-mailed password reset link: a signed token, no tenant object (entities/tests/test_onboarding.py)
    r"^accounts/password/reset/",
    # 直接申请: a product of the public 产品超市; the entity is the caller's own, resolved by the
    # service (matching/tests/test_direct_applications.py refuses another entity and county)
    r"^matching/apply/",
]


def object_for(route: str, other):
    """The other organisation's object an endpoint with arguments is about."""
    table = [
        (r"^entities/imports/", other.entity_import),
        (r"^entities/claims/", other.entity_claim),
        (r"^api/v1/\^entity-claims", other.entity_claim),
        (r"^entities/honor-proposals/", other.honor_proposal),
        (r"^entities/renewals/", other.renewal),
        (r"^api/v1/\^renewals", other.renewal),
        (r"^entities/", other.entity),
        (r"^matching/declarations/", other.declaration),
        (r"^matching/batches/", other.batch),
        (r"^matching/leads/", other.recommendation),
        (r"^matching/materials/", other.material),
        (r"^coordination/problems/", other.problem),
        (r"^campaigns/my-visits/", other.assignment),
        (r"^campaigns/", other.campaign),
        (r"^api/v1/\^campaigns", other.campaign),
        (r"^api/v1/\^problems", other.problem),
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
        (r"^reporting/supervision/", other.supervision_order),
        (r"^api/v1/\^supervision-orders", other.supervision_order),
        (r"^api/v1/\^scheduled-reports", other.scheduled_report),
        (r"^api/v1/\^bank-reports", other.bank_report),
        (r"^accounts/tokens/", other.api_token),
        (r"^api/v1/\^tokens", other.api_token),
        (r"^users/", other.user),
        (r"^api/v1/\^users", other.user),
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
            kwargs[key] = (
                "contact"
                if "leads" in endpoint.route
                else "accept"
                if "problems" in endpoint.route
                else "acknowledge"
                if "supervision" in endpoint.route
                else "start"
                if "campaigns" in endpoint.route
                else "review"
            )
        elif key == "verb":  # 用户管理's actions on a user
            kwargs[key] = "deactivate"
        else:
            kwargs[key] = getattr(obj, key)
    return reverse(name, kwargs=kwargs)


def endpoint_kwargs(endpoint) -> list[str]:
    return re.findall(r"\(\?P<(\w+)>", endpoint.route) + re.findall(r"<(?:\w+:)?(\w+)>", endpoint.route)


def test_every_endpoint_refuses_another_organisations_object_for_every_role(problems_both_sides):
    world, other = problems_both_sides
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
                body = (
                    response.content.decode(errors="ignore")
                    if response.get("Content-Type", "").startswith(("text", "application/json"))
                    else ""
                )
                if response.status_code not in (403, 404, 405) or any(secret in body for secret in other.secrets()):
                    leaks.append(f"{role_name} {method.upper()} {url} → {response.status_code}")
    assert not unmapped, "endpoints with arguments not covered by the matrix (map them in object_for):\n" + "\n".join(
        unmapped
    )
    assert not leaks, "\n".join(leaks)
    assert checked > 500


def test_lists_searches_and_exports_never_show_another_organisations_rows(problems_both_sides):
    world, other = problems_both_sides
    lists = [e.url() for e in url_inventory.walk() if e.url()]
    extra = [
        f"/entities/?q={other.entity.uscc}",
        f"/api/v1/entities/?q={other.entity.uscc}",
        "/matching/ledger/?format=csv",
        f"/matching/declarations/?q={other.entity.uscc}",
        f"/matching/leads/?q={other.entity.name}",
        f"/coordination/problems/?q={other.entity.uscc}",
        f"/api/v1/problems/?entity={other.entity.pk}",
        "/reporting/export/ledger.csv",
        "/reporting/export/effectiveness.csv?by=bank",
    ]
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
            found = [secret for secret in other.secrets() if secret in body and secret not in url]
            if found:
                leaks.append(f"{role_name} GET {url} shows {found}")
        ledger = client.get("/matching/ledger/?format=xlsx")
        if ledger.status_code == 200 and other.entity.name in _xlsx_text(ledger.content):
            leaks.append(f"{role_name} ledger xlsx shows the other county")
    assert not leaks, "\n".join(leaks)


def test_bank_relationships_of_another_countys_entity_are_never_listed(pushed_world, other_county):
    """A bank's record of its customer (借贷往来) is read with the customer: 建设银行's row about
    the 大同 enterprise is listed to no user of 泽州 or 晋城 — not even 建设银行's own staff there,
    whose branches do not serve 大同 — through the list, its entity filter, or the entity's page."""
    world, other = pushed_world, other_county
    leaks = []
    for role_name, user in world.users.items():
        client = Client()
        client.force_login(user)
        for url in ("/api/v1/bank-relationships/", f"/api/v1/bank-relationships/?entity_id={other.entity.pk}"):
            response = client.get(url, HTTP_ACCEPT="application/json")
            rows = response.json().get("results", []) if response.status_code == 200 else []
            if any(row["entity_id"] == other.entity.pk for row in rows):
                leaks.append(f"{role_name} GET {url} lists the other county's row")
        page = client.get(f"/entities/{other.entity.pk}/bank-relationship/")
        if page.status_code != 404:
            leaks.append(f"{role_name} GET its bank-relationship page → {page.status_code}")
    assert not leaks, "\n".join(leaks)


def _xlsx_text(content: bytes) -> str:
    from openpyxl import load_workbook

    workbook = load_workbook(io.BytesIO(content), read_only=True)
    return " ".join(
        str(cell)
        for sheet in workbook.worksheets
        for row in sheet.iter_rows(values_only=True)
        for cell in row
        if cell is not None
    )
