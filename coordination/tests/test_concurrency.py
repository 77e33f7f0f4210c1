"""Two people acting on one 批分单 at the same moment (real PostgreSQL transactions)."""

import pytest

from coordination import services as s
from coordination.factories import open_problem
from coordination.models import ProblemState
from portal.factories import user_with_role
from portal.models import Role

pytestmark = pytest.mark.django_db(transaction=True)


def test_two_staff_of_one_department_accepting_and_answering_at_once_act_once(world, depts, run_together):
    # given a routed problem and two staff members of its department
    problem = open_problem(world, depts)
    first = depts.users["department"]
    second = user_with_role(Role.DEPARTMENT_STAFF, organisation=depts.county, username="pf-dept-2")
    # when both accept at the same moment
    outcomes = run_together(
        lambda: s.problem_accept(actor=first, problem_id=problem.pk),
        lambda: s.problem_accept(actor=second, problem_id=problem.pk),
    )
    # then one accepts it and the other is told its state moved on
    assert sorted(o[0] for o in outcomes) == ["ok", "refused"]
    assert any("当前状态不能受理批分单(当前状态: 部门办理中)" in str(o[1]) for o in outcomes)
    problem.refresh_from_db()
    assert problem.state == ProblemState.ACCEPTED
    assert problem.events.filter(kind="accepted").count() == 1


def test_a_convener_agreeing_while_the_staff_route_elsewhere_one_wins(world, depts, run_together):
    problem = open_problem(world, depts)
    s.problem_return(actor=depts.users["department"], problem_id=problem.pk, reason="不属于本局")
    s.problem_propose_escalation(actor=world.users["staff"], problem_id=problem.pk, reason="不属于县级事权")
    outcomes = run_together(
        lambda: s.problem_approve_escalation(actor=world.users["convener"], problem_id=problem.pk),
        lambda: s.problem_refuse_escalation(actor=world.users["convener"], problem_id=problem.pk, reason="不同意"),
    )
    assert sorted(o[0] for o in outcomes) == ["ok", "refused"]
    problem.refresh_from_db()
    assert problem.state in (ProblemState.ESCALATED, ProblemState.RETURNED)
    assert problem.events.filter(kind__in=["escalation_approved", "escalation_refused"]).count() == 1
