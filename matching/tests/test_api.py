"""The workflow through the REST API: every action's happy path, refusal of the wrong role
(403 / 404), illegal transitions (409 with a Chinese message) and field errors (400)."""

import datetime as dt

import pytest
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from matching import services as s
from matching.factories import CRITERIA
from matching.models import (
    Declaration,
    DeclarationState,
    Notification,
    Recommendation,
    RecommendationState,
    Visit,
)
from portal.factories import api_token, user_with_role
from portal.models import Role

pytestmark = pytest.mark.django_db


def client_for(user, token: bool = False) -> APIClient:
    client = APIClient()
    if token:
        client.credentials(HTTP_AUTHORIZATION=f"Token {api_token(user)}")
    elif user is not None:
        client.force_authenticate(user)
    return client


def post(user, url, data=None, token=False):
    return client_for(user, token).post(url, data or {}, format="json")


def get(user, url, token=False, **params):
    return client_for(user, token).get(url, params)


def declare(world, entity, user, banks=("boc", "ccb"), submit=True):
    return s.declaration_create(
        actor=user,
        entity_id=entity.pk,
        amount=300_000,
        term_months=12,
        purpose="进货周转",
        bank_codes=list(banks),
        basic_criteria=CRITERIA,
        consent=True,
        submit=submit,
    )


def reviewed(world, banks=("boc", "ccb")):
    entity, user = world.entity()
    declaration = declare(world, entity, user, banks)
    for role in ("staff", "reviewer", "lead"):
        s.declaration_review(actor=world.users[role], declaration_id=declaration.pk, decision="approve")
    return declaration, user


def pushed(world, banks=("boc", "ccb")):
    declaration, user = reviewed(world, banks)
    batch = s.batch_signoff(actor=world.users["convener"], declaration_ids=[declaration.pk])
    s.batch_push(actor=world.users["convener"], batch_id=batch.pk)
    return declaration, user, {r.bank.code: r for r in Recommendation.objects.filter(declaration=declaration)}


def under_review(world, rec, admin):
    s.recommendation_contact(actor=admin, recommendation_id=rec.pk)
    s.recommendation_materials_complete(actor=admin, recommendation_id=rec.pk)


APPROVAL = {
    "credit_amount": 300_000,
    "rate_percent": "3.650",
    "term_months": 12,
    "guarantee": "credit",
    "is_credit_loan": True,
    "is_first_loan": True,
}


def assert_error(response, status, code=None, field=None, text=None):
    assert response.status_code == status, response.content.decode()
    body = response.json()
    assert set(body) == {"code", "message", "errors"}
    if code:
        assert body["code"] == code
    if field:
        assert field in body["errors"], body
    if text:
        assert text in body["message"], body["message"]
    return body


# --- the journey -----------------------------------------------------------------------


