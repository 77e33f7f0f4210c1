"""Pages and API of onboarding (entities/onboarding.py) and of 忘记密码 (portal/phone_codes.py
by phone, Django's password reset views by e-mail). Public pages: 注册 and 忘记密码; the
county task force's page and API of the registrants' claims."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.views import View
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from entities.models import ClaimState, EntityClaim
from entities.onboarding import enterprise_register, entity_claim_decide
from entities.restrictions import CLAIM_DECIDERS
from portal.api import ChoiceLabelField, RestrictedReadOnlyViewSet
from portal.authentication import SESSION_BACKEND
from portal.errors import ApplicationError
from portal.mixins import RestrictedListView, RoleRequiredMixin
from portal.models import PhoneCodePurpose, mask_phone
from portal.phone_codes import password_reset_by_phone, password_reset_code_send, phone_code_send
from portal.services import audit_record
from portal.tenancy import VIEW, restrict

_INPUT = {"class": "form-control"}


def _text(label, *, max_length, autocomplete="off", inputmode=None, **kwargs):
    attrs = {**_INPUT, "autocomplete": autocomplete}
    if inputmode:
        attrs["inputmode"] = inputmode
    return forms.CharField(label=label, max_length=max_length, widget=forms.TextInput(attrs=attrs), **kwargs)


def _password(label, autocomplete="new-password"):
    return forms.CharField(
        label=label, strip=False, widget=forms.PasswordInput(attrs={**_INPUT, "autocomplete": autocomplete})
    )


class _CodeForm(forms.Form):
    """A form with a phone, a code and a new password twice; the button 获取验证码 posts it
    with action=send_code (what was typed is kept)."""

    password_fields = ("password1", "password2")

    def apply(self, exc: ApplicationError):
        for name, errors in exc.field_errors.items():
            for error in errors:
                self.add_error(name if name in self.fields else None, error)
        if not exc.field_errors:
            self.add_error(None, exc.message)

    def clean(self):
        data = super().clean()
        first, second = (data.get(name) for name in self.password_fields)
        if first and second and first != second:
            self.add_error(self.password_fields[1], "两次输入的密码不一致")
        return data


class RegisterForm(_CodeForm):
    uscc = _text("统一社会信用代码", max_length=18, help_text="18 位, 见营业执照")
    operator_name = _text("经营者(法定代表人)姓名", max_length=64, autocomplete="name")
    phone = _text("经营者手机号", max_length=11, autocomplete="tel", inputmode="numeric")
    code = _text("短信验证码", max_length=6, autocomplete="one-time-code", inputmode="numeric")
    password1 = _password("设置密码")
    password2 = _password("确认密码")


class PhoneResetForm(_CodeForm):
    password_fields = ("new_password1", "new_password2")
    phone = _text("登记的手机号", max_length=11, autocomplete="tel", inputmode="numeric")
    code = _text("短信验证码", max_length=6, autocomplete="one-time-code", inputmode="numeric")
    new_password1 = _password("新密码")
    new_password2 = _password("确认新密码")


def _send_code(request, form_class, template, send):
    """获取验证码: the form keeps what was typed (not the passwords), the phone's errors show."""
    form = form_class(initial={k: v for k, v in request.POST.items() if "password" not in k})
    phone = request.POST.get("phone", "").strip()
    status = 200
    try:
        send(phone)
    except ApplicationError as exc:
        form = form_class(data={k: v for k, v in request.POST.items() if "password" not in k})
        form.is_valid()
        form.errors.clear()
        form.apply(exc)
        status = 429 if exc.code == "throttled" else 400
    else:
        messages.info(request, f"验证码已发送至 {mask_phone(phone)}, 10 分钟内有效")
    return render(request, template, {"form": form}, status=status)


class RegisterView(View):
    """注册: the enterprise registers itself (public)."""

    template_name = "entities/onboarding/register.html"

    def get(self, request):
        if request.user.is_authenticated:
            return redirect("home")
        return render(request, self.template_name, {"form": RegisterForm()})

    def post(self, request):
        if request.POST.get("action") == "send_code":
            return _send_code(
                request,
                RegisterForm,
                self.template_name,
                lambda phone: phone_code_send(phone=phone, purpose=PhoneCodePurpose.REGISTER, request=request),
            )
        form = RegisterForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                registration = enterprise_register(
                    uscc=data["uscc"],
                    operator_name=data["operator_name"],
                    phone=data["phone"].strip(),
                    code=data["code"],
                    password=data["password1"],
                    request=request,
                )
            except ApplicationError as exc:
                form.apply(exc)
            else:
                login(request, registration.user, backend=SESSION_BACKEND)
                if registration.linked:
                    messages.success(request, "注册成功, 已关联您的经营主体")
                else:
                    messages.info(request, "注册成功。您的企业认领申请已提交, 待所在县区工作专班审核")
                return redirect("home")
        return render(request, self.template_name, {"form": form}, status=400)


