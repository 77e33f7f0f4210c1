from django.db import migrations


def seed(apps, schema_editor):
    from matching.decline_reasons import sync_decline_reasons

    sync_decline_reasons(apps)


class Migration(migrations.Migration):
    dependencies = [("matching", "0003_workflow")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
