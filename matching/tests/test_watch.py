"""The post-loan watch (matching/watch.py): 中国银行's programme, 001 附件 九(四): "加强与当地市场
监管局对接, 关注其对'名特优新'清单动态调整情况; 若我行存量客户被调整出清单的, 应及时调查、核实原因,
并采取授信压退策略". An approved or drawn loan records the regulator's marks it relied on; when
one is revoked, expires or is lowered, the lending branch is told (naming the loan and what
changed), the lead's timeline and the ledger show it, once."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from entities.models import Honor
from entities.services import honor_revoke, tier_mark_set
from matching import services as s
from matching import watch, workflow
from matching.factories import assign, pushed
from matching.models import EventKind, Notification, Recommendation, WorkflowEvent
from matching.tasks import watch_credit_basis
from matching.workflow import Action
from portal.factories import user_with_role
from portal.models import Organisation, OrganisationKind, Role
from reporting.ledger import HEADERS, ledger_csv, ledger_rows

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()


def _province():
    organisation = Organisation.objects.get(kind=OrganisationKind.PROVINCE_MECHANISM)
    return user_with_role(Role.PROVINCE_REGULATOR, organisation=organisation)


def approved(world, *, tier="growth", honors=(), bank="boc", drawn=0) -> Recommendation:
    """A declaration pushed to `bank`, its entity marked `tier` by the city and holding
    `honors` ((kind, valid_until) from the provincial list), approved for 30 万元."""
    u = world.users
    declaration, _, recs = pushed(world, banks=(bank,))
    if tier:
        tier_mark_set(actor=u["city"], entity=declaration.entity_id, tier=tier)
    for kind, until in honors:
        Honor.objects.create(entity_id=declaration.entity_id, kind=kind, valid_until=until, source="import")
    rec = recs[bank]
    assign(world, rec, bank)
    manager = u[f"{bank}_manager"]
    s.recommendation_contact(actor=manager, recommendation_id=rec.pk)
    s.recommendation_materials_complete(actor=manager, recommendation_id=rec.pk)
    s.recommendation_approve(
        actor=manager,
        recommendation_id=rec.pk,
        credit_amount=300_000,
        rate_percent=Decimal("3.8"),
        term_months=12,
        guarantee="credit",
        is_credit_loan=True,
        is_first_loan=True,
    )
    if drawn:
        s.recommendation_disburse(actor=manager, recommendation_id=rec.pk, amount=drawn, disbursed_on=TODAY)
    return Recommendation.objects.get(pk=rec.pk)


def basis_events(rec) -> list[WorkflowEvent]:
    return list(
        WorkflowEvent.objects.filter(recommendation=rec, kind=EventKind.RECOMMENDATION_BASIS_CHANGED).order_by("id")
    )


def test_the_approval_records_the_marks_it_relied_on(world):
    # given a 成长型 entity holding a valid 优质 title, approved by 中国银行 (whose 惠商贷 reads both)
    until = TODAY + dt.timedelta(days=200)
    rec = approved(world, honors=[("quality", until)])

    # then the approval's event carries the basis: the mark and the title with its end date
    event = WorkflowEvent.objects.get(recommendation=rec, kind=EventKind.RECOMMENDATION_APPROVED)
    assert event.data["basis"] == {
        "as_of": TODAY.isoformat(),
        "tier": "growth",
        "honors": [{"kind": "quality", "valid_until": until.isoformat()}],
    }
    # and nothing changed yet: the watch records nothing
    assert watch.watch_scan() == 0 and basis_events(rec) == []


def test_授信压退_a_名特优新_the_loan_relied_on_revoked_by_the_province_notifies_the_branch_once(
    world, django_capture_on_commit_callbacks
):
    """001 附件 九(四): "若我行存量客户被调整出清单的, 应及时调查、核实原因, 并采取授信压退策略"."""
    # given a drawn 惠商贷-programme loan at 中国银行 of an entity holding 优质 (and the other
    # bank's administrator, who lent nothing here)
    u = world.users
    rec = approved(world, honors=[("quality", TODAY + dt.timedelta(days=200))], drawn=100_000)
    honor = Honor.objects.get(entity=rec.entity)

    # when the provincial regulator takes the entity off the 名特优新 list (the entity-change hook runs after commit)
    with django_capture_on_commit_callbacks(execute=True):
        honor_revoke(actor=_province(), entity=rec.entity, honor_id=honor.pk, reason="年度复核不再符合名特优新条件")

    # then the lead records 授信依据变化, saying what changed
    (event,) = basis_events(rec)
    assert event.actor is None
    assert [c["text"] for c in event.data["changes"]] == ["名特优新「优质」已被调整出名单(撤销)"]
    assert EventKind(event.kind).label == "授信依据变化"

    # and the lending branch is notified — the assigned account manager and the bank's administrator —
    # naming the loan (entity, product, amount, date) and what changed; no one else is
    notes = Notification.objects.filter(dedupe_key__startswith=f"basis-{event.pk}:")
    assert {n.recipient for n in notes} == {u["boc_manager"], u["boc_admin"]}
    note = notes.first()
    decided = timezone.localtime(rec.decided_at).date().isoformat()
    assert rec.entity.name in note.title and rec.product_version.product.name in note.title
    assert "授信 30.00 万元" in note.title and decided in note.title and "已放款 10.00 万元" in note.title
    assert "名特优新「优质」已被调整出名单" in note.body and "授信压退" in note.body
    assert note.url == f"/matching/leads/{rec.pk}/"

    # and the ledger (page, rows, export) shows it
    (row,) = [r for r in ledger_rows(u["boc_admin"]) if r["id"] == rec.pk]
    assert row["credit_basis_change"] == f"{TODAY.isoformat()} 名特优新「优质」已被调整出名单(撤销)"
    client = Client()
    client.force_login(u["boc_admin"])
    page = client.get("/matching/ledger/").content.decode()
    assert 'data-testid="ledger-basis-change"' in page and "已被调整出名单" in page
    assert "授信依据变化" in HEADERS
    exported = ledger_csv([row]).content.decode("utf-8-sig")
    assert "授信依据变化" in exported.splitlines()[0] and "已被调整出名单(撤销)" in exported
    # and the lead's timeline
    client.force_login(u["boc_manager"])
    lead_page = client.get(f"/matching/leads/{rec.pk}/").content.decode()
    assert "授信依据变化" in lead_page and "名特优新「优质」已被调整出名单(撤销)" in lead_page

    # when the hook, the daily scan and the beat task run again, nothing more is recorded or sent
    assert watch.watch_entities([rec.entity_id]) == 0 and watch.watch_scan() == 0 and watch_credit_basis() == 0
    assert len(basis_events(rec)) == 1 and notes.count() == 2


def test_an_expired_名特优新_且在有效期内_is_found_by_the_daily_scan_once(world):
    """001 附件 三(二): "被省市场监管局认定为'名特优新'的个体工商户, 且在有效期内": a title that ends
    with no change of the entity is found by the daily scan, the day after its end."""
    until = TODAY + dt.timedelta(days=10)
    rec = approved(world, tier=None, honors=[("renowned", until)])

    # on its last day it is still valid: nothing
    assert watch.watch_scan(as_of=until) == 0
    # the next day the scan records the expiry, once
    assert watch.watch_scan(as_of=until + dt.timedelta(days=1)) == 1
    assert watch.watch_scan(as_of=until + dt.timedelta(days=2)) == 0
    (event,) = basis_events(rec)
    assert [c["text"] for c in event.data["changes"]] == [f"名特优新「知名」已于 {until.isoformat()} 到期"]
    assert Notification.objects.filter(dedupe_key__startswith=f"basis-{event.pk}:").count() == 2


def test_a_lowered_or_removed_三型_mark_is_a_change_a_raised_one_is_not_and_a_restored_one_is_said(
    world, django_capture_on_commit_callbacks
):
    """001 附件 三(二): the loan was granted to an entity "在'全省个体工商户名录库'中被标记为'三型'"."""
    u = world.users
    rec = approved(world, tier="growth")

    def mark(tier, note=""):
        with django_capture_on_commit_callbacks(execute=True):
            tier_mark_set(actor=u["city"], entity=rec.entity_id, tier=tier, note=note)

    # raised to 发展型: no change to what the loan relied on
    mark("development")
    assert basis_events(rec) == []
    # lowered to 生存型: a change
    mark("survival")
    # removed from the 三型 list: another change
    mark(None, note="名录库复核: 已注销营业执照")
    # marked 成长型 again: the basis is back
    mark("growth")
    texts = [[c["text"] for c in e.data["changes"]] for e in basis_events(rec)]
    assert texts == [
        ["名录库三型标记由成长型降为生存型"],
        ["名录库三型标记已撤销(授信时为成长型, 现仅有平台预估或无标记)"],
        [],
    ]
    restored = basis_events(rec)[-1]
    assert restored.data["restored"] and "已恢复" in watch.basis_change_text(restored)
    titles = set(
        Notification.objects.filter(dedupe_key__startswith=f"basis-{restored.pk}:").values_list("title", flat=True)
    )
    assert titles and all(t.startswith("授信依据已恢复") for t in titles)


def test_leads_not_lent_and_banks_that_do_not_lend_on_the_marks_are_not_watched(world):
    u = world.users
    # a pushed lead that was declined, and one still waiting: never approved, never watched
    declaration, _, recs = pushed(world, banks=("boc", "ccb"))
    tier_mark_set(actor=u["city"], entity=declaration.entity_id, tier="growth")
    s.recommendation_decline(actor=u["boc_admin"], recommendation_id=recs["boc"].pk, reason_code="no_need")
    tier_mark_set(actor=u["city"], entity=declaration.entity_id, tier=None, note="复核")
    assert watch.watch_entities([declaration.entity_id]) == 0
    assert not WorkflowEvent.objects.filter(kind=EventKind.RECOMMENDATION_BASIS_CHANGED).exists()
    # what each bank's programme reads: 中国银行 both, 建设银行 the mark, 晋商银行 and 农商行 neither
    from products.models import Bank

    reads = {code: watch.bank_reads(Bank.objects.get(code=code).pk) for code in ("boc", "ccb", "jshb", "sxrcc")}
    assert reads == {"boc": (True, True), "ccb": (True, False), "jshb": (False, False), "sxrcc": (False, False)}


def test_no_role_records_a_basis_change_only_the_watch_does(world):
    rule = workflow.rule(Action.BASIS_CHANGE)
    assert rule.roles == frozenset() and rule.effect().event == EventKind.RECOMMENDATION_BASIS_CHANGED
    for user in world.users.values():
        assert not workflow.may(Action.BASIS_CHANGE, user)
