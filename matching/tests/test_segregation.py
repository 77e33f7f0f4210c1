"""Roles and segregation of duties (issue 13, finding 6), through the API and the pages:
only the enterprise, and task-force staff on a declaration filed on its behalf, write a
declaration; the filer never does its 初审 and a reviewer never edits what he reviewed; a
re-recommendation after a decline needs the enterprise's consent for the new bank, the
three reviews and the sign-off, and never leaves the entity with more than two banks."""

import pytest
from django.test import Client
from rest_framework.test import APIClient

from matching import services as s
from matching.factories import CRITERIA
from matching.models import Declaration, DeclarationState, Recommendation, RecommendationState
from portal.factories import user_with_role
from portal.models import Role

pytestmark = pytest.mark.django_db

EDIT = {
    "amount": 9_900_000,
    "term_months": 36,
    "purpose": "改写的用途",
    "banks": ["jshb", "sxrcc"],
    "basic_criteria": CRITERIA,
}


@pytest.fixture
def staff2(world):
    """A second staff member of the 泽州 task force (also `world.users["staff2"]`): the same role, another person."""
    world.users["staff2"] = user_with_role(Role.TASK_FORCE_STAFF, organisation=world.task_force, username="wf-staff2")
    return world.users["staff2"]


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def row(declaration_id):
    d = Declaration.objects.get(pk=declaration_id)
    return (
        d.state,
        d.amount,
        d.purpose,
        d.consent_given_at,
        sorted(d.intended_banks.values_list("bank__code", flat=True)),
    )


def pushed(world, user, entity, banks=("boc", "ccb")):
    declaration = s.declaration_create(
        actor=user,
        entity_id=entity.pk,
        amount=300_000,
        term_months=12,
        purpose="进货周转",
        bank_codes=list(banks),
        basic_criteria=CRITERIA,
        consent=True,
        submit=True,
    )
    for key in ("staff", "reviewer", "lead"):
        s.declaration_review(actor=world.users[key], declaration_id=declaration.pk, decision="approve")
    batch = s.batch_signoff(actor=world.users["convener"], declaration_ids=[declaration.pk])
    s.batch_push(actor=world.users["convener"], batch_id=batch.pk)
    return {r.bank.code: r for r in Recommendation.objects.filter(declaration=declaration)}


# --- who writes a declaration --------------------------------------------------------------


@pytest.mark.parametrize("who", ["reviewer", "convener", "lead"])
def test_a_reviewer_or_convener_cannot_rewrite_consent_for_or_submit_an_enterprises_draft(world, who):
    # given an enterprise's draft, not yet consented
    entity, enterprise = world.entity()
    draft = s.declaration_create(
        actor=enterprise,
        entity_id=entity.pk,
        amount=300_000,
        term_months=12,
        purpose="进货周转",
        bank_codes=["boc"],
        basic_criteria=CRITERIA,
        consent=False,
    )
    before = row(draft.pk)
    url = f"/api/v1/declarations/{draft.pk}/"
    client = api(world.users[who])
    # when the 专班银行审核人 / the convener / the lead rewrites the need and the banks, gives the
    # consent and submits it
    responses = [client.put(url, {**EDIT, "consent": True}, format="json"), client.post(url + "submit/", format="json")]
    # then each is refused for the role, and the draft is as the enterprise left it
    assert [r.status_code for r in responses] == [403, 403], [r.content for r in responses]
    assert all(r.json()["code"] == "permission_denied" for r in responses)
    assert row(draft.pk) == before


def test_staff_write_only_what_was_filed_on_the_enterprises_behalf(world, staff2):
    # given a draft the enterprise filed itself, and one staff filed on another entity's behalf
    entity, enterprise = world.entity()
    own = s.declaration_create(
        actor=enterprise,
        entity_id=entity.pk,
        amount=300_000,
        term_months=12,
        purpose="进货周转",
        bank_codes=["boc"],
        basic_criteria=CRITERIA,
        consent=False,
    )
    other, _ = world.entity(name="代为申报的小店")
    on_behalf = s.declaration_create(
        actor=world.users["staff"],
        entity_id=other.pk,
        amount=200_000,
        term_months=12,
        purpose="进货",
        bank_codes=["boc"],
        basic_criteria=CRITERIA,
        consent=False,
    )
    client = api(staff2)
    # when staff edit both
    refused = client.put(f"/api/v1/declarations/{own.pk}/", {**EDIT, "consent": True}, format="json")
    done = client.put(
        f"/api/v1/declarations/{on_behalf.pk}/", {**EDIT, "banks": ["boc"], "consent": True}, format="json"
    )
    # then the enterprise's own draft is refused, the one filed on its behalf is edited with its consent recorded
    assert refused.status_code == 403 and "企业自行填报" in refused.json()["message"]
    assert row(own.pk)[1:4] == (300_000, "进货周转", None)
    assert done.status_code == 200 and done.json()["amount"] == 9_900_000 and done.json()["consent_given_at"]


