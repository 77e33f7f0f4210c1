"""deploy/gunicorn.conf.py: the web workers' settings (docker-compose's web, bench-load)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CONF = ROOT / "deploy" / "gunicorn.conf.py"

HOOK = f"""
import gc, runpy, sys
import django
django.setup()
conf = runpy.run_path({str(CONF)!r})
before = gc.get_freeze_count()
conf["post_worker_init"](worker=None)
print(before, gc.get_freeze_count(), "matching.views.leads" in sys.modules)
"""


def _python(script: str, **env: str) -> str:
    """What `script` prints, run by a fresh Python process with the portal's settings."""
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings", **env},
        check=True,
    )
    return result.stdout


def test_gunicorn_accepts_the_config():
    result = subprocess.run(
        [sys.executable, "-m", "gunicorn", "--check-config", "-c", str(CONF), "portal.wsgi:application"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings"},
    )
    assert result.returncode == 0, result.stderr


def test_a_worker_loads_every_view_then_freezes_its_objects_out_of_the_collector():
    # given a fresh process with the application set up, as a worker after loading it
    # when gunicorn calls the config's post_worker_init
    before, after, views_loaded = _python(HOOK).split()
    # then the views are imported and the objects held so far are frozen (never walked again)
    assert int(before) == 0
    assert int(after) > 50_000
    assert views_loaded == "True"


REQUESTS = f"""
import gc, runpy, types
conf = runpy.run_path({str(CONF)!r})
worker = types.SimpleNamespace(nr=0)
counts = []
kept = []
for n in range(1, 1101):
    worker.nr = n  # gunicorn counts the request before handling it
    kept.append([object()])  # something each request builds to last
    before = gc.get_freeze_count()
    conf["post_request"](worker, None, {{}}, None)
    if gc.get_freeze_count() != before:
        counts.append(n)
collected = {{id(o) for generation in range(3) for o in gc.get_objects(generation)}}
print(" ".join(map(str, counts)), id(kept[999]) in collected, id(kept[1000]) in collected)
"""


def test_what_the_first_requests_built_to_last_is_frozen_after_them():
    # given a worker (a fresh process) whose requests each leave a long-lived object
    # when gunicorn calls the config's post_request after each of 1,100 requests
    printed = _python(REQUESTS)
    # then the objects are frozen after the 50th, 300th and 1,000th request, and only then:
    # what the 1,000th built is out of the collector's reach, what the 1,001st built is not
    counts, thousandth_collected, next_collected = printed.rsplit(" ", 2)
    assert counts == "50 300 1000"
    assert (thousandth_collected, next_collected.strip()) == ("False", "True")


WORKERS = f"""
import runpy
print(runpy.run_path({str(CONF)!r})["workers"])
"""


@pytest.mark.parametrize(("web_concurrency", "expected"), [("", len(os.sched_getaffinity(0))), ("5", 5)])
def test_the_web_runs_a_worker_per_core_unless_told_how_many(web_concurrency, expected):
    # given the cores this process may run on, and WEB_CONCURRENCY unset or set
    # when gunicorn reads the configuration
    workers = _python(WORKERS, WEB_CONCURRENCY=web_concurrency)
    # then it starts one worker per core, or as many as WEB_CONCURRENCY says
    assert int(workers) == expected