def test_the_whole_journey_through_the_api(world):
    u = world.users
    entity, enterprise = world.entity()

    # given an enterprise declaring with two intended banks through the API
    response = post(
        enterprise,
        "/api/v1/declarations/",
        {
            "entity_id": entity.pk,
            "amount": 300_000,
            "term_months": 12,
            "purpose": "进货周转",
            "banks": ["boc", "ccb"],
            "basic_criteria": CRITERIA,
            "consent": True,
            "submit": True,
        },
    )
    assert response.status_code == 201, response.content
    declaration = response.json()
    assert declaration["state"] == "submitted" and declaration["state_display"] == "待初审"
    assert [b["code"] for b in declaration["banks"]] == ["boc", "ccb"] and declaration["amount"] == 300_000
    url = f"/api/v1/declarations/{declaration['id']}/"

    # when the three reviews approve it, the convener signs it off and pushes the batch
    for role in ("staff", "reviewer", "lead"):
        response = post(u[role], url + "review/", {"decision": "approve", "comment": "同意"})
        assert response.status_code == 200, response.content
    assert response.json()["state"] == "lead_approved" and len(response.json()["review_steps"]) == 3
    response = post(
        u["convener"], "/api/v1/batches/signoff/", {"declaration_ids": [declaration["id"]], "title": "第一批"}
    )
    assert response.status_code == 201, response.content
    batch = response.json()
    assert batch["title"] == "第一批" and batch["declaration_count"] == 1 and batch["state"] == "building"
    response = post(u["convener"], f"/api/v1/batches/{batch['id']}/push/")
    assert response.status_code == 200 and response.json()["state"] == "pushed"
    assert response.json()["recommendation_count"] == 2

    # then bank A's system pulls its branch's leads with a token and sees only its own
    leads = get(u["boc_admin"], "/api/v1/leads/", token=True).json()
    assert leads["count"] == 1 and leads["results"][0]["bank"]["code"] == "boc"
    boc_id = leads["results"][0]["id"]
    assert leads["results"][0]["need"]["amount"] == 300_000 and leads["results"][0]["county_code"] == "140525"
    # assigns it, and the account manager contacts, collects materials, approves and draws down twice
    response = post(
        u["boc_admin"], "/api/v1/leads/assign/", {"ids": [boc_id], "manager_id": u["boc_manager"].pk}, token=True
    )
    assert response.json() == {"assigned": 1}
    manager = u["boc_manager"]
    lead_url = f"/api/v1/leads/{boc_id}/"
    assert (
        post(manager, lead_url + "contact/", {"channel": "phone", "note": "已电话联系"}, token=True).json()["state"]
        == "contacted"
    )
    assert post(manager, lead_url + "materials-complete/", token=True).json()["state"] == "under_review"
    approved = post(manager, lead_url + "approve/", APPROVAL, token=True).json()
    assert (
        approved["state"] == "approved" and approved["credit_amount"] == 300_000 and approved["rate_percent"] == "3.650"
    )
    today = timezone.localdate().isoformat()
    response = post(manager, lead_url + "disburse/", {"amount": 100_000, "disbursed_on": today}, token=True)
    assert response.status_code == 201 and response.json()["state"] == "disbursed"
    response = post(manager, lead_url + "disburse/", {"amount": 200_000, "disbursed_on": today}, token=True)
    assert response.json()["disbursed_total"] == 300_000 and len(response.json()["disbursements"]) == 2

    # and bank B declines with a coded reason
    ccb_id = get(u["ccb_admin"], "/api/v1/leads/").json()["results"][0]["id"]
    response = post(
        u["ccb_admin"],
        f"/api/v1/leads/{ccb_id}/decline/",
        {"reason_code": "operating_too_short", "note": "经营未满 2 年"},
    )
    assert (
        response.json()["decline_reason"]["code"] == "operating_too_short"
        and response.json()["decline_reason"]["curable"]
    )

    # the enterprise sees both outcomes
    detail = get(enterprise, url).json()
    assert {r["bank"]["code"]: r["state"] for r in detail["recommendations"]} == {"boc": "disbursed", "ccb": "declined"}
    # a bank sees only its own bank's recommendation of the declaration
    assert [r["bank"]["code"] for r in get(u["boc_admin"], url).json()["recommendations"]] == ["boc"]
    # the task force records coaching and re-recommends to a third bank
    response = post(u["staff"], f"/api/v1/leads/{ccb_id}/coaching/", {"note": "指导完善经营流水"})
    assert response.status_code == 201 and response.json()["note"] == "指导完善经营流水"
    # (a new draft naming the new bank, pushed only after the enterprise's consent, review and sign-off)
    response = post(u["convener"], f"/api/v1/leads/{ccb_id}/redirect/", {"bank_code": "shanxibank"})
    assert response.status_code == 201, response.content
    draft = response.json()
    assert (
        [b["code"] for b in draft["banks"]] == ["shanxibank"]
        and draft["state"] == "draft"
        and draft["redirected_from"] == ccb_id
    )
    # the enterprise rates bank A's service
    response = post(enterprise, lead_url + "rate/", {"score": 5, "comment": "很快"})
    assert response.status_code == 200 and response.json()["satisfaction"] == 5
    # and the timeline holds every step
    kinds = [e["kind"] for e in get(enterprise, url + "events/").json()]
    assert kinds[:2] == ["declaration.created", "declaration.submitted"]
    assert {
        "recommendation.approved",
        "recommendation.disbursed",
        "recommendation.declined",
        "recommendation.coached",
    } <= set(kinds)


