"""WCAG 2.1 AA, checked by axe-core (npm, `node_modules/axe-core`) in Chromium on every page.

Every HTML page of the URL configuration is opened by the first role that may see it (the
roles in the order below), on a database holding workflow data in many states, and axe-core
checks it against the WCAG 2.0/2.1 A and AA rules. The detail pages of a declaration, a lead
and a batch are opened by each role that may see them, since each role gets other buttons and
forms there. The pages a phone user lives on are checked again at 390×844.

axe-core is evaluated through the browser's debugging protocol, so it needs no script tag and
no exception to the content security policy.
"""

from pathlib import Path

import pytest
from django.test import Client
from playwright.sync_api import Page

from campaigns import services as campaign_services
from campaigns.factories import campaign_world
from campaigns.models import Assignment, Campaign, Target
from coordination.factories import departments, open_problem
from coordination.models import Problem
from matching import services as matching_services
from matching.factories import declare, pushed
from matching.models import Recommendation
from portal import url_inventory
from portal.factories import user_with_role
from portal.models import Role
from products.factories import build_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE = (Path(__file__).resolve().parent.parent / "node_modules" / "axe-core" / "axe.min.js").read_text(encoding="utf-8")
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
PHONE = {"width": 390, "height": 844}


def _busy_world():
    """Workflow data in many states: a pushed declaration with one lead contacted and one
    declined, and a declaration waiting for review."""
    world = build_world()
    declaration, enterprise_user, recs = pushed(world)
    matching_services.recommendation_contact(actor=world.users["boc_admin"], recommendation_id=recs["boc"].pk)
    matching_services.recommendation_decline(
        actor=world.users["ccb_admin"], recommendation_id=recs["ccb"].pk, reason_code="high_debt"
    )
    entity, user = world.entity(name="待审企业")
    waiting = declare(world, entity, user)
    # a 批分单 of the pushed entity, routed to the county's 自然资源局, and its department's user
    found = departments(world)
    open_problem(world, found, entity=declaration.entity)
    # a running 大走访 campaign of 泽州 with targets, one of them given to a township's visitor
    campaign = campaign_world(world)
    target = Target.objects.filter(campaign=campaign.campaign, excluded=False).first()
    campaign_services.assignments_make(
        actor=world.users["staff"],
        campaign_id=campaign.campaign.pk,
        visitor_id=campaign.users["visitor"].pk,
        target_ids=[target.pk],
    )
    users = {
        "platform_admin": user_with_role(Role.PLATFORM_ADMIN),
        **world.users,
        "department": found.users["department"],
        "enterprise": enterprise_user,
        "visitor": campaign.users["visitor"],
    }
    return users, declaration, waiting


def _violations(page: Page) -> list[str]:
    page.evaluate(AXE)
    result = page.evaluate(
        """async (tags) => {
            const r = await axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']});
            return r.violations.map(v => `${v.id} (${v.impact}): ${v.help} — ` +
                v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | '));
        }""",
        WCAG_AA,
    )
    return result


def _html_pages(users, declaration, waiting) -> list[tuple[str, str]]:
    """(user name, url) pairs: each listed page by the first user it answers 200 for, and the
    detail pages by every user who may see them."""
    listed = [e.url() for e in url_inventory.walk() if e.url() and not e.url().startswith("/api/")]
    details = [f"/matching/declarations/{declaration.pk}/", f"/matching/declarations/{waiting.pk}/"]
    details += [f"/matching/leads/{pk}/" for pk in Recommendation.objects.values_list("pk", flat=True)]
    details += [f"/matching/batches/{declaration.batch_id}/"]
    details += [f"/coordination/problems/{pk}/" for pk in Problem.objects.values_list("pk", flat=True)]
    for pk in Campaign.objects.values_list("pk", flat=True):
        details += [f"/campaigns/{pk}/", f"/campaigns/{pk}/targets/", f"/campaigns/{pk}/targets/?excluded=1"]
    details += [f"/campaigns/my-visits/{pk}/" for pk in Assignment.objects.values_list("pk", flat=True)]
    clients = {}
    for name, user in users.items():
        clients[name] = Client()
        clients[name].force_login(user)

    def html_for(name, url):
        response = clients[name].get(url)
        # whole documents only: htmx fragments (<option>s, table rows) are checked in their page
        return (
            response.status_code == 200
            and response.get("Content-Type", "").startswith("text/html")
            and b"<html" in response.content[:500]
        )

    pairs = []
    for url in dict.fromkeys(listed):
        owner = next((name for name in users if html_for(name, url)), None)
        if owner:
            pairs.append((owner, url))
    for url in details:
        pairs += [(name, url) for name in users if html_for(name, url)]
    return pairs


def test_every_page_meets_wcag_21_aa_for_the_roles_that_use_it(live_server, page: Page, login):
    # given workflow data in many states and a user of each role
    users, declaration, waiting = _busy_world()
    pairs = _html_pages(users, declaration, waiting)
    assert len(pairs) > 40  # the walk found the portal's pages

    # when axe-core checks each page as the user who sees it
    failures = []
    signed_in = None
    for name, url in pairs:
        if name != signed_in:
            login(page, live_server.url, users[name].username)
            signed_in = name
        page.goto(f"{live_server.url}{url}")
        page.wait_for_load_state("networkidle")
        failures += [f"{name} {url}: {v}" for v in _violations(page)]

    # then no page breaks a WCAG 2.1 A or AA rule
    assert not failures, "\n".join(failures)


PHONE_PAGES = {
    "enterprise": ["/", "/matching/declarations/", "/products/"],
    "boc_manager": ["/", "/matching/leads/"],
    "staff": ["/", "/matching/declarations/"],
    "visitor": ["/", "/campaigns/my-visits/"],
    # wide tables that scroll sideways on a phone: their scroll region must take the keyboard focus
    "boc_admin": ["/matching/ledger/"],
    "platform_admin": ["/audit/"],
}


def test_phone_pages_meet_wcag_21_aa(live_server, page: Page, login):
    # given workflow data and the users who work on a phone
    users, declaration, waiting = _busy_world()
    page.set_viewport_size(PHONE)

    # when axe-core checks their pages at 390×844, with the navigation collapsed and opened
    failures = []
    for name, urls in PHONE_PAGES.items():
        login(page, live_server.url, users[name].username)
        for url in urls:
            assert page.goto(f"{live_server.url}{url}").status == 200, url
            page.wait_for_load_state("networkidle")
            failures += [f"{name} {url}: {v}" for v in _violations(page)]
            toggler = page.get_by_role("button", name="展开导航")
            if toggler.is_visible():
                toggler.click()
                failures += [f"{name} {url} (导航展开): {v}" for v in _violations(page)]

    # then none breaks a WCAG 2.1 A or AA rule
    assert not failures, "\n".join(failures)
