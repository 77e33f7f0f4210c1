"""Two regulators (or two bank staff) acting on the same register record at once, with real
concurrent PostgreSQL transactions: one wins, the other is told in Chinese, nothing is doubled.

"名特优新" is "被省市场监管局认定" (001 附件 三(二)): a county's proposal is decided once, by one
provincial regulator; the row lock is taken through the restriction (resolve(..., lock=True))."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.utils import timezone

from entities import services
from entities.models import BankRelationship, Honor, HonorProposal
from matching.models import Notification
from portal.factories import user_with_role
from portal.models import AuditEvent, Role

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL"),
]

UNTIL = timezone.localdate() + dt.timedelta(days=3 * 365)


@pytest.fixture
def proposal(world):
    entity, _ = world.entity(name="泽州县并发审核面馆")
    return services.honor_propose(
        actor=world.users["staff"], entity=entity, action="grant", kind="quality", valid_until=UNTIL, reason="口碑好"
    )


def test_two_provincial_regulators_deciding_the_same_proposal_one_wins_被省市场监管局认定(
    world, proposal, run_together
):
    """001 附件 三(二) "被省市场监管局认定为'名特优新'": one decision stands; the other regulator is
    told the proposal was already decided, and no second title or notice is made."""
    # given two regulators of the provincial market regulator
    first = user_with_role(Role.PROVINCE_REGULATOR, username="cc-province-1")
    second = user_with_role(Role.PROVINCE_REGULATOR, username="cc-province-2")

    # when one approves while the other rejects, at the same moment
    outcomes = run_together(
        lambda: services.honor_proposal_decide(actor=first, proposal_id=proposal.pk, decision="approve"),
        lambda: services.honor_proposal_decide(
            actor=second, proposal_id=proposal.pk, decision="reject", note="材料不足"
        ),
    )

    # then exactly one decided it, the other was refused in Chinese with the state it found
    assert sorted(o[0] for o in outcomes) == ["ok", "refused"], outcomes
    refusal = next(o[1] for o in outcomes if o[0] == "refused")
    assert refusal.startswith("该申请已审核(当前状态: ")
    final = HonorProposal.objects.get(pk=proposal.pk)
    assert final.get_state_display() in refusal
    # and what the winner decided is all that happened: a title only on approval, one decision
    # audited, the proposer told once
    assert Honor.objects.filter(entity=proposal.entity_id).count() == (1 if final.state == "approved" else 0)
    assert AuditEvent.objects.filter(action="entity.honor_proposal_decide").count() == 1
    told = Notification.objects.filter(recipient=world.users["staff"], title__contains="名特优新认定申请")
    assert told.count() == 1


def test_two_approvals_at_once_grant_one_title(world, proposal, run_together):
    first = user_with_role(Role.PROVINCE_REGULATOR, username="cc-province-3")
    second = user_with_role(Role.PROVINCE_REGULATOR, username="cc-province-4")
    outcomes = run_together(
        *[
            lambda actor=actor: services.honor_proposal_decide(actor=actor, proposal_id=proposal.pk, decision="approve")
            for actor in (first, second)
        ]
    )
    assert sorted(o[0] for o in outcomes) == ["ok", "refused"], outcomes
    assert "已审核" in next(o[1] for o in outcomes if o[0] == "refused")
    assert Honor.objects.filter(entity=proposal.entity_id, kind="quality").count() == 1


def test_two_managers_recording_the_same_customer_at_once_keep_one_row(world, run_together):
    """The bank's record of its customer ("在建设银行累计用款期限…", 001 附件2) is one row per
    bank and customer: two of its staff saving the first record at once both succeed (the second
    updates the first's row), never an error from the unique constraint."""
    entity, _ = world.entity(name="泽州县并发建行客户")
    second_manager = user_with_role(
        Role.ACCOUNT_MANAGER, organisation=world.branches["ccb"].organisation, username="cc-ccb-manager-2"
    )
    outcomes = run_together(
        lambda: services.bank_relationship_record(
            actor=world.users["ccb_manager"], entity=entity.pk, values={"months_borrowed": 30}
        ),
        lambda: services.bank_relationship_record(
            actor=second_manager, entity=entity.pk, values={"credit_line": 500_000}
        ),
    )
    assert [o[0] for o in outcomes] == ["ok", "ok"], outcomes
    row = BankRelationship.objects.get(entity=entity)
    assert (row.months_borrowed, row.credit_line) == (30, 500_000)
