"""Forms of the portal's own pages."""

from django import forms
from django.conf import settings

from portal import bounds


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
