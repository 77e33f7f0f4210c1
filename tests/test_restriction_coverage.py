import pytest
from django.core.cache import cache
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
@pytest.mark.parametrize("role", list(Role))
def test_every_list_and_export_restricts_its_own_model_at_run_time(role):
    # given a user of the role and a spy recording the model and action of each restrict()
    user = user_with_role(role)
    client = Client()
    client.force_login(user)
    seen: list[tuple[type, str]] = []
    undo = tenancy.observe(lambda model, scope, action: seen.append((model, action)))
    checked = 0
    try:
        for endpoint in url_inventory.walk():
            url = endpoint.url()
            if not endpoint.is_list or url is None:
                continue
            seen.clear()
            cache.clear()  # a cached dashboard figure was computed earlier; the spy checks the computation
            # when the list or export is requested
            response = client.get(url, HTTP_ACCEPT="application/json")
            # then it either refuses the role or went through restrict() for its own model and action
            assert response.status_code in (200, 403), (endpoint.route, response.status_code)
            if response.status_code != 200:
                continue
            checked += 1
            problem = url_inventory.restriction_problem(endpoint, response, seen)
            assert problem is None, problem
    finally:
        undo()
    assert checked >= 4


@pytest.mark.django_db
def test_the_spy_catches_a_list_that_restricts_another_model_than_its_own():
    # given a page that lists entities but calls restrict() only for organisations
    from django.test import RequestFactory

    from entities.models import MarketEntity
    from portal.mixins import RestrictedListView

    class Decoy(RestrictedListView):
        template_name = "base.html"

        def select(self, *, user, params):
            tenancy.restrict(Organisation.objects.all(), user)
            return MarketEntity.objects.all()

    endpoint = next(url_inventory.walk([path("decoy/", Decoy.as_view(), name="decoy")]))
    request = RequestFactory().get("/decoy/")
    request.user = user_with_role(Role.TASK_FORCE_STAFF)
    seen = []
    undo = tenancy.observe(lambda model, scope, action: seen.append((model, action)))
    try:
        # when it is requested
        response = Decoy.as_view()(request)
    finally:
        undo()

    # then the spy saw a restriction, but not of the listed model, and says so
    assert seen == [(Organisation, "view")]
    problem = url_inventory.restriction_problem(endpoint, response, seen)
    assert problem is not None and "MarketEntity" in problem
