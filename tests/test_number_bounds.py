"""Bounds in one place (issue 13, finding 8): every number that comes in — a query string, a
form, an API body — is finite and within its column's range, or refused with a Chinese field
error; nothing answers 500, and an API 500 (should one still happen) keeps the JSON error
format with DEBUG=False.

Generated checks (a new endpoint, form or serializer is covered without anyone remembering):
every numeric input of the OpenAPI schema has a minimum and a maximum, every numeric form
field has limits, and hostile numbers in every known query parameter of every page and API
list answer without a 500 for every role."""

from __future__ import annotations

import importlib
import json
import pkgutil
from decimal import Decimal

import pytest
from django import forms
from django.core.signals import got_request_exception
from django.test import Client
from django.urls import include, path
from rest_framework.test import APIClient

from matching.factories import assign
from matching.models import Declaration, Recommendation, RecommendationState
from portal import bounds, url_inventory
from portal.factories import user_with_role
from portal.models import Role
from portal.source import project_packages
from reporting.models import BankPeriodReport

pytestmark = pytest.mark.django_db

HUGE = "9" * 23  # 99999999999999999999999
BIGINT_MAX = 2**63 - 1
HOSTILE = [HUGE, "-" + HUGE, str(2**63), "NaN", "Infinity", "-Infinity", "1e25", "²", "１２", "0x10", "1_000"]
PROJECT_PACKAGES = project_packages()  # every package of the project (portal.source)


# --- helpers ------------------------------------------------------------------------------------------


def api(user) -> APIClient:
    client = APIClient(raise_request_exception=False)
    client.force_authenticate(user)
    return client


def page_client(user) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


def assert_api_error(response, status=400):
    assert response.status_code == status, (response.status_code, response.content[:400])
    body = response.json()
    assert set(body) == {"code", "message", "errors"}, body
    return body


@pytest.fixture
def platform_admin(pushed_world):
    """A platform administrator, also `world.users["platform_admin"]` (the pages are tried as every role)."""
    pushed_world.users["platform_admin"] = user_with_role(Role.PLATFORM_ADMIN, username="bounds-admin")
    return pushed_world.users["platform_admin"]


# --- the schema and the forms declare their limits ----------------------------------------------------


