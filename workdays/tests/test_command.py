"""`manage.py workdays add DATE N` and `manage.py workdays check DATE`."""

import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from workdays.factories import SAMPLE_2027
from workdays.services import calendar_year_enter

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def run(*args) -> str:
    out = StringIO()
    call_command("workdays", *args, stdout=out)
    return out.getvalue()


@pytest.mark.parametrize(
    "start, n, expected",
    [
        ("2025-09-30", "5", "2025-10-14"),  # 10-09, 10-10, Sat 10-11 (调休), 10-13, 10-14
        ("2025-09-30", "4", "2025-10-13"),
        ("2025-09-30", "0", "2025-09-30"),
        ("2025-01-24", "1", "2025-01-26"),
        ("2025-12-31", "1", "2026-01-04"),
        ("2026-02-13", "2", "2026-02-24"),
        ("2026-09-30", "5", "2026-10-13"),
        ("2026-12-28", "3", "2026-12-31"),
    ],
)
def test_add_prints_one_iso_date(start, n, expected):
    assert run("add", start, n) == expected + "\n"


@pytest.mark.parametrize(
    "day, answer",
    [
        ("2025-10-11", "working"),
        ("2025-10-08", "holiday"),
        ("2025-10-12", "holiday"),
        ("2025-10-13", "working"),
        ("2026-01-04", "working"),
        ("2026-02-23", "holiday"),
        ("2026-02-28", "working"),
        ("2026-05-09", "working"),
        ("2026-09-20", "working"),
        ("2026-10-10", "working"),
        ("2026-10-07", "holiday"),
    ],
)
def test_check_prints_working_or_holiday(day, answer):
    assert run("check", day) == answer + "\n"


@pytest.mark.parametrize(
    "args, message",
    [
        (("add", "2026-12-28", "5"), "2027"),
        (("check", "2027-01-04"), "2027"),
        (("check", "2003-12-31"), "2003"),
        (("add", "2025-9-30", "5"), "日期格式错误"),
        (("add", "2025-02-30", "5"), "日期格式错误"),
        (("check", "tomorrow"), "日期格式错误"),
        (("add", "2025-09-30", "five"), "工作日数错误"),
        (("add", "2025-09-30", "-3"), "工作日数错误"),
        (("add", "2025-09-30", "2.5"), "工作日数错误"),
    ],
)
def test_refusals_carry_exit_status_2_and_a_message(args, message):
    with pytest.raises(CommandError) as refused:
        run(*args)
    assert refused.value.returncode == 2
    assert message in str(refused.value)


def test_an_entered_year_is_used_by_the_command(platform_admin, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        calendar_year_enter(actor=platform_admin, year=2027, text=SAMPLE_2027)
    assert run("add", "2026-12-28", "5") == "2027-01-05\n"
    assert run("check", "2027-01-01") == "holiday\n"


def _manage(*args):
    settings = connection.settings_dict
    url = (
        f"postgres://{settings['USER']}:{settings['PASSWORD']}@{settings['HOST']}:{settings['PORT']}/{settings['NAME']}"
    )
    env = {**os.environ, "DATABASE_URL": url}
    return subprocess.run(
        [sys.executable, "manage.py", "workdays", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the subprocess needs the shared test database")
def test_the_real_command_line_exit_statuses():
    # the seeded years are committed by the migrations, so another process sees them
    ok = _manage("add", "2025-09-30", "5")
    assert (ok.returncode, ok.stdout) == (0, "2025-10-14\n")
    assert _manage("check", "2025-10-11").stdout == "working\n"

    missing = _manage("add", "2026-12-28", "5")
    assert missing.returncode == 2 and missing.stdout == ""
    assert "工作日历未包含 2027 年的节假日安排" in missing.stderr

    for args in (("add", "2025-13-01", "5"), ("check", "20251011"), ("add", "2025-09-30", "x"), ("add", "2025-09-30")):
        bad = _manage(*args)
        assert bad.returncode == 2, (args, bad.stderr)
        assert bad.stderr
