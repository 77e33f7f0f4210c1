"""The teardown of a transactional test (Django's flush: one TRUNCATE of every table) survives
the suite's real Celery worker still reading what the test's commits sent it: a deadlock
between the two cancels the flush, and the flush runs again (conftest.py,
`_flush_retried_after_a_deadlock`). Seen in CI: `send_notification_email` reading a
notification and its recipient while a 督办单 test's teardown emptied the tables."""

import re
import threading
import time

import pytest
from django.core.management import call_command
from django.core.management.color import no_style
from django.core.management.sql import sql_flush
from django.db import connection, connections, transaction

pytestmark = pytest.mark.django_db(transaction=True)


def _deadlocks() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()")
        return cursor.fetchone()[0]


def test_a_flush_cancelled_by_a_deadlock_with_a_reader_runs_again():
    # given the order in which the flush locks the tables, and a reader (the worker's task)
    # holding a read lock on the last of them
    statement = next(sql for sql in sql_flush(no_style(), connection) if sql.startswith("TRUNCATE"))
    tables = re.findall(r'"([^"]+)"', statement)
    first, last = tables[0], tables[-1]
    deadlocks_before = _deadlocks()
    holding, outcome = threading.Event(), {}

    def reader():
        try:
            with transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute(f'SELECT 1 FROM "{last}" LIMIT 1')
                    holding.set()
                    time.sleep(0.3)  # the flush has locked the first table and waits for the last
                    cursor.execute(f'SELECT 1 FROM "{first}" LIMIT 1')  # waits for the flush: a cycle
            outcome["reader"] = "ok"
        except Exception as error:  # the deadlock detector may cancel the reader instead
            outcome["reader"] = repr(error)
        finally:
            connections.close_all()

    thread = threading.Thread(target=reader)
    thread.start()
    assert holding.wait(10)
    # when the tables are flushed meanwhile
    call_command("flush", interactive=False, verbosity=0)
    thread.join(30)
    # then the flush went through, whichever of the two PostgreSQL cancelled
    assert _deadlocks() > deadlocks_before, "the reader and the flush did not deadlock: the test proves nothing"
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT count(*) FROM "{first}"')
        assert cursor.fetchone()[0] == 0
    assert "reader" in outcome
