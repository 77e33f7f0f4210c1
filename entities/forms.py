from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django import forms
from django.db import models
from django.utils import timezone

from entities import renewals as renewal_policy
from entities.models import (
    BOOLEAN_CREDIT_FLAGS,
    COUNT_CREDIT_FLAGS,
    CREDIT_FLAG_LABELS,
    CREDIT_FLAGS,
    EntityType,
    FinancialYear,
    HonorKind,
    MarketEntity,
    RegisterStatus,
    TaxStatus,
    Tier,
)
from entities.personal_data import PERSONAL_FIELDS, masked
from entities.renewals import RefusalReason
from entities.services import MAX_COUNT, MAX_MONEY, MAX_SMALL_COUNT
from portal import bounds
from portal.forms import apply_application_error

FINANCIAL_INPUT = (
    "financial_year",
    "annual_revenue",
    "total_assets",
    "net_assets",
    "employees",
    "social_insurance_headcount",
    "tax_status",
    "has_tax_record",
)
MAX_UPLOAD_BYTES = 60 * 1024 * 1024

_BOOLEAN_CHOICES = [("", "未知"), ("true", "是"), ("false", "否")]


def _nullable_boolean(label: str) -> forms.TypedChoiceField:
    return forms.TypedChoiceField(
        label=label,
        required=False,
        choices=_BOOLEAN_CHOICES,
        coerce=lambda v: {"true": True, "false": False}.get(v),
        empty_value=None,
    )


def _field_for(name: str) -> forms.Field:
    model_field = MarketEntity._meta.get_field(name)
    label = str(model_field.verbose_name)
    if name == "region":
        return forms.CharField(label="行政区划代码(县级)", max_length=6)
    if name == "township":
        return forms.CharField(label="乡镇(街道)代码", max_length=12, required=False)
    if name == "industry":
        return forms.CharField(label="行业代码(GB/T 4754-2017)", max_length=5, required=False)
    if name == "entity_type":
        return forms.ChoiceField(label=label, choices=EntityType.choices)
    if name == "register_status":
        return forms.ChoiceField(label=label, choices=RegisterStatus.choices)
    if name == "tax_status":
        return forms.ChoiceField(label=label, choices=[("", "未知")] + TaxStatus.choices, required=False)
    if model_field.choices:  # a coded field (国籍, …) is a choice of its codes, never free text
        return forms.ChoiceField(label=label, choices=[("", "未知"), *model_field.choices], required=False)
    if name == "data_shared_with_banks":
        return forms.BooleanField(
            label=label, required=False, help_text="同意向为本地区服务的银行共享本主体的登记、经营和信用信息"
        )
    if name == "tobacco_licence_held":
        field = _nullable_boolean(label)
        field.help_text = "烟商E贷仅面向持有有效许可证的烟草零售户; 选“否”将清除许可证号和有效期"
        return field
    if name == "tobacco_licence_number":
        return forms.CharField(label=label, max_length=40, required=False, help_text="6-32 位数字或字母")
    if name == "tobacco_licence_valid_until":
        return forms.DateField(
            label=label, required=False, help_text="含当日", widget=forms.DateInput(attrs={"type": "date"})
        )
    if isinstance(model_field, models.BooleanField):
        return _nullable_boolean(label)
    if isinstance(model_field, models.BigIntegerField):
        return forms.IntegerField(label=label, required=False, min_value=0, max_value=MAX_MONEY)
    if isinstance(model_field, models.PositiveSmallIntegerField):
        return forms.IntegerField(label=label, required=False, min_value=0, max_value=MAX_SMALL_COUNT)
    if isinstance(model_field, models.PositiveIntegerField):
        return forms.IntegerField(label=label, required=False, min_value=0, max_value=MAX_COUNT)
    if isinstance(model_field, models.DateField):
        return forms.DateField(label=label, required=False, widget=forms.DateInput(attrs={"type": "date"}))
    return forms.CharField(
        label=label, max_length=getattr(model_field, "max_length", None) or 255, required=name == "name"
    )


