"""信息不全 pairs are not stored: who sees them, and the pages that show them.

A full run writes eligible pairs and near misses only; an entity's 信息不全 pairs are evaluated
live where a page shows them (an enterprise's 匹配产品, the 待标记三型 list), through
``UnstoredEntity``'s restriction. These tests hold that restriction to the stored results' one
(an actor sees an entity's live incomplete pairs exactly where he would see such a row) and the
live pages to the engine."""

import pytest
from django.test import Client
from django.utils import timezone

from batch_matching import selectors
from batch_matching.factories import _entity
from batch_matching.models import MatchResult, UnstoredEntity
from batch_matching.plan import INCOMPLETE, county_code
from entities.models import MarketEntity
from entities.services import recompute_classification
from portal.factories import user_with_role
from portal.models import Role
from portal.tenancy import restrict
from products.eligibility import evaluate_entity
from products.models import LoanProduct

pytestmark = pytest.mark.django_db
BATCH_ENTITIES = 80


def _actors(world) -> dict:
    return {
        **world.users,
        "enterprise": world.special["enterprise_user"],
        "bank without branch": user_with_role(Role.BANK_ADMIN),
        "province": user_with_role(Role.PROVINCE_REGULATOR),
    }


def test_an_actor_sees_live_incomplete_pairs_exactly_where_he_would_see_a_stored_one(matched):
    # given a row of verdict 1 for every entity, as the layout before stored them
    world, run = matched
    product = LoanProduct.objects.get(code="huishangdai")
    entities = list(MarketEntity.objects.order_by("id"))
    assert len({e.region_id for e in entities}) > 2
    MatchResult.objects.bulk_create(
        [
            MatchResult(
                generation=run.generation,
                entity_id=e.pk,
                product_id=product.pk,
                version_id=product.current_version_id,
                run_id=run.pk,
                verdict=INCOMPLETE,
                shared=e.data_shared_with_banks,
                near_miss=False,
                county=county_code(e.region_id),
            )
            for e in entities
            if not MatchResult.objects.filter(generation=run.generation, entity_id=e.pk, product_id=product.pk).exists()
        ]
    )
    stored_incomplete = MatchResult.objects.filter(generation=run.generation, verdict=INCOMPLETE)
    with_row = set(stored_incomplete.values_list("entity_id", flat=True))
    assert len(with_row) >= 20
    seen_by_someone = False
    for name, user in _actors(world).items():
        # when each actor reads them stored, and through the live pages' restriction
        stored = set(selectors.results(user=user).filter(pk__in=stored_incomplete).values_list("entity_id", flat=True))
        live = set(restrict(UnstoredEntity.objects.filter(pk__in=with_row), user).values_list("pk", flat=True))
        # then the same entities
        assert stored == live, name
        seen_by_someone = seen_by_someone or bool(live)
    assert seen_by_someone
    assert not restrict(UnstoredEntity.objects.all(), world.users["boc_manager"]).exists()  # a bank: never


def test_an_enterprise_sees_its_incomplete_products_live_and_a_bank_does_not(matched):
    # given the enterprise's entity after a full run (nothing 信息不全 is stored)
    world, run = matched
    entity = world.special["model"]
    assert not MatchResult.objects.filter(generation=run.generation, verdict=INCOMPLETE).exists()
    today = timezone.localdate()
    expected = {
        p.pk
        for p in LoanProduct.objects.filter(status="active").select_related("current_version")
        if evaluate_entity(entity, p.current_version, today).result["verdict"] == "incomplete"
    }
    assert expected
    # when the enterprise opens 匹配产品
    matches = selectors.entity_matches(user=world.special["enterprise_user"], entity=entity)
    # then its incomplete products are there, with the engine's reasons, after the eligible ones
    incomplete = [m for m in matches if m.verdict == INCOMPLETE]
    assert {m.product.pk for m in incomplete} == expected
    assert all(any(r["outcome"] == "unknown" for r in m.reasons) for m in incomplete)
    verdicts = [m.verdict for m in matches]
    assert verdicts == sorted(verdicts, reverse=True)
    client = Client()
    client.force_login(world.special["enterprise_user"])
    body = client.get("/matching-batch/mine/").content.decode()
    assert "信息不全" in body and incomplete[0].product.name in body
    # and an actor who may not see them gets none
    for user in (world.users["boc_manager"], user_with_role(Role.BANK_ADMIN)):
        assert not [m for m in selectors.entity_matches(user=user, entity=entity) if m.verdict == INCOMPLETE]


def _unmarked(name: str, region: str = "140525") -> MarketEntity:
    entity = _entity(name, tier=None, tier_imported=None, region_id=region)
    recompute_classification(entity)
    entity.save()
    return entity


def test_awaiting_mark_pages_through_every_unmarked_incomplete_entity_once_in_order(matched, monkeypatch):
    # given a dozen unmarked businesses in the county, one in another county of the city
    world, run = matched
    made = [_unmarked(f"泽州县待标记商店{n}") for n in range(12)]
    other = _unmarked("阳城县待标记商店", region="140522")
    today = timezone.localdate()
    product = LoanProduct.objects.select_related("current_version").get(code="huishangdai")
    expected = [
        e.pk
        for e in MarketEntity.objects.filter(tier__isnull=True, tier_computed__isnull=False, region_id="140525")
        .order_by("region_id", "pk")
        .prefetch_related("honors")
        if evaluate_entity(e, product.current_version, today).result["verdict"] == "incomplete"
    ]
    assert {e.pk for e in made} <= set(expected)
    staff = world.users["staff"]
    # when the county's staff pages through 待标记三型 for 惠商贷, 5 a page, reading at most 4
    # entities a request in batches of 3 (pages end early and go on)
    monkeypatch.setattr(selectors, "AWAITING_SCAN", 4)
    monkeypatch.setattr(selectors, "AWAITING_BATCH", 3)
    listed, cursor, pages = [], None, 0
    while True:
        rows, cursor = selectors.awaiting_mark(user=staff, product_id=product.pk, after=cursor, limit=5)
        pages += 1
        assert len(rows) <= 5
        listed += [row["entity"].pk for row in rows]
        if cursor is None:
            break
        assert pages < 50
    # then every one once, in order, each with its estimate and the live reason
    assert listed == expected and other.pk not in listed
    # and naming the other county gives the county's staff nothing of it
    rows, _ = selectors.awaiting_mark(user=staff, product_id=product.pk, county="140522", limit=500)
    assert rows == []
    # and the city regulator sees the other county's too; a bank nothing
    rows, _ = selectors.awaiting_mark(user=world.users["city"], product_id=product.pk, limit=500)
    assert other.pk in {row["entity"].pk for row in rows}
    assert selectors.awaiting_mark(user=world.users["boc_admin"], limit=500) == ([], None)
