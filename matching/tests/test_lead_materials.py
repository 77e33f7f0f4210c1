"""The application materials of a lead (issue 15 item 17): the 30-day decision clock of seed
004 cannot be held back by the bank.

Seed 004 (信发改财金〔2024〕329号) 三(六): "按照本行授信审批条件做出信贷决策, 在收齐企业申请材料
30 日内作出是否授信的决定". After contact the bank lists the materials it needs (from the
product's list, editable per lead); the enterprise, or task-force staff on its behalf, uploads
them and declares them submitted (材料已提交); the bank confirms them complete (材料已收齐) or
names what is missing (补充材料) within 5 working days; if it does neither, the 30-day clock
starts on its own at the end of those days (自动起算), which the lead's timeline and the
ledger show. Banks upload the materials they collect themselves, seen by that lead's branch
only. The clock is frozen (time-machine) where a test depends on the day."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from rest_framework.test import APIClient

from matching import materials, workflow
from matching import services as s
from matching.clocks import deadline_scan
from matching.factories import pushed
from matching.models import (
    ClockKind,
    ClockState,
    DeadlineClock,
    DeclarationMaterial,
    EventKind,
    MaterialsStage,
    Notification,
    Recommendation,
    RecommendationState,
    WorkflowEvent,
)
from matching.services.materials import GENERAL_MATERIALS
from portal.factories import region, user_with_role
from portal.models import AuditEvent, Role
from portal.services import ApplicationError
from products.models import Bank, BankBranch, BranchLevel, LoanProduct
from products.services import branch_ensure
from reporting import facts, kpis, ledger
from reporting.models import LedgerFact

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")
PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90wS\xde" + b"\x00" * 32
)


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "uploads"


def at(y, m, d, h=10, minute=0):
    return dt.datetime(y, m, d, h, minute, tzinfo=SH)


def fresh(lead) -> Recommendation:
    # FSM fields are protected: refresh_from_db() would assign the state directly
    return Recommendation.objects.get(pk=lead.pk)


def contacted(world, banks=("boc", "ccb")):
    """A declaration pushed to `banks`, each lead contacted by the bank's administrator:
    (declaration, enterprise user, {bank code: lead})."""
    declaration, user, leads = pushed(world, banks)
    if "boc" in leads:  # the lists under test are 惠商贷's (a push names the best-fitting product)
        huishang = LoanProduct.objects.get(code="huishangdai")
        Recommendation.objects.filter(pk=leads["boc"].pk).update(product_version=huishang.current_version)
    for code, lead in leads.items():
        s.recommendation_contact(actor=world.users[f"{code}_admin"], recommendation_id=lead.pk)
    return declaration, user, {code: fresh(lead) for code, lead in leads.items()}


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def titles(user) -> list[str]:
    return list(Notification.objects.filter(recipient=user).values_list("title", flat=True))


# --- the bank's list -------------------------------------------------------------------------


def test_银行对接后列明所需材料_从产品的材料清单开始_每条线索可修改(world):
    """Seed 004 三(六) "在收齐企业申请材料 30 日内作出是否授信的决定": what the materials are is the
    bank's list, which starts from the product's (惠商贷's catalogue list; a product listing
    none starts from the general list) and is edited per lead."""
    # given a declaration pushed to 中国银行 (惠商贷) and 建设银行, both contacted
    declaration, user, leads = contacted(world)
    boc, ccb = leads["boc"], leads["ccb"]
    catalogue = boc.product_version.definition["materials"]
    assert catalogue and s.suggested_materials(boc) == catalogue
    assert s.suggested_materials(ccb) == list(GENERAL_MATERIALS) or s.suggested_materials(ccb) == list(
        ccb.product_version.definition.get("materials") or []
    )
    assert boc.materials_stage == MaterialsStage.UNLISTED

    # when 中国银行's manager… (the lead is its administrator's; he lists, dropping one, adding one)
    items = [*catalogue[:-1], "近一年水电费缴纳凭证"]
    s.recommendation_materials_list(
        actor=world.users["boc_admin"], recommendation_id=boc.pk, items=items + ["  ", items[0]], note="原件到店核验"
    )

    # then the lead holds the edited list (blank lines and repeats dropped), waiting for the enterprise
    boc = fresh(boc)
    assert boc.materials_required == items and boc.materials_note == "原件到店核验"
    assert boc.materials_stage == MaterialsStage.LISTED and boc.materials_listed_at is not None
    assert s.suggested_materials(boc) == items  # the page starts from the list written
    event = WorkflowEvent.objects.get(recommendation=boc, kind=EventKind.RECOMMENDATION_MATERIALS_LISTED)
    assert event.data["required"] == items and event.actor == world.users["boc_admin"]
    # and the enterprise is told, with the list
    notice = Notification.objects.get(recipient=user, title__contains="所需申请材料")
    assert "近一年水电费缴纳凭证" in notice.body and notice.url == f"/matching/declarations/{declaration.pk}/"
    # the other bank's lead is untouched
    assert fresh(ccb).materials_stage == MaterialsStage.UNLISTED


def test_材料清单须列明至少一项_且只在对接后由本行办理(world):
    declaration, user, leads = pushed(world, ("boc",))
    lead = leads["boc"]
    admin = world.users["boc_admin"]
    # before contact the bank cannot list (a 409 with the state)
    with pytest.raises(ApplicationError) as early:
        s.recommendation_materials_list(actor=admin, recommendation_id=lead.pk, items=["营业执照"])
    assert early.value.code == "conflict" and "待对接" in early.value.message
    s.recommendation_contact(actor=admin, recommendation_id=lead.pk)
    # an empty list, too many items, a name too long: field errors
    for items, field_text in (
        ([" "], "至少列明一项"),
        ([f"材料{i}" for i in range(31)], "最多 30 项"),
        (["长" * 201], "超过"),
    ):
        with pytest.raises(ApplicationError) as bad:
            s.recommendation_materials_list(actor=admin, recommendation_id=lead.pk, items=items)
        assert field_text in bad.value.field_errors["items"][0]
    # the enterprise and the other bank may not list
    with pytest.raises(ApplicationError) as enterprise:
        s.recommendation_materials_list(actor=user, recommendation_id=lead.pk, items=["营业执照"])
    assert enterprise.value.code in ("permission_denied", "not_found")
    with pytest.raises(ApplicationError) as other_bank:
        s.recommendation_materials_list(actor=world.users["ccb_admin"], recommendation_id=lead.pk, items=["营业执照"])
    assert other_bank.value.code == "not_found"
    assert fresh(lead).materials_stage == MaterialsStage.UNLISTED


# --- submitted, confirmed, sent back --------------------------------------------------------------


def test_企业上传并声明材料已提交_银行须在5个工作日内确认_银行收到通知(world):
    """The enterprise uploads the listed materials (naming the item each answers) and declares them
    submitted: the bank's 5-working-day materials clock starts, and the bank is told by when."""
    declaration, user, leads = contacted(world, ("boc",))
    lead = leads["boc"]
    admin, manager = world.users["boc_admin"], world.users["boc_manager"]
    s.recommendations_assign(actor=admin, recommendation_ids=[lead.pk], manager_id=manager.pk)
    with time_machine.travel(at(2026, 3, 2), tick=False):  # a Monday
        s.recommendation_materials_list(actor=manager, recommendation_id=lead.pk, items=["营业执照", "经营流水"])
        material = materials.material_upload(
            actor=user,
            declaration_id=declaration.pk,
            uploaded_file=SimpleUploadedFile("执照.pdf", PDF),
            item="营业执照",
        )
        # the enterprise cannot submit twice, nor before the list
        s.recommendation_materials_submit(actor=user, recommendation_id=lead.pk, note="流水随后补交")
    assert material.item == "营业执照" and material.recommendation is None
    lead = fresh(lead)
    assert lead.materials_stage == MaterialsStage.AWAITING_BANK and lead.materials_submitted_at == at(2026, 3, 2)
    assert lead.state == RecommendationState.CONTACTED  # the decision clock has not started
    clock = DeadlineClock.objects.get(recommendation=lead, kind=ClockKind.MATERIALS)
    # 3-03 (1) … 3-06 (4), 3-09 (5): due at the end of Monday 2026-03-09
    assert clock.state == ClockState.RUNNING and clock.due_at.astimezone(SH).date() == dt.date(2026, 3, 9)
    assert not DeadlineClock.objects.filter(recommendation=lead, kind=ClockKind.DECISION).exists()
    with pytest.raises(ApplicationError) as twice:
        s.recommendation_materials_submit(actor=user, recommendation_id=lead.pk)
    assert twice.value.code == "conflict" and "正待银行确认" in twice.value.message
    # the bank (its manager and the branch's administrator) hears by when it must answer
    for bank_user in (manager, admin):
        assert any("已提交申请材料" in t and "2026-03-09" in t for t in titles(bank_user)), titles(bank_user)
    event = WorkflowEvent.objects.get(recommendation=lead, kind=EventKind.RECOMMENDATION_MATERIALS_SUBMITTED)
    assert event.actor == user and event.data["note"] == "流水随后补交" and event.data["files"] == 1
    # and while it waits for the bank, the bank cannot rewrite its list
    with pytest.raises(ApplicationError) as relist:
        s.recommendation_materials_list(actor=manager, recommendation_id=lead.pk, items=["别的材料"])
    assert relist.value.code == "conflict" and "请先确认" in relist.value.message