class EntityEditForm(forms.Form):
    """The fields the actor may change (services.editable_fields), initialised from the entity.

    Personal numbers (身份证号, 手机号) are never put in the page: their box starts empty and
    shows the stored value masked; left blank it keeps the stored value, a new value replaces
    it, and 清除 removes it. The audited reveal on the entity page is the only way to read one."""

    def __init__(self, *args, entity: MarketEntity, fields: tuple[str, ...], **kwargs):
        super().__init__(*args, **kwargs)
        self.entity = entity
        for name in fields:
            if name in FINANCIAL_INPUT or name in CREDIT_FLAGS:
                # own pages: financials by year (FinancialYearForm), credit with source and date (CreditFlagsForm)
                continue
            field = _field_for(name)
            self.fields[name] = field
            if name in PERSONAL_FIELDS:
                self._personal_field(name, field)
                continue
            value = getattr(entity, MarketEntity._meta.get_field(name).attname)
            if isinstance(field, forms.TypedChoiceField) and field.choices == _BOOLEAN_CHOICES:
                value = {True: "true", False: "false"}.get(value, "")
            self.initial[name] = "" if value is None and isinstance(field, forms.CharField) else value
        for field in self.fields.values():
            css = (
                "form-check-input"
                if isinstance(field, forms.BooleanField)
                else ("form-select" if isinstance(field, forms.ChoiceField) else "form-control")
            )
            field.widget.attrs.setdefault("class", css)

    def _personal_field(self, name: str, field: forms.Field) -> None:
        stored = getattr(self.entity, name)
        field.required = False
        field.widget = forms.TextInput(
            attrs={"autocomplete": "off", "placeholder": masked(name, stored) if stored else "未登记"}
        )
        field.help_text = (
            f"已登记 {masked(name, stored)}; 留空保持不变, 填写新号码则替换" if stored else "未登记; 填写则登记"
        )
        self.initial[name] = ""  # the stored value never goes into the page
        if stored:
            self.fields[f"{name}_clear"] = forms.BooleanField(
                label=f"清除已登记的{PERSONAL_FIELDS[name].removeprefix('经营者')}", required=False
            )

    def clean(self):
        data = super().clean()
        for name in PERSONAL_FIELDS:
            if data.get(f"{name}_clear") and (data.get(name) or "").strip():
                self.add_error(f"{name}_clear", "填写了新号码时不能同时清除")
        return data

    def changed_values(self) -> dict:
        """Only what the user changed, so an unchanged field is never 'written'. A blank
        personal number keeps the stored one; 清除 removes it."""
        values = {}
        for name in self.changed_data:
            if name.endswith("_clear") and name.removesuffix("_clear") in PERSONAL_FIELDS:
                if self.cleaned_data[name]:
                    values[name.removesuffix("_clear")] = ""
                continue
            values[name] = self.cleaned_data[name]
        return values


def _style(form: forms.Form) -> None:
    # tap-target: every box is at least 44 px high, so it can be hit on a phone (portal.css)
    for field in form.fields.values():
        field.widget.attrs.setdefault(
            "class", ("form-select" if isinstance(field, forms.ChoiceField) else "form-control") + " tap-target"
        )


def _date(label: str, *, required: bool = True, **kwargs) -> forms.DateField:
    return forms.DateField(
        label=label,
        required=required,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": "应为日期, 格式 YYYY-MM-DD"},
        **kwargs,
    )


def _not_future(value: dt.date | None) -> dt.date | None:
    if value is not None and value > timezone.localdate():
        raise forms.ValidationError("日期不能晚于今天")
    return value


def _max_year(value: int) -> None:
    if value > timezone.localdate().year:
        raise forms.ValidationError(f"年度不能晚于 {timezone.localdate().year} 年")


class ServiceErrorsMixin:
    """Put a service's ApplicationError next to the fields it names (else above the form)."""

    service_names: dict[str, str] = {}

    def add_service_error(self, exc) -> None:
        apply_application_error(self, exc, self.service_names)


