"""Fixtures of the 大走访 tests: the 泽州 world with a running campaign of 晋城市."""

import pytest


@pytest.fixture
def cw(world):
    """A running campaign covering 泽州县, its targets built from the register (3 entities in 巴公镇
    and 大阳镇 and one revoked one), a 巴公镇 visitor and a 工商联 visitor in `cw.users`
    (campaigns.factories.campaign_world)."""
    from campaigns.factories import campaign_world

    return campaign_world(world)
