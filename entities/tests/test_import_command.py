"""`python manage.py import_entities FILE`: output, exit status and upsert behaviour."""

import datetime as dt
import json
import os

import pytest
from django.db import connection
from django.utils import timezone
from stdnum.cn import ric

from entities.factories import csv_bytes, good_row, xlsx_bytes
from entities.models import CreditFlagRecord, EntityChange, EntityImport, FinancialYear, Honor, MarketEntity
from entities.register_file import HEADERS
from portal.models import AuditEvent

pytestmark = pytest.mark.django_db

TOMORROW = (timezone.localdate() + dt.timedelta(days=1)).isoformat()
BAD_BIRTH_DATE_ID = "14052519851301123" + ric.calc_check_digit("14052519851301123" + "0")  # month 13
UNKNOWN_PLACE_ID = "99999919850101123" + ric.calc_check_digit("99999919850101123" + "0")


def write(tmp_path, content: bytes, name: str = "register.csv"):
    path = tmp_path / name
    path.write_bytes(content)
    return path


def test_a_good_file_imports_every_row_and_prints_the_exact_summary(tmp_path, run_command):
    # given a register file of three good rows
    path = write(tmp_path, csv_bytes([good_row(1), good_row(2), good_row(3)]))

    # when it is imported
    code, summary, stdout, stderr = run_command(path)

    # then exit 0, one JSON object with exactly the specified keys, three entities
    assert code == 0
    assert stdout.count("\n") <= 1 and stderr == ""
    assert summary == {"rows": 3, "created": 3, "updated": 0, "unchanged": 0, "rejected": 0, "errors": []}
    entity = MarketEntity.objects.get(uscc=good_row(1)["统一社会信用代码"])
    assert entity.name == "泽州县测试1号小吃店"
    assert entity.entity_type == "individual_business" and entity.register_status == "active"
    assert entity.region_id == "140525" and entity.industry_id == "6210"
    assert entity.annual_revenue == 850_000 and entity.total_assets is None  # empty = unknown, not 0
    assert entity.operator_birth_date == dt.date(1985, 1, 1)
    assert entity.tier_imported == "growth" and entity.tier_computed == "growth" and entity.tier == "growth"
    assert entity.size_class == "micro"
    assert entity.created_source == "import"
    record = EntityImport.objects.get()
    assert (record.status, record.rows, record.created, record.file_name) == ("succeeded", 3, 3, "register.csv")


def test_the_same_file_imported_again_creates_and_updates_nothing(tmp_path, run_command):
    # given a file already imported
    path = write(tmp_path, csv_bytes([good_row(1), good_row(2)]))
    run_command(path)
    changes_before = EntityChange.objects.count()

    # when it is imported a second time
    code, summary, _, _ = run_command(path)

    # then nothing is created or updated
    assert code == 0
    assert summary == {"rows": 2, "created": 0, "updated": 0, "unchanged": 2, "rejected": 0, "errors": []}
    assert EntityChange.objects.count() == changes_before


def test_a_changed_row_updates_the_entity_and_records_the_change(tmp_path, run_command):
    # given an imported entity
    run_command(write(tmp_path, csv_bytes([good_row(1)])))

    # when the register reports a higher revenue, more insured people and an overdue
    code, summary, _, _ = run_command(
        write(
            tmp_path, csv_bytes([good_row(1, 年营业收入="1500000", 参保人数="5", 近两年累计逾期期数="2")]), "second.csv"
        )
    )

    # then the entity is updated, reclassified, and the change is in its history
    assert summary["updated"] == 1 and summary["created"] == 0
    entity = MarketEntity.objects.get()
    assert (entity.annual_revenue, entity.social_insurance_headcount, entity.overdue_total_24m) == (1_500_000, 5, 2)
    assert entity.tier_computed == "development" and entity.tier == "growth"  # the register's mark wins
    assert entity.tier_disagreement.startswith("名录库标记为成长型, 按现行标准测算为发展型")
    change = EntityChange.objects.get(entity=entity)
    assert change.source == "import" and change.changes["annual_revenue"] == [850_000, 1_500_000]
    assert change.changes["tier_computed"] == ["growth", "development"]
    record = CreditFlagRecord.objects.get(entity=entity)
    assert (record.flag, record.value, record.source) == ("overdue_total_24m", 2, "名录库导入: second.csv")
    assert FinancialYear.objects.get(entity=entity).annual_revenue == 1_500_000


