"""Issue 16 item 11: notices meant for the enterprise (已推送, 已对接, 审核未通过, …) go to the
enterprise's users; the staff who filed on its behalf gets them only as a copy (抄送)."""

import pytest

from matching import services as s
from matching.factories import CRITERIA
from matching.models import Notification
from portal.factories import user_with_role
from portal.models import Role

pytestmark = pytest.mark.django_db


def _staff_files(world, entity):
    return s.declaration_create(
        actor=world.users["staff"],
        entity_id=entity.pk,
        amount=200_000,
        term_months=12,
        purpose="进货周转",
        bank_codes=["boc"],
        basic_criteria=CRITERIA,
        consent=True,
        submit=True,
    )


def _reviews(world, declaration):
    """The three reviews; the 初审 by another staff member (the filer never does it)."""
    other = user_with_role(Role.TASK_FORCE_STAFF, organisation=world.task_force, username="second-staff")
    s.declaration_review(actor=other, declaration_id=declaration.pk, decision="approve", comment="齐全")
    s.declaration_review(actor=world.users["reviewer"], declaration_id=declaration.pk, decision="approve")
    s.declaration_review(actor=world.users["lead"], declaration_id=declaration.pk, decision="approve")


def test_the_enterprise_gets_the_notice_and_the_filing_staff_a_copy(world):
    # given a declaration task-force staff filed for an enterprise that has a portal user
    entity, owner = world.entity()
    declaration = _staff_files(world, entity)
    _reviews(world, declaration)
    batch = s.batch_signoff(actor=world.users["convener"], declaration_ids=[declaration.pk])

    # when it is pushed to 中国银行
    s.batch_push(actor=world.users["convener"], batch_id=batch.pk)

    # then the enterprise's user is told, and the staff gets a copy that says whose notice it is
    mine = Notification.objects.get(recipient=owner, title__contains="已推送至")
    copy = Notification.objects.get(recipient=world.users["staff"], title__contains="已推送至")
    assert not mine.title.startswith("抄送")
    assert copy.title == f"抄送: {mine.title}"
    assert f"本通知发给{entity.name}, 您为其代为申报, 抄送知悉" in copy.body and "尚无平台账号" not in copy.body


def test_without_an_enterprise_user_the_copy_asks_the_staff_to_tell_the_enterprise(world):
    # given an entity with no portal user, filed by the staff
    entity, owner = world.entity(name="泽州县无账号小店", with_user=False)
    assert owner is None
    declaration = _staff_files(world, entity)

    # when it is reviewed, signed off and pushed
    _reviews(world, declaration)
    batch = s.batch_signoff(actor=world.users["convener"], declaration_ids=[declaration.pk])
    s.batch_push(actor=world.users["convener"], batch_id=batch.pk)

    # then the staff's copy says the enterprise has no account and asks to pass it on
    copy = Notification.objects.get(recipient=world.users["staff"], title__contains="已推送至")
    assert copy.title.startswith("抄送: ") and "该企业尚无平台账号, 请转告企业" in copy.body
