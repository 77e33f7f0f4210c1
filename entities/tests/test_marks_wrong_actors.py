"""The regulator's marks and the banks' records, tried by every wrong actor (issue 15 items 1, 2
and 11): another county's task force, another city's or province's regulator, a county task
force where only the province may act, the banks (another bank's row, another branch's
customer), the enterprise and an anonymous visitor — through the pages and the API, with ids in
the path and in the body.

"名特优新" is "被省市场监管局认定" (001 附件 三(二)): only the provincial regulator grants,
revokes or decides a proposal; the 三型 mark is set by city and provincial regulators; a bank
records "在建设银行累计用款期限…" for its own customers only (001 附件2). A wrong actor gets a 404
(what it may not see does not exist for it) or a 403 with a Chinese reason, never a 500, and
nothing is written."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field

import pytest
from django.test import Client
from django.utils import timezone

from entities import services
from entities.models import BankRelationship, EntityChange, Honor, HonorProposal, MarketEntity
from portal.factories import user_with_role
from portal.models import AuditEvent, Role
from products.models import Bank, BankBranch, BranchLevel

pytestmark = pytest.mark.django_db

UNTIL = timezone.localdate() + dt.timedelta(days=3 * 365)
API = "/api/v1/bank-relationships/"


@dataclass
class Scene:
    entity: MarketEntity
    neighbour: MarketEntity  # another 泽州 entity, with its own title
    honor: Honor
    neighbour_honor: Honor
    proposal: HonorProposal
    ccb_row: BankRelationship
    boc_row: BankRelationship
    users: dict = field(default_factory=dict)


@pytest.fixture
def scene(world) -> Scene:
    """A 泽州 individual business holding a 名特优新 title, with a pending proposal of the county,
    and 建设银行's and 中国银行's records of its borrowing; every actor of the matrix."""
    entity, owner = world.entity(name="泽州县标记测试面馆")
    neighbour, neighbour_owner = world.entity(name="泽州县邻家小店")
    honor = Honor.objects.create(entity=entity, kind="quality", valid_until=UNTIL, source="import")
    neighbour_honor = Honor.objects.create(entity=neighbour, kind="distinctive", valid_until=UNTIL, source="import")
    proposal = services.honor_propose(
        actor=world.users["staff"], entity=entity, action="grant", kind="emerging", valid_until=UNTIL, reason="新品牌"
    )
    ccb_row = services.bank_relationship_record(
        actor=world.users["ccb_manager"], entity=entity, values={"months_borrowed": 30, "credit_line": 600_000}
    )
    boc_row = services.bank_relationship_record(
        actor=world.users["boc_admin"], entity=entity, values={"months_borrowed": 77, "credit_line": 123_456}
    )
    ccb_datong = BankBranch.objects.get(bank=Bank.objects.get(code="ccb"), level=BranchLevel.CITY, region_id="140200")
    users = {
        **world.users,
        "enterprise": owner,
        "neighbour_enterprise": neighbour_owner,
        "province": user_with_role(Role.PROVINCE_REGULATOR, username="mk-province"),
        "henan_province": user_with_role(Role.PROVINCE_REGULATOR, region_code="410000", username="mk-henan"),
        "other_staff": user_with_role(Role.TASK_FORCE_STAFF, region_code="140212", username="mk-xinrong-staff"),
        "other_lead": user_with_role(Role.TASK_FORCE_LEAD, region_code="140212", username="mk-xinrong-lead"),
        "other_city": user_with_role(Role.CITY_REGULATOR, region_code="140200", username="mk-datong-city"),
        "ccb_datong_admin": user_with_role(
            Role.BANK_ADMIN, organisation=ccb_datong.organisation, username="mk-ccb-datong"
        ),
        "platform_admin": user_with_role(Role.PLATFORM_ADMIN, username="mk-platform"),
        "anonymous": None,
    }
    return Scene(entity, neighbour, honor, neighbour_honor, proposal, ccb_row, boc_row, users)


def client_of(user) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def state() -> tuple:
    """Everything these pages may write: equal before and after = nothing written."""
    return (
        sorted(MarketEntity.objects.values_list("pk", "tier_imported", "tier_mark_source")),
        sorted(Honor.objects.values_list("pk", "entity_id", "kind", "valid_until")),
        sorted(HonorProposal.objects.values_list("pk", "state", "action", "kind")),
        sorted(BankRelationship.objects.values_list("pk", "bank_id", "months_borrowed", "credit_line")),
        EntityChange.objects.count(),
        AuditEvent.objects.filter(action__startswith="entity.").exclude(action="entity.view").count(),
    )


# (actor, method, url template, body, expected status): {e} the entity, {h} its title, {n} the
# neighbour's title, {p} the pending proposal
PAGE_CASES = [
    # 标记三型: city and provincial regulators of the entity's region only
    *[("staff", m, "/entities/{e}/tier-mark/", {"tier": "growth", "note": "x"}, 403) for m in ("get", "post")],
    ("lead", "post", "/entities/{e}/tier-mark/", {"tier": "growth", "note": "x"}, 403),
    ("other_staff", "post", "/entities/{e}/tier-mark/", {"tier": "growth", "note": "x"}, 404),
    ("other_city", "post", "/entities/{e}/tier-mark/", {"tier": "growth", "note": "x"}, 404),
    ("henan_province", "post", "/entities/{e}/tier-mark/", {"tier": "growth", "note": "x"}, 404),
    ("convener", "post", "/entities/{e}/tier-mark/", {"tier": "growth", "note": "x"}, 404),
    ("ccb_manager", "post", "/entities/{e}/tier-mark/", {"tier": "growth", "note": "x"}, 404),
    ("boc_admin", "get", "/entities/{e}/tier-mark/", {}, 404),
    ("enterprise", "post", "/entities/{e}/tier-mark/", {"tier": "growth", "note": "x"}, 403),
    ("neighbour_enterprise", "post", "/entities/{e}/tier-mark/", {"tier": "growth", "note": "x"}, 404),
    ("anonymous", "post", "/entities/{e}/tier-mark/", {"tier": "growth", "note": "x"}, 302),
    # 认定 / 撤销 名特优新: the provincial regulator only
    *[
        (actor, "post", "/entities/{e}/honors/", {"kind": "distinctive", "valid_until": UNTIL.isoformat()}, code)
        for actor, code in [
            ("staff", 403),
            ("lead", 403),
            ("city", 403),
            ("other_staff", 404),
            ("other_city", 404),
            ("henan_province", 404),
            ("ccb_admin", 404),
            ("enterprise", 403),
            ("neighbour_enterprise", 404),
            ("platform_admin", 403),
            ("anonymous", 302),
        ]
    ],
    *[
        (actor, "post", "/entities/{e}/honors/revoke/", {"honor": "{h}", "reason": "撤销"}, code)
        for actor, code in [
            ("staff", 403),
            ("lead", 403),
            ("city", 403),
            ("other_city", 404),
            ("henan_province", 404),
            ("boc_manager", 404),
            ("enterprise", 403),
            ("anonymous", 302),
        ]
    ],
    ("province", "get", "/entities/{e}/honors/revoke/", {}, 405),
    # a title of another entity named in the body, by the province that may revoke both
    ("province", "post", "/entities/{e}/honors/revoke/", {"honor": "{n}", "reason": "撤销"}, 404),
    ("province", "post", "/entities/{e}/honors/revoke/", {"honor": "abc", "reason": "撤销"}, 404),
    ("province", "post", "/entities/{e}/honors/revoke/", {"honor": "99999999999999999999", "reason": "x"}, 404),
    # 提出名特优新申请: county task forces and city regulators of the region
    *[
        (actor, "post", "/entities/{e}/honors/propose/", {"kind": "quality", "valid_until": "2030-01-01"}, code)
        for actor, code in [
            ("province", 403),
            ("other_staff", 404),
            ("other_city", 404),
            ("ccb_manager", 404),
            ("enterprise", 403),
            ("anonymous", 302),
        ]
    ],
    ("staff", "post", "/entities/{e}/honors/propose/", {"action": "revoke", "honor": "{n}", "reason": "x"}, 404),
    ("other_staff", "post", "/entities/{e}/honors/propose/", {"action": "revoke", "honor": "{h}", "reason": "x"}, 404),
    # deciding a proposal: the provincial regulator of the entity's province only
    *[
        (actor, "post", "/entities/honor-proposals/{p}/decide/", {"decision": "approve"}, code)
        for actor, code in [
            ("staff", 403),
            ("lead", 403),
            ("city", 403),
            ("convener", 403),
            ("other_staff", 403),
            ("other_city", 403),
            ("henan_province", 404),
            ("boc_admin", 403),
            ("enterprise", 403),
            ("platform_admin", 403),
            ("anonymous", 302),
        ]
    ],
    ("province", "post", "/entities/honor-proposals/2000000000/decide/", {"decision": "approve"}, 404),
    ("henan_province", "get", "/entities/honor-proposals/", {}, 200),  # its own (empty) queue
    ("ccb_manager", "get", "/entities/honor-proposals/", {}, 403),
    ("enterprise", "get", "/entities/honor-proposals/", {}, 403),
    # 填报本行借贷往来: bank staff whose bank may see the entity
    *[
        (actor, method, "/entities/{e}/bank-relationship/", body, code)
        for method, body in (("get", {}), ("post", {"months_borrowed": "5"}), ("post", {"action": "delete"}))
        for actor, code in [
            ("staff", 403),
            ("city", 403),
            ("province", 403),
            ("enterprise", 403),
            ("neighbour_enterprise", 404),
            ("other_staff", 404),
            ("ccb_datong_admin", 404),
            ("anonymous", 302),
        ]
    ],
]


def _fill(value, scene: Scene):
    if not isinstance(value, str):
        return value
    return (
        value.replace("{e}", str(scene.entity.pk))
        .replace("{h}", str(scene.honor.pk))
        .replace("{n}", str(scene.neighbour_honor.pk))
        .replace("{p}", str(scene.proposal.pk))
    )


@pytest.mark.parametrize(
    "actor, method, url, body, expected",
    PAGE_CASES,
    ids=[f"{c[0]}-{c[1]}-{c[2]}-{i}" for i, c in enumerate(PAGE_CASES)],
)
def test_a_wrong_actor_is_refused_on_the_mark_pages_and_nothing_is_written(scene, actor, method, url, body, expected):
    """ "被省市场监管局认定为'名特优新'" (001 附件 三(二)): whoever is not the one to act gets a 404
    (another region's entity, or a title of another entity) or a 403 with a Chinese reason."""
    # given the database as it is
    before = state()
    # when the wrong actor opens or posts the page
    response = getattr(client_of(scene.users[actor]), method)(
        _fill(url, scene), {k: _fill(v, scene) for k, v in body.items()}
    )
    # then it is refused as expected, and nothing is written
    assert response.status_code == expected, response.content.decode()[:500]
    assert state() == before
    if expected == 403:
        assert "没有权限" in response.content.decode()
    if expected == 302:
        assert response["Location"].startswith("/accounts/login/")


def test_the_403_page_says_who_may_act(scene):
    """The refusal names the rule: 名特优新 is decided by the province, 三型 by city/province."""
    honors = client_of(scene.users["staff"]).post(
        f"/entities/{scene.entity.pk}/honors/", {"kind": "quality", "valid_until": UNTIL.isoformat()}
    )
    assert honors.status_code == 403 and "名特优新由省市场监管局认定" in honors.content.decode()
    tier = client_of(scene.users["staff"]).get(f"/entities/{scene.entity.pk}/tier-mark/")
    assert tier.status_code == 403 and "三型标记由市、省级市场监管部门标记" in tier.content.decode()
    bank = client_of(scene.users["staff"]).get(f"/entities/{scene.entity.pk}/bank-relationship/")
    assert bank.status_code == 403 and "只有银行工作人员可以填报" in bank.content.decode()


def test_a_title_of_another_entity_is_not_found_like_an_unknown_one(scene):
    """The province may revoke both titles, but only through the entity that holds each: a
    neighbour's title named on this entity's page is answered like an unknown id."""
    province = client_of(scene.users["province"])
    url = f"/entities/{scene.entity.pk}/honors/revoke/"
    foreign = province.post(url, {"honor": scene.neighbour_honor.pk, "reason": "撤销"})
    unknown = province.post(url, {"honor": 2_000_000_000, "reason": "撤销"})
    assert foreign.status_code == unknown.status_code == 404
    assert 'data-testid="revoke-alert"' in foreign.content.decode()
    assert "该称号不存在或已被撤销" in foreign.content.decode()
    assert Honor.objects.filter(pk=scene.neighbour_honor.pk).exists()


# --- the API ------------------------------------------------------------------------------------


def api(client: Client, method: str, url: str, body: dict | None = None):
    if method == "get":
        return client.get(url, HTTP_ACCEPT="application/json")
    return getattr(client, method)(
        url, data=json.dumps(body or {}), content_type="application/json", HTTP_ACCEPT="application/json"
    )


@pytest.mark.parametrize(
    "actor, expected",
    [
        ("staff", 403),
        ("lead", 403),
        ("other_city", 404),
        ("henan_province", 404),
        ("ccb_manager", 404),
        ("enterprise", 403),
        ("neighbour_enterprise", 404),
        ("anonymous", 401),
    ],
)
def test_the_tier_mark_api_refuses_wrong_actors(scene, actor, expected):
    """ "在'全省个体工商户名录库'中被标记为'三型'" (001 附件 三(二)): POST …/tier-mark/ by a role
    that may not mark, or on an entity outside its region."""
    before = state()
    response = api(
        client_of(scene.users[actor]), "post", f"/api/v1/entities/{scene.entity.pk}/tier-mark/", {"tier": "growth"}
    )
    assert response.status_code in ((401, 403) if expected == 401 else (expected,)), response.content
    assert state() == before
    if response.status_code == 403 and actor != "anonymous":
        assert "三型" in response.json()["message"] or "没有权限" in response.json()["message"]


def test_a_bank_writes_only_its_own_row_whatever_the_body_names(scene):
    """ "在建设银行累计用款期限" is what CCB records: a body naming 中国银行's row (its id, its bank)
    still writes CCB's own row, and 中国银行's is untouched."""
    ccb = client_of(scene.users["ccb_manager"])
    boc_bank_id = scene.boc_row.bank_id
    response = api(
        ccb,
        "post",
        API,
        {
            "entity_id": scene.entity.pk,
            "id": scene.boc_row.pk,
            "bank_id": boc_bank_id,
            "bank": boc_bank_id,
            "months_borrowed": 31,
        },
    )
    assert response.status_code == 200, response.content
    assert response.json()["id"] == scene.ccb_row.pk and response.json()["bank_id"] == scene.ccb_row.bank_id
    scene.boc_row.refresh_from_db()
    scene.ccb_row.refresh_from_db()
    assert (scene.boc_row.months_borrowed, scene.ccb_row.months_borrowed) == (77, 31)


@pytest.mark.parametrize("method", ["get", "put", "patch", "delete"])
def test_no_bank_relationship_is_reached_by_id_in_the_url(scene, method):
    before = state()
    for pk in (scene.boc_row.pk, scene.ccb_row.pk, 2_000_000_000):
        response = api(client_of(scene.users["ccb_manager"]), method, f"{API}{pk}/", {"months_borrowed": 1})
        assert response.status_code in (404, 405), (pk, response.status_code)
    assert state() == before


def test_a_uscc_in_the_body_does_not_stand_for_the_entity_id(scene):
    before = state()
    response = api(client_of(scene.users["ccb_manager"]), "post", API, {"uscc": scene.entity.uscc, "credit_line": 1})
    assert response.status_code == 400 and "entity_id" in response.json()["errors"]
    assert state() == before


@pytest.mark.parametrize(
    "actor, expected", [("enterprise", 403), ("staff", 403), ("province", 403), ("anonymous", 401)]
)
def test_only_bank_staff_post_bank_relationships(scene, actor, expected):
    before = state()
    response = api(client_of(scene.users[actor]), "post", API, {"entity_id": scene.entity.pk, "months_borrowed": 1})
    assert response.status_code in ((401, 403) if expected == 401 else (expected,))
    assert state() == before


def test_another_branch_of_the_same_bank_does_not_list_a_customer_it_cannot_see(scene):
    """The 大同 branch of 建设银行 serves 大同, not 泽州: the 泽州 customer is not visible to it, so
    neither are the facts its colleagues recorded about it (the list, the page, the delete)."""
    datong = scene.users["ccb_datong_admin"]
    listed = api(client_of(datong), "get", API).json()["results"]
    assert listed == []
    by_entity = api(client_of(datong), "get", f"{API}?entity_id={scene.entity.pk}").json()["results"]
    assert by_entity == []
    # and through the service by id, it is "not found", like an unknown row
    with pytest.raises(services.ApplicationError) as refused:
        services.bank_relationship_delete(actor=datong, relationship=scene.ccb_row.pk)
    assert refused.value.code == "not_found"
    assert BankRelationship.objects.filter(pk=scene.ccb_row.pk).exists()
    # while 泽州's branch and 晋城's administrator of 建设银行 see it
    assert [r["id"] for r in api(client_of(scene.users["ccb_admin"]), "get", API).json()["results"]] == [
        scene.ccb_row.pk
    ]


def test_a_bank_deletes_only_its_own_row_on_the_page(scene):
    response = client_of(scene.users["boc_manager"]).post(
        f"/entities/{scene.entity.pk}/bank-relationship/", {"action": "delete", "id": scene.ccb_row.pk}
    )
    assert response.status_code == 302
    assert list(BankRelationship.objects.values_list("pk", flat=True)) == [scene.ccb_row.pk]