def test_银行不列明材料也拖不住时限_企业可按产品公布的材料清单提交(world):
    """The bank cannot hold the 30-day clock back by never listing: while it has listed nothing,
    the enterprise submits against the product's published list, which becomes the lead's list,
    and the bank's 5 working days start all the same."""
    declaration, user, leads = contacted(world, ("boc",))
    lead = leads["boc"]
    client = Client()
    client.force_login(user)
    html = client.get(f"/matching/declarations/{declaration.pk}/").content.decode()
    catalogue = lead.product_version.definition["materials"]
    assert "产品公布的材料清单" in html and catalogue[0] in html
    s.recommendation_materials_submit(actor=user, recommendation_id=lead.pk)
    lead = fresh(lead)
    assert lead.materials_stage == MaterialsStage.AWAITING_BANK and lead.materials_required == catalogue
    assert DeadlineClock.objects.get(recommendation=lead, kind=ClockKind.MATERIALS).state == ClockState.RUNNING
    event = WorkflowEvent.objects.get(recommendation=lead, kind=EventKind.RECOMMENDATION_MATERIALS_SUBMITTED)
    assert event.data["required"] == catalogue
    notice = Notification.objects.get(recipient=world.users["boc_admin"], title__contains="已提交申请材料")
    assert "产品公布的材料清单" in notice.body


