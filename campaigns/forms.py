"""The campaign's page forms; the services check everything again."""

from __future__ import annotations

from django import forms

from campaigns.models import Campaign, TargetSource
from matching.models import BASIC_CRITERIA, VisitChannel
from portal import bounds


class CampaignForm(forms.Form):
    name = forms.CharField(label="活动名称", max_length=100)
    deadline = forms.DateField(
        label="摸排截止日期", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text="各县区在此日期前对辖区内小微企业融资需求摸排一遍",
    )  # fmt: skip
    counties = forms.MultipleChoiceField(label="覆盖县区", widget=forms.CheckboxSelectMultiple, choices=())
    note = forms.CharField(label="活动要求", required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))
    service_fields = {"county_codes": "counties"}

    def __init__(self, *args, counties=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["counties"].choices = [(c.code, c.name) for c in counties]


class CampaignEditForm(CampaignForm):
    """修改活动: the create form without the counties (they stay), with the version it was drawn from."""

    version = bounds.FormIntegerField(widget=forms.HiddenInput, field=bounds.column(Campaign, "version"), min_value=0)
    service_fields = {"version": None}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        del self.fields["counties"]
        self.fields[
            "deadline"
        ].help_text = "草稿的截止日期已过时, 须先修改截止日期才能启动; 进行中的活动修改后, 走访期限随之调整"


class ImportForm(forms.Form):
    source = forms.ChoiceField(
        label="名单来源", choices=[(v, label) for v, label in TargetSource.choices if v != TargetSource.REGISTER]
    )
    source_label = forms.CharField(label="来源说明(选填)", required=False, max_length=64)
    file = forms.FileField(
        label="名单文件(xlsx 或 csv)", help_text="第 1 行为表头: 统一社会信用代码(必填)、来源说明(选填)"
    )


class VisitForm(forms.Form):
    """登记走访 of one assigned target, with the 重点走访 record when a clear need was found."""

    visited_on = forms.DateField(label="走访日期", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    channel = forms.ChoiceField(label="走访方式", choices=VisitChannel.choices, initial=VisitChannel.ON_SITE)
    people = forms.CharField(label="走访人员", max_length=255)
    findings = forms.CharField(
        label="走访情况", required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 2})
    )
    need_found = forms.BooleanField(label="发现明确融资需求(填写下方重点走访记录)", required=False)
    basic_situation = forms.CharField(
        label="企业基本情况", required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 2})
    )
    operation = forms.CharField(
        label="经营状况", required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 2})
    )
    need_amount_wan = forms.DecimalField(
        label="融资需求(万元)", required=False, min_value=0.01, max_value=10000, decimal_places=2
    )
    need_term_months = forms.IntegerField(label="期限(月)", required=False, min_value=1, max_value=360)
    loan_purpose = forms.CharField(label="真实贷款用途", required=False, max_length=255)
    service_fields = {"need_amount": "need_amount_wan"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for key, label in BASIC_CRITERIA.items():
            self.fields[f"criteria_{key}"] = forms.BooleanField(label=label, required=False)
            self.fields[f"evidence_{key}"] = forms.CharField(label=f"{label}依据", required=False, max_length=255)

    def criteria_fields(self):
        return [(self[f"criteria_{key}"], self[f"evidence_{key}"]) for key in BASIC_CRITERIA]

    def service_data(self) -> dict:
        data = self.cleaned_data
        amount = data.get("need_amount_wan")
        criteria = {}
        if data["need_found"]:
            criteria = {
                key: {"met": data[f"criteria_{key}"], "evidence": data[f"evidence_{key}"]} for key in BASIC_CRITERIA
            }
        return {
            "visited_on": data["visited_on"],
            "channel": data["channel"],
            "people": data["people"],
            "findings": data["findings"],
            "need_found": data["need_found"],
            "basic_situation": data["basic_situation"],
            "operation": data["operation"],
            "need_amount": int(amount * 10000) if amount else None,
            "need_term_months": data.get("need_term_months"),
            "loan_purpose": data["loan_purpose"],
            "basic_criteria": criteria,
        }
