"""Two people acting on the same record at once, with real concurrent PostgreSQL
transactions: one wins, the other is told, nothing is lost or doubled."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from matching import services as s
from matching.clocks import deadline_scan
from matching.factories import declare, through_reviews
from matching.models import (
    ClockKind,
    DeadlineClock,
    MaterialsStage,
    Notification,
    Recommendation,
    RecommendationState,
)
from portal.factories import user_with_role
from portal.models import Membership, Role

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL"),
]


def test_two_conveners_pushing_the_same_batch_at_once_push_it_once(world, run_together):
    # given a signed-off batch and two conveners of the county
    entity, user = world.entity()
    declaration = declare(world, entity, user)
    through_reviews(world, declaration)
    batch = s.batch_signoff(actor=world.users["convener"], declaration_ids=[declaration.pk])
    second_convener = user_with_role(Role.CONVENER, organisation=world.county, username="wf-convener-2")

    # when both press push at the same moment
    outcomes = run_together(
        lambda: s.batch_push(actor=world.users["convener"], batch_id=batch.pk),
        lambda: s.batch_push(actor=second_convener, batch_id=batch.pk),
    )

    # then one pushed, the other was told it was already pushed, and nothing is doubled
    assert sorted(o[0] for o in outcomes) == ["ok", "refused"], outcomes
    assert "未重复推送" in next(o[1] for o in outcomes if o[0] == "refused")
    assert Recommendation.objects.filter(declaration=declaration).count() == 2
    assert Notification.objects.filter(recipient=world.users["boc_admin"], title__contains="新推送线索").count() == 1


def test_two_conveners_signing_off_the_same_declaration_at_once(world, run_together):
    entity, user = world.entity()
    declaration = declare(world, entity, user)
    through_reviews(world, declaration)
    second_convener = user_with_role(Role.CONVENER, organisation=world.county, username="wf-convener-3")
    outcomes = run_together(
        lambda: s.batch_signoff(actor=world.users["convener"], declaration_ids=[declaration.pk]),
        lambda: s.batch_signoff(actor=second_convener, declaration_ids=[declaration.pk]),
    )
    assert sorted(o[0] for o in outcomes) == ["ok", "refused"], outcomes


def test_approve_and_decline_of_the_same_lead_at_once_one_wins(world, run_together):
    # given a lead under review at 中国银行, worked by its administrator and its manager
    entity, user = world.entity()
    declaration = declare(world, entity, user, banks=("boc",))
    through_reviews(world, declaration)
    batch = s.batch_signoff(actor=world.users["convener"], declaration_ids=[declaration.pk])
    s.batch_push(actor=world.users["convener"], batch_id=batch.pk)
    lead = Recommendation.objects.get(declaration=declaration)
    admin, manager = world.users["boc_admin"], world.users["boc_manager"]
    s.recommendations_assign(actor=admin, recommendation_ids=[lead.pk], manager_id=manager.pk)
    s.recommendation_contact(actor=manager, recommendation_id=lead.pk)
    s.recommendation_materials_complete(actor=manager, recommendation_id=lead.pk)

    # when one approves while the other declines
    outcomes = run_together(
        lambda: s.recommendation_approve(
            actor=manager,
            recommendation_id=lead.pk,
            credit_amount=200_000,
            rate_percent=Decimal("3.8"),
            term_months=12,
            guarantee="credit",
            is_credit_loan=True,
            is_first_loan=True,
        ),
        lambda: s.recommendation_decline(actor=admin, recommendation_id=lead.pk, reason_code="high_debt"),
    )

    # then exactly one decision stands, and the enterprise heard of exactly that one
    assert sorted(o[0] for o in outcomes) == ["ok", "refused"], outcomes
    final = Recommendation.objects.get(pk=lead.pk)
    assert final.state in (RecommendationState.APPROVED, RecommendationState.DECLINED)
    decisions = Notification.objects.filter(recipient=user).filter(title__regex="已为您授信|暂不予授信")
    assert decisions.count() == 1


def test_two_drawdowns_at_once_never_exceed_the_credit(world, run_together):
    entity, user = world.entity()
    declaration = declare(world, entity, user, banks=("boc",))
    through_reviews(world, declaration)
    batch = s.batch_signoff(actor=world.users["convener"], declaration_ids=[declaration.pk])
    s.batch_push(actor=world.users["convener"], batch_id=batch.pk)
    lead = Recommendation.objects.get(declaration=declaration)
    admin = world.users["boc_admin"]
    s.recommendation_contact(actor=admin, recommendation_id=lead.pk)
    s.recommendation_materials_complete(actor=admin, recommendation_id=lead.pk)
    s.recommendation_approve(
        actor=admin,
        recommendation_id=lead.pk,
        credit_amount=100_000,
        rate_percent=Decimal("4"),
        term_months=12,
        guarantee="credit",
        is_credit_loan=True,
        is_first_loan=False,
    )
    outcomes = run_together(
        lambda: s.recommendation_disburse(
            actor=admin, recommendation_id=lead.pk, amount=70_000, disbursed_on=timezone.localdate()
        ),
        lambda: s.recommendation_disburse(
            actor=admin, recommendation_id=lead.pk, amount=70_000, disbursed_on=timezone.localdate()
        ),
    )
    assert sorted(o[0] for o in outcomes) == ["ok", "refused"], outcomes
    assert Recommendation.objects.get(pk=lead.pk).disbursed_total == 70_000


def _submitted_lead(world):
    """A 中国银行 lead, assigned to its account manager, whose listed materials the enterprise
    declared submitted: (lead, enterprise user)."""
    entity, user = world.entity()
    declaration = declare(world, entity, user, banks=("boc",))
    through_reviews(world, declaration)
    batch = s.batch_signoff(actor=world.users["convener"], declaration_ids=[declaration.pk])
    s.batch_push(actor=world.users["convener"], batch_id=batch.pk)
    lead = Recommendation.objects.get(declaration=declaration)
    admin, manager = world.users["boc_admin"], world.users["boc_manager"]
    s.recommendations_assign(actor=admin, recommendation_ids=[lead.pk], manager_id=manager.pk)
    s.recommendation_contact(actor=manager, recommendation_id=lead.pk)
    s.recommendation_materials_list(actor=manager, recommendation_id=lead.pk, items=["营业执照", "经营流水"])
    s.recommendation_materials_submit(actor=user, recommendation_id=lead.pk)
    return Recommendation.objects.get(pk=lead.pk), user


def test_two_bank_users_answering_the_same_submitted_materials_at_once_one_wins(world, run_together):
    """Issue 15 item 17: the bank confirms the materials complete (材料已收齐) or names what is
    missing (补充材料). Two of its people answer the same submission at once, each from the page
    he opened: one answer stands, the other is told someone else has just answered."""
    lead, user = _submitted_lead(world)
    admin, manager = world.users["boc_admin"], world.users["boc_manager"]
    seen = lead.materials_version

    outcomes = run_together(
        lambda: s.recommendation_materials_complete(actor=admin, recommendation_id=lead.pk, version=seen),
        lambda: s.recommendation_materials_supplement(
            actor=manager, recommendation_id=lead.pk, missing=["经营流水"], version=seen
        ),
    )

    assert sorted(o[0] for o in outcomes) == ["ok", "refused"], outcomes
    assert "刚刚已由他人办理" in next(o[1] for o in outcomes if o[0] == "refused")
    final = Recommendation.objects.get(pk=lead.pk)
    complete = final.state == RecommendationState.UNDER_REVIEW
    assert complete == (final.materials_stage == MaterialsStage.CONFIRMED)
    assert complete or final.materials_stage == MaterialsStage.SUPPLEMENT
    # the enterprise heard of the answer that stands, and only of it
    heard = Notification.objects.filter(recipient=user)
    assert heard.filter(title__contains="申请材料收齐").count() == (1 if complete else 0)
    assert heard.filter(title__contains="补充申请材料").count() == (0 if complete else 1)
    assert DeadlineClock.objects.filter(recommendation=lead, kind=ClockKind.DECISION).count() == (1 if complete else 0)


def test_the_deadline_scan_and_the_bank_at_once_start_the_decision_clock_once(world, run_together):
    """The scan starts the 30-day clock when the bank's 5 working days ran out (自动起算) while the
    bank confirms at the same moment: the lead's row lock orders them, the clock starts once."""
    lead, user = _submitted_lead(world)
    DeadlineClock.objects.filter(recommendation=lead, kind=ClockKind.MATERIALS).update(
        due_at=timezone.now() - dt.timedelta(minutes=1)
    )
    seen = lead.materials_version

    outcomes = run_together(
        lambda: deadline_scan(now=timezone.now()),
        lambda: s.recommendation_materials_complete(
            actor=world.users["boc_admin"], recommendation_id=lead.pk, version=seen
        ),
    )

    scan, confirm = outcomes
    assert scan[0] == "ok", outcomes
    final = Recommendation.objects.get(pk=lead.pk)
    assert final.state == RecommendationState.UNDER_REVIEW
    assert DeadlineClock.objects.filter(recommendation=lead, kind=ClockKind.DECISION).count() == 1
    if confirm[0] == "ok":  # the bank came first: nothing left to start
        assert scan[1].auto_started == 0 and final.materials_stage == MaterialsStage.CONFIRMED
    else:  # the scan came first: the bank is told the clock started on its own
        assert scan[1].auto_started == 1 and final.materials_stage == MaterialsStage.AUTO_STARTED
        assert "自动起算" in confirm[1]


