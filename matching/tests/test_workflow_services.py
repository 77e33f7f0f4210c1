"""Every transition of workflow.md through the services: legal ones, illegal ones, and
who may do them."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from matching import services as s
from matching.factories import CRITERIA, assign, declare, pushed, through_reviews
from matching.models import (
    Declaration,
    DeclarationState,
    Notification,
    Recommendation,
    RecommendationState,
    WorkflowEvent,
)
from portal.models import AuditEvent
from portal.services import ApplicationError

pytestmark = pytest.mark.django_db


def fresh(obj):
    # FSM fields are protected: refresh_from_db() would assign the state directly
    return type(obj).objects.get(pk=obj.pk)


# --- declaration ---------------------------------------------------------------------


def test_the_whole_journey_two_banks_one_approves_and_disburses_one_declines(world):
    # given an enterprise declaring with two intended banks, reviewed three times and pushed
    declaration, enterprise_user, recs = pushed(world)
    declaration = fresh(declaration)
    assert declaration.state == DeclarationState.RECOMMENDED
    # then each intended bank got one recommendation, routed to its 泽州 sub-branch
    assert set(recs) == {"boc", "ccb"}
    assert recs["boc"].branch == world.branches["boc"] and recs["ccb"].branch == world.branches["ccb"]
    assert all(r.state == RecommendationState.PUSHED for r in recs.values())

    # when bank A contacts, collects materials, approves and disburses in two drawdowns
    boc, ccb = recs["boc"], recs["ccb"]
    assign(world, boc, "boc")
    manager = world.users["boc_manager"]
    s.recommendation_contact(actor=manager, recommendation_id=boc.pk, channel="phone", note="已电话联系")
    s.recommendation_materials_complete(actor=manager, recommendation_id=boc.pk)
    s.recommendation_approve(
        actor=manager,
        recommendation_id=boc.pk,
        credit_amount=300_000,
        rate_percent=Decimal("3.65"),
        term_months=12,
        guarantee="credit",
        is_credit_loan=True,
        is_first_loan=True,
    )
    s.recommendation_disburse(
        actor=manager, recommendation_id=boc.pk, amount=100_000, disbursed_on=timezone.localdate()
    )
    s.recommendation_disburse(
        actor=manager, recommendation_id=boc.pk, amount=200_000, disbursed_on=timezone.localdate()
    )
    # and bank B declines with a coded reason
    s.recommendation_decline(
        actor=world.users["ccb_admin"],
        recommendation_id=ccb.pk,
        reason_code="operating_too_short",
        note="经营未满 2 年",
    )

    boc, ccb = fresh(boc), fresh(ccb)
    assert boc.state == RecommendationState.DISBURSED and boc.disbursed_total == 300_000
    assert ccb.state == RecommendationState.DECLINED and ccb.decline_reason.curable
    # then the enterprise was told of both outcomes and the task force of the decline
    titles = list(Notification.objects.filter(recipient=enterprise_user).values_list("title", flat=True))
    assert any("授信" in t and "中国银行" in t for t in titles) and any("暂不予授信" in t for t in titles)
    assert Notification.objects.filter(recipient=world.users["staff"], title__contains="不予授信待辅导").exists()
    # and the task force records coaching and re-recommends to a third bank: a new draft that the
    # enterprise consents to, that passes the three reviews and the sign-off, and is then pushed
    s.coaching_record(actor=world.users["staff"], recommendation_id=ccb.pk, note="指导完善经营流水")
    draft = s.recommendation_redirect(actor=world.users["convener"], recommendation_id=ccb.pk, bank_code="shanxibank")
    assert draft.state == DeclarationState.DRAFT and draft.redirected_from_id == ccb.pk
    s.declaration_consent_record(actor=enterprise_user, declaration_id=draft.pk)
    s.declaration_submit(actor=enterprise_user, declaration_id=draft.pk)
    through_reviews(world, draft)
    s.batch_push(
        actor=world.users["convener"],
        batch_id=s.batch_signoff(actor=world.users["convener"], declaration_ids=[draft.pk]).pk,
    )
    redirected = Recommendation.objects.get(declaration=draft)
    assert redirected.state == RecommendationState.PUSHED and redirected.bank.code == "shanxibank"
    # and the enterprise rates the service
    s.satisfaction_rate(actor=enterprise_user, recommendation_id=boc.pk, score=5, comment="很快")
    kinds = list(WorkflowEvent.objects.filter(declaration=declaration).values_list("kind", flat=True))
    assert kinds[:2] == ["declaration.created", "declaration.submitted"] and "recommendation.disbursed" in kinds


def test_one_or_two_intended_banks_never_more(world):
    entity, user = world.entity()
    with pytest.raises(ApplicationError, match="最多 2 家") as error:
        declare(world, entity, user, banks=("boc", "ccb", "jshb"))
    assert "banks" in error.value.field_errors
    with pytest.raises(ApplicationError, match="1 至 2 家"):
        declare(world, entity, user, banks=())
    with pytest.raises(ApplicationError, match="不能重复"):
        declare(world, entity, user, banks=("boc", "boc"))


def test_an_entity_has_at_most_one_open_declaration(world):
    entity, user = world.entity()
    declare(world, entity, user)
    with pytest.raises(ApplicationError, match="已有进行中的申报"):
        declare(world, entity, user)


def test_submit_needs_the_enterprises_consent(world):
    entity, user = world.entity()
    declaration = s.declaration_create(
        actor=user,
        entity_id=entity.pk,
        amount=100_000,
        term_months=12,
        purpose="周转",
        bank_codes=["boc"],
        consent=False,
    )
    with pytest.raises(ApplicationError, match="同意"):
        s.declaration_submit(actor=user, declaration_id=declaration.pk)


def test_return_sends_it_back_to_draft_with_reasons_and_it_can_be_fixed_and_resubmitted(world):
    entity, user = world.entity()
    declaration = declare(world, entity, user)
    s.declaration_review(actor=world.users["staff"], declaration_id=declaration.pk, decision="approve")
    # when the bank reviewer returns it without a comment, he is told to give one
    with pytest.raises(ApplicationError, match="须填写意见"):
        s.declaration_review(actor=world.users["reviewer"], declaration_id=declaration.pk, decision="return")
    returned = s.declaration_review(
        actor=world.users["reviewer"], declaration_id=declaration.pk, decision="return", comment="补充流水"
    )
    assert returned.state == DeclarationState.DRAFT and returned.last_comment == "补充流水"
    assert Notification.objects.filter(recipient=user, title__contains="退回").exists()
    # then the enterprise fixes and resubmits
    s.declaration_update(
        actor=user,
        declaration_id=declaration.pk,
        amount=200_000,
        term_months=12,
        purpose="进货",
        bank_codes=["boc"],
        basic_criteria=CRITERIA,
    )
    assert s.declaration_submit(actor=user, declaration_id=declaration.pk).state == DeclarationState.SUBMITTED


def test_reject_is_final(world):
    entity, user = world.entity()
    declaration = declare(world, entity, user)
    s.declaration_review(
        actor=world.users["staff"], declaration_id=declaration.pk, decision="reject", comment="非本县主体"
    )
    with pytest.raises(ApplicationError, match="不在审核环节"):
        s.declaration_review(actor=world.users["staff"], declaration_id=declaration.pk, decision="approve")
    with pytest.raises(ApplicationError, match="不能撤回"):
        s.declaration_withdraw(actor=user, declaration_id=declaration.pk)
    # and a new declaration is allowed after a final rejection
    declare(world, entity, user)


def test_withdraw_before_signoff_only(world):
    entity, user = world.entity()
    declaration = declare(world, entity, user)
    through_reviews(world, declaration)
    assert s.declaration_withdraw(actor=user, declaration_id=declaration.pk).state == DeclarationState.WITHDRAWN
    declaration2, user2, recs = pushed(world)
    with pytest.raises(ApplicationError, match="签字确认后的申报不能撤回"):
        s.declaration_withdraw(actor=user2, declaration_id=declaration2.pk)


@pytest.mark.parametrize(
    "stage_user,wrong_user", [("staff", "reviewer"), ("staff", "lead"), ("staff", "convener"), ("staff", "boc_admin")]
)
def test_each_review_stage_refuses_the_wrong_role(world, stage_user, wrong_user):
    entity, user = world.entity()
    declaration = declare(world, entity, user)
    with pytest.raises(ApplicationError) as error:
        s.declaration_review(actor=world.users[wrong_user], declaration_id=declaration.pk, decision="approve")
    assert error.value.code in ("permission_denied", "not_found")
    Declaration.objects.get(pk=declaration.pk, state=DeclarationState.SUBMITTED)


def test_the_enterprise_cannot_review_and_staff_cannot_withdraw(world):
    entity, user = world.entity()
    declaration = declare(world, entity, user)
    with pytest.raises(ApplicationError):
        s.declaration_review(actor=user, declaration_id=declaration.pk, decision="approve")
    with pytest.raises(ApplicationError, match="无权"):
        s.declaration_withdraw(actor=world.users["staff"], declaration_id=declaration.pk)


def test_bulk_review_reports_each_item(world):
    declarations = []
    for i in range(3):
        entity, user = world.entity(name=f"批量{i}")
        declarations.append(declare(world, entity, user))
    s.declaration_withdraw(
        actor=Declaration.objects.get(pk=declarations[2].pk).entity.organisation.memberships.first().user,
        declaration_id=declarations[2].pk,
    )
    results = s.declarations_review_bulk(
        actor=world.users["staff"], declaration_ids=[d.pk for d in declarations], decision="approve"
    )
    assert results[declarations[0].pk] == "ok" and results[declarations[1].pk] == "ok"
    assert "不在审核环节" in results[declarations[2].pk]


def test_signoff_needs_lead_approval_and_push_happens_once(world):
    entity, user = world.entity()
    declaration = declare(world, entity, user)
    with pytest.raises(ApplicationError, match="尚未通过组长审核"):
        s.batch_signoff(actor=world.users["convener"], declaration_ids=[declaration.pk])
    through_reviews(world, declaration)
    batch = s.batch_signoff(actor=world.users["convener"], declaration_ids=[declaration.pk])
    s.batch_push(actor=world.users["convener"], batch_id=batch.pk)
    # when the convener presses push again
    with pytest.raises(ApplicationError, match="未重复推送"):
        s.batch_push(actor=world.users["convener"], batch_id=batch.pk)
    # then there is still one recommendation per intended bank, and one branch notification each
    assert Recommendation.objects.filter(declaration=declaration).count() == 2
    assert Notification.objects.filter(recipient=world.users["boc_admin"], title__contains="新推送线索").count() == 1


def test_each_entity_goes_only_to_its_intended_banks(world):
    declaration, user, recs = pushed(world, banks=("ccb",))
    assert set(recs) == {"ccb"}
    assert not Notification.objects.filter(recipient=world.users["boc_admin"]).exists()


# --- the bank side ---------------------------------------------------------------------


def test_the_bank_cannot_skip_steps(world):
    declaration, user, recs = pushed(world)
    boc = recs["boc"]
    admin = world.users["boc_admin"]
    with pytest.raises(ApplicationError, match="须先登记材料收齐"):
        s.recommendation_approve(
            actor=admin,
            recommendation_id=boc.pk,
            credit_amount=1,
            rate_percent=Decimal("4"),
            term_months=12,
            guarantee="credit",
            is_credit_loan=True,
            is_first_loan=False,
        )
    with pytest.raises(ApplicationError, match="须先授信"):
        s.recommendation_disburse(actor=admin, recommendation_id=boc.pk, amount=1, disbursed_on=timezone.localdate())
    with pytest.raises(ApplicationError, match="不能登记材料收齐"):
        s.recommendation_materials_complete(actor=admin, recommendation_id=boc.pk)
    with pytest.raises(ApplicationError, match="未提款"):
        s.recommendation_not_drawn(actor=admin, recommendation_id=boc.pk)


def test_drawdowns_never_exceed_the_approved_amount_and_not_drawn_after_approval(world):
    declaration, user, recs = pushed(world)
    boc, admin = recs["boc"], world.users["boc_admin"]
    s.recommendation_contact(actor=admin, recommendation_id=boc.pk)
    s.recommendation_materials_complete(actor=admin, recommendation_id=boc.pk)
    s.recommendation_approve(
        actor=admin,
        recommendation_id=boc.pk,
        credit_amount=100_000,
        rate_percent=Decimal("3.9"),
        term_months=12,
        guarantee="surety",
        is_credit_loan=False,
        is_first_loan=False,
    )
    with pytest.raises(ApplicationError, match="放款金额 10.0001 万元超过剩余授信额度 10 万元"):
        s.recommendation_disburse(
            actor=admin, recommendation_id=boc.pk, amount=100_001, disbursed_on=timezone.localdate()
        )
    ccb, ccb_admin = recs["ccb"], world.users["ccb_admin"]
    s.recommendation_contact(actor=ccb_admin, recommendation_id=ccb.pk)
    s.recommendation_materials_complete(actor=ccb_admin, recommendation_id=ccb.pk)
    s.recommendation_approve(
        actor=ccb_admin,
        recommendation_id=ccb.pk,
        credit_amount=50_000,
        rate_percent=Decimal("3.9"),
        term_months=12,
        guarantee="credit",
        is_credit_loan=True,
        is_first_loan=True,
    )
    assert s.recommendation_not_drawn(actor=ccb_admin, recommendation_id=ccb.pk).state == RecommendationState.NOT_DRAWN


def test_approval_validates_its_fields(world):
    declaration, user, recs = pushed(world)
    boc, admin = recs["boc"], world.users["boc_admin"]
    s.recommendation_contact(actor=admin, recommendation_id=boc.pk)
    s.recommendation_materials_complete(actor=admin, recommendation_id=boc.pk)
    with pytest.raises(ApplicationError) as error:
        s.recommendation_approve(
            actor=admin,
            recommendation_id=boc.pk,
            credit_amount=-5,
            rate_percent="abc",
            term_months=0,
            guarantee="gold",
            is_credit_loan=True,
            is_first_loan=False,
        )
    assert set(error.value.field_errors) >= {"credit_amount", "rate_percent", "term_months", "guarantee"}
    Recommendation.objects.get(pk=boc.pk, state=RecommendationState.UNDER_REVIEW)


def test_account_manager_works_only_assigned_leads_and_other_banks_see_nothing(world):
    declaration, user, recs = pushed(world)
    boc = recs["boc"]
    # an unassigned lead is refused to the manager, as is another bank's
    with pytest.raises(ApplicationError):
        s.recommendation_contact(actor=world.users["boc_manager"], recommendation_id=boc.pk)
    with pytest.raises(ApplicationError) as error:
        s.recommendation_contact(actor=world.users["ccb_admin"], recommendation_id=boc.pk)
    assert error.value.code == "not_found"
    # once assigned (a guardian object permission), he may work it
    assign(world, boc, "boc")
    assert world.users["boc_manager"].has_perm("matching.work_recommendation", Recommendation.objects.get(pk=boc.pk))
    s.recommendation_contact(actor=world.users["boc_manager"], recommendation_id=boc.pk)


def test_decline_from_any_open_state_before_decision_and_not_after(world):
    declaration, user, recs = pushed(world)
    admin = world.users["boc_admin"]
    boc = recs["boc"]
    with pytest.raises(ApplicationError, match="请选择不予授信原因"):
        s.recommendation_decline(actor=admin, recommendation_id=boc.pk, reason_code="nope")
    s.recommendation_decline(actor=admin, recommendation_id=boc.pk, reason_code="credit_overdue")
    with pytest.raises(ApplicationError, match="不能登记不予授信"):
        s.recommendation_decline(actor=admin, recommendation_id=boc.pk, reason_code="credit_overdue")


def test_remove_stops_the_recommendation_and_then_the_declaration(world):
    declaration, user, recs = pushed(world)
    with pytest.raises(ApplicationError, match="说明原因"):
        s.recommendation_remove(actor=world.users["convener"], recommendation_id=recs["boc"].pk, reason=" ")
    s.recommendation_remove(actor=world.users["convener"], recommendation_id=recs["boc"].pk, reason="提供虚假材料")
    declaration = fresh(declaration)
    assert declaration.state == DeclarationState.RECOMMENDED
    s.recommendation_remove(actor=world.users["lead"], recommendation_id=recs["ccb"].pk, reason="提供虚假材料")
    declaration = fresh(declaration)
    assert declaration.state == DeclarationState.REMOVED
    with pytest.raises(ApplicationError, match="不能登记对接"):
        s.recommendation_contact(actor=world.users["boc_admin"], recommendation_id=recs["boc"].pk)


def test_bank_recommends_an_entity_to_the_task_force(world):
    entity, user = world.entity()
    declaration = s.declaration_recommend_by_bank(
        actor=world.users["boc_admin"], entity_id=entity.pk, amount=200_000, term_months=12, purpose="扩大经营"
    )
    # a draft that waits for the enterprise's consent (matching/tests/test_declaration_rules.py)
    assert declaration.state == DeclarationState.DRAFT and declaration.source == "bank"
    assert list(declaration.intended_banks.values_list("bank__code", flat=True)) == ["boc"]


def test_rating_only_after_a_decision_once_and_within_1_to_5(world):
    declaration, user, recs = pushed(world)
    boc = recs["boc"]
    with pytest.raises(ApplicationError, match="作出授信决定后"):
        s.satisfaction_rate(actor=user, recommendation_id=boc.pk, score=4)
    s.recommendation_decline(actor=world.users["boc_admin"], recommendation_id=boc.pk, reason_code="no_need")
    with pytest.raises(ApplicationError, match="1 至 5"):
        s.satisfaction_rate(actor=user, recommendation_id=boc.pk, score=6)
    s.satisfaction_rate(actor=user, recommendation_id=boc.pk, score=3)
    with pytest.raises(ApplicationError, match="已评价"):
        s.satisfaction_rate(actor=user, recommendation_id=boc.pk, score=3)


def test_every_transition_is_audited(world):
    declaration, user, recs = pushed(world)
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {
        "declaration.create",
        "declaration.submit",
        "declaration.preliminary_review.approve",
        "declaration.bank_review.approve",
        "declaration.lead_review.approve",
        "batch.signoff",
        "batch.push",
    } <= actions


def test_visit_record(world):
    entity, user = world.entity()
    visit = s.visit_record(
        actor=world.users["staff"],
        entity_id=entity.pk,
        visited_on=timezone.localdate(),
        people="周干事、吴经理",
        findings="需要流动资金 30 万元",
        need_found=True,
    )
    assert visit.task_force == world.task_force
    with pytest.raises(ApplicationError, match="晚于今天"):
        s.visit_record(
            actor=world.users["staff"],
            entity_id=entity.pk,
            visited_on=timezone.localdate() + dt.timedelta(days=1),
            people="x",
        )
    with pytest.raises(ApplicationError):
        s.visit_record(actor=user, entity_id=entity.pk, visited_on=timezone.localdate(), people="x")
