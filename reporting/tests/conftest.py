import io

import pytest
from openpyxl import load_workbook

from reporting import selectors
from reporting.factories import build_history, build_overdue, build_two_banks


@pytest.fixture
def history(db, committed):
    """The hand-built history of 泽州县 in March 2026 (reporting.factories.build_history),
    written through the services and committed: the writes sync the statistics index."""
    with committed():
        return build_history()


@pytest.fixture
def march():
    """The query of March 2026 as of its last day, as the system sees it."""
    return selectors.parse_query({"period": "2026-03", "as_of": "2026-03-31"})


@pytest.fixture
def read_xlsx():
    """The first sheet of an exported workbook (values, not formulas): `read_xlsx(content)`."""

    def read(content: bytes):
        return load_workbook(io.BytesIO(content), data_only=True).active

    return read


@pytest.fixture
def two_banks(db, committed):
    """The case of an entity pushed to two banks and re-recommended to a third, beside an
    entity with two needs at one bank (reporting.factories.build_two_banks), written through
    the services and committed: the writes sync the statistics index."""
    with committed():
        return build_two_banks()


@pytest.fixture
def overdue_world(world):
    """The 泽州 world with what 逾期督办 counts (reporting.factories.build_overdue): two leads of
    中国银行泽州支行 whose 5-working-day feedback ran out unanswered and one 批分单 of the county's
    自然资源局 past its due date; the departments' users in `world.users` (coordination.factories)."""
    return build_overdue(world)