def test_the_filer_never_does_the_first_review(world, staff2):
    # given a declaration staff filed and submitted on an entity's behalf
    entity, _ = world.entity(with_user=False)
    declaration = s.declaration_create(
        actor=world.users["staff"],
        entity_id=entity.pk,
        amount=300_000,
        term_months=12,
        purpose="进货周转",
        bank_codes=["boc"],
        basic_criteria=CRITERIA,
        consent=True,
        submit=True,
    )
    url = f"/api/v1/declarations/{declaration.pk}/review/"
    # when the filer reviews it (through the API, and in bulk)
    response = api(world.users["staff"]).post(url, {"decision": "approve"}, format="json")
    bulk = api(world.users["staff"]).post(
        "/api/v1/declarations/bulk-review/",
        {"ids": [declaration.pk], "decision": "return", "comment": "x"},
        format="json",
    )
    # then it is refused (maker-checker) and still waits for the 初审, out of the filer's queue
    assert response.status_code == 403 and "填报与初审须由不同人员办理" in response.json()["message"]
    assert bulk.json()["refused"] == 1
    assert Declaration.objects.get(pk=declaration.pk).state == DeclarationState.SUBMITTED
    from matching import selectors

    assert (
        not selectors.review_queue(user=world.users["staff"], role=Role.TASK_FORCE_STAFF)
        .filter(pk=declaration.pk)
        .exists()
    )
    assert selectors.review_queue(user=staff2, role=Role.TASK_FORCE_STAFF).filter(pk=declaration.pk).exists()
    # and another staff member does it
    response = api(staff2).post(url, {"decision": "approve"}, format="json")
    assert response.status_code == 200 and response.json()["state"] == "preliminary_approved"


def test_whoever_recorded_the_consent_or_edited_is_a_filer_too(world, staff2):
    # given a draft staff filed on an entity's behalf, without its consent yet
    entity, enterprise = world.entity()
    declaration = s.declaration_create(
        actor=world.users["staff"],
        entity_id=entity.pk,
        amount=300_000,
        term_months=12,
        purpose="进货周转",
        bank_codes=["boc"],
        basic_criteria=CRITERIA,
        consent=False,
    )
    # when staff2 records the enterprise's written consent and submits it
    s.declaration_consent_record(actor=staff2, declaration_id=declaration.pk)
    s.declaration_submit(actor=staff2, declaration_id=declaration.pk)
    # then neither staff member may do its 初审 (both made it); a third one may
    for who in ("staff", "staff2"):
        response = api(world.users[who]).post(
            f"/api/v1/declarations/{declaration.pk}/review/", {"decision": "approve"}, format="json"
        )
        assert response.status_code == 403, who
    third = user_with_role(Role.TASK_FORCE_STAFF, organisation=world.task_force, username="wf-staff3")
    assert (
        api(third)
        .post(f"/api/v1/declarations/{declaration.pk}/review/", {"decision": "approve"}, format="json")
        .status_code
        == 200
    )


def test_a_reviewer_never_edits_what_he_reviewed(world, staff2):
    # given a declaration filed on an entity's behalf, returned by staff2 at its 初审
    entity, _ = world.entity(with_user=False)
    declaration = s.declaration_create(
        actor=world.users["staff"],
        entity_id=entity.pk,
        amount=300_000,
        term_months=12,
        purpose="进货周转",
        bank_codes=["boc"],
        basic_criteria=CRITERIA,
        consent=True,
        submit=True,
    )
    s.declaration_review(actor=staff2, declaration_id=declaration.pk, decision="return", comment="补充流水")
    url = f"/api/v1/declarations/{declaration.pk}/"
    # when the reviewer edits and resubmits it himself
    edit = api(staff2).put(url, {**EDIT, "banks": ["boc"]}, format="json")
    submit = api(staff2).post(url + "submit/", format="json")
    # then he is refused; the filer fixes and resubmits it
    assert (edit.status_code, submit.status_code) == (403, 403) and "审核人不修改" in edit.json()["message"]
    assert row(declaration.pk)[:3] == (DeclarationState.DRAFT, 300_000, "进货周转")
    assert api(world.users["staff"]).put(url, {**EDIT, "banks": ["boc"]}, format="json").status_code == 200
    assert api(world.users["staff"]).post(url + "submit/", format="json").json()["state"] == "submitted"


