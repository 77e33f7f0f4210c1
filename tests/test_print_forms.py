"""Issue 16 item 21: the government forms print. Each xlsx export that is a form (成效统计表,
无还本续贷情况统计表, 台账, 银行机构排名通报, 推荐清单, and item 10's 申报清单) has its page setup —
landscape, fit to one page wide, header rows repeated on every page, the form's title above the table on the first
page, 填表人/审核人/日期 at the end. LibreOffice (headless, Debian's libreoffice-calc-nogui,
installed by the test command) prints each to PDF, and poppler's pdfinfo/pdftotext read it.

One page wide, as printed: every page is landscape, page 1 holds the title and the LAST
column's header (a form too wide for the page would continue its right-hand columns on
page 2), and every page repeats the header row."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest
from django.test import Client
from openpyxl import load_workbook

from matching.factories import pushed

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(not shutil.which("soffice"), reason="LibreOffice is installed by scripts/test.sh"),
]

# form: (who downloads it, URL, its title, the header of its last column)
FORMS = {
    "成效统计表": (
        "city",
        "/reporting/export/effectiveness.xlsx",
        "支持小微企业融资协调工作机制成效统计表",
        "三个100%",
    ),
    "无还本续贷情况统计表": (
        "city",
        "/reporting/export/renewals.xlsx",
        "中小微企业无还本续贷情况统计表",
        "续贷余额占比",
    ),
    "银行机构排名通报": ("city", "/reporting/export/ranking.xlsx", "银行机构排名通报", "满意度(分)"),
    "台账": ("staff", "/matching/ledger/?format=xlsx", "融资对接台账", None),
    "推荐清单": ("convener", "/matching/batches/{batch}/?format=xlsx", "推荐清单", "状态"),
    "申报清单": ("staff", "/matching/declarations/export.xlsx", "申报清单", "提交日期"),
}


def _pdf(xlsx: bytes, tmp_path: Path) -> Path:
    """The xlsx printed by LibreOffice to PDF (a profile of its own: runs may overlap)."""
    source = tmp_path / f"{uuid.uuid4().hex}.xlsx"
    source.write_bytes(xlsx)
    profile = tmp_path / f"lo-profile-{uuid.uuid4().hex}"
    subprocess.run(
        [
            "soffice",
            f"-env:UserInstallation=file://{profile}",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(tmp_path),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    return source.with_suffix(".pdf")


def _pages(pdf: Path) -> list[tuple[tuple[float, float], str]]:
    """Each page's size (points) and its text."""
    count = int(re.search(r"^Pages:\s+(\d+)", _run("pdfinfo", str(pdf)), re.M).group(1))
    sizes = re.findall(r"^Page\s+\d+ size:\s+([\d.]+) x ([\d.]+)", _run("pdfinfo", "-l", str(count), str(pdf)), re.M)
    texts = [_run("pdftotext", "-f", str(n), "-l", str(n), "-layout", str(pdf), "-") for n in range(1, count + 1)]
    return [((float(w), float(h)), text) for (w, h), text in zip(sizes, texts, strict=True)]


def _run(*command: str) -> str:
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def forms_world(world, committed):
    """泽州 with one declaration pushed to 中国银行 and 建设银行 (every form has rows)."""
    with committed():
        world.declaration, world.users["enterprise"], world.recs = pushed(world)
    return world


@pytest.mark.parametrize("form", list(FORMS))
def test_each_government_form_prints_one_page_wide_with_its_title_header_and_signatures(forms_world, form, tmp_path):
    who, url, title, last_header = FORMS[form]
    batch = forms_world.recs["boc"].batch_id
    client = Client()
    client.force_login(forms_world.users[who])

    # given the form as its user downloads it
    response = client.get(url.format(batch=batch))
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).worksheets[0]
    # (its page setup: landscape, one page wide, as many long as needed, header rows repeated)
    assert sheet.page_setup.orientation == "landscape" and sheet.page_setup.fitToWidth == 1
    assert sheet.page_setup.fitToHeight == 0 and sheet.sheet_properties.pageSetUpPr.fitToPage
    assert sheet.print_title_rows
    if last_header is None:  # the ledger: its last column, whatever it is today
        header_row = int(sheet.print_title_rows.split(":")[0].strip("$"))
        last_header = [c.value for c in sheet[header_row] if c.value][-1]

    # when LibreOffice prints it
    pages = _pages(_pdf(response.content, tmp_path))

    # then every page is landscape
    assert all(width > height for (width, height), _ in pages), [size for size, _ in pages]
    first = pages[0][1]
    # and the title is above the table on page 1, with the last column's header beside the first
    assert title in first and first.index(title) < first.index("序号")
    assert last_header in first, (form, last_header)
    # and every page repeats the header row, and the form ends with its signatures
    assert all("序号" in text for _, text in pages)
    assert "填表人" in pages[-1][1] and "审核人" in pages[-1][1] and "填报日期" in pages[-1][1]
