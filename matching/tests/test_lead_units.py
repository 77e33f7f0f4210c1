"""Messages in the unit of the form (issue 16 item 4): "Messages use the unit of the form
(万元 in forms → 万元 in errors)". The lead page's amounts are typed in 万元; the services
speak 万元 in their amount messages, so the page and the API (whose amount fields stay in 元)
give the same message."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from matching import services as s
from matching.factories import pushed

pytestmark = pytest.mark.django_db


def test_放款超过剩余授信额度_页面和接口都以万元说明(world):
    """issue 16: "Messages use the unit of the form (万元 in forms → 万元 in errors)"."""
    admin = world.users["boc_admin"]
    _, _, leads = pushed(world, ("boc",))
    lead = leads["boc"]
    s.recommendation_contact(actor=admin, recommendation_id=lead.pk)
    s.recommendation_materials_complete(actor=admin, recommendation_id=lead.pk)
    s.recommendation_approve(
        actor=admin,
        recommendation_id=lead.pk,
        credit_amount=250_000,
        rate_percent="3.8",
        term_months=12,
        guarantee="credit",
        is_credit_loan=True,
        is_first_loan=False,
    )
    # when the administrator types 30 万元 on the page (25 万元 granted)
    client = Client()
    client.force_login(admin)
    today = timezone.localdate().isoformat()
    page = client.post(
        f"/matching/leads/{lead.pk}/act/disburse/", {"amount_wan": "30", "disbursed_on": today}, follow=True
    ).content.decode()
    # then the message is in 万元, never a figure in 元
    assert "放款金额 30 万元超过剩余授信额度 25 万元" in page and "250000 元" not in page
    # and the API (amount in 元) gives the same message
    api = APIClient()
    api.force_authenticate(admin)
    body = api.post(
        f"/api/v1/leads/{lead.pk}/disburse/", {"amount": 300_000, "disbursed_on": today}, format="json"
    ).json()
    assert body["message"] == "放款金额 30 万元超过剩余授信额度 25 万元"
    assert body["errors"]["amount"] == ["不能超过剩余授信额度 25 万元"]
