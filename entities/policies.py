"""The shipped 三型 policy (Shanxi), seeded by migration 0002 and again after a test flush."""

from __future__ import annotations

from django.apps import apps as global_apps

from entities.classification import SHANXI_DEFAULT_POLICY, policy_to_dict


def seed_default_tier_policy(apps=None) -> int:
    """Create Shanxi's default policy if missing (an administrator's edits are kept)."""
    registry = apps or global_apps
    Region = registry.get_model("portal", "Region")
    TierPolicy = registry.get_model("entities", "TierPolicy")
    if not Region.objects.filter(code=SHANXI_DEFAULT_POLICY.province_code).exists():
        return 0
    data = policy_to_dict(SHANXI_DEFAULT_POLICY)
    _, created = TierPolicy.objects.get_or_create(
        province_id=data.pop("province_code"),
        effective_from=data.pop("effective_from"),
        defaults={"policy": data, "note": SHANXI_DEFAULT_POLICY.source},
    )
    return int(created)