def test_an_empty_cell_keeps_what_is_known_but_an_empty_honour_removes_it(tmp_path, run_command):
    # given an entity imported with a phone number and an honour
    run_command(write(tmp_path, csv_bytes([good_row(1, 名特优新="特色、知名", 名特优新有效期至="2030-06-30")])))
    entity = MarketEntity.objects.get()
    assert sorted(Honor.objects.filter(entity=entity).values_list("kind", flat=True)) == ["distinctive", "renowned"]
    assert entity.honors_imported == "renowned,distinctive"

    # when the next file leaves the phone and revenue empty and no longer lists the honour
    code, summary, _, _ = run_command(
        write(tmp_path, csv_bytes([good_row(1, 经营者手机号="", 年营业收入="")]), "b.csv")
    )

    # then the phone and revenue are kept (unknown is not zero) and the honour is gone
    entity.refresh_from_db()
    assert summary["updated"] == 1
    assert entity.operator_phone == "13812345678" and entity.annual_revenue == 850_000
    assert entity.honors_imported == "" and not Honor.objects.filter(entity=entity).exists()


def test_a_row_repeated_in_the_file_is_rejected_on_its_second_occurrence(tmp_path, run_command):
    # given a file whose fourth line repeats the code of its second
    path = write(tmp_path, csv_bytes([good_row(1), good_row(2), good_row(1, 名称="重复行")]))

    # when it is imported
    code, summary, _, _ = run_command(path)

    # then the first occurrence is imported and the repeat rejected
    assert code == 0
    assert (summary["created"], summary["rejected"]) == (2, 1)
    assert summary["errors"] == [{"line": 4, "column": "统一社会信用代码", "message": "与第 2 行重复, 本行未导入"}]
    assert MarketEntity.objects.get(uscc=good_row(1)["统一社会信用代码"]).name == "泽州县测试1号小吃店"


@pytest.mark.parametrize(
    "column, value, message",
    [
        ("统一社会信用代码", "", "必填"),
        ("统一社会信用代码", "92140525000000001", "应为 18 位, 实为 17 位"),
        ("统一社会信用代码", "9214052500000000IO", "含有不允许的字符"),
        ("统一社会信用代码", "921405250000000010", "校验位错误"),
        ("名称", "", "必填"),
        ("主体类型", "个体户", "「个体户」不是允许的值, 应为 个体工商户|小微企业|农民专业合作社|家庭农场"),
        ("登记状态", "正常", "不是允许的值"),
        ("成立日期", "2019/03/01", "日期格式应为 YYYY-MM-DD"),
        ("成立日期", "2019-02-30", "日期不存在"),
        ("成立日期", TOMORROW, "晚于今天"),
        ("行政区划代码", "", "必填"),
        ("行政区划代码", "1405", "应为 6 位数字代码"),
        ("行政区划代码", "149999", "未知的行政区划代码 149999"),
        ("行政区划代码", "140500", "应填写县级行政区划代码"),
        ("行业代码", "9999", "未知的行业代码 9999"),
        ("行业代码", "B6210", "未知的行业代码 B6210"),
        ("经营场所固定", "Y", "不是允许的值"),
        ("年营业收入", "-1", "金额不能为负数"),
        ("资产总额", "1.5", "金额应为整数元"),
        ("净资产", "1,000", "金额应为整数元"),
        ("年营业收入", "五十万", "金额应为整数元"),
        ("从业人数", "-3", "不能为负数"),
        ("参保人数", "2.5", "应为非负整数"),
        ("纳税人类型", "小规模", "不是允许的值"),
        ("有纳税记录", "有", "不是允许的值"),
        ("分型", "优秀型", "不是允许的值"),
        ("名特优新", "著名", "「著名」不是允许的值"),
        ("名特优新有效期至", "", "须填写有效期至"),
        ("经营者身份证号", "14052519850101123", "应为 18 位"),
        ("经营者身份证号", "140525198501011230", "校验位错误"),
        ("经营者身份证号", BAD_BIRTH_DATE_ID, "出生日期无效"),
        ("经营者身份证号", UNKNOWN_PLACE_ID, "地址码"),
        ("经营者手机号", "1381234567", "应为 11 位手机号码"),
        ("失信被执行人", "N", "不是允许的值"),
        ("近两年连续逾期期数", "x", "应为非负整数"),
        ("近两年累计逾期期数", "-1", "不能为负数"),
    ],
)
def test_every_kind_of_bad_cell_is_named_with_its_line_and_column(tmp_path, column, value, message, run_command):
    # given a file whose second row has one bad cell
    overrides = {column: value}
    if column == "名特优新有效期至":
        overrides["名特优新"] = "优质"
    path = write(tmp_path, csv_bytes([good_row(1), good_row(2, **overrides)]))

    # when it is imported
    code, summary, _, _ = run_command(path)

    # then the good row is imported and the bad one rejected, naming line 3 and the column
    assert code == 0
    assert (summary["created"], summary["rejected"]) == (1, 1)
    assert [e["line"] for e in summary["errors"]] == [3]
    assert summary["errors"][0]["column"] == column
    assert message in summary["errors"][0]["message"]


