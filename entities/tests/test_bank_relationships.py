"""Bank relationships (借贷往来): a bank records its own customers' borrowing there, for the
products whose conditions are about that relationship (001 附件2 示范标杆商户: "在建设银行累计用款期限
24 个月（含）以上, 并且在建设银行无不良贷款记录, 最近 12 个月内（含 12 个月）累计逾期次数不超过 3 次",
"在建设银行授信额度在 50 万元以上（含 50 万元）"). A bank sees and changes its own rows only."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.test import Client

from entities import selectors, services
from entities.models import BankRelationship, MarketEntity
from portal.factories import user_with_role
from portal.models import AuditEvent, Role
from portal.services import ApplicationError
from products.eligibility import evaluate_entity
from products.factories import valid_uscc
from products.models import Bank, LoanProduct

pytestmark = pytest.mark.django_db

API = "/api/v1/bank-relationships/"


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def post_json(client: Client, url: str, body: dict):
    return client.post(url, data=json.dumps(body), content_type="application/json", HTTP_ACCEPT="application/json")


def ccb_customer(**values) -> MarketEntity:
    """A development-tier individual business in 泽州 that meets 示范标杆商户 but for its CCB record."""
    base = dict(
        uscc=valid_uscc(),
        name="泽州县建行客户超市",
        entity_type="individual_business",
        register_status="active",
        established_on=dt.date(2019, 3, 1),
        region_id="140525",
        industry_id="5211",
        annual_revenue=1_500_000,
        tier="development",
        operator_birth_date=dt.date(1980, 1, 1),
        operator_nationality="CN",
        dishonest_debtor=False,
        joint_punishment=False,
        major_bad_record=False,
    )
    return MarketEntity.objects.create(**{**base, **values})


def benchmark(entity: MarketEntity):
    version = LoanProduct.objects.select_related("current_version", "bank").get(code="ccb-benchmark").current_version
    entity = MarketEntity.objects.prefetch_related("honors", "bank_relationships").get(pk=entity.pk)
    return evaluate_entity(entity, version).result


def test_示范标杆商户_reads_what_ccb_records_for_its_customer(world):
    """Without 建设银行's record the 准入标准 cannot be judged (信息不全); once CCB records 36 months
    borrowed, no non-performing loan, 1 overdue and a 60 万 line, the customer qualifies."""
    # given a customer CCB has not recorded yet
    entity = ccb_customer()
    assert benchmark(entity)["verdict"] == "incomplete"
    # when CCB's account manager records its borrowing there
    relationship = services.bank_relationship_record(
        actor=world.users["ccb_manager"],
        entity=entity,
        values={"months_borrowed": 36, "credit_line": 600_000, "non_performing": False, "overdue_12m": 1},
    )
    # then it is CCB's row, audited, and 示范标杆商户 reads it
    assert relationship.bank_id == Bank.objects.get(code="ccb").organisation_id
    assert AuditEvent.objects.filter(action="entity.bank_relationship_record").exists()
    result = benchmark(entity)
    assert result["verdict"] == "eligible"
    assert "在本行累计用款 36 个月, 要求不少于 24 个月" in [r["message"] for r in result["reasons"]]
    # and 4 overdues in 12 months at CCB refuse it, naming the condition
    services.bank_relationship_record(actor=world.users["ccb_manager"], entity=entity, values={"overdue_12m": 4})
    result = benchmark(entity)
    assert result["verdict"] == "ineligible"
    assert (
        "最近 12 个月内（含 12 个月）在建设银行累计逾期次数不超过 3 次: "
        "在本行最近 12 个月累计逾期 4 次, 要求不超过 3 次" in [r["message"] for r in result["reasons"]]
    )


def test_another_banks_record_is_not_read_by_a_ccb_product(world):
    entity = ccb_customer()
    services.bank_relationship_record(
        actor=world.users["boc_manager"],
        entity=entity,
        values={"months_borrowed": 60, "credit_line": 900_000, "non_performing": False, "overdue_12m": 0},
    )
    assert benchmark(entity)["verdict"] == "incomplete"


def test_a_bank_sees_and_changes_only_its_own_rows(world):
    # given CCB's and BOC's records of the same customer
    entity, enterprise_user = world.entity()
    ccb_row = services.bank_relationship_record(
        actor=world.users["ccb_manager"], entity=entity, values={"months_borrowed": 30}
    )
    boc_row = services.bank_relationship_record(
        actor=world.users["boc_admin"], entity=entity, values={"credit_line": 1}
    )
    # then each bank reads its own row only; the enterprise and the task force read both
    assert list(selectors.bank_relationship_list(user=world.users["ccb_admin"])) == [ccb_row]
    assert list(selectors.bank_relationship_list(user=world.users["boc_manager"])) == [boc_row]
    assert set(selectors.bank_relationship_list(user=enterprise_user)) == {ccb_row, boc_row}
    assert set(selectors.bank_relationship_list(user=world.users["staff"])) == {ccb_row, boc_row}
    # and another bank's row cannot be deleted: it is "not found", like an unknown one
    for relationship in (boc_row.pk, 2_000_000_000):
        with pytest.raises(ApplicationError) as refused:
            services.bank_relationship_delete(actor=world.users["ccb_admin"], relationship=relationship)
        assert refused.value.code == "not_found"
    assert BankRelationship.objects.filter(pk=boc_row.pk).exists()
    # and recording writes the recorder's own bank's row, never another's
    services.bank_relationship_record(actor=world.users["ccb_admin"], entity=entity, values={"months_borrowed": 31})
    boc_row.refresh_from_db()
    assert (boc_row.months_borrowed, boc_row.credit_line) == (None, 1)
    # the bank deletes its own
    services.bank_relationship_delete(actor=world.users["ccb_admin"], relationship=ccb_row.pk)
    assert list(BankRelationship.objects.filter(entity=entity)) == [boc_row]


@pytest.mark.parametrize("role", ["staff", "lead", "city"])
def test_only_bank_staff_record_relationships(world, role):
    entity, enterprise_user = world.entity()
    for user in (world.users[role], enterprise_user):
        with pytest.raises(ApplicationError) as refused:
            services.bank_relationship_record(actor=user, entity=entity, values={"months_borrowed": 1})
        assert refused.value.code == "permission_denied"
    assert not BankRelationship.objects.exists()


def test_a_bank_cannot_record_for_an_entity_it_may_not_see(world):
    # given an entity of 大同 the 泽州 account manager's branch does not serve, and one that does not share
    datong = ccb_customer(region_id="140212", name="大同新荣区商店")
    hidden = ccb_customer(name="泽州县不共享商店", data_shared_with_banks=False)
    for entity_id in (datong.pk, hidden.pk, 2_000_000_000):
        with pytest.raises(ApplicationError) as refused:
            services.bank_relationship_record(
                actor=world.users["ccb_manager"], entity=entity_id, values={"months_borrowed": 1}
            )
        assert refused.value.code == "not_found"
    assert not BankRelationship.objects.exists()


@pytest.mark.parametrize(
    "values, field",
    [
        ({"months_borrowed": -1}, "months_borrowed"),
        ({"credit_line": -5}, "credit_line"),
        ({"overdue_12m": 40_000}, "overdue_12m"),
        ({"non_performing": "yes"}, "non_performing"),
        ({"tier": "growth"}, "tier"),
    ],
)
def test_bad_values_are_refused_per_field(world, values, field):
    entity, _ = world.entity()
    with pytest.raises(ApplicationError) as refused:
        services.bank_relationship_record(actor=world.users["ccb_manager"], entity=entity, values=values)
    assert field in refused.value.field_errors
    assert not BankRelationship.objects.exists()


def test_the_api_records_and_lists_the_callers_own_rows(world):
    entity, _ = world.entity()
    ccb, boc = logged_in(world.users["ccb_manager"]), logged_in(world.users["boc_admin"])
    # when CCB posts its record
    response = post_json(
        ccb,
        API,
        {"entity_id": entity.pk, "months_borrowed": 26, "credit_line": 500000, "non_performing": False},
    )
    # then it is stored as CCB's and answered
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["entity_id"], body["months_borrowed"], body["credit_line"], body["overdue_12m"]) == (
        entity.pk,
        26,
        500000,
        None,
    )
    # and BOC's list does not show it, CCB's does
    assert boc.get(API, HTTP_ACCEPT="application/json").json()["results"] == []
    listed = ccb.get(f"{API}?entity_id={entity.pk}", HTTP_ACCEPT="application/json").json()["results"]
    assert [row["months_borrowed"] for row in listed] == [26]
    # a task force member may not post; an entity the bank cannot see answers like an unknown one
    assert post_json(logged_in(world.users["staff"]), API, {"entity_id": entity.pk}).status_code == 403
    datong = ccb_customer(region_id="140212")
    foreign = post_json(ccb, API, {"entity_id": datong.pk, "months_borrowed": 1})
    unknown = post_json(ccb, API, {"entity_id": 2_000_000_000, "months_borrowed": 1})
    assert foreign.status_code == unknown.status_code == 404
    assert foreign.json() == unknown.json()


def test_the_page_records_the_banks_own_row_and_the_entity_page_shows_only_visible_rows(world):
    entity, enterprise_user = world.entity()
    services.bank_relationship_record(
        actor=world.users["boc_admin"], entity=entity, values={"months_borrowed": 77, "credit_line": 123_456}
    )
    url = f"/entities/{entity.pk}/bank-relationship/"
    ccb = logged_in(world.users["ccb_manager"])
    # when CCB's account manager fills in the form
    assert ccb.get(url).status_code == 200
    response = ccb.post(url, {"months_borrowed": "25", "credit_line": "500000", "non_performing": "false"})
    # then CCB's row is saved and the entity page shows it, but not BOC's
    assert response.status_code == 302
    row = BankRelationship.objects.get(entity=entity, bank__code="bank-ccb")
    assert (row.months_borrowed, row.credit_line, row.non_performing, row.overdue_12m) == (25, 500_000, False, None)
    html = ccb.get(f"/entities/{entity.pk}/").content.decode()
    assert 'data-testid="bank-relationships"' in html and ">25<" in html and ">77<" not in html
    # the enterprise sees both on its own page, and cannot open the form
    html = logged_in(enterprise_user).get(f"/entities/{entity.pk}/").content.decode()
    assert ">25<" in html and ">77<" in html
    assert logged_in(enterprise_user).get(url).status_code == 403
    # a bad number is shown next to its field
    response = ccb.post(url, {"months_borrowed": "-3"})
    assert response.status_code == 400 and 'data-testid="error-months_borrowed"' in response.content.decode()
    # and the bank deletes its own row
    assert ccb.post(url, {"action": "delete"}).status_code == 302
    assert list(BankRelationship.objects.filter(entity=entity).values_list("months_borrowed", flat=True)) == [77]


def test_recording_rematches_the_entity_after_commit(world, django_capture_on_commit_callbacks, monkeypatch):
    # given an observer in place of the hooks later apps register (batch matching re-matches)
    seen: list[list[int]] = []
    monkeypatch.setattr("entities.changes.ENTITY_CHANGED_HOOKS", [seen.append])
    entity = ccb_customer()
    # when CCB records its customer's borrowing and the transaction commits
    with django_capture_on_commit_callbacks(execute=True):
        services.bank_relationship_record(actor=world.users["ccb_manager"], entity=entity, values={"overdue_12m": 0})
    # then the entity is announced as changed, once
    assert seen == [[entity.pk]]


def test_an_unrelated_role_cannot_list_them(world):
    user = user_with_role(Role.PLATFORM_ADMIN)
    entity, _ = world.entity()
    services.bank_relationship_record(actor=world.users["ccb_manager"], entity=entity, values={"months_borrowed": 2})
    # the platform administrator reads them (as every row), and is no bank: it records none
    assert selectors.bank_relationship_list(user=user).count() == 1
    with pytest.raises(ApplicationError):
        services.bank_relationship_record(actor=user, entity=entity, values={"months_borrowed": 3})
