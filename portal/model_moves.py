"""Moving a model from one app to another without moving its table (issue 14's layout).

The table keeps its name (``db_table``); only Django's state changes, through
``SeparateDatabaseAndState`` in both apps' migrations. What does live in the database is the
content type (``django_content_type``: app label + model name), which permissions and
per-object grants point at; ``relabel_content_types`` moves those rows to the new app label
so every permission row stays attached, and moves them back when the migration is reversed.
"""

from __future__ import annotations

from django.db import migrations


def relabel_content_types(old_label: str, new_label: str, models: list[str]) -> migrations.RunPython:
    def move(source: str, target: str):
        def run(apps, schema_editor):
            with schema_editor.connection.cursor() as cursor:
                for model in models:
                    cursor.execute(
                        "SELECT id FROM django_content_type WHERE app_label = %s AND model = %s", [source, model]
                    )
                    old = cursor.fetchone()
                    if old is None:
                        continue  # a fresh database: post_migrate creates the new one
                    # A row under the target label exists only when post_migrate ran while both
                    # apps held the model (a migration reversed and applied again): it is newer
                    # than the old row and nothing refers to it but its own default permissions.
                    # SQL, not the ORM: historical models cannot follow relations out of their app.
                    cursor.execute(
                        "SELECT id FROM django_content_type WHERE app_label = %s AND model = %s", [target, model]
                    )
                    stale = cursor.fetchone()
                    if stale is not None:
                        cursor.execute("DELETE FROM auth_permission WHERE content_type_id = %s", [stale[0]])
                        cursor.execute("DELETE FROM django_content_type WHERE id = %s", [stale[0]])
                    cursor.execute("UPDATE django_content_type SET app_label = %s WHERE id = %s", [target, old[0]])

        return run

    return migrations.RunPython(move(old_label, new_label), move(new_label, old_label), elidable=False)
