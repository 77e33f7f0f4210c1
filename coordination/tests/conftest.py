"""Fixtures of the 批分单 tests: the 泽州 world with the mechanism's departments."""

import pytest


@pytest.fixture
def depts(world):
    """The 泽州 world's departments (county ×2, city, province) and their staff, a city convener
    and a provincial regulator (coordination.factories.departments)."""
    from coordination.factories import departments

    return departments(world)
