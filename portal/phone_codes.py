"""Verification codes sent by SMS: lifecycle.

1. `phone_code_send` issues a six-digit code for a phone number and a purpose (企业注册, 找回
   密码), after the rate limits (per phone number and per client address, portal/throttling.py).
   A new code replaces the earlier unused ones of the same number and purpose. Only the code's
   hash is stored (`make_password`); the text goes out through the SMS backend (portal/sms.py)
   after commit.
2. `phone_code_verify` checks a typed code against the newest unused code: a code expires
   after CODE_TTL and allows MAX_ATTEMPTS wrong guesses (each one is committed, so a guesser
   cannot undo it); then a new code must be asked for.
3. The service the code unlocks calls `phone_code_consume` inside its own transaction: a code
   is used once.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets

from django.contrib.auth.hashers import check_password, make_password
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from portal.errors import ApplicationError
from portal.models import PhoneCode, PhoneCodePurpose, UserPhone
from portal.services import audit_record, client_ip
from portal.sms import send_sms
from portal.throttling import SmsIpThrottle, SmsPhoneThrottle

CODE_TTL = dt.timedelta(minutes=10)
MAX_ATTEMPTS = 5
PHONE_RE = re.compile(r"^1[3-9]\d{9}$")
PHONE_MESSAGE = "请输入 11 位手机号码"
THROTTLED_MESSAGE = "获取验证码过于频繁, 请稍后再试"
EXPIRED_MESSAGE = "验证码已失效, 请重新获取"
TOO_MANY_MESSAGE = "验证码错误次数过多, 请重新获取"
WRONG_MESSAGE = "验证码不正确"


def valid_phone(phone: str) -> bool:
    return bool(PHONE_RE.match(phone or ""))


def _code_error(message: str):
    return ApplicationError(message, field_errors={"code": [message]}, code="invalid_code")


def phone_code_send(*, phone: str, purpose: str, request, deliver: bool = True) -> None:
    """Issue a code for `phone` (`deliver=False`: a number the purpose does not know, e.g. a
    password reset for an unknown number: the limits count and the answer is the same, but
    nothing is stored or sent)."""
    if not valid_phone(phone):
        raise ApplicationError(PHONE_MESSAGE, field_errors={"phone": [PHONE_MESSAGE]}, code="invalid")
    purpose = PhoneCodePurpose(purpose)
    if not (SmsIpThrottle().allow_request(request, None) and SmsPhoneThrottle(phone).allow_request(request, None)):
        raise ApplicationError(THROTTLED_MESSAGE, field_errors={"phone": [THROTTLED_MESSAGE]}, code="throttled")
    if not deliver:
        return
    with transaction.atomic():
        now = timezone.now()
        PhoneCode.objects.filter(phone=phone, purpose=purpose, used_at__isnull=True, expires_at__gt=now).update(
            expires_at=now
        )
        code = f"{secrets.randbelow(10**6):06d}"
        phone_code = PhoneCode.objects.create(
            phone=phone,
            purpose=purpose,
            code_hash=make_password(code),
            created_at=now,
            expires_at=now + CODE_TTL,
            ip_address=client_ip(request),
        )
        audit_record(
            actor=None, action="phone_code.send", obj=phone_code, after={"purpose": purpose.value}, request=request
        )
        minutes = int(CODE_TTL.total_seconds() // 60)
        send_sms(
            phone, f"【政银企融资对接平台】您的{purpose.label}验证码为 {code}, {minutes} 分钟内有效。请勿告诉他人。"
        )


def phone_code_verify(*, phone: str, purpose: str, code: str) -> PhoneCode:
    """The newest unused code of `phone` for `purpose` if `code` matches it; otherwise an
    ApplicationError on the field "code" (a wrong guess is counted and committed)."""
    with transaction.atomic():
        phone_code = (
            PhoneCode.objects.select_for_update()
            .filter(phone=phone, purpose=purpose, used_at__isnull=True)
            .order_by("-created_at", "-id")
            .first()
        )
        if phone_code is None or phone_code.expires_at <= timezone.now():
            error = EXPIRED_MESSAGE
        elif phone_code.attempts >= MAX_ATTEMPTS:
            error = TOO_MANY_MESSAGE
        elif not check_password((code or "").strip(), phone_code.code_hash):
            phone_code.attempts += 1
            phone_code.save(update_fields=["attempts"])
            left = MAX_ATTEMPTS - phone_code.attempts
            error = f"{WRONG_MESSAGE}, 还可尝试 {left} 次" if left else TOO_MANY_MESSAGE
        else:
            return phone_code
    raise _code_error(error)


def phone_code_consume(phone_code: PhoneCode) -> None:
    """Mark a verified code used, inside the caller's transaction (a code unlocks one action)."""
    used = PhoneCode.objects.filter(pk=phone_code.pk, used_at__isnull=True).update(used_at=timezone.now())
    if not used:
        raise _code_error(EXPIRED_MESSAGE)


def password_reset_code_send(*, phone: str, request) -> None:
    """找回密码, step 1: a code for a number some active user verified. The answer is the same
    for an unknown number (nothing says which numbers have accounts)."""
    known = UserPhone.objects.filter(phone=phone, user__is_active=True).exists()
    phone_code_send(phone=phone, purpose=PhoneCodePurpose.PASSWORD_RESET, request=request, deliver=known)


def password_reset_by_phone(*, phone: str, code: str, password: str, request):
    """找回密码, step 2: the code sent to the user's verified number sets a new password
    (Django's validators). Audited as the user's own action."""
    phone_code = phone_code_verify(phone=phone, purpose=PhoneCodePurpose.PASSWORD_RESET, code=code)
    with transaction.atomic():
        user_phone = UserPhone.objects.select_related("user").filter(phone=phone, user__is_active=True).first()
        if user_phone is None:  # the number was released after the code was sent
            raise _code_error(EXPIRED_MESSAGE)
        user = user_phone.user
        try:
            validate_password(password, user)
        except ValidationError as error:
            raise ApplicationError(
                "密码不符合要求", field_errors={"new_password1": list(error.messages)}, code="invalid"
            ) from None
        phone_code_consume(phone_code)
        user.set_password(password)
        user.save(update_fields=["password"])
        audit_record(actor=user, action="password.reset_by_phone", obj=user, request=request)
    return user
