"""Forms of the portal's own pages."""

from django import forms
from django.conf import settings
from django.contrib.auth.validators import UnicodeUsernameValidator

from portal import bounds
from portal.audit_log import action_choices
from portal.models import Role


def apply_application_error(form, error, aliases: dict[str, str | None] | None = None) -> None:
    """A service's refusal (portal.errors.ApplicationError) as the errors of the bound `form`,
    for the page to be drawn again with what was typed (templates/portal/_field.html): each
    field error beside the form's field of that name, or of its alias (the service's `amount`
    is the form's `amount_wan`; an alias None puts it above the form); the message, and field
    errors of no field of the form, above the form, each said once."""
    aliases = {**getattr(form, "service_fields", {}), **(aliases or {})}
    said = set()
    for name, problems in (error.field_errors or {}).items():
        field = aliases.get(name, name)
        field = field if field in form.fields else None
        for problem in problems:
            if (field, problem) not in said:
                said.add((field, problem))
                form.add_error(field, problem)
    if error.message not in {problem for _, problem in said}:
        form.add_error(None, error.message)


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        label="名称(对接的系统)",
        max_length=64,
        widget=forms.TextInput(
            attrs={"placeholder": "如: 信贷管理系统", "autocomplete": "off", "class": "form-control tap-target"}
        ),
    )
    days = bounds.FormIntegerField(
        label="有效期(天)",
        min_value=1,
        max_value=settings.API_TOKEN_MAX_DAYS,
        initial=settings.API_TOKEN_DEFAULT_DAYS,
        help_text=f"1 至 {settings.API_TOKEN_MAX_DAYS} 天, 到期后需重新签发",
        widget=forms.NumberInput(attrs={"class": "form-control tap-target", "inputmode": "numeric"}),
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


class UserForm(forms.Form):
    """用户管理's invite and edit form (portal/users.py checks and saves): the organisation and
    role drop-downs hold only what the administrator may choose."""

    username = forms.CharField(
        label="用户名",
        max_length=150,
        help_text="登录时使用, 字母、数字和 @ . + - _",
        validators=[UnicodeUsernameValidator(message="用户名只能包含字母、数字和 @ . + - _")],
    )
    full_name = forms.CharField(label="姓名", max_length=150)
    phone = forms.RegexField(
        label="手机号",
        regex=r"^1\d{10}$",
        max_length=20,
        required=False,
        error_messages={"invalid": "请输入 11 位手机号码"},
    )
    email = forms.EmailField(label="电子邮箱", required=False, error_messages={"invalid": "请输入有效的电子邮箱地址"})
    organisation = forms.ChoiceField(label="所属机构")
    role = forms.ChoiceField(label="角色")
    version = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, organisations=(), roles=(), editing=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organisation"].choices = [("", "请选择机构")] + [
            (str(o.pk), f"{o.name}({o.get_kind_display()})") for o in organisations
        ]
        self.fields["role"].choices = [("", "请选择角色")] + [(r, Role(r).label) for r in roles]
        if editing:
            del self.fields["username"]
        for field in self.fields.values():
            verb = "选择" if isinstance(field, forms.ChoiceField) else "填写"
            field.error_messages["required"] = f"请{verb}{field.label}"
            field.error_messages["invalid_choice"] = f"请选择有效的{field.label}"
        for name, field in self.fields.items():
            css = "form-select" if isinstance(field, forms.ChoiceField) else "form-control"
            invalid = " is-invalid" if self.is_bound and name in self.errors else ""
            field.widget.attrs["class"] = css + " tap-target" + invalid
        self.fields["phone"].widget.attrs.update(inputmode="tel", placeholder="11 位手机号")

    def add_service_errors(self, error) -> None:
        apply_application_error(self, error)
        for name in self.errors:
            if name in self.fields:
                self.fields[name].widget.attrs["class"] += " is-invalid"


class ContactForm(forms.Form):
    """联系人 of a bank branch or a 职能部门 (portal.services.organisation_contact_update)."""

    contact_name = forms.CharField(label="联系人", max_length=32)
    contact_phone = forms.CharField(label="联系电话", max_length=20, help_text="手机号或区号-座机号")
