"""Faults (issue 9 item 5), each bounded in time:

- the Celery worker is SIGKILLed in the middle of a deadline scan over many due clocks and
  restarted: the scan completes, every clock is processed exactly once, no notification or
  timeline event is doubled (acks_late + reject_on_worker_lost redeliver the task; the scan
  is one transaction, so the killed run left nothing behind);
- PostgreSQL is stopped and restarted under the running portal: requests made while it is
  down get a clear Chinese 503 page (the API: a JSON 503), never a 500 traceback, and a push
  cut off half-way leaves no recommendation behind;
- the broker (Redis) is unreachable: pages work, a service that mails after commit still
  commits, and the mail goes out through the periodic sweep once the broker is back.

The worker tests start their own worker on their own queue (tests/fault_worker.py) and
never touch the suite's shared worker; the PostgreSQL tests act on the suite's throwaway
server (PORTAL_PG_DATA, exported by `make test`) and always leave it running."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

import psycopg2
import pytest
import time_machine
from django.conf import settings
from django.db import connection, connections
from django.db.models import Count, F
from django.test import Client

from matching import clock_rules
from matching import services as s
from matching.factories import declare, pushed, through_reviews
from matching.models import (
    ClockState,
    DeadlineClock,
    DeadlineScan,
    Declaration,
    Notification,
    Recommendation,
    RecommendationBatch,
    WorkflowEvent,
)
from portal.celery import app
from portal.factories import api_token

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL"),
]

CLOCKS = 40  # due clocks in the killed scan
BATCH = 4  # scan batch size in the fault worker: 10 overdue steps, then 10 escalation steps
STEP_DELAY = 0.4  # seconds after each step: the scan takes ~8 s, time to kill it half-way


# --- the fault harness --------------------------------------------------------------------------------
# It acts only on processes and servers of this machine that the test suite started (the worker
# processes it spawns itself; the suite's throwaway PostgreSQL, whose data folder `make test`
# exports as PORTAL_PG_DATA), and always leaves them running again.

ROOT = Path(__file__).resolve().parents[1]
PGBIN = Path(os.environ.get("PGBIN", "/usr/lib/postgresql/15/bin"))


def _test_database_url() -> str:
    """DATABASE_URL of pytest-django's test database, for processes started by a test."""
    db = settings.DATABASES["default"]
    return f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


# --- a dedicated Celery worker ------------------------------------------------------------------------


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(entry.name))
    return found


class FaultWorker:
    """A Celery worker (tests/fault_worker.py) on its own queue, in its own process group,
    against the test database. `kill()` SIGKILLs the whole group: no warm shutdown, no ack."""

    def __init__(self, queue: str, log_dir: Path, **env: str):
        self.queue, self.log_dir, self.env = queue, log_dir, env
        self.process: subprocess.Popen | None = None
        self.log_path: Path | None = None

    def start(self, timeout: float = 60, **env: str) -> "FaultWorker":
        self.log_path = self.log_dir / f"fault-worker-{uuid.uuid4().hex[:6]}.log"
        full_env = {**os.environ, "DATABASE_URL": _test_database_url(), **self.env, **env}
        full_env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        self.process = subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "tests" / "fault_worker.py"),
                "-Q",
                self.queue,
                "-c",
                "1",
                "-l",
                "info",
                "-n",
                f"fault-{self.queue}-{uuid.uuid4().hex[:6]}@%h",
                "--without-mingle",
                "--without-gossip",
                "--without-heartbeat",
            ],
            cwd=ROOT,
            env=full_env,
            stdout=self.log_path.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if " ready." in self.log():
                return self
            if self.process.poll() is not None:
                break
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"fault worker did not start:\n{self.log()[-3000:]}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path and self.log_path.exists() else ""

    def pool_processes(self) -> list[int]:
        return _children(self.process.pid) if self.process else []

    def kill(self) -> None:
        """SIGKILL the worker and its pool processes at once."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()


# --- the suite's PostgreSQL ---------------------------------------------------------------------------


def postgres_data_dir() -> Path | None:
    value = os.environ.get("PORTAL_PG_DATA")
    return Path(value) if value and Path(value, "postmaster.pid").exists() else None


def _pg_ctl(*args: str, timeout: float = 60) -> None:
    data = postgres_data_dir() or Path(os.environ["PORTAL_PG_DATA"])
    # initdb/postgres refuse to run as root: pg_ctl runs as the postgres user, as scripts/lib.sh does
    command = [str(PGBIN / "pg_ctl"), "-D", str(data), *args]
    if os.geteuid() == 0:
        command = ["runuser", "-u", "postgres", "--", *command]
    subprocess.run(command, check=True, timeout=timeout, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def postgres_stop() -> list[str]:
    """Fast shutdown (open transactions are rolled back, clients disconnected); returns the
    server's options, for postgres_start."""
    data = postgres_data_dir()
    options = shlex.split((data / "postmaster.opts").read_text())[1:]  # the binary, then its arguments
    keep, skip = [], False
    for arg in options:
        if skip:
            skip = False
        elif arg == "-D":
            skip = True
        else:
            keep.append(arg)
    _pg_ctl("stop", "-m", "fast", "-w", "-t", "30")
    return keep


