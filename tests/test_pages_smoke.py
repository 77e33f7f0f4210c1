"""Every page of the URL configuration, for every role, on a database with workflow data in
many states: no page answers 500 (template errors and missing data included)."""

import pytest
from django.test import Client

from matching.factories import declare, pushed
from matching.models import Declaration, Recommendation
from portal import url_inventory
from portal.factories import user_with_role
from portal.models import Role
from products.factories import build_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def busy_world():
    world = build_world()
    declaration, enterprise_user, recs = pushed(world)
    from matching import services as s

    admin = world.users["boc_admin"]
    s.recommendation_contact(actor=admin, recommendation_id=recs["boc"].pk)
    s.recommendation_decline(actor=world.users["ccb_admin"], recommendation_id=recs["ccb"].pk, reason_code="high_debt")
    entity, user = world.entity(name="待审企业")
    waiting = declare(world, entity, user)
    world.users["enterprise"] = enterprise_user
    world.users["platform_admin"] = user_with_role(Role.PLATFORM_ADMIN)
    return world, declaration, waiting


def test_no_page_answers_500_for_any_role(busy_world):
    world, declaration, waiting = busy_world
    pages = [e.url() for e in url_inventory.walk() if e.url() and not e.url().startswith("/api/")]
    details = [f"/matching/declarations/{declaration.pk}/", f"/matching/declarations/{waiting.pk}/"]
    details += [f"/matching/leads/{r.pk}/" for r in Recommendation.objects.all()]
    details += [
        f"/matching/batches/{b}/" for b in Declaration.objects.exclude(batch=None).values_list("batch", flat=True)
    ]
    failures = []
    for name, user in world.users.items():
        client = Client()
        client.force_login(user)
        for url in pages + details:
            response = client.get(url)
            if response.status_code >= 500:
                failures.append(f"{name} GET {url} → {response.status_code}")
    assert not failures, "\n".join(failures)
