"""Approvals within limits (issue 13, finding 8): a credit approval above the product version's
cap, above the declared need, or with a rate or term outside the product's range needs a bank
administrator's override with a reason, recorded on the lead, its timeline, the audit log and
the ledger; an account manager's is refused with a Chinese field error naming the limit; and
no amount, rate or term beyond what the columns hold is ever accepted (nor answers 500)."""

import pytest
from django.test import Client
from rest_framework.test import APIClient

from matching import services as s
from matching.factories import CRITERIA
from matching.models import Recommendation, RecommendationState, WorkflowEvent
from portal.models import AuditEvent
from products.models import LoanProduct

pytestmark = pytest.mark.django_db

# 中国银行's lead gets 惠商贷 v1: ≤ 100 万元, 3.5%–4.0%, ≤ 12 个月; the declared need is 30 万元
WITHIN = {
    "credit_amount": 300_000,
    "rate_percent": "3.650",
    "term_months": 12,
    "guarantee": "credit",
    "is_credit_loan": True,
    "is_first_loan": True,
}
HUGE = {**WITHIN, "credit_amount": 5_000_000_000_000, "rate_percent": "0.001", "term_months": 360}


@pytest.fixture
def lead_world(world):
    """The 泽州 world with one lead of 中国银行 (`world.lead`, declared by `world.enterprise`)
    assigned to its account manager, contacted and with complete materials: ready for a decision."""
    entity, world.enterprise = world.entity()
    declaration = s.declaration_create(
        actor=world.enterprise,
        entity_id=entity.pk,
        amount=300_000,
        term_months=12,
        purpose="进货周转",
        bank_codes=["boc"],
        basic_criteria=CRITERIA,
        consent=True,
        submit=True,
    )
    for key in ("staff", "reviewer", "lead"):
        s.declaration_review(actor=world.users[key], declaration_id=declaration.pk, decision="approve")
    s.batch_push(
        actor=world.users["convener"],
        batch_id=s.batch_signoff(actor=world.users["convener"], declaration_ids=[declaration.pk]).pk,
    )
    world.lead = Recommendation.objects.get(declaration=declaration)
    # the limits under test are 惠商贷's (the push names the product that fits best, here
    # 商E贷 for an unmarked shop: the lead is set to 惠商贷 v1)
    huishang = LoanProduct.objects.get(code="huishangdai")
    Recommendation.objects.filter(pk=world.lead.pk).update(product_version=huishang.current_version)
    world.lead = Recommendation.objects.get(pk=world.lead.pk)
    admin, manager = world.users["boc_admin"], world.users["boc_manager"]
    s.recommendations_assign(actor=admin, recommendation_ids=[world.lead.pk], manager_id=manager.pk)
    s.recommendation_contact(actor=manager, recommendation_id=world.lead.pk)
    s.recommendation_materials_complete(actor=manager, recommendation_id=world.lead.pk)
    return world


def approve(user, world, data):
    client = APIClient()
    client.force_authenticate(user)
    return client.post(f"/api/v1/leads/{world.lead.pk}/approve/", data, format="json")


def unchanged(world):
    lead = Recommendation.objects.get(pk=world.lead.pk)
    return lead.state == RecommendationState.UNDER_REVIEW and lead.credit_amount is None and lead.override_reason == ""


@pytest.mark.parametrize(
    "change,field,limit",
    [
        ({"credit_amount": 1_200_000}, "credit_amount", "最高额度 100 万元"),
        ({"credit_amount": 400_000}, "credit_amount", "融资需求 30 万元"),
        ({"rate_percent": "4.350"}, "rate_percent", "利率上限 4.0%"),
        ({"rate_percent": "3.000"}, "rate_percent", "利率下限 3.5%"),
        ({"term_months": 24}, "term_months", "最长期限 12 个月"),
    ],
)
def test_an_account_manager_approval_beyond_a_limit_is_refused_naming_the_limit(lead_world, change, field, limit):
    # when the account manager approves beyond one limit
    response = approve(lead_world.users["boc_manager"], lead_world, {**WITHIN, **change})
    # then it is a field error saying what the limit is, and nothing is decided
    assert response.status_code == 400, response.content
    body = response.json()
    assert any(limit in message for message in body["errors"][field]), body["errors"]
    assert all("银行管理员" in message for message in body["errors"][field])
    assert unchanged(lead_world)


def test_within_the_limits_the_account_manager_approves_without_override(lead_world):
    response = approve(lead_world.users["boc_manager"], lead_world, WITHIN)
    assert response.status_code == 200 and response.json()["state"] == "approved"
    assert response.json()["override_reason"] == "" and response.json()["override_exceeded"] == []


