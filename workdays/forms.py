from django import forms

from portal import bounds

from .arrangement import MAX_YEAR, MIN_YEAR
from .models import CalendarYear

DAYS_PLACEHOLDER = "2027-01-01 元旦\n2027-02-06..2027-02-13 春节\n调休 2027-02-14 春节"


class CalendarYearForm(forms.Form):
    year = bounds.FormIntegerField(
        label="年份", field=bounds.column(CalendarYear, "year"), min_value=MIN_YEAR, max_value=MAX_YEAR
    )
    days = forms.CharField(
        label="放假与调休安排",
        error_messages={"required": "请至少录入一个节假日 (如元旦)"},
        widget=forms.Textarea(attrs={"rows": 16, "class": "font-monospace", "placeholder": DAYS_PLACEHOLDER}),
        help_text="每行一项: 单日「2027-01-01 元旦」, 区间「2027-02-06..2027-02-13 春节」(含首尾), "
        "调休上班日「调休 2027-02-14」(只能是周六或周日)。以 # 开头的行为注释。",
    )
    notes = forms.CharField(
        label="依据 / 说明",
        required=False,
        max_length=500,
        help_text="如: 国务院办公厅关于 2027 年部分节假日安排的通知",
    )
    replace = forms.BooleanField(label="替换已录入的安排", required=False)
