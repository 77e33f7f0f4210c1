"""The engine is pure Python: its tests run without Django (``-p no:django``).

The project's root conftest has autouse fixtures that need pytest-django's ``settings``;
these same-named no-op fixtures replace them for the tests in this directory only.
"""

import pytest


@pytest.fixture(autouse=True, scope="session")
def _fast_password_hasher():
    yield


@pytest.fixture(autouse=True)
def _plain_http_in_tests():
    yield


@pytest.fixture(autouse=True)
def _api_rates_for_tests():
    yield
