"""The enterprise's contact on the lead page (issue 16 item 1): "The account manager assigned
to a lead sees the consented contact (operator name and phone, unmasked for that manager only
while the lead is open, each view audited) and links to the entity and the declaration's
materials." The reveal is an explicit POST (nothing writes on a GET), the workflow table's
CONTACT_REVEAL row."""

from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.test import APIClient

from entities.models import MarketEntity
from matching import services as s
from matching import workflow
from matching.factories import assigned_lead
from matching.models import RecommendationState
from portal.factories import user_with_role
from portal.models import AuditEvent, Role

pytestmark = pytest.mark.django_db
NAME, PHONE = "李秀英", "13935612345"


def _page(user, path, method="get", **extra):
    client = Client()
    client.force_login(user)
    return getattr(client, method)(path, **extra)


def _api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def lead(world):
    """A lead of 中国银行 assigned to its 泽州 account manager; the entity's operator on record."""
    return assigned_lead(world, operator=(NAME, PHONE))


def _reveals():
    return AuditEvent.objects.filter(action="recommendation.contact_reveal")


def test_分配到线索的客户经理_查看联系方式_每次查看记入审计(world, lead):
    """issue 16: "The account manager assigned to a lead sees the consented contact (operator
    name and phone, unmasked for that manager only while the lead is open, each view audited)"."""
    manager = world.users["boc_manager"]
    # given the lead page opened by the assigned manager: masked, with a 查看联系方式 button, and no audit on the GET
    page = _page(manager, f"/matching/leads/{lead.pk}/").content.decode()
    assert PHONE not in page and "139****2345" in page and "李**" in page and NAME not in page
    assert f'action="/matching/leads/{lead.pk}/contact/"' in page and "查看联系方式" in page
    assert not _reveals().exists()

    # when he asks for it (htmx, as the button does), then the card shows the contact in clear
    fragment = _page(manager, f"/matching/leads/{lead.pk}/contact/", "post", HTTP_HX_REQUEST="true").content.decode()
    assert NAME in fragment and f'href="tel:{PHONE}"' in fragment and "记入审计日志" in fragment
    # and a plain form post gets the whole lead page with it
    full = _page(manager, f"/matching/leads/{lead.pk}/contact/", "post").content.decode()
    assert 'data-testid="lead-title"' in full and PHONE in full
    # and each view is an audit event naming him and the lead
    assert _reveals().count() == 2
    event = _reveals().first()
    assert event.actor == manager and event.object_id == str(lead.pk)
    assert event.after["fields"] == ["operator_name", "operator_phone"]
    # the API answers the same, audited too
    response = _api(manager).post(f"/api/v1/leads/{lead.pk}/contact-reveal/")
    assert response.status_code == 200, response.content
    assert response.json()["operator_name"] == NAME and response.json()["operator_phone"] == PHONE
    assert _reveals().count() == 3


def test_未分配的银行管理员和其他客户经理看不到联系方式(world, lead):
    """issue 16: "unmasked for that manager only": the branch administrator (not assigned) sees
    it masked and cannot reveal it; another account manager of the branch does not see the lead."""
    admin = world.users["boc_admin"]
    other = user_with_role(
        Role.ACCOUNT_MANAGER, organisation=world.branches["boc"].organisation, username="wf-boc-manager-2"
    )
    # the administrator: masked, no button, a reason
    page = _page(admin, f"/matching/leads/{lead.pk}/").content.decode()
    assert PHONE not in page and "139****2345" in page and "查看联系方式</button>" not in page
    assert "联系方式仅向分配办理该线索的客户经理显示" in page
    # his POSTs are refused, through the page and the API, and write no audit event
    assert PHONE not in _page(admin, f"/matching/leads/{lead.pk}/contact/", "post", follow=True).content.decode()
    assert _api(admin).post(f"/api/v1/leads/{lead.pk}/contact-reveal/").status_code == 403
    # the other manager and the other bank: the lead does not exist for them
    for outsider in (other, world.users["ccb_manager"], world.users["ccb_admin"]):
        assert _page(outsider, f"/matching/leads/{lead.pk}/contact/", "post").status_code == 404
        assert _api(outsider).post(f"/api/v1/leads/{lead.pk}/contact-reveal/").status_code in (403, 404)
    assert not _reveals().exists()


def test_线索办结后_联系方式不再显示(world, lead):
    """issue 16: "while the lead is open": after 不予授信 the assigned manager sees it masked."""
    manager = world.users["boc_manager"]
    s.recommendation_decline(actor=manager, recommendation_id=lead.pk, reason_code="no_need")
    page = _page(manager, f"/matching/leads/{lead.pk}/").content.decode()
    assert PHONE not in page and "线索已办结, 联系方式不再显示" in page and "查看联系方式</button>" not in page
    response = _api(manager).post(f"/api/v1/leads/{lead.pk}/contact-reveal/")
    assert response.status_code == 409 and response.json()["code"] == "conflict"
    # a button left on an open page gets the card back, masked, saying why
    card = _page(manager, f"/matching/leads/{lead.pk}/contact/", "post", HTTP_HX_REQUEST="true").content.decode()
    assert PHONE not in card and "该线索已办结, 不再显示企业联系方式" in card
    assert not _reveals().exists()
    # the table: open states only
    assert RecommendationState.DECLINED not in workflow.states(workflow.Action.CONTACT_REVEAL)
    assert RecommendationState.DISBURSED in workflow.states(workflow.Action.CONTACT_REVEAL)


def test_线索页链接到企业主页和申报材料(world, lead):
    """issue 16: "links to the entity and the declaration's materials"."""
    manager = world.users["boc_manager"]
    MarketEntity.objects.filter(pk=lead.entity_id).update(data_shared_with_banks=True)
    page = _page(manager, f"/matching/leads/{lead.pk}/").content.decode()
    assert f'href="/entities/{lead.entity_id}/"' in page
    assert 'href="#lead-materials"' in page and 'id="lead-materials"' in page
    assert f'href="/matching/declarations/{lead.declaration_id}/"' in page
    # an entity the bank may not open is not linked
    MarketEntity.objects.filter(pk=lead.entity_id).update(data_shared_with_banks=False)
    page = _page(manager, f"/matching/leads/{lead.pk}/").content.decode()
    assert f'href="/entities/{lead.entity_id}/"' not in page
