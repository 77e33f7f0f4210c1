"""The write side of the tenant-isolation matrix, generated from the OpenAPI schema: for every
write operation of the API, every field of its body that names an object (an id, an id list,
a region or a natural key such as a branch or product code), and every role of one county
(泽州, 晋城), a request that names another organisation's object there (新荣区, 大同) is
refused with nothing written — every row of every domain table is compared before and after —
and its answer is the one a nonexistent object gets (same status, same message), so an answer
never tells another tenant's ids apart from unknown ones. A new body field that names an
object fails the test until it is mapped in FOREIGN (or declared public in PUBLIC_FIELDS).

Path ids are the other half of the matrix (tests/test_tenant_isolation_matrix.py); the two
imports are tried with other regions' USCCs in entities/tests and matching/tests."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client

from matching.models import Disbursement, RecommendationBatch
from products.models import LoanProduct
from reporting.supervision.services import supervision_issue

pytestmark = pytest.mark.django_db

NONEXISTENT_ID = 2_000_000_000

# body fields that name no tenant object: public reference data or the caller's own choice
PUBLIC_FIELDS = {
    "banks": "intended banks are chosen by public bank code from the catalogue",
    "bank_code": "a bank of the public catalogue (re-recommendation is checked by the policy, not the tenancy)",
    "industry_code": "GB/T 4754 industry, public reference data",
    "operator_residence_region_code": "where the operator lives: any region, not a scope",
    "operating_region_code": "where the entity operates (兴旺贷 注册地或经营地): any county, not a scope",
    "township_code": "checked to lie inside the entity's own region_code (entities/tests)",
    "uscc": "a new entity's identifier; its uniqueness is global (entities/tests check the import and update paths)",
    "reason_code": "a decline reason of the public catalogue (DeclineReason is reference data)",
    "service_prefixes": "a branch's service area is validated against the bank administrator's region by "
    "products/tests",
}

OBJECT_FIELD = re.compile(r"(^|_)(id|ids|parent|branch|region|region_code|code|manager)$")


def foreign_values(other) -> dict[str, tuple[object, object]]:
    """Body field → (the other organisation's object, an unknown one — None where an unknown
    value is a different error, such as a region code that does not exist)."""
    return {
        "entity_id": (other.entity.pk, NONEXISTENT_ID),
        # 直接申请: active products are public (the 产品超市); an unknown or withdrawn one is not found
        "product_id": (NONEXISTENT_ID, NONEXISTENT_ID),
        "declaration_ids": ([other.declaration.pk], [NONEXISTENT_ID]),
        "ids": (None, [NONEXISTENT_ID]),  # per operation: declarations or leads (see _foreign_ids)
        "manager_id": (other.bank_admin.pk, NONEXISTENT_ID),
        "branch": (other.branch.pk, NONEXISTENT_ID),
        "parent": (other.branch.pk, NONEXISTENT_ID),
        "organisation_id": (other.task_force.pk, NONEXISTENT_ID),
        "region_code": ("140212", None),
        "region": ("140212", None),
        "code": (other.product_code, None),
        # corrections name a drawdown or a file of the lead in the path: another's is unknown there
        "disbursement_id": (other.disbursement.pk, NONEXISTENT_ID),
        "material_id": (other.material.pk, NONEXISTENT_ID),
        "department_id": (other.department.pk, NONEXISTENT_ID),
        "target_id": (other.recommendation.branch.organisation_id, NONEXISTENT_ID),
        "lead_ids": ([other.recommendation.pk], [NONEXISTENT_ID]),
        "problem_ids": ([other.problem.pk], [NONEXISTENT_ID]),
        # 大走访 走访计划: another county's visitor, another campaign's target
        "visitor_id": (other.visitor.pk, NONEXISTENT_ID),
        "target_ids": ([other.target.pk], [NONEXISTENT_ID]),
    }


# tables whose rows a refused request may touch without writing tenant data
NOT_TENANT_DATA = {
    "django_session",
    "axes_accessattempt",
    "axes_accessfailurelog",
    "axes_accesslog",
    "portal_auditevent",
    "django_celery_beat_periodictask",
    "django_celery_beat_periodictasks",
    "auth_user",
}


def _tables() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")
        return [t for (t,) in cursor.fetchall() if t not in NOT_TENANT_DATA and not t.startswith("matching_result_g")]


def snapshot(tables: list[str]) -> dict[str, str]:
    """A digest of every row of every domain table: equal digests = nothing written."""
    out = {}
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(
                f"SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM \"{table}\" t"
            )
            out[table] = cursor.fetchone()
    return out


def write_operations():
    """(method, path template, body properties, required) of every write operation of the API."""
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    components = schema["components"]["schemas"]
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if method not in ("post", "put", "patch"):
                continue
            content = operation.get("requestBody", {}).get("content", {})
            body = content.get("application/json", {}).get("schema", {})
            if "$ref" not in body:
                continue
            component = components[body["$ref"].split("/")[-1]]
            yield method, path, component.get("properties", {}), component.get("required", [])


def _own_path(path: str, world, own) -> str:
    ids = {
        "declarations": own["declaration"].pk,
        "leads": own["recommendation"].pk,
        "entities": own["entity"].pk,
        "batches": own["batch"].pk,
        "notifications": 0,
        "products": "boc_huishang",
        "branches": world.branches["boc"].pk,
        "users": world.users["boc_manager"].pk,
        "problems": world.problem.pk,
        "supervision-orders": world.supervision_order.pk,
        "campaigns": world.campaign.pk,
    }
    match = re.match(r"^/api/v1/(\w[\w-]*)/\{(\w+)\}/", path)
    if match:
        return path.replace("{" + match.group(2) + "}", str(ids[match.group(1)]))
    return path


def _base_value(name: str, prop: dict, world, own):
    """A valid value of a body field, naming the caller's own objects."""
    known = {
        "entity_id": own["entity"].pk,
        "declaration_ids": [own["declaration"].pk],
        "manager_id": world.users["boc_manager"].pk,
        "branch": world.branches["boc"].pk,
        "parent": world.branches["boc"].pk,
        "organisation_id": world.branches["boc"].organisation_id,
        "region_code": "140525",
        "region": "140525",
        "amount": 100_000,
        "term_months": 12,
        "purpose": "购进货物",
        "banks": ["boc"],
        "bank_code": "ccb",
        "period": dt.date.today().strftime("%Y-%m"),
        "name": "写入矩阵测试",
        "visited_on": dt.date.today().isoformat(),
        "people": "写入矩阵",
        "year": dt.date.today().year,
        "level": "county",
        "service_prefixes": ["140525"],
        "entity_type": "individual_business",
        "uscc": "",
        "metric": "visited",
        "value": "1",
        "decision": "approve",
        "credit_amount": 100_000,
        "rate_percent": "4.0",
        "guarantee": "credit",
        "reason_code": "high_debt",
        "disbursed_on": dt.date.today().isoformat(),
        "score": 5,
        "small_business_balance": 1,
        "all_loans_balance": 2,
        "credit_loan_balance": 0,
        "average_rate": "4.0",
        "field": "operator_phone",
        "code": "matrix_product",
        "department_id": world.department.pk,
        "target_id": own["recommendation"].branch.organisation_id,
        "lead_ids": [own["recommendation"].pk],
        "problem_ids": [],
        "subject": "写入矩阵督办",
        "kind": "collateral",
        "source": "bank",
        "due_working_days": 5,
        "amount_wan": "10.00",
        "due_date": (dt.date.today() + dt.timedelta(days=20)).isoformat(),
        "visitor_id": world.users["visitor"].pk,
        "target_ids": [world.target.pk],
        "county_codes": ["140525"],
        "deadline": (dt.date.today() + dt.timedelta(days=20)).isoformat(),
    }
    if name in known:
        return known[name]
    kind = prop.get("type")
    if kind == "integer":
        return 1
    if kind == "boolean":
        return True
    if kind == "array":
        return []
    if kind == "object":
        return {}
    if "enum" in prop:
        return prop["enum"][0]
    return "测试"


