import json
import os
from pathlib import Path

from django.core.management.base import BaseCommand

from entities.register_file import HEADERS, RegisterFileError
from entities.register_import import RegisterImport
from portal.models import Region, RegionLevel


class Command(BaseCommand):
    help = (
        "导入市场监管部门的经营主体名录库 (CSV UTF-8 或 XLSX), 按统一社会信用代码新增或更新。"
        "以服务器运维身份运行: 不带 --region 时不限地区(可新增和更新任何地区的经营主体, 同平台管理员); "
        "带 --region 时只写入该地区, 与该地区监管部门在页面上导入相同 (地区外的行及在地区外已登记的代码逐行拒绝)。"
        "在标准输出打印一个 JSON 对象; 文件无法读取、表头不符或 --region 未知时退出码为 2 且不导入任何数据。"
        "表头(按顺序): " + ",".join(HEADERS)
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="CSV (UTF-8, 可带 BOM) 或 XLSX 文件")
        parser.add_argument("--financial-year", type=int, default=None, help="财务数据所属年度 (默认: 上一年)")
        parser.add_argument(
            "--region", default="", help="只导入该行政区划(省、市或县级代码, 如 140525)内的经营主体 (默认: 不限地区)"
        )
        parser.add_argument(
            "--workers", type=int, default=min(2, os.cpu_count() or 1), help="大文件校验使用的进程数 (默认: 2)"
        )

    def handle(self, *args, **options):
        path = Path(options["file"])
        try:
            content = path.read_bytes()
        except OSError as exc:
            self.stderr.write(f"无法读取文件 {path}: {exc.strerror or exc}")
            raise SystemExit(2)
        region_prefix = ""
        if options["region"]:
            region = Region.objects.filter(
                code=options["region"].strip(), level__in=[RegionLevel.PROVINCE, RegionLevel.CITY, RegionLevel.COUNTY]
            ).first()
            if region is None:
                self.stderr.write(f"未知的行政区划代码 {options['region']}(应为省、市或县级代码)")
                raise SystemExit(2)
            region_prefix = region.scope_prefix
        try:
            summary = RegisterImport(
                content=content,
                file_name=path.name,
                financial_year=options["financial_year"],
                workers=options["workers"],
                region_prefix=region_prefix,
            ).run()
        except RegisterFileError as exc:
            self.stderr.write(str(exc))
            raise SystemExit(2)
        self.stdout.write(json.dumps(summary, ensure_ascii=False))
