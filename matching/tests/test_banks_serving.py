"""The banks serving a county are one selector (products.selectors.banks_serving): the declare
page offers exactly the banks the push routes a lead to, the banks API lists them, and a bank
that does not serve the county is refused with a Chinese field error when it is posted
(page, API, re-recommendation) instead of being refused later by the push."""

import re

import pytest
from django.test import Client

from matching import services as s
from matching.factories import CRITERIA
from matching.forms import NOT_SERVING
from matching.models import Declaration, Recommendation
from portal.factories import OrganisationFactory, region
from portal.models import OrganisationKind
from portal.services import ApplicationError
from products.models import Bank, BankBranch, BranchLevel, BranchRoute
from products.selectors import branch_for
from products.services import branch_ensure

pytestmark = pytest.mark.django_db

COUNTY = "140525"  # 泽州县, where the world's entities are


def _bank(code: str, name: str) -> tuple[Bank, BankBranch]:
    """A bank whose provincial branch serves 长治市 (1404) only."""
    bank = Bank.objects.create(
        code=code, name=name, organisation=OrganisationFactory(kind=OrganisationKind.BANK, region=region("140000"))
    )
    head = branch_ensure(
        bank=bank,
        parent=None,
        region=region("140000"),
        name=f"{name}山西分行",
        level=BranchLevel.PROVINCIAL,
        service_prefixes=["1404"],
    )
    return bank, head


@pytest.fixture
def serving_world(world):
    """The 泽州 world and three more banks: 长治银行 serves 长治 only; 休眠银行 has a 泽州 branch
    that is closed (inactive); 路由银行 serves 长治 but routes 泽州's leads to its provincial
    branch explicitly."""
    _bank("elsewhere", "长治银行")
    dormant, head = _bank("dormant", "休眠银行")
    closed = branch_ensure(
        bank=dormant,
        parent=head,
        region=region(COUNTY),
        name="休眠银行泽州支行",
        level=BranchLevel.COUNTY,
        service_prefixes=[COUNTY],
    )
    BankBranch.objects.filter(pk=closed.pk).update(is_active=False)
    routed, head = _bank("routed", "路由银行")
    BranchRoute.objects.create(bank=routed, county=region(COUNTY), branch=head)
    return world


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _declare_form(banks) -> dict:
    form = {
        "amount_wan": "30",
        "term_months": "12",
        "purpose": "进货周转",
        "banks": list(banks),
        "consent": "on",
        "submit": "1",
    }
    for key in CRITERIA:
        form[f"criteria_{key}"] = "on"
        form[f"evidence_{key}"] = "走访核实"
    return form


def test_the_declare_page_offers_exactly_the_banks_the_push_routes(serving_world):
    entity, user = serving_world.entity()
    client = _client(user)
    # when the enterprise opens 我要融资
    html = client.get("/matching/declare/").content.decode()
    offered = set(re.findall(r'name="banks" value="([\w-]+)"', html))
    # then the banks offered are exactly those the push finds a serving branch for
    routable = {bank.code for bank in Bank.objects.all() if branch_for(bank=bank, county_code=COUNTY) is not None}
    assert offered == routable
    assert {"boc", "ccb", "routed"} <= offered and not {"elsewhere", "dormant"} & offered
    # and the banks API lists the same for the county
    api = client.get("/api/v1/banks/", {"county": COUNTY, "page_size": 100}).json()
    assert {row["code"] for row in api.get("results", api)} == routable
    assert client.get("/api/v1/banks/", {"county": "泽州"}).status_code == 400


def test_a_bank_not_serving_the_county_is_refused_when_posted(serving_world):
    entity, user = serving_world.entity()
    # when the enterprise posts a bank whose only 泽州 branch is closed
    response = _client(user).post("/matching/declare/", _declare_form(["dormant"]))
    # then the page answers with the field's Chinese error and nothing is filed
    assert response.status_code == 400 and NOT_SERVING in response.content.decode()
    assert not Declaration.objects.filter(entity=entity).exists()
    # and the API (the same service) refuses a bank serving another city
    api = _client(user).post(
        "/api/v1/declarations/",
        {
            "entity_id": entity.pk,
            "amount": 300_000,
            "term_months": 12,
            "purpose": "进货",
            "banks": ["elsewhere"],
            "consent": True,
        },
        content_type="application/json",
    )
    assert api.status_code == 400
    assert api.json()["errors"]["banks"] == ["长治银行在泽州县没有服务机构, 请选择其他银行"]
    assert not Declaration.objects.filter(entity=entity).exists()


def test_an_offered_bank_is_pushed_to_its_routed_branch(serving_world):
    entity, user = serving_world.entity()
    u = serving_world.users
    # given a declaration to 路由银行, offered through its route only
    response = _client(user).post("/matching/declare/", _declare_form(["routed"]))
    assert response.status_code == 302
    declaration = Declaration.objects.get(entity=entity)
    for who in ("staff", "reviewer", "lead"):
        s.declaration_review(actor=u[who], declaration_id=declaration.pk, decision="approve")
    batch = s.batch_signoff(actor=u["convener"], declaration_ids=[declaration.pk])
    # when it is pushed
    s.batch_push(actor=u["convener"], batch_id=batch.pk)
    # then the lead goes to the routed branch
    rec = Recommendation.objects.get(declaration=declaration)
    assert rec.branch == BranchRoute.objects.get(bank__code="routed").branch


def test_re_recommending_to_a_bank_not_serving_the_county_is_refused(serving_world):
    entity, user = serving_world.entity()
    u = serving_world.users
    declaration = s.declaration_create(
        actor=user,
        entity_id=entity.pk,
        amount=300_000,
        term_months=12,
        purpose="进货周转",
        bank_codes=["ccb"],
        basic_criteria=CRITERIA,
        consent=True,
        submit=True,
    )
    for who in ("staff", "reviewer", "lead"):
        s.declaration_review(actor=u[who], declaration_id=declaration.pk, decision="approve")
    s.batch_push(
        actor=u["convener"], batch_id=s.batch_signoff(actor=u["convener"], declaration_ids=[declaration.pk]).pk
    )
    declined = Recommendation.objects.get(declaration=declaration)
    s.recommendation_decline(actor=u["ccb_admin"], recommendation_id=declined.pk, reason_code="high_debt")
    # the detail page's 改推 choices are the county's banks
    html = _client(u["convener"]).get(f"/matching/declarations/{declaration.pk}/").content.decode()
    choices = set(re.findall(r'<option value="([\w-]+)"', html.split('name="bank"')[1].split("</select>")[0]))
    assert "routed" in choices and not {"elsewhere", "dormant"} & choices
    with pytest.raises(ApplicationError) as refused:
        s.recommendation_redirect(actor=u["convener"], recommendation_id=declined.pk, bank_code="dormant")
    assert refused.value.field_errors == {"bank": ["休眠银行在泽州县没有服务机构, 请选择其他银行"]}
    assert Declaration.objects.filter(entity=entity).count() == 1