def test_a_row_with_several_bad_cells_names_every_one_in_column_order(tmp_path, run_command):
    # given one row with four bad cells
    row = good_row(1, 统一社会信用代码="921405250000000010", 成立日期=TOMORROW, 行政区划代码="999999", 年营业收入="-5")

    # when it is imported
    _, summary, _, _ = run_command(write(tmp_path, csv_bytes([row])))

    # then there is one error per bad cell, in the order of the columns
    assert [e["column"] for e in summary["errors"]] == ["统一社会信用代码", "成立日期", "行政区划代码", "年营业收入"]
    assert summary["rejected"] == 1 and MarketEntity.objects.count() == 0


def test_a_row_with_too_many_cells_is_rejected_as_a_whole(tmp_path, run_command):
    content = csv_bytes([good_row(1)]) + ("," * len(HEADERS) + "多余\n").encode()
    _, summary, _, _ = run_command(write(tmp_path, content))
    assert summary["rejected"] == 1
    assert summary["errors"][0]["line"] == 3 and summary["errors"][0]["column"] is None


def test_consecutive_overdue_above_total_is_rejected(tmp_path, run_command):
    _, summary, _, _ = run_command(
        write(tmp_path, csv_bytes([good_row(1, 近两年连续逾期期数="3", 近两年累计逾期期数="1")]))
    )
    assert summary["errors"] == [
        {"line": 2, "column": "近两年连续逾期期数", "message": "连续逾期期数 3 大于累计逾期期数 1"}
    ]


def test_blank_lines_are_not_rows(tmp_path, run_command):
    content = csv_bytes([good_row(1)]) + b"\n,,,,,,,,,,,,,,,,,,,,,,,\n" + csv_bytes([good_row(2)]).split(b"\n", 1)[1]
    _, summary, _, _ = run_command(write(tmp_path, content))
    assert (summary["rows"], summary["created"]) == (2, 2)


def test_a_file_with_only_the_header_imports_nothing_and_exits_0(tmp_path, run_command):
    code, summary, _, _ = run_command(write(tmp_path, csv_bytes([])))
    assert code == 0 and summary == {"rows": 0, "created": 0, "updated": 0, "unchanged": 0, "rejected": 0, "errors": []}


def test_a_utf8_bom_is_accepted(tmp_path, run_command):
    code, summary, _, _ = run_command(write(tmp_path, csv_bytes([good_row(1)], bom=True)))
    assert code == 0 and summary["created"] == 1


@pytest.mark.parametrize("typed", [False, True], ids=["text-cells", "number-and-date-cells"])
def test_an_xlsx_file_imports_like_the_csv(tmp_path, typed, run_command):
    # given the same rows as XLSX, with cells as text or as Excel numbers and dates
    path = write(tmp_path, xlsx_bytes([good_row(1), good_row(2, 年营业收入="-1")], typed=typed), "register.xlsx")

    # when it is imported
    code, summary, _, _ = run_command(path)

    # then it behaves like the CSV: line numbers are sheet rows
    assert code == 0
    assert (summary["rows"], summary["created"], summary["rejected"]) == (2, 1, 1)
    assert summary["errors"][0]["line"] == 3 and summary["errors"][0]["column"] == "年营业收入"
    entity = MarketEntity.objects.get()
    assert entity.established_on == dt.date(2019, 3, 1) and entity.annual_revenue == 850_000


@pytest.mark.parametrize(
    "headers, expected",
    [
        (tuple(h for h in HEADERS if h != "行业代码"), "缺少表头: 行业代码"),
        (HEADERS[:5] + ("统一代码",) + HEADERS[6:], "无法识别的表头: 统一代码"),
        ((HEADERS[1], HEADERS[0]) + HEADERS[2:], "表头顺序或数量与模板不符"),
    ],
    ids=["missing", "unknown", "order"],
)
def test_a_wrong_header_exits_2_and_imports_nothing(tmp_path, headers, expected, run_command):
    # given a file whose header is not the template's
    path = write(tmp_path, csv_bytes([good_row(1)], headers=headers))

    # when it is imported
    code, summary, stdout, stderr = run_command(path)

    # then exit 2, the reason on stderr, nothing on stdout, nothing imported
    assert code == 2 and summary is None and stdout == ""
    assert expected in stderr
    assert MarketEntity.objects.count() == 0
    assert EntityImport.objects.get().status == "failed"


