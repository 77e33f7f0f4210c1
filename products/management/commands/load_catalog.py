import json

from django.core.management.base import BaseCommand

from products.services import catalog_load


class Command(BaseCommand):
    help = "载入种子产品目录 (五家银行、分支机构及全部产品; 幂等: 重复执行不产生新版本)"

    def handle(self, *args, **options):
        counts = catalog_load()
        self.stdout.write(json.dumps(counts, ensure_ascii=False))
