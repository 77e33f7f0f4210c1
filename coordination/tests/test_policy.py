"""The policy table of 批分单 (coordination/policy.py) is complete: every state is reachable, every
transition records an event with a Chinese label, every event kind is recorded by a row or the
scan, every action but the opening has a service, and every audited action its label."""

from coordination import policy, services
from coordination.models import ProblemEventKind, ProblemState
from portal.audit_log import ACTION_LABELS


def test_every_state_is_reachable_from_the_opening_and_closed_is_the_only_final_state():
    reached, frontier = set(), [policy.rule(policy.Action.OPEN).target]
    while frontier:
        state = frontier.pop()
        if state in reached:
            continue
        reached.add(state)
        frontier += [r.target for r in policy.RULES if state in r.states]
    assert reached == set(ProblemState)
    assert policy.final_states() == [ProblemState.CLOSED]


def test_every_event_kind_is_recorded_by_a_row_or_the_scan_and_has_a_chinese_label():
    recorded = {r.event for r in policy.RULES} | set(policy.SCAN_EVENTS)
    assert recorded == set(ProblemEventKind)
    for kind in ProblemEventKind:
        assert kind.label and not kind.label.isascii()


def test_every_action_has_roles_a_label_a_service_and_an_audit_label():
    for rule in policy.RULES:
        assert rule.roles and rule.label and rule.description
        assert ACTION_LABELS[str(rule.action)]
        if rule.states:
            assert rule.action in services.SERVICES
        assert rule.target in ProblemState.values
