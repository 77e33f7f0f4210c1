"""Celery queues per workload (issue 18, item 4: "matching chunks, deadline scans, imports,
exports and reports, notifications and e-mail; beat stays exactly one; each task's queue is
declared in one place"). The one place is portal/queues.py; two real workers, started here on
the real Redis, each take only their own queues' tasks."""

import os
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis
from celery import Celery
from django.conf import settings

from portal.celery import app as celery_app
from portal.queues import ALL_QUEUES, DEFAULT_QUEUE, QUEUE_GROUPS, QUEUES, TASK_QUEUES, queues_argument

ROOT = Path(__file__).resolve().parent.parent


def registered_tasks() -> set[str]:
    celery_app.loader.import_default_modules()  # every app's tasks.py, as a worker loads them
    return {name for name in celery_app.tasks if not name.startswith("celery.")}


def test_every_task_has_its_queue_in_the_one_table():
    # given every task the portal registers (Celery's own tasks aside)
    tasks = registered_tasks()
    # then each has a row in portal/queues.py, and no row names a task that no longer exists
    assert tasks - set(TASK_QUEUES) == set(), "在 portal/queues.py 的 TASK_QUEUES 中为这些任务指定队列"
    assert set(TASK_QUEUES) - tasks == set()
    # and the app routes each to that queue, whichever way it is sent (.delay, send_task, beat)
    router = celery_app.amqp.router
    for name in tasks:
        assert router.route({}, name)["queue"].name == TASK_QUEUES[name], name
    # and Celery's own tasks (chords, result cleanup) go to the default queue
    assert router.route({}, "celery.backend_cleanup")["queue"].name == DEFAULT_QUEUE


def test_the_workloads_of_the_issue_have_queues_of_their_own():
    # "matching chunks, deadline scans, imports, exports and reports, notifications and e-mail"
    assert TASK_QUEUES["matching.batch.process_chunk"] == "matching"
    assert {
        TASK_QUEUES[name]
        for name in (
            "matching.tasks.scan_deadlines",
            "coordination.tasks.scan_problems",
            "reporting.tasks.scan_supervision",
        )
    } == {"deadlines"}  # the 批分单 and 督办单 overdue scans beside the deadline clocks
    assert TASK_QUEUES["entities.tasks.run_entity_import"] == "imports"
    assert TASK_QUEUES["reporting.tasks.build_mechanism_report"] == "reports"
    assert TASK_QUEUES["matching.tasks.send_notification_email"] == "notifications"
    assert set(QUEUES) == {"matching", "deadlines", "imports", "reports", "notifications", DEFAULT_QUEUE}


def test_every_queue_is_consumed_by_exactly_one_worker_group():
    consumed = [queue for queues in QUEUE_GROUPS.values() for queue in queues]
    assert sorted(consumed) == sorted(ALL_QUEUES)
    assert set(TASK_QUEUES.values()) <= set(ALL_QUEUES)
    # the one worker of `make run` and `make test` consumes them all
    assert queues_argument().split(",") == list(ALL_QUEUES)


def test_every_beat_entry_is_a_routed_task():
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        assert entry["task"] in TASK_QUEUES, entry


def _redis_db(url: str, db: int) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{db}"))


def _test_database_url() -> str:
    db = settings.DATABASES["default"]
    return f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


