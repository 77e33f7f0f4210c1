"""Forms of the reporting pages. Amounts are typed in 万元 and stored in 元."""

from decimal import Decimal

from django import forms
from django.utils import timezone

from portal import bounds
from reporting.models import PERCENT_METRICS, BankPeriodReport, Target, TargetMetric

WAN = Decimal(10000)


class _WanField(bounds.FormDecimalField):
    """An amount typed in 万元 for a 元 column of the report (at most what the column holds)."""

    def __init__(self, label, required=True):
        super().__init__(
            label=f"{label}(万元)",
            required=required,
            field=bounds.column(BankPeriodReport, "all_loans_balance"),
            unit=WAN,
            min_value=Decimal(0),
            decimal_places=2,
        )


class _Styled(forms.Form):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            css = (
                "form-select form-select-sm"
                if isinstance(field.widget, forms.Select)
                else "form-control form-control-sm"
            )
            field.widget.attrs.setdefault("class", css)


class BankReportForm(_Styled):
    branch = forms.TypedChoiceField(label="报送机构", coerce=int)
    period = forms.CharField(
        label="报送月份", max_length=7, help_text="YYYY-MM", widget=forms.TextInput(attrs={"type": "month"})
    )
    small_business_balance = _WanField("普惠型小微企业贷款余额")
    all_loans_balance = _WanField("各项贷款余额")
    credit_loan_balance = _WanField("其中: 小微企业信用贷款余额")
    average_rate = bounds.FormDecimalField(
        label="普惠型小微企业贷款平均利率(%)",
        field=bounds.column(BankPeriodReport, "average_rate"),
        min_value=Decimal(0),
        max_value=Decimal("35.999"),
        decimal_places=3,
    )
    renewals_count = bounds.FormIntegerField(
        label="当月无还本续贷笔数", field=bounds.column(BankPeriodReport, "renewals_count"), min_value=0, required=False
    )
    renewals_amount = _WanField("当月无还本续贷金额", required=False)
    renewal_balance = _WanField("无还本续贷余额", required=False)
    note = forms.CharField(label="说明", max_length=255, required=False)

    def __init__(self, *args, branches=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["branch"].choices = list(branches)
        if not self.is_bound:
            self.initial.setdefault("period", timezone.localdate().strftime("%Y-%m"))

    def service_values(self) -> dict:
        data = self.cleaned_data
        out = {
            "branch_id": data["branch"],
            "period": data["period"],
            "note": data.get("note") or "",
            "average_rate": data["average_rate"],
            "renewals_count": data.get("renewals_count") or 0,
        }
        for name in (
            "small_business_balance",
            "all_loans_balance",
            "credit_loan_balance",
            "renewals_amount",
            "renewal_balance",
        ):
            value = data.get(name)
            out[name] = int((value or Decimal(0)) * WAN)
        return out


class TargetForm(_Styled):
    region = forms.ChoiceField(label="行政区划")
    year = bounds.FormIntegerField(label="年度", field=bounds.column(Target, "year"), min_value=2000, max_value=2100)
    metric = forms.ChoiceField(label="指标", choices=TargetMetric.choices)
    value = bounds.FormDecimalField(
        label="目标值",
        field=bounds.column(Target, "value"),
        unit=WAN,
        min_value=Decimal("0.01"),
        decimal_places=2,
        help_text="金额填万元(如 150000 即 15 亿元), 占比填百分数(如 25 即 25%)",
    )
    note = forms.CharField(label="依据", max_length=255, required=False)

    def __init__(self, *args, regions=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["region"].choices = list(regions)
        if not self.is_bound:
            self.initial.setdefault("year", timezone.localdate().year)

    def service_values(self) -> dict:
        data = self.cleaned_data
        value = data["value"] if data["metric"] in PERCENT_METRICS else data["value"] * WAN
        return {
            "region_code": data["region"],
            "year": data["year"],
            "metric": data["metric"],
            "value": value,
            "note": data.get("note") or "",
        }