def test_两名银行管理员同时更正同一线索_一人成功_另一人得到明确提示(world, run_together):
    """issue 16 item 6: a correction acts on the lead the administrator saw; a second one sent at
    the same moment finds it moved and is told, instead of taking back one more state."""
    # given an approved lead, seen by two administrators of the bank (each page's version)
    declaration = declare(world, *world.entity(), banks=("boc",))
    through_reviews(world, declaration)
    batch = s.batch_signoff(actor=world.users["convener"], declaration_ids=[declaration.pk])
    s.batch_push(actor=world.users["convener"], batch_id=batch.pk)
    lead = Recommendation.objects.get(declaration=declaration)
    admin = world.users["boc_admin"]
    branch = Membership.objects.get(user=admin).organisation
    second_admin = user_with_role(Role.BANK_ADMIN, organisation=branch, username="wf-boc-admin-2")
    s.recommendation_contact(actor=admin, recommendation_id=lead.pk)
    s.recommendation_materials_complete(actor=admin, recommendation_id=lead.pk)
    s.recommendation_approve(
        actor=admin,
        recommendation_id=lead.pk,
        credit_amount=100_000,
        rate_percent=Decimal("3.8"),
        term_months=12,
        guarantee="credit",
        is_credit_loan=True,
        is_first_loan=False,
    )
    seen = s.correction_version(Recommendation.objects.get(pk=lead.pk))

    # when both take back the 授信 at the same moment
    outcomes = run_together(
        lambda: s.recommendation_state_correct(actor=admin, recommendation_id=lead.pk, reason="误点授信", version=seen),
        lambda: s.recommendation_state_correct(
            actor=second_admin, recommendation_id=lead.pk, reason="误点授信", version=seen
        ),
    )

    # then one corrected it, the other was told in Chinese, and only one state was taken back
    assert sorted(o[0] for o in outcomes) == ["ok", "refused"], outcomes
    assert "已被他人更正或办理" in next(o[1] for o in outcomes if o[0] == "refused")
    assert Recommendation.objects.get(pk=lead.pk).state == RecommendationState.UNDER_REVIEW
