"""The task force's home (matching.home): 不予授信待辅导, the declined leads no one has coached
yet, each line the entity, the bank and the decline's reason and advice — read with just what
those lines show, restricted like every lead."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from matching import selectors
from matching import services as s
from matching.factories import pushed
from portal.factories import OrganisationFactory, region, user_with_role
from portal.models import OrganisationKind, Role

pytestmark = pytest.mark.django_db


def _declined(world, name):
    """A new enterprise's declaration pushed to 中国银行 and declined for an overdue record."""
    declaration, _, leads = pushed(world, banks=("boc",))
    lead = leads["boc"]
    lead.entity.name = name
    lead.entity.save(update_fields=["name"])
    s.recommendation_decline(actor=world.users["boc_admin"], recommendation_id=lead.pk, reason_code="credit_overdue")
    return lead


def test_the_home_lists_the_declines_awaiting_coaching_with_their_reason_in_one_read(world):
    # given two declined leads of 泽州, one of them coached already
    waiting = _declined(world, "泽州县待辅导小吃店")
    coached = _declined(world, "泽州县已辅导小吃店")
    s.coaching_record(actor=world.users["staff"], recommendation_id=coached.pk, note="已电话辅导结清逾期")
    client = Client()
    client.force_login(world.users["staff"])
    # when the task force's staff opens the home
    with CaptureQueriesContext(connection) as queries:
        page = client.get("/").content.decode()
    # then the one awaiting coaching has its line (entity · bank · reason, and the advice), the coached one none
    assert "泽州县待辅导小吃店</a> · 中国银行 · 征信存在逾期记录" in page
    assert "结清逾期并保持 6 个月以上良好记录后可再申请" in page
    assert "泽州县已辅导小吃店</a> · 中国银行" not in page  # (its notification still names it)
    # and the declines were read in one statement, with nothing of the lead list's row beside
    # (the lead's region, its account manager, its bank and reason read apart)
    sql = [q["sql"] for q in queries.captured_queries]
    declines = [q for q in sql if '"matching_coaching"' in q and q.startswith('SELECT "matching_recommendation"')]
    assert len(declines) == 1
    assert not [
        q for q in sql if q.startswith('SELECT "portal_region"') or q.startswith('SELECT "matching_declinereason"')
    ]
    assert selectors.declines_awaiting_coaching(user=world.users["staff"]).get() == waiting


def test_another_countys_task_force_sees_none_of_them(world):
    # given a declined lead of 泽州, and the task force of 阳城
    _declined(world, "泽州县待辅导小吃店")
    yangcheng = OrganisationFactory(kind=OrganisationKind.TASK_FORCE, region=region("140522"), name="阳城县专班")
    other = user_with_role(Role.TASK_FORCE_STAFF, organisation=yangcheng, username="yc-staff")
    # when 阳城's staff reads the declines awaiting coaching, and opens the home
    client = Client()
    client.force_login(other)
    page = client.get("/").content.decode()
    # then none of 泽州's are there
    assert list(selectors.declines_awaiting_coaching(user=other)) == []
    assert "泽州县待辅导小吃店" not in page
