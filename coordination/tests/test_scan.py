"""The escalation scan of 批分单: overdue items are marked and escalated, once (seed
004_b2811ebd7ee390f8.txt 二(七): "转交相关部门协调解决 … 加快办理"; issue 17: "overdue items escalate")."""

import datetime as dt

import pytest

from coordination import services as s
from coordination.factories import open_problem
from coordination.models import ProblemEvent
from coordination.scan import problem_scan
from matching.models import Notification

pytestmark = pytest.mark.django_db


def test_an_overdue_problem_is_marked_at_due_and_escalated_to_the_convener_once_even_when_run_twice(world, depts):
    # given a problem routed to the county's 自然资源局, and another one already answered
    problem = open_problem(world, depts)
    answered = open_problem(world, depts, description="已答复的问题")
    s.problem_answer(actor=depts.users["department"], problem_id=answered.pk, answer="已办理")

    # when the scan runs before the due moment: nothing
    assert problem_scan(problem.due_at - dt.timedelta(minutes=1)).overdue == 0

    # when it runs twice after the due moment
    after_due = problem.due_at + dt.timedelta(minutes=1)
    first, second = problem_scan(after_due), problem_scan(after_due)
    # then the problem is marked overdue once, the answered one never
    assert (first.overdue, second.overdue) == (1, 0)
    assert ProblemEvent.objects.filter(kind="overdue").values_list("problem_id", flat=True).get() == problem.pk
    # and the department and the task force are told once each
    overdue_notes = Notification.objects.filter(title__contains="已逾期")
    assert set(overdue_notes.values_list("recipient__username", flat=True)) == {"pf-dept", "wf-staff", "wf-lead"}
    assert overdue_notes.count() == 3

    # when the scan runs twice after the escalation moment
    late = problem.escalate_at + dt.timedelta(minutes=1)
    assert [problem_scan(late).escalations, problem_scan(late).escalations] == [1, 0]
    # then the convener is told once
    escalated = Notification.objects.filter(title__contains="逾期未办升级督办", recipient=world.users["convener"])
    assert escalated.count() == 1
    assert ProblemEvent.objects.filter(kind="overdue_escalated").count() == 1


def test_a_problem_routed_anew_after_it_ran_late_has_a_fresh_deadline(world, depts):
    problem = open_problem(world, depts)
    problem_scan(problem.due_at + dt.timedelta(minutes=1))
    s.problem_return(actor=depts.users["department"], problem_id=problem.pk, reason="不属于本局")
    problem = s.problem_reroute(
        actor=world.users["staff"], problem_id=problem.pk, department_id=depts.county_other.pk, due_working_days=5
    )
    # the new routing clears the claims: the scan will mark it again only after its new due moment
    assert problem.overdue_at is None and problem.escalated_at is None
    assert problem_scan(problem.due_at - dt.timedelta(minutes=1)).overdue == 0
