"""Gunicorn settings of the portal's web processes (docker-compose's `web`, `make bench-load`):
`gunicorn -c deploy/gunicorn.conf.py portal.wsgi:application`.

Each worker, once it has loaded the application, imports every view (the URL conf) and then
moves every object it holds out of reach of Python's cyclic garbage collector (`gc.freeze()`):
modules, models, URL patterns and compiled templates live as long as the process, and a full
collection would otherwise walk all of them again during some request — measured on
2026-12-06 at 184–225 ms on one request in twenty of the 差一点符合 page (bench-matching's
collector pauses), against a page of 70 ms. What a request creates is still collected.

What the first requests build to last — the templates the cached loader compiles on first use,
the ORM's and the serializers' per-model caches, the URL resolver's — is frozen the same way
once they have run (`REFREEZE_AFTER`: after a worker's 50th, 300th and 1,000th request, a full
collection, then the freeze; gunicorn's `post_request`, in the worker, between two requests).
Measured on 2026-12-07 under bench-load USERS=200 (per worker, over about 3,100 requests): the
full collections took 1.3 s in all, up to 100–130 ms each, frozen at start only; 0.4 s, at most
30–55 ms, with these freezes. Objects frozen are still freed when nothing refers to them; only
a reference cycle among them would outlive its use (a full collection runs before each freeze,
so none of the garbage of that moment is frozen)."""

import gc
import os

from django.urls import get_resolver

# One worker process per core available to the web (WEB_CONCURRENCY overrides; gunicorn's
# --workers too). Measured on 2026-12-07 under bench-load USERS=200 on this 2-core machine, the
# database and the load generator on the same cores, similar machine speed (the load generator's
# CPU per request 0.69–0.83 ms): 2 workers — the slowest page's p95 66.5 and 70.0 ms, web CPU
# 9.7–10.1 ms per request; 3 workers 81.0 and 103.8 ms (10.2–10.8); 4 workers 102.5–109.4 ms
# (10.3–11.1). More processes than cores only time-slice them: each request runs longer and
# costs more. A host whose database is elsewhere waits on the network instead: give it more
# (docs/SCALING.md section 3).
workers = int(os.environ.get("WEB_CONCURRENCY") or len(os.sched_getaffinity(0)))

REFREEZE_AFTER = frozenset({50, 300, 1000})


def post_worker_init(worker):
    get_resolver().url_patterns  # imports the views and what they import, before the freeze
    gc.collect()
    gc.freeze()


def post_request(worker, req, environ, resp):
    if worker.nr in REFREEZE_AFTER:  # the worker's count of requests handled (gunicorn's)
        gc.collect()
        gc.freeze()
