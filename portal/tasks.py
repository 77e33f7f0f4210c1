import os

from celery import shared_task
from django.db import connection
from django.db.models import F
from django.utils import timezone

from portal.models import BeatHeartbeat


@shared_task(name="portal.tasks.ping")
def ping(value: int) -> dict:
    """Round trip used by the health check and the tests: proves a real worker ran it."""
    return {"value": value * 2, "worker_pid": os.getpid(), "database": connection.settings_dict["NAME"]}


@shared_task(name="portal.tasks.beat_heartbeat")
def beat_heartbeat() -> None:
    now = timezone.now()
    updated = BeatHeartbeat.objects.filter(name="beat").update(last_run_at=now, runs=F("runs") + 1)
    if not updated:
        BeatHeartbeat.objects.get_or_create(name="beat", defaults={"last_run_at": now, "runs": 1})