@pytest.mark.parametrize(
    "content, expected",
    [
        (b"", "文件为空"),
        ("统一社会信用代码,名称\n".encode("gbk"), "不是 UTF-8"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "不支持旧版 Excel"),
        (b"PK\x03\x04not really a zip", "XLSX 文件已损坏"),
        (b"\x00\x01\x02binary", "二进制"),
    ],
    ids=["empty", "gbk", "xls", "broken-xlsx", "binary"],
)
def test_an_unreadable_file_exits_2_and_imports_nothing(tmp_path, content, expected, run_command):
    code, summary, stdout, stderr = run_command(write(tmp_path, content))
    assert code == 2 and stdout == ""
    assert expected in stderr
    assert MarketEntity.objects.count() == 0


def test_a_missing_file_exits_2(tmp_path, run_command):
    code, _, stdout, stderr = run_command(tmp_path / "nope.csv")
    assert code == 2 and stdout == "" and "无法读取文件" in stderr


def test_the_import_is_audited_with_its_counts(tmp_path, run_command):
    run_command(write(tmp_path, csv_bytes([good_row(1), good_row(2, 年营业收入="-1")])))
    event = AuditEvent.objects.get(action="entity.import")
    assert event.after["created"] == 1 and event.after["rejected"] == 1 and event.after["file_name"] == "register.csv"


def test_financial_cells_go_to_the_previous_year_and_a_newer_year_replaces_them(tmp_path, run_command):
    # given a file imported for the default (previous) year
    run_command(write(tmp_path, csv_bytes([good_row(1, 资产总额="400000")])))
    entity = MarketEntity.objects.get()
    last_year = timezone.localdate().year - 1
    assert entity.financial_year == last_year

    # when the same entity is imported for the current year with only the revenue
    run_command(
        write(tmp_path, csv_bytes([good_row(1, 年营业收入="990000")]), "new.csv"),
        "--financial-year",
        str(last_year + 1),
    )

    # then both years are kept; the latest is on the entity, its unknown assets stay unknown
    entity.refresh_from_db()
    years = dict(FinancialYear.objects.filter(entity=entity).values_list("year", "annual_revenue"))
    assert years == {last_year: 850_000, last_year + 1: 990_000}
    assert entity.financial_year == last_year + 1 and entity.annual_revenue == 990_000 and entity.total_assets is None


@pytest.mark.django_db(transaction=True)
def test_the_real_command_line_prints_one_json_line_and_exits_with_its_status(tmp_path, run_command_process):
    # given a good file and a file with a missing header, and the command run as a process
    if connection.vendor != "postgresql":
        pytest.skip("a second process cannot see an in-memory SQLite test database")
    env = {**os.environ, "DATABASE_URL": _database_url()}
    good = write(tmp_path, csv_bytes([good_row(1)], bom=True), "good.csv")
    bad = write(tmp_path, csv_bytes([good_row(2)], headers=HEADERS[:-1]), "bad.csv")

    # when both are imported by `python manage.py import_entities FILE`
    ok, failed = run_command_process(good, env), run_command_process(bad, env)

    # then exit 0 with exactly one JSON line on stdout, and exit 2 with the reason on stderr
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.count("\n") == 1
    assert json.loads(ok.stdout) == {"rows": 1, "created": 1, "updated": 0, "unchanged": 0, "rejected": 0, "errors": []}
    assert failed.returncode == 2 and failed.stdout == "" and f"缺少表头: {HEADERS[-1]}" in failed.stderr
    assert MarketEntity.objects.count() == 1


def _database_url() -> str:
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{settings['NAME']}"
    return (
        f"postgres://{settings['USER']}:{settings['PASSWORD']}@{settings['HOST']}:{settings['PORT']}/{settings['NAME']}"
    )


