"""Issue 16 item 23: on a 390×844 phone the enterprise's and the account manager's pages work
one-handed — every control is a tap target at least 44 px high (a checkbox or radio through
its label), no form field cuts its placeholder, and no page scrolls sideways."""

import pytest
from playwright.sync_api import Page

from campaigns import services as campaign_services
from campaigns.factories import campaign_world
from campaigns.models import Assignment, Target
from matching import services as s
from matching.factories import pushed
from products.factories import build_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}

# every visible control of the page, with its tap area (a checkbox's or radio's label row) and,
# for a field with a placeholder, whether the placeholder fits
MEASURE = """() => {
  const out = [];
  const canvas = document.createElement("canvas").getContext("2d");
  const visible = (e) => { const r = e.getBoundingClientRect(); const s = getComputedStyle(e);
    return r.width > 0 && r.height > 0 && s.visibility !== "hidden" && s.display !== "none"; };
  const name = (e) =>
    (e.getAttribute("aria-label") || e.name || e.textContent || e.id || e.tagName).trim().slice(0, 30);
  const controls = document.querySelectorAll(
    "main button, main .btn, main input:not([type=hidden]), main select, main textarea, main .page-link, " +
    "main .nav-link, nav .navbar-toggler");
  for (const e of controls) {
    if (!visible(e)) continue;
    let box = e.getBoundingClientRect();
    if (e.type === "checkbox" || e.type === "radio") {
      const label = e.closest("label") || (e.id && document.querySelector(`label[for="${e.id}"]`))
        || e.closest(".form-check");
      if (label) box = label.getBoundingClientRect();
    }
    let cut = false;
    if (e.placeholder) {
      const s = getComputedStyle(e);
      canvas.font = `${s.fontWeight} ${s.fontSize} ${s.fontFamily}`;
      const room = e.clientWidth - parseFloat(s.paddingLeft) - parseFloat(s.paddingRight);
      cut = canvas.measureText(e.placeholder).width > room + 1;
    }
    out.push({name: name(e), height: Math.round(box.height), cut});
  }
  return {controls: out, scroll: document.documentElement.scrollWidth};
}"""


def _check(page: Page, url: str, shot: str, artifacts_dir) -> None:
    page.goto(url)
    found = page.evaluate(MEASURE)
    page.screenshot(path=str(artifacts_dir / f"phone-{shot}.png"), full_page=True)
    small = [(c["name"], c["height"]) for c in found["controls"] if c["height"] < 44]
    cut = [c["name"] for c in found["controls"] if c["cut"]]
    assert found["controls"], url
    assert small == [], (url, small)
    assert cut == [], (url, cut)
    assert found["scroll"] <= PHONE["width"], (url, found["scroll"])


def test_the_enterprise_and_the_account_manager_work_one_handed_on_a_phone(
    live_server, page: Page, login, artifacts_dir
):
    # given a declaration pushed to 中国银行, its lead assigned to the branch's account manager
    world = build_world()
    declaration, owner, recs = pushed(world, ("boc",))
    lead = recs["boc"]
    s.recommendations_assign(
        actor=world.users["boc_admin"], recommendation_ids=[lead.pk], manager_id=world.users["boc_manager"].pk
    )
    page.set_viewport_size(PHONE)
    base = live_server.url

    # when the enterprise opens its pages on a phone, then every control is a thumb's size
    login(page, base, owner.username)
    for path, shot in (
        ("/", "enterprise-home"),
        (f"/matching/declarations/{declaration.pk}/", "enterprise-declaration"),
        ("/matching/declarations/", "enterprise-declarations"),
        ("/products/self-test/", "enterprise-self-test"),
        ("/products/", "enterprise-market"),
    ):
        _check(page, f"{base}{path}", shot, artifacts_dir)

    # and so for the account manager's inbox and lead
    login(page, base, world.users["boc_manager"].username)
    for path, shot in (
        ("/matching/leads/", "manager-inbox"),
        (f"/matching/leads/{lead.pk}/", "manager-lead"),
        ("/", "manager-home"),
    ):
        _check(page, f"{base}{path}", shot, artifacts_dir)


def test_the_visitor_records_his_visits_one_handed_on_a_phone(live_server, page: Page, login, artifacts_dir):
    """A 大走访 走访人员 (seed 004 二(四)) works on a phone: his home, his tasks, the visit form."""
    world = build_world()
    found = campaign_world(world)
    visitor = found.users["visitor"]
    campaign_services.assignments_make(
        actor=world.users["staff"],
        campaign_id=found.campaign.pk,
        visitor_id=visitor.pk,
        target_ids=list(Target.objects.filter(campaign=found.campaign, excluded=False).values_list("pk", flat=True)),
    )
    assignment = Assignment.objects.filter(visitor=visitor).first()
    page.set_viewport_size(PHONE)
    base = live_server.url
    login(page, base, visitor.username)
    for path, shot in (
        ("/", "visitor-home"),
        ("/campaigns/my-visits/", "visitor-tasks"),
        (f"/campaigns/my-visits/{assignment.pk}/", "visitor-visit-form"),
    ):
        _check(page, f"{base}{path}", shot, artifacts_dir)
