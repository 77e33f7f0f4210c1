"""The Django admin never writes around the rules: an organisation re-parented there takes its
descendants along (their paths, hence every restriction) and the change is audited; it is
never deleted (memberships, branches and records hang on it)."""

import pytest
from django.test import Client

from portal.factories import OrganisationFactory, UserFactory, region
from portal.models import AuditEvent, Organisation, OrganisationKind

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client():
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def test_an_organisation_moved_in_the_admin_takes_its_descendants_along_and_is_audited(admin_client):
    # given a city mechanism with a county and its task force, and another city
    province = OrganisationFactory(kind=OrganisationKind.PROVINCE_MECHANISM, region=region("140000"), name="省机制")
    jincheng = OrganisationFactory(
        kind=OrganisationKind.CITY_MECHANISM, region=region("140500"), parent=province, name="晋城"
    )
    datong = OrganisationFactory(
        kind=OrganisationKind.CITY_MECHANISM, region=region("140200"), parent=province, name="大同"
    )
    county = OrganisationFactory(
        kind=OrganisationKind.COUNTY_MECHANISM, region=region("140525"), parent=jincheng, name="泽州"
    )
    task_force = OrganisationFactory(
        kind=OrganisationKind.TASK_FORCE, region=region("140525"), parent=county, name="泽州专班"
    )

    # when a platform administrator moves the county under the other city in the admin
    response = admin_client.post(
        f"/django-admin/portal/organisation/{county.pk}/change/",
        {
            "name": "泽州",
            "kind": OrganisationKind.COUNTY_MECHANISM,
            "region": "140525",
            "parent": datong.pk,
            "code": "",
            "is_active": "on",
        },
    )

    # then the county and its task force now lie under that city, and the move is audited
    assert response.status_code == 302, response.content.decode()[:2000]
    county.refresh_from_db()
    task_force.refresh_from_db()
    assert county.path.startswith(datong.path) and task_force.path.startswith(county.path)
    assert not task_force.path.startswith(jincheng.path)
    event = AuditEvent.objects.get(action="organisation.admin_change", object_id=str(county.pk))
    assert event.before == {"parent": jincheng.pk} and event.after == {"parent": datong.pk}


def test_an_organisation_cannot_be_deleted_in_the_admin(admin_client):
    organisation = OrganisationFactory(kind=OrganisationKind.TASK_FORCE)
    response = admin_client.post(f"/django-admin/portal/organisation/{organisation.pk}/delete/", {"post": "yes"})
    assert response.status_code == 403 and Organisation.objects.filter(pk=organisation.pk).exists()
