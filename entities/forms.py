from __future__ import annotations

from django import forms
from django.db import models

from entities.models import CREDIT_FLAG_LABELS, CREDIT_FLAGS, EntityType, MarketEntity, RegisterStatus, TaxStatus, Tier

FINANCIAL_INPUT = ("financial_year", "annual_revenue", "total_assets", "net_assets", "employees", "social_insurance_headcount", "tax_status", "has_tax_record")
MAX_UPLOAD_BYTES = 60 * 1024 * 1024

_BOOLEAN_CHOICES = [("", "未知"), ("true", "是"), ("false", "否")]


def _nullable_boolean(label: str) -> forms.TypedChoiceField:
    return forms.TypedChoiceField(
        label=label, required=False, choices=_BOOLEAN_CHOICES,
        coerce=lambda v: {"true": True, "false": False}.get(v), empty_value=None,
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
    if name == "tier_imported":
        return forms.ChoiceField(label=label, choices=[("", "未标记")] + Tier.choices, required=False)
    if name == "tax_status":
        return forms.ChoiceField(label=label, choices=[("", "未知")] + TaxStatus.choices, required=False)
    if name == "data_shared_with_banks":
        return forms.BooleanField(label=label, required=False, help_text="同意向为本地区服务的银行共享本主体的登记、经营和信用信息")
    if isinstance(model_field, models.BooleanField):
        return _nullable_boolean(label)
    if isinstance(model_field, (models.BigIntegerField, models.PositiveIntegerField, models.PositiveSmallIntegerField)):
        return forms.IntegerField(label=label, required=False, min_value=0)
    if isinstance(model_field, models.DateField):
        return forms.DateField(label=label, required=False, widget=forms.DateInput(attrs={"type": "date"}))
    return forms.CharField(label=label, max_length=getattr(model_field, "max_length", None) or 255, required=name == "name")


class EntityEditForm(forms.Form):
    """The fields the actor may change (services.editable_fields), initialised from the entity."""

    def __init__(self, *args, entity: MarketEntity, fields: tuple[str, ...], **kwargs):
        super().__init__(*args, **kwargs)
        self.entity = entity
        for name in fields:
            if name in FINANCIAL_INPUT:
                continue  # financial years come from the register import (or the API)
            field = _field_for(name)
            self.fields[name] = field
            value = getattr(entity, MarketEntity._meta.get_field(name).attname)
            if isinstance(field, forms.TypedChoiceField) and field.choices == _BOOLEAN_CHOICES:
                value = {True: "true", False: "false"}.get(value, "")
            self.initial[name] = "" if value is None and isinstance(field, forms.CharField) else value
        for field in self.fields.values():
            css = "form-check-input" if isinstance(field, forms.BooleanField) else ("form-select" if isinstance(field, forms.ChoiceField) else "form-control")
            field.widget.attrs.setdefault("class", css)

    def changed_values(self) -> dict:
        """Only what the user changed, so an unchanged field is never 'written'."""
        return {name: self.cleaned_data[name] for name in self.changed_data}


class CreditRepairForm(forms.Form):
    item = forms.CharField(label="修复事项", max_length=255)
    flag = forms.ChoiceField(label="涉及信用项(修复后清除)", required=False, choices=[("", "不涉及")] + [(f, CREDIT_FLAG_LABELS[f]) for f in CREDIT_FLAGS])
    repaired_on = forms.DateField(label="修复日期", widget=forms.DateInput(attrs={"type": "date"}))
    repaired_by = forms.CharField(label="修复机关", max_length=128)
    note = forms.CharField(label="说明", required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.widget.attrs.setdefault("class", "form-select" if isinstance(field, forms.ChoiceField) else "form-control")


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
