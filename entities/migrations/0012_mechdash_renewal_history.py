"""Renewal.outcome_recorded_at: when a renewal's outcome (or withdrawal) was recorded, so figures as
of a past moment count what was known then. Rows closed before this field existed get the end of
their 办结日期 (never before they were recorded): the best moment known for them."""

import datetime as dt

from django.db import migrations, models
from django.utils import timezone


def backfill(apps, schema_editor):
    Renewal = apps.get_model("entities", "Renewal")
    zone = timezone.get_default_timezone()
    for renewal in Renewal.objects.exclude(status="pending").filter(outcome_recorded_at__isnull=True):
        day = renewal.outcome_on or timezone.localtime(renewal.recorded_at, zone).date()
        end = timezone.make_aware(dt.datetime.combine(day, dt.time(23, 59, 59)), zone)
        renewal.outcome_recorded_at = max(end, renewal.recorded_at)
        renewal.save(update_fields=["outcome_recorded_at"])


class Migration(migrations.Migration):
    dependencies = [("entities", "0011_renewals_renewal_needs")]

    operations = [
        migrations.AddField(
            model_name="renewal",
            name="outcome_recorded_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="办结登记时间"),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
