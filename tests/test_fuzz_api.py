"""Fuzzing the API (issue 9 item 6): schemathesis reads the OpenAPI schema the portal serves
(/api/v1/schema/, through the portal's WSGI application in this process), generates
requests for every operation — valid ones and malformed ones (schemathesis' positive and
negative modes), with random ids and with the ids of real records — and sends each one as
every role (API token) and anonymously, with production's DEBUG=False (set explicitly: the
error handlers differ with DEBUG on). No response may be a 5xx, every error response is in
the API's JSON error format {"code", "message", "errors"}; an unhandled exception is
reported with its traceback.

Then the eligibility preview and every import endpoint (the API import and the two import
pages) are given malformed input by hand and by hypothesis: the API answers 400 in the
portal's one error format {"code", "message", "errors"}, the pages show a Chinese error.

Bounded: FUZZ_EXAMPLES (default 3) generated requests per operation and strategy (positive,
negative; with real ids: the same two again), each sent as the 10 roles and anonymously;
derandomized so a run is reproducible (FUZZ_SEED=random for a fresh draw); FUZZ_SECONDS
(default 150) stops it in any case, with a warning: the operations are taken breadth first
(every operation's valid requests, then the malformed ones), so a cut run still covers each. The figures of a run
are written to test-artifacts/fuzz-summary.json
(about 6,700 requests in under two minutes on 2 cores)."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import threading
import time
import traceback
import warnings
import zipfile
from collections import Counter
from pathlib import Path

import pytest
import schemathesis
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.signals import got_request_exception
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from rest_framework.test import APIClient
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from coordination.factories import departments, open_problem
from matching import services as s
from matching.factories import pushed
from matching.models import Declaration, Notification, RecommendationBatch
from portal.factories import api_token, user_with_role
from portal.models import ApiToken, AuditEvent, Role
from products.factories import build_world

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "3"))
DERANDOMIZE = os.environ.get("FUZZ_SEED", "") != "random"
TIME_BUDGET = float(os.environ.get("FUZZ_SECONDS", "150"))  # ~110 s on an idle 2-core machine; a loaded one stops early
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


class ServerErrors:
    """Tracebacks of every exception the portal did not handle (Django's got_request_exception),
    keyed by request line, so a 500 found by the fuzzer is reported with its cause."""

    def __init__(self):
        self.items: list[tuple[str, str]] = []
        self.lock = threading.Lock()

    def __call__(self, sender, request=None, **kwargs):
        line = f"{getattr(request, 'method', '?')} {getattr(request, 'get_full_path', lambda: '?')()}"
        with self.lock:
            self.items.append((line, traceback.format_exc()))


@pytest.fixture
def server_errors():
    errors = ServerErrors()
    got_request_exception.connect(errors, weak=False)
    yield errors
    got_request_exception.disconnect(errors)


@pytest.fixture
def fuzz_world(settings, tmp_path):
    """The workflow world with one pushed lead, a material, a visit, a notification; one user
    per role, each with an API token."""
    settings.MEDIA_ROOT = tmp_path / "uploads"  # materials uploaded by the fuzzer land here
    world = build_world()
    declaration, enterprise_user, recs = pushed(world)
    u = world.users
    u["enterprise"] = enterprise_user
    u["province"] = user_with_role(Role.PROVINCE_REGULATOR, username="fuzz-province")
    u["platform_admin"] = user_with_role(Role.PLATFORM_ADMIN, username="fuzz-admin")
    # a department of the mechanism with a 批分单 routed to it (coordination)
    found = departments(world)
    u["department"] = found.users["department"]
    # a 大走访 走访人员 of 泽州 (campaigns: he reads his own 走访任务 and records their visits)
    u["visitor"] = user_with_role(Role.VISITOR, region_code="140525", username="fuzz-visitor")
    problem = open_problem(world, found, entity=declaration.entity)
    from matching.materials import material_upload

    material = material_upload(
        actor=enterprise_user,
        declaration_id=declaration.pk,
        uploaded_file=SimpleUploadedFile("营业执照.png", PNG, content_type="image/png"),
    )
    visit = s.visit_record(
        actor=u["staff"], entity_id=declaration.entity_id, visited_on=dt.date.today(), people="走访", need_found=True
    )
    by_role = {}
    for key in (
        "enterprise",
        "staff",
        "reviewer",
        "lead",
        "convener",
        "city",
        "province",
        "boc_admin",
        "boc_manager",
        "platform_admin",
        "department",
        "visitor",
    ):
        user = u[key]
        role = user.memberships.first().role
        by_role.setdefault(role, user)
    tokens = {role: api_token(user) for role, user in by_role.items()}
    assert set(tokens) == set(Role.values), "every role is fuzzed"
    from products.models import Bank, LoanProduct

    real_ids = {
        "declarations": declaration.pk,
        "leads": recs["boc"].pk,
        "batches": RecommendationBatch.objects.first().pk,
        "materials": material.pk,
        "entities": declaration.entity_id,
        "visits": visit.pk,
        "problems": problem.pk,
        "notifications": Notification.objects.filter(recipient=enterprise_user).values_list("pk", flat=True).first(),
        "organisations": world.task_force.pk,
        "audit-events": AuditEvent.objects.values_list("pk", flat=True).first(),
        "banks": Bank.objects.get(code="boc").pk,
        "branches": world.branches["boc"].pk,
        "products": LoanProduct.objects.values_list("code", flat=True).first(),
    }
    return world, tokens, real_ids


def _real_path_parameters(operation, real_ids: dict) -> dict | None:
    names = [p.name for p in operation.path_parameters]
    if not names:
        return None
    resource = operation.path.split("/")[3]  # /api/v1/<resource>/{id}/…
    value = real_ids.get(resource)
    if value is None:
        return None
    return {names[0]: value}


@pytest.fixture
def kept_connection():
    """One database connection for the whole fuzz (CONN_MAX_AGE=0 would reconnect on every
    request, a third of each request's time here)."""
    from django.db import connection

    old = connection.settings_dict.get("CONN_MAX_AGE", 0)
    connection.settings_dict["CONN_MAX_AGE"] = None
    connection.close()
    yield
    connection.settings_dict["CONN_MAX_AGE"] = old
    connection.close()


def _error_format_problem(response) -> str | None:
    """Why an API error response is not in the portal's error format (None when it is)."""
    if response.status_code < 400:
        return None
    content_type = (response.headers.get("content-type") or [""])[0]
    if not content_type.startswith("application/json"):
        return f"not JSON but {content_type!r}"
    try:
        body = json.loads(response.content)
    except ValueError:
        return "unreadable JSON"
    if not isinstance(body, dict) or set(body) != {"code", "message", "errors"} or not body["message"]:
        return f"not the error format: {str(body)[:200]}"
    return None


@pytest.mark.django_db(transaction=True)
def test_schemathesis_finds_no_server_error_for_any_role(fuzz_world, server_errors, kept_connection, settings):
    world, tokens, real_ids = fuzz_world
    settings.DEBUG = False  # production's error handling (handler500 and the API's JSON errors)
    # the portal's WSGI application, in this process: the live server's socket adds ~40 ms of
    # delayed-ACK latency to every request, which would spend the time budget on waiting
    schema = schemathesis.openapi.from_wsgi("/api/v1/schema/", get_wsgi_application())
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 60, "the schema lists the API"
    identities = {role: {"Authorization": f"Token {key}"} for role, key in sorted(tokens.items())}
    identities["anonymous"] = {}
    calls: Counter = Counter()
    statuses: Counter = Counter()
    failures: list[str] = []
    cases = unsatisfiable = 0
    stopped_at = None
    started = time.monotonic()
    # breadth first: every operation gets its valid requests before any gets its malformed ones,
    # so a run cut short by the time budget (a loaded machine) still covers every operation
    rounds = [
        (GenerationMode.POSITIVE, False),
        (GenerationMode.POSITIVE, True),
        (GenerationMode.NEGATIVE, False),
        (GenerationMode.NEGATIVE, True),
    ]
    for mode, with_real_ids in rounds:
        for operation in operations:
            if time.monotonic() - started > TIME_BUDGET:
                stopped_at = stopped_at or f"{mode.value}{' (real ids)' if with_real_ids else ''} {operation.label}"
                break
            real = _real_path_parameters(operation, real_ids)
            if with_real_ids and not real:
                continue
            strategy = operation.as_strategy(mode, **({"path_parameters": real} if with_real_ids else {}))

            # each generated request is sent once as every role and anonymously
            @hsettings(
                max_examples=EXAMPLES,
                deadline=None,
                database=None,
                derandomize=DERANDOMIZE,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @given(case=strategy)
            def probe(case):
                nonlocal cases
                cases += 1
                for identity, headers in identities.items():
                    cache.clear()  # the preview's rate limit would answer 429 before checking the input
                    response = case.call(headers=headers)
                    calls[(identity, case.operation.label)] += 1
                    statuses[response.status_code] += 1
                    try:
                        case.validate_response(response, checks=[not_a_server_error])
                    except (Exception, BaseExceptionGroup):  # noqa: BLE001 - collected, reported together below
                        failures.append(
                            f"{identity}: {case.operation.label} -> {response.status_code}\n{case.as_curl_command()}"
                        )
                    if response.status_code >= 500 or (problem := _error_format_problem(response)) is None:
                        continue
                    failures.append(
                        f"{identity}: {case.operation.label} -> {response.status_code} "
                        f"{problem}\n{case.as_curl_command()}"
                    )
                if case.operation.path.startswith("/api/v1/tokens/"):
                    # a generated id may name a role's own token: it keeps calling with it
                    ApiToken.objects.filter(revoked_at__isnull=False).update(
                        revoked_at=None, revoked_by=None, revoke_reason=""
                    )

            try:
                probe()
            except Unsatisfiable:  # negative mode: nothing in this operation can be made invalid
                unsatisfiable += 1
            except Exception as exc:  # noqa: BLE001 - e.g. a schema part hypothesis cannot generate for
                failures.append(f"{operation.label}: generation failed: {exc!r}"[:500])

    summary = {
        "operations": len(operations),
        "identities": sorted(identities),
        "generated_cases": cases,
        "operation_identity_pairs": len(calls),
        "requests": sum(calls.values()),
        "max_examples_per_strategy": EXAMPLES,
        "strategies_without_negative_case": unsatisfiable,
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "seconds": round(time.monotonic() - started, 1),
        "server_errors": len(server_errors.items),
        "stopped_by_time_budget_at": stopped_at,
    }
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "fuzz-summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=1))
    print("fuzz summary:", json.dumps(summary, ensure_ascii=False))
    if stopped_at:
        warnings.warn(
            f"fuzzing stopped by its {TIME_BUDGET:.0f}s budget at {stopped_at}: {summary['requests']} requests sent"
        )
    tracebacks = "\n".join(f"{line}\n{tb}" for line, tb in server_errors.items[:5])
    assert not failures and not server_errors.items, (
        f"{len(failures)} failing requests:\n" + "\n".join(failures[:20]) + "\n--- tracebacks\n" + tracebacks
    )


# --- the eligibility preview and the imports, given malformed input -----------------------------------------


def assert_error_format(response, status=400):
    assert response.status_code == status, (response.status_code, response.content[:500])
    body = response.json()
    assert set(body) == {"code", "message", "errors"}, body
    assert isinstance(body["message"], str) and body["message"]
    assert isinstance(body["errors"], dict)
    return body


PREVIEW_MALFORMED = [
    b"{",
    b"null",
    b"[]",
    b'"entity"',
    b"42",
    b'{"entity": []}',
    b'{"entity": {"entity_type": "spaceship"}}',
    b'{"entity": {"entity_type": "individual_business", "established_on": "2025-13-45"}}',
    b'{"entity": {"entity_type": "individual_business", "annual_revenue": "lots"}}',
    b'{"entity": {"entity_type": "individual_business", "annual_revenue": -1e309}}',
    b'{"entity": {"entity_type": "individual_business", "annual_revenue": 1e400}}',
    b'{"entity": {"entity_type": "individual_business", "region_code": {"$ne": 1}}}',
    b'{"entity": {"entity_type": "individual_business"}, "products": "huishangdai"}',
    b'{"entity": {"entity_type": "individual_business"}, "products": [1, null, {}]}',
    b'{"entity": {"entity_type": "individual_business"}, "as_of": "yesterday"}',
    b'{"entity": {"entity_type": "individual_business"}, "as_of": 20261122}',
    b'{"entity": {"entity_type": "individual_business", "tier": "\\u0000"}}',
    '{"entity": {"entity_type": "个体", "region_code": "泽州"}}'.encode(),
    b"\xff\xfe\x00garbage",
]


@pytest.fixture
def fresh_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.mark.django_db
def test_eligibility_preview_answers_malformed_input_with_a_clear_400(fresh_cache):
    from products.services import catalog_load

    catalog_load()
    wrong = []
    for body in PREVIEW_MALFORMED:
        cache.clear()
        response = APIClient().generic("POST", "/api/v1/eligibility/preview", body, content_type="application/json")
        try:
            assert_error_format(response)
        except AssertionError as exc:
            wrong.append(f"{body[:80]!r}: {exc}")
    assert not wrong, "\n".join(wrong)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)
entity_keys = st.sampled_from(
    [
        "entity_type",
        "established_on",
        "region_code",
        "tier",
        "annual_revenue",
        "employees",
        "operator_age",
        "credit_flags",
        "honors",
        "industry_code",
        "net_assets",
    ]
)


@pytest.mark.django_db
@hsettings(
    max_examples=int(os.environ.get("FUZZ_PREVIEW_EXAMPLES", "60")),
    deadline=None,
    database=None,
    derandomize=DERANDOMIZE,
    suppress_health_check=list(HealthCheck),
)
@given(
    body=st.one_of(
        json_values,
        st.fixed_dictionaries(
            {"entity": st.dictionaries(entity_keys, json_values, max_size=6)},
            optional={"products": json_values, "as_of": json_values, "need": json_values},
        ),
    )
)
def test_eligibility_preview_never_fails_on_arbitrary_json(body):
    from products.services import catalog_load

    cache.clear()
    if not hasattr(test_eligibility_preview_never_fails_on_arbitrary_json, "_catalogue"):
        catalog_load()
        test_eligibility_preview_never_fails_on_arbitrary_json._catalogue = True
    response = APIClient().post("/api/v1/eligibility/preview", json.dumps(body), content_type="application/json")
    assert response.status_code in (200, 400), (response.status_code, body)
    if response.status_code == 400:
        assert_error_format(response)


def _zip_bomb_like() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<not-xml")
        archive.writestr("xl/workbook.xml", "\x00\x01")
    return buffer.getvalue()


def _xlsx(rows: list[list]) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    for row in rows:
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


MALFORMED_FILES = {
    "empty.xlsx": b"",
    "random.xlsx": os.urandom(2048),
    "text.xlsx": "统一社会信用代码,名称\n91350100M000100Y43,测试\n".encode(),
    "broken-zip.xlsx": _zip_bomb_like(),
    "no-header.xlsx": _xlsx([["x", "y", "z"], [1, 2, 3]]),
    "only-one-header.xlsx": _xlsx([["统一社会信用代码"], ["=1/0"]]),
    "png-renamed.xlsx": PNG,
    "csv.csv": b"\xff\xfe\x00\x00garbage,,,\n",
    "no-extension": b"PK\x03\x04",
}


@pytest.fixture
def import_users():
    world = build_world()
    return world.users


@pytest.mark.django_db
def test_declaration_import_api_rejects_malformed_files_with_a_clear_400(import_users):
    client = APIClient()
    client.force_authenticate(import_users["staff"])
    before = Declaration.objects.count()
    for name, content in MALFORMED_FILES.items():
        response = client.post(
            "/api/v1/declarations/import/", {"file": SimpleUploadedFile(name, content)}, format="multipart"
        )
        if response.status_code == 200:  # a readable sheet with bad rows: reported row by row, nothing imported
            assert response.json().get("errors"), (name, response.json())
        else:
            body = assert_error_format(response)
            assert body["errors"].get("file"), (name, body)
    assert Declaration.objects.count() == before


@pytest.mark.django_db
def test_declaration_import_api_without_a_file_or_with_junk_fields(import_users):
    client = APIClient()
    client.force_authenticate(import_users["staff"])
    assert_error_format(client.post("/api/v1/declarations/import/", {}, format="multipart"))
    assert_error_format(client.post("/api/v1/declarations/import/", {"file": "not a file"}, format="multipart"))
    response = client.generic("POST", "/api/v1/declarations/import/", b'{"file": 1}', content_type="application/json")
    assert_error_format(response, status=415)


@pytest.mark.django_db
def test_declaration_import_page_shows_a_chinese_error_for_malformed_files(import_users, client):
    client.force_login(import_users["staff"])
    before = Declaration.objects.count()
    for name, content in MALFORMED_FILES.items():
        response = client.post("/matching/declarations/import/", {"file": SimpleUploadedFile(name, content)})
        assert response.status_code in (200, 400), (name, response.status_code)
        text = response.content.decode()
        assert any(word in text for word in ("无法", "请", "错误", "有误", "缺少", "格式")), (name, text[:300])
    assert Declaration.objects.count() == before


@pytest.mark.django_db
def test_register_import_of_a_malformed_file_fails_with_a_chinese_reason(import_users, client):
    """名录库导入 stores the file and imports it in the worker: the page accepts the upload (or
    refuses an empty one), the run (the task's body, called here as the worker would) fails
    cleanly without importing anything, and the import's page shows why."""
    from entities.models import EntityImport, ImportStatus, MarketEntity
    from entities.tasks import run_entity_import

    client.force_login(import_users["staff"])
    entities_before = MarketEntity.objects.count()
    for name, content in MALFORMED_FILES.items():
        last = EntityImport.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        response = client.post("/entities/imports/", {"file": SimpleUploadedFile(name, content)}, follow=True)
        assert response.status_code in (200, 400), (name, response.status_code)
        entity_import = EntityImport.objects.filter(pk__gt=last).first()
        if entity_import is None:  # refused at upload
            text = response.content.decode()
            assert any(word in text for word in ("空文件", "文件为空", "请选择", "只支持", "必填")), (name, text[:300])
            continue
        assert run_entity_import.run(entity_import.pk).get("error"), name
        entity_import.refresh_from_db()
        assert entity_import.status == ImportStatus.FAILED and entity_import.message, (name, entity_import.status)
        page = client.get(f"/entities/imports/{entity_import.pk}/").content.decode()
        assert entity_import.get_status_display() in page and entity_import.message in page, name
    assert MarketEntity.objects.count() == entities_before


@pytest.mark.django_db
def test_server_errors_the_fuzzer_found_stay_fixed(import_users):
    """Each was a 500 in a fuzz run (the derandomized draw may not repeat them)."""
    u = import_users
    client = APIClient()
    # entities/apis.py reveal: a non-numeric id (ValueError in .filter(pk=…))
    client.force_authenticate(u["staff"])
    assert client.post("/api/v1/entities/G/reveal/", {"field": "operator_phone"}, format="json").status_code == 404
    # products/apis.py create and update: a definition that is JSON but not an object (TypeError in the service);
    # products are written by the bank's head-office administrators
    from products.models import Bank, LoanProduct

    client.force_authenticate(user_with_role(Role.BANK_ADMIN, organisation=Bank.objects.get(code="boc").organisation))
    assert_error_format(client.post("/api/v1/products/", {"code": "fuzz-product", "definition": 255}, format="json"))

    code = LoanProduct.objects.filter(bank__code="boc").values_list("code", flat=True).first()
    assert_error_format(client.put(f"/api/v1/products/{code}/", {"definition": [1, 2]}, format="json"))


@pytest.mark.django_db
def test_kpis_for_a_branch_that_does_not_exist_is_not_a_server_error(import_users):
    """A 500 found by the fuzzer: reporting/selectors.py facts_queryset answers qs.none() for an
    unknown branch, and _figures then compiles it to SQL (EmptyResultSet)."""
    client = APIClient()
    client.force_authenticate(import_users["city"])
    response = client.get("/api/v1/kpis/", {"branch": 624769})
    assert response.status_code in (200, 400, 404), response.status_code
