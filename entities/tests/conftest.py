import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.cache import cache
from django.core.management import call_command

from portal import sms

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def run_command():
    """Runs `manage.py import_entities` on a register file in-process:
    `run_command(path, *args)` → (exit code, JSON report, stdout, stderr)."""

    def run(path: Path, *args: str) -> tuple[int, dict | None, str, str]:
        out, err = io.StringIO(), io.StringIO()
        try:
            call_command("import_entities", str(path), *args, "--workers", "1", stdout=out, stderr=err)
            code = 0
        except SystemExit as exc:
            code = exc.code
        stdout = out.getvalue()
        return code, (json.loads(stdout) if stdout.strip() else None), stdout, err.getvalue()

    return run


@pytest.fixture
def run_command_process():
    """The real command line in a new process (exit status as the shell sees it):
    `run_command_process(path, env)` → subprocess.CompletedProcess."""

    def run(path: Path, env: dict) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "manage.py", "import_entities", str(path)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    return run


@pytest.fixture
def sms_outbox(settings):
    """Text messages go to `portal.sms.outbox` (the locmem backend), emptied, and the SMS rate
    limits start from zero: the list of messages the test's actions sent."""
    settings.SMS_BACKEND = "portal.sms.LocmemBackend"
    sms.outbox.clear()
    cache.clear()
    yield sms.outbox
    sms.outbox.clear()
