"""名特优新 is recognised by the provincial regulator (issue 15 item 2).

001 附件 三(二): "被省市场监管局认定为'名特优新'的个体工商户, 且在有效期内". Only the provincial
regulator (or an import of the provincial list) grants or revokes the title; a county task
force proposes — a request the province approves or rejects, with notifications and audit."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from entities.factories import MarketEntityFactory
from entities.models import Honor, HonorProposal
from entities.services import honor_proposal_decide, honor_propose
from matching.models import Notification
from portal.errors import ApplicationError
from portal.factories import user_with_role
from portal.models import AuditEvent, Organisation, OrganisationKind, Role

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
UNTIL = TODAY + dt.timedelta(days=3 * 365)


@pytest.fixture
def people():
    staff = user_with_role(Role.TASK_FORCE_STAFF, first_name="周干事")
    colleague = user_with_role(Role.TASK_FORCE_LEAD, organisation=staff.memberships.get().organisation)
    province = user_with_role(Role.PROVINCE_REGULATOR)
    return {"staff": staff, "colleague": colleague, "province": province}


def client_of(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_county_proposes_名特优新_and_the_province_approves_被省市场监管局认定(people):
    """001 附件 三(二): "被省市场监管局认定为'名特优新'"."""
    entity = MarketEntityFactory(name="泽州县老字号面馆")
    staff, province = client_of(people["staff"]), client_of(people["province"])

    # when the county task force proposes 特色 with the validity period it suggests
    response = staff.post(
        f"/entities/{entity.pk}/honors/propose/",
        {"kind": "distinctive", "valid_until": UNTIL.isoformat(), "reason": "泽州特色面食, 经营满 5 年"},
    )

    # then no title exists yet: a pending proposal, audited, and the province is notified
    assert response.status_code == 302
    assert not Honor.objects.exists()
    proposal = HonorProposal.objects.get()
    assert (proposal.state, proposal.kind, proposal.valid_until, proposal.proposed_by) == (
        "pending",
        "distinctive",
        UNTIL,
        people["staff"],
    )
    assert AuditEvent.objects.filter(action="entity.honor_propose", object_id=str(entity.pk)).exists()
    note = Notification.objects.get(recipient=people["province"])
    assert "名特优新认定申请待审核" in note.title and entity.name in note.title
    # and the province sees it in its queue with the decision buttons; the county sees it without them
    queue = province.get("/entities/honor-proposals/").content.decode()
    assert entity.name in queue and 'data-testid="decide-form"' in queue
    county_list = staff.get("/entities/honor-proposals/").content.decode()
    assert entity.name in county_list and 'data-testid="decide-form"' not in county_list

    # when the province approves it
    decided = province.post(f"/entities/honor-proposals/{proposal.pk}/decide/", {"decision": "approve", "note": ""})

    # then the title is granted with the proposed period, the proposal is approved, both audited,
    # and the proposer and the colleagues of his task force are notified
    assert decided.status_code == 302
    honor = Honor.objects.get(entity=entity)
    assert (honor.kind, honor.valid_until, honor.source) == ("distinctive", UNTIL, "regulator")
    proposal.refresh_from_db()
    assert (proposal.state, proposal.decided_by) == ("approved", people["province"])
    grant = AuditEvent.objects.get(action="entity.honor_grant", object_id=str(entity.pk))
    assert grant.actor == people["province"] and grant.after["proposal"] == proposal.pk
    assert AuditEvent.objects.filter(action="entity.honor_proposal_decide").exists()
    told = Notification.objects.filter(title__contains="名特优新认定申请已批准")
    assert {n.recipient for n in told} == {people["staff"], people["colleague"]}


def test_the_province_rejects_with_a_reason_and_the_county_is_told(people):
    entity = MarketEntityFactory()
    proposal = honor_propose(
        actor=people["staff"], entity=entity.pk, action="grant", kind="quality", valid_until=UNTIL, reason="口碑好"
    )
    # a rejection needs a note
    with pytest.raises(ApplicationError) as refused:
        honor_proposal_decide(actor=people["province"], proposal_id=proposal.pk, decision="reject")
    assert refused.value.field_errors == {"note": ["不批准须填写审核意见"]}
    # with one, the proposal is rejected, no title is granted, and the proposer is told why
    honor_proposal_decide(actor=people["province"], proposal_id=proposal.pk, decision="reject", note="材料不足")
    proposal.refresh_from_db()
    assert (proposal.state, proposal.decision_note) == ("rejected", "材料不足")
    assert not Honor.objects.exists()
    note = Notification.objects.get(recipient=people["staff"], title__contains="未批准")
    assert note.body == "材料不足"
    # a decided proposal is not decided again
    with pytest.raises(ApplicationError) as again:
        honor_proposal_decide(actor=people["province"], proposal_id=proposal.pk, decision="approve")
    assert again.value.code == "conflict"


def test_a_county_proposes_a_revocation_and_the_province_revokes(people):
    entity = MarketEntityFactory()
    honor = Honor.objects.create(entity=entity, kind="quality", valid_until=UNTIL, source="import")
    staff = client_of(people["staff"])
    # a revocation without a reason is refused next to the title
    refused = staff.post(
        f"/entities/{entity.pk}/honors/propose/", {"action": "revoke", "honor": honor.pk, "reason": ""}
    )
    assert refused.status_code == 400 and "请填写理由" in refused.content.decode()
    staff.post(
        f"/entities/{entity.pk}/honors/propose/", {"action": "revoke", "honor": honor.pk, "reason": "已转让经营"}
    )
    proposal = HonorProposal.objects.get(action="revoke")
    assert Honor.objects.filter(pk=honor.pk).exists()  # still held until the province decides
    # the same proposal twice is refused while one is pending
    with pytest.raises(ApplicationError) as twice:
        honor_propose(actor=people["staff"], entity=entity.pk, action="revoke", honor_id=honor.pk, reason="再次")
    assert twice.value.code == "conflict"
    honor_proposal_decide(actor=people["province"], proposal_id=proposal.pk, decision="approve")
    assert not Honor.objects.filter(pk=honor.pk).exists()
    event = AuditEvent.objects.get(action="entity.honor_revoke")
    assert event.after["reason"] == "已转让经营" and event.after["proposal"] == proposal.pk


@pytest.mark.parametrize("role", [Role.TASK_FORCE_STAFF, Role.TASK_FORCE_LEAD, Role.CITY_REGULATOR, Role.CONVENER])
def test_only_the_province_decides_a_proposal(people, role):
    entity = MarketEntityFactory()
    proposal = honor_propose(
        actor=people["staff"], entity=entity.pk, action="grant", kind="quality", valid_until=UNTIL, reason="口碑好"
    )
    user = user_with_role(role)
    # on the page (the role is refused before anything is read) and through the service
    assert client_of(user).post(
        f"/entities/honor-proposals/{proposal.pk}/decide/", {"decision": "approve"}
    ).status_code in (
        403,
        404,
    )
    with pytest.raises(ApplicationError) as refused:
        honor_proposal_decide(actor=user, proposal_id=proposal.pk, decision="approve")
    assert refused.value.code in ("permission_denied", "not_found")
    proposal.refresh_from_db()
    assert proposal.state == "pending" and not Honor.objects.exists()


@pytest.mark.parametrize("role", [Role.BANK_ADMIN, Role.ACCOUNT_MANAGER, Role.ENTERPRISE_USER, Role.CONVENER])
def test_banks_enterprises_and_conveners_cannot_propose(role):
    entity = MarketEntityFactory()
    user = user_with_role(role)
    response = client_of(user).post(
        f"/entities/{entity.pk}/honors/propose/", {"kind": "quality", "valid_until": UNTIL.isoformat(), "reason": "x"}
    )
    assert response.status_code in (403, 404) and not HonorProposal.objects.exists()
    if role in (Role.BANK_ADMIN, Role.ACCOUNT_MANAGER, Role.ENTERPRISE_USER):
        assert client_of(user).get("/entities/honor-proposals/").status_code == 403


def test_a_countys_proposals_are_not_seen_by_a_county_of_another_city(people):
    # given a proposal of 泽州县 (晋城) and the task force of 新荣区 (大同)
    entity = MarketEntityFactory(name="泽州县申请中的店")
    honor_propose(
        actor=people["staff"], entity=entity.pk, action="grant", kind="quality", valid_until=UNTIL, reason="x"
    )
    elsewhere = user_with_role(Role.TASK_FORCE_STAFF, region_code="140212")
    # then it is not in its list
    assert "泽州县申请中的店" not in client_of(elsewhere).get("/entities/honor-proposals/?state=all").content.decode()
    assert Organisation.objects.filter(kind=OrganisationKind.TASK_FORCE).count() >= 2


def test_an_honour_without_an_end_date_shows_有效期待确认_on_the_entity_page(people):
    """名特优新 has a validity period ("且在有效期内"): a title without an end date is neither
    valid nor expired on the entity page — 有效期待确认, as the engine's `unknown`."""
    entity = MarketEntityFactory()
    Honor.objects.create(entity=entity, kind="emerging", valid_until=None, source="import")
    body = client_of(people["province"]).get(f"/entities/{entity.pk}/").content.decode()
    assert 'data-testid="honor-validity-unknown"' in body and "有效期待确认" in body
