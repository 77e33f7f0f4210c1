"""信息不全 pairs are no longer stored (``batch_matching.plan``): the counts of a generation's
stored rows lose their incomplete column (each run keeps its own count of the incomplete pairs
it found, ``MatchingRun.incomplete`` / ``RunProduct.incomplete``). Rows of verdict 1 written
before stay in their generation until the next full run replaces it: every reader treats them
as what they are (an incomplete pair) or ignores them, as it does for an absent row. The pages
that list incomplete pairs read entities live through ``UnstoredEntity`` (a proxy: no table)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("batch_matching", "0003_entity_county_statistics"),
        ("entities", "0012_mechdash_renewal_history"),
    ]

    operations = [
        migrations.RemoveField(
            model_name="resultcount",
            name="incomplete",
        ),
        migrations.CreateModel(
            name="UnstoredEntity",
            fields=[],
            options={
                "verbose_name": "信息不全的匹配(实时评估)",
                "verbose_name_plural": "信息不全的匹配(实时评估)",
                "proxy": True,
                "indexes": [],
                "constraints": [],
            },
            bases=("entities.marketentity",),
        ),
    ]