def _foreign_ids(path: str, other):
    return [other.recommendation.pk] if "/leads/" in path else [other.declaration.pk]


@pytest.fixture
def matrix_worlds(problems_both_sides):
    User = get_user_model()
    world, other = problems_both_sides
    declaration, recs = world.declaration, world.recs
    other.branch = other.recommendation.branch
    other.bank_admin = User.objects.get(username="other-bank-admin")
    other.product_code = (
        LoanProduct.objects.exclude(bank__code__in=["boc", "ccb"])
        .values_list("code", flat=True)
        .order_by("code")
        .first()
    )
    # a drawdown of the other county's lead (its own path never records one), for the corrections' bodies
    other.disbursement = Disbursement.objects.create(
        recommendation=other.recommendation, amount=1, disbursed_on=dt.date.today(), recorded_by=other.bank_admin
    )
    # 晋城's own 督办单 to 中国银行泽州支行 about its lead (the write endpoints of an order name it)
    world.supervision_order = supervision_issue(
        actor=world.users["city"],
        target_id=recs["boc"].branch.organisation_id,
        subject="写入矩阵督办",
        demand="请于期限内回复",
        due_working_days=3,
        lead_ids=[recs["boc"].pk],
    )
    own = {
        "entity": declaration.entity,
        "declaration": declaration,
        "recommendation": recs["boc"],
        "batch": RecommendationBatch.objects.exclude(pk=other.batch.pk).get(),
    }
    return world, other, own


