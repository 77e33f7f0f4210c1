"""无还本续贷: the renewal needs of an entity's loans coming due, and the ONE table of who may
do what to them in which state (004 二(八): "将无还本续贷政策落实嵌入协调机制统筹推进，及时摸排
掌握企业续贷需求 … 对符合条件的小微企业'应续尽续'").

Lifecycle of a `entities.models.Renewal`:

    (recorded) ─→ 待续贷 ─┬─ 无还本续贷已续   (the bank renewed it without repayment of principal)
                          ├─ 其他方式续贷     (renewed another way: repay-then-lend, 借新还旧 …)
                          ├─ 已还款           (the enterprise repaid, no renewal)
                          ├─ 拒绝续贷         (refused, with a coded reason)
                          └─ 已撤销           (withdrawn: recorded in error or no longer needed)

Its history is two moments: `recorded_at` (待续贷 from then) and `outcome_recorded_at` (the closed
state from then, set by the one move out of 待续贷; `outcome_on` is the 办结日期 the bank states,
which may be earlier). The figures as of a past moment (reporting.selectors.renewal_figures) read them.

A need is recorded by the enterprise for itself, by the county task force from a visit (走访登记)
or on the entity's page, and by a bank for its own customers (next to its 借贷往来). Only the
bank the loan is owed to records the outcome. Which rows an actor may reach is the restriction
(entities.restrictions.renewal_q); what he may do to a reachable row is this table. Pages,
buttons and the API ask `allowed()`; nothing compares a state with a literal elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models

from portal.models import Role


class RenewalStatus(models.TextChoices):
    PENDING = "pending", "待续贷"
    RENEWED = "renewed", "无还本续贷已续"
    RENEWED_OTHER = "renewed_other", "其他方式续贷"
    REPAID = "repaid", "已还款"
    REFUSED = "refused", "拒绝续贷"
    WITHDRAWN = "withdrawn", "已撤销"


class RenewalSource(models.TextChoices):
    VISIT = "visit", "走访摸排"
    ENTERPRISE = "enterprise", "企业填报"
    BANK = "bank", "银行填报"
    TASK_FORCE = "task_force", "工作专班登记"


class RefusalReason(models.TextChoices):
    OPERATION = "operation", "经营状况恶化, 不具备持续经营能力"
    CREDIT = "credit", "存在逾期、欠息或不良等不良信用记录"
    NOT_ELIGIBLE = "not_eligible", "不符合无还本续贷条件"
    GUARANTEE = "guarantee", "担保或抵押不足"
    PURPOSE = "purpose", "资金用途不合规"
    OTHER = "other", "其他(需说明)"


class RenewalAction(models.TextChoices):
    RECORD = "record", "登记续贷需求"
    RENEW = "renew", "无还本续贷已续"
    RENEW_OTHER = "renew_other", "其他方式续贷"
    REPAID = "repaid", "已还款"
    REFUSE = "refuse", "拒绝续贷"
    WITHDRAW = "withdraw", "撤销"


# the sides of a renewal: the borrower, the mechanism that visits it, the lender
ENTERPRISE = "enterprise"
TASK_FORCE = "task_force"
BANK = "bank"

SIDE_ROLES = {
    ENTERPRISE: {Role.ENTERPRISE_USER},
    TASK_FORCE: {Role.TASK_FORCE_STAFF, Role.TASK_FORCE_LEAD},
    BANK: {Role.BANK_ADMIN, Role.ACCOUNT_MANAGER},
}


@dataclass(frozen=True)
class Row:
    action: RenewalAction
    sides: frozenset[str]
    from_states: frozenset[str]  # empty: a new record
    to_state: RenewalStatus


def _row(action, sides, from_states, to_state) -> Row:
    return Row(action, frozenset(sides), frozenset(from_states), to_state)


P = RenewalStatus.PENDING
TABLE: tuple[Row, ...] = (
    _row(RenewalAction.RECORD, {ENTERPRISE, TASK_FORCE, BANK}, (), P),
    _row(RenewalAction.RENEW, {BANK}, {P}, RenewalStatus.RENEWED),
    _row(RenewalAction.RENEW_OTHER, {BANK}, {P}, RenewalStatus.RENEWED_OTHER),
    _row(RenewalAction.REPAID, {BANK}, {P}, RenewalStatus.REPAID),
    _row(RenewalAction.REFUSE, {BANK}, {P}, RenewalStatus.REFUSED),
    _row(RenewalAction.WITHDRAW, {ENTERPRISE, TASK_FORCE, BANK}, {P}, RenewalStatus.WITHDRAWN),
)
ROWS = {row.action: row for row in TABLE}
OUTCOMES = (RenewalAction.RENEW, RenewalAction.RENEW_OTHER, RenewalAction.REPAID, RenewalAction.REFUSE)
OPEN_STATES = frozenset({P})
CLOSED_STATES = frozenset(s for s in RenewalStatus if s not in OPEN_STATES)


def side_of(role: str | None) -> str | None:
    for side, roles in SIDE_ROLES.items():
        if role in roles:
            return side
    return None


def allowed(action: RenewalAction | str, role: str | None, state: str | None) -> bool:
    """May a user of `role` perform `action` on a renewal in `state` (None: not yet recorded)?"""
    row = ROWS.get(RenewalAction(action)) if action in RenewalAction.values else None
    if row is None or side_of(role) not in row.sides:
        return False
    return (state is None) if not row.from_states else state in row.from_states


def actions_for(role: str | None, state: str | None) -> list[RenewalAction]:
    return [row.action for row in TABLE if row.from_states and allowed(row.action, role, state)]


def is_open(state: str) -> bool:
    return state in OPEN_STATES