def test_专班可代企业提交材料(world):
    """Seed 004 三(四) "指导企业填报信息": task-force staff submit on the enterprise's behalf."""
    declaration, user, leads = contacted(world, ("boc",))
    lead = leads["boc"]
    s.recommendation_materials_list(actor=world.users["boc_admin"], recommendation_id=lead.pk, items=["营业执照"])
    s.recommendation_materials_submit(actor=world.users["staff"], recommendation_id=lead.pk, note="纸质材料已交")
    assert fresh(lead).materials_stage == MaterialsStage.AWAITING_BANK
    # the other reviewers of the county may not
    for key in ("reviewer", "lead", "convener", "city"):
        assert not workflow.allows(workflow.Action.MATERIALS_SUBMIT, world.users[key], fresh(lead))


def test_银行确认材料已收齐_30日授信时限从确认时起算(world):
    declaration, user, leads = contacted(world, ("boc",))
    lead = leads["boc"]
    admin = world.users["boc_admin"]
    with time_machine.travel(at(2026, 3, 2), tick=False):
        s.recommendation_materials_list(actor=admin, recommendation_id=lead.pk, items=["营业执照"])
        s.recommendation_materials_submit(actor=user, recommendation_id=lead.pk)
    with time_machine.travel(at(2026, 3, 4, 15), tick=False):
        s.recommendation_materials_complete(actor=admin, recommendation_id=lead.pk)
    lead = fresh(lead)
    assert lead.state == RecommendationState.UNDER_REVIEW and lead.materials_stage == MaterialsStage.CONFIRMED
    assert lead.materials_complete_at == at(2026, 3, 4, 15) and not lead.materials_auto_started
    decision = DeadlineClock.objects.get(recommendation=lead, kind=ClockKind.DECISION)
    assert decision.started_at == at(2026, 3, 4, 15) and decision.due_at.astimezone(SH).date() == dt.date(2026, 4, 3)
    assert DeadlineClock.objects.get(recommendation=lead, kind=ClockKind.MATERIALS).state == ClockState.SATISFIED
    assert any("申请材料收齐" in t and "2026-04-03" in t for t in titles(user)), titles(user)
    # the ledger: confirmed by the bank
    row = ledger.ledger_rows(world.users["staff"])[0]
    assert row["materials_complete_on"] == "2026-03-04" and row["materials_complete_how"] == "银行确认收齐"


