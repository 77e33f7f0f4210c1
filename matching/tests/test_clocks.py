"""Deadline clocks on the Chinese working-day calendar, with the clock frozen (time-machine)."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from matching import services as s
from matching.clocks import countdown, deadline_scan, schedule
from matching.factories import push_one
from matching.models import ClockKind, ClockState, DeadlineClock, Notification, Recommendation, WorkflowEvent
from portal.factories import user_with_role
from portal.models import Role

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")


def at(y, m, d, h=10, minute=0):
    return dt.datetime(y, m, d, h, minute, tzinfo=SH)


def test_feedback_clock_over_national_day_2025():
    # given a push on 2025-09-30 (Oct 1-8 off, Sat Oct 11 an adjusted working day)
    plan = schedule(ClockKind.FEEDBACK, at(2025, 9, 30))
    # then 5 working days end on Tue 2025-10-14, the reminder is on Mon 10-13, escalation 5 working days later
    assert plan["due_at"].date() == dt.date(2025, 10, 14)
    assert plan["remind_at"] == at(2025, 10, 13, 0)
    assert plan["escalate_at"].date() == dt.date(2025, 10, 21)
    assert not plan["provisional"]


def test_feedback_clock_over_spring_festival_2026():
    # 2026 Spring Festival: Feb 15-23 off, Sat Feb 14 and Sat Feb 28 adjusted working days
    plan = schedule(ClockKind.FEEDBACK, at(2026, 2, 12))
    # 13 Fri(1), 14 Sat(2), 24 Tue(3), 25(4), 26(5)
    assert plan["due_at"].date() == dt.date(2026, 2, 26)


def test_decision_clock_is_30_calendar_days():
    plan = schedule(ClockKind.DECISION, at(2026, 9, 20))
    assert plan["due_at"].date() == dt.date(2026, 10, 20)


def test_a_due_date_in_an_unknown_year_is_provisional_and_shown_as_such():
    # given a push on 2026-12-28: the 5th working day falls in 2027, not yet in the calendar
    plan = schedule(ClockKind.FEEDBACK, at(2026, 12, 28))
    assert plan["provisional"] and plan["due_at"].date() == dt.date(2027, 1, 4)
    clock = DeadlineClock(kind=ClockKind.FEEDBACK, state=ClockState.RUNNING, started_at=at(2026, 12, 28), **plan)
    label, css = countdown(clock, now=at(2026, 12, 29))
    assert "暂定" in label


def test_entering_the_missing_year_recomputes_provisional_clocks(world):
    # given a recommendation pushed on 2026-12-28 with a provisional due date
    rec, _ = push_one(world, at(2026, 12, 28))
    clock = DeadlineClock.objects.get(recommendation=rec, kind=ClockKind.FEEDBACK)
    assert clock.provisional
    # when the administrator enters 2027 with 元旦 Jan 1-3 and a made-up holiday on Jan 4
    from matching.clocks import recompute_provisional
    from workdays.services import calendar_year_enter

    admin = user_with_role(Role.PLATFORM_ADMIN)
    calendar_year_enter(actor=admin, year=2027, text="2027-01-01..2027-01-03 元旦\n2027-01-04 测试假日")
    recompute_provisional(2027)
    clock = DeadlineClock.objects.get(pk=clock.pk)
    # then the due date moves past the holidays and is no longer provisional:
    # 12-29 (1), 12-30 (2), 12-31 (3), Jan 1-4 off, 01-05 (4), 01-06 (5)
    assert not clock.provisional and clock.due_at.astimezone(SH).date() == dt.date(2027, 1, 6)


def test_full_lifecycle_reminder_overdue_escalation_across_a_holiday(world):
    # given a push on Tue 2025-09-30, due Tue 2025-10-14
    rec, enterprise_user = push_one(world, at(2025, 9, 30))
    s.recommendations_assign(
        actor=world.users["boc_admin"], recommendation_ids=[rec.pk], manager_id=world.users["boc_manager"].pk
    )
    manager, admin, staff, city = (
        world.users["boc_manager"],
        world.users["boc_admin"],
        world.users["staff"],
        world.users["city"],
    )

    # when the scan runs during the holiday, nothing happens
    scan = deadline_scan(now=at(2025, 10, 8))
    assert (scan.reminders, scan.overdue, scan.escalations) == (0, 0, 0)
    # on Mon 10-13 the manager and the branch administrator are reminded, once
    scan = deadline_scan(now=at(2025, 10, 13, 9))
    assert scan.reminders == 1
    assert deadline_scan(now=at(2025, 10, 13, 9, 5)).reminders == 0
    assert Notification.objects.filter(recipient=manager, title__contains="时限将到").count() == 1
    assert Notification.objects.filter(recipient=admin, title__contains="时限将到").count() == 1
    # still due on 10-14 at 23:00; overdue on Wed 10-15
    assert deadline_scan(now=at(2025, 10, 14, 23)).overdue == 0
    assert deadline_scan(now=at(2025, 10, 15, 9)).overdue == 1
    clock = DeadlineClock.objects.get(recommendation=rec, kind=ClockKind.FEEDBACK)
    assert clock.state == ClockState.OVERDUE
    assert countdown(clock, now=at(2025, 10, 17))[0] == "已逾期 3 天"
    assert Notification.objects.filter(recipient=staff, title__contains="已逾期").count() == 1
    assert Notification.objects.filter(recipient=admin, title__contains="已逾期").count() == 1
    # and 5 working days after due (Tue 10-21) the city mechanism is told, once
    assert deadline_scan(now=at(2025, 10, 21, 9)).escalations == 0
    assert deadline_scan(now=at(2025, 10, 22, 9)).escalations == 1
    assert deadline_scan(now=at(2025, 10, 23, 9)).escalations == 0
    assert Notification.objects.filter(recipient=city, title__contains="升级督办").count() == 1
    # every reminder and escalation is on the recommendation's timeline
    kinds = list(
        WorkflowEvent.objects.filter(recommendation=rec, kind__startswith="clock.").values_list("kind", flat=True)
    )
    assert kinds == ["clock.reminder", "clock.overdue", "clock.escalated"]
    # a late contact satisfies the clock (late), and the decision clock starts at materials complete
    with time_machine.travel(at(2025, 10, 23, 10), tick=False):
        s.recommendation_contact(actor=manager, recommendation_id=rec.pk)
        s.recommendation_materials_complete(actor=manager, recommendation_id=rec.pk)
    clock = DeadlineClock.objects.get(pk=clock.pk)
    assert clock.state == ClockState.SATISFIED and clock.is_late
    decision = DeadlineClock.objects.get(recommendation=rec, kind=ClockKind.DECISION)
    assert decision.due_at.astimezone(SH).date() == dt.date(2025, 11, 22)


def test_contact_in_time_satisfies_the_clock_and_nothing_is_sent(world):
    rec, _ = push_one(world, at(2026, 3, 2))
    with time_machine.travel(at(2026, 3, 3), tick=False):
        s.recommendation_contact(actor=world.users["boc_admin"], recommendation_id=rec.pk)
    scan = deadline_scan(now=at(2026, 4, 30))
    assert (scan.reminders, scan.overdue, scan.escalations) == (0, 0, 0)
    assert DeadlineClock.objects.get(recommendation=rec).state == ClockState.SATISFIED


def test_removal_stops_the_clock_and_an_edit_never_resets_it(world):
    rec, _ = push_one(world, at(2026, 3, 2))
    clock = DeadlineClock.objects.get(recommendation=rec)
    due = clock.due_at
    # an assignment (an edit of the lead) does not move the due date
    with time_machine.travel(at(2026, 3, 4), tick=False):
        s.recommendations_assign(
            actor=world.users["boc_admin"], recommendation_ids=[rec.pk], manager_id=world.users["boc_manager"].pk
        )
    assert DeadlineClock.objects.get(pk=clock.pk).due_at == due
    with time_machine.travel(at(2026, 3, 5), tick=False):
        s.recommendation_remove(actor=world.users["convener"], recommendation_id=rec.pk, reason="提供虚假材料")
    assert DeadlineClock.objects.get(pk=clock.pk).state == ClockState.STOPPED
    assert not DeadlineClock.objects.get(pk=clock.pk).is_late  # removed before it was due
    assert deadline_scan(now=at(2026, 4, 1)).overdue == 0


def test_a_lead_removed_after_its_feedback_was_overdue_stays_late_in_the_ledger(world):
    # given a lead whose feedback clock ran out (pushed Mon 03-02, due Mon 03-09)
    from matching.clocks import overdue_flags

    rec, _ = push_one(world, at(2026, 3, 2))
    deadline_scan(now=at(2026, 3, 11))
    assert DeadlineClock.objects.get(recommendation=rec, kind=ClockKind.FEEDBACK).state == ClockState.OVERDUE
    # when the convener removes it from the list afterwards
    with time_machine.travel(at(2026, 3, 12), tick=False):
        s.recommendation_remove(actor=world.users["convener"], recommendation_id=rec.pk, reason="提供虚假材料")
    # then its clock is stopped but still counted late, as the KPIs count it
    clock = DeadlineClock.objects.get(recommendation=rec, kind=ClockKind.FEEDBACK)
    assert clock.state == ClockState.STOPPED and clock.is_late
    assert overdue_flags(Recommendation.objects.prefetch_related("clocks").get(pk=rec.pk))["feedback_overdue"] is True


def test_decline_satisfies_both_clocks(world):
    rec, _ = push_one(world, at(2026, 3, 2))
    admin = world.users["boc_admin"]
    with time_machine.travel(at(2026, 3, 3), tick=False):
        s.recommendation_contact(actor=admin, recommendation_id=rec.pk)
        s.recommendation_materials_complete(actor=admin, recommendation_id=rec.pk)
        s.recommendation_decline(actor=admin, recommendation_id=rec.pk, reason_code="high_debt")
    assert set(DeadlineClock.objects.filter(recommendation=rec).values_list("state", flat=True)) == {
        ClockState.SATISFIED
    }


def test_countdown_labels_in_working_days():
    plan = schedule(ClockKind.FEEDBACK, at(2025, 9, 30))
    clock = DeadlineClock(kind=ClockKind.FEEDBACK, state=ClockState.RUNNING, started_at=at(2025, 9, 30), **plan)
    assert countdown(clock, now=at(2025, 10, 10))[0] == "剩余 3 个工作日"  # 11 Sat(adj), 13 Mon, 14 Tue
    assert countdown(clock, now=at(2025, 10, 14))[0] == "今日到期"


def test_the_scan_enqueues_its_e_mails_under_the_task_s_registered_name():
    # the clocks module enqueues by name (matching.tasks imports clocks, not the other way round)
    from celery import current_app

    from matching import clocks, tasks

    assert current_app.tasks[clocks.SEND_EMAILS_TASK] == tasks.send_notification_emails
