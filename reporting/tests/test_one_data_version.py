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


def _bank_reads(queries) -> int:
    return sum('FROM "products_bank"' in q["sql"] for q in queries)


def _pushed_and_counted(world):
    """A lead pushed to two banks, in the statistics index: the figures name banks."""
    from matching.factories import pushed
    from reporting import facts

    pushed(world, banks=("boc", "ccb"))
    facts.sync()


def test_inside_a_page_of_figures_the_banks_are_read_once(world):
    """The banks' names and codes (ranking, 续贷, 直接申请) are read once per page of figures
    (selectors.bank_directory inside one_data_version): they were read once per part, six times
    on the dashboard of the demo data."""
    from products.models import Bank

    banks = list(Bank.objects.order_by("code"))
    ids = [bank.pk for bank in banks]
    # given names and codes asked for three times outside a page: read each time
    with CaptureQueriesContext(connection) as outside:
        selectors.bank_names(ids), selectors.bank_codes(ids), selectors.bank_names(ids[:1])
    assert _bank_reads(outside.captured_queries) == 3
    # when they are asked for inside a page of figures
    with selectors.one_data_version(), CaptureQueriesContext(connection) as inside:
        names, codes, first = selectors.bank_names(ids), selectors.bank_codes(ids), selectors.bank_names(ids[:1])
    # then the banks were read once, and each answer is the table's
    assert _bank_reads(inside.captured_queries) == 1
    assert names == {str(bank.pk): bank.name for bank in banks} and first == {str(ids[0]): banks[0].name}
    assert codes == {bank.pk: bank.code for bank in banks}
    # and nothing is read for no banks at all
    with selectors.one_data_version(), CaptureQueriesContext(connection) as none:
        assert selectors.bank_names([]) == {} and selectors.bank_codes([]) == {}
    assert _bank_reads(none.captured_queries) == 0


def _bank_group_names(client) -> list[str]:
    answer = client.get("/api/v1/kpis/?by=bank", secure=True)
    assert answer.status_code == 200, answer.content
    return [group["name"] for group in answer.json()["groups"]["bank"]]


def test_a_bank_renamed_is_named_anew_on_the_next_page(world, client):
    # given the KPI answer naming the banks of a pushed lead
    _pushed_and_counted(world)
    client.force_login(world.users["city"])
    assert "中国银行" in _bank_group_names(client)
    # when a bank is renamed
    from products.models import Bank

    Bank.objects.filter(code="boc").update(name="中国银行山西省分行")
    # then the next answer names it anew (nothing is kept beyond a page)
    assert "中国银行山西省分行" in _bank_group_names(client)