# --- re-recommendation after a decline ------------------------------------------------------


def test_a_re_recommendation_needs_consent_review_and_signoff_before_it_is_pushed(world):
    # given an entity declined by 建设银行, still worked by 中国银行
    entity, enterprise = world.entity()
    recs = pushed(world, enterprise, entity)
    s.recommendation_decline(
        actor=world.users["ccb_admin"], recommendation_id=recs["ccb"].pk, reason_code="operating_too_short"
    )
    leads_before = Recommendation.objects.count()
    # when the task-force lead redirects it to 山西银行
    response = api(world.users["lead"]).post(
        f"/api/v1/leads/{recs['ccb'].pk}/redirect/", {"bank_code": "shanxibank"}, format="json"
    )
    # then nothing is pushed: a draft naming 山西银行 waits for the enterprise's consent
    assert response.status_code == 201, response.content
    draft = response.json()
    assert draft["state"] == "draft" and draft["consent_given_at"] is None and draft["source"] == "redirect"
    assert Recommendation.objects.count() == leads_before
    url = f"/api/v1/declarations/{draft['id']}/"
    # it cannot be submitted, reviewed or signed off without that consent and the reviews
    assert api(enterprise).post(url + "submit/", format="json").status_code == 400
    assert api(world.users["staff"]).post(url + "review/", {"decision": "approve"}, format="json").status_code == 409
    signoff = api(world.users["convener"]).post(
        "/api/v1/batches/signoff/", {"declaration_ids": [draft["id"]]}, format="json"
    )
    assert signoff.status_code == 409
    # once the enterprise consents and submits, and the three reviews and the sign-off pass, it is pushed
    assert api(enterprise).post(url + "consent/", format="json").status_code == 200
    assert api(enterprise).post(url + "submit/", format="json").json()["state"] == "submitted"
    for key in ("staff", "reviewer", "lead"):
        assert api(world.users[key]).post(url + "review/", {"decision": "approve"}, format="json").status_code == 200
    batch = (
        api(world.users["convener"])
        .post("/api/v1/batches/signoff/", {"declaration_ids": [draft["id"]]}, format="json")
        .json()
    )
    assert api(world.users["convener"]).post(f"/api/v1/batches/{batch['id']}/push/", format="json").status_code == 200
    lead = Recommendation.objects.get(declaration_id=draft["id"])
    assert lead.bank.code == "shanxibank" and lead.state == RecommendationState.PUSHED


def test_never_more_than_two_banks_at_a_time(world):
    # given an entity worked by 中国银行 and declined by 建设银行
    entity, enterprise = world.entity()
    recs = pushed(world, enterprise, entity)
    s.recommendation_decline(
        actor=world.users["ccb_admin"], recommendation_id=recs["ccb"].pk, reason_code="operating_too_short"
    )
    lead = api(world.users["lead"])
    first = lead.post(f"/api/v1/leads/{recs['ccb'].pk}/redirect/", {"bank_code": "shanxibank"}, format="json")
    assert first.status_code == 201
    # when the enterprise adds a second new bank to the re-recommendation
    url = f"/api/v1/declarations/{first.json()['id']}/"
    added = api(enterprise).put(url, {**EDIT, "banks": ["shanxibank", "jshb"], "consent": True}, format="json")
    # then it is refused: 中国银行 still works it, so only one more bank fits
    assert added.status_code == 400 and "不超过 2 家" in added.json()["errors"]["banks"][0]
    # and a second redirect (to any number of banks, one call each) is refused while one is open
    again = lead.post(f"/api/v1/leads/{recs['ccb'].pk}/redirect/", {"bank_code": "jshb"}, format="json")
    assert again.status_code == 409
    # and once 山西银行 is pushed too, a further redirect would make three
    draft_id = first.json()["id"]
    s.declaration_consent_record(actor=enterprise, declaration_id=draft_id)
    s.declaration_submit(actor=enterprise, declaration_id=draft_id)
    for key in ("staff", "reviewer", "lead"):
        s.declaration_review(actor=world.users[key], declaration_id=draft_id, decision="approve")
    s.batch_push(
        actor=world.users["convener"],
        batch_id=s.batch_signoff(actor=world.users["convener"], declaration_ids=[draft_id]).pk,
    )
    third = lead.post(f"/api/v1/leads/{recs['ccb'].pk}/redirect/", {"bank_code": "jshb"}, format="json")
    assert third.status_code == 409 and "不超过 2 家" in third.json()["message"]
    # nor back to a bank that already had it
    s.recommendation_decline(actor=world.users["boc_admin"], recommendation_id=recs["boc"].pk, reason_code="no_need")
    back = lead.post(f"/api/v1/leads/{recs['boc'].pk}/redirect/", {"bank_code": "ccb"}, format="json")
    assert back.status_code == 409 and "已推荐给" in back.json()["message"]
    assert Recommendation.objects.filter(entity=entity).count() == 3