def test_银行列明缺少的材料_退回企业补充_补交后重新计时(world):
    declaration, user, leads = contacted(world, ("boc",))
    lead = leads["boc"]
    admin = world.users["boc_admin"]
    with time_machine.travel(at(2026, 3, 2), tick=False):
        s.recommendation_materials_list(actor=admin, recommendation_id=lead.pk, items=["营业执照", "经营流水"])
        s.recommendation_materials_submit(actor=user, recommendation_id=lead.pk)
    first = DeadlineClock.objects.get(recommendation=lead, kind=ClockKind.MATERIALS)
    # when the bank names what is missing on day 3 (one listed item and one new one)
    with time_machine.travel(at(2026, 3, 5), tick=False):
        s.recommendation_materials_supplement(
            actor=admin, recommendation_id=lead.pk, missing=["经营流水", "纳税证明"], note="流水只有 3 个月"
        )
    lead = fresh(lead)
    # then it goes back to the enterprise with the list; the new item joins the bank's list
    assert lead.materials_stage == MaterialsStage.SUPPLEMENT and lead.materials_missing == ["经营流水", "纳税证明"]
    assert (
        lead.materials_required == ["营业执照", "经营流水", "纳税证明"] and lead.state == RecommendationState.CONTACTED
    )
    first = DeadlineClock.objects.get(pk=first.pk)
    assert first.state == ClockState.SATISFIED and first.satisfied_at == at(2026, 3, 5)
    notice = Notification.objects.get(recipient=user, title__contains="补充申请材料")
    assert "纳税证明" in notice.title and "流水只有 3 个月" in notice.body
    # nothing to send back a second time until the enterprise submits again
    with pytest.raises(ApplicationError) as again:
        s.recommendation_materials_supplement(actor=admin, recommendation_id=lead.pk, missing=["营业执照"])
    assert again.value.code == "conflict" and "尚未提交" in again.value.message
    # and its next submission starts a new 5-working-day clock
    with time_machine.travel(at(2026, 3, 10), tick=False):
        s.recommendation_materials_submit(actor=user, recommendation_id=lead.pk)
    second = DeadlineClock.objects.get(recommendation=lead, kind=ClockKind.MATERIALS, state=ClockState.RUNNING)
    assert second.pk != first.pk and second.due_at.astimezone(SH).date() == dt.date(2026, 3, 17)
    assert fresh(lead).materials_missing == ["经营流水", "纳税证明"]  # shown until the bank answers
    # a bank that answered in time leaves nothing for the scan to start
    assert deadline_scan(now=at(2026, 3, 12)).auto_started == 0


