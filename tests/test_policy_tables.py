"""Every policy table (portal/policy_table.py) is complete: every state is reachable from the row
that creates the object, the final states are the ones the lifecycle ends in, every action has
one row with roles, a Chinese label, a description and an audit label, every row acting on an
object has a service, every event kind is recorded by a row or by the platform's clock (the scan)
and has a Chinese label, and every row's target and states are states of the model."""

from dataclasses import dataclass

import pytest

from campaigns import policy as campaign_policy
from campaigns import services as campaign_services
from campaigns.models import CampaignEventKind, CampaignState
from coordination import policy as problem_policy
from coordination import services as problem_services
from coordination.models import ProblemEventKind, ProblemState
from portal.audit_log import ACTION_LABELS
from portal.policy_table import PolicyTable
from reporting.models import SupervisionEventKind, SupervisionState
from reporting.supervision import policy as supervision_policy
from reporting.supervision import services as supervision_services


@dataclass(frozen=True)
class Case:
    table: PolicyTable
    actions: type  # the module's Action enum
    events: type  # the TextChoices of the timeline's event kinds
    final: list
    services: frozenset  # the actions acting on an object that have a service


CASES = {
    "批分单": Case(
        problem_policy.TABLE,
        problem_policy.Action,
        ProblemEventKind,
        [ProblemState.CLOSED],
        frozenset(problem_services.SERVICES),
    ),
    "大走访活动": Case(
        campaign_policy.TABLE,
        campaign_policy.Action,
        CampaignEventKind,
        [CampaignState.ENDED],
        # the county's import and visit plan take a file and a plan: their own endpoints and forms
        frozenset(campaign_services.SERVICES) | {campaign_policy.Action.IMPORT_TARGETS, campaign_policy.Action.ASSIGN},
    ),
    "督办单": Case(
        supervision_policy.TABLE,
        supervision_policy.Action,
        SupervisionEventKind,
        [SupervisionState.CLOSED],
        frozenset(supervision_services.SERVICES),
    ),
}
cases = pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))


@cases
def test_every_action_has_exactly_one_row_and_one_creates_the_object(case):
    assert sorted(case.table.actions) == sorted(case.actions)
    creating = [r for r in case.table.rules if not r.states]
    assert len(creating) == 1 and creating[0].target is not None


@cases
def test_every_state_is_reachable_from_the_creating_row_and_the_final_states_are_the_lifecycles_ends(case):
    start = next(r.target for r in case.table.rules if not r.states)
    reached, frontier = set(), [start]
    while frontier:
        state = frontier.pop()
        if state in reached:
            continue
        reached.add(state)
        frontier += [r.target for r in case.table.rules if state in r.states and r.target is not None]
    assert reached == set(case.table.states)
    assert case.table.final_states() == case.final


@cases
def test_every_event_kind_is_recorded_by_a_row_or_the_scan_and_has_a_chinese_label(case):
    recorded = [r.event for r in case.table.rules] + list(case.table.scan_events)
    assert sorted(recorded) == sorted(case.events)
    for kind in case.events:
        assert kind.label and not kind.label.isascii()


@cases
def test_every_row_has_roles_chinese_words_an_audit_label_and_a_service(case):
    for rule in case.table.rules:
        assert rule.roles, rule.action
        assert rule.label and not rule.label.isascii() and rule.description and not rule.description.isascii()
        assert ACTION_LABELS[str(rule.action)]
        assert rule.target is None or rule.target in case.table.states.values
        assert set(rule.states) <= set(case.table.states.values)
        if rule.states:
            assert rule.action in case.services, rule.action
