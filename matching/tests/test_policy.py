"""The workflow table (matching/workflow.py) walked against the real API and pages: for every
action of the table and every role, the endpoint lets the role act iff the table lists it (2xx,
and the object changed), and refuses it otherwise (403/404, nothing written); for every
action, in every state the table does not list, an allowed role is refused with nothing
written; and for every role × every state × every action, the page shows the action's button
iff the table allows it, and the API does it iff the table allows it.
Generated from the table: an action without a scenario here fails the test."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from rest_framework.test import APIClient

from campaigns import services as campaign_services
from campaigns.factories import open_campaign
from campaigns.models import Campaign, Target
from coordination.factories import departments
from matching import selectors, workflow
from matching import services as s
from matching.materials import lead_material_upload
from matching.models import (
    BatchState,
    Coaching,
    Declaration,
    DeclarationMaterial,
    DeclarationState,
    Recommendation,
    RecommendationBatch,
    RecommendationState,
    ReviewStep,
    Visit,
)
from matching.restrictions import ASSIGNED_VISITORS
from matching.workflow import Action
from portal.factories import user_with_role
from portal.models import AuditEvent, Organisation, OrganisationKind, Role
from portal.tenancy import scope_for
from products.factories import build_world
from products.models import LoanProduct

pytestmark = pytest.mark.django_db

CRITERIA = {
    key: {"met": True, "evidence": "走访核实"}
    for key in ("compliant_operation", "fixed_premises", "genuine_need", "good_credit", "lawful_purpose")
}
PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
# the product of 中国银行's leads is 惠商贷 (≤ 100 万元, 3.5%–4.0%, ≤ 12 个月); the need is 30 万元
WITHIN = {
    "credit_amount": 100_000,
    "rate_percent": "3.800",
    "term_months": 12,
    "guarantee": "credit",
    "is_credit_loan": True,
    "is_first_loan": False,
}
BEYOND = {**WITHIN, "rate_percent": "4.500", "override_reason": "优质客户, 经分行审批执行优惠外利率"}
# actions the walk does not drive through the API, and why
NOT_WALKED = {
    Action.BANK_RECOMMEND: "enforced by declaration_recommend_by_bank itself (its own tests)",
    Action.BASIS_CHANGE: "no role: recorded by the post-loan watch (matching/tests/test_watch.py)",
    Action.MATERIALS_AUTO_START: "no role: the deadline scan applies it (matching/tests/test_lead_materials.py)",
}


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "uploads"


@pytest.fixture
def world():
    world = build_world()
    province = Organisation.objects.get(kind=OrganisationKind.PROVINCE_MECHANISM)
    world.users["province"] = user_with_role(Role.PROVINCE_REGULATOR, organisation=province, username="wf-province")
    world.users["platform_admin"] = user_with_role(Role.PLATFORM_ADMIN, username="wf-platform")
    return world


# --- building objects in each state, through the services ---------------------------------


def filed(world, *, by_enterprise=True, consent=True, submit=True, banks=("boc",), exception=False):
    """`exception`: one basic criterion unmet, filed with an exception reason (to be confirmed)."""
    entity, user = world.entity()
    actor = user if by_enterprise else world.users["staff"]
    declaration = s.declaration_create(
        actor=actor,
        entity_id=entity.pk,
        amount=300_000,
        term_months=12,
        purpose="进货周转",
        bank_codes=list(banks),
        basic_criteria={**CRITERIA, "fixed_premises": {"met": False}} if exception else CRITERIA,
        criteria_exception="经营场所租赁续签中" if exception else "",
        consent=consent,
        submit=submit,
    )
    return declaration, user


def reviewed(world, levels: int, **kwargs):
    declaration, user = filed(world, **kwargs)
    for key in ("staff", "reviewer", "lead")[:levels]:
        s.declaration_review(actor=world.users[key], declaration_id=declaration.pk, decision="approve")
    return declaration, user


def signed(world, **kwargs):
    declaration, user = reviewed(world, 3, **kwargs)
    batch = s.batch_signoff(actor=world.users["convener"], declaration_ids=[declaration.pk])
    return declaration, user, batch


def lead_at(world, state: str, assign: bool = True, materials: str = "", bank_file: bool = False):
    """A 中国银行 lead (assigned to its account manager) brought to `state`, and the enterprise user;
    `materials`: a contacted lead's materials listed by the bank ("listed") or also submitted
    by the enterprise ("submitted"); `bank_file`: with a file the bank uploaded to it."""
    declaration, user, batch = signed(world)
    s.batch_push(actor=world.users["convener"], batch_id=batch.pk)
    # the limits walked are 惠商贷's (a push names the best-fitting product: set it here)
    huishang = LoanProduct.objects.get(code="huishangdai")
    Recommendation.objects.filter(declaration=declaration).update(product_version=huishang.current_version)
    lead = Recommendation.objects.get(declaration=declaration)
    admin, manager = world.users["boc_admin"], world.users["boc_manager"]
    if assign:
        s.recommendations_assign(actor=admin, recommendation_ids=[lead.pk], manager_id=manager.pk)
    steps = {
        RecommendationState.CONTACTED: ["contact"],
        RecommendationState.UNDER_REVIEW: ["contact", "materials"],
        RecommendationState.APPROVED: ["contact", "materials", "approve"],
        RecommendationState.DISBURSED: ["contact", "materials", "approve", "disburse"],
        RecommendationState.NOT_DRAWN: ["contact", "materials", "approve", "not_drawn"],
        RecommendationState.DECLINED: ["decline"],
        RecommendationState.REMOVED: ["remove"],
    }.get(state, [])
    for step in steps:
        if step == "contact":
            s.recommendation_contact(actor=admin, recommendation_id=lead.pk)
        elif step == "materials":
            s.recommendation_materials_complete(actor=admin, recommendation_id=lead.pk)
        elif step == "approve":
            s.recommendation_approve(
                actor=admin,
                recommendation_id=lead.pk,
                credit_amount=100_000,
                rate_percent="3.8",
                term_months=12,
                guarantee="credit",
                is_credit_loan=True,
                is_first_loan=False,
            )
        elif step == "disburse":
            s.recommendation_disburse(
                actor=admin, recommendation_id=lead.pk, amount=10_000, disbursed_on=timezone.localdate()
            )
        elif step == "not_drawn":
            s.recommendation_not_drawn(actor=admin, recommendation_id=lead.pk)
        elif step == "decline":
            s.recommendation_decline(actor=admin, recommendation_id=lead.pk, reason_code="no_need")
        elif step == "remove":
            s.recommendation_remove(actor=world.users["convener"], recommendation_id=lead.pk, reason="提供虚假材料")
    if materials:
        s.recommendation_materials_list(actor=admin, recommendation_id=lead.pk, items=["营业执照", "经营流水"])
    if materials == "submitted":
        s.recommendation_materials_submit(actor=user, recommendation_id=lead.pk)
    if bank_file:
        lead_material_upload(
            actor=admin, recommendation_id=lead.pk, uploaded_file=SimpleUploadedFile("误传文件.pdf", PDF)
        )
    lead = Recommendation.objects.get(pk=lead.pk)
    assert lead.state == state
    return lead, user


def declaration_at(world, state: str):
    """A declaration in `state` (filed by its enterprise), and the enterprise user."""
    if state == DeclarationState.DRAFT:
        return filed(world, consent=False, submit=False)
    if state == DeclarationState.SUBMITTED:
        return filed(world)
    levels = {
        DeclarationState.PRELIMINARY_APPROVED: 1,
        DeclarationState.BANK_REVIEWED: 2,
        DeclarationState.LEAD_APPROVED: 3,
    }
    if state in levels:
        return reviewed(world, levels[state])
    if state == DeclarationState.RECOMMENDED:
        lead, user = lead_at(world, RecommendationState.PUSHED)
        return lead.declaration, user
    if state == DeclarationState.REMOVED:
        lead, user = lead_at(world, RecommendationState.REMOVED)
        return Declaration.objects.get(pk=lead.declaration_id), user
    declaration, user = filed(world)
    if state == DeclarationState.REJECTED:
        s.declaration_review(
            actor=world.users["staff"], declaration_id=declaration.pk, decision="reject", comment="不符合"
        )
    elif state == DeclarationState.WITHDRAWN:
        s.declaration_withdraw(actor=user, declaration_id=declaration.pk)
    return Declaration.objects.get(pk=declaration.pk), user


def batch_at(world, state: str):
    declaration, user, batch = signed(world)
    if state == BatchState.PUSHED:
        s.batch_push(actor=world.users["convener"], batch_id=batch.pk)
    return RecommendationBatch.objects.get(pk=batch.pk), user


def object_at(world, model, state):
    return {Declaration: declaration_at, Recommendation: lead_at, RecommendationBatch: batch_at}[model](world, state)


# --- how each action is called through the API, and what it writes -----------------------


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _declaration_snapshot(obj):
    d = Declaration.objects.get(pk=obj.pk)
    return (
        d.state,
        d.amount,
        d.purpose,
        d.consent_given_at,
        list(d.intended_banks.values_list("bank__code", flat=True)),
        ReviewStep.objects.filter(declaration=d).count(),
        DeclarationMaterial.objects.filter(declaration=d).count(),
        d.batch_id,
        Declaration.objects.filter(entity_id=d.entity_id).count(),
        d.criteria_exception_confirmed_at,
    )


def _lead_snapshot(obj):
    r = Recommendation.objects.get(pk=obj.pk)
    return (
        r.state,
        r.assigned_to_id,
        r.credit_amount,
        r.disbursed_total,
        r.satisfaction,
        r.override_reason,
        r.materials_stage,
        r.materials_required,
        DeclarationMaterial.objects.filter(recommendation=r).count(),
        DeclarationMaterial.objects.filter(recommendation=r, withdrawn_at__isnull=True).count(),
        Coaching.objects.filter(recommendation=r).count(),
        Declaration.objects.filter(entity_id=r.entity_id).count(),
        # a reveal of the contact writes nothing but its audit event
        AuditEvent.objects.filter(action="recommendation.contact_reveal", object_id=str(r.pk)).count(),
    )


def _batch_snapshot(obj):
    b = RecommendationBatch.objects.get(pk=obj.pk)
    return (b.state, Recommendation.objects.filter(batch=b).count())


SNAPSHOT = {Declaration: _declaration_snapshot, Recommendation: _lead_snapshot, RecommendationBatch: _batch_snapshot}


@dataclass
class Scenario:
    state: object  # the state the object is built in (one the table allows)
    call: Callable  # (client, obj, world) -> response
    kwargs: dict = field(default_factory=dict)  # how the object is built (declarations)


def _post(path, data=None, fmt="json"):
    return lambda client, obj, world: client.post(path.format(id=obj.pk), data or {}, format=fmt)


def _assigned(client, entity, world):
    """A 走访人员, a 委办局's staff or an account manager visits only what a running 大走访 campaign
    assigned to him (entities.restrictions.visit_q): the entity is assigned to the client's user
    when his role is one of those the table allows."""
    user = client.handler._force_user
    if user is None or scope_for(user).role not in ASSIGNED_VISITORS or Action.VISIT not in SCENARIOS:
        return client
    if scope_for(user).role not in workflow.roles(Action.VISIT):
        return client
    campaign = Campaign.objects.filter(state="running").first() or open_campaign(world)
    target = Target.objects.create(campaign=campaign, entity=entity, region_id=entity.region_id)
    campaign_services.assignments_make(
        actor=world.users["staff"], campaign_id=campaign.pk, visitor_id=user.pk, target_ids=[target.pk]
    )
    return client


D, R = DeclarationState, RecommendationState
SCENARIOS: dict[Action, Scenario] = {
    Action.VISIT: Scenario(
        None,
        lambda client, entity, world: _assigned(client, entity, world).post(
            "/api/v1/visits/",
            {"entity_id": entity.pk, "visited_on": timezone.localdate().isoformat(), "people": "周干事"},
            format="json",
        ),
    ),
    Action.FILE: Scenario(
        None,
        lambda client, entity, world: client.post(
            "/api/v1/declarations/",
            {"entity_id": entity.pk, "amount": 200_000, "term_months": 12, "purpose": "进货", "banks": ["boc"]},
            format="json",
        ),
    ),
    Action.DIRECT_APPLY: Scenario(
        None,
        lambda client, entity, world: client.post(
            "/api/v1/leads/direct/",
            {
                "entity_id": entity.pk,
                "product_id": LoanProduct.objects.filter(bank__code="boc", status="active").order_by("code")[0].pk,
                "amount": 200_000,
                "term_months": 12,
                "purpose": "进货",
                "consent": True,
            },
            format="json",
        ),
    ),
    Action.EDIT: Scenario(
        D.DRAFT,
        lambda client, obj, world: client.put(
            f"/api/v1/declarations/{obj.pk}/",
            {"amount": 250_000, "term_months": 12, "purpose": "购置设备", "banks": ["boc"], "basic_criteria": CRITERIA},
            format="json",
        ),
        {"by_enterprise": False, "consent": False, "submit": False},
    ),
    Action.CONSENT: Scenario(
        D.DRAFT,
        _post("/api/v1/declarations/{id}/consent/"),
        {"by_enterprise": False, "consent": False, "submit": False},
    ),
    Action.SUBMIT: Scenario(
        D.DRAFT, _post("/api/v1/declarations/{id}/submit/"), {"by_enterprise": False, "consent": True, "submit": False}
    ),
    Action.WITHDRAW: Scenario(D.SUBMITTED, _post("/api/v1/declarations/{id}/withdraw/", {"reason": "暂不需要"})),
    Action.MATERIALS_UPLOAD: Scenario(
        D.SUBMITTED,
        lambda client, obj, world: client.post(
            f"/api/v1/declarations/{obj.pk}/materials/",
            {"file": SimpleUploadedFile("营业执照.pdf", PDF)},
            format="multipart",
        ),
    ),
    Action.REVIEW_PRELIMINARY: Scenario(
        D.SUBMITTED, _post("/api/v1/declarations/{id}/review/", {"decision": "approve"})
    ),
    Action.REVIEW_BANK: Scenario(
        D.PRELIMINARY_APPROVED, _post("/api/v1/declarations/{id}/review/", {"decision": "approve"})
    ),
    Action.REVIEW_LEAD: Scenario(D.BANK_REVIEWED, _post("/api/v1/declarations/{id}/review/", {"decision": "approve"})),
    Action.SIGNOFF: Scenario(
        D.LEAD_APPROVED,
        lambda client, obj, world: client.post(
            "/api/v1/batches/signoff/", {"declaration_ids": [obj.pk]}, format="json"
        ),
    ),
    Action.PUSH: Scenario(BatchState.BUILDING, _post("/api/v1/batches/{id}/push/")),
    Action.ASSIGN: Scenario(
        R.PUSHED,
        lambda client, obj, world: client.post(
            "/api/v1/leads/assign/", {"ids": [obj.pk], "manager_id": world.users["boc_manager"].pk}, format="json"
        ),
        {"assign": False},
    ),
    Action.CONTACT: Scenario(R.PUSHED, _post("/api/v1/leads/{id}/contact/", {"channel": "phone"})),
    Action.MATERIALS_COMPLETE: Scenario(R.CONTACTED, _post("/api/v1/leads/{id}/materials-complete/")),
    Action.APPROVE: Scenario(R.UNDER_REVIEW, _post("/api/v1/leads/{id}/approve/", WITHIN)),
    Action.APPROVE_OVERRIDE: Scenario(R.UNDER_REVIEW, _post("/api/v1/leads/{id}/approve/", BEYOND)),
    Action.DECLINE: Scenario(R.PUSHED, _post("/api/v1/leads/{id}/decline/", {"reason_code": "no_need"})),
    Action.DISBURSE: Scenario(
        R.APPROVED,
        lambda client, obj, world: client.post(
            f"/api/v1/leads/{obj.pk}/disburse/",
            {"amount": 10_000, "disbursed_on": timezone.localdate().isoformat()},
            format="json",
        ),
    ),
    Action.NOT_DRAWN: Scenario(R.APPROVED, _post("/api/v1/leads/{id}/not-drawn/")),
    Action.REMOVE: Scenario(R.PUSHED, _post("/api/v1/leads/{id}/remove/", {"reason": "提供虚假材料"})),
    Action.COACH: Scenario(R.DECLINED, _post("/api/v1/leads/{id}/coaching/", {"note": "指导完善经营流水"})),
    Action.REDIRECT: Scenario(R.DECLINED, _post("/api/v1/leads/{id}/redirect/", {"bank_code": "shanxibank"})),
    Action.RATE: Scenario(R.DECLINED, _post("/api/v1/leads/{id}/rate/", {"score": 4})),
    Action.CRITERIA_EXCEPTION_CONFIRM: Scenario(
        D.SUBMITTED, _post("/api/v1/declarations/{id}/confirm-exception/"), {"exception": True}
    ),
    Action.MATERIALS_LIST: Scenario(R.CONTACTED, _post("/api/v1/leads/{id}/materials-list/", {"items": ["营业执照"]})),
    Action.MATERIALS_SUBMIT: Scenario(
        R.CONTACTED, _post("/api/v1/leads/{id}/materials-submit/"), {"materials": "listed"}
    ),
    Action.MATERIALS_SUPPLEMENT: Scenario(
        R.CONTACTED,
        _post("/api/v1/leads/{id}/materials-supplement/", {"missing": ["经营流水"]}),
        {"materials": "submitted"},
    ),
    Action.CONTACT_REVEAL: Scenario(R.PUSHED, _post("/api/v1/leads/{id}/contact-reveal/")),
    Action.LEAD_MATERIALS_UPLOAD: Scenario(
        R.CONTACTED,
        lambda client, obj, world: client.post(
            f"/api/v1/leads/{obj.pk}/materials/",
            {"file": SimpleUploadedFile("面谈记录.pdf", PDF)},
            format="multipart",
        ),
    ),
    # corrections (issue 16 item 6)
    Action.CORRECT_STATE: Scenario(R.APPROVED, _post("/api/v1/leads/{id}/correct-state/", {"reason": "误点授信"})),
    Action.CORRECT_DECISION: Scenario(
        R.APPROVED,
        _post("/api/v1/leads/{id}/correct-decision/", {**WITHIN, "credit_amount": 90_000, "reason": "金额录错"}),
    ),
    Action.CORRECT_DRAWDOWN: Scenario(
        R.DISBURSED,
        lambda client, obj, world: client.post(
            f"/api/v1/leads/{obj.pk}/correct-drawdown/",
            {"disbursement_id": getattr(obj.disbursements.first(), "pk", 1), "amount": 5_000, "reason": "金额录错"},
            format="json",
        ),
    ),
    Action.MATERIAL_WITHDRAW: Scenario(
        R.CONTACTED,
        lambda client, obj, world: client.post(
            f"/api/v1/leads/{obj.pk}/material-withdraw/",
            {"material_id": getattr(obj.bank_materials.first(), "pk", 1), "reason": "传错文件"},
            format="json",
        ),
        {"bank_file": True},
    ),
    # a declaration signed into a batch not pushed yet (built by `build`)
    Action.CORRECT_BATCH_ENTRY: Scenario(
        D.RECOMMENDED, _post("/api/v1/declarations/{id}/batch-entry-correct/", {"reason": "误签"})
    ),
}

ROLE_USER = {
    Role.TASK_FORCE_STAFF: "staff",
    Role.TASK_FORCE_BANK_REVIEWER: "reviewer",
    Role.TASK_FORCE_LEAD: "lead",
    Role.CONVENER: "convener",
    Role.CITY_REGULATOR: "city",
    Role.PROVINCE_REGULATOR: "province",
    Role.BANK_ADMIN: "boc_admin",
    Role.ACCOUNT_MANAGER: "boc_manager",
    Role.PLATFORM_ADMIN: "platform_admin",
    Role.DEPARTMENT_STAFF: "department",  # a 职能部门's staff: no action on the lead workflow
    Role.VISITOR: "visitor",  # a 走访人员: visits only the entities assigned to him (campaigns)
}


def user_of(world, role, enterprise_user):
    if role == Role.ENTERPRISE_USER:
        return enterprise_user
    if role == Role.DEPARTMENT_STAFF and "department" not in world.users:
        world.users["department"] = departments(world).users["department"]
    if role == Role.VISITOR and "visitor" not in world.users:
        world.users["visitor"] = user_with_role(Role.VISITOR, region_code="140525")
    return world.users[ROLE_USER[role]]


def build(world, action: Action):
    """A fresh object for the action, in a state the table allows, and its enterprise user."""
    scenario, rule = SCENARIOS[action], workflow.rule(action)
    if action in (Action.FILE, Action.VISIT, Action.DIRECT_APPLY):
        return world.entity()
    if action == Action.CORRECT_BATCH_ENTRY:
        declaration, user, _ = signed(world)
        return declaration, user
    if rule.model is Declaration:
        if scenario.kwargs:
            return filed(world, **scenario.kwargs)
        return declaration_at(world, scenario.state)
    if rule.model is Recommendation:
        return lead_at(world, scenario.state, **scenario.kwargs)
    return object_at(world, rule.model, scenario.state)


def snapshot(action: Action, obj):
    if action == Action.FILE:
        return Declaration.objects.filter(entity=obj).count()
    if action == Action.VISIT:
        return Visit.objects.filter(entity=obj).count()
    if action == Action.DIRECT_APPLY:
        return Recommendation.objects.filter(entity=obj).count()
    return SNAPSHOT[workflow.rule(action).model](obj)


# --- the walks -------------------------------------------------------------------------------


def test_every_action_of_the_table_has_a_scenario_and_every_state_is_an_enum_member():
    for rule in workflow.RULES:
        assert rule.action in SCENARIOS or rule.action in NOT_WALKED, f"{rule.action} is not walked against the API"
        if rule.states:
            assert all(isinstance(state, workflow.STATES[rule.model]) for state in rule.states), rule.action
        assert rule.roles <= set(Role), rule.action
    for t in workflow.TRANSITIONS:
        # the django-fsm transition exists, leaves from each of the row's states, reaches its target
        assert all(isinstance(state, workflow.STATES[t.model]) for state in t.source), t
        if t.method:
            transitions = [
                f for f in t.model._meta.get_field("state").get_all_transitions(t.model) if f.name == t.method
            ]
            assert transitions, t
            assert set(t.source) <= {f.source for f in transitions}, t
            assert {f.target for f in transitions} == {t.target}, t


@pytest.mark.parametrize("action", [a for a in Action if a not in NOT_WALKED], ids=lambda a: a.name)
def test_each_role_may_act_through_the_api_iff_the_table_says_so(world, action):
    scenario, rule = SCENARIOS[action], workflow.rule(action)
    # given an object in a state the table allows, refused to every role it does not list …
    obj, enterprise_user = build(world, action)
    for role in Role:
        if role in rule.roles:
            continue
        before = snapshot(action, obj)
        response = scenario.call(api(user_of(world, role, enterprise_user)), obj, world)
        # (an account manager's approval beyond the limits is refused with its field errors)
        refused = (
            (403, 404, 400)
            if action == Action.APPROVE_OVERRIDE and role in workflow.roles(Action.APPROVE)
            else (403, 404)
        )
        assert response.status_code in refused, (action, role, response.status_code, response.content[:300])
        assert snapshot(action, obj) == before, (action, role, "wrote although refused")
    # … and done by each role it lists, on a fresh object
    for role in sorted(rule.roles):
        obj, enterprise_user = build(world, action)
        before = snapshot(action, obj)
        response = scenario.call(api(user_of(world, role, enterprise_user)), obj, world)
        assert response.status_code in (200, 201), (action, role, response.status_code, response.content[:300])
        assert snapshot(action, obj) != before, (action, role, "answered 2xx but changed nothing")


def test_every_action_is_refused_in_every_state_the_table_does_not_list(world):
    # given one object in every state of each model (objects refused an action stay as they are)
    objects = {}
    for model, enum in (
        (Declaration, DeclarationState),
        (Recommendation, RecommendationState),
        (RecommendationBatch, BatchState),
    ):
        for state in enum:
            objects[model, state] = object_at(world, model, state)
    checked = 0
    for action, scenario in SCENARIOS.items():
        rule = workflow.rule(action)
        if not rule.states:
            continue
        role = sorted(rule.roles)[0]
        for state in type(rule.states[0]):
            if state in rule.states:
                continue
            obj, enterprise_user = objects[rule.model, state]
            before = snapshot(action, obj)
            # when a role the table allows tries it there
            response = scenario.call(api(user_of(world, role, enterprise_user)), obj, world)
            # then it is refused: a conflict with the state (a review level of another role: 403)
            expected = (409, 403) if action in workflow.REVIEWS else (409,)
            assert response.status_code in expected, (action, state, response.status_code, response.content[:300])
            assert response.json()["code"] in ("conflict", "permission_denied")
            assert snapshot(action, obj) == before, (action, state, "wrote although refused")
            checked += 1
    assert checked > 100


def test_the_queues_counters_and_steps_come_from_the_table():
    from matching import selectors
    from matching.views import declarations as views

    assert selectors.QUEUE_STATES == {
        Role.TASK_FORCE_STAFF: [DeclarationState.SUBMITTED],
        Role.TASK_FORCE_BANK_REVIEWER: [DeclarationState.PRELIMINARY_APPROVED],
        Role.TASK_FORCE_LEAD: [DeclarationState.BANK_REVIEWED],
        Role.CONVENER: [DeclarationState.LEAD_APPROVED],
    }
    assert [label for _, label in workflow.queue_counts_labels()] == [
        "待初审",
        "待银行审核",
        "待组长审核",
        "待签字推送",
    ]
    assert views._ORDER == [
        DeclarationState.DRAFT,
        DeclarationState.SUBMITTED,
        DeclarationState.PRELIMINARY_APPROVED,
        DeclarationState.BANK_REVIEWED,
        DeclarationState.LEAD_APPROVED,
        DeclarationState.RECOMMENDED,
    ]
    from matching.materials import UPLOAD_STATES

    assert DeclarationState.RECOMMENDED in UPLOAD_STATES and DeclarationState.WITHDRAWN not in UPLOAD_STATES


def test_no_workflow_module_applies_a_transition_except_through__transition():
    # given every django-fsm transition of the workflow's models
    import ast
    import pathlib

    names = {
        t.name
        for model in (Declaration, Recommendation, RecommendationBatch)
        for t in model._meta.get_field("state").get_all_transitions(model)
    }
    offenders = []
    for path in sorted(pathlib.Path(workflow.__file__).parent.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        # when a module calls one directly (obj.push(), declaration.remove()), bypassing _transition
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in names
                and not node.args
                and not node.keywords
            ):
                offenders.append(f"{path.name}:{node.lineno} .{node.func.attr}()")
    # then none does: a refused transition is a 409 with the state, never a 500
    assert offenders == []


# --- the pages and the API agree with the table, for every role × every state ------------------


@dataclass(frozen=True)
class Button:
    """Where the page of an object shows an action's button, and how it is recognised."""

    page: Callable  # obj -> the path of the page showing it
    marker: Callable  # obj -> a string only the button's form has
    shown_for: Callable = lambda obj: True  # what the page also asks of the object (its input, not a rule)