def test_银行5个工作日内未确认也未要求补充_30日授信时限于期满时自动起算_跨国庆假期(world):
    """Issue 15 item 17: "if it does neither, the 30-day clock starts automatically at the end of
    those 5 working days and the ledger shows 自动起算". Submitted on Wed 2026-09-30: 国庆节
    10-01..10-07 off, Sat 10-10 an adjusted working day, so the 5 working days are 10-08, 10-09,
    10-10, 10-12 and 10-13."""
    declaration, user, leads = contacted(world, ("boc",))
    lead = leads["boc"]
    admin, manager = world.users["boc_admin"], world.users["boc_manager"]
    s.recommendations_assign(actor=admin, recommendation_ids=[lead.pk], manager_id=manager.pk)
    with time_machine.travel(at(2026, 9, 29), tick=False):
        s.recommendation_materials_list(actor=manager, recommendation_id=lead.pk, items=["营业执照"])
    with time_machine.travel(at(2026, 9, 30), tick=False):
        s.recommendation_materials_submit(actor=user, recommendation_id=lead.pk)
    clock = DeadlineClock.objects.get(recommendation=lead, kind=ClockKind.MATERIALS)
    assert clock.due_at == dt.datetime(2026, 10, 13, 23, 59, 59, 999999, tzinfo=SH)

    # during the holiday nothing happens; on Mon 10-12 the bank is reminded, once
    assert (deadline_scan(now=at(2026, 10, 5)).reminders, deadline_scan(now=at(2026, 10, 5)).auto_started) == (0, 0)
    assert deadline_scan(now=at(2026, 10, 12, 9)).reminders == 1
    assert deadline_scan(now=at(2026, 10, 12, 9, 5)).reminders == 0
    assert sum("材料确认时限将到" in t for t in titles(manager)) == 1
    # still the bank's on 10-13 at 23:00
    assert deadline_scan(now=at(2026, 10, 13, 23)).auto_started == 0
    assert fresh(lead).state == RecommendationState.CONTACTED

    # when the scan runs after the end of 10-13
    scan = deadline_scan(now=at(2026, 10, 14, 0, 5))

    # then the decision clock started at the end of the 5th working day, by itself
    assert scan.auto_started == 1 and scan.overdue == 0
    lead = fresh(lead)
    assert lead.state == RecommendationState.UNDER_REVIEW and lead.materials_stage == MaterialsStage.AUTO_STARTED
    assert lead.materials_auto_started and lead.materials_complete_at == clock.due_at
    decision = DeadlineClock.objects.get(recommendation=lead, kind=ClockKind.DECISION)
    assert decision.started_at == clock.due_at and decision.due_at.astimezone(SH).date() == dt.date(2026, 11, 12)
    clock = DeadlineClock.objects.get(pk=clock.pk)
    assert clock.state == ClockState.LAPSED  # never "overdue": nothing to escalate, the clock moved on
    # the timeline says 自动起算
    event = WorkflowEvent.objects.get(recommendation=lead, kind=EventKind.RECOMMENDATION_MATERIALS_AUTO_STARTED)
    assert "自动起算" in event.get_kind_display() and event.actor is None
    assert event.data["started_at"] == clock.due_at.isoformat()
    # the bank and the enterprise are told, once each
    for who in (manager, admin):
        assert sum("自动起算" in t and "2026-11-12" in t for t in titles(who)) == 1, titles(who)
    assert sum("自动起算" in t and "2026-10-13" in t for t in titles(user)) == 1, titles(user)
    # a second scan changes nothing and sends nothing
    before = Notification.objects.count()
    again = deadline_scan(now=at(2026, 10, 14, 0, 10))
    assert again.auto_started == 0 and Notification.objects.count() == before
    assert DeadlineClock.objects.filter(recommendation=lead, kind=ClockKind.DECISION).count() == 1
    # the bank can no longer hold it back: 材料已收齐 and 补充材料 are refused, saying why
    for act in (
        lambda: s.recommendation_materials_complete(actor=manager, recommendation_id=lead.pk),
        lambda: s.recommendation_materials_supplement(actor=manager, recommendation_id=lead.pk, missing=["流水"]),
    ):
        with pytest.raises(ApplicationError) as late:
            act()
        assert late.value.code == "conflict" and "2026-10-13 自动起算" in late.value.message
    # the ledger (rows, page, export) shows 自动起算 for that lead
    staff = world.users["staff"]
    row = next(r for r in ledger.ledger_rows(staff) if r["id"] == lead.pk)
    assert row["materials_complete_on"] == "2026-10-13" and row["materials_complete_how"] == "自动起算"
    assert row["decision_overdue"] is False
    client = Client()
    client.force_login(staff)
    page = client.get("/matching/ledger/").content.decode()
    assert f'data-testid="auto-started-{lead.pk}"' in page and "自动起算" in page
    csv = ledger.ledger_export(actor=staff, filters={}, extension="csv").content.decode("utf-8-sig")
    header, line = csv.splitlines()[0], next(x for x in csv.splitlines() if declaration.entity.name in x)
    assert "材料收齐方式" in header and "自动起算" in line
    # and the lead page says so to the bank
    client.force_login(manager)
    assert 'data-testid="auto-started"' in client.get(f"/matching/leads/{lead.pk}/").content.decode()
    # for the statistics the materials are complete then too (决策及时率 counts the clock that started)
    facts.sync(full=True)
    fact = LedgerFact.objects.get(recommendation_id=lead.pk)
    assert fact.materials_at == event.created_at and fact.decision_due_at == decision.due_at
    assert kpis.fold([kpis.Event(event.kind, event.created_at)])["materials_at"] == event.created_at


def test_扫描与银行同时到达时_以先锁定线索者为准(world):
    """The scan claims the materials clock under the lead's row lock, the lock the bank's own
    answer takes: a bank that answered first leaves nothing to start (the scan's claim finds the
    clock answered)."""
    declaration, user, leads = contacted(world, ("boc",))
    lead = leads["boc"]
    admin = world.users["boc_admin"]
    with time_machine.travel(at(2026, 3, 2), tick=False):
        s.recommendation_materials_list(actor=admin, recommendation_id=lead.pk, items=["营业执照"])
        s.recommendation_materials_submit(actor=user, recommendation_id=lead.pk)
    # the bank confirms at 23:59 of the last day, the scan runs a minute later
    with time_machine.travel(at(2026, 3, 9, 23, 59), tick=False):
        s.recommendation_materials_complete(actor=admin, recommendation_id=lead.pk)
    assert deadline_scan(now=at(2026, 3, 10, 0, 1)).auto_started == 0
    assert fresh(lead).materials_stage == MaterialsStage.CONFIRMED
    assert not WorkflowEvent.objects.filter(kind=EventKind.RECOMMENDATION_MATERIALS_AUTO_STARTED).exists()