class Worker:
    """A real worker process of one queue group, on a Redis database of this test's own (the
    suite's worker, which consumes every queue, never sees these messages)."""

    def __init__(self, group: str, broker: str, results: str, log_dir: Path):
        self.group, self.name = group, f"{group}-{uuid.uuid4().hex[:6]}"
        self.log_path = log_dir / f"worker-{self.name}.log"
        env = {**os.environ, "DATABASE_URL": _test_database_url()}
        env.update(CELERY_BROKER_URL=broker, CELERY_RESULT_BACKEND=results)
        env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        command = [sys.executable, "-m", "celery", "-A", "portal", "worker", "-l", "info", "-c", "1"]
        command += ["-Q", queues_argument(group), "-n", f"{self.name}@%h"]
        command += ["--without-mingle", "--without-gossip", "--without-heartbeat"]
        self.log = open(self.log_path, "w")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def wait_ready(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if " ready." in self.log_path.read_text(errors="replace"):
                return
            assert self.process.poll() is None, self.log_path.read_text(errors="replace")
            time.sleep(0.2)
        raise AssertionError(f"worker {self.name} did not start")

    def received(self) -> dict[str, str]:
        """task id -> task name, for every task this worker took."""
        text = self.log_path.read_text(errors="replace")
        return {task_id: name for name, task_id in re.findall(r"Task ([\w.]+)\[([0-9a-f-]+)\] received", text)}

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        finally:
            self.log.close()


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_two_workers_on_different_queues_each_take_only_their_own_tasks(artifacts_dir, monkeypatch):
    # given the real Redis of `make test`, a database of it for this test alone
    assert settings.CELERY_BROKER_URL.startswith("redis://")
    broker, results = _redis_db(settings.CELERY_BROKER_URL, 11), _redis_db(settings.CELERY_BROKER_URL, 12)
    store = redis.Redis.from_url(broker)
    store.flushdb()
    # and a sender configured as the portal's app is (its routes, its default queue); Celery
    # reads the broker and the result store from these variables before its own settings
    monkeypatch.setenv("CELERY_BROKER_URL", broker)
    monkeypatch.setenv("CELERY_RESULT_BACKEND", results)
    sender = Celery("queue-probe", broker=broker, backend=results, set_as_current=False)
    sender.conf.update(
        task_routes=celery_app.conf.task_routes,
        task_default_queue=celery_app.conf.task_default_queue,
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
    )
    # and two real workers: one of the deadline-scan group, one of the notification group
    scans = Worker("deadlines", broker, results, artifacts_dir)
    mail = Worker("notifications", broker, results, artifacts_dir)
    try:
        scans.wait_ready()
        mail.wait_ready()

        # when tasks of both groups are sent by name, as the services and beat send them
        sent = {
            "matching.tasks.scan_deadlines": (),
            "coordination.tasks.scan_problems": (),
            "reporting.tasks.scan_supervision": (),
            "portal.tasks.ping": (21,),
            "matching.tasks.sweep_notification_emails": (),
            "matching.tasks.send_notification_emails": ([],),
            "entities.tasks.remind_renewals": (),
        }
        results_by_id = {}
        for name, args in sent.items():
            result = sender.send_task(name, args=args)
            results_by_id[result.id] = (name, result)
        # and one of a queue neither consumes (a matching chunk's queue)
        orphan = sender.send_task("matching.batch.sweep")
        for name, result in results_by_id.values():
            result.get(timeout=90)  # every task ran, on one of the two workers

        # then each worker took exactly the tasks of its own queues
        expected = {
            group: {task_id for task_id, (name, _) in results_by_id.items() if TASK_QUEUES[name] in QUEUE_GROUPS[group]}
            for group in ("deadlines", "notifications")
        }
        assert set(scans.received()) == expected["deadlines"]
        assert set(mail.received()) == expected["notifications"]
        assert len(expected["deadlines"]) == 4 and len(expected["notifications"]) == 3
        assert {name for name in scans.received().values()} == {
            "matching.tasks.scan_deadlines",
            "coordination.tasks.scan_problems",
            "reporting.tasks.scan_supervision",
            "portal.tasks.ping",
        }
        # and the matching task still waits in its queue: no worker of another group took it
        assert orphan.id not in scans.received() and orphan.id not in mail.received()
        assert store.llen("matching") == 1
    finally:
        scans.stop()
        mail.stop()
        store.flushdb()
        redis.Redis.from_url(results).flushdb()
