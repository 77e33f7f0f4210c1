"""The database behind PgBouncer in transaction pooling mode (``DATABASE_POOLER_URL``).

In transaction pooling a server connection belongs to a client for one transaction only; the
next transaction of the same Django connection may run on another server connection. So
nothing may outlive a transaction on the server side:

- no server-side cursors: ``DISABLE_SERVER_SIDE_CURSORS`` (``QuerySet.iterator()`` then reads
  in chunks from a client-side result);
- no prepared statements: psycopg2 binds parameters on the client and prepares nothing (with
  psycopg 3, Django keeps ``prepare_threshold`` at None and client-side binding unless
  ``server_side_binding`` is set, which this removes);
- no session-level advisory locks and no plain ``SET``: the deadline scan, batch matching and
  the statistics index take ``pg_advisory_xact_lock``/``pg_try_advisory_xact_lock``, the
  matching run's finalizer holds its lock in a transaction of its own
  (``batch_matching.services._finalize_lock``), settings are ``SET LOCAL``.

The same function builds the settings (``portal/settings.py``) and the tests that run the
workflow, a deadline scan and a matching run through a real PgBouncer
(``tests/test_pgbouncer.py``).
"""

import environ


def through_pooler(database: dict, pooler_url: str) -> dict:
    """``database`` (Django's settings of a PostgreSQL database) reached through the PgBouncer
    at ``pooler_url`` (its host, port, database name, user and password)."""
    pooled = environ.Env.db_url_config(pooler_url)
    options = {key: value for key, value in database.get("OPTIONS", {}).items() if key != "server_side_binding"}
    return {
        **database,
        **{key: pooled[key] for key in ("HOST", "PORT", "NAME", "USER", "PASSWORD")},
        "OPTIONS": options,
        "DISABLE_SERVER_SIDE_CURSORS": True,
    }
