"""Name search (名称包含…) on PostgreSQL: the pg_trgm extension and a GIN trigram index on
the entity name, so `name LIKE '%…%'` (the `contains` lookup) is an index scan instead of a
walk over a county's or the province's rows.

The index is created with SQL, not declared in MarketEntity.Meta.indexes: SQLite (the
embedded `make run` default) has no GIN, and SQLite rebuilds a table with every index of the
model state when a later migration alters a column. Both operations do nothing on SQLite.
"""
from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations

INDEX_NAME = "entity_name_trgm"


class TrigramExtensionOnPostgres(TrigramExtension):
    """CREATE EXTENSION pg_trgm (forwards already skips other databases; backwards too)."""

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {INDEX_NAME} ON entities_marketentity USING gin (name gin_trgm_ops)"
    )


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX_NAME}")


class Migration(migrations.Migration):

    dependencies = [
        ("entities", "0003_list_indexes"),
    ]

    operations = [
        TrigramExtensionOnPostgres(),
        migrations.RunPython(create_index, drop_index, elidable=False),
    ]
