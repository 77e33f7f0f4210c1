"""目标进度 on the dashboard: each target's region came with it and the year's 一高 trend is read
once, however many targets the region has (it was read per target, the region too)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from portal.factories import user_with_role
from portal.models import Role
from reporting import selectors, services
from reporting.models import TargetMetric

pytestmark = pytest.mark.django_db


def _statements(user, q) -> tuple[int, list[dict]]:
    """Statements of the targets' progress once its cached figures are computed."""
    selectors.targets_progress(user, q)
    with CaptureQueriesContext(connection) as queries:
        progress = selectors.targets_progress(user, q)
    return len(queries.captured_queries), progress


def test_more_targets_read_no_more_statements(history):
    # given the city's year with one target that reads the 一高 trend and one that does not
    root = user_with_role(Role.PLATFORM_ADMIN)
    city = history.world.users["city"]
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
    # then all four are shown, each with its region's name, for one statement more (the net
    # increase's base month), not a region and a trend per target
    assert len(progress) == 4 and {t["region"] for t in progress} == {"晋城市"}
    assert many <= few + 1
