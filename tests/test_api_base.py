import pytest
from django.core.management import call_command
from django.test import Client
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from portal.factories import OrganisationFactory, api_token, region, user_with_role
from portal.models import AuditEvent, OrganisationKind, Role

pytestmark = pytest.mark.django_db


def test_anonymous_calls_get_the_one_error_format_in_chinese():
    response = APIClient().get("/api/v1/organisations/")
    assert response.status_code in (401, 403)
    assert response.json() == {"code": "not_authenticated", "message": "请先登录", "errors": {}}


def test_token_authentication_and_pagination():
    # given a token for a platform administrator and 60 organisations
    admin = user_with_role(Role.PLATFORM_ADMIN)
    for _ in range(60):
        OrganisationFactory(kind=OrganisationKind.TOWNSHIP, region=region("140525"))
    key = api_token(admin)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    # when the list is read
    body = client.get("/api/v1/organisations/").json()
    # then it comes paginated, 50 a page
    assert body["count"] >= 61 and len(body["results"]) == 50 and body["next"]


def test_not_found_uses_the_error_format():
    client = APIClient()
    client.force_authenticate(user_with_role(Role.TASK_FORCE_STAFF))
    response = client.get("/api/v1/organisations/999999/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_me_reports_role_and_region():
    client = APIClient()
    client.force_authenticate(user_with_role(Role.CITY_REGULATOR))
    body = client.get("/api/v1/me/").json()
    assert (
        body["role"] == "city_regulator" and body["role_display"] == "市级协调机制" and body["region_code"] == "140500"
    )


def test_schema_and_local_docs_page():
    client = APIClient()
    client.force_authenticate(user_with_role(Role.PLATFORM_ADMIN))
    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200 and "/api/v1/organisations/" in schema.json()["paths"]
    docs = client.get("/api/v1/docs/")
    html = docs.content.decode()
    assert docs.status_code == 200
    assert "drf_spectacular_sidecar/swagger-ui-dist" in html and "cdn" not in html.lower()


def test_membership_grant_refuses_a_role_the_organisation_cannot_hold():
    from portal.factories import UserFactory
    from portal.services import ApplicationError, membership_grant

    bank = OrganisationFactory(kind=OrganisationKind.BANK_BRANCH, region=region("140500"))
    with pytest.raises(ApplicationError, match="专班组长"):
        membership_grant(actor=None, user=UserFactory(), organisation=bank, role=Role.TASK_FORCE_LEAD)


def test_membership_grant_is_audited():
    from portal.factories import UserFactory
    from portal.services import membership_grant

    admin = user_with_role(Role.PLATFORM_ADMIN)
    bank = OrganisationFactory(kind=OrganisationKind.BANK_BRANCH, region=region("140500"))
    membership_grant(actor=admin, user=UserFactory(), organisation=bank, role=Role.ACCOUNT_MANAGER)
    event = AuditEvent.objects.get(action="membership.grant")
    assert event.actor == admin and event.after["role"] == "account_manager" and event.organisation == bank


def test_chinese_404_page(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert "页面不存在" in response.content.decode()


def test_pages_need_login(client):
    response = client.get("/organisations/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_the_api_schema_builds_without_a_warning(tmp_path):
    """Two serializers of one name are merged into one schema component by drf-spectacular, so an
    endpoint is documented with another's fields (the campaigns' VisitPlan input once showed up as the
    lead assignment's body): the schema must build with no warning at all."""
    # when the schema is generated as `manage.py spectacular --fail-on-warn` does
    # then it builds (a warning ends the command with an error)
    call_command("spectacular", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))
    assert (tmp_path / "schema.yaml").stat().st_size > 10_000


def test_a_browser_opening_the_api_gets_json_not_a_browsable_page():
    # given a signed-in user's browser session
    client = Client()
    client.force_login(user_with_role(Role.PLATFORM_ADMIN))
    # when the browser opens an API address, asking for HTML first as browsers do
    response = client.get(
        "/api/v1/me/", HTTP_ACCEPT="text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", secure=True
    )
    # then the answer is the JSON every client gets (DRF's browsable page is not served)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["role"] == Role.PLATFORM_ADMIN


def test_a_choice_label_is_the_chinese_label_read_only_in_the_schema():
    """ChoiceLabelField (portal.api): every *_display / *_label of the API, e.g. 机构类型."""
    # given an organisation of each of two kinds
    admin = user_with_role(Role.PLATFORM_ADMIN)
    township = OrganisationFactory(kind=OrganisationKind.TOWNSHIP, region=region("140525"))
    client = APIClient()
    client.force_authenticate(admin)
    # when it is read
    body = client.get(f"/api/v1/organisations/{township.pk}/").json()
    # then the label is the kind's Chinese label, what get_kind_display() gives
    assert body["kind"] == OrganisationKind.TOWNSHIP
    assert body["kind_display"] == township.get_kind_display() == OrganisationKind.TOWNSHIP.label
    # and the schema says it is never written
    schema = SchemaGenerator().get_schema(request=None, public=True)
    assert schema["components"]["schemas"]["Organisation"]["properties"]["kind_display"]["readOnly"] is True
