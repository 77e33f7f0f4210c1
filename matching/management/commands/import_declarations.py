import json
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from matching.declaration_import import (
    HEADERS,
    DeclarationImportError,
    declaration_import_template,
    declarations_import,
)
from portal.services import ApplicationError

UNREADABLE = 2


class Command(BaseCommand):
    help = (
        "批量申报: 从走访后填写的 XLSX (或 UTF-8 CSV) 文件导入融资申报, 以 --user 指定的专班人员身份办理。"
        "正确的行导入, 有误的行逐行报告; 在标准输出打印汇总 JSON。文件无法读取或缺少表头时退出码为 2 且不导入任何数据。"
        "表头: " + ",".join(HEADERS)
    )

    def add_arguments(self, parser):
        parser.add_argument("file", nargs="?", help="XLSX 或 CSV (UTF-8) 文件")
        parser.add_argument("--user", help="办理人的用户名 (县级工作专班工作人员或组长)")
        parser.add_argument("--template", metavar="OUT", help="不导入, 把空白模板写到 OUT")

    def handle(self, *args, **options):
        if options["template"]:
            Path(options["template"]).write_bytes(declaration_import_template())
            self.stdout.write(json.dumps({"template": options["template"]}, ensure_ascii=False))
            return
        if not options["file"] or not options["user"]:
            raise CommandError("用法: import_declarations FILE --user USERNAME", returncode=UNREADABLE)
        actor = get_user_model().objects.filter(username=options["user"], is_active=True).first()
        if actor is None:
            raise CommandError(f"用户不存在或已停用: {options['user']}")
        path = Path(options["file"])
        try:
            content = path.read_bytes()
        except OSError as exc:
            self.stderr.write(f"无法读取文件 {path}: {exc.strerror or exc}")
            raise SystemExit(UNREADABLE) from None
        try:
            summary = declarations_import(actor=actor, content=content, file_name=path.name)
        except DeclarationImportError as exc:
            self.stderr.write(str(exc))
            raise SystemExit(UNREADABLE) from None
        except ApplicationError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(json.dumps(summary, ensure_ascii=False))
