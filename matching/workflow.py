"""The workflow of 申报 → 推荐 in one table: for every action, which roles may do it, in which
states of the object it acts on, with which maker-checker rules, and what it does — the state
it leads to (through which django-fsm transition), the event it records (EventKind, whose
Chinese label the timeline shows) and its effect on the lead's deadline clocks.

It is the one place these rules live; everything else reads them from here:
* services call `acting_on(action, actor, pk)` (or `require(action, actor, obj)`) before
  anything else, move the object with `apply(obj, action, outcome)` (a transition the state
  does not allow is a 409 with the current state, never a 500) and write the event with
  `record(action, …)`, which also applies the row's clock rule (matching/clock_rules.py);
* the API refuses a role the table never allows (`may`) before reading any input;
* pages show a button only when `allows(action, user, obj)`; the review queues
  (`queue_states`, `queue_q`), the home-page counters (`queue_counts_labels`), a
  declaration's progress steps (`path`, `state_order`), the states materials may be uploaded
  in (MATERIALS_UPLOAD) and the states a lead is finished in (`final_states`) are read from it.
Tests: matching/tests/test_policy.py walks the table × every role × every state against the
API and the pages; matching/tests/test_workflow_table.py checks the table itself (every
transition has an event kind, a label and a clock rule; every emitted kind is in the table;
every state is reachable).

Who may act (see workflow.md and seed 004 §四–六):
* The enterprise files its own need (申报), edits the draft, records its consent to share
  its data with the intended banks, submits, uploads materials and withdraws.
* Task-force staff (专班工作人员) visit entities (走访, with the task-force lead) and file on
  an enterprise's behalf (代为申报, 批量申报: seed 004 "指导企业填报信息, 明确 1-2 家意向对接
  银行"; the bulk import records the enterprise's written consent). They may edit, record
  consent for and submit only the declarations filed on the enterprise's behalf (not one the
  enterprise filed itself), and add materials to any declaration of their county. The
  task-force lead, the seconded bank reviewer and the convener review or sign off; they
  never write a declaration.
* The three reviews (专班初审 → 专班银行审核 → 专班组长审核) each belong to one role and one
  state, and each approves (on to the next level), returns (to the draft, with reasons) or
  rejects; the convener signs off (签批) into the 推荐清单 and pushes batches: one lead per
  intended bank, which starts its feedback clock (5 working days).
* The enterprise may also apply to one product directly from the 产品超市 (DIRECT_APPLY, 直接
  申请, seed 002 point 5), consenting to share its data with that bank: a lead of origin
  DIRECT at the branch serving its county (the push's routing), with the same feedback clock
  (小微"无贷户"授信申请原则上5个工作日内回复) and the same lead rows from there on.
* The bank (branch administrator, or the account manager the lead is assigned to) works the
  lead: contact (answers the feedback clock), materials complete (starts the decision clock,
  30 days), approve (answers it), decline (answers both), drawdown, not drawn. The account
  manager the lead is assigned to, and he only, sees the enterprise's consented contact
  (operator name and phone) in clear while the lead is open (CONTACT_REVEAL, audited; no
  event); everyone else sees it masked. An approval outside the limits (the product
  version's cap, the declared need, the product's rate or term range) needs a bank
  administrator's override with a reason (APPROVE_OVERRIDE). A bank may also recommend an
  entity to the task force (银行推荐): a draft declaration naming the bank, which waits for the
  enterprise's consent and its submission (by the enterprise, or by task-force staff from
  its written consent) before it enters the 初审.
* Application materials (seed 004 五(六): the decision within 30 days of complete materials,
  a clock the bank must not hold back): after contact the bank lists the materials it needs
  (from the product's list, edited per lead: MATERIALS_LIST); the enterprise, or task-force
  staff on its behalf, uploads them to the declaration and declares them submitted
  (MATERIALS_SUBMIT, 材料已提交, which starts the bank's 5-working-day materials clock; while
  the bank has listed nothing, against the product's published list, so that a bank that
  never lists cannot hold the clock back either); the
  bank confirms them complete (MATERIALS_COMPLETE, 材料已收齐) or names what is missing
  (MATERIALS_SUPPLEMENT, 补充材料: back to the enterprise with the list). If it does neither,
  the deadline scan applies MATERIALS_AUTO_START (no role: the platform's clock) at the end of
  those days: the decision clock starts there, 自动起算. Where the lead's materials stand is
  its `materials_stage`, which the rows' checks read. The bank also uploads materials it
  collects itself to its lead (LEAD_MATERIALS_UPLOAD), seen by that lead's branch only.
* The convener or the task-force lead removes a lead from the list (移出, stops its clocks;
  the declaration leaves the list with its last lead). After a decline they may propose a
  re-recommendation (改推, REDIRECT): it opens a new draft declaration naming the new bank,
  which needs the enterprise's consent and goes through the three reviews and the sign-off
  like any other; the entity is never worked by more than two banks at a time (services
  enforce this). Task-force staff and lead coach after a decline.
* The five basic criteria (五项基本标准, seed 004 三(四)): a declaration whose criteria are not
  all met is submitted only with an exception reason (matching/criteria.py); the task-force
  lead confirms it explicitly (CRITERIA_EXCEPTION_CONFIRM) before his own approval, and bulk
  approval at any level refuses a declaration whose exception is not confirmed.
* One open case per entity (matching/services/common.py `open_case`): no new declaration on
  any path while the entity has an open declaration or a lead not yet decided at a bank.
* The platform administrator manages organisations, users, catalogues and calendars and
  takes no part in the workflow.
* Corrections (issue 16 item 6): what was recorded by mistake is corrected with a reason by
  the bank administrator of the lead's branch (or above) — a state taken back (CORRECT_STATE:
  已对接, 材料已收齐, 授信, 不予授信 or 未提款 back to the state before; the clocks that event
  answered run again, a decision clock started by mistake is taken back), a 授信's terms
  (CORRECT_DECISION), a drawdown corrected or voided (CORRECT_DRAWDOWN), a file the bank
  uploaded withdrawn (MATERIAL_WITHDRAW) — and by the convener for a declaration signed into a
  batch not pushed yet (CORRECT_BATCH_ENTRY). A 授信 that should have been a 不予授信 (or the
  reverse) is taken back, then decided again through the ordinary row. The correction rows
  (`Rule.correction`) go back, so they do not make a finished state unfinished (final_states).
  The services are matching/services/corrections.py.
* No one records 授信依据变化 (BASIS_CHANGE): the post-loan watch (matching/watch.py) does, on
  an approved or drawn lead whose entity lost a regulator's mark the approval relied on.

Maker-checker:
* M1 — whoever made a declaration (created it, edited it, recorded the consent, submitted
  it or uploaded its materials) never does its 初审: filer ≠ first reviewer.
* M2 — whoever reviewed a declaration never edits it, records its consent, submits it or
  uploads its materials: reviewers never edit what they review.

Refusals: a role the rule never allows → 403 permission_denied; an object the actor may not
see (or may not change) → 404 not_found, like one that does not exist; a state the rule
does not allow → 409 conflict with the current state; a maker-checker rule → 403.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple

from django.db.models import Exists, Model, OuterRef, Q
from django.utils import timezone
from django_fsm import TransitionNotAllowed

from matching import clock_rules, criteria, hooks
from matching.models import (
    BEFORE_SIGNOFF,
    OPEN_RECOMMENDATION_STATES,
    BatchState,
    ClockKind,
    Declaration,
    DeclarationSource,
    DeclarationState,
    EventKind,
    MaterialsStage,
    Recommendation,
    RecommendationBatch,
    RecommendationState,
    ReviewDecision,
    ReviewStage,
    ReviewStep,
    Visit,
    WorkflowEvent,
)
from portal.models import Role
from portal.policy_table import Refusal  # the one refusal type of every policy table
from portal.services import ApplicationError
from portal.tenancy import CHANGE, VIEW, resolve, scope_for

WORK_PERMISSION = "matching.work_recommendation"
# the state enum of each model the workflow moves
STATES = {Declaration: DeclarationState, Recommendation: RecommendationState, RecommendationBatch: BatchState}


class Action(StrEnum):
    VISIT = "visit.record"
    FILE = "declaration.file"
    EDIT = "declaration.edit"
    CONSENT = "declaration.consent"
    SUBMIT = "declaration.submit"
    WITHDRAW = "declaration.withdraw"
    MATERIALS_UPLOAD = "declaration.materials"
    REVIEW_PRELIMINARY = "declaration.review.preliminary"
    REVIEW_BANK = "declaration.review.bank"
    REVIEW_LEAD = "declaration.review.lead"
    SIGNOFF = "declaration.signoff"
    BANK_RECOMMEND = "declaration.bank_recommend"
    PUSH = "batch.push"
    DIRECT_APPLY = "lead.direct_apply"
    ASSIGN = "lead.assign"
    CONTACT = "lead.contact"
    MATERIALS_COMPLETE = "lead.materials_complete"
    APPROVE = "lead.approve"
    APPROVE_OVERRIDE = "lead.approve_override"
    DECLINE = "lead.decline"
    DISBURSE = "lead.disburse"
    NOT_DRAWN = "lead.not_drawn"
    REMOVE = "lead.remove"
    COACH = "lead.coach"
    REDIRECT = "lead.redirect"
    RATE = "lead.rate"
    BASIS_CHANGE = "lead.basis_change"
    # seed 004 五项基本标准: the lead's explicit confirmation of an exception (matching/criteria.py)
    CRITERIA_EXCEPTION_CONFIRM = "declaration.criteria_exception.confirm"
    # the materials of a lead (issue 15 item 17)
    MATERIALS_LIST = "lead.materials_list"
    MATERIALS_SUBMIT = "lead.materials_submit"
    MATERIALS_SUPPLEMENT = "lead.materials_supplement"
    MATERIALS_AUTO_START = "lead.materials_auto_start"
    LEAD_MATERIALS_UPLOAD = "lead.materials_upload"
    # the enterprise's consented contact, revealed to the account manager working the lead (issue 16)
    CONTACT_REVEAL = "lead.contact_reveal"
    # corrections of what was recorded by mistake (issue 16 item 6)
    CORRECT_STATE = "lead.correct_state"
    CORRECT_DECISION = "lead.correct_decision"
    CORRECT_DRAWDOWN = "lead.correct_drawdown"
    MATERIAL_WITHDRAW = "lead.material_withdraw"
    CORRECT_BATCH_ENTRY = "declaration.correct_batch_entry"


@dataclass(frozen=True)
class Check:
    """A per-object rule beyond role and state: `refuse(actor, scope, obj)` returns a Refusal
    or None; `queue_q(user)` (optional) is the same rule as a queryset filter for queues."""

    name: str
    refuse: Callable[..., Refusal | None]
    queue_q: Callable[..., Q] | None = None


@dataclass(frozen=True)
class Clock:
    """What a transition does to the lead's deadline clocks (seed 004 五(六)), applied by
    `clock_rules.apply_rule`: the clocks it starts at its moment, those it answers, and whether it
    stops every open one. NO_CLOCK: none of these (it is written in the table all the same,
    so that no transition's effect on the clocks is left unsaid)."""

    start: tuple = ()
    satisfy: tuple = ()
    stop: bool = False
    # corrections: the clocks of these kinds the corrected event answered run again (`reopen`,
    # with their due moments unchanged); those it started by mistake are taken back (`discard`)
    reopen: tuple = ()
    discard: tuple = ()

    def __bool__(self) -> bool:
        return bool(self.start or self.satisfy or self.stop or self.reopen or self.discard)

    @property
    def label(self) -> str:
        parts = [f"起算{ClockKind(k).label}" for k in self.start] + [f"完成{ClockKind(k).label}" for k in self.satisfy]
        parts += [f"恢复{ClockKind(k).label}" for k in self.reopen] + [
            f"撤销{ClockKind(k).label}" for k in self.discard
        ]
        if self.stop:
            parts.append("停止全部时限")
        return "、".join(parts) or "不影响时限"


NO_CLOCK = Clock()


@dataclass(frozen=True)
class Effect:
    """One outcome of an action: the event it records, its clock rule, and, for a transition,
    the state it leads to through which django-fsm method. `outcome` names it when an action
    has several (a review's decision); `model` and `source` say which object it moves and from
    which states when that is not the rule's object in the rule's states (`source=()`: it
    creates the object, in `target`)."""

    event: EventKind
    clock: Clock
    target: object = None
    transition: str | None = None
    outcome: str = ""
    model: type[Model] | None = None
    source: tuple | None = None


@dataclass(frozen=True)
class Rule:
    action: Action
    label: str  # what is done, in Chinese: "您的角色无权{label}"
    model: type[Model]
    roles: frozenset
    states: tuple  # members of the model's state enum; empty: the action creates the object
    conflict: str | Callable[[Model], str]  # why the object's state does not allow it
    effects: tuple[Effect, ...] = ()  # none: a permission only (APPROVE_OVERRIDE), or no event (VISIT)
    tenancy: str = CHANGE  # the restrict() action the object is resolved for
    checks: tuple[Check, ...] = ()
    stage: str | None = None  # the ReviewStage it records
    step: str = ""  # its label in a declaration's progress steps
    # a correction of something recorded by mistake (with a reason): its transitions go back,
    # so they do not make a finished state unfinished (final_states)
    correction: bool = False

    def effect(self, outcome: str = "") -> Effect:
        for effect_ in self.effects:
            if effect_.outcome == outcome:
                return effect_
        raise KeyError(f"{self.action} has no outcome {outcome!r}")


# --- maker-checker -----------------------------------------------------------------------


def makers(declaration: Declaration) -> set[int]:
    """Users who made the declaration: its creator and whoever edited, consented for,
    submitted it or uploaded its materials."""
    ids = set(
        WorkflowEvent.objects.filter(declaration=declaration, kind__in=MAKER_EVENTS, actor__isnull=False).values_list(
            "actor_id", flat=True
        )
    )
    ids.add(declaration.created_by_id)
    return ids


def reviewers(declaration: Declaration) -> set[int]:
    return set(ReviewStep.objects.filter(declaration=declaration).values_list("actor_id", flat=True))


def _not_a_maker(actor, scope, declaration) -> Refusal | None:
    if actor.pk in makers(declaration):
        return Refusal(
            "您参与了该申报的填报(创建、修改、代为同意、提交或上传材料), 不能对其进行专班初审: 填报与初审须由不同人"
            "员办理"
        )
    return None


def _not_a_maker_q(user) -> Q:
    made = WorkflowEvent.objects.filter(declaration=OuterRef("pk"), kind__in=MAKER_EVENTS, actor=user)
    return ~Q(created_by=user) & ~Exists(made)


def _not_a_reviewer(actor, scope, declaration) -> Refusal | None:
    if actor.pk in reviewers(declaration):
        return Refusal("您已审核过该申报: 审核人不修改、不代为同意、不提交所审核的申报, 也不为其上传材料")
    return None


def _on_behalf(actor, scope, declaration) -> Refusal | None:
    if scope.role == Role.TASK_FORCE_STAFF and declaration.source == DeclarationSource.ENTERPRISE:
        return Refusal("该申报由企业自行填报, 只能由企业修改、同意共享信息和提交")
    return None


def _assigned(actor, scope, recommendation) -> Refusal | None:
    if scope.role == Role.ACCOUNT_MANAGER and not actor.has_perm(WORK_PERMISSION, recommendation):
        return Refusal("该线索未分配给您")
    return None


def _decided(actor, scope, recommendation) -> Refusal | None:
    if recommendation.decided_at is None:
        return Refusal("银行作出授信决定后才能评价", code="conflict")
    return None


def _not_rated(actor, scope, recommendation) -> Refusal | None:
    if recommendation.satisfaction is not None:
        return Refusal("您已评价过该银行的服务", code="conflict")
    return None


def _exception_pending(actor, scope, declaration) -> Refusal | None:
    if criteria.standing(declaration) != criteria.Standing.PENDING:
        return Refusal("该申报没有待确认的五项基本标准例外理由(标准均已满足, 或例外已确认)", code="conflict")
    return None


M1 = Check("填报人不做初审", _not_a_maker, _not_a_maker_q)
EXCEPTION_PENDING = Check("有待确认的五项基本标准例外", _exception_pending)
M2 = Check("审核人不修改所审核的申报", _not_a_reviewer)
ON_BEHALF = Check("专班只处理代为填报的申报", _on_behalf)
ASSIGNED = Check("客户经理只办理分配给本人的线索", _assigned)


# --- the materials of a lead: where they stand (Recommendation.materials_stage) ---------------

S = MaterialsStage
LISTABLE = (S.UNLISTED, S.LISTED, S.SUPPLEMENT)  # the bank may (re)write its list
# the enterprise may declare them submitted: against the bank's list, or, while the bank has
# listed none, against the product's published list (a bank that never lists holds nothing back)
SUBMITTABLE = (S.UNLISTED, S.LISTED, S.SUPPLEMENT)
AWAITING_BANK = (S.AWAITING_BANK,)  # the bank's answer (or the auto-start) is due


def _materials_stage(stages: tuple, why: Callable[[Recommendation], str]) -> Callable[..., Refusal | None]:
    def refuse(actor, scope, lead) -> Refusal | None:
        return None if lead.materials_stage in stages else Refusal(why(lead), code="conflict")

    return refuse


def _materials_conflict(what: str) -> Callable[[Recommendation], str]:
    """Why a lead's state does not allow the bank's materials action `what`: its decision clock
    started on its own (自动起算), or the lead moved on."""

    def why(lead) -> str:
        if lead.materials_auto_started and lead.materials_complete_at:
            return (
                f"材料提交后 5 个工作日内银行未确认, 30 日授信时限已于 "
                f"{timezone.localtime(lead.materials_complete_at):%Y-%m-%d} 自动起算, "
                f"不能再{what}(当前状态: {lead.get_state_display()})"
            )
        return f"该线索当前不能{what}(当前状态: {lead.get_state_display()})"

    return why


def _submit_refusal(lead) -> str:
    if lead.materials_stage == S.AWAITING_BANK:
        return "材料已提交, 正待银行确认收齐或列明需补充的材料"
    return f"该线索当前不需要提交材料({lead.get_materials_stage_display()})"


LISTING = Check(
    "企业提交材料后银行须先确认收齐或要求补充",
    _materials_stage(LISTABLE, lambda lead: "企业已提交材料, 请先确认材料已收齐或要求补充材料"),
)
SUBMITTING = Check("材料尚未提交或已退回补充", _materials_stage(SUBMITTABLE, _submit_refusal))
ANSWERING = Check(
    "企业已提交材料",
    _materials_stage(
        AWAITING_BANK, lambda lead: f"企业尚未提交材料, 无需要求补充({lead.get_materials_stage_display()})"
    ),
)
LAPSING = Check("材料已提交且待银行确认", _materials_stage(AWAITING_BANK, lambda lead: "该线索的材料不在待银行确认中"))


def _revertible(actor, scope, lead) -> Refusal | None:
    """A state recorded by mistake goes back only where nothing was built on it since: a
    contact only before any materials step, complete materials only when the bank confirmed
    them (a decision clock the platform started, 自动起算, is no one's mistake)."""
    if lead.state == R.CONTACTED and lead.materials_stage != S.UNLISTED:
        return Refusal(f"该线索已进入材料环节({lead.get_materials_stage_display()}), 不能撤销对接", code="conflict")
    if lead.state == R.UNDER_REVIEW and lead.materials_stage == S.AUTO_STARTED:
        return Refusal("授信决定时限系银行未按时确认材料而自动起算, 不是误登记, 不能撤销", code="conflict")
    return None


def _batch_unpushed(actor, scope, declaration) -> Refusal | None:
    batch = declaration.batch
    if batch is None or batch.state != B.BUILDING:
        return Refusal("该申报所在批次已推送, 不能再移出批次(推送后请使用「移出推荐清单」)", code="conflict")
    return None


def correction_outcome(lead) -> str:
    """The outcome of CORRECT_STATE for the lead's state: the state it takes back, and for a
    decline where it goes back to ("declined>contacted")."""
    if lead.state == R.DECLINED:
        return f"{R.DECLINED}>{lead.state_before_decline}"
    return str(R(lead.state))


def _pushed_already(batch) -> str:
    return f"该批次已于 {timezone.localtime(batch.pushed_at):%Y-%m-%d %H:%M} 推送, 未重复推送"


# --- the table ---------------------------------------------------------------------------

E, STAFF, REVIEWER, LEAD, CONVENER = (
    Role.ENTERPRISE_USER,
    Role.TASK_FORCE_STAFF,
    Role.TASK_FORCE_BANK_REVIEWER,
    Role.TASK_FORCE_LEAD,
    Role.CONVENER,
)
BANK = frozenset({Role.BANK_ADMIN, Role.ACCOUNT_MANAGER})
D, R, B = DeclarationState, RecommendationState, BatchState
K = EventKind
FEEDBACK, DECISION, MATERIALS = ClockKind.FEEDBACK, ClockKind.DECISION, ClockKind.MATERIALS
IN_REVIEW = (D.SUBMITTED, D.PRELIMINARY_APPROVED, D.BANK_REVIEWED, D.LEAD_APPROVED)


def _review(
    approve: EventKind, return_: EventKind, reject: EventKind, *, target, transition: str
) -> tuple[Effect, ...]:
    """A review level's three outcomes: on to the next level, back to the draft, or the end."""
    return (
        Effect(approve, NO_CLOCK, target, transition, outcome=ReviewDecision.APPROVE),
        Effect(return_, NO_CLOCK, D.DRAFT, "return_for_fix", outcome=ReviewDecision.RETURN),
        Effect(reject, NO_CLOCK, D.REJECTED, "reject", outcome=ReviewDecision.REJECT),
    )


RULES: tuple[Rule, ...] = (
    # a visit belongs to no declaration yet: audited, no workflow event. The county task force
    # visits its county; a 走访人员, a 委办局's staff or an account manager only the entities a
    # running 大走访 campaign assigned to him (the VISIT restriction, entities.restrictions.visit_q)
    Rule(
        Action.VISIT,
        "登记走访",
        Visit,
        frozenset({STAFF, LEAD, Role.VISITOR, Role.DEPARTMENT_STAFF, Role.ACCOUNT_MANAGER}),
        (),
        "",
    ),
    Rule(
        Action.FILE,
        "申报融资需求",
        Declaration,
        frozenset({E, STAFF}),
        (),
        "",
        (Effect(K.DECLARATION_CREATED, NO_CLOCK, D.DRAFT),),
    ),
    Rule(
        Action.EDIT,
        "修改申报",
        Declaration,
        frozenset({E, STAFF}),
        (D.DRAFT,),
        "只有草稿或被退回的申报可以修改",
        (Effect(K.DECLARATION_UPDATED, NO_CLOCK),),
        checks=(ON_BEHALF, M2),
    ),
    Rule(
        Action.CONSENT,
        "记录企业同意共享信息",
        Declaration,
        frozenset({E, STAFF}),
        (D.DRAFT,),
        "只有草稿或被退回的申报可以记录同意",
        (Effect(K.DECLARATION_CONSENT_RECORDED, NO_CLOCK),),
        checks=(ON_BEHALF, M2),
    ),
    Rule(
        Action.SUBMIT,
        "提交申报",
        Declaration,
        frozenset({E, STAFF}),
        (D.DRAFT,),
        "该申报不能提交",
        (Effect(K.DECLARATION_SUBMITTED, NO_CLOCK, D.SUBMITTED, "submit"),),
        checks=(ON_BEHALF, M2),
        step="申报",
    ),
    # before the sign-off no lead exists, so no clock runs
    Rule(
        Action.WITHDRAW,
        "撤回申报",
        Declaration,
        frozenset({E}),
        tuple(BEFORE_SIGNOFF),
        "签字确认后的申报不能撤回",
        (Effect(K.DECLARATION_WITHDRAWN, NO_CLOCK, D.WITHDRAWN, "withdraw"),),
    ),
    Rule(
        Action.MATERIALS_UPLOAD,
        "上传申报材料",
        Declaration,
        frozenset({E, STAFF}),
        # while prepared or reviewed, and after it was recommended (a bank may ask for more)
        (D.DRAFT, *IN_REVIEW, D.RECOMMENDED),
        "该申报已结束, 不能再上传材料",
        (Effect(K.DECLARATION_MATERIAL_UPLOADED, NO_CLOCK),),
        checks=(M2,),
    ),
    Rule(
        Action.REVIEW_PRELIMINARY,
        "进行专班初审",
        Declaration,
        frozenset({STAFF}),
        (D.SUBMITTED,),
        "该申报当前不在审核环节",
        _review(
            K.PRELIMINARY_REVIEW_APPROVE,
            K.PRELIMINARY_REVIEW_RETURN,
            K.PRELIMINARY_REVIEW_REJECT,
            target=D.PRELIMINARY_APPROVED,
            transition="preliminary_approve",
        ),
        checks=(M1,),
        stage=ReviewStage.PRELIMINARY_REVIEW,
        step="初审",
    ),
    Rule(
        Action.REVIEW_BANK,
        "进行专班银行审核",
        Declaration,
        frozenset({REVIEWER}),
        (D.PRELIMINARY_APPROVED,),
        "该申报当前不在审核环节",
        _review(
            K.BANK_REVIEW_APPROVE,
            K.BANK_REVIEW_RETURN,
            K.BANK_REVIEW_REJECT,
            target=D.BANK_REVIEWED,
            transition="bank_review_approve",
        ),
        stage=ReviewStage.BANK_REVIEW,
        step="银行审核",
    ),
    Rule(
        Action.REVIEW_LEAD,
        "进行专班组长审核",
        Declaration,
        frozenset({LEAD}),
        (D.BANK_REVIEWED,),
        "该申报当前不在审核环节",
        _review(
            K.LEAD_REVIEW_APPROVE,
            K.LEAD_REVIEW_RETURN,
            K.LEAD_REVIEW_REJECT,
            target=D.LEAD_APPROVED,
            transition="lead_approve",
        ),
        stage=ReviewStage.LEAD_REVIEW,
        step="组长审核",
    ),
    Rule(
        Action.SIGNOFF,
        "签字确认推荐清单",
        Declaration,
        frozenset({CONVENER}),
        (D.LEAD_APPROVED,),
        "该申报尚未通过组长审核或已签字",
        (Effect(K.DECLARATION_SIGNED_OFF, NO_CLOCK, D.RECOMMENDED, "convener_signoff"),),
        stage=ReviewStage.CONVENER_SIGNOFF,
        step="推荐",
    ),
    # the bank's own declaration, created as a draft: it waits for the enterprise's consent
    # (CONSENT) and its submission (SUBMIT) before it enters the 初审, like any other
    Rule(
        Action.BANK_RECOMMEND,
        "向专班推荐企业",
        Declaration,
        BANK,
        (),
        "该申报不能提交",
        (Effect(K.DECLARATION_BANK_RECOMMENDED, NO_CLOCK, D.DRAFT),),
    ),
    # the batch is pushed; its event is recorded on each lead the push creates (one per
    # intended bank, in R.PUSHED), whose feedback clock starts at the push
    Rule(
        Action.PUSH,
        "推送推荐清单",
        RecommendationBatch,
        frozenset({CONVENER}),
        (B.BUILDING,),
        _pushed_already,
        (Effect(K.RECOMMENDATION_PUSHED, Clock(start=(FEEDBACK,)), B.PUSHED, "push"),),
    ),
    # 直接申请 (seed 002 point 5: "小微“无贷户”授信申请原则上5个工作日内回复"): the enterprise
    # applies to one product from the 产品超市 with its consent to share its data with that
    # bank; the lead is created in R.PUSHED at the serving branch (the push's routing) and its
    # feedback clock starts, as a pushed lead's; from there the lead rows below apply alike
    Rule(
        Action.DIRECT_APPLY,
        "直接申请贷款产品",
        Recommendation,
        frozenset({Role.ENTERPRISE_USER}),
        (),
        "该产品不能申请",
        (Effect(K.RECOMMENDATION_DIRECT_APPLIED, Clock(start=(FEEDBACK,)), R.PUSHED),),
    ),
    # any lead the bank still has (a removed one is no longer the bank's work)
    Rule(
        Action.ASSIGN,
        "分配线索",
        Recommendation,
        frozenset({Role.BANK_ADMIN}),
        tuple(s for s in R if s != R.REMOVED),
        "已移出推荐清单的线索不能分配",
        (Effect(K.RECOMMENDATION_ASSIGNED, NO_CLOCK),),
    ),
    Rule(
        Action.CONTACT,
        "办理线索",
        Recommendation,
        BANK,
        (R.PUSHED,),
        "该线索不能登记对接",
        (Effect(K.RECOMMENDATION_CONTACTED, Clock(satisfy=(FEEDBACK,)), R.CONTACTED, "contact"),),
        checks=(ASSIGNED,),
    ),
    # 材料已收齐: at any point after contact (also on materials the bank collected itself); it
    # answers the materials clock of a submission
    Rule(
        Action.MATERIALS_COMPLETE,
        "办理线索",
        Recommendation,
        BANK,
        (R.CONTACTED,),
        _materials_conflict("登记材料收齐"),
        (
            Effect(
                K.RECOMMENDATION_MATERIALS_COMPLETE,
                Clock(start=(DECISION,), satisfy=(MATERIALS,)),
                R.UNDER_REVIEW,
                "materials_complete",
            ),
        ),
        checks=(ASSIGNED,),
    ),
    # --- the materials of a lead (issue 15 item 17, seed 004 五(六)) ---
    Rule(
        Action.MATERIALS_LIST,
        "列明所需材料",
        Recommendation,
        BANK,
        (R.CONTACTED,),
        _materials_conflict("列明所需材料"),
        (Effect(K.RECOMMENDATION_MATERIALS_LISTED, NO_CLOCK),),
        checks=(ASSIGNED, LISTING),
    ),
    # the enterprise sees its leads (VIEW); task-force staff help it (代为提交)
    Rule(
        Action.MATERIALS_SUBMIT,
        "提交申请材料",
        Recommendation,
        frozenset({E, STAFF}),
        (R.CONTACTED,),
        "该线索当前不需要提交材料",
        (Effect(K.RECOMMENDATION_MATERIALS_SUBMITTED, Clock(start=(MATERIALS,))),),
        tenancy=VIEW,
        checks=(SUBMITTING,),
    ),
    Rule(
        Action.MATERIALS_SUPPLEMENT,
        "要求补充材料",
        Recommendation,
        BANK,
        (R.CONTACTED,),
        _materials_conflict("要求补充材料"),
        (Effect(K.RECOMMENDATION_MATERIALS_SUPPLEMENT, Clock(satisfy=(MATERIALS,))),),
        checks=(ASSIGNED, ANSWERING),
    ),
    # no role: the deadline scan applies it when the materials clock runs out (matching/clocks.py)
    Rule(
        Action.MATERIALS_AUTO_START,
        "自动起算授信决定时限",
        Recommendation,
        frozenset(),
        (R.CONTACTED,),
        "该线索的材料不在待银行确认中",
        (
            Effect(
                K.RECOMMENDATION_MATERIALS_AUTO_STARTED, Clock(start=(DECISION,)), R.UNDER_REVIEW, "materials_complete"
            ),
        ),
        checks=(LAPSING,),
    ),
    Rule(
        Action.LEAD_MATERIALS_UPLOAD,
        "上传收集的材料",
        Recommendation,
        BANK,
        (R.CONTACTED, R.UNDER_REVIEW, R.APPROVED, R.DISBURSED),
        "该线索已办结或尚未对接, 不能上传材料",
        (Effect(K.RECOMMENDATION_MATERIAL_UPLOADED, NO_CLOCK),),
        checks=(ASSIGNED,),
    ),
    # --- end of the materials rows ---
    # the enterprise's operator name and phone (shared with the intended banks by its consent):
    # in clear only to the account manager the lead is assigned to, while the lead is open
    # (not declined, not drawn or removed); each reveal is audited, no timeline event
    Rule(
        Action.CONTACT_REVEAL,
        "查看企业联系方式",
        Recommendation,
        frozenset({Role.ACCOUNT_MANAGER}),
        tuple(OPEN_RECOMMENDATION_STATES),
        "该线索已办结, 不再显示企业联系方式",
        tenancy=VIEW,
        checks=(ASSIGNED,),
    ),
    Rule(
        Action.APPROVE,
        "办理线索",
        Recommendation,
        BANK,
        (R.UNDER_REVIEW,),
        "该线索不能授信(须先登记材料收齐)",
        (Effect(K.RECOMMENDATION_APPROVED, Clock(satisfy=(DECISION,)), R.APPROVED, "approve"),),
        checks=(ASSIGNED,),
    ),
    # a permission only: who may approve beyond the limits (the approval is APPROVE's effect)
    Rule(
        Action.APPROVE_OVERRIDE,
        "超限审批授信",
        Recommendation,
        frozenset({Role.BANK_ADMIN}),
        (R.UNDER_REVIEW,),
        "该线索不能授信(须先登记材料收齐)",
    ),
    Rule(
        Action.DECLINE,
        "办理线索",
        Recommendation,
        BANK,
        (R.PUSHED, R.CONTACTED, R.UNDER_REVIEW),
        "该线索不能登记不予授信",
        (Effect(K.RECOMMENDATION_DECLINED, Clock(satisfy=(FEEDBACK, DECISION, MATERIALS)), R.DECLINED, "decline"),),
        checks=(ASSIGNED,),
    ),
    Rule(
        Action.DISBURSE,
        "办理线索",
        Recommendation,
        BANK,
        (R.APPROVED, R.DISBURSED),
        "该线索不能登记放款(须先授信)",
        (Effect(K.RECOMMENDATION_DISBURSED, NO_CLOCK, R.DISBURSED, "disburse"),),
        checks=(ASSIGNED,),
    ),
    Rule(
        Action.NOT_DRAWN,
        "办理线索",
        Recommendation,
        BANK,
        (R.APPROVED,),
        "只有已授信且未放款的线索可以登记未提款",
        (Effect(K.RECOMMENDATION_NOT_DRAWN, NO_CLOCK, R.NOT_DRAWN, "not_drawn"),),
        checks=(ASSIGNED,),
    ),
    # the declaration leaves the list with its last lead ("last_lead")
    Rule(
        Action.REMOVE,
        "移出推荐清单",
        Recommendation,
        frozenset({CONVENER, LEAD}),
        tuple(OPEN_RECOMMENDATION_STATES),
        "该推荐不能移出",
        (
            Effect(K.RECOMMENDATION_REMOVED, Clock(stop=True), R.REMOVED, "remove"),
            Effect(
                K.DECLARATION_REMOVED,
                NO_CLOCK,
                D.REMOVED,
                "remove",
                outcome="last_lead",
                model=Declaration,
                source=(D.RECOMMENDED,),
            ),
        ),
    ),
    Rule(
        Action.COACH,
        "登记辅导",
        Recommendation,
        frozenset({STAFF, LEAD}),
        (R.DECLINED,),
        "只有不予授信的企业需要辅导",
        (Effect(K.RECOMMENDATION_COACHED, NO_CLOCK),),
    ),
    # recorded on the declined lead, and on the new draft it opens ("proposal")
    Rule(
        Action.REDIRECT,
        "重新推荐",
        Recommendation,
        frozenset({CONVENER, LEAD}),
        (R.DECLINED,),
        "只有不予授信的推荐可以改推其他银行",
        (
            Effect(K.RECOMMENDATION_REDIRECTED, NO_CLOCK),
            Effect(
                K.DECLARATION_REDIRECT_PROPOSED, NO_CLOCK, D.DRAFT, outcome="proposal", model=Declaration, source=()
            ),
        ),
    ),
    # the enterprise sees its recommendations (VIEW) and writes only its rating of the bank
    Rule(
        Action.RATE,
        "评价银行服务",
        Recommendation,
        frozenset({E}),
        (R.APPROVED, R.DISBURSED, R.NOT_DRAWN, R.DECLINED, R.REMOVED),
        "银行作出授信决定后才能评价",
        (Effect(K.RECOMMENDATION_RATED, NO_CLOCK),),
        tenancy=VIEW,
        checks=(Check("已作出授信决定", _decided), Check("只评价一次", _not_rated)),
    ),
    # the post-loan watch (matching/watch.py), no role: a mark or 名特优新 title the approval
    # relied on was revoked, expired or lowered (or is back) — recorded on the lead, whose
    # branch is notified (中国银行 方案 九(四) 授信压退)
    Rule(
        Action.BASIS_CHANGE,
        "记录授信依据变化",
        Recommendation,
        frozenset(),
        (R.APPROVED, R.DISBURSED),
        "只有已授信或已放款的线索跟踪授信依据",
        (Effect(K.RECOMMENDATION_BASIS_CHANGED, NO_CLOCK),),
        tenancy=VIEW,
    ),
    # --- corrections (issue 16 item 6): what was recorded by mistake, corrected with a reason
    # by the bank administrator of the lead's branch (or above); the original event stays on
    # the timeline and in the audit log, the correction is an event of its own, and the
    # figures as of a moment before it still show what was recorded then (reporting.kpis)
    Rule(
        Action.CORRECT_STATE,
        "更正线索状态",
        Recommendation,
        frozenset({Role.BANK_ADMIN}),
        (R.CONTACTED, R.UNDER_REVIEW, R.APPROVED, R.DECLINED, R.NOT_DRAWN),
        "该线索当前状态不能撤销(已放款的请先更正放款)",
        (
            # 已对接 by mistake: the feedback clock the contact answered runs again
            Effect(
                K.RECOMMENDATION_STATE_CORRECTED,
                Clock(reopen=(FEEDBACK,)),
                R.PUSHED,
                "revert_contact",
                outcome=R.CONTACTED,
                source=(R.CONTACTED,),
            ),
            # 材料已收齐 by mistake: the 30-day decision clock it started is taken back (it starts
            # anew when the materials are really complete); a submission's materials clock runs again
            Effect(
                K.RECOMMENDATION_STATE_CORRECTED,
                Clock(reopen=(MATERIALS,), discard=(DECISION,)),
                R.CONTACTED,
                "revert_materials_complete",
                outcome=R.UNDER_REVIEW,
                source=(R.UNDER_REVIEW,),
            ),
            # 授信 or 不予授信 by mistake: back to before the decision, whose clocks run again
            # (the due moments unchanged); the bank then records the right decision
            Effect(
                K.RECOMMENDATION_STATE_CORRECTED,
                Clock(reopen=(DECISION,)),
                R.UNDER_REVIEW,
                "revert_approve",
                outcome=R.APPROVED,
                source=(R.APPROVED,),
            ),
            # a decline goes back to where it found the lead (Recommendation.state_before_decline):
            # outcome "declined>under_review" and so on (correction_outcome)
            *(
                Effect(
                    K.RECOMMENDATION_STATE_CORRECTED,
                    Clock(reopen=(FEEDBACK, DECISION, MATERIALS)),
                    back,
                    method,
                    outcome=f"{R.DECLINED}>{back}",
                    source=(R.DECLINED,),
                )
                for back, method in (
                    (R.UNDER_REVIEW, "revert_decline_to_review"),
                    (R.CONTACTED, "revert_decline_to_contact"),
                    (R.PUSHED, "revert_decline_to_push"),
                )
            ),
            Effect(
                K.RECOMMENDATION_STATE_CORRECTED,
                NO_CLOCK,
                R.APPROVED,
                "revert_not_drawn",
                outcome=R.NOT_DRAWN,
                source=(R.NOT_DRAWN,),
            ),
        ),
        checks=(Check("未在误登记的状态上继续办理", _revertible),),
        correction=True,
    ),
    Rule(
        Action.CORRECT_DECISION,
        "更正授信决定",
        Recommendation,
        frozenset({Role.BANK_ADMIN}),
        (R.APPROVED, R.DISBURSED, R.NOT_DRAWN),
        "只有已授信的线索可以更正授信金额、利率、期限等",
        (Effect(K.RECOMMENDATION_DECISION_CORRECTED, NO_CLOCK),),
        correction=True,
    ),
    Rule(
        Action.CORRECT_DRAWDOWN,
        "更正放款",
        Recommendation,
        frozenset({Role.BANK_ADMIN}),
        (R.DISBURSED,),
        "只有已放款的线索可以更正放款",
        (
            Effect(K.RECOMMENDATION_DISBURSEMENT_CORRECTED, NO_CLOCK),
            # its last drawdown voided: approved, not drawn yet
            Effect(
                K.RECOMMENDATION_DISBURSEMENT_CORRECTED,
                NO_CLOCK,
                R.APPROVED,
                "revert_disburse",
                outcome="none_left",
            ),
        ),
        correction=True,
    ),
    Rule(
        Action.MATERIAL_WITHDRAW,
        "撤回误传的材料",
        Recommendation,
        frozenset({Role.BANK_ADMIN}),
        (R.CONTACTED, R.UNDER_REVIEW, R.APPROVED, R.DISBURSED),
        "该线索已办结或尚未对接, 不能撤回材料",
        (Effect(K.RECOMMENDATION_MATERIAL_WITHDRAWN, NO_CLOCK),),
        correction=True,
    ),
    # the convener takes a declaration signed into a batch by mistake out of it before the push
    Rule(
        Action.CORRECT_BATCH_ENTRY,
        "移出未推送的批次",
        Declaration,
        frozenset({CONVENER}),
        (D.RECOMMENDED,),
        "只有已签字确认、批次尚未推送的申报可以移出批次",
        (Effect(K.DECLARATION_SIGNOFF_CORRECTED, NO_CLOCK, D.LEAD_APPROVED, "revert_signoff"),),
        checks=(Check("批次尚未推送", _batch_unpushed),),
        correction=True,
    ),
    # --- seed 004 三(四)(五): the five basic criteria -------------------------------------
    # a declaration whose criteria are not all met is submitted only with an exception reason
    # (matching/criteria.py); the task-force lead confirms it explicitly, at any level of the
    # review before his own approval (which, like any bulk approval, waits for it)
    Rule(
        Action.CRITERIA_EXCEPTION_CONFIRM,
        "确认五项基本标准例外",
        Declaration,
        frozenset({LEAD}),
        (D.SUBMITTED, D.PRELIMINARY_APPROVED, D.BANK_REVIEWED),
        "该申报当前不在组长审核前的审核环节, 不能确认例外",
        (Effect(K.DECLARATION_CRITERIA_EXCEPTION_CONFIRMED, NO_CLOCK),),
        checks=(EXCEPTION_PENDING,),
    ),
)
TABLE: dict[Action, Rule] = {rule.action: rule for rule in RULES}

# the review levels in order, and the sign-off after them: each is a queue of one role
REVIEWS = (Action.REVIEW_PRELIMINARY, Action.REVIEW_BANK, Action.REVIEW_LEAD)
QUEUES = REVIEWS + (Action.SIGNOFF,)
# a declaration's way from draft to the 推荐清单
PATH = (Action.SUBMIT,) + QUEUES
# the bank's work on a lead
LEAD_WORK = (
    Action.CONTACT,
    Action.MATERIALS_LIST,
    Action.MATERIALS_SUPPLEMENT,
    Action.LEAD_MATERIALS_UPLOAD,
    Action.MATERIALS_COMPLETE,
    Action.APPROVE,
    Action.DECLINE,
    Action.DISBURSE,
    Action.NOT_DRAWN,
)
# the corrections a lead page offers (the bank administrator's)
LEAD_CORRECTIONS = (Action.CORRECT_STATE, Action.CORRECT_DECISION, Action.CORRECT_DRAWDOWN, Action.MATERIAL_WITHDRAW)
# the events whose actor made (wrote) a declaration (maker-checker M1)
MAKER_EVENTS = tuple(
    TABLE[action].effect(outcome).event
    for action, outcome in (
        (Action.FILE, ""),
        (Action.EDIT, ""),
        (Action.CONSENT, ""),
        (Action.SUBMIT, ""),
        (Action.MATERIALS_UPLOAD, ""),
        (Action.REDIRECT, "proposal"),
        (Action.BANK_RECOMMEND, ""),
    )
)


class Transition(NamedTuple):
    """One row of the table read as a transition (or an event without a state change)."""

    action: Action
    outcome: str
    model: type[Model]
    source: tuple  # (): creates the object
    target: object  # None: the state does not change
    method: str | None  # the django-fsm transition
    event: EventKind
    clock: Clock
    correction: bool = False


TRANSITIONS: tuple[Transition, ...] = tuple(
    Transition(
        rule_.action,
        effect_.outcome,
        effect_.model or rule_.model,
        rule_.states if effect_.source is None else effect_.source,
        effect_.target,
        effect_.transition,
        effect_.event,
        effect_.clock,
        rule_.correction,
    )
    for rule_ in RULES
    for effect_ in rule_.effects
)


def rule(action: Action) -> Rule:
    return TABLE[action]


def roles(action: Action) -> frozenset:
    return TABLE[action].roles


def states(action: Action) -> tuple:
    return TABLE[action].states


def effect(action: Action, outcome: str = "") -> Effect:
    return TABLE[action].effect(outcome)


def final_states(model: type[Model]) -> list:
    """The states of `model` no transition of the table leaves: the object is finished. A
    correction going back from a state does not count: it undoes, it does not go on."""
    left = {
        state
        for t in TRANSITIONS
        if t.model is model and t.method and not t.correction
        for state in t.source
        if state != t.target
    }
    return [state for state in STATES[model] if state not in left]


# --- decisions ---------------------------------------------------------------------------


def may(action: Action, user) -> bool:
    """Whether the user's role may ever do the action (in some state, on some object)."""
    scope = scope_for(user)
    return scope is not None and scope.role in TABLE[action].roles


def role_refusal(action: Action) -> Refusal:
    return Refusal(f"您的角色无权{TABLE[action].label}")


def require_role(action: Action, actor) -> None:
    if not may(action, actor):
        raise role_refusal(action).error()


def _state_refusal(rule_: Rule, obj) -> Refusal:
    if callable(rule_.conflict):
        return Refusal(rule_.conflict(obj), code="conflict")
    return Refusal(f"{rule_.conflict}(当前状态: {obj.get_state_display()})", code="conflict")


def refusal(action: Action, actor, obj=None) -> Refusal | None:
    """Why the actor may not do the action on obj now, or None. Checked in this order: the
    role, the object's state, the per-object rules."""
    rule_ = TABLE[action]
    scope = scope_for(actor)
    if scope is None or scope.role not in rule_.roles:
        return role_refusal(action)
    if obj is None:
        return None
    if rule_.states and obj.state not in rule_.states:
        return _state_refusal(rule_, obj)
    for check in rule_.checks:
        found = check.refuse(actor, scope, obj)
        if found is not None:
            return found
    return None


def state_refusal(action: Action, obj) -> Refusal | None:
    """Why the object's state (or a per-object rule that reads only the object) does not allow
    the action, whoever does it: for what the platform does by itself (MATERIALS_AUTO_START,
    applied by the deadline scan)."""
    rule_ = TABLE[action]
    if rule_.states and obj.state not in rule_.states:
        return _state_refusal(rule_, obj)
    for check in rule_.checks:
        found = check.refuse(None, None, obj)
        if found is not None:
            return found
    return None


def allows(action: Action, user, obj=None) -> bool:
    return refusal(action, user, obj) is None


def require(action: Action, actor, obj=None) -> Rule:
    found = refusal(action, actor, obj)
    if found is not None:
        raise found.error()
    return TABLE[action]


def acting_on(action: Action, actor, pk, *, lock: bool = True, message: str | None = None):
    """The object `pk` names, for the actor to do `action` on, or a refusal: not visible →
    not found; a role the table never allows → 403; not within the actor's restriction for
    the action (`rule.tenancy`) → not found; state or per-object rule → 409 / 403. The row is
    locked (inside the caller's transaction)."""
    rule_ = TABLE[action]
    extra = {"message": message} if message else {}
    resolve(rule_.model, actor, VIEW, pk=pk, **extra)
    require_role(action, actor)
    obj = resolve(rule_.model, actor, rule_.tenancy, lock=lock, pk=pk, **extra)
    require(action, actor, obj)
    return obj


# --- applying the table ------------------------------------------------------------------


def apply(obj, action: Action, outcome: str = "") -> Effect:
    """Move `obj` by the django-fsm transition the table names for the action's outcome (none
    for an action that records an event only). A state the transition does not leave is
    refused like a state the rule does not allow — a 409 with the current state — never
    with TransitionNotAllowed (a 500)."""
    rule_ = TABLE[action]
    effect_ = rule_.effect(outcome)
    if effect_.transition is not None:
        try:
            getattr(obj, effect_.transition)()
        except TransitionNotAllowed:
            if effect_.model in (None, rule_.model):
                raise _state_refusal(rule_, obj).error() from None
            raise ApplicationError(
                f"当前状态不能{rule_.label}(当前状态: {obj.get_state_display()})", code="conflict"
            ) from None
    return effect_


def record(
    action: Action,
    *,
    declaration: Declaration,
    recommendation: Recommendation | None = None,
    actor=None,
    outcome: str = "",
    at=None,
    since=None,
    recorded_at=None,
    **data,
) -> WorkflowEvent:
    """Write the event the table names for the action's outcome on the declaration's timeline
    (and the lead's), then apply the row's clock rule to the lead at `at` (the moment of the
    transition, now by default; a correction's `since`: the moment of the event it corrects):
    the one writer of an action's WorkflowEvent, so that no
    event and no clock effect happens without its row. The statistics index projects events and
    clocks, so here the transaction says the ledger changed (hooks.ledger_changed: one sync of
    the index after its commit), never a later read."""
    effect_ = TABLE[action].effect(outcome)
    now = recorded_at or timezone.now()
    event = WorkflowEvent.objects.create(
        declaration=declaration,
        recommendation=recommendation,
        kind=effect_.event,
        actor=actor if actor is not None and actor.is_authenticated else None,
        data=data,
        created_at=now,
    )
    if effect_.clock:
        clock_rules.apply_rule(recommendation, effect_.clock, at or now, since=since)
    hooks.ledger_changed()
    return event


# --- what pages and queues read ----------------------------------------------------------


def review_action(state) -> Action | None:
    """The review level a declaration in `state` waits for."""
    for action in REVIEWS:
        if state in TABLE[action].states:
            return action
    return None


def next_step(state) -> Rule | None:
    """The queue (review level or sign-off) a declaration in `state` waits in."""
    for action in QUEUES:
        if state in TABLE[action].states:
            return TABLE[action]
    return None


def holder(declaration: Declaration) -> tuple[str, str]:
    """Who holds the declaration now and what happens next, in Chinese, for its enterprise
    (its home page and case page): read from the table, a queue's roles at the office that
    works it (the task force; the convener at its mechanism)."""
    state = D(declaration.state)
    task_force = declaration.task_force
    office = task_force.name if task_force is not None else "县(区)工作专班"
    if state in TABLE[Action.SUBMIT].states:
        return "您(草稿, 尚未提交)", f"填写完整、确认授权并提交后, 由{office}初审"
    for index, action in enumerate(QUEUES):
        rule_ = TABLE[action]
        if state not in rule_.states:
            continue
        at = office
        if Role.CONVENER in rule_.roles and task_force is not None and task_force.parent is not None:
            at = task_force.parent.name
        roles = "、".join(Role(role).label for role in sorted(rule_.roles))
        if index + 1 < len(QUEUES):
            following = f"{rule_.step}通过后进入{TABLE[QUEUES[index + 1]].step}"
        else:
            following = "签字确认后推送至您选择的意向银行"
        return f"{at} · {roles}({state.label})", following
    if state == D.RECOMMENDED:
        return (
            "意向银行",
            "银行在推送后 5 个工作日内与您联系; 材料收齐后 30 日内作出授信决定",
        )
    return f"已结束({state.label})", "如有新的融资需求, 可重新申报"


def queue_states(role) -> list:
    """The declaration states the role works on in its queue."""
    return [state for action in QUEUES if role in TABLE[action].roles for state in TABLE[action].states]


def queue_q(user) -> Q:
    """Declarations in the user's queue: the states its role reviews or signs off, without
    those a per-object rule keeps from him (M1: not his own filings)."""
    scope = scope_for(user)
    q = Q(pk__in=[])
    for action in QUEUES:
        rule_ = TABLE[action]
        if scope is None or scope.role not in rule_.roles:
            continue
        part = Q(state__in=rule_.states)
        for check in rule_.checks:
            if check.queue_q is not None:
                part &= check.queue_q(user)
        q |= part
    return q


def queue_counts_labels() -> list[tuple[object, str]]:
    """(state, label) of every queue in order: 待初审, 待银行审核, 待组长审核, 待签字推送."""
    return [(state, state.label) for action in QUEUES for state in TABLE[action].states]


def path() -> list[tuple[str, object]]:
    """(step label, state reached) along a declaration's way to the 推荐清单 (each step's
    first effect is the one that moves on: a review's approval)."""
    return [(TABLE[action].step, TABLE[action].effects[0].target) for action in PATH]


def state_order() -> list:
    """Declaration states in the order the path reaches them, from the draft."""
    return [effect(Action.FILE).target] + [target for _, target in path()]


def allowed(user, obj, actions: Iterable[Action]) -> dict[str, bool]:
    """{action name: allowed} for a page: e.g. allowed(user, lead, LEAD_WORK)["CONTACT"]."""
    return {action.name: allows(action, user, obj) for action in actions}


def describe(action: Action) -> str:
    """One line for the API documentation: who, in which states."""
    rule_ = TABLE[action]
    who = "、".join(Role(r).label for r in sorted(rule_.roles))
    where = "、".join(str(s.label) for s in rule_.states) if rule_.states else "新建"
    return f"允许: {who}; 状态: {where}"
