"""The enterprise's home (matching.home): its case's leads, each line with the bank, the branch,
the state, the clock and a decline's reason, read with just what those lines show; the entity
read once, with the related rows its products' live reasons need."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from matching import selectors
from matching import services as s
from matching.factories import pushed
from matching.models import Declaration, Recommendation

pytestmark = pytest.mark.django_db


def test_the_home_lists_each_lead_and_reads_the_entity_and_the_leads_once(world):
    # given a declaration pushed to 中国银行 and 建设银行, and 中国银行 declining it for an overdue record
    declaration, user, leads = pushed(world)
    s.recommendation_decline(
        actor=world.users["boc_admin"], recommendation_id=leads["boc"].pk, reason_code="credit_overdue"
    )
    client = Client()
    client.force_login(user)
    # when the enterprise opens its home
    with CaptureQueriesContext(connection) as queries:
        page = client.get("/").content.decode()
    # then each lead has its line: the bank, the branch, the state; the decline its reason and advice
    for code in ("boc", "ccb"):
        lead = Recommendation.objects.select_related("bank", "branch").get(pk=leads[code].pk)
        assert f"{lead.bank.name} · {lead.branch.name} · {lead.get_state_display()}" in page
    assert "不予授信: 征信存在逾期记录" in page and "结清逾期并保持 6 个月以上良好记录后可再申请" in page
    # and the entity was read once, the leads once for their lines (the rule of 一户一案 sees the
    # case open on them: no read of its own), with nothing of the lead list's row beside
    # (regions, account managers)
    sql = [q["sql"] for q in queries.captured_queries]
    assert sum(statement.startswith('SELECT "entities_marketentity"') for statement in sql) == 1
    assert sum('FROM "matching_recommendation"' in statement.split(" WHERE ")[0] for statement in sql) == 1
    assert not [statement for statement in sql if statement.startswith('SELECT "portal_region"')]


def test_another_enterprise_reads_none_of_the_leads_of_a_declaration_it_does_not_own(world):
    # given 泽州's declaration pushed to two banks, and another enterprise of the same county
    declaration, owner, leads = pushed(world)
    _, other = world.entity(name="泽州县另一家测试厂")
    # when each asks for the declaration's leads as its home does
    mine = selectors.declaration_leads(user=owner, declaration_id=declaration.pk)
    theirs = selectors.declaration_leads(user=other, declaration_id=declaration.pk)
    # then the owner gets both, the other enterprise none (restrict(): the same as not existing)
    assert {lead.pk for lead in mine} == {lead.pk for lead in leads.values()}
    assert list(theirs) == []
    # and the other enterprise's own home shows none of them
    client = Client()
    client.force_login(other)
    page = client.get("/").content.decode()
    assert not any(f"{lead.bank.name} · {lead.branch.name}" in page for lead in leads.values())


def _declare_again_offered(client) -> tuple[bool, list[str]]:
    with CaptureQueriesContext(connection) as queries:
        page = client.get("/").content.decode()
    return 'data-testid="declare-again"' in page, [q["sql"] for q in queries.captured_queries]


def _asks_for_undecided_leads(sql: list[str]) -> bool:
    """case_in_progress's last read: the entity's leads not yet decided at any bank."""
    return any('"matching_recommendation"."decided_at" IS NULL' in statement for statement in sql)


def test_a_case_its_leads_show_open_is_not_read_again_and_a_decided_one_offers_a_new_declaration(world):
    # given a declaration pushed to 中国银行 and 建设银行
    declaration, user, leads = pushed(world)
    client = Client()
    client.force_login(user)
    # when the enterprise opens its home while both banks are deciding
    offered, sql = _declare_again_offered(client)
    # then no new declaration is offered, and the open case was seen on its leads, not read again
    assert not offered
    assert s.case_shown_open(declaration, list(declaration.recommendations.all()))
    assert s.case_in_progress(declaration.entity) is not None
    assert not _asks_for_undecided_leads(sql)
    # when one bank declines, the case stays open (the other is deciding), still seen on the leads
    s.recommendation_decline(
        actor=world.users["boc_admin"], recommendation_id=leads["boc"].pk, reason_code="credit_overdue"
    )
    offered, sql = _declare_again_offered(client)
    assert not offered and not _asks_for_undecided_leads(sql)
    # and when both have declined, the rows in hand no longer show it open: the rule is asked
    # (case_in_progress, every condition) and a new declaration is offered
    s.recommendation_decline(
        actor=world.users["ccb_admin"], recommendation_id=leads["ccb"].pk, reason_code="credit_overdue"
    )
    declaration = Declaration.objects.get(pk=declaration.pk)
    assert not s.case_shown_open(declaration, list(declaration.recommendations.all()))
    offered, sql = _declare_again_offered(client)
    assert offered and _asks_for_undecided_leads(sql)
    assert s.case_in_progress(declaration.entity) is None