def test_页面版本已过时的操作被拒绝_并说明已由他人办理(world):
    """Two people on one lead: the page sends back what it showed; an answer given on a list
    someone else has just changed is refused with a clear message, not applied."""
    declaration, user, leads = contacted(world, ("boc",))
    lead = leads["boc"]
    admin, manager = world.users["boc_admin"], world.users["boc_manager"]
    s.recommendations_assign(actor=admin, recommendation_ids=[lead.pk], manager_id=manager.pk)
    s.recommendation_materials_list(actor=manager, recommendation_id=lead.pk, items=["营业执照"])
    seen_by_enterprise = fresh(lead).materials_version
    # the bank rewrites its list while the enterprise has the page open
    s.recommendation_materials_list(actor=admin, recommendation_id=lead.pk, items=["营业执照", "纳税证明"])
    with pytest.raises(ApplicationError) as stale:
        s.recommendation_materials_submit(actor=user, recommendation_id=lead.pk, version=seen_by_enterprise)
    assert stale.value.code == "conflict" and "刚刚已由他人办理" in stale.value.message
    assert fresh(lead).materials_stage == MaterialsStage.LISTED
    # with the page reloaded it goes through
    s.recommendation_materials_submit(actor=user, recommendation_id=lead.pk, version=fresh(lead).materials_version)
    seen = fresh(lead).materials_version
    s.recommendation_materials_complete(actor=admin, recommendation_id=lead.pk, version=seen)
    with pytest.raises(ApplicationError) as late:
        s.recommendation_materials_supplement(actor=manager, recommendation_id=lead.pk, missing=["流水"], version=seen)
    assert late.value.code == "conflict" and "刚刚已由他人办理" in late.value.message


# --- the bank's own files ---------------------------------------------------------------------------


def test_银行上传自行收集的材料_同样检查内容和大小_仅本线索的承办机构可见(world, settings):
    # given a declaration pushed to 中国银行 and 建设银行, and an administrator of another 中国银行
    # county branch (not above 泽州支行)
    declaration, user, leads = contacted(world)
    boc, ccb = leads["boc"], leads["ccb"]
    manager, admin = world.users["boc_manager"], world.users["boc_admin"]
    s.recommendations_assign(actor=admin, recommendation_ids=[boc.pk], manager_id=manager.pk)
    bank = Bank.objects.get(code="boc")
    jincheng = BankBranch.objects.get(bank=bank, level=BranchLevel.CITY, region_id="140500")
    other = branch_ensure(
        bank=bank,
        parent=jincheng,
        region=region("140581"),
        name="中国银行高平支行",
        level=BranchLevel.COUNTY,
        service_prefixes=["140581"],
    )
    sibling = user_with_role(Role.BANK_ADMIN, organisation=other.organisation, username="wf-boc-gaoping")

    # when the account manager uploads what he collected at the branch
    material = materials.lead_material_upload(
        actor=manager,
        recommendation_id=boc.pk,
        uploaded_file=SimpleUploadedFile("面谈记录.pdf", PDF, content_type="text/plain"),
        item="经营场所证明",
    )

    # then it is stored as the lead's, checked by its content, and audited
    assert material.recommendation_id == boc.pk and material.declaration_id == declaration.pk
    assert material.content_type == "application/pdf" and material.item == "经营场所证明"
    event = WorkflowEvent.objects.get(recommendation=boc, kind=EventKind.RECOMMENDATION_MATERIAL_UPLOADED)
    assert event.data["name"] == "面谈记录.pdf"
    assert AuditEvent.objects.filter(action="recommendation.material_upload").exists()
    # the same checks as the enterprise's: a PNG named .pdf, an oversize file, an empty file
    for name, content, text in (
        ("假.pdf", PNG, "与扩展名 .pdf 不符"),
        ("空.pdf", b"", "空文件"),
    ):
        with pytest.raises(ApplicationError) as refused:
            materials.lead_material_upload(
                actor=manager, recommendation_id=boc.pk, uploaded_file=SimpleUploadedFile(name, content)
            )
        assert text in refused.value.message
    big = SimpleUploadedFile("大.pdf", PDF + b"0" * materials.MAX_MATERIAL_BYTES)
    with pytest.raises(ApplicationError) as too_big:
        materials.lead_material_upload(actor=manager, recommendation_id=boc.pk, uploaded_file=big)
    assert "超过" in too_big.value.message
    # only the lead's branch uploads to it: the other bank and the enterprise may not
    for outsider in (world.users["ccb_admin"], sibling, user):
        with pytest.raises(ApplicationError) as denied:
            materials.lead_material_upload(
                actor=outsider, recommendation_id=boc.pk, uploaded_file=SimpleUploadedFile("x.pdf", PDF)
            )
        assert denied.value.code in ("not_found", "permission_denied")
    assert DeclarationMaterial.objects.filter(recommendation=boc).count() == 1

    # and it is downloaded as an attachment by the lead's branch, the enterprise and the county,
    # never by the other bank nor another branch of the same bank
    for who, visible in (
        (manager, True),
        (admin, True),
        (user, True),
        (world.users["staff"], True),
        (world.users["ccb_admin"], False),
        (world.users["ccb_manager"], False),
        (sibling, False),
    ):
        client = Client()
        client.force_login(who)
        response = client.get(f"/matching/materials/{material.pk}/download/")
        assert response.status_code == (200 if visible else 404), who.username
        if visible:
            assert response["Content-Disposition"].startswith("attachment")
            assert b"".join(response.streaming_content) == PDF
        api_list = api(who).get(f"/api/v1/declarations/{declaration.pk}/materials/")
        names = [m["original_name"] for m in api_list.json()] if api_list.status_code == 200 else []
        assert ("面谈记录.pdf" in names) == visible, who.username
    # the other bank's pages do not name it either
    client = Client()
    client.force_login(world.users["ccb_admin"])
    assert "面谈记录.pdf" not in client.get(f"/matching/declarations/{declaration.pk}/").content.decode()
    assert "面谈记录.pdf" not in client.get(f"/matching/leads/{ccb.pk}/").content.decode()
    detail = api(world.users["ccb_admin"]).get(f"/api/v1/declarations/{declaration.pk}/").json()
    assert detail["materials_count"] == 0


