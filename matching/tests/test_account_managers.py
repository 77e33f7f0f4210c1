"""The account managers a bank administrator may assign leads to are one selector
(matching.selectors.account_managers): the lead inbox offers exactly those, and
recommendations_assign accepts exactly those."""

import re

import pytest
from django.test import Client

from matching import selectors
from matching import services as s
from matching.factories import pushed
from matching.models import Recommendation
from portal.factories import user_with_role
from portal.models import Membership, Role
from portal.services import ApplicationError

pytestmark = pytest.mark.django_db


def _offered(admin) -> set[int]:
    client = Client()
    client.force_login(admin)
    html = client.get("/matching/leads/").content.decode()
    select = html.split('name="manager"')[1].split("</select>")[0]
    return {int(pk) for pk in re.findall(r'<option value="(\d+)"', select)}


def _accepted(admin, lead, candidate) -> bool:
    try:
        s.recommendations_assign(actor=admin, recommendation_ids=[lead.pk], manager_id=candidate.pk)
    except ApplicationError as error:
        assert error.field_errors == {"manager": ["无效的客户经理"]}
        return False
    return True


def test_the_inbox_offers_exactly_the_managers_the_assignment_accepts(world):
    # given the 中国银行 administrator of the 晋城 branch, his 泽州 sub-branch's account manager,
    admin, own = world.users["boc_admin"], world.users["boc_manager"]
    _, _, leads = pushed(world, banks=("boc",))
    lead = leads["boc"]
    # an account manager of the sub-branch who has left (deactivated),
    gone = user_with_role(
        Role.ACCOUNT_MANAGER, organisation=world.branches["boc"].organisation, username="gone-manager"
    )
    gone.is_active = False
    gone.save()
    # a user who administers the sub-branch but is an account manager only at 建设银行,
    mover = user_with_role(Role.ACCOUNT_MANAGER, organisation=world.branches["ccb"].organisation, username="mover")
    Membership.objects.create(
        user=mover, organisation=world.branches["boc"].organisation, role=Role.BANK_ADMIN, is_primary=False
    )
    # and 建设银行's own account manager
    other = world.users["ccb_manager"]

    # when the inbox offers its managers and the assignment is tried with each candidate
    offered = _offered(admin)
    accepted = {c.pk for c in (own, gone, mover, other) if _accepted(admin, lead, c)}

    # then both are the sub-branch's active account manager, and the selector's list
    assert offered == accepted == {own.pk}
    assert set(selectors.account_managers(user=admin).values_list("pk", flat=True)) == {own.pk}
    assert Recommendation.objects.get(pk=lead.pk).assigned_to == own