def _answer(response) -> tuple[int, str]:
    body = response.content.decode(errors="ignore")
    try:
        body = json.dumps(response.json(), ensure_ascii=False, sort_keys=True)
    except ValueError:
        pass
    return response.status_code, body


def test_no_write_endpoint_accepts_another_organisations_object_in_its_body(matrix_worlds):
    world, other, own = matrix_worlds
    foreign = foreign_values(other)
    tables = _tables()
    unmapped, problems, checked = [], [], 0
    operations = list(write_operations())
    assert len(operations) >= 15
    for method, path, properties, required in operations:
        fields = [name for name in properties if OBJECT_FIELD.search(name) and name not in PUBLIC_FIELDS]
        unmapped += [f"{method.upper()} {path} {name}" for name in fields if name not in foreign]
        fields = [name for name in fields if name in foreign]
        if not fields:
            continue
        url = _own_path(path, world, own)
        for role_name, user in world.users.items():
            client = Client()
            client.force_login(user)
            base = {
                name: _base_value(name, prop, world, own)
                for name, prop in properties.items()
                if name in required or name in fields
            }
            for name in fields:
                value, unknown = foreign[name]
                if name == "ids":
                    value = _foreign_ids(path, other)
                # given the database as it is
                before = snapshot(tables)
                # when the request names the other organisation's object in this field
                response = getattr(client, method)(
                    url,
                    data=json.dumps({**base, name: value}),
                    content_type="application/json",
                    HTTP_ACCEPT="application/json",
                )
                checked += 1
                where = f"{role_name} {method.upper()} {url} {name}={value!r}"
                # then it is refused (an error, or a bulk answer that refuses the item exactly as an
                # unknown one), nothing is written and nothing of the other organisation is shown
                refused = response.status_code in (400, 403, 404, 405, 409)
                after = snapshot(tables)
                changed = [t for t in tables if before[t] != after[t]]
                if changed:
                    problems.append(f"{where} wrote {changed}")
                status, body = _answer(response)
                shown = [s for s in other.secrets() if s in body]
                if shown:
                    problems.append(f"{where} shows {shown}")
                # and its answer is the one an unknown object gets
                if unknown is not None:
                    other_answer = _answer(
                        getattr(client, method)(
                            url,
                            data=json.dumps({**base, name: unknown}),
                            content_type="application/json",
                            HTTP_ACCEPT="application/json",
                        )
                    )
                    mine = (status, body.replace(str(value).strip("[]"), "?"))
                    theirs = (other_answer[0], other_answer[1].replace(str(unknown).strip("[]"), "?"))
                    if mine != theirs:
                        problems.append(f"{where} answers {mine} but an unknown object gets {theirs}")
                    elif not refused and not changed:
                        refused = True  # e.g. a bulk review that lists the item as not found
                if not refused:
                    problems.append(f"{where} → {response.status_code} {response.content[:200]!r}")
    assert not unmapped, "body fields naming objects, not mapped in FOREIGN or PUBLIC_FIELDS:\n" + "\n".join(unmapped)
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems)
    assert checked > 100
