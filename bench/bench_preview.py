"""make bench-preview: the eligibility preview of one entity against every active product.

Targets (issue 4): in process p95 ≤ 5 ms; through HTTP on the dev server p95 ≤ 30 ms.
Prints, last, one JSON line of its figures. The HTTP figure is a signed-in (token) caller:
anonymous callers are rate-limited to 30 a minute.
"""
import json
import os
import socket
import statistics
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

from django.contrib.auth import get_user_model  # noqa: E402
from portal.factories import api_token  # noqa: E402

from products.eligibility import run_preview  # noqa: E402
from products.services import catalog_load  # noqa: E402

REQUEST = {
    "as_of": "2026-11-22",
    "entity": {
        "entity_type": "individual_business", "established_on": "2025-05-10", "region_code": "140502",
        "industry_code": "5291", "tier": "survival", "honors": [{"kind": "quality", "valid_until": "2027-06-30"}],
        "annual_revenue": 150000, "net_assets": 400000, "employees": 3, "social_insurance_headcount": 1,
        "tax_status": "small_scale_taxpayer", "has_tax_record": True, "register_status": "active",
        "operator": {"birth_date": "1986-03-01", "nationality": "CN", "local_residence": True,
                     "industry_experience_months": 0},
        "credit": {"dishonest_debtor": False, "joint_punishment": False, "consumption_restricted": False,
                   "overdue_consecutive_24m": 0, "overdue_total_24m": 0, "overdue_12m": 0,
                   "major_bad_record": False, "pending_litigation": False},
    },
    "need": {"amount": 100000, "term_months": 12},
}


def p95(samples):
    return statistics.quantiles(samples, n=20)[18]


def in_process(runs=500):
    run_preview(REQUEST)  # warm the definition cache
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        response, errors = run_preview(REQUEST)
        samples.append((time.perf_counter() - start) * 1000)
    assert not errors
    return samples, len(response["results"])


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def through_http(runs=200):
    user, _ = get_user_model().objects.get_or_create(username="bench-preview")
    key = api_token(user, name="bench-preview")
    port = free_port()
    # one server thread with a persistent database connection (CONN_MAX_AGE), as a production
    # worker process has: runserver's default thread-per-request would time PostgreSQL's
    # connection set-up on every call instead of the preview
    server = subprocess.Popen([sys.executable, str(ROOT / "manage.py"), "runserver", f"127.0.0.1:{port}", "--noreload", "--nothreading"],
                              cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              env={**os.environ, "DEBUG": "False", "SECURE_SSL_REDIRECT": "False", "CONN_MAX_AGE": "60"})
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
        samples = []
        for _ in range(runs):
            start = time.perf_counter()
            with urllib.request.urlopen(urllib.request.Request(url, body, headers), timeout=10) as response:
                response.read()
                assert response.status == 200
            samples.append((time.perf_counter() - start) * 1000)
        return samples
    finally:
        server.terminate()
        server.wait(timeout=10)


def main():
    catalog_load()
    local, products = in_process()
    http = through_http()
    figures = {
        "bench": "preview", "products": products,
        "in_process_ms": {"p50": round(statistics.median(local), 2), "p95": round(p95(local), 2), "target_p95": 5},
        "http_ms": {"p50": round(statistics.median(http), 2), "p95": round(p95(http), 2), "target_p95": 30},
    }
    figures["ok"] = figures["in_process_ms"]["p95"] <= 5 and figures["http_ms"]["p95"] <= 30
    print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    main()
