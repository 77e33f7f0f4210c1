"""Test factories of the working-day calendar.

The 2025 and 2026 arrangements typed by hand from the State Council notices
(国办发明电〔2024〕12号 for 2025, 国办发明电〔2025〕7号 for 2026), independently of the
chinese-calendar library, so the tests check the seeded data and the arithmetic against
the official text rather than against the code's own source; a calendar built from them
(`hand_calendar`); a sample 2027 arrangement in the administrators' format, and texts the
parser must refuse with the message it gives (`INVALID_ARRANGEMENTS`)."""

from datetime import date, timedelta

from workdays.arithmetic import WorkdayCalendar


def span(first: str, last: str) -> list[date]:
    a, b = date.fromisoformat(first), date.fromisoformat(last)
    return [a + timedelta(days=i) for i in range((b - a).days + 1)]


HOLIDAYS_2025 = {
    "元旦": span("2025-01-01", "2025-01-01"),  # 1月1日(周三)放假1天, 不调休
    "春节": span("2025-01-28", "2025-02-04"),  # 1月28日(除夕、周二)至2月4日(周二), 共8天
    "清明节": span("2025-04-04", "2025-04-06"),  # 4月4日(周五)至6日(周日), 共3天
    "劳动节": span("2025-05-01", "2025-05-05"),  # 5月1日(周四)至5日(周一), 共5天
    "端午节": span("2025-05-31", "2025-06-02"),  # 5月31日(周六)至6月2日(周一), 共3天
    "国庆节、中秋节": span("2025-10-01", "2025-10-08"),  # 10月1日(周三)至8日(周三), 共8天
}
ADJUSTED_2025 = {
    date(2025, 1, 26): "春节",  # 周日上班
    date(2025, 2, 8): "春节",  # 周六上班
    date(2025, 4, 27): "劳动节",  # 周日上班
    date(2025, 9, 28): "国庆节",  # 周日上班
    date(2025, 10, 11): "国庆节",  # 周六上班
}

HOLIDAYS_2026 = {
    "元旦": span("2026-01-01", "2026-01-03"),  # 1月1日(周四)至3日(周六), 共3天
    "春节": span("2026-02-15", "2026-02-23"),  # 2月15日(腊月二十八、周日)至23日(周一), 共9天
    "清明节": span("2026-04-04", "2026-04-06"),  # 4月4日(周六)至6日(周一), 共3天
    "劳动节": span("2026-05-01", "2026-05-05"),  # 5月1日(周五)至5日(周二), 共5天
    "端午节": span("2026-06-19", "2026-06-21"),  # 6月19日(周五)至21日(周日), 共3天
    "中秋节": span("2026-09-25", "2026-09-27"),  # 9月25日(周五)至27日(周日), 共3天
    "国庆节": span("2026-10-01", "2026-10-07"),  # 10月1日(周四)至7日(周三), 共7天
}
ADJUSTED_2026 = {
    date(2026, 1, 4): "元旦",  # 周日上班
    date(2026, 2, 14): "春节",  # 周六上班
    date(2026, 2, 28): "春节",  # 周六上班
    date(2026, 5, 9): "劳动节",  # 周六上班
    date(2026, 9, 20): "国庆节",  # 周日上班
    date(2026, 10, 10): "国庆节",  # 周六上班
}

HOLIDAY_DATES = {d for days in (*HOLIDAYS_2025.values(), *HOLIDAYS_2026.values()) for d in days}
ADJUSTED_DATES = set(ADJUSTED_2025) | set(ADJUSTED_2026)


def expected_working(d: date) -> bool:
    """The rule of the notices: listed holidays off, listed adjusted weekends on, else Mon–Fri."""
    if d in ADJUSTED_DATES:
        return True
    if d in HOLIDAY_DATES:
        return False
    return d.weekday() < 5


def hand_calendar() -> WorkdayCalendar:
    return WorkdayCalendar.build({2025, 2026}, HOLIDAY_DATES, ADJUSTED_DATES)


# A sample arrangement for 2027 in the administrators' format. Not the official notice:
# it only has to be plausible (weekday facts checked in the tests).
SAMPLE_2027 = """\
# 示例, 非官方通知
2027-01-01 元旦
2027-02-05..2027-02-12 春节
调休 2027-02-20 春节
2027-04-03..2027-04-05 清明节
调休 2027-04-25 劳动节
2027-05-01..2027-05-05 劳动节
2027-06-09 端午节
2027-09-15 中秋节
调休 2027-09-26 国庆节
2027-10-01..2027-10-07 国庆节
调休 2027-10-09 国庆节
"""

# texts of a 2027 arrangement the parser refuses, each with (part of) the message it gives
INVALID_ARRANGEMENTS = [
    ("元旦 2027-01-01", "第 1 行无法识别"),
    ("2027-01-01 元旦\n2027-02-30 春节", "第 2 行: 日期 2027-02-30 不存在"),
    ("2026-12-31 元旦", "第 1 行: 2026-12-31 不在 2027 年内"),
    ("2027-01-01 元旦\n调休 2028-01-08", "第 2 行: 2028-01-08 不在 2027 年内"),
    ("2027-02-12..2027-02-05 春节", "第 1 行: 起始日期 2027-02-12 晚于结束日期 2027-02-05"),
    ("2027-01-01", "第 1 行: 请写明节日名称"),
    ("2027-02-05..2027-02-12 春节\n2027-02-12..2027-02-13 春节", "第 2 行: 2027-02-12 与第 1 行(春节)的放假日期重叠"),
    ("2027-01-01 元旦\n调休 2027-02-15", "第 2 行: 调休上班日 2027-02-15 是星期一, 只能是星期六或星期日"),
    (
        "2027-02-05..2027-02-12 春节\n调休 2027-02-06",
        "第 2 行: 2027-02-06 已是第 1 行的放假日(春节), 不能同时是调休上班日",
    ),
    ("2027-01-01 元旦\n调休 2027-02-20\n调休 2027-02-20", "第 3 行: 调休上班日 2027-02-20 与第 2 行重复"),
    ("2027-01-01..2027-03-01 春节", "放假区间超过 31 天"),
    ("2027-01-01 元旦\n2027-02-20 调休", "第 2 行: 调休上班日请写成「调休 2027-02-20」"),
    ("调休 2027-02-20", "请至少录入一个节假日"),
    ("", "请至少录入一个节假日"),
]
