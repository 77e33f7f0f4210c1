import csv
import json
import time

from django.core.management.base import BaseCommand, CommandError

from entities.register_file import HEADERS
from entities.synthetic import Generator, insert_entities, register_cells


class Command(BaseCommand):
    help = "生成 N 个合成经营主体(山西省各县, 分布见 entities/synthetic.py), 写入数据库或 --csv 名录库文件"

    def add_arguments(self, parser):
        parser.add_argument("count", type=int)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument(
            "--start", type=int, default=0, help="第一个主体的序号(同一 seed 下序号决定统一社会信用代码)"
        )
        parser.add_argument("--csv", dest="csv_path", default=None, help="写成名录库 CSV 文件而不写数据库")

    def handle(self, *args, count, seed, start, csv_path, **options):
        if count < 0:
            raise CommandError("N 不能为负数")
        generator = Generator(seed=seed)
        began = time.perf_counter()
        if csv_path:
            with open(csv_path, "w", encoding="utf-8", newline="") as handle:
                writer = csv.writer(handle)
                writer.writerow(HEADERS)
                for row in generator.entities(count, start):
                    writer.writerow(register_cells(row))
            result = {"rows": count, "file": csv_path}
        else:
            result = {"inserted": insert_entities(generator.entities(count, start))}
        result["seconds"] = round(time.perf_counter() - began, 2)
        self.stdout.write(json.dumps(result, ensure_ascii=False))
