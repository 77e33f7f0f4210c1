"""The one engine of a resource's policy table: who may do what to an object in which state.

A policy module (coordination/policy.py 批分单, campaigns/policy.py 大走访活动,
reporting/supervision/policy.py 督办单) keeps only its `Action` StrEnum ("noun.verb"), its roles,
its object-level checks and its `TABLE = PolicyTable(model, rules, states=…)`; every caller —
services, views, APIs, the `can` dicts of the pages (portal/policy_resources.py) — asks that table.
matching/workflow.py is the larger table of the 申报 → 推荐 workflow (several models, outcomes,
django-fsm transitions, clocks), with its own engine of the same shape.

A row (`Rule`): the action, its label (what is done, in Chinese: "您的角色无权{label}"), the roles
it allows, the states it acts in (empty: the row that creates the object), the state it leads to
(None: the object's state stays), the event it records, its checks and a description (the API
documents the row with it). A check is `check(scope, obj) → Refusal | None`: an object-level rule
beyond role and state (the holding level, one's own department, city or county).

Refusals, always in this order and always a `Refusal` (its `error()` is the ApplicationError a
service raises):
* a role the row never allows → 403 (`permission_denied`, "您的角色无权{label}");
* a state the row does not allow → 409 (`conflict`, "当前状态不能{label}(当前状态: …)");
* a check → its own refusal (403, or 409 for a check about the object's situation).

`acting_on(action, actor, pk)` is how a service takes the object it acts on: not visible → not
found (404); a role the table never allows → 403 before the object is locked; then the object
is resolved through the restriction for `restriction_action` (CHANGE) with `select_for_update`,
so two people acting on one object are serialized: the second reads the state the first left,
and is refused with the current state when the row no longer allows it.

Tests: tests/test_policy_tables.py walks every table (every state reachable from the creating
row, the final states, every event kind recorded by a row or the scan, every action a row with a
service and an audit label)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from django.db import models

from portal.errors import ApplicationError
from portal.tenancy import CHANGE, VIEW, Scope, resolve, scope_for


@dataclass(frozen=True)
class Refusal:
    """Why an actor may not do an action: a Chinese message and the error code (403 / 409)."""

    message: str
    code: str = "permission_denied"

    def error(self) -> ApplicationError:
        return ApplicationError(self.message, code=self.code)


Check = Callable[[Scope, Any], "Refusal | None"]


@dataclass(frozen=True)
class Rule:
    action: StrEnum
    label: str  # what is done, in Chinese: "您的角色无权{label}"
    roles: frozenset
    states: tuple  # empty: the action creates the object
    target: str | None  # the state it leads to; None: the object's state stays
    event: str
    checks: tuple[Check, ...] = ()
    description: str = ""


class PolicyTable:
    """One resource's table of states × actions × roles (see the module's docstring).

    `model`: the object's model (its `state` field holds members of `states`); `rules`: one
    row per action; `states`: the TextChoices of the state; `scan_events`: the events the
    platform's clock records (no role); `field`: the input that names the object, for the
    not-found field error (e.g. "order_id"); `restriction_action`: the restrict() action the
    object is locked for."""

    def __init__(
        self,
        model: type[models.Model],
        rules: Iterable[Rule],
        *,
        states: type[models.TextChoices],
        scan_events: Iterable[str] = (),
        field: str | None = None,
        restriction_action: str = CHANGE,
    ):
        self.model = model
        self.rules: tuple[Rule, ...] = tuple(rules)
        self.states = states
        self.scan_events = tuple(scan_events)
        self.field = field
        self.restriction_action = restriction_action
        self._by_action: dict[Any, Rule] = {}
        for row in self.rules:
            if row.action in self._by_action:
                raise ValueError(f"two rows for {row.action}")
            self._by_action[row.action] = row

    def __repr__(self) -> str:
        return f"PolicyTable({self.model.__name__})"

    @property
    def actions(self) -> tuple:
        return tuple(row.action for row in self.rules)

    def rule(self, action) -> Rule:
        return self._by_action[action]

    def may(self, action, user) -> bool:
        """Whether the user's role may ever do the action (in some state, on some object)."""
        scope = scope_for(user)
        return scope is not None and scope.role in self._by_action[action].roles

    def refusal(self, action, actor, obj=None) -> Refusal | None:
        """Why the actor may not do the action on the object now: role, then state, then checks."""
        row = self._by_action[action]
        scope = scope_for(actor)
        if scope is None or scope.role not in row.roles:
            return Refusal(f"您的角色无权{row.label}")
        if obj is None:
            return None
        if row.states and obj.state not in row.states:
            return Refusal(f"当前状态不能{row.label}(当前状态: {obj.get_state_display()})", code="conflict")
        for check in row.checks:
            found = check(scope, obj)
            if found is not None:
                return found
        return None

    def allows(self, action, user, obj=None) -> bool:
        return self.refusal(action, user, obj) is None

    def require(self, action, actor, obj=None) -> Rule:
        """The row, or its refusal raised as an ApplicationError."""
        found = self.refusal(action, actor, obj)
        if found is not None:
            raise found.error()
        return self._by_action[action]

    def acting_on(self, action, actor, pk, *, field: str | None = None):
        """The object `pk` names, locked, for the actor to do `action` on: not visible → not
        found; a role the table never allows → 403; state → 409; a check → its refusal."""
        field = field or self.field
        resolve(self.model, actor, VIEW, pk=pk, field=field)
        self.require(action, actor)
        obj = resolve(self.model, actor, self.restriction_action, lock=True, pk=pk, field=field)
        self.require(action, actor, obj)
        return obj

    def allowed(self, user, obj) -> dict[str, bool]:
        """{action name: allowed} for a page's buttons (the rows acting on an object)."""
        return {row.action.name: self.allows(row.action, user, obj) for row in self.rules if row.states}

    def final_states(self) -> list[str]:
        """The states no row leaves (a row that keeps the state does not leave it)."""
        left = {s for row in self.rules for s in row.states if row.target is not None and s != row.target}
        return [s for s in self.states if s not in left]
