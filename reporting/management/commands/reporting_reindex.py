"""python manage.py reporting_reindex [--full]

Folds pending workflow events and visits into the statistics index (reporting.facts), or
rebuilds it from the whole event history with --full. Run once after deploying reporting on
an existing database (the beat task would otherwise build it within a minute; reads never
do), and after any change to how the index is folded."""

import time

from django.core.management.base import BaseCommand

from reporting.facts import sync


class Command(BaseCommand):
    help = "更新统计索引(台账事件 → 统计索引); --full 从全部办理事件重建"

    def add_arguments(self, parser):
        parser.add_argument("--full", action="store_true", help="从全部办理事件重建")

    def handle(self, *args, full=False, **options):
        started = time.perf_counter()
        rows = sync(full=full)
        self.stdout.write(f"统计索引已更新: {rows} 行, 用时 {time.perf_counter() - started:.1f} 秒")
