"""Forms of the portal's own pages."""

from django import forms
from django.conf import settings

from portal import bounds
from portal.audit_log import action_choices


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        label="名称(对接的系统)",
        max_length=64,
        widget=forms.TextInput(attrs={"placeholder": "如: 信贷管理系统", "autocomplete": "off"}),
    )
    days = bounds.FormIntegerField(
        label="有效期(天)",
        min_value=1,
        max_value=settings.API_TOKEN_MAX_DAYS,
        initial=settings.API_TOKEN_DEFAULT_DAYS,
        help_text=f"1 至 {settings.API_TOKEN_MAX_DAYS} 天, 到期后需重新签发",
    )


class ApiTokenRevokeForm(forms.Form):
    reason = forms.CharField(label="吊销原因(可选)", max_length=255, required=False)


class AuditFilterForm(forms.Form):
    """The audit log's filters, for the page, its xlsx export and the API alike: a date range
    (Beijing dates), the user, the action (its Chinese name; 全部导出 is every export), the kind
    of object and the object's name or number."""

    date_from = forms.DateField(label="起始日期", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label="截止日期", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    actor = forms.ChoiceField(label="操作人", required=False)
    action = forms.ChoiceField(label="动作", required=False)
    object_type = forms.ChoiceField(label="对象类型", required=False)
    q = forms.CharField(
        label="对象",
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"placeholder": "对象名称或编号"}),
    )

    def __init__(self, *args, actors=(), object_types=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["actor"].choices = [("", "全部操作人"), *actors]
        self.fields["action"].choices = [("", "全部动作"), ("*.export", "全部导出"), *action_choices()]
        self.fields["object_type"].choices = [("", "全部对象类型"), *object_types]
        for name, field in self.fields.items():
            css = "form-select" if isinstance(field, forms.ChoiceField) else "form-control"
            field.widget.attrs["class"] = css + (" is-invalid" if self.is_bound and name in self.errors else "")

    def filters(self) -> dict:
        """The filters given, as portal.selectors.audit_event_list takes them (call after
        is_valid(); an empty filter does not filter)."""
        return {name: value for name, value in self.cleaned_data.items() if value}

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and end < start:
            self.add_error("date_to", "截止日期不能早于起始日期")
        return data
