"""The layout change of issue 14 moves models between apps without moving data.

The working-day calendar (`workdays`) and batch matching (`batch_matching`) used to be part of
the `matching` app. Their models moved with ``SeparateDatabaseAndState``: the tables keep
their names, only Django's migration state and the content types' app labels change.

Given a database holding the demo data in the migration state before the move (built by
migrating a fresh database forward, loading the demo, and stepping back to the nodes of that
time: the moving migrations change no table, so stepping back is state-only too),
when the moving migrations are applied,
then every table holds the same rows (row count and a digest of every row, per table),
the moved models' content types are the same rows under the new labels (permissions keep
pointing at them), and ``sqlmigrate`` of each moving migration contains no SQL statement.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from django.db import connection

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="needs a second PostgreSQL database")

ROOT = Path(__file__).resolve().parent.parent
# the nodes of the migration graph just before the move, one per app that took part in it
DROP_DIRECT_APPLICATIONS = """
from django.db import transaction
from matching.models import Declaration, DeclarationSource, LeadOrigin, Recommendation
with transaction.atomic():
    Recommendation.objects.filter(origin=LeadOrigin.DIRECT).delete()
    Declaration.objects.filter(source=DeclarationSource.DIRECT).delete()
"""
BEFORE_MOVE = [("batch_matching", "zero"), ("workdays", "zero")]
MATCHING_BEFORE_MOVE = ("matching", "0008_redirect_declarations_and_approval_overrides")
MOVING_MIGRATIONS = [
    ("workdays", "0001_initial"),
    ("batch_matching", "0001_initial"),
    ("matching", "0009_move_out_workdays_and_batch_matching"),
]
MOVED = {
    "workdays": ["calendaryear", "calendarday"],
    "batch_matching": [
        "matchingrun",
        "runchunk",
        "runproduct",
        "matchingstate",
        "matchresult",
        "resultcount",
        "dirtyentity",
    ],
}

# every table's rows, each as text, digested in a stable order
SNAPSHOT_SCRIPT = r"""
import json
from django.db import connection
with connection.cursor() as cursor:
    cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")
    tables = [row[0] for row in cursor.fetchall()]
    snapshot = {}
    for table in tables:
        if table == "django_migrations":
            continue
        cursor.execute(
            f'SELECT count(*), md5(coalesce(string_agg(t::text, chr(10) ORDER BY t::text), \'\')) FROM "{table}" t'
        )
        snapshot[table] = list(cursor.fetchone())
    cursor.execute("SELECT id, app_label, model FROM django_content_type ORDER BY id")
    content_types = cursor.fetchall()
print(json.dumps({"tables": snapshot, "content_types": content_types}))
"""


def _snapshot(manage_py, env: dict) -> dict:
    return json.loads(manage_py(env, "shell", "-c", SNAPSHOT_SCRIPT).strip().splitlines()[-1])


@pytest.mark.django_db(transaction=True)
def test_moving_models_between_apps_changes_no_row(scratch_database, manage_py):
    env = scratch_database
    # given a database with the demo data, stepped back to the state before the move
    manage_py(env, "migrate", "--noinput", "-v0")
    manage_py(env, "load_demo")
    # the demo's direct applications (matching 0018: a lead of origin 直接申请 has no batch) cannot
    # exist in the schema before that migration (a lead's batch was required): stepping back through
    # it needs them gone first, as a database of that time would not have held them
    manage_py(env, "shell", "-c", DROP_DIRECT_APPLICATIONS)
    for app, target in BEFORE_MOVE:
        manage_py(env, "migrate", app, target, "--noinput", "-v0")
    manage_py(env, "migrate", *MATCHING_BEFORE_MOVE, "--noinput", "-v0")
    plan = manage_py(env, "showmigrations", "--plan")
    for app, name in MOVING_MIGRATIONS:
        assert f"[ ]  {app}.{name}" in plan, plan
    before = _snapshot(manage_py, env)
    labels_before = {(label, model): pk for pk, label, model in before["content_types"]}
    for app, models in MOVED.items():
        for model in models:
            # the old labels are what that database held; the new app's ones are not there
            # (post_migrate creates content types for installed apps: the step back removed them)
            assert ("matching", model) in labels_before, (app, model)

    # when the moving migrations are applied (exactly them: the matching migration and the two
    # initial ones it depends on; a later migration that adds a column would change every row's text)
    manage_py(env, "migrate", "matching", MOVING_MIGRATIONS[-1][1], "--noinput", "-v0")
    plan = manage_py(env, "showmigrations", "--plan")
    for app, name in MOVING_MIGRATIONS:
        assert f"[X]  {app}.{name}" in plan, plan
    after = _snapshot(manage_py, env)

    # then no table changed, apart from the content types' labels of the moved models
    tables_before = dict(before["tables"])
    tables_after = dict(after["tables"])
    ct_before, ct_after = tables_before.pop("django_content_type"), tables_after.pop("django_content_type")
    assert tables_after == tables_before
    assert sum(count for count, _ in tables_before.values()) > 10_000  # the demo really is in there
    assert ct_after[0] == ct_before[0]
    labels_after = {(label, model): pk for pk, label, model in after["content_types"]}
    for app, models in MOVED.items():
        for model in models:
            if ("matching", model) in labels_before:
                assert labels_after.get((app, model)) == labels_before[("matching", model)], (app, model)
            assert ("matching", model) not in labels_after


@pytest.mark.django_db
@pytest.mark.parametrize("app, name", MOVING_MIGRATIONS)
def test_moving_migrations_hold_no_sql(app, name, manage_py, database_env):
    env = database_env()
    sql = manage_py(env, "sqlmigrate", app, name)
    statements = [line for line in sql.splitlines() if line.strip() and not line.startswith("--")]
    # then only the transaction around nothing: no CREATE, ALTER, DROP or data statement
    assert all(re.fullmatch(r"(BEGIN|COMMIT);", line.strip()) for line in statements), sql