@pytest.mark.parametrize("quoted", [False, True], ids=["lines-split-in-workers", "rows-read-in-parent"])
def test_parallel_validation_gives_the_same_result_as_one_process(tmp_path, monkeypatch, quoted):
    # given a file with bad rows and a repeat that fall into different chunks
    from entities import register_import
    from entities.register_import import RegisterImport

    rows = [good_row(n) for n in range(1, 30)]
    rows[5]["年营业收入"] = "-1"
    rows[20]["统一社会信用代码"] = rows[3]["统一社会信用代码"]
    if quoted:
        rows[7]["名称"] = '泽州县"老字号"饭店'
    content = csv_bytes(rows)
    monkeypatch.setattr(register_import, "PARALLEL_MIN_ROWS", 10)
    monkeypatch.setattr(register_import, "CHUNK_ROWS", 7)

    # when it is validated by two worker processes
    summary = RegisterImport(content=content, file_name="p.csv", workers=2).run()

    # then the result is the one a single process gives
    assert summary["created"] == 27 and summary["rejected"] == 2
    assert [(e["line"], e["column"]) for e in summary["errors"]] == [(7, "年营业收入"), (22, "统一社会信用代码")]
    assert summary["errors"][1]["message"] == "与第 5 行重复, 本行未导入"
    assert MarketEntity.objects.count() == 27


def test_numbers_beyond_their_columns_are_row_errors_and_the_rest_imports(tmp_path, run_command):
    # given a file whose second row has a 25-digit revenue, a headcount beyond the column and
    # an overdue count beyond its small column, and whose third row is good
    huge = "9" * 25
    path = write(
        tmp_path,
        csv_bytes(
            [
                good_row(1),
                good_row(2, 年营业收入=huge, 从业人数="2147483648", 近两年连续逾期期数="1", 近两年累计逾期期数="40000"),
                good_row(3, 资产总额="0009223372036854775807"),
            ]
        ),
    )

    # when it is imported
    code, summary, _, _ = run_command(path)

    # then the bad row is rejected with one Chinese error per cell, and the others are imported
    assert code == 0 and summary["created"] == 2 and summary["rejected"] == 1
    messages = {(e["line"], e["column"]): e["message"] for e in summary["errors"]}
    assert "超出允许范围" in messages[(3, "年营业收入")]
    assert "超出允许范围" in messages[(3, "从业人数")]
    assert "超出允许范围" in messages[(3, "近两年累计逾期期数")]
    assert MarketEntity.objects.get(uscc=good_row(3)["统一社会信用代码"]).total_assets == 2**63 - 1


def test_the_register_file_limits_are_the_columns_ranges():
    from entities import register_file
    from portal import bounds

    def top(name):
        return bounds.column_range(MarketEntity._meta.get_field(name))[1]

    assert register_file.MONEY_MAX == top("annual_revenue") == top("total_assets") == top("net_assets")
    assert register_file.COUNT_MAX == top("employees") == top("social_insurance_headcount")
    assert register_file.SMALL_COUNT_MAX == top("overdue_total_24m") == top("overdue_consecutive_24m")


@pytest.mark.django_db(transaction=True)
def test_a_code_registered_by_another_import_meanwhile_is_updated_on_the_second_pass(monkeypatch):
    """Given a file validated by two worker processes, when another import commits one of its new
    codes after this import looked the codes up (its COPY then fails on the unique index), then
    the import is rolled back, validated once more from the file (the validated chunks are not
    kept in memory for this) and written again: every row is in, the code once."""
    import threading

    from django.db import connection as default_connection

    from entities import register_import
    from entities.register_import import RegisterImport

    rows = [good_row(n) for n in range(1, 30)]
    code = rows[2]["统一社会信用代码"]
    monkeypatch.setattr(register_import, "PARALLEL_MIN_ROWS", 10)
    monkeypatch.setattr(register_import, "CHUNK_ROWS", 7)  # 5 chunks, more than the 4 validated ahead
    original = RegisterImport._create_postgresql
    calls = []

    def other_import_commits_first(self, creates):
        calls.append(len(creates))
        if len(calls) == 1:

            def other():
                try:
                    RegisterImport(content=csv_bytes([rows[2]]), file_name="other.csv", workers=1).run()
                finally:
                    default_connection.close()

            thread = threading.Thread(target=other)
            thread.start()
            thread.join()
        return original(self, creates)

    monkeypatch.setattr(RegisterImport, "_create_postgresql", other_import_commits_first)

    summary = RegisterImport(content=csv_bytes(rows), file_name="p.csv", workers=2).run()

    assert len(calls) > 5  # the first pass failed at its first chunk and the file was written again
    assert summary["rows"] == 29 and summary["rejected"] == 0 and summary["created"] == 28
    assert MarketEntity.objects.filter(uscc=code).count() == 1 and MarketEntity.objects.count() == 29
    assert EntityImport.objects.get(file_name="p.csv").status == "succeeded"
