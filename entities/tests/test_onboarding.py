"""Enterprise onboarding and 忘记密码 (issue 16 item 12): "an enterprise registers itself —
USCC, operator name, operator phone with a verification code …, password — and is linked to
its register entry when the USCC and the operator's phone match the register; otherwise the
county task force approves the claim. 忘记密码 works by phone code or email."""

import datetime as dt
import re

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core import mail

from entities.factories import MarketEntityFactory, make_uscc
from entities.models import ClaimState, EntityClaim
from entities.onboarding import entity_claim_decide
from portal import sms
from portal.audit_log import action_label
from portal.errors import ApplicationError
from portal.factories import OrganisationFactory, api_token, region, user_with_role
from portal.models import AuditEvent, Membership, OrganisationKind, PhoneCode, Role, UserPhone
from portal.phone_codes import MAX_ATTEMPTS

pytestmark = pytest.mark.django_db

PHONE = "13812345678"
PASSWORD = "Jinhui-xiaochi-2026"
REGISTER = "/accounts/register/"


@pytest.fixture
def ask_code(client, sms_outbox, django_capture_on_commit_callbacks):
    """Presses 获取验证码 on a page (the SMS is sent after commit) → (response, the code or None)."""

    def ask(phone=PHONE, url=REGISTER, **typed):
        before = len(sms_outbox)
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(url, {"action": "send_code", "phone": phone, **typed})
        sent = [m for m in sms_outbox[before:] if m.phone == phone]
        return response, (re.search(r"(\d{6})", sent[-1].text).group(1) if sent else None)

    return ask


