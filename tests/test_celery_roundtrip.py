import os

import pytest

from portal.tasks import ping

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_task_sent_with_delay_runs_on_the_real_worker_over_redis(settings):
    # given the real Redis broker of `make test`
    assert settings.CELERY_BROKER_URL.startswith("redis://")

    # when a task is sent with .delay() and its result read back
    result = ping.delay(21).get(timeout=60)

    # then a separate worker process executed it against the test database
    assert result["value"] == 42
    assert result["worker_pid"] != os.getpid()
    assert result["database"].startswith("test_")
