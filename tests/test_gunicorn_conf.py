"""deploy/gunicorn.conf.py: the web workers' settings (docker-compose's web, bench-load)."""

import os
import subprocess
import sys
from pathlib import Path

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
    result = subprocess.run(
        [sys.executable, "-c", HOOK],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings"},
        check=True,
    )
    before, after, views_loaded = result.stdout.split()
    # then the views are imported and the objects held so far are frozen (never walked again)
    assert int(before) == 0
    assert int(after) > 50_000
    assert views_loaded == "True"
