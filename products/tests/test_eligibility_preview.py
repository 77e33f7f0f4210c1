"""The eligibility preview, exactly per shared/domain/eligibility-api.md: the command
(``eligibility_preview FILE|-``) and ``POST /api/v1/eligibility/preview``."""

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import cache
from django.core.management import call_command
from rest_framework.test import APIClient

from portal.factories import user_with_role
from portal.models import AuditEvent, Role
from products.catalog.factories import contract_example, merge
from products.models import LoanProduct
from products.services import product_edit, product_publish

pytestmark = pytest.mark.django_db

ROOT = Path(settings.BASE_DIR)
URL = "/api/v1/eligibility/preview"
RESULT_KEYS = {"product", "bank", "name", "verdict", "max_amount", "binding_cap", "reasons", "bank_checks"}


@pytest.fixture(autouse=True)
def _fresh_throttle():
    cache.clear()  # the rate limit's history lives in the cache
    yield
    cache.clear()


def survival_request(**changes):
    """products.md: survival tier, operating 18 months, revenue 150000, operator 40."""
    request = contract_example()
    request.pop("need")
    return merge(request, changes)


def run_command(argument, stdin_text=None):
    out, err = io.StringIO(), io.StringIO()
    code = 0
    try:
        call_command(
            "eligibility_preview",
            argument,
            stdout=out,
            stderr=err,
            **({"stdin": io.StringIO(stdin_text)} if stdin_text is not None else {}),
        )
    except SystemExit as exit_:
        code = exit_.code
    return code, out.getvalue(), err.getvalue()


def by_product(response):
    return {result["product"]: result for result in response["results"]}


# --- the command -----------------------------------------------------------------------------


def test_command_reads_a_file_and_prints_the_contract_response(catalogue, tmp_path):
    # given the contract's example request in a file
    path = tmp_path / "request.json"
    path.write_text(json.dumps(survival_request(products=["huishangdai", "ccb-precredit"])), encoding="utf-8")
    # when the command runs
    code, out, err = run_command(str(path))
    # then it exits 0 with the response on stdout, every contract field present
    assert code == 0 and err == ""
    response = json.loads(out)
    assert response["as_of"] == "2026-11-22"
    assert [r["product"] for r in response["results"]] == ["ccb-precredit", "huishangdai"]  # 100000 before 30000
    for result in response["results"]:
        assert RESULT_KEYS <= set(result)
        assert all(set(reason) == {"rule", "outcome", "message"} for reason in result["reasons"])
    huishangdai = by_product(response)["huishangdai"]
    assert (huishangdai["verdict"], huishangdai["max_amount"], huishangdai["binding_cap"]) == (
        "eligible",
        30000,
        "revenue_share",
    )
    assert {
        "rule": "revenue_share",
        "outcome": "pass",
        "message": "额度不超过年营业收入 150000 元的 20%, 即 30000 元",
    } in huishangdai["reasons"]
    assert "借款人及配偶近两年征信逾期情况" in huishangdai["bank_checks"]


def test_command_reads_stdin_and_evaluates_every_active_product_by_default(catalogue):
    request = survival_request()
    request.pop("products")
    code, out, _ = run_command("-", json.dumps(request))
    assert code == 0
    results = json.loads(out)["results"]
    assert {r["product"] for r in results} == set(
        LoanProduct.objects.filter(status="active").values_list("code", flat=True)
    )
    order = {"eligible": 0, "incomplete": 1, "ineligible": 2}
    ranks = [order[r["verdict"]] for r in results]
    assert ranks == sorted(ranks)
    eligible = [r["max_amount"] or 0 for r in results if r["verdict"] == "eligible"]
    assert eligible == sorted(eligible, reverse=True)


@pytest.mark.parametrize(
    "request_body, field",
    [
        ({"entity": {"entity_type": "company", "established_on": "2025-13-01"}}, "entity.entity_type"),
        ({"entity": {"established_on": "2025-13-01"}}, "entity.established_on"),
        ({"entity": {"annual_revenue": -5}}, "entity.annual_revenue"),
        ({"need": {"amount": "many"}}, "need.amount"),
        ({"products": ["no-such-product"]}, "products[0]"),
        ([1, 2, 3], "non_field_errors"),
    ],
)
def test_command_refuses_bad_input_with_field_errors_on_stderr_and_exit_2(catalogue, request_body, field):
    code, out, err = run_command("-", json.dumps(request_body))
    assert code == 2 and out == ""
    body = json.loads(err)
    assert body["code"] == "invalid" and field in body["errors"]
    assert all(isinstance(m, str) and m for messages in body["errors"].values() for m in messages)