def test_银行收集的材料可对应清单项_银行可在自行收集后确认收齐(world):
    declaration, user, leads = contacted(world, ("boc",))
    lead = leads["boc"]
    admin = world.users["boc_admin"]
    s.recommendation_materials_list(actor=admin, recommendation_id=lead.pk, items=["营业执照", "经营流水"])
    materials.lead_material_upload(
        actor=admin, recommendation_id=lead.pk, uploaded_file=SimpleUploadedFile("流水.pdf", PDF), item="经营流水"
    )
    client = Client()
    client.force_login(admin)
    html = client.get(f"/matching/leads/{lead.pk}/").content.decode()
    assert "✔ 已上传</span> 经营流水" in html and "○ 未上传</span> 营业执照" in html
    # the bank confirms complete without the enterprise's submission (it collected them itself)
    s.recommendation_materials_complete(actor=admin, recommendation_id=lead.pk)
    assert fresh(lead).state == RecommendationState.UNDER_REVIEW


# --- pages and API ------------------------------------------------------------------------------


def test_页面_银行列明_企业提交_银行要求补充_企业补交_银行确认(world):
    declaration, user, leads = contacted(world, ("boc",))
    lead = leads["boc"]
    bank, enterprise, staff = Client(), Client(), Client()
    bank.force_login(world.users["boc_admin"])
    enterprise.force_login(user)
    staff.force_login(world.users["staff"])
    lead_page = f"/matching/leads/{lead.pk}/"
    case_page = f"/matching/declarations/{declaration.pk}/"

    # the bank's lead page offers the product's list to start from
    html = bank.get(lead_page).content.decode()
    assert f'action="/matching/leads/{lead.pk}/act/materials-list/"' in html
    assert lead.product_version.definition["materials"][0] in html
    # before the bank lists, the enterprise's page offers the product's published list
    assert "产品公布的材料清单" in enterprise.get(case_page).content.decode()
    version = fresh(lead).materials_version
    bank.post(f"/matching/leads/{lead.pk}/act/materials-list/", {"items": "营业执照\n经营流水", "version": version})
    assert fresh(lead).materials_required == ["营业执照", "经营流水"]

    # the enterprise's case page shows the list, an upload naming an item, and 材料已提交
    html = enterprise.get(case_page).content.decode()
    assert "○ 未上传</span> 营业执照" in html and f"/matching/leads/{lead.pk}/act/materials-submit/" in html
    assert '<option value="经营流水">经营流水</option>' in html
    enterprise.post(
        f"/matching/declarations/{declaration.pk}/materials/",
        {"files": SimpleUploadedFile("执照.pdf", PDF), "item": "营业执照"},
    )
    assert "✔ 已上传</span> 营业执照" in enterprise.get(case_page).content.decode()
    # the declaration page of the staff shows the same button (代为提交)
    assert f"/matching/leads/{lead.pk}/act/materials-submit/" in staff.get(case_page).content.decode()
    response = enterprise.post(
        f"/matching/leads/{lead.pk}/act/materials-submit/",
        {"next": case_page, "version": fresh(lead).materials_version},
    )
    assert response.status_code == 302 and response["Location"] == case_page
    assert fresh(lead).materials_stage == MaterialsStage.AWAITING_BANK
    assert "银行须于" in enterprise.get(case_page).content.decode()

    # the bank sees by when, and sends it back naming one item of the list and one new one
    html = bank.get(lead_page).content.decode()
    assert 'data-testid="materials-clock"' in html and "materials-supplement" in html
    bank.post(
        f"/matching/leads/{lead.pk}/act/materials-supplement/",
        {"missing": ["经营流水"], "extra": "纳税证明\n", "note": "请补全", "version": fresh(lead).materials_version},
    )
    lead = fresh(lead)
    assert lead.materials_stage == MaterialsStage.SUPPLEMENT and lead.materials_missing == ["经营流水", "纳税证明"]
    assert "待补充" in enterprise.get(case_page).content.decode()
    # staff submit the supplement on the enterprise's behalf; the bank confirms
    staff.post(f"/matching/leads/{lead.pk}/act/materials-submit/", {"next": case_page})
    bank.post(f"/matching/leads/{lead.pk}/act/materials/", {"version": fresh(lead).materials_version})
    lead = fresh(lead)
    assert lead.state == RecommendationState.UNDER_REVIEW and lead.materials_stage == MaterialsStage.CONFIRMED
    kinds = list(WorkflowEvent.objects.filter(recommendation=lead).values_list("kind", flat=True))
    html = enterprise.get(case_page).content.decode()
    for kind in kinds:
        assert EventKind(kind).label in html, kind
    # a stale page's answer is refused with the message, nothing written
    response = bank.post(f"/matching/leads/{lead.pk}/act/materials-list/", {"items": "x", "version": "listed.1.1"})
    assert fresh(lead).materials_required != ["x"]


