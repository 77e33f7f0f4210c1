"""The review queue in Chromium, at a desk (1280) and on a phone (390×844): seed 004 三(五) "对照
5 项基本标准、征信报告和公共信用报告 … 三级审核" and 五(十二) "防范多头授信、过度授信" — each row shows
the five basic criteria and their exception, the intended banks' products for the declared need
and 多头授信 warnings; bulk approval refuses the declaration whose exception the 组长 has not
confirmed, with the reason, and approves the other."""

import pytest
from playwright.sync_api import Page, expect

from matching import services as s
from matching.factories import CRITERIA, pushed
from matching.models import Declaration, DeclarationState
from products.factories import build_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _file(entity, user, banks, **extra):
    return s.declaration_create(
        actor=user,
        entity_id=entity.pk,
        amount=300_000,
        term_months=12,
        purpose="进货周转",
        bank_codes=list(banks),
        consent=True,
        submit=True,
        **{"basic_criteria": CRITERIA, **extra},
    )


def test_the_review_queue_shows_criteria_eligibility_and_warnings_and_bulk_approval_refuses_an_open_exception(
    live_server, page: Page, artifacts_dir, login
):
    world = build_world()
    u = world.users
    # given an entity granted credit at 中国银行 that declares a new need at 建设银行 (多头授信) …
    first, granted_user, recs = pushed(world, banks=("boc",))
    s.recommendation_contact(actor=u["boc_admin"], recommendation_id=recs["boc"].pk)
    s.recommendation_materials_complete(actor=u["boc_admin"], recommendation_id=recs["boc"].pk)
    s.recommendation_approve(
        actor=u["boc_admin"],
        recommendation_id=recs["boc"].pk,
        credit_amount=100_000,
        rate_percent="3.8",
        term_months=12,
        guarantee="credit",
        is_credit_loan=True,
        is_first_loan=True,
    )
    granted = _file(first.entity, granted_user, ("ccb",))
    # … and one short of 固定经营场所, submitted with an exception reason the lead has not confirmed
    short_entity, short_user = world.entity(name="泽州县老街炒货店")
    short = _file(
        short_entity,
        short_user,
        ("boc",),
        basic_criteria={**CRITERIA, "fixed_premises": {"met": False, "evidence": "临时摊位"}},
        criteria_exception="经营场所为老街临时摊位, 已签订商业街租赁意向书",
    )

    # when the staff member opens his queue at a desk
    base = live_server.url
    page.set_viewport_size({"width": 1280, "height": 900})
    login(page, base, u["staff"].username)
    page.goto(f"{base}/matching/review/")
    rows = page.get_by_test_id("queue-row")
    expect(rows).to_have_count(2)
    # then each row shows its criteria, the exception waiting for the lead, eligibility and warnings
    short_row = rows.filter(has_text="泽州县老街炒货店")
    expect(short_row.get_by_test_id("queue-criteria")).to_contain_text("五项基本标准 4/5")
    expect(short_row.get_by_test_id("queue-criteria")).to_contain_text("未满足: 固定经营场所")
    expect(short_row.get_by_test_id("queue-exception")).to_contain_text("待专班组长确认")
    expect(short_row.get_by_test_id("queue-eligibility")).to_contain_text("中国银行 · ")
    granted_row = rows.filter(has_text=first.entity.name)
    expect(granted_row.get_by_test_id("queue-criteria")).to_contain_text("五项基本标准 5/5")
    expect(granted_row.get_by_test_id("queue-warnings")).to_contain_text("多头授信风险: 该主体在中国银行已获授信")
    expect(granted_row.get_by_test_id("queue-eligibility")).to_contain_text("中国建设银行 · ")
    page.screenshot(path=str(artifacts_dir / "review-queue-1280.png"), full_page=True)

    # and on a phone the rows fit the screen (no sideways scrolling)
    page.set_viewport_size({"width": 390, "height": 844})
    expect(short_row.get_by_test_id("queue-exception")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(artifacts_dir / "review-queue-phone.png"), full_page=True)

    # when he approves both in bulk
    page.set_viewport_size({"width": 1280, "height": 900})
    page.get_by_label("选择 泽州县老街炒货店").check()
    page.get_by_label(f"选择 {first.entity.name}").check()
    # (after confirming what will happen: issue 16 item 5)
    asked: list[str] = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    page.get_by_role("button", name="批量通过").click()
    # then the one with all criteria met is approved, the other refused by name with the reason
    alerts = page.get_by_role("alert")
    expect(alerts.filter(has_text="已处理 1 条, 1 条未处理")).to_have_count(1)
    expect(alerts.filter(has_text="泽州县老街炒货店: 五项基本标准未全部满足")).to_contain_text("不能批量通过")
    assert asked and "转入下一环节" in asked[0]
    page.screenshot(path=str(artifacts_dir / "review-queue-bulk-result.png"), full_page=True)
    assert Declaration.objects.get(pk=granted.pk).state == DeclarationState.PRELIMINARY_APPROVED
    assert Declaration.objects.get(pk=short.pk).state == DeclarationState.SUBMITTED
