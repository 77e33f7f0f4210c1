"""Building register files (CSV/XLSX) for tests."""
from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

from openpyxl import Workbook

from entities.factories import make_id_number, make_uscc
from entities.register_file import HEADERS

ROOT = Path(__file__).resolve().parents[2]


def good_row(n: int = 1, **overrides) -> dict[str, str]:
    row = {
        "统一社会信用代码": make_uscc(n),
        "名称": f"泽州县测试{n}号小吃店",
        "主体类型": "个体工商户",
        "登记状态": "存续",
        "成立日期": "2019-03-01",
        "行政区划代码": "140525",
        "行业代码": "6210",
        "经营场所固定": "是",
        "年营业收入": "850000",
        "资产总额": "",
        "净资产": "",
        "从业人数": "3",
        "参保人数": "2",
        "纳税人类型": "小规模纳税人",
        "有纳税记录": "是",
        "分型": "成长型",
        "名特优新": "",
        "名特优新有效期至": "",
        "经营者姓名": "陈金辉",
        "经营者身份证号": make_id_number(serial=n % 1000),
        "经营者手机号": "13812345678",
        "失信被执行人": "否",
        "近两年连续逾期期数": "0",
        "近两年累计逾期期数": "0",
    }
    row.update(overrides)
    return row


def csv_bytes(rows: list[dict], *, headers=HEADERS, bom: bool = False) -> bytes:
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(headers)
    for row in rows:
        writer.writerow([row.get(h, "") for h in headers])
    return (("\ufeff" if bom else "") + text.getvalue()).encode("utf-8")


def xlsx_bytes(rows: list[dict], *, typed: bool = False) -> bytes:
    """`typed` stores numbers and dates as Excel numbers/dates, as users' files do."""
    import datetime as dt

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(list(HEADERS))
    for row in rows:
        values = []
        for header in HEADERS:
            value = row.get(header, "")
            if typed and value and header in ("年营业收入", "资产总额", "净资产", "从业人数", "参保人数", "近两年连续逾期期数", "近两年累计逾期期数"):
                value = int(value)
            elif typed and value and header in ("成立日期", "名特优新有效期至"):
                value = dt.datetime.fromisoformat(value)
            values.append(value if value != "" else None)
        sheet.append(values)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def run_command(path: Path, *args: str) -> tuple[int, dict | None, str, str]:
    """Runs `manage.py import_entities` in-process; returns (exit code, JSON, stdout, stderr)."""
    from django.core.management import call_command

    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("import_entities", str(path), *args, "--workers", "1", stdout=out, stderr=err)
        code = 0
    except SystemExit as exc:
        code = exc.code
    stdout = out.getvalue()
    return code, (json.loads(stdout) if stdout.strip() else None), stdout, err.getvalue()


def run_command_process(path: Path, env: dict) -> subprocess.CompletedProcess:
    """The real command line, in a new process (exit status as the shell sees it)."""
    return subprocess.run([sys.executable, "manage.py", "import_entities", str(path)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
