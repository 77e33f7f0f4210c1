"""make bench-preview: the eligibility preview of one entity against every active product.

Targets (issue 4): in process p95 ≤ 5 ms; through HTTP on the dev server p95 ≤ 30 ms.
The HTTP figure is a bank's system calling with the API token its administrator issued
(`portal.tokens.api_token_issue`): anonymous callers are rate-limited to 30 a minute.

Floors, measured in the same run: in process, the engine alone (each active product's rules
and caps evaluated on the request's facts, computed once: no validation, no catalogue read,
no response); through HTTP, the bare request to the same server (`/healthz`, same client,
same connection handling). Prints, last, one JSON line of figures (benchlib).
"""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

import django  # noqa: E402

django.setup()

from benchlib import Figures, p50, p95  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.utils import timezone  # noqa: E402

from eligibility import evaluate_product, from_request, validate_preview_request  # noqa: E402
from portal.models import Membership, Organisation, Role  # noqa: E402
from portal.tokens import api_token_issue  # noqa: E402
from products.eligibility import preview_catalog, run_preview, size_classifier  # noqa: E402
from products.services import catalog_load  # noqa: E402

REQUEST = {
    "as_of": "2026-11-22",
    "entity": {
        "entity_type": "individual_business",
        "established_on": "2025-05-10",
        "region_code": "140502",
        "industry_code": "5291",
        "tier": "survival",
        "honors": [{"kind": "quality", "valid_until": "2027-06-30"}],
        "annual_revenue": 150000,
        "net_assets": 400000,
        "employees": 3,
        "social_insurance_headcount": 1,
        "tax_status": "small_scale_taxpayer",
        "has_tax_record": True,
        "register_status": "active",
        "operator": {
            "birth_date": "1986-03-01",
            "nationality": "CN",
            "local_residence": True,
            "industry_experience_months": 0,
        },
        "credit": {
            "dishonest_debtor": False,
            "joint_punishment": False,
            "consumption_restricted": False,
            "overdue_consecutive_24m": 0,
            "overdue_total_24m": 0,
            "overdue_12m": 0,
            "major_bad_record": False,
            "pending_litigation": False,
        },
    },
    "need": {"amount": 100000, "term_months": 12},
}


def in_process(runs=500):
    """(run_preview samples, engine-alone samples) in ms, alternating."""
    run_preview(REQUEST)  # warm the definition cache
    catalog = preview_catalog()
    day = timezone.localdate()
    clean, errors = validate_preview_request(REQUEST, catalog, today=lambda: day)
    assert not errors
    facts = from_request(clean["entity"], clean["need"], clean["as_of"], size_classifier=size_classifier)
    products = list(catalog["products"].values())
    samples, floor = [], []
    for _ in range(runs):
        start = time.perf_counter()
        response, errors = run_preview(REQUEST)
        samples.append((time.perf_counter() - start) * 1000)
        assert not errors and len(response["results"]) == len(products)
        # the floor: every active product's rules and caps on the request's facts
        start = time.perf_counter()
        for product in products:
            evaluate_product(product, facts)
        floor.append((time.perf_counter() - start) * 1000)
    return samples, floor, len(products)


def bank_system_key() -> str:
    """The key of a token a bank administrator issued for his bank's system."""
    user, _ = get_user_model().objects.get_or_create(username="bench-preview", defaults={"first_name": "基准测试"})
    Membership.objects.get_or_create(
        user=user, organisation=Organisation.objects.get(code="branch-boc-140500-city"), role=Role.BANK_ADMIN
    )
    _, key = api_token_issue(actor=user, name="基准测试系统")
    return key


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def through_http(runs=200):
    """(preview samples, /healthz samples) in ms, alternating on the same server."""
    key = bank_system_key()
    port = free_port()
    # one server thread with a persistent database connection (CONN_MAX_AGE), as a production
    # worker process has: runserver's default thread-per-request would time PostgreSQL's
    # connection set-up on every call instead of the preview
    server = subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), "runserver", f"127.0.0.1:{port}", "--noreload", "--nothreading"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "DEBUG": "False", "SECURE_SSL_REDIRECT": "False", "CONN_MAX_AGE": "60"},
    )
    try:
        url = f"http://127.0.0.1:{port}/api/v1/eligibility/preview"
        body = json.dumps(REQUEST).encode()
        headers = {"Content-Type": "application/json", "Authorization": f"Token {key}"}
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        for _ in range(5):
            urllib.request.urlopen(urllib.request.Request(url, body, headers), timeout=10).read()
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10).read()
        samples, floor = [], []
        for _ in range(runs):
            start = time.perf_counter()
            with urllib.request.urlopen(urllib.request.Request(url, body, headers), timeout=10) as response:
                response.read()
                assert response.status == 200
            samples.append((time.perf_counter() - start) * 1000)
            start = time.perf_counter()
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as response:
                response.read()
                assert response.status == 200
            floor.append((time.perf_counter() - start) * 1000)
        return samples, floor
    finally:
        server.terminate()
        server.wait(timeout=10)


def main():
    catalog_load()
    local, engine, products = in_process()
    figures = Figures("preview", products=products, target_in_process_p95_ms=5, target_http_p95_ms=30)
    floor_in_process = "the engine alone: each product's rules and caps on precomputed facts"
    figures.add("in_process_p50_ms", p50(local), "ms", floor=p50(engine), floor_is=floor_in_process, digits=2)
    figures.add("in_process_p95_ms", p95(local), "ms", floor=p95(engine), floor_is=floor_in_process, digits=2)
    http, healthz = through_http()
    floor_http = "GET /healthz on the same server, same client"
    figures.add("http_p50_ms", p50(http), "ms", floor=p50(healthz), floor_is=floor_http, digits=2)
    figures.add("http_p95_ms", p95(http), "ms", floor=p95(healthz), floor_is=floor_http, digits=2)
    figures.note(
        ok=figures.figures["in_process_p95_ms"]["value"] <= 5 and figures.figures["http_p95_ms"]["value"] <= 30
    )
    figures.emit()


if __name__ == "__main__":
    main()
