from django.db import migrations


def seed(apps, schema_editor):
    from workdays.seed import seed_calendar_from_library

    seed_calendar_from_library(apps, app_label="matching")  # the calendar was part of matching then


class Migration(migrations.Migration):
    """A fresh database knows 2004–2026 (chinese-calendar 1.11.0); later years are entered
    by administrators on the 工作日历 page."""

    dependencies = [("matching", "0001_workdays")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
