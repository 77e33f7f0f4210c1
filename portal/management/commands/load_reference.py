from django.core.management.base import BaseCommand

from portal.reference_sync import sync_reference_data


class Command(BaseCommand):
    help = "载入行政区划与国民经济行业分类 (幂等)"

    def handle(self, *args, **options):
        counts = sync_reference_data()
        self.stdout.write(f"行政区划 {counts['regions']} 条, 行业分类 {counts['industries']} 条")
