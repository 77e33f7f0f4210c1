import pytest

from workdays import CALENDAR_YEAR_ENTERED_HOOKS


@pytest.fixture
def entered_years():
    """A hook recording the years it is called with, removed after the test."""
    seen: list[int] = []
    CALENDAR_YEAR_ENTERED_HOOKS.append(seen.append)
    yield seen
    CALENDAR_YEAR_ENTERED_HOOKS.remove(seen.append)


@pytest.fixture
def platform_admin():
    from portal.factories import user_with_role
    from portal.models import Role

    return user_with_role(Role.PLATFORM_ADMIN)
