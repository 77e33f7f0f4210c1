"""python manage.py eligibility_preview FILE|-  (shared/domain/eligibility-api.md)

The JSON response on stdout, exit 0; a request that fails validation: the field errors as
JSON on stderr, exit 2. The catalogue is the database's active products (their current
published versions), so products edited and published in the portal are the ones used.
"""

import json
import sys

from django.core.management.base import BaseCommand

from products.eligibility import error_body, run_preview

EXIT_INVALID = 2


def _plain(text):
    return text  # JSON on stderr, never coloured


class Command(BaseCommand):
    stealth_options = ("stdin",)
    help = "资格预评估: 读取 JSON 请求 (文件或 - 表示标准输入), 输出各产品的结论、额度与理由"

    def add_arguments(self, parser):
        parser.add_argument("file", metavar="FILE", help="JSON 请求文件, 或 - 表示从标准输入读取")

    def handle(self, *args, **options):
        data, problem = self._read(options["file"])
        if problem is not None:
            self._fail({"non_field_errors": [problem]})
        response, errors = run_preview(data)
        if errors:
            self._fail(errors)
        self.stdout.write(json.dumps(response, ensure_ascii=False, indent=2))

    def _read(self, name: str):
        try:
            if name == "-":
                text = self.stdin.read() if hasattr(self, "stdin") else sys.stdin.read()
            else:
                with open(name, encoding="utf-8") as handle:
                    text = handle.read()
        except FileNotFoundError:
            return None, f"文件不存在: {name}"
        except (OSError, UnicodeDecodeError) as error:
            return None, f"无法读取请求 ({error.__class__.__name__}): {name}"
        try:
            return json.loads(text), None
        except ValueError as error:
            return (
                None,
                f"请求不是有效的 JSON: 第 {getattr(error, 'lineno', '?')} 行第 {getattr(error, 'colno', '?')} 列",
            )

    def _fail(self, errors):
        self.stderr.write(json.dumps(error_body(errors), ensure_ascii=False, indent=2), style_func=_plain)
        sys.exit(EXIT_INVALID)

    def execute(self, *args, **options):
        # call_command(..., stdin=...) in tests; the terminal's stdin otherwise
        self.stdin = options.pop("stdin", sys.stdin)
        return super().execute(*args, **options)
