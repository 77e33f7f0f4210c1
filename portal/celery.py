import os

from celery import Celery
from kombu import Queue

from portal.queues import ALL_QUEUES, DEFAULT_QUEUE, TASK_ROUTES

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
# the queue of every task: portal/queues.py is the one table (a worker consumes what -Q names)
app.conf.update(
    task_routes=TASK_ROUTES,
    task_default_queue=DEFAULT_QUEUE,
    task_queues=[Queue(name, routing_key=name) for name in ALL_QUEUES],
)
app.autodiscover_tasks()
