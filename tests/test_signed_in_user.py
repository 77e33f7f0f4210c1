"""The session's user is read with his scope in one statement (portal.authentication,
tenancy.signed_in_user)."""

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from portal.factories import ROLE_HOME, TEST_PASSWORD, MembershipFactory, OrganisationFactory, UserFactory, region
from portal.models import Membership, OrganisationKind, Role
from portal.tenancy import scope_for, signed_in_user

User = get_user_model()


def _classic_scope(user_id):
    """The scope as `scope_for` reads it for a user loaded on his own."""
    return scope_for(User.objects.get(pk=user_id))


@pytest.mark.django_db
@pytest.mark.parametrize("role", sorted(ROLE_HOME))
def test_every_role_gets_the_scope_scope_for_reads(role):
    # given a user of the role in its usual organisation
    kind, code = ROLE_HOME[role]
    membership = MembershipFactory(
        role=role, organisation=OrganisationFactory(kind=kind, region=region(code) if code else None)
    )
    # when the session's user is read
    user = signed_in_user(membership.user_id)
    # then it is the user, with the very scope scope_for reads, and no membership attribute left
    assert user == membership.user and user.username == membership.user.username
    assert user._portal_scope == _classic_scope(user.pk)
    assert scope_for(user).role == role
    # every column loaded and converted as the ORM does (dates are datetimes on SQLite too)
    loaded = User.objects.get(pk=user.pk)
    assert not user.get_deferred_fields() and user._state.db == loaded._state.db and not user._state.adding
    assert [getattr(user, f.attname) for f in User._meta.concrete_fields] == [
        getattr(loaded, f.attname) for f in User._meta.concrete_fields
    ]


@pytest.mark.django_db
def test_the_primary_membership_wins_else_the_first():
    # given a user with two memberships, the second of them primary
    user = UserFactory()
    county = OrganisationFactory(kind=OrganisationKind.TASK_FORCE, region=region("140525"))
    city = OrganisationFactory(kind=OrganisationKind.CITY_MECHANISM, region=region("140500"))
    first = MembershipFactory(user=user, organisation=county, role=Role.TASK_FORCE_STAFF, is_primary=False)
    MembershipFactory(user=user, organisation=city, role=Role.CITY_REGULATOR, is_primary=True)
    # then the primary one is his scope, as scope_for has it
    scope = signed_in_user(user.pk)._portal_scope
    assert (scope.role, scope.region_prefix) == (Role.CITY_REGULATOR, "1405")
    assert scope == _classic_scope(user.pk)
    # and with none primary, the first
    Membership.objects.filter(user=user).update(is_primary=False)
    scope = signed_in_user(user.pk)._portal_scope
    assert scope.membership_id == first.pk and scope == _classic_scope(user.pk)


@pytest.mark.django_db
def test_users_without_a_membership_and_unknown_ids():
    # given a superuser and a plain user, neither a member of anything
    superuser = UserFactory(is_superuser=True, is_staff=True)
    plain = UserFactory()
    # then the superuser acts as a platform administrator, the plain user as nobody
    assert signed_in_user(superuser.pk)._portal_scope.is_platform_admin
    assert signed_in_user(superuser.pk)._portal_scope == _classic_scope(superuser.pk)
    assert signed_in_user(plain.pk)._portal_scope.role is None
    assert signed_in_user(plain.pk)._portal_scope == _classic_scope(plain.pk)
    # and an id nobody has gives nobody
    assert signed_in_user(10**9) is None


def _sign_in(client, username):
    response = client.post(reverse("login"), {"username": username, "password": TEST_PASSWORD}, secure=True)
    assert response.status_code == 302, response.content[:500]


@pytest.mark.django_db
def test_a_signed_in_request_reads_user_and_membership_once(client):
    # given a staff member signed in through the login form
    membership = MembershipFactory(role=Role.TASK_FORCE_STAFF)
    _sign_in(client, membership.user.username)
    # when he opens a page
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("matching:notification_list"), secure=True)
    # then the page answers for him, his scope came with him (one statement), and nothing read
    # his membership apart
    assert response.status_code == 200
    assert response.wsgi_request.user.pk == membership.user_id
    statements = [q["sql"] for q in queries.captured_queries]
    assert sum("ORDER BY m2" in sql for sql in statements) == 1
    membership_table = Membership._meta.db_table
    assert not [sql for sql in statements if sql.startswith(f'SELECT "{membership_table}"."id", "{membership_table}"')]


@pytest.mark.django_db
def test_a_deactivated_user_is_signed_out_at_his_next_request(client):
    # given a signed-in account manager
    membership = MembershipFactory(
        role=Role.ACCOUNT_MANAGER, organisation=OrganisationFactory(kind=OrganisationKind.BANK_BRANCH)
    )
    _sign_in(client, membership.user.username)
    assert client.get(reverse("matching:notification_list"), secure=True).status_code == 200
    # when his account is deactivated
    User.objects.filter(pk=membership.user_id).update(is_active=False)
    # then his next request is sent to the login page
    response = client.get(reverse("matching:notification_list"), secure=True)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


@pytest.mark.django_db
def test_the_home_header_names_the_organisation_he_acts_for(client):
    # given a user whose primary membership is his second one (a city mechanism)
    user = UserFactory()
    county = OrganisationFactory(kind=OrganisationKind.TASK_FORCE, region=region("140525"), name="甲县工作专班")
    city = OrganisationFactory(kind=OrganisationKind.CITY_MECHANISM, region=region("140500"), name="乙市协调机制")
    MembershipFactory(user=user, organisation=county, role=Role.TASK_FORCE_STAFF, is_primary=False)
    MembershipFactory(user=user, organisation=city, role=Role.CITY_REGULATOR, is_primary=True)
    _sign_in(client, user.username)
    # when he opens his home page
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("home"), secure=True)
    # then its header names the organisation he acts for (his scope's), not his first membership's,
    # and no statement read his memberships or organisations apart for it
    assert response.status_code == 200
    header = response.content.decode().split('data-testid="home-title"', 1)[1].split("</div>", 2)[0]
    assert "乙市协调机制" in header and "甲县工作专班" not in header
    membership_table = Membership._meta.db_table
    assert not [q for q in queries.captured_queries if q["sql"].startswith(f'SELECT "{membership_table}"."id"')]
