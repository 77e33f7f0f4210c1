"""The workflow table (matching/workflow.py) checked as a table, and against the code that
applies it: every transition has an event kind, a label and a clock rule; every state is
reachable; every django-fsm transition of the models is a row of the table; every event
the code records is a kind of the table (driven through the services and the deadline scan,
and no module but the table's writer and the scan writes an event); no workflow code
compares a state with a string; and a transition the state does not allow is refused with a
clear Chinese 409, never a 500."""

from __future__ import annotations

import ast
import datetime as dt
import pathlib
import re

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from entities.services import tier_mark_set
from matching import clocks, materials, watch, workflow
from matching import services as s
from matching.clocks import deadline_scan
from matching.factories import CRITERIA
from matching.models import (
    BatchState,
    ClockKind,
    ClockState,
    DeadlineClock,
    DeclarationState,
    EventKind,
    Recommendation,
    RecommendationBatch,
    RecommendationState,
    WorkflowEvent,
)
from matching.workflow import Action
from portal.services import ApplicationError
from products.factories import build_world
from products.models import LoanProduct
from reporting import kpis

PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
CJK = re.compile(r"[\u4e00-\u9fff]")
ROOT = pathlib.Path(settings.BASE_DIR)


def _fresh(obj):
    # FSM fields are protected: refresh_from_db() would assign the state directly
    return type(obj).objects.get(pk=obj.pk)


# --- the table itself ------------------------------------------------------------------------


def test_every_transition_has_an_event_kind_a_label_and_a_clock_rule():
    assert workflow.TRANSITIONS
    for t in workflow.TRANSITIONS:
        # an event kind of the model's choices, labelled in Chinese for the timeline
        assert isinstance(t.event, EventKind), t
        assert CJK.search(EventKind(t.event).label), t
        assert CJK.search(workflow.rule(t.action).label), t
        # a clock rule, stated in the row (NO_CLOCK included), over the clocks that exist
        assert isinstance(t.clock, workflow.Clock), t
        assert set(t.clock.start) | set(t.clock.satisfy) <= set(ClockKind), t
        assert CJK.search(t.clock.label), t
    # each clock is started by a row and answered by another; some row stops them all
    rules = [t.clock for t in workflow.TRANSITIONS]
    for kind in ClockKind:
        assert any(kind in rule.start for rule in rules), kind
        assert any(kind in rule.satisfy for rule in rules), kind
    assert any(rule.stop for rule in rules)


def test_every_state_is_reachable_from_where_its_object_starts():
    for model, enum in workflow.STATES.items():
        # given the state an object of the model is created in
        start = {model._meta.get_field("state").get_default()}
        start |= {t.target for t in workflow.TRANSITIONS if t.model is model and not t.source and t.target is not None}
        # when every transition of the table is followed
        reached, frontier = set(start), set(start)
        while frontier:
            frontier = {
                t.target
                for t in workflow.TRANSITIONS
                if t.model is model and t.target is not None and set(t.source) & frontier
            } - reached
            reached |= frontier
        # then every state of the model is reached
        assert reached == set(enum), (model.__name__, set(enum) - reached)


def test_every_django_fsm_transition_of_the_models_is_a_row_of_the_table():
    for model in workflow.STATES:
        methods = {t.name for t in model._meta.get_field("state").get_all_transitions(model)}
        in_table = {t.method for t in workflow.TRANSITIONS if t.model is model and t.method}
        assert methods == in_table, (model.__name__, methods ^ in_table)


def test_every_event_kind_has_its_source_in_the_table_or_the_deadline_scan():
    from_table = {t.event for t in workflow.TRANSITIONS}
    from_scan = set(clocks.SCAN_EVENTS.values())
    assert from_table | from_scan == set(EventKind)
    assert not from_table & from_scan
    # the figures read only kinds the workflow records
    assert set(kpis.RECOMMENDATION_KINDS) | set(kpis.DECLARATION_KINDS) <= set(EventKind.values)
    # the maker-checker rule counts the kinds of the actions that write a declaration
    assert set(workflow.MAKER_EVENTS) <= from_table