class CreditRepairForm(ServiceErrorsMixin, forms.Form):
    item = forms.CharField(label="修复事项", max_length=255)
    flag = forms.ChoiceField(
        label="涉及信用项(修复后清除)",
        required=False,
        choices=[("", "不涉及")] + [(f, CREDIT_FLAG_LABELS[f]) for f in CREDIT_FLAGS],
    )
    repaired_on = _date("修复日期", validators=[_not_future])
    repaired_by = forms.CharField(label="修复机关", max_length=128)
    note = forms.CharField(label="说明", required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _style(self)


class HonorGrantForm(ServiceErrorsMixin, forms.Form):
    """名特优新 认定: the title and its validity period (valid through 有效期至 inclusive)."""

    kind = forms.ChoiceField(label="称号", choices=[("", "请选择")] + HonorKind.choices)
    valid_from = _date("有效期自", required=False, help_text="不填表示自认定之日起")
    valid_until = _date("有效期至", help_text="含当日")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _style(self)

    def clean(self):
        data = super().clean()
        start, end = data.get("valid_from"), data.get("valid_until")
        if start and end and end < start:
            self.add_error("valid_until", "有效期至不能早于有效期自")
        return data


class TierMarkForm(ServiceErrorsMixin, forms.Form):
    """标记三型: the mark of the provincial 名录库 (city and provincial regulators)."""

    tier = forms.ChoiceField(
        label="三型标记", choices=[("", "撤销标记(不在名录库三型名单中)")] + Tier.choices, required=False
    )
    marked_on = _date("标记日期", required=False, validators=[_not_future], help_text="不填为今天")
    note = forms.CharField(
        label="说明",
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="依据, 例如名录库批次; 撤销标记时必填",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _style(self)


class HonorProposalForm(ServiceErrorsMixin, forms.Form):
    """提出名特优新认定申请 (county task force, city regulator): the province decides."""

    kind = forms.ChoiceField(label="称号", choices=[("", "请选择")] + HonorKind.choices)
    valid_from = _date("拟定有效期自", required=False, help_text="不填表示自认定之日起")
    valid_until = _date("拟定有效期至", help_text="含当日")
    reason = forms.CharField(label="申请理由", max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _style(self)

    def clean(self):
        data = super().clean()
        start, end = data.get("valid_from"), data.get("valid_until")
        if start and end and end < start:
            self.add_error("valid_until", "有效期至不能早于有效期自")
        return data


class HonorDecisionForm(ServiceErrorsMixin, forms.Form):
    """省市场监管局 审核名特优新申请: approve or reject (a rejection needs a note)."""

    decision = forms.ChoiceField(label="审核结果", choices=[("approve", "批准"), ("reject", "不批准")])
    note = forms.CharField(
        label="审核意见",
        required=False,
        max_length=2000,
        widget=forms.TextInput(attrs={"placeholder": "审核意见(不批准时必填)"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _style(self)


class FinancialYearForm(ServiceErrorsMixin, forms.Form):
    """One year of financials; an empty box means unknown (never zero)."""

    service_names = {"financial_year": "year"}

    year = bounds.FormIntegerField(
        label="年度", min_value=1990, validators=[_max_year], field=bounds.column(FinancialYear, "year")
    )
    annual_revenue = forms.IntegerField(label="年营业收入(元)", required=False, min_value=0, max_value=MAX_MONEY)
    total_assets = forms.IntegerField(label="资产总额(元)", required=False, min_value=0, max_value=MAX_MONEY)
    net_assets = forms.IntegerField(label="净资产(元)", required=False, min_value=0, max_value=MAX_MONEY)
    employees = forms.IntegerField(label="从业人数", required=False, min_value=0, max_value=MAX_COUNT)
    social_insurance_headcount = forms.IntegerField(label="参保人数", required=False, min_value=0, max_value=MAX_COUNT)
    tax_status = forms.ChoiceField(label="纳税人类型", required=False, choices=[("", "未知")] + TaxStatus.choices)
    has_tax_record = _nullable_boolean("有纳税记录")

    def __init__(self, *args, record: FinancialYear | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        today = timezone.localdate()
        self.fields["year"].widget.attrs.update({"min": 1990, "max": today.year})
        for name in ("annual_revenue", "total_assets", "net_assets"):
            self.fields[name].widget.attrs.update({"inputmode": "numeric", "placeholder": "元, 不填表示未知"})
        if record is not None:
            self.initial.update({f: getattr(record, f) for f in self.fields if f != "has_tax_record"}, year=record.year)
            self.initial["has_tax_record"] = {True: "true", False: "false"}.get(record.has_tax_record, "")
        elif not self.is_bound:
            self.initial.setdefault("year", today.year - 1)
        _style(self)

    def service_values(self) -> dict:
        return {
            name: (self.cleaned_data[name] or None) if name == "tax_status" else self.cleaned_data[name]
            for name in self.fields
            if name != "year"
        }


class CreditFlagsForm(ServiceErrorsMixin, forms.Form):
    """Credit facts as read in a source on a date; initialised from the entity's current values."""

    source = forms.CharField(label="信息来源", max_length=128, help_text="例如: 人民银行征信报告、信用中国、人民法院")
    observed_on = _date("信息日期", validators=[_not_future])

    def __init__(self, *args, entity: MarketEntity, **kwargs):
        super().__init__(*args, **kwargs)
        for flag in BOOLEAN_CREDIT_FLAGS:
            self.fields[flag] = _nullable_boolean(CREDIT_FLAG_LABELS[flag])
            self.initial[flag] = {True: "true", False: "false"}.get(getattr(entity, flag), "")
        for flag in COUNT_CREDIT_FLAGS:
            self.fields[flag] = forms.IntegerField(
                label=CREDIT_FLAG_LABELS[flag], required=False, min_value=0, max_value=999, help_text="不填表示未知"
            )
            self.initial[flag] = getattr(entity, flag)
        if not self.is_bound:
            self.initial.setdefault("observed_on", timezone.localdate())
        _style(self)

    def clean(self):
        data = super().clean()
        consecutive, total = data.get("overdue_consecutive_24m"), data.get("overdue_total_24m")
        if consecutive is not None and total is not None and consecutive > total:
            self.add_error("overdue_consecutive_24m", "连续逾期期数不能大于累计逾期期数")
        return data

    def flag_values(self) -> dict:
        return {flag: self.cleaned_data[flag] for flag in CREDIT_FLAGS}


class BankRelationshipForm(ServiceErrorsMixin, forms.Form):
    """本行借贷往来: what the bank's own records say about this customer (blank = unknown)."""

    months_borrowed = forms.IntegerField(
        label="在本行累计用款期限(月)", required=False, min_value=0, max_value=1200, help_text="不填表示未知"
    )
    credit_line = forms.IntegerField(
        label="在本行授信额度(元)", required=False, min_value=0, max_value=MAX_MONEY, help_text="不填表示未知"
    )
    non_performing = _nullable_boolean("在本行有不良贷款记录")
    overdue_12m = forms.IntegerField(
        label="最近 12 个月在本行逾期次数",
        required=False,
        min_value=0,
        max_value=MAX_SMALL_COUNT,
        help_text="不填表示未知",
    )

    def __init__(self, *args, relationship=None, **kwargs):
        super().__init__(*args, **kwargs)
        if relationship is not None and not self.is_bound:
            for name in ("months_borrowed", "credit_line", "overdue_12m"):
                self.initial[name] = getattr(relationship, name)
            self.initial["non_performing"] = {True: "true", False: "false"}.get(relationship.non_performing, "")
        _style(self)

    def values(self) -> dict:
        return {
            name: self.cleaned_data[name]
            for name in ("months_borrowed", "credit_line", "non_performing", "overdue_12m")
        }


class RegisterUploadForm(forms.Form):
    file = forms.FileField(label="名录库文件(CSV UTF-8 或 XLSX)")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["file"].widget.attrs.update({"class": "form-control", "accept": ".csv,.xlsx"})

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(f"文件不能超过 {MAX_UPLOAD_BYTES // 1024 // 1024} MB")
        if not upload.name.lower().endswith((".csv", ".xlsx")):
            raise forms.ValidationError("只支持 CSV 或 XLSX 文件")
        return upload


class RenewalForm(ServiceErrorsMixin, forms.Form):
    """登记续贷需求: a loan of the entity coming due (amount typed in 万元, stored in 元)."""

    service_names = {"amount": "amount_wan"}

    bank_code = forms.ChoiceField(label="贷款银行", required=False)
    amount_wan = forms.DecimalField(
        label="到期贷款金额(万元)", min_value=Decimal("0.01"), max_digits=14, decimal_places=2
    )
    due_date = forms.DateField(label="到期日", widget=forms.DateInput(attrs={"type": "date"}))
    wants_no_repayment = forms.TypedChoiceField(
        label="是否申请无还本续贷",
        choices=[("true", "是, 申请无还本续贷"), ("false", "否, 其他方式续贷或还款")],
        coerce=lambda value: value == "true",
        initial="true",
    )
    note = forms.CharField(label="说明", required=False, max_length=255)

    def __init__(self, *args, banks=None, **kwargs):
        super().__init__(*args, **kwargs)
        if banks is None:  # a bank user records at his own bank
            del self.fields["bank_code"]
        else:
            self.fields["bank_code"].choices = [("", "请选择")] + list(banks)
            self.fields["bank_code"].required = True
        _style(self)

    def values(self) -> dict:
        data = self.cleaned_data
        return {
            "bank_code": data.get("bank_code") or None,
            "amount": int(data["amount_wan"] * 10_000),
            "due_date": data["due_date"],
            "wants_no_repayment": data["wants_no_repayment"],
            "note": data["note"],
        }


class RenewalOutcomeForm(forms.Form):
    action = forms.ChoiceField(label="办理结果", choices=[(a.value, a.label) for a in renewal_policy.OUTCOMES])
    refusal_reason = forms.ChoiceField(
        label="拒绝原因", required=False, choices=[("", "(拒绝续贷时选择)")] + RefusalReason.choices
    )
    note = forms.CharField(label="说明", required=False, max_length=255)