def _declaration_page(d):
    return f"/matching/declarations/{d.pk}/"


def _lead_page(r):
    return f"/matching/leads/{r.pk}/"


def _its_declaration_page(r):
    return f"/matching/declarations/{r.declaration_id}/"


def _act(kind, name):
    return lambda obj: f"/matching/{kind}/{obj.pk}/act/{name}/"


def _inbox_tab(r):
    """The inbox tab listing the lead (a removed lead is in none: the first tab is opened)."""
    tab = next(
        (tab for tab, (_, states) in selectors.INBOX_TABS.items() if r.state in states), selectors.INBOX_FIRST_TAB
    )
    return f"/matching/leads/?tab={tab}"


BUTTONS: dict[Action, Button] = {
    Action.EDIT: Button(_declaration_page, lambda d: ">修改申报</a>"),
    Action.CONSENT: Button(_declaration_page, _act("declarations", "consent"), lambda d: d.consent_given_at is None),
    Action.SUBMIT: Button(_declaration_page, _act("declarations", "submit"), lambda d: d.consent_given_at is not None),
    Action.WITHDRAW: Button(_declaration_page, _act("declarations", "withdraw")),
    Action.MATERIALS_UPLOAD: Button(_declaration_page, lambda d: f'action="/matching/declarations/{d.pk}/materials/"'),
    # one review form, for whichever level the declaration waits for
    Action.REVIEW_PRELIMINARY: Button(_declaration_page, _act("declarations", "review")),
    Action.REVIEW_BANK: Button(_declaration_page, _act("declarations", "review")),
    Action.REVIEW_LEAD: Button(_declaration_page, _act("declarations", "review")),
    Action.SIGNOFF: Button(lambda d: "/matching/batches/", lambda d: f'name="ids" value="{d.pk}"'),
    Action.PUSH: Button(lambda b: f"/matching/batches/{b.pk}/", lambda b: "确认推送至各意向对接银行"),
    Action.ASSIGN: Button(_inbox_tab, lambda r: f'name="ids" value="{r.pk}"'),
    Action.CONTACT: Button(_lead_page, _act("leads", "contact")),
    Action.MATERIALS_COMPLETE: Button(_lead_page, _act("leads", "materials")),
    Action.APPROVE: Button(_lead_page, _act("leads", "approve")),
    Action.APPROVE_OVERRIDE: Button(_lead_page, lambda r: 'name="override_reason"'),
    Action.DECLINE: Button(_lead_page, _act("leads", "decline")),
    Action.DISBURSE: Button(_lead_page, _act("leads", "disburse")),
    Action.NOT_DRAWN: Button(_lead_page, _act("leads", "not-drawn")),
    Action.REMOVE: Button(_its_declaration_page, _act("leads", "remove")),
    Action.COACH: Button(_its_declaration_page, _act("leads", "coach")),
    Action.REDIRECT: Button(_its_declaration_page, _act("leads", "redirect")),
    Action.RATE: Button(_its_declaration_page, _act("leads", "rate")),
    Action.CRITERIA_EXCEPTION_CONFIRM: Button(_declaration_page, _act("declarations", "confirm-exception")),
    Action.MATERIALS_LIST: Button(_lead_page, _act("leads", "materials-list")),
    Action.MATERIALS_SUBMIT: Button(_its_declaration_page, _act("leads", "materials-submit")),
    Action.MATERIALS_SUPPLEMENT: Button(_lead_page, _act("leads", "materials-supplement")),
    Action.LEAD_MATERIALS_UPLOAD: Button(_lead_page, lambda r: f'action="/matching/leads/{r.pk}/materials/"'),
    Action.CONTACT_REVEAL: Button(_lead_page, lambda r: f'action="/matching/leads/{r.pk}/contact/"'),
    # corrections: the bank administrator's 更正 card; the convener's 移出批次 on an unpushed batch
    Action.CORRECT_STATE: Button(_lead_page, _act("leads", "correct-state")),
    Action.CORRECT_DECISION: Button(_lead_page, _act("leads", "correct-decision")),
    Action.CORRECT_DRAWDOWN: Button(
        _lead_page, _act("leads", "correct-drawdown"), lambda r: r.disbursements.filter(voided_at=None).exists()
    ),
    Action.MATERIAL_WITHDRAW: Button(
        _lead_page, _act("leads", "material-withdraw"), lambda r: r.bank_materials.filter(withdrawn_at=None).exists()
    ),
    Action.CORRECT_BATCH_ENTRY: Button(
        lambda d: f"/matching/batches/{d.batch_id}/" if d.batch_id else _declaration_page(d),
        lambda d: f'name="declaration" value="{d.pk}"',
    ),
}
# actions that act on no existing object: their pages are forms of their own, opened by role
NO_BUTTON = {
    Action.VISIT: "走访登记 (the visits page), for the roles of the rule",
    Action.FILE: "我要融资 / 代为申报 pages, for the roles of the rule",
    Action.BANK_RECOMMEND: "银行推荐 page, for the roles of the rule",
    Action.DIRECT_APPLY: "直接申请 page (from a product of the 产品超市), for the roles of the rule",
    Action.BASIS_CHANGE: "no role acts: the post-loan watch records it (shown on the lead's timeline and the ledger)",
    Action.MATERIALS_AUTO_START: "the deadline scan, no user: the lead page says 自动起算",
}


