"""A page of figures reads the statistics index's data version once (selectors.one_data_version):
the dashboard, the KPI API and the brief read a dozen cached parts together, and each part had
read the version for itself (three to five statements apiece)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from matching import services as matching_services
from reporting import selectors

pytestmark = pytest.mark.django_db


def _version_reads(queries) -> int:
    return sum("FROM reporting_factwatermark WHERE name = 'ledger') AS ledger_mark" in q["sql"] for q in queries)


def _declare(world):
    """A write the figures count: a new entity's declaration, filed by the county's staff."""
    entity, _ = world.entity(with_user=False)
    matching_services.declaration_create(
        actor=world.users["staff"],
        entity_id=entity.pk,
        amount=100_000,
        term_months=12,
        purpose="进货",
        bank_codes=["boc"],
    )


@pytest.mark.parametrize("url", ["/reporting/", "/api/v1/kpis/", "/reporting/brief/"])
def test_a_page_of_figures_reads_the_data_version_once(world, client, url):
    # given the city regulator, whose figures were computed once already
    client.force_login(world.users["city"])
    assert client.get(url, secure=True).status_code == 200
    # when he opens the page again, and again after the figures' sources changed
    for _ in range(2):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url, secure=True)
        # then the version was read once for the whole page
        assert response.status_code == 200
        assert _version_reads(queries.captured_queries) == 1
        _declare(world)


def test_the_pinned_version_is_the_current_one_and_ends_with_its_block(world):
    # given a version pinned around a block
    with selectors.one_data_version() as version:
        # then the block reads that version, and a nested block keeps it
        assert selectors.data_version() == version
        with selectors.one_data_version() as inner:
            assert inner == version
        # even after a write inside (the block's rule: nothing in it writes what it reads)
        _declare(world)
        assert selectors.data_version() == version
    # and after the block, the version is read afresh and has moved with the write
    assert selectors.data_version() != version
