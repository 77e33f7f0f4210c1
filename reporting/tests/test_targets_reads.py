"""目标进度 on the dashboard: each target's region came with it and the year's 一高 trend is read
once, however many targets the region has (it was read per target, the region too)."""

import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from portal.factories import user_with_role
from portal.models import Role
from reporting import selectors, services
from reporting.factories import REPORT_FIGURES
from reporting.models import TargetMetric

pytestmark = pytest.mark.django_db


LAST: list[dict] = []


def _statements(user, q) -> tuple[int, list[dict]]:
    """Statements of computing the targets' progress once its cached figures are computed, on a
    page of figures (the dashboard's: one data version), the progress itself not kept (as after
    a write: selectors.kept_beside_the_index)."""
    selectors.targets_progress(user, q)
    with CaptureQueriesContext(connection) as queries, selectors.one_data_version():
        progress = selectors._targets_progress(user, q, None)
    LAST[:] = queries.captured_queries
    return len(queries.captured_queries), progress


def test_more_targets_read_no_more_statements(history):
    # given the city's year with one target that reads the 一高 trend and one that does not
    root = user_with_role(Role.PLATFORM_ADMIN)
    city = history.world.users["city"]
    # and the banks' reports of the previous year-end and of March (the trend and its base)
    admin, branch = history.world.users["boc_admin"], history.world.branches["boc"]
    with time_machine.travel(dt.datetime(2026, 3, 31, 12, tzinfo=dt.UTC), tick=False):
        for period, balance in (("2025-12", 100_000_000), ("2026-03", 112_000_000)):
            services.bank_report_submit(
                actor=admin,
                branch_id=branch.pk,
                period=period,
                **{**REPORT_FIGURES, "small_business_balance": balance},
            )
    q = selectors.parse_query({"period": "2026", "as_of": "2026-03-31"})
    services.target_set(actor=root, region_code="140500", year=2026, metric=TargetMetric.CREDIT_LOAN_SHARE, value=30)
    services.target_set(actor=root, region_code="140500", year=2026, metric=TargetMetric.CREDITED_AMOUNT, value=10**6)
    few, progress = _statements(city, q)
    assert {t["metric"] for t in progress} == {TargetMetric.CREDIT_LOAN_SHARE, TargetMetric.CREDITED_AMOUNT}
    # when the other two metrics get targets too
    services.target_set(
        actor=root, region_code="140500", year=2026, metric=TargetMetric.SME_NET_INCREASE, value=20_000_000
    )
    services.target_set(actor=root, region_code="140500", year=2026, metric=TargetMetric.DISBURSED_AMOUNT, value=10**6)
    many, progress = _statements(city, q)
    # then all four are shown, each with its region's name, for no statement more: not a region
    # and a trend per target, nor the net increase's base month apart (it is the trend's base)
    assert len(progress) == 4 and {t["region"] for t in progress} == {"晋城市"}
    (net,) = [t for t in progress if t["metric"] == TargetMetric.SME_NET_INCREASE]
    assert net["actual"] == 12_000_000  # 11,200 万 in March less 10,000 万 at the year-end
    assert many == few, "\n".join(q["sql"][:150] for q in LAST)
