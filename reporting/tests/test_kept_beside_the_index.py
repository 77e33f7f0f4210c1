"""The figures the dashboard, the KPI answer and the brief read beside the statistics index — 一高一提一降
and 续贷 (the banks' monthly reports), 应续尽续 (renewal needs), 目标进度 (targets), 批分单 — are kept
while unchanged (reporting.selectors.kept_beside_the_index): a page opened again with nothing
written reads none of them, and every write of what they read is seen on the next read."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from coordination import services as problem_services
from coordination.factories import departments, open_problem
from entities import services as entity_services
from portal.factories import user_with_role
from portal.models import Role
from reporting import dashboard, selectors, services
from reporting.factories import REPORT_FIGURES
from reporting.models import Target, TargetMetric

pytestmark = pytest.mark.django_db

# the tables the kept figures read
BESIDE = ('"reporting_bankperiodreport"', '"entities_renewal"', '"reporting_target"', '"coordination_problem')


def _reads_beside(queries) -> list[str]:
    return [q["sql"][:160] for q in queries if any(table in q["sql"] for table in BESIDE) and "MAX(" not in q["sql"]]


def _this_year():
    return selectors.parse_query({"period": selectors.current_year_period()})


def _report(world, *, balance: int):
    services.bank_report_submit(
        actor=world.users["boc_admin"],
        branch_id=world.branches["boc"].pk,
        period=timezone.localdate().strftime("%Y-%m"),
        **{**REPORT_FIGURES, "small_business_balance": balance},
    )


def _renewal_need(world, name: str):
    """A customer's 50 万 loan due in 20 days, recorded as a renewal need at 中国银行."""
    entity, owner = world.entity(name=name)
    return entity_services.renewal_record(
        actor=owner,
        entity_id=entity.pk,
        amount=500_000,
        due_date=timezone.localdate() + dt.timedelta(days=20),
        bank_code="boc",
    )


def _target(*, value: int):
    """The city's 信用贷款占比 target for this year, set through the service."""
    services.target_set(
        actor=user_with_role(Role.PLATFORM_ADMIN),
        region_code="140500",
        year=timezone.localdate().year,
        metric=TargetMetric.CREDIT_LOAN_SHARE,
        value=value,
    )


def test_the_dashboard_opened_again_with_nothing_written_reads_none_of_them(world, client):
    # given a month's bank report, a renewal need, a target and a 批分单 of 泽州's city
    _report(world, balance=100_000_000)
    _renewal_need(world, "泽州县留存测试厂")
    _target(value=30)
    open_problem(world, departments(world))
    # and the city regulator's dashboard opened once
    client.force_login(world.users["city"])
    first = client.get("/reporting/", secure=True)
    assert first.status_code == 200 and "中国银行" in first.content.decode()
    # when he opens it again, nothing written in between
    with CaptureQueriesContext(connection) as queries:
        again = client.get("/reporting/", secure=True)
    # then the same page, and none of the reports, renewal needs, targets or 批分单 was read again
    assert again.status_code == 200
    assert _reads_beside(queries.captured_queries) == []
    assert again.content.decode().count("中国银行") == first.content.decode().count("中国银行")


def test_every_write_of_what_they_read_is_seen_on_the_next_read(world):
    """Given each figure read once (and kept), when each kind of write happens, then the next read
    has it: a report submitted (一高, 续贷), a renewal need recorded and its outcome (应续尽续), a target
    set through the service and edited on the admin site (目标进度), a 批分单 filled in and closed."""
    city = world.users["city"]
    q = _this_year  # as a page asks: the query of the moment it is opened
    assert selectors.renewals(city, q()) == [] and selectors.one_high(city, q())["latest"] is None

    _report(world, balance=100_000_000)
    assert selectors.one_high(city, q())["latest"]["small_business"] == 100_000_000
    assert [row["name"] for row in selectors.renewals(city, q())] == ["中国银行"]
    _report(world, balance=120_000_000)  # the month's figures resubmitted
    assert selectors.one_high(city, q())["latest"]["small_business"] == 120_000_000

    assert selectors.renewal_figures(city, q())["total"]["due_30"] == 0
    need = _renewal_need(world, "泽州县留存续贷厂")
    assert selectors.renewal_figures(city, q())["total"]["due_30"] == 1
    entity_services.renewal_outcome(actor=world.users["boc_manager"], renewal_id=need.pk, action="renew")
    figures = selectors.renewal_figures(city, q())["total"]
    assert (figures["due_30"], figures["renewed"], figures["renewed_amount"]) == (0, 1, 500_000)

    assert selectors.targets_progress(city, q()) == []
    _target(value=30)
    assert [t["target"] for t in selectors.targets_progress(city, q())] == [30.0]
    target = Target.objects.get(region_id="140500", metric=TargetMetric.CREDIT_LOAN_SHARE)
    target.value = 35  # as the admin site saves it: no service, no audit event, updated_at stamped
    target.save()
    assert [t["target"] for t in selectors.targets_progress(city, q())] == [35.0]

    assert dashboard.problem_figures_for(city, q())["total"] == 0
    found = departments(world)
    problem = open_problem(world, found)
    assert dashboard.problem_figures_for(city, q())["total"] == 1
    problem_services.problem_accept(actor=found.users["department"], problem_id=problem.pk)
    problem_services.problem_answer(actor=found.users["department"], problem_id=problem.pk, answer="已办结")
    problem_services.problem_close(actor=world.users["staff"], problem_id=problem.pk)
    figures = dashboard.problem_figures_for(city, q())
    assert (figures["total"], figures["closed"]) == (0, 1)


def test_each_user_keeps_his_own(world):
    # given the city regulator's 续贷 table with 中国银行's report
    _report(world, balance=100_000_000)
    q = _this_year()
    assert [row["name"] for row in selectors.renewals(world.users["city"], q)] == ["中国银行"]
    # then another city's regulator, asking the same question, gets his own (none), not the kept one
    other_city = user_with_role(Role.CITY_REGULATOR, region_code="140100")
    assert selectors.renewals(other_city, q) == []


def test_the_mark_is_read_once_per_page_of_figures():
    with CaptureQueriesContext(connection) as outside:
        selectors.writes_mark(), selectors.writes_mark()
    with selectors.one_data_version(), CaptureQueriesContext(connection) as inside:
        first, second = selectors.writes_mark(), selectors.writes_mark()
    assert (len(outside.captured_queries), len(inside.captured_queries), first) == (2, 1, second)
