"""Who may do what to a 督办单 in which state: the one table of supervision, in the style of
matching/workflow.py and coordination/policy.py.

* ISSUE: a regulator — the county task force lead (专班组长), a convener (召集人, county or city),
  the city or the province mechanism — issues a 督办单 to a bank branch or a 职能部门 located in
  its region.
* ACKNOWLEDGE (签收) and ANSWER (办理回复): for a bank branch its administrator (银行管理员, of the
  branch or a bank organisation above it; an account manager may not), for a department its staff.
* CLOSE (办结): the issuing mechanism, once answered.
* The scan marks an unanswered one overdue and escalates it (no role: the platform's clock).

Refusals (portal/policy_table.py): a role the row never allows → 403 (permission_denied); a
state it does not allow → 409 (conflict) with the current state; another organisation's order
→ 403. Tests: tests/test_policy_tables.py checks the table."""

from __future__ import annotations

from enum import StrEnum

from portal.models import OrganisationKind, Role
from portal.policy_table import PolicyTable, Refusal, Rule
from portal.tenancy import Scope
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


def _is_target(scope: Scope, order: SupervisionOrder) -> Refusal | None:
    path = order.target.path
    if scope.role == Role.DEPARTMENT_STAFF and order.target_id == scope.organisation_id:
        return None
    if scope.role == Role.BANK_ADMIN and scope.organisation_path and path.startswith(scope.organisation_path):
        if order.target.kind != OrganisationKind.DEPARTMENT:
            return None
    return Refusal("该督办单不是下发给本单位的")


def _is_issuer(scope: Scope, order: SupervisionOrder) -> Refusal | None:
    if order.issuer_id != scope.organisation_id:
        return Refusal("只有下发该督办单的机构可以办结")
    return None


TABLE = PolicyTable(
    SupervisionOrder,
    (
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
    ),
    states=SupervisionState,
    # the events the scan records (no role: the platform's clock)
    scan_events=(K.OVERDUE, K.ESCALATED),
    field="order_id",
)
