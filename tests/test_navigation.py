"""Issue 16 item 18: navigation holds the pages each role uses, each count tile on a home page
opens the list it counts, and each role's home has its own title."""

import re
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from matching import services as s
from matching.factories import declare
from portal.factories import user_with_role
from portal.models import Role
from portal.navigation import items_for
from portal.views import HOME_TITLES

pytestmark = pytest.mark.django_db

# pages the issue names as missing from a role's navigation
NAMED = {
    Role.TASK_FORCE_STAFF: ["entities:import_list"],
    Role.TASK_FORCE_LEAD: ["matching:visit_list", "entities:import_list"],
    Role.TASK_FORCE_BANK_REVIEWER: ["matching_batch:near_misses"],
    Role.ACCOUNT_MANAGER: ["matching:bank_recommend"],
    Role.PLATFORM_ADMIN: ["reporting:ledger", "matching:overdue", "entities:entity_list", "entities:import_list"],
    Role.CITY_REGULATOR: ["entities:import_list"],
    Role.PROVINCE_REGULATOR: ["entities:import_list"],
}


@pytest.mark.parametrize("role", list(NAMED))
def test_the_navigation_holds_the_pages_the_role_uses_and_each_opens_for_it(role):
    user = user_with_role(role)
    client = Client()
    client.force_login(user)
    names = [name for _, name in items_for(role)]
    for name in NAMED[role]:
        assert name in names, (role, name)
    # every page of the navigation opens for the role (a link that answers 403 is no use)
    for name in names:
        response = client.get(reverse(name))
        assert response.status_code == 200, (role, name, response.status_code)


def test_each_role_home_says_whose_it_is():
    for role in Role:
        client = Client()
        client.force_login(user_with_role(role))
        html = client.get("/").content.decode()
        title = re.search(r'data-testid="home-title">([^<]+)<', html).group(1)
        assert title == HOME_TITLES[role]
        assert f"<title>{title} · 政银企融资对接平台</title>" in html


def test_each_counter_of_the_task_force_home_opens_the_list_it_counts(world):
    # given declarations waiting at the 初审 (two) and at the 银行审核 (one)
    staff = world.users["staff"]
    waiting = []
    for name in ("甲小吃店", "乙五金店", "丙超市"):
        entity, user = world.entity(name=f"泽州县{name}")
        waiting.append(declare(world, entity, user, banks=("boc",)))
    s.declaration_review(actor=staff, declaration_id=waiting[0].pk, decision="approve", comment="齐全")
    client = Client()
    client.force_login(world.users["lead"])

    # when the lead opens his home page
    tiles = client.get("/").context["review_counts"]

    # then each counter's link lists exactly what it counts
    assert [count for _, count, _ in tiles][:2] == [2, 1]
    for label, count, url in tiles:
        listed = client.get(url).context["paginator"].count
        assert listed == count, (label, url)


def test_the_enterprise_home_says_who_holds_its_declaration_and_what_comes_next(world):
    """Issue 16 item 14: a draft has 继续填写 and 提交 on the home page; the home page says who
    holds the declaration now (待初审 at 泽州县专班, …) and what happens next."""
    # given an enterprise with a draft it consented to
    entity, user = world.entity()
    draft = declare(world, entity, user, banks=("boc",), submit=False)
    client = Client()
    client.force_login(user)

    # then its home page offers to continue or submit, and says it is still the enterprise's
    html = client.get("/").content.decode()
    assert 'data-testid="continue-draft"' in html and 'data-testid="submit-draft"' in html
    assert "您(草稿, 尚未提交)" in html and f"由{world.task_force.name}初审" in html

    # when it submits from there
    response = client.post(reverse("matching:declaration_action", args=[draft.pk, "submit"]), {"next": "/"})
    assert response.status_code == 302 and response["Location"] == "/"

    # then the home page names the task force's staff at the 初审 and the step after it
    html = client.get("/").content.decode()
    assert f"{world.task_force.name} · 专班工作人员(待初审)" in html
    assert "初审通过后进入银行审核" in html and 'data-testid="submit-draft"' not in html


def test_the_readme_lists_each_roles_navigation_as_it_is():
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    for role in Role:
        row = f"| {role.label} | " + " · ".join(label for label, _ in items_for(role)) + " |"
        assert row in readme, row