def test_command_names_an_unknown_product_code(catalogue):
    code, _, err = run_command("-", json.dumps({"products": ["huishangdai", "nope"]}))
    assert code == 2
    assert json.loads(err)["errors"] == {"products[1]": ["未知产品代码 'nope'"]}


@pytest.mark.parametrize("text, expected", [("{not json", "不是有效的 JSON"), ("", "不是有效的 JSON")])
def test_command_refuses_text_that_is_not_json(catalogue, text, expected):
    code, _, err = run_command("-", text)
    assert code == 2 and expected in json.loads(err)["errors"]["non_field_errors"][0]


def test_command_refuses_a_missing_file(catalogue, tmp_path):
    code, _, err = run_command(str(tmp_path / "absent.json"))
    assert code == 2 and "文件不存在" in json.loads(err)["errors"]["non_field_errors"][0]


def test_command_uses_the_published_version_of_an_edited_product_not_the_files(catalogue):
    # given 惠商贷 edited to a 10% revenue share and published
    product = LoanProduct.objects.get(code="huishangdai")
    definition = dict(product.current_version.definition)
    definition["caps"] = [dict(c, percent=10) if c["kind"] == "revenue_share" else c for c in definition["caps"]]
    admin = user_with_role(Role.BANK_ADMIN, organisation=product.bank.organisation)
    product_edit(
        actor=admin, product=product, definition=definition, effective_from=product.current_version.effective_from
    )
    version = product_publish(actor=admin, product=product)
    # when previewed
    code, out, _ = run_command("-", json.dumps(survival_request(products=["huishangdai"])))
    # then the new version's offer is given, and the version is named
    result = json.loads(out)["results"][0]
    assert code == 0 and result["max_amount"] == 15000 and result["version"] == version.pk


def test_command_knows_nothing_before_the_catalogue_is_loaded():
    code, _, err = run_command("-", json.dumps({"products": ["huishangdai"]}))
    assert code == 2 and "products[0]" in json.loads(err)["errors"]


