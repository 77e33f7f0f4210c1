"""The 工作日历 page named its seeded years' source and note after the Python library
("chinese-calendar 库"): the source's label and the stored note become Chinese."""

from django.db import migrations, models

OLD_NOTES = "由 chinese-calendar 库初始化"
NEW_NOTES = "由内置节假日数据初始化 (国务院办公厅通知)"


def notes_in_chinese(apps, schema_editor):
    apps.get_model("workdays", "CalendarYear").objects.filter(notes=OLD_NOTES).update(notes=NEW_NOTES)


def notes_back(apps, schema_editor):
    apps.get_model("workdays", "CalendarYear").objects.filter(notes=NEW_NOTES).update(notes=OLD_NOTES)


class Migration(migrations.Migration):
    dependencies = [("workdays", "0001_initial")]

    operations = [
        migrations.AlterField(
            model_name="calendaryear",
            name="source",
            field=models.CharField(
                choices=[("chinese_calendar", "内置节假日数据"), ("admin", "管理员录入")],
                max_length=32,
                verbose_name="来源",
            ),
        ),
        migrations.RunPython(notes_in_chinese, notes_back),
    ]
