import pytest
from django.test import Client
from django.urls import path
from django.views.generic import ListView

from portal import tenancy, url_inventory
from portal.factories import user_with_role
from portal.models import Organisation, Role


def test_every_list_page_and_api_in_the_url_configuration_uses_restrict():
    # given every endpoint of the URL configuration
    endpoints = list(url_inventory.walk())
    assert any(e.is_list for e in endpoints)

    # then none lists data without the central restriction
    assert url_inventory.unrestricted(endpoints) == []


def test_the_coverage_check_catches_an_unrestricted_list_view():
    # given a list page wired without the restricted base class
    class LeakyList(ListView):
        model = Organisation

    def raw_function_view(request):
        return None

    patterns = [path("leaky/", LeakyList.as_view(), name="leaky"), path("raw/", raw_function_view, name="raw")]

    # when the coverage check walks it
    problems = url_inventory.unrestricted(url_inventory.walk(patterns))

    # then both are reported
    assert len(problems) == 2
    assert "LeakyList" in problems[0] and "raw" in problems[1]


@pytest.mark.django_db
@pytest.mark.parametrize("role", [r for r in Role if r != Role.PLATFORM_ADMIN])
def test_every_list_endpoint_calls_restrict_at_run_time(role):
    # given a user of the role and a spy on the tenant restriction
    user = user_with_role(role)
    client = Client()
    client.force_login(user)
    seen = []
    undo = tenancy.observe(lambda model, scope, action: seen.append(model))
    checked = 0
    try:
        for endpoint in url_inventory.walk():
            url = endpoint.url()
            if not endpoint.is_list or url is None:
                continue
            checked += 1
            seen.clear()
            # when the list is requested
            response = client.get(url, HTTP_ACCEPT="application/json")
            # then it either refuses the role or went through restrict()
            assert response.status_code in (200, 403), (endpoint.route, response.status_code)
            if response.status_code == 200:
                assert seen, f"{endpoint.route} answered without calling restrict()"
    finally:
        undo()
    assert checked >= 4