def test_接口_材料清单_提交_补充_收齐与银行上传(world):
    declaration, user, leads = contacted(world, ("boc",))
    lead = leads["boc"]
    bank, enterprise = api(world.users["boc_admin"]), api(user)
    base = f"/api/v1/leads/{lead.pk}"
    # roles the table never allows are refused before the input is read
    assert enterprise.post(f"{base}/materials-list/", {"items": ["营业执照"]}, format="json").status_code == 403
    assert bank.post(f"{base}/materials-submit/", {}, format="json").status_code == 403
    # the bank lists; the answer carries the materials block
    response = bank.post(
        f"{base}/materials-list/", {"items": ["营业执照", "经营流水"], "note": "原件核验"}, format="json"
    )
    assert response.status_code == 200, response.content
    block = response.json()["materials"]
    assert block["stage"] == MaterialsStage.LISTED and block["required"] == ["营业执照", "经营流水"]
    assert block["stage_display"] == "待企业提交材料" and not block["auto_started"]
    # a bad list is a 400 with the field's Chinese error
    bad = bank.post(f"{base}/materials-list/", {"items": []}, format="json")
    assert bad.status_code == 400 and "至少" in bad.json()["errors"]["items"][0]
    # the enterprise submits with the version it saw; a stale version is a 409
    stale = enterprise.post(f"{base}/materials-submit/", {"version": "listed.0.0"}, format="json")
    assert stale.status_code == 409 and "他人" in stale.json()["message"]
    response = enterprise.post(f"{base}/materials-submit/", {"version": block["version"]}, format="json")
    assert response.status_code == 200 and response.json()["materials"]["stage"] == MaterialsStage.AWAITING_BANK
    assert response.json()["materials_confirm_due_at"] is not None
    # the bank asks for more, then uploads a file it collected and lists the lead's files
    response = bank.post(f"{base}/materials-supplement/", {"missing": ["经营流水"]}, format="json")
    assert response.status_code == 200 and response.json()["materials"]["missing"] == ["经营流水"]
    upload = bank.post(
        f"{base}/materials/", {"file": SimpleUploadedFile("流水.pdf", PDF), "item": "经营流水"}, format="multipart"
    )
    assert upload.status_code == 201 and upload.json()["recommendation"] == lead.pk
    assert upload.json()["item"] == "经营流水"
    listed = bank.get(f"{base}/materials/").json()
    assert [m["original_name"] for m in listed] == ["流水.pdf"]
    assert api(world.users["ccb_admin"]).get(f"{base}/materials/").status_code == 404
    # and confirms complete
    response = bank.post(f"{base}/materials-complete/", {}, format="json")
    assert response.status_code == 200 and response.json()["state"] == RecommendationState.UNDER_REVIEW
    assert response.json()["materials"]["stage"] == MaterialsStage.CONFIRMED
