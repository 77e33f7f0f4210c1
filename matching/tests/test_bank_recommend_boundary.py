"""银行推荐 (`POST /api/v1/declarations/bank-recommend/`) across the tenant boundary (issue 13,
finding 3): a bank recommends only entities it may see — in its service region and sharing
their data with banks. Any other id is answered exactly like an id that does not exist
(same status, same body), nothing is written, and nothing about the entity (name, USCC,
county, an open declaration) comes back. An account manager's recommendation answers 201
with the declaration he can follow, never a 500 after a commit."""

import datetime as dt

import pytest
from rest_framework.test import APIClient

from entities.models import MarketEntity
from matching import services as s
from matching.factories import CRITERIA
from matching.models import Declaration, DeclarationSource, DeclarationState, WorkflowEvent
from portal.factories import OrganisationFactory, region, user_with_role
from portal.models import AuditEvent, OrganisationKind, Role
from portal.services import ApplicationError
from products.factories import valid_uscc

pytestmark = pytest.mark.django_db

URL = "/api/v1/declarations/bank-recommend/"


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def body(entity_id) -> dict:
    return {"entity_id": entity_id, "amount": 200_000, "term_months": 12, "purpose": "扩大经营", "note": "老客户"}


def datong_entity(name="大同新荣推荐边界测试店") -> tuple[MarketEntity, object]:
    """An entity of another city (大同新荣区, with its task force), which a 晋城 bank branch does not serve."""
    OrganisationFactory(kind=OrganisationKind.TASK_FORCE, region=region("140212"), name="新荣区专班")
    org = OrganisationFactory(kind=OrganisationKind.ENTERPRISE, region=region("140212"), name=name)
    entity = MarketEntity.objects.create(
        uscc=valid_uscc().replace("140525", "140212"),
        name=name,
        entity_type="individual_business",
        register_status="active",
        established_on=dt.date(2019, 1, 1),
        region_id="140212",
        industry_id="5211",
        annual_revenue=700_000,
        organisation=org,
    )
    return entity, user_with_role(Role.ENTERPRISE_USER, organisation=org)


def written() -> tuple[int, int, int]:
    return (
        Declaration.objects.count(),
        WorkflowEvent.objects.count(),
        AuditEvent.objects.filter(action="declaration.bank_recommend").count(),
    )


def test_an_entity_the_bank_may_not_see_is_answered_like_an_unknown_id_and_nothing_is_written(world):
    # given a 晋城 bank administrator, an entity of another city, a 泽州 entity that has not
    # agreed to share its data with banks (with an open declaration of its own), and an id
    # that does not exist
    admin = world.users["boc_admin"]
    other_city, _ = datong_entity()
    private, owner = world.entity(name="泽州县不共享数据小店")
    MarketEntity.objects.filter(pk=private.pk).update(data_shared_with_banks=False)
    s.declaration_create(
        actor=owner,
        entity_id=private.pk,
        amount=100_000,
        term_months=12,
        purpose="进货",
        bank_codes=["boc"],
        basic_criteria=CRITERIA,
        consent=True,
        submit=True,
    )
    unknown_id = MarketEntity.objects.order_by("-pk").values_list("pk", flat=True).first() + 1000
    before = written()

    # when the bank recommends each of them
    unknown = client_for(admin).post(URL, body(unknown_id), format="json")
    answers = {entity: client_for(admin).post(URL, body(entity.pk), format="json") for entity in (other_city, private)}

    # then every answer is the unknown id's answer: 404, same code, message and field errors
    assert [r.status_code for r in answers.values()] == [404, 404]
    assert unknown.status_code == 404, unknown.content
    assert unknown.json()["code"] == "not_found" and set(unknown.json()["errors"]) == {"entity_id"}
    for entity, response in answers.items():
        assert (response.status_code, response.json()) == (unknown.status_code, unknown.json()), entity.name
        text = response.content.decode()
        # and nothing about the entity comes back: no name, USCC, county or open declaration
        assert entity.name not in text and entity.uscc not in text
        assert "140212" not in text and "新荣" not in text and "进行中" not in text
    # and nothing was written
    assert written() == before
    assert not Declaration.objects.filter(source=DeclarationSource.BANK).exists()


def test_the_service_refuses_an_entity_outside_the_banks_reach_before_looking_at_it(world):
    # given an entity of another city that already has an open declaration
    other_city, owner = datong_entity()
    s.declaration_create(
        actor=owner,
        entity_id=other_city.pk,
        amount=100_000,
        term_months=12,
        purpose="进货",
        bank_codes=["jshb"],
        basic_criteria=CRITERIA,
        consent=True,
        submit=True,
    )
    before = written()

    # when a 晋城 bank's account manager recommends it through the service
    with pytest.raises(ApplicationError) as refused:
        s.declaration_recommend_by_bank(
            actor=world.users["boc_manager"],
            entity_id=other_city.pk,
            amount=200_000,
            term_months=12,
            purpose="扩大经营",
        )

    # then it is "not found", not a conflict that would tell the open declaration apart
    assert refused.value.code == "not_found" and refused.value.message == "记录不存在或您无权操作"
    assert written() == before


def test_an_account_manager_recommends_a_visible_entity_and_gets_the_declaration_back(world):
    # given an account manager of the 泽州 sub-branch and a 泽州 entity sharing its data
    manager = world.users["boc_manager"]
    entity, _ = world.entity(name="泽州县客户经理推荐小店")
    before = Declaration.objects.count()

    # when he recommends it
    response = client_for(manager).post(URL, body(entity.pk), format="json")

    # then the answer is the created declaration (never a 500 after the commit)
    assert response.status_code == 201, response.content
    created = response.json()
    # (a draft: it waits for the enterprise's consent before the 初审)
    assert created["source"] == "bank" and created["source_bank"] == "boc" and created["state"] == "draft"
    assert created["entity"]["id"] == entity.pk and [b["code"] for b in created["banks"]] == ["boc"]
    # and exactly one declaration was committed, which he can follow afterwards
    assert Declaration.objects.count() == before + 1
    declaration = Declaration.objects.get(pk=created["id"])
    assert declaration.state == DeclarationState.DRAFT and declaration.created_by == manager
    follow = client_for(manager).get(f"/api/v1/declarations/{declaration.pk}/")
    assert follow.status_code == 200 and follow.json()["id"] == declaration.pk
    # and another account manager of the same branch does not see it
    colleague = user_with_role(Role.ACCOUNT_MANAGER, organisation=world.branches["boc"].organisation)
    assert client_for(colleague).get(f"/api/v1/declarations/{declaration.pk}/").status_code == 404


def test_an_account_manager_cannot_recommend_an_entity_that_does_not_share_its_data(world):
    # given a 泽州 entity that has not agreed to share its data with banks
    manager = world.users["boc_manager"]
    private, _ = world.entity(name="泽州县不共享数据二店")
    MarketEntity.objects.filter(pk=private.pk).update(data_shared_with_banks=False)
    before = written()

    # when the account manager recommends it
    response = client_for(manager).post(URL, body(private.pk), format="json")

    # then it is not found and nothing is written
    assert response.status_code == 404 and response.json()["message"] == "记录不存在或您无权操作"
    assert private.name not in response.content.decode() and private.uscc not in response.content.decode()
    assert written() == before
