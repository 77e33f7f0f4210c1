import json
import os
from pathlib import Path

from django.core.management.base import BaseCommand

from entities.register_file import HEADERS, RegisterFileError


class Command(BaseCommand):
    help = (
        "导入市场监管部门的经营主体名录库 (CSV UTF-8 或 XLSX), 按统一社会信用代码新增或更新。"
        "在标准输出打印一个 JSON 对象; 文件无法读取或表头不符时退出码为 2 且不导入任何数据。"
        "表头(按顺序): " + ",".join(HEADERS)
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="CSV (UTF-8, 可带 BOM) 或 XLSX 文件")
        parser.add_argument("--financial-year", type=int, default=None, help="财务数据所属年度 (默认: 上一年)")
        parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1), help="大文件校验使用的进程数 (默认: 2)")

    def handle(self, *args, **options):
        from entities.register_import import RegisterImport

        path = Path(options["file"])
        try:
            content = path.read_bytes()
        except OSError as exc:
            self.stderr.write(f"无法读取文件 {path}: {exc.strerror or exc}")
            raise SystemExit(2)
        try:
            summary = RegisterImport(content=content, file_name=path.name, financial_year=options["financial_year"], workers=options["workers"]).run()
        except RegisterFileError as exc:
            self.stderr.write(str(exc))
            raise SystemExit(2)
        self.stdout.write(json.dumps(summary, ensure_ascii=False))
