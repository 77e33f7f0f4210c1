"""Test factories of the tenancy model (used across apps' tests)."""

import datetime as dt

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from portal.models import ApiToken, Membership, Organisation, OrganisationKind, Region, Role
from portal.tokens import _new_key, digest_of

TEST_PASSWORD = "Test-password-2026"


def region(code: str) -> Region:
    return Region.objects.get(code=code)


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation

    name = factory.Sequence(lambda n: f"测试机构{n}")
    kind = OrganisationKind.TASK_FORCE
    region = factory.LazyFunction(lambda: region("140525"))
    parent = None


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Sequence(lambda n: f"用户{n}")
    password = factory.PostGenerationMethodCall("set_password", TEST_PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    organisation = factory.SubFactory(OrganisationFactory)
    role = Role.TASK_FORCE_STAFF
    is_primary = True


# the organisation kind and region each role is created with by `user_with_role`
ROLE_HOME = {
    Role.ENTERPRISE_USER: (OrganisationKind.ENTERPRISE, "140525"),
    Role.TASK_FORCE_STAFF: (OrganisationKind.TASK_FORCE, "140525"),
    Role.TASK_FORCE_BANK_REVIEWER: (OrganisationKind.TASK_FORCE, "140525"),
    Role.TASK_FORCE_LEAD: (OrganisationKind.TASK_FORCE, "140525"),
    Role.CONVENER: (OrganisationKind.COUNTY_MECHANISM, "140525"),
    Role.CITY_REGULATOR: (OrganisationKind.CITY_MECHANISM, "140500"),
    Role.PROVINCE_REGULATOR: (OrganisationKind.PROVINCE_MECHANISM, "140000"),
    Role.BANK_ADMIN: (OrganisationKind.BANK_BRANCH, "140500"),
    Role.ACCOUNT_MANAGER: (OrganisationKind.BANK_BRANCH, "140525"),
    Role.PLATFORM_ADMIN: (OrganisationKind.PLATFORM, None),
    Role.DEPARTMENT_STAFF: (OrganisationKind.DEPARTMENT, "140525"),
    Role.VISITOR: (OrganisationKind.TOWNSHIP, "140525"),
}


def user_with_role(
    role: str, *, organisation: Organisation | None = None, region_code: str | None = None, **user_kwargs
):
    kind, default_region = ROLE_HOME[Role(role)]
    if organisation is None:
        code = region_code or default_region
        organisation = OrganisationFactory(kind=kind, region=region(code) if code else None)
    membership = MembershipFactory(
        organisation=organisation, role=role, **{f"user__{k}": v for k, v in user_kwargs.items()}
    )
    return membership.user


def api_token(user, *, name: str = "测试系统", days: int = 30) -> str:
    """An API token acting as `user` (any role: the API tests call as every role), its key.
    The portal itself issues tokens only to bank administrators (portal.tokens.api_token_issue)."""
    prefix, key = _new_key()
    ApiToken.objects.create(
        user=user, name=name, prefix=prefix, digest=digest_of(key), expires_at=timezone.now() + dt.timedelta(days=days)
    )
    return key
