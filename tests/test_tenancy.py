import pytest
from django.core.exceptions import ImproperlyConfigured

from portal.factories import OrganisationFactory, region, user_with_role
from portal.models import AuditEvent, Organisation, OrganisationKind, Role
from portal.services import audit_record
from portal.tenancy import restrict

pytestmark = pytest.mark.django_db


def _tree():
    province = OrganisationFactory(kind=OrganisationKind.PROVINCE_MECHANISM, region=region("140000"), name="省机制")
    jincheng = OrganisationFactory(
        kind=OrganisationKind.CITY_MECHANISM, region=region("140500"), parent=province, name="晋城机制"
    )
    zezhou = OrganisationFactory(
        kind=OrganisationKind.TASK_FORCE, region=region("140525"), parent=jincheng, name="泽州专班"
    )
    datong = OrganisationFactory(
        kind=OrganisationKind.CITY_MECHANISM, region=region("140200"), parent=province, name="大同机制"
    )
    bank = OrganisationFactory(kind=OrganisationKind.BANK, region=region("140000"), name="中行山西")
    branch = OrganisationFactory(
        kind=OrganisationKind.BANK_BRANCH, region=region("140500"), parent=bank, name="中行晋城"
    )
    sub_branch = OrganisationFactory(
        kind=OrganisationKind.BANK_BRANCH, region=region("140525"), parent=branch, name="中行泽州"
    )
    other_branch = OrganisationFactory(
        kind=OrganisationKind.BANK_BRANCH, region=region("140200"), parent=bank, name="中行大同"
    )
    return locals()


def test_organisation_paths_nest():
    tree = _tree()
    assert tree["sub_branch"].path.startswith(tree["branch"].path)
    assert list(tree["sub_branch"].ancestors()) == [tree["bank"], tree["branch"], tree["sub_branch"]]


def test_a_city_regulator_sees_its_region_and_not_another_city():
    # given a Jincheng regulator
    tree = _tree()
    user = user_with_role(Role.CITY_REGULATOR, organisation=tree["jincheng"])
    # when organisations are restricted for him
    names = set(restrict(Organisation.objects.all(), user).values_list("name", flat=True))
    # then Jincheng's task force is in, Datong's mechanism and branch are out
    assert {"晋城机制", "泽州专班"} <= names
    assert "大同机制" not in names and "中行大同" not in names


def test_a_bank_branch_sees_its_own_subtree_only():
    tree = _tree()
    user = user_with_role(Role.BANK_ADMIN, organisation=tree["branch"])
    names = set(restrict(Organisation.objects.all(), user).values_list("name", flat=True))
    assert names == {"中行晋城", "中行泽州"}


def test_an_enterprise_user_sees_itself_and_banks():
    _tree()
    user = user_with_role(Role.ENTERPRISE_USER)
    visible = restrict(Organisation.objects.all(), user)
    assert set(visible.values_list("kind", flat=True)) == {OrganisationKind.ENTERPRISE, OrganisationKind.BANK}
    assert visible.filter(kind=OrganisationKind.ENTERPRISE).count() == 1


def test_anonymous_and_membershipless_users_see_nothing():
    from django.contrib.auth.models import AnonymousUser

    from portal.factories import UserFactory

    _tree()
    assert not restrict(Organisation.objects.all(), AnonymousUser()).exists()
    assert not restrict(Organisation.objects.all(), UserFactory()).exists()


def test_platform_admin_sees_everything():
    _tree()
    admin = user_with_role(Role.PLATFORM_ADMIN)
    assert restrict(Organisation.objects.all(), admin).count() == Organisation.objects.count()


def test_a_model_without_a_registered_restriction_cannot_be_listed():
    from django.contrib.contenttypes.models import ContentType

    user = user_with_role(Role.TASK_FORCE_STAFF)
    with pytest.raises(ImproperlyConfigured):
        restrict(ContentType.objects.all(), user)


def test_audit_events_are_visible_to_the_actors_organisation_tree_only():
    # given two bank branches' administrators who each did something
    tree = _tree()
    jincheng_admin = user_with_role(Role.BANK_ADMIN, organisation=tree["branch"])
    datong_admin = user_with_role(Role.BANK_ADMIN, organisation=tree["other_branch"])
    audit_record(actor=jincheng_admin, action="test.jincheng", obj=tree["branch"])
    audit_record(actor=datong_admin, action="test.datong", obj=tree["other_branch"])
    # then each sees only his own branch's event
    assert list(restrict(AuditEvent.objects.all(), jincheng_admin).values_list("action", flat=True)) == [
        "test.jincheng"
    ]
    assert list(restrict(AuditEvent.objects.all(), datong_admin).values_list("action", flat=True)) == ["test.datong"]


def test_guardian_object_permissions_are_wired_for_sparse_grants():
    # given an account manager granted one organisation object explicitly
    from guardian.shortcuts import assign_perm

    tree = _tree()
    manager = user_with_role(Role.ACCOUNT_MANAGER, organisation=tree["sub_branch"])
    assign_perm("portal.view_organisation", manager, tree["other_branch"])
    # then the object-permission backend answers for that object only
    assert manager.has_perm("portal.view_organisation", tree["other_branch"])
    assert not manager.has_perm("portal.view_organisation", tree["branch"])
