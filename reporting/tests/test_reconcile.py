"""The 成效统计表's 合计 equals what the ledger export of the same scope and period gives when
its rows are counted by hand."""

from decimal import Decimal

import pytest

from matching.clocks import deadline_scan
from reporting import exports, selectors
from reporting.exports import EFFECTIVENESS_COLUMNS
from reporting.factories import later_activity
from reporting.ledger import ledger_export

pytestmark = pytest.mark.django_db


def _ledger_rows(sheet) -> list[dict]:
    rows = list(sheet.iter_rows(values_only=True))
    header_at = next(i for i, row in enumerate(rows) if row and row[0] == "序号")
    headers = rows[header_at]
    return [dict(zip(headers, row)) for row in rows[header_at + 1 :] if row and isinstance(row[0], int)]


def _effectiveness_total(sheet) -> dict:
    for row in sheet.iter_rows(values_only=True):
        if row and row[1] == "合计":
            return {
                f"{group}/{header}": Decimal(str(value)) if isinstance(value, float) else value
                for (group, header, _, _), value in zip(EFFECTIVENESS_COLUMNS, row[2:])
            }
    raise AssertionError("no 合计 row")


@pytest.mark.parametrize("period", ["2026-03", "2026-Q2", "2026"])
def test_effectiveness_totals_equal_the_ledger_counted_by_hand(history, period, committed, read_xlsx):
    # given March's history and April's, with the deadline scan having marked overdue clocks
    with committed():
        later_activity(history)
    deadline_scan()
    user = history.world.users["city"]
    q = selectors.parse_query({"period": period, "region": "140500"})

    # when both are exported for the same scope and period
    ledger = _ledger_rows(read_xlsx(ledger_export(actor=user, filters=q.filters, extension="xlsx").content))
    total = _effectiveness_total(read_xlsx(exports.effectiveness_xlsx(user, q).content))

    # then counting the ledger's rows by hand gives the 成效统计表's 合计
    def households(condition):
        return len({(r["区划代码"], r["统一社会信用代码"]) for r in ledger if condition(r)})

    def wan(rows, column):
        return sum((Decimal(str(r[column] or 0)) for r in rows), Decimal("0")).quantize(Decimal("0.01"))

    def needs():
        # each entity of this history has one need (E1's: pushed to 中国银行 and 建设银行, then
        # re-recommended to 山西银行): counted once, not once per row
        largest: dict = {}
        for r in ledger:
            key = (r["区划代码"], r["统一社会信用代码"])
            largest[key] = max(largest.get(key, Decimal("0")), Decimal(str(r["融资需求(万元)"])))
        return sum(largest.values(), Decimal("0")).quantize(Decimal("0.01"))

    credited = [r for r in ledger if r["授信金额(万元)"] is not None]
    assert total["推荐清单/企业(户)"] == households(lambda r: True)
    assert total["推荐清单/融资需求"] == needs()
    assert total["推荐清单/其中已移出(户)"] == households(lambda r: r["移出日期"])
    assert total["银行对接/已对接(户)"] == households(lambda r: r["对接日期"])
    assert total["授信/企业(户)"] == households(lambda r: r["授信金额(万元)"] is not None)
    assert total["授信/笔数"] == len(credited)
    assert total["授信/金额"] == wan(credited, "授信金额(万元)")
    assert total["放款/企业(户)"] == households(lambda r: (r["累计放款(万元)"] or 0) > 0)
    assert total["放款/金额"] == wan(ledger, "累计放款(万元)")
    credit_loans = [r for r in credited if r["信用贷款"] == "是"]
    assert (total["其中: 信用贷款/笔数"], total["其中: 信用贷款/金额"]) == (
        len(credit_loans),
        wan(credit_loans, "授信金额(万元)"),
    )
    assert total["其中: 首贷/首贷户(户)"] == households(lambda r: r["首贷"] == "是")
    long_term = [r for r in credited if (r["授信期限(月)"] or 0) > 12]
    assert (total["其中: 中长期贷款/笔数"], total["其中: 中长期贷款/金额"]) == (
        len(long_term),
        wan(long_term, "授信金额(万元)"),
    )
    if credited:
        rates = [Decimal(str(r["年利率(%)"])) for r in credited]
        assert Decimal(str(total["贷款利率(%)/平均"])) == (sum(rates) / len(rates)).quantize(Decimal("0.001"))
        weighted = sum(Decimal(str(r["年利率(%)"])) * Decimal(str(r["授信金额(万元)"])) for r in credited) / sum(
            Decimal(str(r["授信金额(万元)"])) for r in credited
        )
        assert Decimal(str(total["贷款利率(%)/加权平均"])) == weighted.quantize(Decimal("0.001"))
    assert total["办理时限/反馈逾期(笔)"] == sum(1 for r in ledger if r["反馈逾期"] == "是")
    assert total["办理时限/决策逾期(笔)"] == sum(1 for r in ledger if r["决策逾期"] == "是")
    # and the ledger export is not empty for the periods that have pushes
    assert ledger if period in ("2026-03", "2026") else True


def test_the_effectiveness_table_is_a_government_table(history, march, read_xlsx):
    sheet = read_xlsx(exports.effectiveness_xlsx(history.world.users["city"], march, by="county").content)
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "支持小微企业融资协调工作机制成效统计表"
    assert (
        "填报单位: 晋城市机制" in rows[1][0] and "统计期间: 2026年3月" in rows[1][0] and "金额单位: 万元" in rows[1][0]
    )
    assert rows[2][:3] == ("序号", "县(区)", "走访摸排") and rows[3][2] == "走访经营主体(户)"
    assert rows[4][1] == "泽州县" and rows[5][1] == "合计"
    assert any(row[0] and str(row[0]).startswith("填表人") for row in rows)
    by_bank = list(
        read_xlsx(exports.effectiveness_xlsx(history.world.users["city"], march, by="bank").content).iter_rows(
            values_only=True
        )
    )
    names = [row[1] for row in by_bank[4:6]]
    assert set(names) == {"中国银行", "中国建设银行"} and by_bank[6][1] == "合计"
    assert by_bank[6][2] == "—"  # visits are not by bank
