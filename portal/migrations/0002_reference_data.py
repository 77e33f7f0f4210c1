from django.db import migrations


def load(apps, schema_editor):
    from portal.reference_sync import sync_reference_data

    sync_reference_data(apps)


class Migration(migrations.Migration):
    dependencies = [("portal", "0001_initial")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