def test_the_one_name_of_each_transition_is_the_table_s():
    # the transition that registers complete materials has one name: its action, its
    # django-fsm method, its service and its event kind say materials_complete
    row = next(t for t in workflow.TRANSITIONS if t.action == Action.MATERIALS_COMPLETE)
    assert row.method == "materials_complete" and row.event == "recommendation.materials_complete"
    assert hasattr(s, "recommendation_materials_complete")
    assert not hasattr(Recommendation, "mark_materials_complete")
    # and the lead's states are finished exactly where no transition leaves them
    assert workflow.final_states(Recommendation) == [
        RecommendationState.DECLINED,
        RecommendationState.NOT_DRAWN,
        RecommendationState.REMOVED,
    ]
    assert workflow.final_states(RecommendationBatch) == [BatchState.PUSHED]


# --- the code that applies it ------------------------------------------------------------------


def _production_modules():
    for app in ("matching", "reporting", "portal", "entities", "products"):
        for path in sorted((ROOT / app).rglob("*.py")):
            if "tests" in path.parts or "migrations" in path.parts:
                continue
            yield path


def test_no_module_but_the_table_s_writer_and_the_deadline_scan_writes_an_event():
    # given every production module
    writers = set()
    for path in _production_modules():
        source = path.read_text(encoding="utf-8")
        tree = ast.parse(source)
        for node in ast.walk(tree):
            # when one creates a WorkflowEvent row (create, bulk_create, the model, a raw INSERT)
            if isinstance(node, ast.Call):
                func = node.func
                if isinstance(func, ast.Name) and func.id == "WorkflowEvent":
                    writers.add(path.relative_to(ROOT).as_posix())
                if (
                    isinstance(func, ast.Attribute)
                    and func.attr in ("create", "bulk_create", "get_or_create")
                    and "WorkflowEvent.objects" in ast.unparse(func.value)
                ):
                    writers.add(path.relative_to(ROOT).as_posix())
        if "INSERT INTO matching_workflowevent" in source:
            writers.add(path.relative_to(ROOT).as_posix())
    # then it is the table's `record` or the deadline scan (which records clocks.SCAN_EVENTS)
    assert writers == {"matching/workflow.py", "matching/clocks.py"}


STATE_VALUES = {str(v) for enum in (DeclarationState, RecommendationState, BatchState, ClockState) for v in enum.values}
# the workflow's code; batch matching, the engine and the calendar are other concerns with states of their own
WORKFLOW_CODE = [
    p
    for p in _production_modules()
    if p.parts[len(ROOT.parts)] in ("matching", "reporting")
    and not {"batch", "engine", "workdays"} & set(p.parts)
    and p.name not in ("models.py", "workflow.py")
    and "models" not in p.parts[len(ROOT.parts) :]  # a models package (matching/models/)
]


def _state_literals(tree) -> list[tuple[int, str]]:
    """String constants equal to a workflow state where code decides by a state: compared
    (==, in), passed as a state filter (state=, state__in=, tab=), or a default (x or "…")."""
    found = []

    def literals(node):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in STATE_VALUES:
            yield node
        elif isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            for element in node.elts:
                yield from literals(element)

    for node in ast.walk(tree):
        candidates = []
        if isinstance(node, ast.Compare):
            candidates = [node.left, *node.comparators]
        elif isinstance(node, ast.BoolOp):
            candidates = node.values
        elif isinstance(node, ast.keyword) and node.arg and (node.arg in ("state", "tab") or "state__" in node.arg):
            candidates = [node.value]
        for candidate in candidates:
            found += [(literal.lineno, literal.value) for literal in literals(candidate)]
    return found


def test_no_workflow_code_or_template_compares_a_state_with_a_string():
    # given the workflow's modules (but its models and its table) and its templates
    offenders = []
    for path in WORKFLOW_CODE:
        for line, value in _state_literals(ast.parse(path.read_text(encoding="utf-8"))):
            offenders.append(f"{path.relative_to(ROOT)}:{line} {value!r}")
    compare = re.compile(r"""(==|!=|\bin)\s*['"]([a-z_]+)['"]|['"]([a-z_]+)['"]\s*(==|!=)""")
    for path in sorted((ROOT / "templates").rglob("*.html")):
        for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            for match in compare.finditer(text):
                value = match.group(2) or match.group(3)
                if value in STATE_VALUES:
                    offenders.append(f"{path.relative_to(ROOT)}:{number} {value!r}")
    # then none names a state by its string: the states are the enums of the models, and what
    # a page needs of a state (a draft, a finished lead, a badge) is decided from the table
    assert offenders == []