def _numeric_leaves(schema: dict, components: dict, where: str, seen=()):
    """(where, schema) of every integer/number in a request schema, through $ref, arrays,
    objects and combinators."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        if name in seen:
            return
        yield from _numeric_leaves(components[name], components, f"{where}→{name}", seen + (name,))
        return
    for key in ("allOf", "oneOf", "anyOf"):
        for part in schema.get(key, []):
            yield from _numeric_leaves(part, components, where, seen)
    if schema.get("readOnly"):
        return
    kind = schema.get("type")
    if kind in ("integer", "number") or (kind == "string" and schema.get("format") == "decimal"):
        yield where, schema
    if kind == "array" and "items" in schema:
        yield from _numeric_leaves(schema["items"], components, f"{where}[]", seen)
    for name, prop in (schema.get("properties") or {}).items():
        yield from _numeric_leaves(prop, components, f"{where}.{name}", seen)
    if isinstance(schema.get("additionalProperties"), dict):
        yield from _numeric_leaves(schema["additionalProperties"], components, f"{where}{{}}", seen)


def test_every_numeric_input_of_the_api_schema_has_limits():
    # given the OpenAPI schema the portal serves
    admin = user_with_role(Role.PLATFORM_ADMIN)
    response = api(admin).get("/api/v1/schema/", {"format": "json"})
    schema = json.loads(response.content)
    components = schema["components"]["schemas"]
    # when every request body field and query parameter that is a number is collected
    unbounded, checked = [], 0
    for route, operations in schema["paths"].items():
        for method, operation in operations.items():
            label = f"{method.upper()} {route}"
            for parameter in operation.get("parameters", []):
                if parameter.get("in") != "query":
                    continue
                for where, leaf in _numeric_leaves(
                    parameter.get("schema", {}), components, f"{label} ?{parameter['name']}"
                ):
                    checked += 1
                    if "maximum" not in leaf or "minimum" not in leaf:
                        unbounded.append(where)
            for media in (operation.get("requestBody") or {}).get("content", {}).values():
                for where, leaf in _numeric_leaves(media.get("schema", {}), components, f"{label} body"):
                    checked += 1
                    if leaf.get("type") == "string":  # a decimal as text: bounded by digits
                        if "pattern" not in leaf and "maximum" not in leaf:
                            unbounded.append(where)
                    elif "maximum" not in leaf or "minimum" not in leaf:
                        unbounded.append(where)
    # then each has a minimum and a maximum no larger than a 64-bit column holds
    assert checked > 40, "the schema's numeric inputs were found"
    assert not sorted(set(unbounded)), "numeric inputs without limits:\n" + "\n".join(sorted(set(unbounded)))


def _project_forms() -> list[type[forms.BaseForm]]:
    for package in PROJECT_PACKAGES:
        module = importlib.import_module(package)
        for info in pkgutil.walk_packages(module.__path__, f"{package}."):
            if ".tests" in info.name or ".migrations" in info.name or info.name.endswith(".demo"):
                continue
            importlib.import_module(info.name)
    found, todo = [], [forms.Form]
    while todo:
        cls = todo.pop()
        for sub in cls.__subclasses__():
            todo.append(sub)
            if sub.__module__.split(".")[0] in PROJECT_PACKAGES:
                found.append(sub)
    return found


def _form_fields(cls):
    fields = dict(cls.base_fields)
    try:  # fields added in __init__ (criteria, credit flags): a form that builds without arguments
        fields.update(cls().fields)
    except Exception:  # noqa: BLE001 - forms that need arguments keep their declared fields
        pass
    return fields


def test_every_numeric_form_field_has_limits():
    # given every form of the portal
    classes = _project_forms()
    assert len(classes) > 15, "the forms were found"
    unbounded = []
    for cls in classes:
        for name, field in _form_fields(cls).items():
            # then each decimal has a largest value (or digits) and each integer both limits
            if isinstance(field, forms.DecimalField):  # (a DecimalField is an IntegerField in Django)
                if field.max_value is None and field.max_digits is None:
                    unbounded.append(f"{cls.__module__}.{cls.__name__}.{name}")
            elif isinstance(field, forms.IntegerField) and (field.max_value is None or field.min_value is None):
                unbounded.append(f"{cls.__module__}.{cls.__name__}.{name}")
    assert not unbounded, "numeric form fields without limits:\n" + "\n".join(unbounded)


# --- the parser ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", HOSTILE + ["", " ", "1.5", "abc", "1" * 60, "--1"])
def test_the_query_parser_refuses_what_is_no_id_with_a_chinese_message(text):
    params = bounds.QueryParams({"product": text, "ids": f"1,{text}"})
    assert params.id("product") is None
    assert params.ids("ids") in ([], [1])
    for message in params.errors.values():
        assert any("\u4e00" <= ch <= "\u9fff" for ch in message), message


def test_the_query_parser_reads_ids_and_bounded_numbers():
    params = bounds.QueryParams({"a": " 42 ", "ids": "3,1,3", "amount": "12.5", "big": str(2**63)})
    assert params.id("a") == 42 and params.ids("ids") == [3, 1]
    assert params.decimal("amount", field=bounds.column(Declaration, "amount"), unit=10_000) == Decimal("12.5")
    assert params.integer("big", field=bounds.column(Declaration, "amount")) is None
    assert params.errors == {"big": "不能大于 9223372036854775807"}


def test_column_ranges_come_from_the_column_type():
    assert bounds.column_range(bounds.column(Declaration, "amount")) == (-(2**63), 2**63 - 1)
    assert bounds.column_range(bounds.column(Declaration, "term_months")) == (0, 32767)
    assert bounds.column_range(bounds.column(Recommendation, "rate_percent")) == (
        Decimal("-999.999"),
        Decimal("999.999"),
    )
    assert bounds.column_range(bounds.column(Recommendation, "branch")) == (-(2**63), 2**63 - 1)


# --- hostile numbers everywhere -----------------------------------------------------------------------


def _query_names_read_in_the_code() -> set[str]:
    """Every parameter name the code reads from a query string or form: the string literal in
    `params.get("x")`, `request.GET.get("x")`, `query_params.getlist("x")`, `_first(params, "x")`
    … (so a parameter added tomorrow is probed without anyone listing it)."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    names: set[str] = set()
    for package in PROJECT_PACKAGES:
        for source in (root / package).rglob("*.py"):
            if "tests" in source.parts or "migrations" in source.parts:
                continue
            for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
                if not isinstance(node, ast.Call):
                    continue
                literals = [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
                if not literals:
                    continue
                source = node.func.value if isinstance(node.func, ast.Attribute) else None
                called = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
                reads_params = (
                    called in PARSERS
                    or (
                        isinstance(node.func, ast.Attribute)
                        and node.func.attr in ("get", "getlist")
                        and (
                            (isinstance(source, ast.Name) and source.id in ("params", "query_params"))
                            or (isinstance(source, ast.Attribute) and source.attr in ("GET", "POST", "query_params"))
                        )
                    )
                    or any(isinstance(a, ast.Name) and a.id == "params" for a in node.args)
                )
                if reads_params and literals[0].isidentifier() and literals[0] not in ("get", "getlist"):
                    names.add(literals[0])
    return names


# helpers that read one named parameter (EntityFilters' money/choice, the ledger's _first/_all, QueryParams)
PARSERS = {"money", "choice", "_first", "_all", "integer", "decimal", "ids", "query_id"}


# what the code reads, and the pagination and filter parameters DRF reads for it
QUERY_NAMES = sorted(
    _query_names_read_in_the_code()
    | {
        "page",
        "page_size",
        "cursor",
        "parent",
        "object_id",
        "year",
        "week",
        "batch",
        "entity",
        "declaration",
        "assigned_to",
        "amount_min",
        "amount_max",
        "branch",
        "period",
        "metric",
        "level",
        "status",
        "region",
        "kind",
        "action",
        "date_from",
        "date_to",
    }
)


def test_hostile_numbers_in_query_strings_never_answer_500(pushed_world, platform_admin):
    # given every page and API list without arguments, and every role
    urls = [e.url() for e in url_inventory.walk() if e.url() and not e.url().startswith("/api/v1/schema")]
    assert (
        len(urls) > 60 and len(QUERY_NAMES) > 50 and {"revenue_min", "after", "product", "branch"} <= set(QUERY_NAMES)
    )
    failures = []

    def record(sender, request=None, **kwargs):
        import sys

        failures.append(f"{request.get_full_path()[:120]} raised {sys.exc_info()[1]!r}")

    got_request_exception.connect(record, weak=False)
    try:
        for key in ("platform_admin", "staff", "boc_admin", "boc_manager", "city", "enterprise"):
            client = page_client(pushed_world.users[key])
            for url in urls:
                for value in HOSTILE:
                    # when each known parameter carries a hostile number
                    response = client.get(url, {name: value for name in QUERY_NAMES})
                    # then the page or API answers (an ignored value, a field error, a refusal), never a 500
                    if response.status_code >= 500:
                        failures.append(f"{key} GET {url}?…={value} → {response.status_code}")
                    elif (
                        url.startswith("/api/")
                        and response.status_code >= 400
                        and response["Content-Type"].startswith("application/json")
                    ):
                        assert set(response.json()) == {"code", "message", "errors"}, (url, response.json())
    finally:
        got_request_exception.disconnect(record)
    assert not failures, "\n".join(sorted(set(failures))[:40])


def test_hostile_ids_in_paths_and_forms_answer_404_or_a_field_error(pushed_world, platform_admin):
    # given a task force, a bank administrator and their pages
    staff, bank = page_client(pushed_world.users["staff"]), page_client(pushed_world.users["boc_admin"])
    lead = pushed_world.recs["boc"]
    # when path ids and posted id lists are beyond any column's range or not ids at all
    responses = {
        "entity path": staff.get(f"/entities/{HUGE}/"),
        "declaration path": staff.get(f"/matching/declarations/{HUGE}/"),
        "lead path": bank.get(f"/matching/leads/{HUGE}/"),
        "workdays year": page_client(platform_admin).get(f"/workdays/years/{HUGE}/"),
        "review queue ids": staff.post("/matching/review/", {"ids": [HUGE, "1e25", "²"], "decision": "approve"}),
        "inbox ids": bank.post("/matching/leads/", {"ids": [HUGE, "1e25", "²", str(lead.pk)], "manager": HUGE}),
        "api lead path": api(pushed_world.users["boc_admin"]).get(f"/api/v1/leads/{HUGE}/"),
    }
    # then each is an unknown record or a refusal, never a 500
    assert {name: r.status_code for name, r in responses.items() if r.status_code >= 500} == {}
    assert responses["entity path"].status_code == 404 and responses["api lead path"].status_code == 404
    # and nothing was assigned by the numbers that name nothing
    assert Recommendation.objects.get(pk=lead.pk).assigned_to_id is None


# --- the findings, one by one -----------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity", HUGE])
def test_revenue_bounds_that_are_no_finite_number_are_a_field_error(pushed_world, value):
    # given a task force member searching the register
    staff = pushed_world.users["staff"]
    # when the revenue bound is NaN, infinite or beyond the column
    page = page_client(staff).get("/entities/", {"revenue_min": value})
    response = api(staff).get("/api/v1/entities/", {"revenue_min": value, "revenue_max": value})
    # then the page names the bad filter and the API answers 400 with a Chinese field error
    assert page.status_code == 200 and "年营业收入下限" in page.content.decode()
    body = assert_api_error(response)
    assert body["errors"]["revenue_min"] and body["errors"]["revenue_max"]


@pytest.mark.parametrize("value", [2**63, 10**25])
def test_a_bank_report_with_balances_beyond_the_column_is_refused_with_nothing_stored(pushed_world, value):
    # given a bank administrator reporting a month for his branch
    admin = pushed_world.users["boc_admin"]
    branch = pushed_world.branches["boc"]
    body = {
        "branch": branch.pk,
        "period": "2026-01",
        "small_business_balance": value,
        "all_loans_balance": value,
        "credit_loan_balance": 0,
        "average_rate": "4.5",
    }
    # when the balances exceed what a 64-bit column holds
    response = api(admin).post("/api/v1/bank-reports/", body, format="json")
    page = page_client(admin).post(
        "/reporting/bank-reports/",
        {
            "branch": branch.pk,
            "period": "2026-01",
            "small_business_balance": str(value),
            "all_loans_balance": str(value),
            "credit_loan_balance": "0",
            "average_rate": "4.5",
        },
    )
    # then both are refused with a Chinese field error, and nothing is stored
    errors = assert_api_error(response)["errors"]
    assert "不能大于" in errors["small_business_balance"][0] and "不能大于" in errors["all_loans_balance"][0]
    assert page.status_code in (200, 400) and "确保该值小于或等于" in page.content.decode()
    assert not BankPeriodReport.objects.exists()


def test_a_bank_report_service_refuses_nan_and_infinity(pushed_world):
    from portal.services import ApplicationError
    from reporting.services import bank_report_submit

    with pytest.raises(ApplicationError) as refused:
        bank_report_submit(
            actor=pushed_world.users["boc_admin"],
            branch_id=pushed_world.branches["boc"].pk,
            period="2026-01",
            small_business_balance="NaN",
            all_loans_balance="Infinity",
            credit_loan_balance=0,
            average_rate="4.5",
        )
    assert refused.value.field_errors["small_business_balance"] == ["普惠型小微企业贷款余额应为数字"]
    assert refused.value.field_errors["all_loans_balance"] == ["各项贷款余额应为数字"]
    assert not BankPeriodReport.objects.exists()


@pytest.mark.parametrize("amount", [2**63, 10**25])
def test_an_approval_at_or_beyond_two_to_the_63_is_a_field_error_not_a_500(pushed_world, amount):
    # given a lead contacted by the bank, its materials complete
    from matching import services as s

    lead = pushed_world.recs["boc"]
    assign(pushed_world, lead, "boc")
    manager = pushed_world.users["boc_manager"]
    s.recommendation_contact(actor=manager, recommendation_id=lead.pk)
    s.recommendation_materials_complete(actor=manager, recommendation_id=lead.pk)
    # when the manager approves an amount no column can hold
    response = api(manager).post(
        f"/api/v1/leads/{lead.pk}/approve/",
        {
            "credit_amount": amount,
            "rate_percent": "4.35",
            "term_months": 12,
            "guarantee": "credit",
            "is_credit_loan": True,
            "is_first_loan": False,
        },
        format="json",
    )
    # then it is a Chinese field error and the lead is unchanged
    body = assert_api_error(response)
    assert body["errors"]["credit_amount"] == ["不能大于 9223372036854775807。"]
    assert Recommendation.objects.get(pk=lead.pk).state == RecommendationState.UNDER_REVIEW


@pytest.mark.parametrize("ids", [[1e25], [10**25], [2**63], ["1e25"], [True]])
def test_id_lists_with_numbers_beyond_any_id_are_a_field_error(pushed_world, ids):
    convener, staff = api(pushed_world.users["convener"]), api(pushed_world.users["staff"])
    before = Declaration.objects.count()
    signoff = convener.post("/api/v1/batches/signoff/", {"declaration_ids": ids}, format="json")
    review = staff.post("/api/v1/declarations/bulk-review/", {"ids": ids, "decision": "approve"}, format="json")
    assert assert_api_error(signoff)["errors"]["declaration_ids"]
    assert assert_api_error(review)["errors"]["ids"]
    assert Declaration.objects.count() == before


@pytest.mark.parametrize("field", ["amount", "term_months"])
def test_a_declaration_with_a_number_beyond_its_column_is_a_field_error(pushed_world, field):
    entity, owner = pushed_world.entity(name="边界测试小店")
    body = {"entity_id": entity.pk, "amount": 100_000, "term_months": 12, "purpose": "进货", "banks": ["boc"]}
    body[field] = 2**63
    before = Declaration.objects.count()
    response = api(owner).post("/api/v1/declarations/", body, format="json")
    assert assert_api_error(response)["errors"][field]
    assert Declaration.objects.count() == before


@pytest.mark.parametrize("value", [HUGE, "²", "NaN"])
def test_ledger_and_statistics_filters_refuse_what_is_no_branch_id(pushed_world, value):
    city = pushed_world.users["city"]
    for url in ("/api/v1/ledger/", "/api/v1/ledger/totals/", "/api/v1/kpis/"):
        body = assert_api_error(api(city).get(url, {"branch": value}))
        assert body["errors"]["branch"] == ["机构编号应为数字"], (url, body)
    assert page_client(city).get("/matching/ledger/", {"branch": value}).status_code in (200, 400)


# --- the API's 500 keeps its format ----------------------------------------------------------------------


def _boom(request):
    raise RuntimeError("an error nobody foresaw")


def _drf_boom():
    from rest_framework.decorators import api_view, permission_classes
    from rest_framework.permissions import AllowAny

    @api_view(["GET"])
    @permission_classes([AllowAny])
    def boom(request):
        raise RuntimeError("an error nobody foresaw in an API view")

    return boom


urlpatterns = [
    path("api/v1/test-boom/", _drf_boom()),
    path("api/v1/test-boom-plain/", _boom),
    path("test-boom/", _boom),
    path("", include("portal.urls")),
]
handler400 = "portal.views.error_400"
handler403 = "portal.views.error_403"
handler404 = "portal.views.error_404"
handler500 = "portal.views.error_500"


def test_with_debug_off_an_api_500_and_404_keep_the_json_error_format(settings):
    # given production settings and views that fail unexpectedly
    settings.DEBUG = False
    settings.ROOT_URLCONF = __name__
    client = Client(raise_request_exception=False)
    # when the API fails (a DRF view, a plain view), or a page fails, or an API path is unknown
    drf, plain, page, unknown = (
        client.get("/api/v1/test-boom/"),
        client.get("/api/v1/test-boom-plain/"),
        client.get("/test-boom/"),
        client.get("/api/v1/no-such-thing/"),
    )
    # then the API answers in its JSON error format, in Chinese; pages keep the HTML page
    for response in (drf, plain):
        body = assert_api_error(response, status=500)
        assert body["code"] == "server_error" and "服务器内部错误" in body["message"]
    assert (
        page.status_code == 500
        and page["Content-Type"].startswith("text/html")
        and "服务器内部错误" in page.content.decode()
    )
    assert assert_api_error(unknown, status=404)["code"] == "not_found"
