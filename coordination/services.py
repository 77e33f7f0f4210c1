"""Every write of 批分单 (seed 004 二(七)). Each service resolves its inputs through restrict()
for the action it performs, checks the policy table (coordination/policy.py), moves the problem,
records its event, tells the people concerned (coordination/notices.py) and writes an audit
event, in one transaction."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from coordination import notices
from coordination.models import (
    LEVEL_ABOVE,
    Problem,
    ProblemEvent,
    ProblemEventKind,
    ProblemKind,
    ProblemLevel,
    ProblemSource,
    ProblemState,
)
from coordination.policy import TABLE, Action
from entities.models import MarketEntity
from portal.errors import ApplicationError
from portal.models import Organisation, OrganisationKind
from portal.services import audit_record
from portal.tenancy import VIEW, resolve
from workdays.arithmetic import YearNotCovered, end_of_local_day, local_date
from workdays.loader import calendar_from_db

MAX_DUE_WORKING_DAYS = 60
# an overdue problem goes up to the convener this many working days after its due date
ESCALATION_WORKING_DAYS = 3
TEXT_MAX = 5000


def schedule(started_at: dt.datetime, working_days: int) -> dict:
    """due_at (end of the N-th working day after the start) and escalate_at, from the working-day
    calendar; a year the calendar does not know is refused (no silent guess)."""
    calendar = calendar_from_db()
    try:
        due_date = calendar.add_working_days(local_date(started_at), working_days)
        escalate_date = calendar.add_working_days(due_date, ESCALATION_WORKING_DAYS)
    except YearNotCovered:
        raise ApplicationError(
            "工作日历尚未录入办理期限所在年度, 无法计算期限, 请联系平台管理员录入", field_errors=None, code="invalid"
        ) from None
    return {"due_at": end_of_local_day(due_date), "escalate_at": end_of_local_day(escalate_date)}


def _text(value, field: str, label: str, *, required: bool = True) -> str:
    text = (value or "").strip() if isinstance(value, str) else ""
    if required and not text:
        raise ApplicationError(f"请填写{label}", field_errors={field: [f"请填写{label}"]})
    if len(text) > TEXT_MAX:
        raise ApplicationError(f"{label}过长", field_errors={field: [f"{label}不能超过 {TEXT_MAX} 字"]})
    return text


def _working_days(value) -> int:
    message = f"办理时限须为 1 至 {MAX_DUE_WORKING_DAYS} 个工作日"
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_DUE_WORKING_DAYS:
        raise ApplicationError(message, field_errors={"due_working_days": [message]})
    return value


def _choice(value, choices, field: str, label: str) -> str:
    if value not in choices.values:
        message = f"请选择{label}"
        raise ApplicationError(message, field_errors={field: [message]})
    return value


def _department(actor, department_id, *, county_code: str, level: str) -> Organisation:
    """A department of the mechanism at `level` above the problem's county, resolved for the
    actor: another level's or another region's department is refused as not found."""
    return resolve(
        Organisation.objects.filter(
            kind=OrganisationKind.DEPARTMENT, is_active=True, region_id=notices.level_region(county_code, level)
        ),
        actor,
        VIEW,
        pk=department_id,
        field="department_id",
    )


def _event(problem: Problem, kind: str, actor, note: str = "", now=None) -> ProblemEvent:
    return ProblemEvent.objects.create(
        problem=problem,
        kind=kind,
        actor=actor if actor is not None and actor.is_authenticated else None,
        department_id=problem.department_id,
        note=note,
        created_at=now or timezone.now(),
    )


def _route(problem: Problem, department: Organisation, working_days: int, now) -> None:
    problem.department = department
    problem.due_working_days = working_days
    problem.routed_at = now
    problem.overdue_at = None
    problem.escalated_at = None
    problem.__dict__.update(schedule(now, working_days))


def _snapshot(problem: Problem) -> dict:
    return {
        "state": problem.state,
        "level": problem.level,
        "department_id": problem.department_id,
        "due_at": problem.due_at.isoformat() if problem.due_at else None,
    }


@transaction.atomic
def problem_open(
    *,
    actor,
    entity_id,
    kind,
    source,
    description,
    department_id,
    due_working_days,
    tolerance: bool = False,
    commitment_text: str = "",
) -> Problem:
    """专班填写批分单后转交相关部门 (seed 004 二(七)): the entity (of the actor's county), the kind of
    problem, where it was found, the county department it goes to and the due date in working days;
    容缺受理 is recorded only with the enterprise's credit commitment."""
    TABLE.require(Action.OPEN, actor)
    entity = resolve(MarketEntity, actor, VIEW, pk=entity_id, field="entity_id")
    kind = _choice(kind, ProblemKind, "kind", "问题类型")
    source = _choice(source, ProblemSource, "source", "问题来源")
    description = _text(description, "description", "问题描述")
    working_days = _working_days(due_working_days)
    commitment = _text(commitment_text, "commitment_text", "企业信用承诺", required=bool(tolerance))
    if not entity.region_id:
        raise ApplicationError(
            "该经营主体没有所在县区, 无法转交", field_errors={"entity_id": ["该经营主体没有所在县区"]}
        )
    department = _department(actor, department_id, county_code=entity.region_id, level=ProblemLevel.COUNTY)
    now = timezone.now()
    problem = Problem(
        entity=entity,
        region_id=entity.region_id,
        kind=kind,
        source=source,
        description=description,
        level=ProblemLevel.COUNTY,
        tolerance=bool(tolerance),
        commitment_text=commitment if tolerance else "",
        created_by=actor,
        created_at=now,
        state=ProblemState.ROUTED,
    )
    _route(problem, department, working_days, now)
    problem.save()
    event = _event(problem, ProblemEventKind.OPENED, actor, description, now)
    notices.tell(
        problem,
        key=f"opened:{event.pk}",
        title=f"已转交{department.name}, 请于 {local_date(problem.due_at):%Y-%m-%d} 前办理",
        user_ids=notices.department_users(problem),
        body=description,
    )
    audit_record(actor=actor, action="problem.open", obj=problem, after=_snapshot(problem))
    return problem


def _transition(action: Action, *, actor, problem_id) -> tuple[Problem, dict, object]:
    """The problem locked and checked against the table's row, moved to the row's state."""
    problem = TABLE.acting_on(action, actor, problem_id)
    before = _snapshot(problem)
    rule_ = TABLE.rule(action)
    problem.state = rule_.target
    return problem, before, rule_


def _finish(problem: Problem, before: dict, rule_, actor, note: str, *, title: str, user_ids) -> Problem:
    problem.save()
    event = _event(problem, rule_.event, actor, note)
    notices.tell(problem, key=f"{rule_.event}:{event.pk}", title=title, user_ids=user_ids, body=note)
    audit_record(actor=actor, action=str(rule_.action), obj=problem, before=before, after=_snapshot(problem))
    return problem


@transaction.atomic
def problem_accept(*, actor, problem_id, note: str = "") -> Problem:
    """承办部门受理."""
    note = _text(note, "note", "说明", required=False)
    problem, before, rule_ = _transition(Action.ACCEPT, actor=actor, problem_id=problem_id)
    return _finish(
        problem,
        before,
        rule_,
        actor,
        note,
        title=f"{problem.department.name}已受理",
        user_ids=notices.mechanism_users(problem),
    )


@transaction.atomic
def problem_answer(*, actor, problem_id, answer) -> Problem:
    """承办部门答复办理结果 ("协调职能部门在依法合规的基础上开辟绿色通道、并联审批, 加快办理")."""
    answer = _text(answer, "answer", "答复内容")
    problem, before, rule_ = _transition(Action.ANSWER, actor=actor, problem_id=problem_id)
    problem.answer = answer
    problem.answered_at = timezone.now()
    return _finish(
        problem,
        before,
        rule_,
        actor,
        answer,
        title=f"{problem.department.name}已答复",
        user_ids=notices.mechanism_users(problem),
    )


@transaction.atomic
def problem_return(*, actor, problem_id, reason) -> Problem:
    """承办部门退回 (不属于本部门职责), with the reason."""
    reason = _text(reason, "reason", "退回理由")
    problem, before, rule_ = _transition(Action.RETURN, actor=actor, problem_id=problem_id)
    return _finish(
        problem,
        before,
        rule_,
        actor,
        reason,
        title=f"{problem.department.name}已退回",
        user_ids=notices.mechanism_users(problem),
    )


@transaction.atomic
def problem_reroute(*, actor, problem_id, department_id, due_working_days) -> Problem:
    """The holding mechanism routes a returned (or newly escalated) problem to a department of its
    own level; the working-day deadline starts anew."""
    working_days = _working_days(due_working_days)
    problem, before, rule_ = _transition(Action.REROUTE, actor=actor, problem_id=problem_id)
    department = _department(actor, department_id, county_code=problem.region_id, level=problem.level)
    _route(problem, department, working_days, timezone.now())
    return _finish(
        problem,
        before,
        rule_,
        actor,
        f"转交{department.name}, {working_days} 个工作日",
        title=f"已转交{department.name}, 请于 {local_date(problem.due_at):%Y-%m-%d} 前办理",
        user_ids=notices.department_users(problem),
    )


@transaction.atomic
def problem_propose_escalation(*, actor, problem_id, reason) -> Problem:
    """ "确有困难或不属于县级事权的": the staff ask the convener to agree to the escalation."""
    reason = _text(reason, "reason", "上报理由")
    problem, before, rule_ = _transition(Action.PROPOSE_ESCALATION, actor=actor, problem_id=problem_id)
    problem.escalation_reason = reason
    return _finish(
        problem,
        before,
        rule_,
        actor,
        reason,
        title="提请召集人同意上报上级工作机制",
        user_ids=notices.convener_users(problem),
    )


@transaction.atomic
def problem_approve_escalation(*, actor, problem_id, note: str = "") -> Problem:
    """ "经工作机制召集人研究同意后, 逐级向上级工作机制反映": one level up (county → city → province);
    the upper mechanism routes it to one of its departments."""
    note = _text(note, "note", "研究意见", required=False)
    problem, before, rule_ = _transition(Action.APPROVE_ESCALATION, actor=actor, problem_id=problem_id)
    lower = problem.get_level_display()
    problem.level = LEVEL_ABOVE[problem.level]
    problem.department = None
    problem.due_at = problem.escalate_at = problem.routed_at = None
    problem.overdue_at = problem.escalated_at = None
    upper = notices.mechanism_users(problem)
    return _finish(
        problem,
        before,
        rule_,
        actor,
        note or problem.escalation_reason,
        title=f"{lower}工作机制召集人同意上报, 请{problem.get_level_display()}工作机制转交部门办理",
        user_ids=upper,
    )


@transaction.atomic
def problem_refuse_escalation(*, actor, problem_id, reason) -> Problem:
    reason = _text(reason, "reason", "不同意理由")
    problem, before, rule_ = _transition(Action.REFUSE_ESCALATION, actor=actor, problem_id=problem_id)
    return _finish(
        problem,
        before,
        rule_,
        actor,
        reason,
        title="召集人不同意上报, 请另行转交",
        user_ids=notices.mechanism_users(problem),
    )


@transaction.atomic
def problem_close(*, actor, problem_id, note: str = "") -> Problem:
    """The holding mechanism confirms the department's answer settled it (办结)."""
    note = _text(note, "note", "办结说明", required=False)
    problem, before, rule_ = _transition(Action.CLOSE, actor=actor, problem_id=problem_id)
    return _finish(problem, before, rule_, actor, note, title="已办结", user_ids=notices.department_users(problem))


# the one entry of the pages and the API: action name → service and its input fields
SERVICES = {
    Action.ACCEPT: (problem_accept, ("note",)),
    Action.ANSWER: (problem_answer, ("answer",)),
    Action.RETURN: (problem_return, ("reason",)),
    Action.REROUTE: (problem_reroute, ("department_id", "due_working_days")),
    Action.PROPOSE_ESCALATION: (problem_propose_escalation, ("reason",)),
    Action.APPROVE_ESCALATION: (problem_approve_escalation, ("note",)),
    Action.REFUSE_ESCALATION: (problem_refuse_escalation, ("reason",)),
    Action.CLOSE: (problem_close, ("note",)),
}
