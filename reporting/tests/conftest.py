import pytest


@pytest.fixture
def history(db, committed):
    from reporting.tests.history import build_history

    # written through the services and committed: the writes sync the statistics index
    with committed():
        return build_history()


@pytest.fixture
def march():
    """The query of March 2026 as of its last day, as the system sees it."""
    from reporting import selectors

    return selectors.parse_query({"period": "2026-03", "as_of": "2026-03-31"})


def read_xlsx(content: bytes):
    import io

    from openpyxl import load_workbook

    return load_workbook(io.BytesIO(content), data_only=True).active