@pytest.mark.django_db(transaction=True)
def test_the_real_command_line_after_load_catalog(tmp_path):
    # given a migrated database (this test's) and the catalogue loaded by its command
    env = dict(os.environ)
    db = settings.DATABASES["default"]
    env["DATABASE_URL"] = f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run(manage + ["load_catalog"], env=env, check=True, capture_output=True, cwd=ROOT)
    # when the command runs as a process on a file, and on bad input
    path = tmp_path / "request.json"
    path.write_text(json.dumps(survival_request(products=["huishangdai"])), encoding="utf-8")
    good = subprocess.run(
        manage + ["eligibility_preview", str(path)], env=env, capture_output=True, text=True, cwd=ROOT
    )
    bad = subprocess.run(
        manage + ["eligibility_preview", "-"],
        input='{"entity": {"tier": "rich"}}',
        env=env,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    # then: JSON on stdout and exit 0; field errors as JSON on stderr and exit 2, no traceback
    assert good.returncode == 0, good.stderr
    assert json.loads(good.stdout)["results"][0]["max_amount"] == 30000
    assert bad.returncode == 2 and bad.stdout == ""
    assert "entity.tier" in json.loads(bad.stderr)["errors"] and "Traceback" not in bad.stderr


# --- HTTP ------------------------------------------------------------------------------------


def test_anonymous_post_gets_the_contract_response_and_nothing_is_stored(catalogue):
    events = AuditEvent.objects.count()
    response = APIClient().post(URL, survival_request(products=["huishangdai", "ccb-precredit"]), format="json")
    assert response.status_code == 200
    body = response.json()
    assert body["as_of"] == "2026-11-22"
    huishangdai = by_product(body)["huishangdai"]
    assert RESULT_KEYS <= set(huishangdai)
    assert (huishangdai["verdict"], huishangdai["max_amount"], huishangdai["binding_cap"]) == (
        "eligible",
        30000,
        "revenue_share",
    )
    assert AuditEvent.objects.count() == events


@pytest.mark.parametrize(
    "entity_changes, product, verdict, amount",
    [
        ({}, "huishangdai", "eligible", 30000),
        ({"tier": "growth", "annual_revenue": 3000000}, "huishangdai", "eligible", 600000),
        (
            {"tier": "growth", "annual_revenue": 3000000, "honors": [{"kind": "quality", "valid_until": "2026-10-31"}]},
            "huishangdai",
            "eligible",
            200000,
        ),
        ({"established_on": "2025-03-22"}, "mashangdai", "ineligible", None),
        ({"credit": {"dishonest_debtor": True}}, "ccb-precredit", "ineligible", None),
    ],
)
def test_http_gives_the_worked_examples_of_products_md(catalogue, entity_changes, product, verdict, amount):
    request = survival_request(entity=entity_changes, products=[product])
    result = APIClient().post(URL, request, format="json").json()["results"][0]
    assert (result["verdict"], result["max_amount"]) == (verdict, amount)


def test_http_worked_example_operator_63_depends_on_the_term(catalogue):
    # the 60% cap is of the operator's own realisable net assets: stated, so an offer can be computed
    request = survival_request(
        entity={"operator": {"birth_date": "1963-05-01", "realisable_net_assets": 500000}}, products=["jinxiangdai"]
    )
    long = APIClient().post(URL, {**request, "need": {"term_months": 36}}, format="json").json()["results"][0]
    short = APIClient().post(URL, {**request, "need": {"term_months": 12}}, format="json").json()["results"][0]
    assert long["verdict"] == "ineligible" and short["verdict"] == "eligible"


def test_http_worked_example_20_months_names_the_shortfall(catalogue):
    request = survival_request(entity={"established_on": "2025-03-22"})
    request.pop("products")
    results = by_product(APIClient().post(URL, request, format="json").json())
    shanxibank = [code for code, r in results.items() if r["bank"] == "shanxibank"]
    assert shanxibank
    for code in shanxibank + ["mashangdai"]:
        assert results[code]["verdict"] == "ineligible"
        assert any("经营未满 2 年, 还差 4 个月" in reason["message"] for reason in results[code]["reasons"]), code


@pytest.mark.parametrize(
    "body, field",
    [
        ({"entity": {"region_code": "9999"}}, "entity.region_code"),
        ({"as_of": "22/11/2026"}, "as_of"),
        ({"entity": {"operator": {"birth_date": "2030-01-01"}}, "as_of": "2026-11-22"}, "entity.operator.birth_date"),
        ({"products": "huishangdai"}, "products"),
        ({"products": ["nope"]}, "products[0]"),
    ],
)
def test_http_bad_input_is_400_with_field_errors(catalogue, body, field):
    response = APIClient().post(URL, body, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid" and field in response.json()["errors"]


@pytest.mark.parametrize(
    "payload, content_type",
    [
        ("{broken", "application/json"),
        ("[1, 2]", "application/json"),
        ("null", "application/json"),
        ('"text"', "application/json"),
        ('{"entity": []}', "application/json"),
        ('{"entity": {"honors": [7]}}', "application/json"),
        ("\xff\xfe", "application/json"),
        ("a=1", "application/x-www-form-urlencoded"),
    ],
)
def test_http_never_answers_500_to_odd_bodies(catalogue, payload, content_type):
    response = APIClient().generic("POST", URL, payload, content_type=content_type)
    assert 400 <= response.status_code < 500
    assert set(response.json()) == {"code", "message", "errors"}


def test_signed_in_users_may_preview_too(catalogue):
    client = APIClient()
    client.force_authenticate(user_with_role(Role.ENTERPRISE_USER))
    assert client.post(URL, survival_request(), format="json").status_code == 200


def test_anonymous_callers_are_rate_limited_with_a_chinese_message(catalogue):
    client = APIClient()
    statuses = [client.post(URL, {"products": ["huishangdai"]}, format="json").status_code for _ in range(31)]
    assert statuses[:30] == [200] * 30
    assert statuses[30] == 429
    body = client.post(URL, {"products": ["huishangdai"]}, format="json").json()
    assert body["code"] == "throttled" and body["message"] == "请求过于频繁, 请稍后再试"
