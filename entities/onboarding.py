"""Enterprise onboarding: a registrant's account and its link to a register entry.

Lifecycle:

1. The registrant asks for a code for the operator's phone (portal/phone_codes.py, purpose
   企业注册) and submits USCC, operator name, that phone, the code and a password
   (`enterprise_register`). The code is checked first (wrong guesses count even when the rest
   is refused); the account is created with the phone as its user name and as its verified
   number (找回密码 by phone).
2. When the register holds the USCC with the same operator phone and name, the user joins at
   once as 企业用户 the entity's enterprise organisation (created on the first link,
   `_link`). Otherwise an EntityClaim (待专班审核) goes to the county's task force. The
   registrant is told the same in both "not found" and "phone or name differ" cases: the
   register's contents are never revealed to an anonymous caller.
3. The county's task force (staff or lead, through restrict()) approves the claim
   (`entity_claim_decide`): the entity is looked up again, through the decider's own
   restriction, and the user is linked. Or it rejects it with a reason. Every step is audited.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from stdnum.cn import uscc as uscc_format

from entities.models import ClaimState, EntityClaim, MarketEntity
from portal.errors import ApplicationError
from portal.models import (
    Membership,
    Organisation,
    OrganisationKind,
    PhoneCodePurpose,
    Region,
    RegionLevel,
    Role,
    UserPhone,
)
from portal.phone_codes import phone_code_consume, phone_code_verify, valid_phone
from portal.services import audit_record
from portal.sms import send_sms
from portal.tenancy import CHANGE, VIEW, resolve

PHONE_TAKEN = "该手机号已注册账号, 请直接登录; 忘记密码可通过手机验证码找回"
NOT_IN_REGISTER = "名录库中没有该统一社会信用代码的经营主体: 请先在经营主体名录中登记, 再通过认领"


@dataclass(frozen=True)
class Registration:
    user: object
    linked: bool
    claim: EntityClaim | None


def normalise_uscc(value: str) -> str:
    return (value or "").strip().upper()


def _same_name(a: str, b: str) -> bool:
    return "".join((a or "").split()) == "".join((b or "").split())


def _claim_region(entity: MarketEntity | None, uscc: str) -> Region | None:
    """The county that decides: the entity's, else the registration authority's county that
    the USCC's characters 3-8 name (when it is a county the portal knows)."""
    if entity is not None:
        return entity.region
    return Region.objects.filter(code=uscc[2:8], level=RegionLevel.COUNTY).first()


def _link(entity: MarketEntity, user) -> Membership:
    """Make `user` an enterprise user of `entity`'s organisation (created on the first link)."""
    organisation = entity.organisation
    if organisation is None:
        organisation = Organisation.objects.create(
            name=entity.name[:128], kind=OrganisationKind.ENTERPRISE, region_id=entity.region_id
        )
        MarketEntity.objects.filter(pk=entity.pk).update(organisation=organisation)
        entity.organisation = organisation
    Membership.objects.filter(user=user, is_primary=True).update(is_primary=False)
    membership, _ = Membership.objects.get_or_create(
        user=user, organisation=organisation, role=Role.ENTERPRISE_USER, defaults={"is_primary": True}
    )
    return membership


def enterprise_register(
    *, uscc: str, operator_name: str, phone: str, code: str, password: str, request=None
) -> Registration:
    uscc = normalise_uscc(uscc)
    operator_name = (operator_name or "").strip()
    errors: dict[str, list[str]] = {}
    if not uscc_format.is_valid(uscc):
        errors["uscc"] = ["统一社会信用代码格式或校验位不正确"]
    if not operator_name:
        errors["operator_name"] = ["请填写经营者姓名"]
    if not valid_phone(phone):
        errors["phone"] = ["请输入 11 位手机号码"]
    user_model = get_user_model()
    if user_model.objects.filter(username=phone).exists() or UserPhone.objects.filter(phone=phone).exists():
        errors["phone"] = [PHONE_TAKEN]
    try:
        validate_password(password, user_model(username=phone, first_name=operator_name))
    except ValidationError as error:
        errors["password1"] = list(error.messages)
    if errors:
        raise ApplicationError("输入有误, 请检查标出的字段", field_errors=errors, code="invalid")
    phone_code = phone_code_verify(phone=phone, purpose=PhoneCodePurpose.REGISTER, code=code)

    with transaction.atomic():
        phone_code_consume(phone_code)
        user = user_model.objects.create_user(username=phone, password=password, first_name=operator_name)
        UserPhone.objects.create(user=user, phone=phone)
        # an anonymous registrant: the register is read only to compare the verified phone
        # and the name with its operator's; the answer does not depend on what is found
        entity = MarketEntity.objects.filter(uscc=uscc).first()
        if entity is not None and entity.operator_phone == phone and _same_name(entity.operator_name, operator_name):
            membership = _link(entity, user)
            audit_record(
                actor=user,
                action="enterprise.register",
                obj=entity,
                after={"user": user.username, "linked": True, "organisation": membership.organisation_id},
                organisation=membership.organisation,
                request=request,
            )
            return Registration(user=user, linked=True, claim=None)
        claim = EntityClaim.objects.create(
            user=user,
            uscc=uscc,
            operator_name=operator_name,
            phone=phone,
            entity=entity,
            region=_claim_region(entity, uscc),
        )
        audit_record(
            actor=user,
            action="entity_claim.create",
            obj=claim,
            after={"user": user.username, "uscc": uscc, "region": claim.region_id},
            request=request,
        )
        return Registration(user=user, linked=False, claim=claim)


@transaction.atomic
def entity_claim_decide(*, actor, claim_id, approve: bool, reason: str = "", request=None) -> EntityClaim:
    """The county task force approves (links the registrant to the entity) or rejects (with a
    reason) a pending claim. Another county's claim is "not found"."""
    claim = resolve(EntityClaim, actor, CHANGE, lock=True, pk=claim_id)
    if claim.state != ClaimState.PENDING:
        raise ApplicationError(f"该认领申请已{claim.get_state_display()}, 不能重复处理", code="conflict")
    reason = (reason or "").strip()
    if not approve and not reason:
        raise ApplicationError("不予通过时请填写原因", field_errors={"reason": ["请填写原因"]}, code="invalid")
    before = {"state": claim.state}
    if approve:
        entity = resolve(MarketEntity, actor, VIEW, message=NOT_IN_REGISTER, field="uscc", uscc=claim.uscc)
        membership = _link(entity, claim.user)
        claim.entity = entity
        claim.state = ClaimState.APPROVED
        after = {"state": claim.state, "entity": entity.pk, "organisation": membership.organisation_id}
    else:
        claim.state = ClaimState.REJECTED
        after = {"state": claim.state}
    claim.reason = reason[:255]
    claim.decided_by = actor
    claim.decided_at = timezone.now()
    claim.save(update_fields=["entity", "state", "reason", "decided_by", "decided_at"])
    if reason:
        after["reason"] = claim.reason
    outcome = "已通过, 请登录使用企业功能" if approve else f"未通过({claim.reason}), 如有疑问请联系所在县区工作专班"
    send_sms(claim.phone, f"【政银企融资对接平台】您对 {claim.uscc} 的企业认领申请{outcome}。")
    audit_record(
        actor=actor,
        action="entity_claim.approve" if approve else "entity_claim.reject",
        obj=claim,
        before=before,
        after=after,
        request=request,
    )
    return claim
