"""The administrators' text format, parsed and checked (no database)."""

from datetime import date

import pytest

from workdays.arrangement import ArrangementInvalid, format_arrangement, parse_arrangement
from workdays.factories import ADJUSTED_2026, HOLIDAYS_2026, INVALID_ARRANGEMENTS, SAMPLE_2027

D = date.fromisoformat


def test_a_valid_year_parses_into_days():
    result = parse_arrangement(2027, SAMPLE_2027)
    assert result.holidays[D("2027-01-01")] == "元旦"
    assert [d for d, n in result.holidays.items() if n == "春节"] == [D(f"2027-02-{i:02d}") for i in range(5, 13)]
    assert len(result.holidays) == 1 + 8 + 3 + 5 + 1 + 1 + 7
    assert result.adjusted_workdays == {
        D("2027-02-20"): "春节",
        D("2027-04-25"): "劳动节",
        D("2027-09-26"): "国庆节",
        D("2027-10-09"): "国庆节",
    }


@pytest.mark.parametrize(
    "line, holidays, adjusted",
    [
        ("2027-01-01 元旦", {"2027-01-01": "元旦"}, {}),
        ("2027-01-01元旦", {"2027-01-01": "元旦"}, {}),
        ("  2027-1-1\u3000元旦 ", {"2027-01-01": "元旦"}, {}),
        ("2027-02-05 至 2027-02-06 春节", {"2027-02-05": "春节", "2027-02-06": "春节"}, {}),
        ("2027-02-05~2027-02-06 春节", {"2027-02-05": "春节", "2027-02-06": "春节"}, {}),
        ("2027-01-01 元旦\n调休 2027-01-09", {"2027-01-01": "元旦"}, {"2027-01-09": ""}),
        ("2027-01-01 元旦\n调休2027-01-09 元旦", {"2027-01-01": "元旦"}, {"2027-01-09": "元旦"}),
        ("# 注释\n\n2027-01-01 元旦", {"2027-01-01": "元旦"}, {}),
    ],
)
def test_accepted_spellings(line, holidays, adjusted):
    result = parse_arrangement(2027, line)
    assert {d.isoformat(): n for d, n in result.holidays.items()} == holidays
    assert {d.isoformat(): n for d, n in result.adjusted_workdays.items()} == adjusted


@pytest.mark.parametrize("text, message", INVALID_ARRANGEMENTS)
def test_each_kind_of_error_is_reported_in_chinese(text, message):
    with pytest.raises(ArrangementInvalid) as invalid:
        parse_arrangement(2027, text)
    assert any(message in error for error in invalid.value.errors), invalid.value.errors


def test_every_error_is_reported_at_once():
    with pytest.raises(ArrangementInvalid) as invalid:
        parse_arrangement(2027, "2026-12-31 元旦\n调休 2027-02-15\nxyz")
    assert len(invalid.value.errors) == 3


def test_a_year_out_of_range_is_refused():
    with pytest.raises(ArrangementInvalid, match="年份"):
        parse_arrangement(1999, "1999-01-01 元旦")


def test_formatting_a_stored_year_gives_text_that_parses_back_to_it():
    holidays = {d: n for n, days in HOLIDAYS_2026.items() for d in days}
    text = format_arrangement(holidays, ADJUSTED_2026)
    assert text.splitlines()[:2] == ["2026-01-01..2026-01-03 元旦", "2026-02-15..2026-02-23 春节"]
    assert "调休 2026-02-14 春节" in text
    again = parse_arrangement(2026, text)
    assert again.holidays == holidays and again.adjusted_workdays == ADJUSTED_2026
