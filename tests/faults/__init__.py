"""Fault injection for tests/test_faults.py: a dedicated Celery worker that can be killed,
PostgreSQL stopped and restarted under the running suite, an unreachable broker.

Everything here acts only on processes and servers of this machine that the test suite
started (the worker processes it spawns itself; the suite's throwaway PostgreSQL, whose data
folder `make test` exports as PORTAL_PG_DATA), and always leaves them running again."""
from __future__ import annotations

import contextlib
import os
import shlex
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PGBIN = Path(os.environ.get("PGBIN", "/usr/lib/postgresql/15/bin"))


def test_database_url() -> str:
    """DATABASE_URL of pytest-django's test database, for processes started by a test."""
    from django.conf import settings

    db = settings.DATABASES["default"]
    return f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


test_database_url.__test__ = False  # not a test, whatever pytest's name patterns say


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
    """A Celery worker (tests/faults/worker.py) on its own queue, in its own process group,
    against the test database. `kill()` SIGKILLs the whole group: no warm shutdown, no ack."""

    def __init__(self, queue: str, log_dir: Path, **env: str):
        self.queue, self.log_dir, self.env = queue, log_dir, env
        self.process: subprocess.Popen | None = None
        self.log_path: Path | None = None

    def start(self, timeout: float = 60, **env: str) -> "FaultWorker":
        self.log_path = self.log_dir / f"fault-worker-{uuid.uuid4().hex[:6]}.log"
        full_env = {**os.environ, "DATABASE_URL": test_database_url(), **self.env, **env}
        full_env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        self.process = subprocess.Popen(
            [sys.executable, str(ROOT / "tests" / "faults" / "worker.py"), "-Q", self.queue, "-c", "1", "-l", "info",
             "-n", f"fault-{self.queue}-{uuid.uuid4().hex[:6]}@%h", "--without-mingle", "--without-gossip", "--without-heartbeat"],
            cwd=ROOT, env=full_env, stdout=self.log_path.open("wb"), stderr=subprocess.STDOUT, start_new_session=True,
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
    import psycopg2

    from django.conf import settings

    db = settings.DATABASES["default"]
    deadline = time.monotonic() + timeout
    while True:
        try:
            psycopg2.connect(host=db["HOST"], port=db["PORT"], user=db["USER"], password=db["PASSWORD"],
                             dbname=db["NAME"], connect_timeout=2).close()
            return
        except psycopg2.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def reconnect() -> None:
    """Drop this thread's dead database connection (the server restarted under it)."""
    from django.db import connections

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
    from portal.celery import app

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
