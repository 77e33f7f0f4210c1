# Statistics PostgreSQL keeps on an entity's stored county (batch_matching.plan.county_sql), so
# a statement that selects the entities of some provinces (services._entity_sql: a product
# re-match, a run for one province) is planned for the rows it reads. Without them PostgreSQL
# guessed one row and joined the code maps in a nested loop over every entity: a product's
# publication took 60 s at 1,000,000 entities and 237 s at 4,000,000 (31.6 s with them).

from django.db import migrations

NAME = "batch_matching_entity_county"
# exactly plan.county_sql's expression (the planner matches the expression, not its text):
# batch_matching/tests/test_provinces.py checks the estimate it gives
COUNTY = "(CASE WHEN region_code ~ '^[0-9]{6}$' THEN CAST(region_code AS integer) ELSE 0 END)"


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(f"CREATE STATISTICS IF NOT EXISTS {NAME} ON ({COUNTY}) FROM entities_marketentity")
        cursor.execute("ANALYZE entities_marketentity")  # a sample (30,000 rows by default), not a scan


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(f"DROP STATISTICS IF EXISTS {NAME}")


class Migration(migrations.Migration):
    dependencies = [
        ("batch_matching", "0002_province_partitions"),
        ("entities", "0012_mechdash_renewal_history"),
    ]

    operations = [migrations.RunPython(create, drop)]
