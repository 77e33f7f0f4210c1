# The statistics index (LedgerFact, DeclarationFact, VisitFact) becomes partitioned by
# province on PostgreSQL, its rows copied (reporting.partitions); nothing changes elsewhere.

from django.db import migrations


def forward(apps, schema_editor):
    from reporting import partitions

    partitions.partition_by_province(apps, schema_editor)


def backward(apps, schema_editor):
    from reporting import partitions

    partitions.unpartition(apps, schema_editor)


class Migration(migrations.Migration):

    dependencies = [
        ('reporting', '0009_mechdash_brief_subscriptions'),
        ('portal', '0002_reference_data'),
    ]

    operations = [migrations.RunPython(forward, backward, elidable=False)]
