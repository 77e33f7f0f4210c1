"""Seeds the shipped 三型 policy: Shanxi's thresholds (entities.classification.SHANXI_DEFAULT_POLICY)."""
from django.db import migrations


def seed(apps, schema_editor):
    from entities.policies import seed_default_tier_policy

    seed_default_tier_policy(apps)


class Migration(migrations.Migration):
    dependencies = [("entities", "0001_initial"), ("portal", "0002_reference_data")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