def test_a_bank_administrator_overrides_with_a_reason_recorded_everywhere(lead_world):
    admin = lead_world.users["boc_admin"]
    beyond = {**WITHIN, "credit_amount": 400_000, "rate_percent": "4.350", "term_months": 24}
    # when the administrator approves beyond the limits without a reason, he is asked for one
    response = approve(admin, lead_world, beyond)
    assert response.status_code == 400 and "override_reason" in response.json()["errors"]
    assert {"credit_amount", "rate_percent", "term_months"} <= set(response.json()["errors"])
    assert unchanged(lead_world)
    # and with a reason it is approved, the override recorded with what it exceeded
    response = approve(admin, lead_world, {**beyond, "override_reason": "抵押物充足, 分行贷审会同意"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["state"] == "approved" and body["credit_amount"] == 400_000
    assert body["override_reason"] == "抵押物充足, 分行贷审会同意" and len(body["override_exceeded"]) == 3
    assert body["override_by"] == (admin.get_full_name() or admin.username)
    event = WorkflowEvent.objects.get(recommendation=lead_world.lead, kind="recommendation.approved")
    assert event.data["override_reason"] == "抵押物充足, 分行贷审会同意"
    assert (
        AuditEvent.objects.get(action="recommendation.approve").after["override_reason"] == "抵押物充足, 分行贷审会同意"
    )
    # shown in the ledger (API, export) and on the lead page
    client = APIClient()
    client.force_authenticate(lead_world.users["city"])
    rows = client.get("/api/v1/ledger/").json()["results"]
    override = next(r for r in rows if r["id"] == lead_world.lead.pk)["approval_override"]
    assert "抵押物充足" in override and "融资需求 30 万元" in override
    assert "抵押物充足" in client.get("/api/v1/ledger/export.csv/").content.decode("utf-8")
    page = Client()
    page.force_login(admin)
    html = page.get(f"/matching/leads/{lead_world.lead.pk}/").content.decode()
    assert "抵押物充足, 分行贷审会同意" in html
    page.force_login(lead_world.users["city"])
    assert 'data-testid="ledger-override"' in page.get("/matching/ledger/").content.decode()


def test_five_trillion_at_a_thousandth_percent_for_thirty_years_needs_an_override(lead_world):
    # the account manager is refused, naming the limits
    response = approve(lead_world.users["boc_manager"], lead_world, HUGE)
    assert response.status_code == 400 and {"credit_amount", "rate_percent", "term_months"} <= set(
        response.json()["errors"]
    )
    # and so is the administrator without a reason
    response = approve(lead_world.users["boc_admin"], lead_world, HUGE)
    assert response.status_code == 400 and "override_reason" in response.json()["errors"]
    assert unchanged(lead_world)


@pytest.mark.parametrize(
    "change,field",
    [
        ({"credit_amount": 2**63}, "credit_amount"),
        ({"credit_amount": 10**30}, "credit_amount"),
        ({"rate_percent": "36.000"}, "rate_percent"),
        ({"term_months": 361}, "term_months"),
        ({"term_months": 2**63}, "term_months"),
    ],
)
def test_beyond_the_columns_is_a_field_error_even_with_an_override(lead_world, change, field):
    response = approve(lead_world.users["boc_admin"], lead_world, {**WITHIN, **change, "override_reason": "试图超限"})
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"]
    assert unchanged(lead_world)


def test_a_rate_with_more_decimals_than_the_column_holds_is_refused(lead_world):
    from portal.services import ApplicationError

    with pytest.raises(ApplicationError) as error:
        s.recommendation_approve(
            actor=lead_world.users["boc_admin"],
            recommendation_id=lead_world.lead.pk,
            credit_amount=300_000,
            rate_percent="3.6505",
            term_months=12,
            guarantee="credit",
            is_credit_loan=True,
            is_first_loan=False,
        )
    assert "rate_percent" in error.value.field_errors
    assert unchanged(lead_world)


def test_the_lead_page_approval_form_names_the_limits_and_asks_the_administrator_for_a_reason(lead_world):
    page = Client()
    page.force_login(lead_world.users["boc_admin"])
    html = page.get(f"/matching/leads/{lead_world.lead.pk}/").content.decode()
    assert "融资需求 30.00 万元" in html or "融资需求 30 万元" in html
    assert 'name="override_reason"' in html
    page.force_login(lead_world.users["boc_manager"])
    html = page.get(f"/matching/leads/{lead_world.lead.pk}/").content.decode()
    assert 'name="override_reason"' not in html and "超出限额须由银行管理员审批" in html
    # and a page approval beyond the limits by the manager comes back with the limit in the message
    response = page.post(
        f"/matching/leads/{lead_world.lead.pk}/act/approve/",
        {
            "credit_amount_wan": "120",
            "rate_percent": "3.65",
            "term_months": "12",
            "guarantee": "credit",
            "is_credit_loan": "on",
        },
        follow=True,
    )
    assert "最高额度 100 万元" in response.content.decode()
    assert unchanged(lead_world)
