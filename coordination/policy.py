"""Who may do what to a 批分单 in which state: the one table of the coordination app, in the
style of matching/workflow.py (seed 004 二(七)).

* Task-force staff and the task-force lead (专班) fill in a 批分单 (OPEN) for an entity of their
  county — a difficulty found on a visit, in a review, or reported by a bank or the enterprise —
  and route it to one department of the county mechanism with a due date in working days; where
  the problem is 固定资产贷款前期手续 and the enterprise made a credit commitment, 容缺受理 is
  recorded with the commitment's text.
* The department's staff (职能部门工作人员) accept it (ACCEPT), answer it (ANSWER), or return it
  as not theirs (RETURN); the mechanism that holds it routes a returned one to another department
  (REROUTE) and closes an answered one (CLOSE).
* "确有困难或不属于县级事权的, 经工作机制召集人研究同意后, 逐级向上级工作机制反映": the holding
  mechanism's staff propose the escalation (PROPOSE_ESCALATION), the convener of that mechanism
  agrees (APPROVE_ESCALATION: the problem goes up one level, to the city mechanism, then to the
  province) or refuses (REFUSE_ESCALATION: it stays, returned to the staff). At the city the city
  mechanism's staff (市级协调机制) route it to a city department and may propose it to the province
  the same way; the city convener agrees.
* The escalation scan (coordination/scan.py) marks a department's problem overdue at its due
  moment (逾期督办: the department and the task force are told) and escalates it to the convener a
  few working days later; no role does that.

Each row: the roles, the states it acts in, the state it leads to, and the event it records.
Holding mechanism: a row with `level_check` applies only to an actor of the mechanism level
that holds the problem (a county worker for a county problem, a city one for a city problem), a
department row only to the department it is routed to. Refusals: a role the row never allows →
403; a state it does not allow → 409 with the current state; another level or department → 403.
Tests: tests/test_policy_tables.py checks the table (every state reachable, every
transition an event, every event kind used)."""

from __future__ import annotations

from enum import StrEnum

from coordination.models import Problem, ProblemEventKind, ProblemLevel, ProblemState
from portal.models import OrganisationKind, Role
from portal.policy_table import PolicyTable, Refusal, Rule
from portal.tenancy import Scope

S = ProblemState
K = ProblemEventKind


class Action(StrEnum):
    OPEN = "problem.open"
    ACCEPT = "problem.accept"
    ANSWER = "problem.answer"
    RETURN = "problem.return"
    REROUTE = "problem.reroute"
    PROPOSE_ESCALATION = "problem.propose_escalation"
    APPROVE_ESCALATION = "problem.approve_escalation"
    REFUSE_ESCALATION = "problem.refuse_escalation"
    CLOSE = "problem.close"


# the mechanism's staff at each level: who opens, routes, proposes escalations and closes
COUNTY_STAFF = frozenset({Role.TASK_FORCE_STAFF, Role.TASK_FORCE_LEAD})
MECHANISM_STAFF = COUNTY_STAFF | {Role.CITY_REGULATOR, Role.PROVINCE_REGULATOR}
DEPARTMENT = frozenset({Role.DEPARTMENT_STAFF})
CONVENER = frozenset({Role.CONVENER})


def actor_level(scope: Scope | None) -> str | None:
    """The mechanism level an actor works at (None: not a mechanism worker)."""
    if scope is None:
        return None
    if scope.role in COUNTY_STAFF:
        return ProblemLevel.COUNTY
    if scope.role == Role.CITY_REGULATOR:
        return ProblemLevel.CITY
    if scope.role == Role.PROVINCE_REGULATOR:
        return ProblemLevel.PROVINCE
    if scope.role == Role.CONVENER:
        return ProblemLevel.CITY if scope.organisation_kind == OrganisationKind.CITY_MECHANISM else ProblemLevel.COUNTY
    return None


def _holding_level(scope: Scope, problem: Problem) -> Refusal | None:
    if actor_level(scope) != problem.level:
        return Refusal(f"该批分单现由{problem.get_level_display()}工作机制办理, 您无权操作")
    return None


def _own_department(scope: Scope, problem: Problem) -> Refusal | None:
    if problem.department_id != scope.organisation_id:
        return Refusal("该批分单未转交本部门")
    return None


def _can_go_up(scope: Scope, problem: Problem) -> Refusal | None:
    if problem.level == ProblemLevel.PROVINCE:
        return Refusal("省级工作机制已是最高层级, 无法继续上报", code="conflict")
    return None


TABLE = PolicyTable(
    Problem,
    (
        Rule(
            Action.OPEN,
            "填写批分单",
            COUNTY_STAFF,
            (),
            S.ROUTED,
            K.OPENED,
            description="专班填写批分单, 转交县级职能部门, 按工作日计办理期限",
        ),
        Rule(
            Action.ACCEPT,
            "受理批分单",
            DEPARTMENT,
            (S.ROUTED,),
            S.ACCEPTED,
            K.ACCEPTED,
            (_own_department,),
            "承办部门受理",
        ),
        Rule(
            Action.ANSWER,
            "答复批分单",
            DEPARTMENT,
            (S.ROUTED, S.ACCEPTED),
            S.ANSWERED,
            K.ANSWERED,
            (_own_department,),
            "承办部门答复办理结果",
        ),
        Rule(
            Action.RETURN,
            "退回批分单",
            DEPARTMENT,
            (S.ROUTED, S.ACCEPTED),
            S.RETURNED,
            K.RETURNED,
            (_own_department,),
            "承办部门说明理由后退回(不属于本部门职责)",
        ),
        Rule(
            Action.REROUTE,
            "改派批分单",
            MECHANISM_STAFF,
            (S.RETURNED, S.ESCALATED),
            S.ROUTED,
            K.ROUTED,
            (_holding_level,),
            "持有该批分单的工作机制转交(改派)本级职能部门, 重新起算办理期限",
        ),
        Rule(
            Action.PROPOSE_ESCALATION,
            "提请上报上级机制",
            MECHANISM_STAFF,
            (S.ROUTED, S.ACCEPTED, S.RETURNED, S.ESCALATED),
            S.ESCALATION_PENDING,
            K.ESCALATION_PROPOSED,
            (_holding_level, _can_go_up),
            "确有困难或不属于本级事权的, 提请召集人研究同意后上报上级工作机制",
        ),
        Rule(
            Action.APPROVE_ESCALATION,
            "同意上报上级机制",
            CONVENER,
            (S.ESCALATION_PENDING,),
            S.ESCALATED,
            K.ESCALATION_APPROVED,
            (_holding_level, _can_go_up),
            "经工作机制召集人研究同意后, 逐级向上级工作机制反映",
        ),
        Rule(
            Action.REFUSE_ESCALATION,
            "不同意上报",
            CONVENER,
            (S.ESCALATION_PENDING,),
            S.RETURNED,
            K.ESCALATION_REFUSED,
            (_holding_level,),
            "召集人不同意上报, 退回本级工作机制另行转交",
        ),
        Rule(
            Action.CLOSE,
            "办结批分单",
            MECHANISM_STAFF,
            (S.ANSWERED,),
            S.CLOSED,
            K.CLOSED,
            (_holding_level,),
            "部门答复后, 持有该批分单的工作机制确认办结",
        ),
    ),
    states=ProblemState,
    # the events the escalation scan records (no role: the platform's clock)
    scan_events=(K.OVERDUE, K.OVERDUE_ESCALATED),
    field="problem_id",
)
