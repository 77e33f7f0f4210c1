from django.db import migrations


def rebuild_index_at_next_sync(apps, schema_editor):
    """Declarations were indexed as declared from a bank's recommendation (a draft awaiting the
    enterprise's consent) as well as from a submission; now from the first submission only
    (reporting.kpis.DECLARED). The next sync rebuilds the statistics index from the events
    (reporting.models.FactWatermark), so a draft never submitted is no longer counted."""
    FactWatermark = apps.get_model("reporting", "FactWatermark")
    FactWatermark.objects.filter(name="ledger").update(last_event_id=0, fingerprint="")


class Migration(migrations.Migration):
    dependencies = [
        ("reporting", "0004_counts_need_identity"),
    ]

    operations = [
        migrations.RunPython(rebuild_index_at_next_sync, migrations.RunPython.noop),
    ]