def test_changing_the_banks_of_a_consented_draft_needs_the_consent_again(world):
    # given a consented draft for 中国银行
    entity, enterprise = world.entity()
    draft = s.declaration_create(
        actor=enterprise,
        entity_id=entity.pk,
        amount=300_000,
        term_months=12,
        purpose="进货周转",
        bank_codes=["boc"],
        basic_criteria=CRITERIA,
        consent=True,
    )
    # when a bank is added without consenting again
    s.declaration_update(
        actor=enterprise,
        declaration_id=draft.pk,
        amount=300_000,
        term_months=12,
        purpose="进货周转",
        bank_codes=["boc", "ccb"],
        basic_criteria=CRITERIA,
    )
    # then the consent no longer covers the banks and the draft cannot be submitted
    assert Declaration.objects.get(pk=draft.pk).consent_given_at is None
    response = api(enterprise).post(f"/api/v1/declarations/{draft.pk}/submit/", format="json")
    assert response.status_code == 400 and "consent" in response.json()["errors"]


# --- the pages show what the table allows ------------------------------------------------------


def page(user, url):
    client = Client()
    client.force_login(user)
    return client.get(url).content.decode()


def test_the_declaration_page_shows_the_buttons_the_table_allows(world, settings, tmp_path, staff2):
    settings.MEDIA_ROOT = tmp_path
    entity, _ = world.entity(with_user=False)
    declaration = s.declaration_create(
        actor=world.users["staff"],
        entity_id=entity.pk,
        amount=300_000,
        term_months=12,
        purpose="进货周转",
        bank_codes=["boc"],
        basic_criteria=CRITERIA,
        consent=True,
        submit=True,
    )
    url = f"/matching/declarations/{declaration.pk}/"
    # the filer sees why he may not review it, not the review buttons; another staff member sees them
    filer = page(world.users["staff"], url)
    assert "填报与初审须由不同人员办理" in filer and 'value="approve"' not in filer
    assert 'value="approve"' in page(staff2, url)
    # the bank reviewer and the convener see no review buttons yet, and no upload form
    for who in ("reviewer", "convener"):
        html = page(world.users[who], url)
        assert 'value="approve"' not in html and 'name="files"' not in html, who
    # after the push, the enterprise may still add materials (a bank may ask for more)
    owner, enterprise = world.entity(name="已推荐企业")
    recs = pushed(world, enterprise, owner, banks=("boc",))
    html = page(enterprise, f"/matching/declarations/{recs['boc'].declaration_id}/")
    assert 'name="files"' in html


def test_the_redirect_form_proposes_a_draft_on_the_page(world):
    entity, enterprise = world.entity()
    recs = pushed(world, enterprise, entity)
    s.recommendation_decline(
        actor=world.users["ccb_admin"], recommendation_id=recs["ccb"].pk, reason_code="operating_too_short"
    )
    client = Client()
    client.force_login(world.users["convener"])
    response = client.post(
        f"/matching/leads/{recs['ccb'].pk}/act/redirect/", {"bank": "shanxibank", "comment": "辅导后改推"}
    )
    draft = Declaration.objects.get(entity=entity, source="redirect")
    assert response.status_code == 302 and response["Location"] == f"/matching/declarations/{draft.pk}/"
    assert draft.state == DeclarationState.DRAFT and not Recommendation.objects.filter(declaration=draft).exists()
    # the enterprise is told and sees the proposal on its page, with the consent to give
    html = page(enterprise, f"/matching/declarations/{draft.pk}/")
    assert "专班提议改推至山西银行" in html and "记录同意" in html