class PasswordForgotView(View):
    """忘记密码: choose the phone code or the e-mail."""

    def get(self, request):
        return render(request, "registration/password_forgot.html")


class PasswordPhoneResetView(View):
    template_name = "registration/password_reset_phone.html"

    def get(self, request):
        return render(request, self.template_name, {"form": PhoneResetForm()})

    def post(self, request):
        if request.POST.get("action") == "send_code":
            return _send_code(
                request,
                PhoneResetForm,
                self.template_name,
                lambda phone: password_reset_code_send(phone=phone, request=request),
            )
        form = PhoneResetForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                password_reset_by_phone(
                    phone=data["phone"].strip(), code=data["code"], password=data["new_password1"], request=request
                )
            except ApplicationError as exc:
                form.apply(exc)
            else:
                messages.success(request, "密码已重置, 请用新密码登录")
                return redirect("login")
        return render(request, self.template_name, {"form": form}, status=400)


class PasswordEmailResetConfirmView(auth_views.PasswordResetConfirmView):
    """Django's e-mail reset, audited when the new password is set."""

    success_url = reverse_lazy("password_reset_complete")

    def form_valid(self, form):
        response = super().form_valid(form)
        audit_record(actor=form.user, action="password.reset_by_email", obj=form.user, request=self.request)
        return response


def no_membership_widget(*, request) -> dict:
    """The home page of a user without a membership: his newest claim (认领待专班审核)."""
    return {"claim": restrict(EntityClaim.objects.select_related("region"), request.user, VIEW).first()}


# --- the county task force: claims ----------------------------------------------------------------


def entity_claim_list(*, user, state: str | None = None):
    claims = restrict(EntityClaim.objects.select_related("region", "entity", "user", "decided_by"), user, VIEW)
    if state in ClaimState.values:
        claims = claims.filter(state=state)
    return claims.order_by("-created_at", "-id")


class ClaimListView(RoleRequiredMixin, RestrictedListView):
    """企业认领审核: the registrants' claims of the county, pending first."""

    allowed_roles = CLAIM_DECIDERS
    template_name = "entities/onboarding/claim_list.html"
    context_object_name = "claims"

    def select(self, *, user, params):
        return entity_claim_list(user=user, state=params.get("state", ClaimState.PENDING) or None)

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            states=ClaimState.choices, state=self.request.GET.get("state", ClaimState.PENDING), **kwargs
        )


class ClaimDecideView(RoleRequiredMixin, View):
    allowed_roles = CLAIM_DECIDERS

    def post(self, request, pk):
        approve = request.POST.get("decision") == "approve"
        try:
            entity_claim_decide(
                actor=request.user, claim_id=pk, approve=approve, reason=request.POST.get("reason", ""), request=request
            )
        except ApplicationError as exc:
            if exc.code == "not_found" and not exc.field_errors:
                raise Http404(exc.message) from exc
            messages.error(request, exc.message)
        else:
            messages.success(request, "已通过认领, 该账号已关联经营主体" if approve else "已驳回认领申请")
        return redirect("entities_claims:claim_list")


class ClaimOutput(serializers.ModelSerializer):
    state_display = ChoiceLabelField("state")
    region_code = serializers.CharField(source="region_id", allow_null=True)
    username = serializers.CharField(source="user.username")

    class Meta:
        model = EntityClaim
        fields = [
            "id",
            "uscc",
            "operator_name",
            "phone",
            "username",
            "entity",
            "region_code",
            "state",
            "state_display",
            "reason",
            "created_at",
            "decided_at",
        ]


class DecideInput(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=255, label="审核意见")


class EntityClaimViewSet(RestrictedReadOnlyViewSet):
    """企业认领申请: the county task force lists, approves and rejects registrants' claims."""

    queryset = EntityClaim.objects.select_related("region", "user").order_by("-created_at", "-id")
    serializer_class = ClaimOutput

    def _decide(self, request, pk, approve):
        body = DecideInput(data=request.data)
        body.is_valid(raise_exception=True)
        claim = entity_claim_decide(
            actor=request.user,
            claim_id=pk,
            approve=approve,
            reason=body.validated_data.get("reason", ""),
            request=request,
        )
        return Response(ClaimOutput(claim).data)

    @extend_schema(request=DecideInput, responses=ClaimOutput, summary="通过认领: 申请账号成为该经营主体的企业用户")
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        return self._decide(request, pk, True)

    @extend_schema(request=DecideInput, responses=ClaimOutput, summary="驳回认领(须填写审核意见 reason)")
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        return self._decide(request, pk, False)