def postgres_start(options: list[str]) -> None:
    data = Path(os.environ["PORTAL_PG_DATA"])
    _pg_ctl("start", "-w", "-t", "60", "-l", str(data.parent / "server.log"), "-o", shlex.join(options))
    wait_for_postgres()


def postgres_restart() -> None:
    _pg_ctl("restart", "-m", "fast", "-w", "-t", "60")
    wait_for_postgres()


def wait_for_postgres(timeout: float = 60) -> None:
    db = settings.DATABASES["default"]
    deadline = time.monotonic() + timeout
    while True:
        try:
            psycopg2.connect(
                host=db["HOST"],
                port=db["PORT"],
                user=db["USER"],
                password=db["PASSWORD"],
                dbname=db["NAME"],
                connect_timeout=2,
            ).close()
            return
        except psycopg2.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def reconnect() -> None:
    """Drop this thread's dead database connection (the server restarted under it)."""
    for conn in connections.all():
        with contextlib.suppress(Exception):
            conn.close()
        conn.connection = None


# --- an unreachable broker ------------------------------------------------------------------------------

UNREACHABLE = "redis://127.0.0.1:1/0"  # nothing listens on port 1 of this machine


@contextlib.contextmanager
def broker_unreachable():
    """Point this process's Celery producer (and result backend) at a port where no Redis
    listens, as when the broker is down; put everything back afterwards."""
    saved = {key: app.conf[key] for key in ("broker_url", "broker_write_url", "result_backend")}

    def reset():
        # forget the pools (kombu keeps one per broker URL; closing one would break it for later tests)
        app._pool = None
        app.amqp._producer_pool = None
        with contextlib.suppress(AttributeError):
            del app._local.backend

    app.conf.update(broker_url=UNREACHABLE, broker_write_url=UNREACHABLE, result_backend=UNREACHABLE)
    reset()
    try:
        yield
    finally:
        app.conf.update(saved)
        reset()


# --- builders and probes ------------------------------------------------------------------------------


def push_many(world, n: int, when: dt.datetime) -> list[Recommendation]:
    """n enterprises declared, reviewed, signed off in one batch and pushed to 中国银行 at `when`."""
    with time_machine.travel(when, tick=False):
        declarations = []
        for i in range(n):
            entity, user = world.entity(name=f"泽州县故障测试商户{i:03d}")
            declaration = declare(world, entity, user, banks=("boc",))
            through_reviews(world, declaration)
            declarations.append(declaration)
        batch = s.batch_signoff(actor=world.users["convener"], declaration_ids=[d.pk for d in declarations])
        s.batch_push(actor=world.users["convener"], batch_id=batch.pk)
    return list(Recommendation.objects.filter(batch=batch))


def scan_lock_held() -> bool:
    from matching.clocks import SCAN_LOCK_KEY

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = %s", [SCAN_LOCK_KEY & 0xFFFFFFFF]
        )
        return cursor.fetchone()[0] > 0


