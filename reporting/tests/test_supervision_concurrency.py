"""Two people acting on one 督办单 at the same moment (real PostgreSQL transactions; seed
004_b2811ebd7ee390f8.txt 十六 "及时发现问题、解决问题": one answer per order)."""

import pytest

from portal.factories import user_with_role
from portal.models import Role
from reporting.models import SupervisionState
from reporting.supervision import services as s

pytestmark = pytest.mark.django_db(transaction=True)


def test_two_administrators_answering_one_order_at_once_answer_it_once(overdue_world, run_together):
    # given a 督办单 to 中国银行泽州支行 and two administrators of 中国银行晋城分行 above it
    world = overdue_world
    lead = world.overdue_leads[0]
    order = s.supervision_issue(
        actor=world.users["city"],
        target_id=lead.branch.organisation_id,
        subject="逾期未反馈督办",
        demand="请反馈",
        due_working_days=3,
        lead_ids=[lead.pk],
    )
    first = world.users["boc_admin"]
    second = user_with_role(
        Role.BANK_ADMIN, organisation=first.memberships.get().organisation, username="sv-boc-admin-2"
    )
    # when both answer at the same moment
    outcomes = run_together(
        lambda: s.supervision_answer(actor=first, order_id=order.pk, answer="第一份回复"),
        lambda: s.supervision_answer(actor=second, order_id=order.pk, answer="第二份回复"),
    )
    # then one answer is recorded and the other is told the order moved on
    assert sorted(o[0] for o in outcomes) == ["ok", "refused"]
    assert any("当前状态不能回复督办单(当前状态: 已回复)" in str(o[1]) for o in outcomes)
    order.refresh_from_db()
    assert order.state == SupervisionState.ANSWERED
    assert order.events.filter(kind="answered").count() == 1
