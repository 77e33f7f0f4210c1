"""直接申请 and the 5-working-day reply (issue 17 part 4; seed 002_d26ed7e686b841c7.txt point 5:
"推动全县银行机构编制授权、授信、受理回告清单并向社会公示,明确公开小微信贷审批权限、客户准入条件、
申请资料、办理流程等,小微“无贷户”授信申请原则上5个工作日内回复")."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from entities.models import BankRelationship, MarketEntity
from matching import selectors
from matching import services as s
from matching.clocks import deadline_scan
from matching.models import (
    ClockKind,
    ClockState,
    DeadlineClock,
    DeclarationSource,
    EventKind,
    LeadOrigin,
    Notification,
    Recommendation,
    RecommendationState,
    WorkflowEvent,
)
from portal.errors import ApplicationError
from portal.factories import OrganisationFactory, region
from portal.models import AuditEvent, OrganisationKind
from products.factories import valid_uscc
from products.models import BankBranch, LoanProduct

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")


def at(y, m, d, h=10, minute=0):
    return dt.datetime(y, m, d, h, minute, tzinfo=SH)


def boc_product() -> LoanProduct:
    return LoanProduct.objects.filter(bank__code="boc", status="active").order_by("code").first()


def apply(user, entity, product=None, **kwargs):
    values = {"amount": 200_000, "term_months": 12, "purpose": "进货周转", "consent": True, **kwargs}
    return s.direct_application_create(
        actor=user, entity_id=entity.pk, product_id=(product or boc_product()).pk, **values
    )


def test_直接申请_reaches_the_branch_serving_the_county_marked_无贷户_with_the_5_working_day_clock(world):
    """seed 002 point 5: "小微“无贷户”授信申请原则上5个工作日内回复" — the enterprise applies from the
    产品超市 and the branch serving its county receives it in the same inbox."""
    # given an enterprise with no loan at any bank
    entity, user = world.entity("泽州县直申小店")
    # when it applies on Mon 2026-03-02 to a 中国银行 product
    with time_machine.travel(at(2026, 3, 2), tick=False):
        lead = apply(user, entity)
    # then the lead is at 中国银行泽州支行 (the push's routing), 直接申请 and 无贷户, 待对接
    assert lead.branch == world.branches["boc"]
    assert (lead.origin, lead.no_loan_entity, lead.state) == (LeadOrigin.DIRECT, True, RecommendationState.PUSHED)
    assert lead.batch_id is None and lead.declaration.source == DeclarationSource.DIRECT
    assert lead.declaration.consent_given_by == user
    # its reply is due in 5 working days: Mon 03-09
    clock = DeadlineClock.objects.get(recommendation=lead, kind=ClockKind.FEEDBACK)
    assert clock.due_at.astimezone(SH).date() == dt.date(2026, 3, 9)
    # the branch administrator is told, the timeline and the audit log have it
    admin = world.users["boc_admin"]
    note = Notification.objects.get(recipient=admin, url=f"/matching/leads/{lead.pk}/")
    assert "直接申请" in note.title and "无贷户" in note.title
    assert WorkflowEvent.objects.filter(recommendation=lead, kind=EventKind.RECOMMENDATION_DIRECT_APPLIED).exists()
    assert AuditEvent.objects.filter(action="lead.direct_apply", object_id=str(lead.pk)).exists()
    # and it is in the branch's inbox, the bank's only
    assert list(selectors.recommendation_list(user=admin, origin=LeadOrigin.DIRECT)) == [lead]
    assert not selectors.recommendation_list(user=world.users["ccb_admin"]).filter(pk=lead.pk).exists()


def test_an_entity_with_a_current_loan_is_not_marked_无贷户(world):
    """ "无贷户": an entity with a current line at a bank (its 借贷往来) is not one."""
    entity, user = world.entity("泽州县有贷小店")
    BankRelationship.objects.create(entity=entity, bank=world.branches["ccb"].bank.organisation, credit_line=100_000)
    lead = apply(user, entity)
    assert lead.is_direct and not lead.no_loan_entity


def test_the_direct_lead_is_worked_like_a_pushed_one_and_the_contact_answers_the_reply(world):
    """小微“无贷户”授信申请原则上5个工作日内回复: the bank's contact is the reply (the lead rows of the
    workflow table apply alike)."""
    entity, user = world.entity()
    with time_machine.travel(at(2026, 3, 2), tick=False):
        lead = apply(user, entity)
    with time_machine.travel(at(2026, 3, 4), tick=False):
        s.recommendation_contact(actor=world.users["boc_admin"], recommendation_id=lead.pk)
    clock = DeadlineClock.objects.get(recommendation=lead, kind=ClockKind.FEEDBACK)
    assert clock.state == ClockState.SATISFIED and not clock.is_late
    assert Recommendation.objects.get(pk=lead.pk).state == RecommendationState.CONTACTED


def test_refusals_wrong_entity_wrong_county_bank_not_serving_no_consent_wrong_role(world):
    """Only the enterprise itself applies, for itself, to a bank serving its county, with consent."""
    entity, user = world.entity("泽州县甲店")
    other, _ = world.entity("泽州县乙店")
    # an enterprise applying for another entity: not found (as one that does not exist)
    with pytest.raises(ApplicationError) as refused:
        apply(user, other)
    assert refused.value.code == "not_found"
    # another county's entity (沁水县): not found either
    org = OrganisationFactory(kind=OrganisationKind.ENTERPRISE, region=region("140521"), name="沁水县某店")
    qinshui = MarketEntity.objects.create(
        uscc=valid_uscc(),
        name="沁水县某店",
        entity_type="individual_business",
        register_status="active",
        region_id="140521",
        organisation=org,
    )
    with pytest.raises(ApplicationError) as refused:
        apply(user, qinshui)
    assert refused.value.code == "not_found"
    # without the consent to share its data with the bank
    with pytest.raises(ApplicationError) as refused:
        apply(user, entity, consent=False)
    assert refused.value.field_errors["consent"] == ["请同意向该银行共享本企业信息后再申请"]
    # a product of a bank no branch of which serves 泽州县
    BankBranch.objects.filter(bank__code="ccb").update(is_active=False)
    ccb = LoanProduct.objects.filter(bank__code="ccb", status="active").first()
    with pytest.raises(ApplicationError) as refused:
        apply(user, entity, product=ccb)
    assert "中国建设银行在泽州县没有服务机构" in refused.value.message
    # task-force staff may not apply on an enterprise's behalf from the 产品超市
    with pytest.raises(ApplicationError) as refused:
        apply(world.users["staff"], entity)
    assert refused.value.code == "permission_denied"
    assert not Recommendation.objects.filter(origin=LeadOrigin.DIRECT).exists()


def test_one_case_at_a_time_a_second_application_while_the_first_is_open_is_refused(world):
    entity, user = world.entity()
    apply(user, entity)
    with pytest.raises(ApplicationError) as refused:
        apply(user, entity)
    assert refused.value.code == "conflict"


def test_the_reply_clock_reminds_flags_overdue_to_the_county_task_force_and_escalates_idempotently(world):
    """小微“无贷户”授信申请原则上5个工作日内回复: reminder the working day before, overdue after the
    5th working day (the county task force told), escalation 5 working days later — each once."""
    entity, user = world.entity("泽州县待复小店")
    with time_machine.travel(at(2026, 3, 2), tick=False):
        lead = apply(user, entity)
    admin, staff, city = world.users["boc_admin"], world.users["staff"], world.users["city"]
    # reminder on Fri 03-06 (due Mon 03-09), once
    assert deadline_scan(now=at(2026, 3, 6, 9)).reminders == 1
    assert deadline_scan(now=at(2026, 3, 6, 9, 5)).reminders == 0
    assert Notification.objects.filter(recipient=admin, title__startswith="直接申请回复时限将到").count() == 1
    # one scan long after: overdue (task force told) and, past 5 more working days, escalated — in one run
    scan = deadline_scan(now=at(2026, 3, 17, 9))
    assert (scan.overdue, scan.escalations) == (1, 1)
    assert Notification.objects.filter(recipient=staff, title__startswith="直接申请回复已逾期").count() == 1
    assert Notification.objects.filter(recipient=city, title__contains="升级督办").count() == 1
    # idempotent: the same scan again sends nothing
    again = deadline_scan(now=at(2026, 3, 17, 9, 5))
    assert (again.reminders, again.overdue, again.escalations) == (0, 0, 0)
    clock = DeadlineClock.objects.get(recommendation=lead, kind=ClockKind.FEEDBACK)
    assert clock.state == ClockState.OVERDUE


def test_the_apply_page_refuses_other_roles_and_keeps_what_was_typed(world, client):
    """The page refuses any role but the enterprise's (403) and an unknown product (404)."""
    entity, user = world.entity()
    client.force_login(world.users["boc_admin"])
    assert client.get(f"/matching/apply/{boc_product().pk}/").status_code == 403
    client.force_login(user)
    assert client.get("/matching/apply/999999/").status_code == 404
    page = client.get(f"/matching/apply/{boc_product().pk}/")
    assert page.status_code == 200 and "5 个工作日内回复" in page.content.decode()
    # a refused post keeps what was typed, with the error beside the consent
    page = client.post(
        f"/matching/apply/{boc_product().pk}/", {"amount_wan": "20", "term_months": "12", "purpose": "进货"}
    )
    assert page.status_code == 400 and "请同意向该银行共享本企业信息后再申请" in page.content.decode()
    done = client.post(
        f"/matching/apply/{boc_product().pk}/",
        {"amount_wan": "20", "term_months": "12", "purpose": "进货", "consent": "on"},
    )
    assert done.status_code == 302
    assert Recommendation.objects.get(entity=entity).declaration.amount == 200_000
