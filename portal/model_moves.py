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
            ContentType = apps.get_model("contenttypes", "ContentType")
            db = schema_editor.connection.alias
            for model in models:
                old = ContentType.objects.using(db).filter(app_label=source, model=model).first()
                if old is None:
                    continue  # a fresh database: post_migrate creates the new one
                # a row under the target label can exist only if post_migrate ran in between
                # (a reversed and re-applied migration); it is newer and unreferenced by history
                ContentType.objects.using(db).filter(app_label=target, model=model).delete()
                old.app_label = target
                old.save(update_fields=["app_label"])

        return run

    return migrations.RunPython(move(old_label, new_label), move(new_label, old_label), elidable=False)