def test_return_edit_and_resubmit_then_withdraw(world):
    entity, enterprise = world.entity()
    declaration = declare(world, entity, enterprise)
    url = f"/api/v1/declarations/{declaration.pk}/"
    # when the staff returns it with reasons
    response = post(world.users["staff"], url + "review/", {"decision": "return", "comment": "补充流水"})
    assert response.json()["state"] == "draft" and response.json()["last_comment"] == "补充流水"
    # then the enterprise edits it with PUT and resubmits
    response = client_for(enterprise).put(
        url,
        {
            "amount": 200_000,
            "term_months": 6,
            "purpose": "进货",
            "banks": ["boc"],
            "basic_criteria": CRITERIA,
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["amount"] == 200_000 and [b["code"] for b in response.json()["banks"]] == ["boc"]
    assert post(enterprise, url + "submit/").json()["state"] == "submitted"
    # and may withdraw it before sign-off
    response = post(enterprise, url + "withdraw/", {"reason": "暂不需要"})
    assert response.json()["state"] == "withdrawn"


def test_reject_is_final(world):
    entity, enterprise = world.entity()
    declaration = declare(world, entity, enterprise)
    url = f"/api/v1/declarations/{declaration.pk}/review/"
    assert (
        post(world.users["staff"], url, {"decision": "reject", "comment": "非本县主体"}).json()["state"] == "rejected"
    )
    assert_error(post(world.users["staff"], url, {"decision": "approve"}), 409, "conflict", text="不在审核环节")


def test_bulk_review_reports_each_item(world):
    ids = []
    for i in range(3):
        entity, user = world.entity(name=f"批量{i}")
        ids.append(declare(world, entity, user).pk)
    s.declaration_review(actor=world.users["staff"], declaration_id=ids[2], decision="reject", comment="不符合")
    response = post(world.users["staff"], "/api/v1/declarations/bulk-review/", {"ids": ids, "decision": "approve"})
    body = response.json()
    assert response.status_code == 200 and body["approved_or_done"] == 2 and body["refused"] == 1
    refused = [r for r in body["results"] if not r["ok"]]
    assert refused[0]["id"] == ids[2] and "不在审核环节" in refused[0]["message"]
    assert Declaration.objects.filter(pk__in=ids[:2], state=DeclarationState.PRELIMINARY_APPROVED).count() == 2


def test_bank_recommends_an_entity(world):
    entity, _ = world.entity()
    response = post(
        world.users["boc_admin"],
        "/api/v1/declarations/bank-recommend/",
        {"entity_id": entity.pk, "amount": 200_000, "term_months": 12, "purpose": "扩大经营", "note": "老客户"},
    )
    assert response.status_code == 201, response.content
    assert response.json()["source"] == "bank" and response.json()["state"] == "draft"  # waits for consent
    assert_error(
        post(
            world.users["staff"],
            "/api/v1/declarations/bank-recommend/",
            {"entity_id": entity.pk, "amount": 1, "term_months": 1, "purpose": "x"},
        ),
        403,
        "permission_denied",
    )


def test_lead_filters_state_county_product_amount(world):
    u = world.users
    _, _, first = pushed(world, banks=("boc",))
    declaration, _, second = pushed(world, banks=("boc",))
    Declaration.objects.filter(pk=declaration.pk).update(amount=900_000)
    s.recommendation_decline(actor=u["boc_admin"], recommendation_id=second["boc"].pk, reason_code="no_need")
    admin = u["boc_admin"]

    def ids(**params):
        return {r["id"] for r in get(admin, "/api/v1/leads/", **params).json()["results"]}

    assert ids() == {first["boc"].pk, second["boc"].pk}
    assert ids(state="declined") == {second["boc"].pk}
    assert ids(state="pushed,declined") == {first["boc"].pk, second["boc"].pk}
    assert ids(county="140525") == ids(county="1405") == {first["boc"].pk, second["boc"].pk}
    assert ids(county="140521") == set()
    assert ids(amount_min=500_000) == {second["boc"].pk}
    assert ids(amount_max=500_000) == {first["boc"].pk}
    product = first["boc"].product_version.product.code
    assert ids(product=product) == {first["boc"].pk, second["boc"].pk} and ids(product="no-such") == set()
    assert ids(unassigned="true") == {first["boc"].pk, second["boc"].pk}


def test_visits_decline_reasons_and_notifications(world):
    u = world.users
    entity, enterprise = world.entity()
    # staff record a visit
    today = timezone.localdate().isoformat()
    response = post(
        u["staff"],
        "/api/v1/visits/",
        {"entity_id": entity.pk, "visited_on": today, "people": "周干事", "need_found": True},
    )
    assert response.status_code == 201 and response.json()["entity"]["id"] == entity.pk
    assert get(u["staff"], "/api/v1/visits/").json()["count"] == 1
    assert get(u["staff"], "/api/v1/visits/", entity=entity.pk, need_found="true").json()["count"] == 1
    # a visit in the future is a field error; an enterprise may not record visits
    tomorrow = (timezone.localdate() + dt.timedelta(days=1)).isoformat()
    assert_error(
        post(u["staff"], "/api/v1/visits/", {"entity_id": entity.pk, "visited_on": tomorrow, "people": "x"}),
        400,
        field="visited_on",
    )
    assert_error(post(enterprise, "/api/v1/visits/", {"entity_id": entity.pk, "visited_on": today, "people": "x"}), 403)
    # another county sees none of them
    other = user_with_role(Role.TASK_FORCE_STAFF, region_code="140521")
    assert get(other, "/api/v1/visits/").json()["count"] == 0

    # the decline-reason catalogue is public to every signed-in user
    reasons = get(enterprise, "/api/v1/decline-reasons/").json()
    assert any(r["code"] == "operating_too_short" and r["curable"] and r["advice"] for r in reasons)

    # notifications: own only, unread count, read one, read all
    declare(world, entity, enterprise)
    staff = u["staff"]
    mine = get(staff, "/api/v1/notifications/").json()
    assert mine["count"] >= 1 and get(staff, "/api/v1/notifications/unread-count/").json()["unread"] == mine["count"]
    first = mine["results"][0]["id"]
    assert post(staff, f"/api/v1/notifications/{first}/read/").json()["read_at"]
    assert get(staff, "/api/v1/notifications/", unread="true").json()["count"] == mine["count"] - 1
    assert_error(post(enterprise, f"/api/v1/notifications/{first}/read/"), 404, "not_found")
    post(staff, "/api/v1/notifications/read-all/")
    assert get(staff, "/api/v1/notifications/unread-count/").json()["unread"] == 0
    assert not Notification.objects.filter(recipient=staff, read_at__isnull=True).exists()


# --- refusals of the wrong role ----------------------------------------------------------


def test_anonymous_is_refused_in_the_error_format():
    assert_error(APIClient().get("/api/v1/leads/"), 403, "not_authenticated")
    assert_error(APIClient().post("/api/v1/declarations/", {}, format="json"), 403, "not_authenticated")


@pytest.mark.parametrize(
    "who,status",
    [
        ("enterprise", 403),  # may see it, may not review
        ("reviewer", 403),  # the bank reviewer's stage comes second
        ("lead", 403),
        ("boc_admin", 404),  # a bank does not see declarations before they are pushed to it
        ("other_county_staff", 404),
    ],
)
def test_preliminary_review_refuses_every_other_role(world, who, status):
    entity, enterprise = world.entity()
    declaration = declare(world, entity, enterprise)
    actor = {
        "enterprise": enterprise,
        "other_county_staff": user_with_role(Role.TASK_FORCE_STAFF, region_code="140521"),
    }.get(who) or world.users[who]
    assert_error(post(actor, f"/api/v1/declarations/{declaration.pk}/review/", {"decision": "approve"}), status)
    assert Declaration.objects.get(pk=declaration.pk).state == DeclarationState.SUBMITTED


def test_declaration_refusals(world):
    u = world.users
    entity, enterprise = world.entity()
    other_entity, other_enterprise = world.entity(name="别家小店")
    declaration = declare(world, entity, enterprise)
    url = f"/api/v1/declarations/{declaration.pk}/"
    # another enterprise neither sees nor touches it
    assert_error(get(other_enterprise, url), 404, "not_found")
    assert_error(post(other_enterprise, url + "withdraw/"), 404)
    assert get(other_enterprise, "/api/v1/declarations/").json()["count"] == 0
    # staff cannot withdraw an enterprise's declaration; a bank cannot declare for an entity
    assert_error(post(u["staff"], url + "withdraw/"), 403, "permission_denied")
    assert_error(
        post(
            u["boc_admin"],
            "/api/v1/declarations/",
            {"entity_id": other_entity.pk, "amount": 1, "term_months": 1, "purpose": "x", "banks": ["boc"]},
        ),
        403,
    )
    # an enterprise cannot declare for another entity
    assert_error(
        post(
            enterprise,
            "/api/v1/declarations/",
            {"entity_id": other_entity.pk, "amount": 100_000, "term_months": 6, "purpose": "x", "banks": ["boc"]},
        ),
        404,
    )
    # another county's staff does not see it
    other = user_with_role(Role.TASK_FORCE_STAFF, region_code="140521")
    assert_error(get(other, url), 404)


def test_batch_refusals(world):
    u = world.users
    declaration, _ = reviewed(world)
    # only the convener signs off and pushes
    for who in ("staff", "lead", "boc_admin"):
        assert_error(
            post(u[who], "/api/v1/batches/signoff/", {"declaration_ids": [declaration.pk]}), 403, "permission_denied"
        )
    batch = s.batch_signoff(actor=u["convener"], declaration_ids=[declaration.pk])
    assert_error(post(u["lead"], f"/api/v1/batches/{batch.pk}/push/"), 403)
    other_convener = user_with_role(Role.CONVENER, region_code="140521")
    assert_error(post(other_convener, f"/api/v1/batches/{batch.pk}/push/"), 404)
    assert get(other_convener, "/api/v1/batches/").json()["count"] == 0
    assert get(u["convener"], "/api/v1/batches/").json()["count"] == 1
    assert get(u["convener"], f"/api/v1/batches/{batch.pk}/").json()["declarations"][0]["id"] == declaration.pk


def test_lead_refusals(world):
    u = world.users
    declaration, enterprise, recs = pushed(world)
    boc = f"/api/v1/leads/{recs['boc'].pk}/"
    # another bank neither sees nor works bank A's lead
    assert_error(get(u["ccb_admin"], boc), 404)
    assert_error(post(u["ccb_admin"], boc + "contact/"), 404)
    # an account manager works only the leads assigned to him
    assert_error(post(u["boc_manager"], boc + "contact/"), 404)
    assert get(u["boc_manager"], "/api/v1/leads/").json()["count"] == 0
    # the task force and the enterprise do not do the bank's work
    assert_error(post(u["staff"], boc + "contact/"), 403, "permission_denied")
    assert_error(post(enterprise, boc + "approve/", APPROVAL), 403)
    # only a bank administrator assigns, and only to his own account managers
    assert_error(
        post(u["boc_manager"], "/api/v1/leads/assign/", {"ids": [recs["boc"].pk], "manager_id": u["boc_manager"].pk}),
        403,
    )
    body = assert_error(
        post(u["boc_admin"], "/api/v1/leads/assign/", {"ids": [recs["boc"].pk], "manager_id": u["ccb_manager"].pk}), 400
    )
    assert "manager" in body["errors"]
    assert_error(
        post(u["boc_admin"], "/api/v1/leads/assign/", {"ids": [recs["ccb"].pk], "manager_id": u["boc_manager"].pk}), 404
    )
    # coaching is the task force's, rating the enterprise's, removal the convener's or lead's
    s.recommendation_decline(actor=u["boc_admin"], recommendation_id=recs["boc"].pk, reason_code="no_need")
    assert_error(post(u["boc_admin"], boc + "coaching/", {"note": "x"}), 403)
    assert_error(post(u["boc_admin"], boc + "rate/", {"score": 5}), 403)
    assert_error(post(u["staff"], f"/api/v1/leads/{recs['ccb'].pk}/remove/", {"reason": "虚假材料"}), 403)
    assert_error(
        post(u["boc_admin"], f"/api/v1/leads/{recs['ccb'].pk}/remove/", {"reason": "虚假材料"}), 404
    )  # another bank does not even see it
    other_lead = user_with_role(Role.TASK_FORCE_LEAD, region_code="140521")
    assert_error(post(other_lead, f"/api/v1/leads/{recs['ccb'].pk}/remove/", {"reason": "虚假材料"}), 404)


@pytest.mark.parametrize(
    "action,data",
    [
        ("contact", {}),
        ("materials-complete", {}),
        ("approve", APPROVAL),
        ("decline", {"reason_code": "no_need"}),
        ("disburse", {"amount": 1, "disbursed_on": "2026-01-02"}),
        ("not-drawn", {}),
    ],
)
def test_every_bank_action_refuses_other_banks_unassigned_managers_and_the_task_force(world, action, data):
    _, enterprise, recs = pushed(world)
    url = f"/api/v1/leads/{recs['boc'].pk}/{action}/"
    assert_error(post(world.users["ccb_admin"], url, data), 404, "not_found")
    assert_error(post(world.users["boc_manager"], url, data), 404, "not_found")
    assert_error(post(world.users["staff"], url, data), 403, "permission_denied")
    assert_error(post(enterprise, url, data), 403, "permission_denied")
    assert Recommendation.objects.get(pk=recs["boc"].pk).state == RecommendationState.PUSHED


def test_task_force_actions_refuse_banks_and_enterprises(world):
    _, enterprise, recs = pushed(world)
    s.recommendation_decline(actor=world.users["ccb_admin"], recommendation_id=recs["ccb"].pk, reason_code="no_need")
    url = f"/api/v1/leads/{recs['ccb'].pk}/"
    for actor in (world.users["ccb_admin"], enterprise):
        assert_error(post(actor, url + "redirect/", {"bank_code": "shanxibank"}), 403, "permission_denied")
        assert_error(post(actor, url + "coaching/", {"note": "x"}), 403, "permission_denied")
    # a bank cannot edit or submit a declaration it was pushed, nor another enterprise submit it
    declaration_url = f"/api/v1/declarations/{recs['ccb'].declaration_id}/"
    # (it sees the declaration it was pushed, so it is told it may not: 403)
    assert_error(
        client_for(world.users["ccb_admin"]).put(
            declaration_url, {"amount": 1, "term_months": 1, "purpose": "x", "banks": ["ccb"]}, format="json"
        ),
        403,
        "permission_denied",
    )
    _, other_enterprise = world.entity(name="别家")
    assert_error(post(other_enterprise, declaration_url + "submit/"), 404)


# --- illegal transitions: 409 with a Chinese message ---------------------------------------


def test_illegal_transitions_are_conflicts(world):
    u = world.users
    entity, enterprise = world.entity()
    declaration = declare(world, entity, enterprise)
    url = f"/api/v1/declarations/{declaration.pk}/"
    assert_error(post(enterprise, url + "submit/"), 409, "conflict", text="不能提交")
    # a second open declaration of the same entity
    assert_error(
        post(
            enterprise,
            "/api/v1/declarations/",
            {
                "entity_id": entity.pk,
                "amount": 100_000,
                "term_months": 6,
                "purpose": "x",
                "banks": ["boc"],
                "consent": True,
            },
        ),
        409,
        text="已有进行中的申报",
    )
    # editing a submitted declaration
    assert_error(
        client_for(enterprise).put(
            url, {"amount": 1, "term_months": 1, "purpose": "x", "banks": ["boc"]}, format="json"
        ),
        409,
        text="只有草稿",
    )
    # sign-off before lead review, push twice, withdraw after sign-off
    assert_error(
        post(u["convener"], "/api/v1/batches/signoff/", {"declaration_ids": [declaration.pk]}),
        409,
        text="尚未通过组长审核",
    )
    declaration2, enterprise2, recs = pushed(world)
    batch_id = Recommendation.objects.filter(declaration=declaration2).first().batch_id
    assert_error(post(u["convener"], f"/api/v1/batches/{batch_id}/push/"), 409, text="未重复推送")
    assert Recommendation.objects.filter(declaration=declaration2).count() == 2
    assert_error(
        post(enterprise2, f"/api/v1/declarations/{declaration2.pk}/withdraw/"), 409, text="签字确认后的申报不能撤回"
    )
    # the bank cannot skip steps
    boc = f"/api/v1/leads/{recs['boc'].pk}/"
    admin = u["boc_admin"]
    assert_error(post(admin, boc + "approve/", APPROVAL), 409, text="须先登记材料收齐")
    assert_error(
        post(admin, boc + "disburse/", {"amount": 1, "disbursed_on": timezone.localdate().isoformat()}),
        409,
        text="须先授信",
    )
    assert_error(post(admin, boc + "materials-complete/"), 409, text="不能登记材料收齐")
    assert_error(post(admin, boc + "not-drawn/"), 409, text="未提款")
    assert_error(post(enterprise2, boc + "rate/", {"score": 4}), 409, text="作出授信决定后")
    assert_error(post(u["staff"], boc + "coaching/", {"note": "x"}), 409, text="只有不予授信")
    assert_error(post(u["convener"], boc + "redirect/", {"bank_code": "shanxibank"}), 409)
    post(admin, boc + "decline/", {"reason_code": "credit_overdue"})
    assert_error(post(admin, boc + "decline/", {"reason_code": "credit_overdue"}), 409, text="不能登记不予授信")
    assert Recommendation.objects.get(pk=recs["boc"].pk).state == RecommendationState.DECLINED


# --- field errors: 400 -----------------------------------------------------------------------


def test_field_errors(world):
    u = world.users
    entity, enterprise = world.entity()
    base = {
        "entity_id": entity.pk,
        "amount": 100_000,
        "term_months": 6,
        "purpose": "进货",
        "banks": ["boc"],
        "consent": True,
    }
    # never more than two intended banks; at least one; no unknown bank
    body = assert_error(
        post(enterprise, "/api/v1/declarations/", {**base, "banks": ["boc", "ccb", "jshb"]}), 400, "invalid", "banks"
    )
    assert "最多 2 家" in body["message"]
    assert_error(post(enterprise, "/api/v1/declarations/", {**base, "banks": []}), 400, field="banks")
    assert_error(post(enterprise, "/api/v1/declarations/", {**base, "banks": ["nobank"]}), 400, field="banks")
    # types and business rules of the need
    assert_error(post(enterprise, "/api/v1/declarations/", {**base, "amount": "很多"}), 400, field="amount")
    assert_error(post(enterprise, "/api/v1/declarations/", {**base, "amount": 0}), 400, field="amount")
    assert_error(post(enterprise, "/api/v1/declarations/", {**base, "term_months": 999}), 400, field="term_months")
    assert_error(post(enterprise, "/api/v1/declarations/", {**base, "purpose": ""}), 400, field="purpose")
    body = assert_error(
        post(enterprise, "/api/v1/declarations/", {k: v for k, v in base.items() if k != "entity_id"}), 400
    )
    assert "entity_id" in body["errors"]
    # submitting without consent
    draft = post(enterprise, "/api/v1/declarations/", {**base, "consent": False}).json()
    assert_error(post(enterprise, f"/api/v1/declarations/{draft['id']}/submit/"), 400, field="consent", text="同意")
    client_for(enterprise).put(f"/api/v1/declarations/{draft['id']}/", {**base, "consent": True}, format="json")
    # submitting with the five basic criteria not met and no exception reason (seed 004 三(四))
    assert_error(post(enterprise, f"/api/v1/declarations/{draft['id']}/submit/"), 400, field="criteria_exception")
    client_for(enterprise).put(
        f"/api/v1/declarations/{draft['id']}/", {**base, "consent": True, "basic_criteria": CRITERIA}, format="json"
    )
    post(enterprise, f"/api/v1/declarations/{draft['id']}/submit/")
    # returning needs a comment; an unknown decision is refused
    review = f"/api/v1/declarations/{draft['id']}/review/"
    assert_error(post(u["staff"], review, {"decision": "return"}), 400, field="comment")
    assert_error(post(u["staff"], review, {"decision": "maybe"}), 400, field="decision")
    assert_error(
        post(u["staff"], "/api/v1/declarations/bulk-review/", {"ids": [], "decision": "approve"}), 400, field="ids"
    )

    # the bank's decisions
    _, _, recs = pushed(world)
    boc = f"/api/v1/leads/{recs['boc'].pk}/"
    admin = u["boc_admin"]
    assert_error(post(admin, boc + "contact/", {"channel": "pigeon"}), 400, field="channel")
    under_review(world, recs["boc"], admin)
    assert_error(post(admin, boc + "approve/", {**APPROVAL, "guarantee": "gold"}), 400, field="guarantee")
    assert_error(post(admin, boc + "approve/", {**APPROVAL, "credit_amount": -5}), 400, field="credit_amount")
    assert_error(post(admin, boc + "approve/", {**APPROVAL, "guarantee": "surety"}), 400, field="is_credit_loan")
    assert_error(
        post(admin, boc + "decline/", {"reason_code": "nope"}), 400, field="reason_code", text="请选择不予授信原因"
    )
    post(admin, boc + "approve/", {**APPROVAL, "credit_amount": 100_000})
    body = assert_error(
        post(admin, boc + "disburse/", {"amount": 100_001, "disbursed_on": timezone.localdate().isoformat()}),
        400,
        field="amount",
    )
    assert "放款金额 10.0001 万元超过剩余授信额度 10 万元" in body["message"]
    assert_error(post(admin, boc + "disburse/", {"amount": 1, "disbursed_on": "昨天"}), 400, field="disbursed_on")
    assert_error(post(u["convener"], f"/api/v1/leads/{recs['ccb'].pk}/remove/", {"reason": " "}), 400, field="reason")
    s.recommendation_decline(actor=u["ccb_admin"], recommendation_id=recs["ccb"].pk, reason_code="no_need")
    assert_error(post(u["staff"], f"/api/v1/leads/{recs['ccb'].pk}/coaching/", {"note": ""}), 400, field="note")
    assert_error(
        post(u["convener"], f"/api/v1/leads/{recs['ccb'].pk}/redirect/", {"bank_code": "nobank"}), 400, field="bank"
    )


def test_non_numeric_ids_are_not_found(world):
    assert get(world.users["staff"], "/api/v1/declarations/abc/").status_code == 404
    assert post(world.users["staff"], "/api/v1/leads/abc/contact/").status_code == 404


def test_the_api_schema_is_valid_with_every_workflow_path(tmp_path):
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--file", str(out))
    text = out.read_text()
    for path in (
        "/api/v1/declarations/{id}/review/",
        "/api/v1/declarations/bulk-review/",
        "/api/v1/batches/{id}/push/",
        "/api/v1/leads/assign/",
        "/api/v1/leads/{id}/disburse/",
        "/api/v1/ledger/export.xlsx/",
        "/api/v1/materials/{id}/download/",
        "/api/v1/declarations/import/",
        "/api/v1/visits/",
        "/api/v1/decline-reasons/",
        "/api/v1/notifications/{id}/read/",
    ):
        assert path in text, path


def test_visits_and_batches_lists_stay_inside_the_tenant(world):
    entity, _ = world.entity()
    s.visit_record(actor=world.users["staff"], entity_id=entity.pk, visited_on=timezone.localdate(), people="周干事")
    assert Visit.objects.count() == 1
    for who in ("boc_admin", "boc_manager"):
        assert get(world.users[who], "/api/v1/visits/").json()["count"] == 0
    assert get(world.users["city"], "/api/v1/visits/").json()["count"] == 1
