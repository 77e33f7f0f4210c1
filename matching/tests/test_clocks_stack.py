"""Deadline scans on the real stack: a real Celery beat process schedules the scan, the
real worker runs it against PostgreSQL; time is moved by back-dating the push, not by
waiting days. Also two scans at once: the advisory lock lets one work."""

import datetime as dt
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from matching.clocks import deadline_scan
from matching.factories import push_one
from matching.models import ClockState, DeadlineClock, DeadlineScan, Notification
from workdays.arithmetic import SHANGHAI

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL"),
]
ROOT = Path(__file__).resolve().parents[2]


def at(y, m, d, h=10, minute=0):
    return dt.datetime(y, m, d, h, minute, tzinfo=SHANGHAI)


def test_two_scans_at_once_send_nothing_twice(world):
    # given 20 feedback clocks already overdue
    for _ in range(20):
        push_one(world, at(2026, 3, 2))
    barrier = threading.Barrier(2)
    results = []

    def scan():
        try:
            barrier.wait()
            results.append(deadline_scan(now=at(2026, 3, 20)))
        finally:
            connection.close()

    threads = [threading.Thread(target=scan) for _ in range(2)]
    [t.start() for t in threads]
    [t.join(60) for t in threads]
    # then the overdue marks were made once, and each administrator heard once per clock
    assert sum(r.overdue for r in results) == 20
    assert DeadlineClock.objects.filter(state=ClockState.OVERDUE).count() == 20
    assert Notification.objects.filter(recipient=world.users["boc_admin"], title__contains="已逾期").count() == 20


@pytest.mark.worker
def test_beat_schedules_the_scan_and_the_real_worker_marks_overdue_clocks(world):
    # given a lead pushed three weeks ago and never answered (time moved by back-dating the push)
    now = dt.datetime.now(tz=dt.timezone.utc)
    rec, _ = push_one(world, now - dt.timedelta(days=21))
    assert DeadlineClock.objects.get(recommendation=rec).state == ClockState.RUNNING

    # when a real beat process schedules the scan every 2 s and the real worker runs it
    env = {**os.environ, "DEADLINE_SCAN_SECONDS": "2"}
    env["DATABASE_URL"] = settings.DATABASES["default"].get("TEST_URL") or _test_database_url()
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    beat = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "portal", "beat", "-l", "info", "-S", "django", "--pidfile="],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if DeadlineClock.objects.filter(recommendation=rec, state=ClockState.OVERDUE).exists():
                break
            time.sleep(0.5)
    finally:
        beat.terminate()
        output = beat.communicate(timeout=20)[0].decode(errors="replace")

    # then the clock is overdue, the branch administrator was told once, and the scan is recorded
    assert DeadlineClock.objects.get(recommendation=rec).state == ClockState.OVERDUE, output[-2000:]
    assert Notification.objects.filter(recipient=world.users["boc_admin"], title__contains="已逾期").count() == 1
    assert DeadlineScan.objects.filter(overdue__gte=1).exists()


def _test_database_url() -> str:
    db = settings.DATABASES["default"]
    return f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
