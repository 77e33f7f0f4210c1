"""Who may do what to a 督办单 in which state: the one table of supervision, in the style of
matching/workflow.py and coordination/policy.py.

* ISSUE: a regulator — the county task force lead (专班组长), a convener (召集人, county or city),
  the city or the province mechanism — issues a 督办单 to a bank branch or a 职能部门 located in
  its region.
* ACKNOWLEDGE (签收) and ANSWER (办理回复): for a bank branch its administrator (银行管理员, of the
  branch or a bank organisation above it; an account manager may not), for a department its staff.
* CLOSE (办结): the issuing mechanism, once answered.
* The scan marks an unanswered one overdue and escalates it (no role: the platform's clock).

Refusals: a role the row never allows → 403 (permission_denied); a state it does not allow →
409 (conflict) with the current state; another organisation's order → 403."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from portal.errors import ApplicationError
from portal.models import OrganisationKind, Role
from portal.tenancy import CHANGE, VIEW, Scope, resolve, scope_for
from reporting.models import SupervisionEventKind, SupervisionOrder, SupervisionState

S = SupervisionState
K = SupervisionEventKind

ISSUERS = frozenset({Role.TASK_FORCE_LEAD, Role.CONVENER, Role.CITY_REGULATOR, Role.PROVINCE_REGULATOR})
TARGET_ROLES = frozenset({Role.BANK_ADMIN, Role.DEPARTMENT_STAFF})
TARGET_KINDS = (OrganisationKind.BANK_BRANCH, OrganisationKind.BANK, OrganisationKind.DEPARTMENT)


class Action(StrEnum):
    ISSUE = "supervision.issue"
    ACKNOWLEDGE = "supervision.acknowledge"
    ANSWER = "supervision.answer"
    CLOSE = "supervision.close"


def _is_target(scope: Scope, order: SupervisionOrder) -> str | None:
    path = order.target.path
    if scope.role == Role.DEPARTMENT_STAFF and order.target_id == scope.organisation_id:
        return None
    if scope.role == Role.BANK_ADMIN and scope.organisation_path and path.startswith(scope.organisation_path):
        if order.target.kind != OrganisationKind.DEPARTMENT:
            return None
    return "该督办单不是下发给本单位的"


def _is_issuer(scope: Scope, order: SupervisionOrder) -> str | None:
    if order.issuer_id != scope.organisation_id:
        return "只有下发该督办单的机构可以办结"
    return None


@dataclass(frozen=True)
class Rule:
    action: Action
    label: str
    roles: frozenset
    states: tuple
    target: str
    event: str
    checks: tuple = ()
    description: str = ""


RULES = (
    Rule(Action.ISSUE, "下发督办单", ISSUERS, (), S.ISSUED, K.ISSUED, (), "监管机构向银行机构或职能部门下发督办单"),
    Rule(
        Action.ACKNOWLEDGE,
        "签收督办单",
        TARGET_ROLES,
        (S.ISSUED,),
        S.ACKNOWLEDGED,
        K.ACKNOWLEDGED,
        (_is_target,),
        "被督办单位管理员签收",
    ),
    Rule(
        Action.ANSWER,
        "回复督办单",
        TARGET_ROLES,
        (S.ISSUED, S.ACKNOWLEDGED),
        S.ANSWERED,
        K.ANSWERED,
        (_is_target,),
        "被督办单位管理员答复办理情况",
    ),
    Rule(Action.CLOSE, "办结督办单", ISSUERS, (S.ANSWERED,), S.CLOSED, K.CLOSED, (_is_issuer,), "督办机构确认办结"),
)
TABLE: dict[Action, Rule] = {r.action: r for r in RULES}
# the events the scan records (no role: the platform's clock)
SCAN_EVENTS = (K.OVERDUE, K.ESCALATED)


def rule(action: Action) -> Rule:
    return TABLE[action]


def may(action: Action, user) -> bool:
    scope = scope_for(user)
    return scope is not None and scope.role in TABLE[action].roles


def refusal(action: Action, actor, order: SupervisionOrder | None = None) -> ApplicationError | None:
    rule_ = TABLE[action]
    scope = scope_for(actor)
    if scope is None or scope.role not in rule_.roles:
        return ApplicationError(f"您的角色无权{rule_.label}", code="permission_denied")
    if order is None:
        return None
    if rule_.states and order.state not in rule_.states:
        return ApplicationError(f"当前状态不能{rule_.label}(当前状态: {order.get_state_display()})", code="conflict")
    for check in rule_.checks:
        message = check(scope, order)
        if message:
            return ApplicationError(message, code="permission_denied")
    return None


def allows(action: Action, user, order: SupervisionOrder | None = None) -> bool:
    return refusal(action, user, order) is None


def require(action: Action, actor, order: SupervisionOrder | None = None) -> Rule:
    error = refusal(action, actor, order)
    if error is not None:
        raise error
    return TABLE[action]


def acting_on(action: Action, actor, pk) -> SupervisionOrder:
    """The order `pk` names, locked, for `action`: not visible → not found; role → 403; state → 409."""
    resolve(SupervisionOrder, actor, VIEW, pk=pk, field="order_id")
    error = refusal(action, actor)
    if error is not None:
        raise error
    order = resolve(SupervisionOrder, actor, CHANGE, lock=True, pk=pk, field="order_id")
    require(action, actor, order)
    return order


def allowed(user, order: SupervisionOrder) -> dict[str, bool]:
    return {a.name: allows(a, user, order) for a in Action if TABLE[a].states}