def _allowed(action, user, obj) -> bool:
    """What the table says; the three review levels share one form and one endpoint, which
    review whichever level the declaration waits for."""
    if action in workflow.REVIEWS:
        return any(workflow.allows(review, user, obj) for review in workflow.REVIEWS)
    return workflow.allows(action, user, obj)


def test_every_action_on_an_object_has_a_button_on_a_page():
    assert {rule.action for rule in workflow.RULES} == set(BUTTONS) | set(NO_BUTTON)
    assert not set(BUTTONS) & set(NO_BUTTON)


def test_pages_and_api_agree_with_the_table_for_every_role_and_state(world, client):
    # given an object in every state of each model, each with its enterprise user
    objects = {}
    for model, enum in workflow.STATES.items():
        for state in enum:
            objects[model, state] = object_at(world, model, state)
    counts = {"shown": 0, "hidden": 0, "refused": 0, "done": 0}
    allowed_cases = set()
    for (model, state), (obj, enterprise_user) in objects.items():
        for role in Role:
            user = user_of(world, role, enterprise_user)
            client.force_login(user)
            pages: dict[str, str] = {}
            for action, button in BUTTONS.items():
                if workflow.rule(action).model is not model:
                    continue
                obj = type(obj).objects.get(pk=obj.pk)
                allowed = _allowed(action, user, obj)
                # when the user opens the page the button lives on
                path = button.page(obj)
                if path not in pages:
                    response = client.get(path)
                    assert response.status_code in (200, 302, 403, 404), (path, role, response.status_code)
                    pages[path] = response.content.decode() if response.status_code == 200 else ""
                shown = button.marker(obj) in pages[path]
                # then the page shows the button iff the table allows the action (and the page's input is there)
                assert shown == (allowed and button.shown_for(obj)), (action, state, role, shown, allowed)
                counts["shown" if shown else "hidden"] += 1
                # and the API refuses what the table does not allow to a role it lists for the
                # action, writing nothing (a role it never lists is refused before the state is
                # read: test_each_role_may_act_through_the_api_iff_the_table_says_so)
                if action not in SCENARIOS or (action in workflow.REVIEWS and action != workflow.REVIEWS[0]):
                    continue
                if allowed:
                    allowed_cases.add((action, state, role))
                    continue
                listed = workflow.REVIEWS if action in workflow.REVIEWS else (action,)
                if not any(role in workflow.roles(a) for a in listed):
                    continue
                before = snapshot(action, obj)
                response = SCENARIOS[action].call(api(user), obj, world)
                accepted = (403, 404, 409) + ((400,) if action == Action.APPROVE_OVERRIDE else ())
                assert response.status_code in accepted, (
                    action,
                    state,
                    role,
                    response.status_code,
                    response.content[:300],
                )
                assert snapshot(action, obj) == before, (action, state, role, "wrote although refused")
                counts["refused"] += 1
    # and does what the table allows, in every state it allows it (each on an object of its own)
    for action, state, role in sorted(allowed_cases, key=str):
        scenario, rule = SCENARIOS[action], workflow.rule(action)
        review = workflow.review_action(state) if action in workflow.REVIEWS else action
        if rule.model is Declaration and state == scenario.state and scenario.kwargs:
            obj, enterprise_user = filed(world, **scenario.kwargs)
        elif rule.model is Recommendation:
            obj, enterprise_user = lead_at(world, state, **scenario.kwargs)
        else:
            obj, enterprise_user = object_at(world, rule.model, state)
        user = user_of(world, role, enterprise_user)
        if not workflow.allows(review, user, obj):
            continue  # a per-object rule of the freshly built object (e.g. who filed it) keeps this role out
        before = snapshot(action, obj)
        response = SCENARIOS[review].call(api(user), obj, world)
        assert response.status_code in (200, 201), (action, state, role, response.status_code, response.content[:300])
        assert snapshot(action, obj) != before, (action, state, role, "answered 2xx but changed nothing")
        counts["done"] += 1
    assert counts["shown"] > 40 and counts["refused"] > 150 and counts["done"] > 40, counts