def test_the_literal_scan_finds_what_it_is_meant_to_find():
    # given code written the old way, then the scan reports each comparison
    tree = ast.parse(
        'if declaration.state == "submitted": pass\n'
        'tab = params.get("tab") or "pushed"\n'
        'qs.filter(state__in=["approved", "disbursed"])\n'
        'counts = {"rejected": 1}\n'
    )
    assert _state_literals(tree) == [(1, "submitted"), (2, "pushed"), (3, "approved"), (3, "disbursed")]


@pytest.mark.django_db
def test_a_transition_the_state_does_not_allow_is_a_chinese_409_never_a_500():
    # given a batch already pushed, and a declaration whose only lead was removed (so the
    # declaration left the list)
    world = build_world()
    entity, user = world.entity()
    declaration = s.declaration_create(
        actor=user,
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
    batch = s.batch_signoff(actor=world.users["convener"], declaration_ids=[declaration.pk])
    s.batch_push(actor=world.users["convener"], batch_id=batch.pk)
    lead = Recommendation.objects.get(declaration=declaration)
    s.recommendation_remove(actor=world.users["convener"], recommendation_id=lead.pk, reason="提供虚假材料")
    batch, declaration = _fresh(batch), _fresh(declaration)
    assert batch.state == BatchState.PUSHED and declaration.state == DeclarationState.REMOVED

    # when the table's transitions are applied again to them (the batch pushed, the
    # declaration removed with its last lead), bypassing the services' state checks
    with pytest.raises(ApplicationError) as pushed_again:
        workflow.apply(batch, Action.PUSH)
    with pytest.raises(ApplicationError) as removed_again:
        workflow.apply(declaration, Action.REMOVE, "last_lead")

    # then each is a conflict that says why in Chinese, and nothing moved
    assert pushed_again.value.code == "conflict" and "已于" in pushed_again.value.message
    assert "推送" in pushed_again.value.message
    assert removed_again.value.code == "conflict" and "当前状态: 已移出" in removed_again.value.message
    assert _fresh(batch).state == BatchState.PUSHED and _fresh(declaration).state == DeclarationState.REMOVED
    # and through the API a second push answers 409 with the message, not a 500
    client = APIClient()
    client.force_authenticate(world.users["convener"])
    response = client.post(f"/api/v1/batches/{batch.pk}/push/")
    assert response.status_code == 409 and response.json()["code"] == "conflict"
    assert CJK.search(response.json()["message"])


@pytest.mark.django_db
def test_driving_every_row_of_the_table_records_exactly_the_table_s_event_kinds(settings, tmp_path):
    """Every row of the table driven through the services (each review level's three
    outcomes, a removal that takes the declaration off the list, a re-recommendation, the
    bank's own recommendation) and the deadline scan: the kinds recorded are exactly the
    kinds of the table and the scan, each recorded by its row's action."""
    settings.MEDIA_ROOT = tmp_path / "uploads"
    world = build_world()
    u = world.users

    def filed(staff_filed=False):
        entity, user = world.entity()
        actor = u["staff"] if staff_filed else user
        declaration = s.declaration_create(
            actor=actor,
            entity_id=entity.pk,
            amount=300_000,
            term_months=12,
            purpose="进货周转",
            bank_codes=["boc"],
            basic_criteria=CRITERIA,
        )
        return declaration, user

    # 申报: created, edited, consent, materials, submitted; withdrawn
    declaration, user = filed()
    s.declaration_update(
        actor=user,
        declaration_id=declaration.pk,
        amount=320_000,
        term_months=12,
        purpose="进货周转",
        bank_codes=["boc", "ccb"],
        basic_criteria=CRITERIA,
    )
    s.declaration_consent_record(actor=user, declaration_id=declaration.pk)
    materials.material_upload(
        actor=user, declaration_id=declaration.pk, uploaded_file=SimpleUploadedFile("执照.pdf", PDF)
    )
    s.declaration_submit(actor=user, declaration_id=declaration.pk)
    other, other_user = filed()
    s.declaration_withdraw(actor=other_user, declaration_id=other.pk, reason="暂不需要")
    # each review level approves, returns and rejects
    reviewers = [(u["staff"], 0), (u["reviewer"], 1), (u["lead"], 2)]
    for reviewer, level in reviewers:
        for decision in ("return", "reject"):
            candidate, candidate_user = filed()
            s.declaration_consent_record(actor=candidate_user, declaration_id=candidate.pk)
            s.declaration_submit(actor=candidate_user, declaration_id=candidate.pk)
            for earlier, _ in reviewers[:level]:
                s.declaration_review(actor=earlier, declaration_id=candidate.pk, decision="approve")
            s.declaration_review(actor=reviewer, declaration_id=candidate.pk, decision=decision, comment="请补充")
    for reviewer, _ in reviewers:
        s.declaration_review(actor=reviewer, declaration_id=declaration.pk, decision="approve")
    # sign-off, push (two leads), the bank's work on each
    batch = s.batch_signoff(actor=u["convener"], declaration_ids=[declaration.pk])
    s.batch_push(actor=u["convener"], batch_id=batch.pk)
    boc = Recommendation.objects.get(declaration=declaration, bank__code="boc")
    ccb = Recommendation.objects.get(declaration=declaration, bank__code="ccb")
    s.recommendations_assign(actor=u["boc_admin"], recommendation_ids=[boc.pk], manager_id=u["boc_manager"].pk)
    s.recommendation_contact(actor=u["boc_manager"], recommendation_id=boc.pk)
    # the materials: listed, the bank's own file, submitted, sent back, submitted again, complete
    s.recommendation_materials_list(actor=u["boc_manager"], recommendation_id=boc.pk, items=["营业执照", "经营流水"])
    materials.lead_material_upload(
        actor=u["boc_manager"], recommendation_id=boc.pk, uploaded_file=SimpleUploadedFile("面谈.pdf", PDF)
    )
    s.recommendation_materials_submit(actor=user, recommendation_id=boc.pk)
    s.recommendation_materials_supplement(actor=u["boc_manager"], recommendation_id=boc.pk, missing=["经营流水"])
    s.recommendation_materials_submit(actor=u["staff"], recommendation_id=boc.pk)
    s.recommendation_materials_complete(actor=u["boc_manager"], recommendation_id=boc.pk)
    # the city marks the entity 成长型 before 中国银行 lends on it (the post-loan watch's basis)
    tier_mark_set(actor=u["city"], entity=declaration.entity_id, tier="growth")
    s.recommendation_approve(
        actor=u["boc_admin"],
        recommendation_id=boc.pk,
        credit_amount=100_000,
        rate_percent="3.8",
        term_months=12,
        guarantee="credit",
        is_credit_loan=True,
        is_first_loan=False,
    )
    s.recommendation_disburse(
        actor=u["boc_admin"], recommendation_id=boc.pk, amount=50_000, disbursed_on=timezone.localdate()
    )
    s.satisfaction_rate(actor=user, recommendation_id=boc.pk, score=5)
    # after the loan the mark is lowered: the post-loan watch records 授信依据变化 on the lead
    tier_mark_set(actor=u["city"], entity=declaration.entity_id, tier="survival")
    watch.watch_entities([declaration.entity_id])
    s.recommendation_decline(actor=u["ccb_admin"], recommendation_id=ccb.pk, reason_code="no_need")
    s.coaching_record(actor=u["staff"], recommendation_id=ccb.pk, note="指导完善经营流水")
    s.recommendation_redirect(actor=u["lead"], recommendation_id=ccb.pk, bank_code="shanxibank")
    # another lead approved and not drawn
    third, third_user = filed()
    s.declaration_consent_record(actor=third_user, declaration_id=third.pk)
    s.declaration_submit(actor=third_user, declaration_id=third.pk)
    for reviewer, _ in reviewers:
        s.declaration_review(actor=reviewer, declaration_id=third.pk, decision="approve")
    s.batch_push(actor=u["convener"], batch_id=s.batch_signoff(actor=u["convener"], declaration_ids=[third.pk]).pk)
    not_drawn = Recommendation.objects.get(declaration=third)
    s.recommendation_contact(actor=u["boc_admin"], recommendation_id=not_drawn.pk)
    # its submitted materials left unconfirmed: the scan starts the decision clock (自动起算)
    s.recommendation_materials_list(actor=u["boc_admin"], recommendation_id=not_drawn.pk, items=["营业执照"])
    s.recommendation_materials_submit(actor=third_user, recommendation_id=not_drawn.pk)
    lapsing = DeadlineClock.objects.filter(recommendation=not_drawn, kind=ClockKind.MATERIALS)
    lapsing.update(due_at=timezone.now() - dt.timedelta(minutes=1))
    assert deadline_scan(now=timezone.now()).auto_started == 1
    s.recommendation_approve(
        actor=u["boc_admin"],
        recommendation_id=not_drawn.pk,
        credit_amount=100_000,
        rate_percent="3.8",
        term_months=12,
        guarantee="credit",
        is_credit_loan=True,
        is_first_loan=False,
    )
    s.recommendation_not_drawn(actor=u["boc_admin"], recommendation_id=not_drawn.pk)
    # a declaration short of one basic criterion, submitted with an exception the lead confirms
    short, short_user = world.entity(name="泽州县例外确认测试店")
    exceptional = s.declaration_create(
        actor=short_user,
        entity_id=short.pk,
        amount=300_000,
        term_months=12,
        purpose="进货周转",
        bank_codes=["boc"],
        basic_criteria={**CRITERIA, "fixed_premises": {"met": False}},
        criteria_exception="租赁合同续签中, 经营场所未变",
        consent=True,
        submit=True,
    )
    s.declaration_criteria_exception_confirm(actor=u["lead"], declaration_id=exceptional.pk)
    # the bank's own recommendation
    bank_entity, _ = world.entity(name="泽州县银行推荐测试店")
    s.declaration_recommend_by_bank(
        actor=u["boc_admin"], entity_id=bank_entity.pk, amount=200_000, term_months=12, purpose="扩大经营"
    )
    # a direct application from the 产品超市 (直接申请, seed 002 point 5)
    direct_entity, direct_user = world.entity(name="泽州县直接申请测试店")
    s.direct_application_create(
        actor=direct_user,
        entity_id=direct_entity.pk,
        product_id=LoanProduct.objects.filter(bank__code="boc", status="active").order_by("code")[0].pk,
        amount=200_000,
        term_months=12,
        purpose="进货周转",
        consent=True,
    )
    # the deadline scan, on a lead left waiting for its feedback: a reminder before due, then
    # overdue and escalated; then the lead is removed from the list, with its declaration
    waiting, waiting_user = filed()
    s.declaration_consent_record(actor=waiting_user, declaration_id=waiting.pk)
    s.declaration_submit(actor=waiting_user, declaration_id=waiting.pk)
    for reviewer, _ in reviewers:
        s.declaration_review(actor=reviewer, declaration_id=waiting.pk, decision="approve")
    s.batch_push(actor=u["convener"], batch_id=s.batch_signoff(actor=u["convener"], declaration_ids=[waiting.pk]).pk)
    clock = DeadlineClock.objects.get(recommendation__declaration=waiting, kind=ClockKind.FEEDBACK)
    assert clock.remind_at < clock.due_at
    deadline_scan(now=clock.remind_at + dt.timedelta(minutes=1))
    deadline_scan(now=clock.escalate_at + dt.timedelta(days=1))
    s.recommendation_remove(actor=u["convener"], recommendation_id=clock.recommendation_id, reason="挪用资金")
    assert _fresh(waiting).state == DeclarationState.REMOVED

    # corrections (issue 16 item 6): a contact taken back, a decision and a drawdown corrected,
    # the last drawdown voided, a bank's file withdrawn, an unpushed batch entry taken out
    fixing, fixing_user = filed()
    s.declaration_consent_record(actor=fixing_user, declaration_id=fixing.pk)
    s.declaration_submit(actor=fixing_user, declaration_id=fixing.pk)
    for reviewer, _ in reviewers:
        s.declaration_review(actor=reviewer, declaration_id=fixing.pk, decision="approve")
    s.batch_push(actor=u["convener"], batch_id=s.batch_signoff(actor=u["convener"], declaration_ids=[fixing.pk]).pk)
    fix = Recommendation.objects.get(declaration=fixing)
    admin = u["boc_admin"]
    s.recommendation_contact(actor=admin, recommendation_id=fix.pk)
    s.recommendation_state_correct(actor=admin, recommendation_id=fix.pk, reason="误点已对接")
    s.recommendation_contact(actor=admin, recommendation_id=fix.pk)
    wrong_file = materials.lead_material_upload(
        actor=admin, recommendation_id=fix.pk, uploaded_file=SimpleUploadedFile("误传.pdf", PDF)
    )
    s.lead_material_withdraw(actor=admin, recommendation_id=fix.pk, material_id=wrong_file.pk, reason="传错文件")
    s.recommendation_materials_complete(actor=admin, recommendation_id=fix.pk)
    terms = dict(rate_percent="3.8", term_months=12, guarantee="credit", is_credit_loan=True, is_first_loan=False)
    s.recommendation_approve(actor=admin, recommendation_id=fix.pk, credit_amount=100_000, **terms)
    s.recommendation_decision_correct(
        actor=admin, recommendation_id=fix.pk, credit_amount=90_000, reason="金额录错", **terms
    )
    drawn = s.recommendation_disburse(
        actor=admin, recommendation_id=fix.pk, amount=20_000, disbursed_on=timezone.localdate()
    )
    s.disbursement_correct(
        actor=admin, recommendation_id=fix.pk, disbursement_id=drawn.pk, amount=10_000, reason="录错"
    )
    s.disbursement_correct(actor=admin, recommendation_id=fix.pk, disbursement_id=drawn.pk, void=True, reason="未提款")
    unpushed, unpushed_user = filed()
    s.declaration_consent_record(actor=unpushed_user, declaration_id=unpushed.pk)
    s.declaration_submit(actor=unpushed_user, declaration_id=unpushed.pk)
    for reviewer, _ in reviewers:
        s.declaration_review(actor=reviewer, declaration_id=unpushed.pk, decision="approve")
    s.batch_signoff(actor=u["convener"], declaration_ids=[unpushed.pk])
    s.batch_entry_correct(actor=u["convener"], declaration_id=unpushed.pk, reason="误签")

    # then the kinds recorded are exactly those of the table and the scan
    recorded = set(WorkflowEvent.objects.values_list("kind", flat=True))
    expected = {t.event for t in workflow.TRANSITIONS} | set(clocks.SCAN_EVENTS.values())
    assert recorded == expected, (expected - recorded, recorded - expected)
    assert recorded <= set(EventKind.values)
    # and every event of a row with a clock rule was recorded on the lead whose clocks it moved
    with_clock = {t.event for t in workflow.TRANSITIONS if t.clock}
    assert not WorkflowEvent.objects.filter(kind__in=with_clock, recommendation__isnull=True).exists()
    assert DeadlineClock.objects.filter(state=ClockState.STOPPED).exists()
    assert DeadlineClock.objects.filter(kind=ClockKind.DECISION, state=ClockState.SATISFIED).exists()

    # and the timeline of the page and of the API names each event by its label, never by its key
    # (the materials upload included)
    client = Client()
    client.force_login(u["staff"])
    for shown in (declaration, waiting):
        html = client.get(f"/matching/declarations/{shown.pk}/").content.decode()
        kinds = set(WorkflowEvent.objects.filter(declaration=shown).values_list("kind", flat=True))
        assert EventKind.DECLARATION_MATERIAL_UPLOADED in kinds or shown is waiting
        for kind in kinds:
            assert EventKind(kind).label in html, kind
            assert kind not in html, kind
    api = APIClient()
    api.force_authenticate(u["staff"])
    events = api.get(f"/api/v1/declarations/{declaration.pk}/events/").json()
    assert events and all(e["kind_display"] == EventKind(e["kind"]).label for e in events)