def _register(client, *, uscc, code, name="张三", phone=PHONE):
    return client.post(
        REGISTER,
        {
            "action": "submit",
            "uscc": uscc,
            "operator_name": name,
            "phone": phone,
            "code": code,
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
    )


def test_与名录库一致的_注册后即关联经营主体并登录(client, ask_code):
    """ "is linked to its register entry when the USCC and the operator's phone match the
    register" (issue 16 item 12): the entity's enterprise organisation is created on the
    first link, the user is its 企业用户 and signed in."""
    # given a register entry whose operator phone is the registrant's
    entity = MarketEntityFactory(operator_name="张三", operator_phone=PHONE)
    assert entity.organisation is None
    # when the operator asks for a code and registers with it on the public page
    response, code = ask_code()
    assert response.status_code == 200 and "验证码已发送至 138****5678" in response.content.decode()
    response = _register(client, uscc=entity.uscc.lower(), code=code)

    # then he is signed in as the enterprise user of that entity's new organisation
    assert response.status_code == 302 and response.url == "/"
    user = get_user_model().objects.get(username=PHONE)
    entity.refresh_from_db()
    assert entity.organisation.kind == OrganisationKind.ENTERPRISE
    assert Membership.objects.filter(user=user, organisation=entity.organisation, role=Role.ENTERPRISE_USER).exists()
    assert client.get("/").context["entity"] == entity
    # and no claim was made; the phone is his verified number; only the code's hash is stored
    assert not EntityClaim.objects.exists()
    assert UserPhone.objects.get(user=user).phone == PHONE
    stored = PhoneCode.objects.get()
    assert code not in stored.code_hash and stored.used_at is not None
    assert AuditEvent.objects.filter(action="enterprise.register", actor=user).exists()


def test_an_entity_with_an_organisation_is_joined_not_duplicated(client, ask_code):
    org = OrganisationFactory(kind=OrganisationKind.ENTERPRISE, region=region("140525"))
    entity = MarketEntityFactory(operator_phone=PHONE, organisation=org)
    _, code = ask_code()
    _register(client, uscc=entity.uscc, code=code)
    user = get_user_model().objects.get(username=PHONE)
    assert list(Membership.objects.filter(user=user).values_list("organisation_id", flat=True)) == [org.pk]


def test_不一致时_提交认领_由本县专班通过后关联_他县专班看不到(client, ask_code):
    """ "otherwise the county task force approves the claim" (issue 16 item 12): a phone that
    differs from the register makes a claim of the entity's county; the user signs in and sees
    认领待专班审核; another county's task force gets 404; the county's approves and links."""
    entity = MarketEntityFactory(operator_name="张三", operator_phone="13900000000")
    _, code = ask_code()
    response = _register(client, uscc=entity.uscc, code=code)
    assert response.status_code == 302
    claim = EntityClaim.objects.get()
    assert (claim.state, claim.region_id, claim.entity) == (ClaimState.PENDING, "140525", entity)
    page = client.get("/").content.decode()
    assert "认领待专班审核" in page
    assert "13900000000" not in page  # the register's phone is never shown to the registrant

    # another county's task force: not found, on the page and in the API
    other = user_with_role(Role.TASK_FORCE_LEAD, region_code="140212")
    client.force_login(other)
    assert claim.uscc not in client.get("/entities/claims/").content.decode()
    assert client.post(f"/entities/claims/{claim.pk}/decide/", {"decision": "approve"}).status_code == 404
    token = api_token(user_with_role(Role.TASK_FORCE_STAFF, region_code="140212"))
    api = client.post(f"/api/v1/entity-claims/{claim.pk}/approve/", HTTP_AUTHORIZATION=f"Token {token}")
    assert api.status_code == 404
    claim.refresh_from_db()
    assert claim.state == ClaimState.PENDING

    # the county's task force approves on its page
    staff = user_with_role(Role.TASK_FORCE_STAFF, region_code="140525")
    client.force_login(staff)
    assert claim.uscc in client.get("/entities/claims/").content.decode()
    response = client.post(f"/entities/claims/{claim.pk}/decide/", {"decision": "approve", "reason": "电话核实"})
    assert response.status_code == 302
    claim.refresh_from_db()
    entity.refresh_from_db()
    assert claim.state == ClaimState.APPROVED and claim.decided_by == staff
    assert Membership.objects.filter(user=claim.user, organisation=entity.organisation, role=Role.ENTERPRISE_USER)
    event = AuditEvent.objects.get(action="entity_claim.approve")
    assert event.actor == staff and event.after["entity"] == entity.pk
    assert action_label("entity_claim.approve") == "通过企业认领"


def test_not_found_and_phone_mismatch_get_the_same_answer(client, ask_code):
    """Nothing personal leaks: a USCC not in the register and a phone that differs from it
    get the same page; the outcome is a claim either way."""
    entity = MarketEntityFactory(operator_phone="13900000000")
    _, code = ask_code()
    mismatch = _register(client, uscc=entity.uscc, code=code)
    client.logout()
    _, code = ask_code(phone="13700000000")
    unknown = _register(client, uscc=make_uscc(987654), code=code, phone="13700000000")
    assert mismatch.status_code == unknown.status_code == 302
    assert client.get("/").content.decode().count("认领待专班审核") == 1
    assert EntityClaim.objects.count() == 2
    # the unknown USCC's claim goes to the county its registration authority code names
    assert EntityClaim.objects.get(entity=None).region_id == "140525"


def test_approving_a_claim_of_an_unregistered_uscc_asks_to_register_the_entity_first(sms_outbox, client, ask_code):
    _, code = ask_code()
    _register(client, uscc=make_uscc(55555), code=code)
    claim = EntityClaim.objects.get()
    lead = user_with_role(Role.TASK_FORCE_LEAD, region_code="140525")
    with pytest.raises(ApplicationError, match="名录库中没有"):
        entity_claim_decide(actor=lead, claim_id=claim.pk, approve=True)
    # once the task force registered it, the approval links
    entity = MarketEntityFactory(uscc=claim.uscc)
    entity_claim_decide(actor=lead, claim_id=claim.pk, approve=True)
    entity.refresh_from_db()
    assert Membership.objects.filter(user=claim.user, organisation=entity.organisation).exists()


def test_rejection_needs_a_reason_and_is_audited(client, ask_code):
    entity = MarketEntityFactory(operator_phone="13900000000")
    _, code = ask_code()
    _register(client, uscc=entity.uscc, code=code)
    claim = EntityClaim.objects.get()
    lead = user_with_role(Role.TASK_FORCE_LEAD, region_code="140525")
    with pytest.raises(ApplicationError, match="原因"):
        entity_claim_decide(actor=lead, claim_id=claim.pk, approve=False)
    entity_claim_decide(actor=lead, claim_id=claim.pk, approve=False, reason="经营者不符")
    claim.refresh_from_db()
    assert claim.state == ClaimState.REJECTED
    assert not Membership.objects.filter(user=claim.user).exists()
    assert AuditEvent.objects.get(action="entity_claim.reject").after["reason"] == "经营者不符"
    with pytest.raises(ApplicationError, match="不能重复处理"):
        entity_claim_decide(actor=lead, claim_id=claim.pk, approve=True)


def test_an_expired_code_is_refused(client, ask_code):
    """Codes expire (10 minutes)."""
    entity = MarketEntityFactory(operator_phone=PHONE)
    _, code = ask_code()
    # a minute before expiry it still checks out (not spent: wrong password confirmation)
    with time_machine.travel(PhoneCode.objects.get().created_at + dt.timedelta(minutes=9)):
        early = client.post(REGISTER, {"uscc": entity.uscc, "operator_name": "张三", "phone": PHONE, "code": code})
    assert early.status_code == 400 and "验证码已失效" not in early.content.decode()
    # when the registrant submits it ten minutes later
    with time_machine.travel(PhoneCode.objects.get().created_at + dt.timedelta(minutes=10, seconds=1)):
        response = _register(client, uscc=entity.uscc, code=code)
    assert response.status_code == 400
    assert "验证码已失效, 请重新获取" in response.content.decode()
    assert not get_user_model().objects.filter(username=PHONE).exists()


def test_wrong_codes_are_limited_then_even_the_right_one_is_refused(client, ask_code):
    entity = MarketEntityFactory(operator_phone=PHONE)
    _, code = ask_code()
    wrong = "000000" if code != "000000" else "111111"
    for attempt in range(MAX_ATTEMPTS):
        response = _register(client, uscc=entity.uscc, code=wrong)
        assert response.status_code == 400
    assert PhoneCode.objects.get().attempts == MAX_ATTEMPTS
    assert "验证码错误次数过多" in response.content.decode()
    response = _register(client, uscc=entity.uscc, code=code)
    assert "验证码错误次数过多" in response.content.decode()
    assert not get_user_model().objects.filter(username=PHONE).exists()
    # a new code works
    _, code = ask_code()
    assert _register(client, uscc=entity.uscc, code=code).status_code == 302


def test_codes_are_rate_limited_per_phone_and_per_address(client, ask_code, settings):
    rest = settings.REST_FRAMEWORK
    settings.REST_FRAMEWORK = {
        **rest,
        "DEFAULT_THROTTLE_RATES": {**rest["DEFAULT_THROTTLE_RATES"], "sms_phone": "2/hour", "sms_ip": "4/hour"},
    }
    # per phone: the third request for the same number is refused, nothing sent
    assert ask_code()[1] and ask_code()[1]
    response, code = ask_code()
    assert response.status_code == 429 and code is None
    assert "获取验证码过于频繁" in response.content.decode()
    # per address: every request counts, another number from the same address too
    assert ask_code(phone="13700000001")[1]
    response, code = ask_code(phone="13700000002")
    assert response.status_code == 429 and code is None
    assert PhoneCode.objects.count() == 3


def test_register_form_errors_are_chinese_and_keep_what_was_typed(client, ask_code):
    _, code = ask_code()
    response = client.post(
        REGISTER,
        {"uscc": "123", "operator_name": "张三", "phone": PHONE, "code": code, "password1": "123", "password2": "124"},
    )
    page = response.content.decode()
    assert response.status_code == 400
    assert "统一社会信用代码格式或校验位不正确" in page or "两次输入的密码不一致" in page
    assert 'value="张三"' in page
    # the code was not spent on a refused form
    assert PhoneCode.objects.get().used_at is None


def test_忘记密码_通过手机验证码重置(client, ask_code):
    """ "忘记密码 works by phone code" (issue 16 item 12): for a user whose phone is known."""
    user = user_with_role(Role.ENTERPRISE_USER, username="jinhui")
    UserPhone.objects.create(user=user, phone=PHONE)
    url = "/accounts/password/phone/"
    response, code = ask_code(url=url)
    assert code and response.status_code == 200
    # an unknown number gets the same answer and no SMS
    unknown, nothing = ask_code(phone="13700000009", url=url)
    assert unknown.status_code == 200 and nothing is None
    assert "验证码已发送至" in unknown.content.decode()

    new = "Another-long-pass-77"
    response = client.post(
        url, {"phone": PHONE, "code": code, "new_password1": new, "new_password2": new, "action": "submit"}
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password(new)
    assert AuditEvent.objects.filter(action="password.reset_by_phone", actor=user).exists()


def test_忘记密码_通过邮箱重置(client):
    """ "忘记密码 works by … email" (issue 16 item 12): Django's reset views, in Chinese."""
    user = user_with_role(Role.TASK_FORCE_STAFF, username="mailer", email="mailer@example.com")
    response = client.post("/accounts/password/reset/", {"email": "mailer@example.com"})
    assert response.status_code == 302
    assert "重置链接已发送" in client.get(response.url).content.decode()
    message = mail.outbox[-1]
    assert "重置密码" in message.subject
    link = re.search(r"http://testserver(\S+)", message.body).group(1)
    form_url = client.get(link).url
    new = "Mail-reset-pass-2026"
    response = client.post(form_url, {"new_password1": new, "new_password2": new})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password(new)
    assert AuditEvent.objects.filter(action="password.reset_by_email", actor=user).exists()
    assert "密码已重置" in client.get(response.url).content.decode()


def test_login_page_links_register_and_forgotten_password(client):
    page = client.get("/accounts/login/").content.decode()
    assert 'href="/accounts/register/"' in page and 'href="/accounts/password/forgot/"' in page
    assert "通过手机验证码找回" in client.get("/accounts/password/forgot/").content.decode()


def test_the_county_task_force_decides_through_the_api_and_the_registrant_gets_an_sms(
    client, ask_code, sms_outbox, django_capture_on_commit_callbacks
):
    entity = MarketEntityFactory(operator_phone="13900000000")
    _, code = ask_code()
    _register(client, uscc=entity.uscc, code=code)
    claim = EntityClaim.objects.get()
    client.logout()  # the registrant's session; the task force's system calls with its token
    token = api_token(user_with_role(Role.TASK_FORCE_LEAD, region_code="140525"))
    listed = client.get("/api/v1/entity-claims/", HTTP_AUTHORIZATION=f"Token {token}").json()
    assert [row["uscc"] for row in listed["results"]] == [entity.uscc]
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/api/v1/entity-claims/{claim.pk}/reject/",
            {"reason": "经营者不符"},
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Token {token}",
        )
    assert response.status_code == 200 and response.json()["state_display"] == "未通过"
    assert "未通过(经营者不符)" in sms_outbox[-1].text and sms_outbox[-1].phone == PHONE


def test_the_default_sms_backend_writes_to_the_console_log_and_keeps_the_message(settings, caplog):
    settings.SMS_BACKEND = "portal.sms.ConsoleBackend"
    sms.get_backend().send_messages([sms.SmsMessage(phone=PHONE, text="验证码 123456")])
    assert "验证码 123456" in caplog.text
    assert sms.recent[-1].text == "验证码 123456"
