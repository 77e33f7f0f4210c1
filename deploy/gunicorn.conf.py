"""Gunicorn settings of the portal's web processes (docker-compose's `web`, `make bench-load`):
`gunicorn -c deploy/gunicorn.conf.py portal.wsgi:application`.

Each worker, once it has loaded the application, imports every view (the URL conf) and then
moves every object it holds out of reach of Python's cyclic garbage collector (`gc.freeze()`):
modules, models, URL patterns and compiled templates live as long as the process, and a full
collection would otherwise walk all of them again during some request — measured on
2026-12-06 at 184–225 ms on one request in twenty of the 差一点符合 page (bench-matching's
collector pauses), against a page of 70 ms. What a request creates is still collected."""

import gc

from django.urls import get_resolver


def post_worker_init(worker):
    get_resolver().url_patterns  # imports the views and what they import, before the freeze
    gc.collect()
    gc.freeze()