def wait_until(predicate, timeout: float, message: str, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s: {message}")


def clock_notifications():
    return Notification.objects.filter(dedupe_key__startswith="clock-")


# --- the worker killed in the middle of a deadline scan ------------------------------------------------


@pytest.mark.worker
@pytest.mark.parametrize("how", ["whole-worker", "pool-process"])
def test_a_worker_killed_mid_scan_completes_the_scan_once_after_restart(world, tmp_path, how):
    """whole-worker: SIGKILL the worker and its pool (machine lost); a new worker restores the
    unacknowledged message from Redis (visibility timeout) and runs the scan again.
    pool-process: SIGKILL only the process running the task; the worker rejects the message
    back to the queue at once (CELERY_TASK_REJECT_ON_WORKER_LOST) and runs it in a new process."""
    from django.conf import settings

    from matching.tasks import scan_deadlines

    assert settings.CELERY_TASK_ACKS_LATE and settings.CELERY_TASK_REJECT_ON_WORKER_LOST
    # given 40 feedback clocks pushed a month ago: all overdue, and all past the escalation date
    recommendations = push_many(world, CLOCKS, dt.datetime.now(tz=dt.timezone.utc) - dt.timedelta(days=40))
    assert DeadlineClock.objects.filter(recommendation__in=recommendations, state=ClockState.RUNNING).count() == CLOCKS
    queue = f"faults-{uuid.uuid4().hex[:8]}"
    progress = tmp_path / "scan-progress.txt"
    progress.touch()
    slow = {"FAULT_SCAN_BATCH": str(BATCH), "FAULT_STEP_DELAY": str(STEP_DELAY), "FAULT_PROGRESS": str(progress)}
    worker = FaultWorker(queue, tmp_path, **slow)
    restarted = None
    try:
        worker.start()
        # when the scan task is sent and the worker is killed after 3 of its 20 steps
        result = scan_deadlines.apply_async(queue=queue)
        wait_until(
            lambda: len(progress.read_text().splitlines()) >= 3,
            60,
            "the scan did not get going:\n" + worker.log()[-2000:],
        )
        steps_before_kill = progress.read_text().splitlines()
        if how == "whole-worker":
            worker.kill()
        else:
            pid = int(steps_before_kill[-1].split()[0])
            assert pid in worker.pool_processes()
            import os
            import signal

            os.kill(pid, signal.SIGKILL)
        assert len(steps_before_kill) < 2 * CLOCKS // BATCH, "killed mid-way, not after the end"
        if how == "whole-worker":
            # then the killed run left nothing behind: its transaction died with its connection
            # (with only the pool process killed, the worker re-runs the scan at once, so its
            # results may already be there: the single complete DeadlineScan below shows that
            # the re-run found all 40 clocks still to do)
            wait_until(lambda: not scan_lock_held(), 30, "the killed scan's connection still holds the lock")
            assert (
                DeadlineClock.objects.filter(recommendation__in=recommendations, state=ClockState.RUNNING).count()
                == CLOCKS
            )
            assert not clock_notifications().exists()
            assert not WorkflowEvent.objects.filter(kind__startswith="clock.").exists()

        # when the worker is back (a new one for the lost worker; the same one for a lost pool process)
        if how == "whole-worker":
            restarted = FaultWorker(queue, tmp_path, FAULT_PROGRESS=str(progress), FAULT_VISIBILITY="3")
            restarted.start()
        outcome = result.get(timeout=90)
    finally:
        worker.stop()
        if restarted:
            restarted.stop()

    # then the redelivered scan did every clock, exactly once
    assert outcome["skipped"] is False and outcome["overdue"] == CLOCKS and outcome["escalations"] == CLOCKS, outcome
    clocks = DeadlineClock.objects.filter(recommendation__in=recommendations)
    assert (
        clocks.filter(state=ClockState.OVERDUE, overdue_at__isnull=False, escalated_at__isnull=False).count() == CLOCKS
    )
    assert DeadlineScan.objects.filter(finished_at__isnull=False, overdue=CLOCKS, escalations=CLOCKS).count() == 1
    events = Counter(WorkflowEvent.objects.filter(kind__startswith="clock.").values_list("recommendation_id", "kind"))
    assert len(events) == 2 * CLOCKS and set(events.values()) == {1}
    # no notification twice: one per clock, step and recipient (branch administrator, staff and
    # leader of the task force for the overdue mark; the city mechanism for the escalation)
    per_key = clock_notifications().values("dedupe_key").annotate(n=Count("id")).filter(n__gt=1)
    assert not per_key.exists()
    assert clock_notifications().filter(title__contains="已逾期").count() == 3 * CLOCKS
    assert clock_notifications().filter(title__contains="升级督办").count() == CLOCKS
    # and the suite's worker mails each of them once (the email task claims before sending)
    wait_until(lambda: not clock_notifications().filter(emailed_at__isnull=True).exists(), 60, "clock emails not sent")


# --- PostgreSQL stopped and restarted under the portal -------------------------------------------------


@pytest.fixture
def postgres_control():
    """Stops or restarts the suite's PostgreSQL; whatever happens, it is running again after the test."""
    if postgres_data_dir() is None:
        pytest.skip("the suite's PostgreSQL is not a throwaway server started by make test (PORTAL_PG_DATA)")
    state = {"options": None}

    def stop():
        state["options"] = postgres_stop()

    def start():
        postgres_start(state["options"])
        state["options"] = None
        reconnect()

    def restart():
        postgres_restart()
        reconnect()

    yield type(
        "PostgresControl",
        (),
        {"stop": staticmethod(stop), "start": staticmethod(start), "restart": staticmethod(restart)},
    )
    if state["options"] is not None:
        postgres_start(state["options"])
    wait_for_postgres()
    reconnect()


def test_requests_while_postgres_is_down_get_a_clear_503_and_work_again_after(world, postgres_control):
    staff = world.users["staff"]
    token = api_token(staff)
    browser = Client(raise_request_exception=False)
    browser.force_login(staff)
    api = Client(raise_request_exception=False, HTTP_AUTHORIZATION=f"Token {token}")
    assert browser.get("/matching/review/").status_code == 200
    reconnect()

    # when PostgreSQL is down
    postgres_control.stop()
    try:
        pages = {
            url: browser.get(url)
            for url in ("/", "/matching/review/", "/matching/declarations/", "/entities/", "/matching/leads/")
        }
        api_get = api.get("/api/v1/declarations/")
        api_post = api.post(
            "/api/v1/visits/", {"entity": 1, "visited_on": "2026-03-02"}, content_type="application/json"
        )
        login = Client(raise_request_exception=False).post(
            "/accounts/login/", {"username": "wf-staff", "password": "x" * 12}
        )
    finally:
        postgres_control.start()

    # then every page answers 503 with a Chinese explanation, never a 500 or a traceback
    for url, response in {**pages, "login": login}.items():
        text = response.content.decode()
        assert response.status_code == 503, (url, response.status_code, text[:300])
        assert "数据库暂时不可用" in text or "暂时无法" in text or "稍后" in text, (url, text[:500])
        assert "Traceback" not in text and "OperationalError" not in text
    # and the API answers in its error format
    for response in (api_get, api_post):
        assert response.status_code == 503 and response["Content-Type"].startswith("application/json")
        body = response.json()
        assert body["code"] == "service_unavailable" and "未保存" in body["message"], body
    # and once PostgreSQL is back, the same requests work without restarting anything
    assert browser.get("/matching/review/").status_code == 200
    assert api.get("/api/v1/declarations/").status_code == 200


def test_a_push_cut_off_by_a_postgres_restart_leaves_nothing_half_done(world, postgres_control, monkeypatch):
    # given a batch of five reviewed declarations, each intended for two banks
    declarations = []
    for i in range(5):
        entity, user = world.entity(name=f"泽州县重启测试商户{i}")
        declaration = declare(world, entity, user, banks=("boc", "ccb"))
        through_reviews(world, declaration)
        declarations.append(declaration)
    convener = world.users["convener"]
    batch = s.batch_signoff(actor=convener, declaration_ids=[d.pk for d in declarations])
    token = api_token(convener)
    notifications_before = Notification.objects.count()
    states_before = dict(Declaration.objects.filter(pk__in=[d.pk for d in declarations]).values_list("pk", "state"))

    # when the convener pushes it through the API and PostgreSQL restarts after the third of ten
    # recommendations was written (the push waits for the restart once it has started the third
    # lead's feedback clock, the push's clock rule)
    reached, resume = threading.Event(), threading.Event()
    calls = []
    apply_rule = clock_rules.apply_rule

    def pause_at_third(recommendation, rule, at, **kwargs):
        apply_rule(recommendation, rule, at, **kwargs)
        calls.append(recommendation.pk)
        if len(calls) == 3:
            reached.set()
            resume.wait(60)

    monkeypatch.setattr(clock_rules, "apply_rule", pause_at_third)
    responses = []

    def push():
        try:
            client = Client(raise_request_exception=False, HTTP_AUTHORIZATION=f"Token {token}")
            responses.append(client.post(f"/api/v1/batches/{batch.pk}/push/"))
        finally:
            reconnect()

    thread = threading.Thread(target=push)
    thread.start()
    try:
        assert reached.wait(60), "the push never reached the third recommendation"
        postgres_control.restart()
    finally:
        resume.set()
        thread.join(60)

    # then the request failed clearly, and nothing of the push remains
    assert len(responses) == 1
    response = responses[0]
    assert response.status_code == 503, (response.status_code, response.content[:500])
    assert "未保存" in response.json()["message"]
    assert len(calls) == 3
    assert not Recommendation.objects.filter(batch=batch).exists()
    assert RecommendationBatch.objects.get(pk=batch.pk).state == "building"
    assert (
        dict(Declaration.objects.filter(pk__in=[d.pk for d in declarations]).values_list("pk", "state"))
        == states_before
    )
    assert Notification.objects.count() == notifications_before
    assert not DeadlineClock.objects.filter(recommendation__batch=batch).exists()

    # and pushing again, with the database back, pushes everything once
    monkeypatch.setattr(clock_rules, "apply_rule", apply_rule)
    again = Client(HTTP_AUTHORIZATION=f"Token {token}").post(f"/api/v1/batches/{batch.pk}/push/")
    assert again.status_code == 200, again.content[:500]
    assert Recommendation.objects.filter(batch=batch).count() == 10
    assert DeadlineClock.objects.filter(recommendation__batch=batch).count() == 10


# --- Redis unavailable -------------------------------------------------------------------------------


@pytest.mark.worker
def test_with_the_broker_down_pages_work_and_mail_goes_out_later_through_the_sweep(world):
    from matching.tasks import send_notification_emails, sweep_notification_emails

    staff = world.users["staff"]
    browser = Client(raise_request_exception=False)
    browser.force_login(staff)

    with broker_unreachable():
        # the broker is really unreachable from this process: publishing fails once its bounded
        # retries are spent (Celery's publish retry policy), it never waits for the broker
        assert app.conf.task_publish_retry_policy["max_retries"] is not None
        with pytest.raises(Exception):  # noqa: B017 - kombu's OperationalError, whatever its class path
            send_notification_emails.delay([])
        # when pages are used: they do not need Redis
        for url in (
            "/",
            "/matching/review/",
            "/matching/declarations/",
            "/matching/leads/",
            "/entities/",
            "/products/",
        ):
            response = browser.get(url)
            assert response.status_code == 200, (url, response.status_code)
        # and a service that notifies (and mails after commit) runs: it commits, the mail task is lost
        before = set(Notification.objects.values_list("pk", flat=True))
        declaration, enterprise_user, recs = pushed(world)
    assert set(recs) == {"boc", "ccb"}
    new = Notification.objects.exclude(pk__in=before)
    assert new.count() >= 3, "the push notified the banks and the enterprise"
    assert not new.filter(emailed_at__isnull=False).exists(), "nothing could be mailed with the broker down"

    # when the broker is back and the periodic sweep runs (notifications older than its 2-minute grace)
    new.update(created_at=F("created_at") - dt.timedelta(minutes=3))
    sent = sweep_notification_emails.delay().get(timeout=60)
    # then every lost mail went out, once
    assert sent >= new.count()
    assert not Notification.objects.filter(pk__in=new.values("pk"), emailed_at__isnull=True).exists()
    assert sweep_notification_emails.delay().get(timeout=60) == 0


def test_with_the_cache_on_a_dead_redis_pages_still_work(world, settings):
    """Production keeps the API rate limits and cached report figures in Redis (CACHE_URL);
    with that Redis down, the pages must still answer."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": UNREACHABLE,
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
    browser = Client(raise_request_exception=False)
    failures = {}
    for key in ("staff", "convener", "boc_admin", "city"):
        browser.force_login(world.users[key])
        for url in ("/", "/matching/leads/", "/matching/declarations/", "/reporting/"):
            response = browser.get(url)
            if response.status_code not in (200, 302, 403, 404):
                failures[(key, url)] = response.status_code
    assert not failures, failures
