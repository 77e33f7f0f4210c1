"""`manage.py export_report`: files on success, exit status 2 with a Chinese message on bad
arguments (through call_command and, for the parser's own errors, a real process)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "kind, title",
    [
        ("effectiveness", "支持小微企业融资协调工作机制成效统计表"),
        ("ledger", "融资对接台账"),
        ("ranking", "银行机构排名通报"),
        ("renewals", "中小微企业无还本续贷情况统计表"),
    ],
)
def test_each_report_is_written(history, tmp_path, kind, title, read_xlsx):
    out = tmp_path / f"{kind}.xlsx"
    call_command("export_report", kind, "--period", "2026-03", "--region", "140500", "--out", str(out))
    sheet = read_xlsx(out.read_bytes())
    assert sheet.cell(1, 1).value == title


def test_csv_too(history, tmp_path):
    out = tmp_path / "effectiveness.csv"
    call_command(
        "export_report", "effectiveness", "--period", "2026-Q1", "--region", "140525", "--out", str(out), "--by", "bank"
    )
    text = out.read_bytes().decode("utf-8-sig")
    assert text.splitlines()[0].startswith("序号,银行机构,") and "合计" in text


@pytest.mark.parametrize(
    "args, message",
    [
        (["effectiveness", "--period", "2026-13", "--region", "140500"], "期间格式错误"),
        (["effectiveness", "--period", "26", "--region", "140500"], "期间格式错误"),
        (["effectiveness", "--period", "2026", "--region", "999999"], "未知的行政区划代码"),
        (["effectiveness", "--period", "2026", "--region", "140500", "--as-of", "yesterday"], "统计时点格式"),
    ],
)
def test_bad_arguments_exit_with_status_2(tmp_path, args, message):
    with pytest.raises(CommandError) as error:
        call_command("export_report", *args, "--out", str(tmp_path / "x.xlsx"))
    assert error.value.returncode == 2 and message in str(error.value)


def test_bad_output_file(tmp_path):
    with pytest.raises(CommandError) as error:
        call_command(
            "export_report", "ledger", "--period", "2026", "--region", "140500", "--out", str(tmp_path / "x.pdf")
        )
    assert error.value.returncode == 2 and ".xlsx 或 .csv" in str(error.value)
    with pytest.raises(CommandError) as error:
        call_command(
            "export_report",
            "ledger",
            "--period",
            "2026",
            "--region",
            "140500",
            "--out",
            str(tmp_path / "no" / "x.xlsx"),
        )
    assert error.value.returncode == 2 and "输出目录不存在" in str(error.value)


@pytest.mark.parametrize(
    "args, message",
    [
        (["balance", "--period", "2026", "--region", "140500", "--out", "x.xlsx"], "无效取值"),
        (["effectiveness", "--region", "140500", "--out", "x.xlsx"], "缺少必需参数"),
        (["effectiveness", "--period", "2026-Q5", "--region", "140500", "--out", "x.xlsx"], "期间格式错误"),
    ],
)
def test_the_real_command_line_exits_2(tmp_path, args, message):
    # these fail before the database is touched, so the process may use any database
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings"}
    result = subprocess.run(
        [sys.executable, "manage.py", "export_report", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2, result.stderr
    assert message in result.stderr


def test_the_index_can_be_rebuilt(history):
    from io import StringIO

    from reporting.models import LedgerFact

    out = StringIO()
    call_command("reporting_reindex", "--full", stdout=out)
    assert "统计索引已更新: 6 行" in out.getvalue() and LedgerFact.objects.count() == 6
