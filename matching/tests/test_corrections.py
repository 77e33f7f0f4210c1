"""Corrections (issue 16 item 6: "a lead state, a decision, a drawdown, an uploaded file or an
unpushed batch entry recorded by mistake can be corrected by the bank administrator (or the
convener for batches) with a reason; the correction is an event on the timeline, the audit log
has both"): each kind through its service, who may and who may not, the reason, the state, and
what it does to the clocks (seed 004 五(六): 30 日 from complete materials)."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from matching import materials, workflow
from matching import services as s
from matching.factories import declare, pushed, through_reviews
from matching.models import (
    ClockKind,
    ClockState,
    DeadlineClock,
    Declaration,
    DeclarationState,
    Disbursement,
    EventKind,
    Recommendation,
    RecommendationState,
    WorkflowEvent,
)
from matching.views.common import lead_materials
from portal.audit_log import ACTION_LABELS
from portal.models import AuditEvent
from portal.services import ApplicationError

pytestmark = pytest.mark.django_db
PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
R = RecommendationState


def _fresh(lead) -> Recommendation:
    return Recommendation.objects.get(pk=lead.pk)


def _approved(world, lead, amount=100_000):
    admin = world.users["boc_admin"]
    s.recommendation_contact(actor=admin, recommendation_id=lead.pk)
    s.recommendation_materials_complete(actor=admin, recommendation_id=lead.pk)
    s.recommendation_approve(
        actor=admin,
        recommendation_id=lead.pk,
        credit_amount=amount,
        rate_percent="3.8",
        term_months=12,
        guarantee="credit",
        is_credit_loan=True,
        is_first_loan=False,
    )
    return _fresh(lead)


def _refused(call) -> ApplicationError:
    with pytest.raises(ApplicationError) as caught:
        call()
    return caught.value


@pytest.fixture
def lead(world):
    _, _, leads = pushed(world, banks=("boc",))
    return leads["boc"]


def test_撤销误登记的已对接_回到待对接_反馈时限恢复计时(world, lead):
    admin = world.users["boc_admin"]
    # given a lead recorded 已对接 by mistake (its 5-working-day feedback clock answered)
    s.recommendation_contact(actor=admin, recommendation_id=lead.pk)
    assert DeadlineClock.objects.get(recommendation=lead, kind=ClockKind.FEEDBACK).state == ClockState.SATISFIED

    # when the bank administrator takes it back with a reason
    s.recommendation_state_correct(actor=admin, recommendation_id=lead.pk, reason="误点已对接, 实际尚未联系企业")

    # then the lead waits for contact again, its feedback clock runs again (due moment unchanged)
    lead = _fresh(lead)
    assert lead.state == R.PUSHED and lead.contacted_at is None
    clock = DeadlineClock.objects.get(recommendation=lead, kind=ClockKind.FEEDBACK)
    assert clock.state == ClockState.RUNNING and clock.satisfied_at is None
    # and the timeline has both events, the correction with its reason, before → after
    kinds = list(WorkflowEvent.objects.filter(recommendation=lead).order_by("id").values_list("kind", flat=True))
    assert kinds[-2:] == [EventKind.RECOMMENDATION_CONTACTED, EventKind.RECOMMENDATION_STATE_CORRECTED]
    event = WorkflowEvent.objects.filter(recommendation=lead).latest("id")
    assert event.data["from"] == "contacted" and event.data["to"] == "pushed"
    assert event.data["correction_reason"] == "误点已对接, 实际尚未联系企业" and event.actor == admin
    assert event.data["summary"] == "待收齐材料 → 待对接"
    assert EventKind(event.kind).label == "更正: 撤销误登记的状态"
    # and the audit log has both rows: the original contact and the correction, in Chinese
    actions = list(AuditEvent.objects.filter(object_id=str(lead.pk)).order_by("id").values_list("action", flat=True))
    assert "recommendation.contact" in actions and actions[-1] == "recommendation.correct_state"
    correction = AuditEvent.objects.filter(action="recommendation.correct_state").latest("id")
    assert correction.before["state"] == "待收齐材料" and correction.after["state"] == "待对接"
    assert ACTION_LABELS["recommendation.correct_state"]


def test_撤销误登记的材料已收齐_撤销30日授信时限_再次收齐时重新起算(world, lead):
    admin = world.users["boc_admin"]
    s.recommendation_contact(actor=admin, recommendation_id=lead.pk)
    s.recommendation_materials_complete(actor=admin, recommendation_id=lead.pk)
    first = DeadlineClock.objects.get(recommendation=lead, kind=ClockKind.DECISION)

    # when 材料已收齐 is taken back
    s.recommendation_state_correct(actor=admin, recommendation_id=lead.pk, reason="材料尚缺流水")

    # then the lead waits for its materials and no decision clock runs ("30 日" counts from complete materials)
    lead = _fresh(lead)
    assert lead.state == R.CONTACTED and lead.materials_complete_at is None
    assert not DeadlineClock.objects.filter(recommendation=lead, kind=ClockKind.DECISION).exists()
    # and when they are really complete, the clock starts from then
    s.recommendation_materials_complete(actor=admin, recommendation_id=lead.pk)
    again = DeadlineClock.objects.get(recommendation=lead, kind=ClockKind.DECISION)
    assert again.pk != first.pk and again.started_at >= first.started_at


def test_授信误登记为不予授信_撤销后重新作出授信决定(world, lead):
    admin = world.users["boc_admin"]
    s.recommendation_contact(actor=admin, recommendation_id=lead.pk)
    s.recommendation_materials_complete(actor=admin, recommendation_id=lead.pk)
    s.recommendation_decline(actor=admin, recommendation_id=lead.pk, reason_code="no_need")
    decision = DeadlineClock.objects.get(recommendation=lead, kind=ClockKind.DECISION)
    assert decision.state == ClockState.SATISFIED

    # when the decline recorded by mistake is taken back
    s.recommendation_state_correct(actor=admin, recommendation_id=lead.pk, reason="误选不予授信, 实际已审批通过")

    # then the lead is 审批中 again, the decision clock runs with its due moment unchanged
    lead = _fresh(lead)
    assert lead.state == R.UNDER_REVIEW and lead.decline_reason is None and lead.decided_at is None
    reopened = DeadlineClock.objects.get(recommendation=lead, kind=ClockKind.DECISION)
    assert reopened.state == ClockState.RUNNING and reopened.due_at == decision.due_at
    # and the bank records the right decision through the ordinary action
    s.recommendation_approve(
        actor=admin,
        recommendation_id=lead.pk,
        credit_amount=100_000,
        rate_percent="3.8",
        term_months=12,
        guarantee="credit",
        is_credit_loan=True,
        is_first_loan=False,
    )
    assert _fresh(lead).state == R.APPROVED


def test_撤销误登记的授信_回到审批中(world, lead):
    lead = _approved(world, lead)
    s.recommendation_state_correct(actor=world.users["boc_admin"], recommendation_id=lead.pk, reason="误点授信")
    lead = _fresh(lead)
    assert lead.state == R.UNDER_REVIEW and lead.credit_amount is None
    assert DeadlineClock.objects.get(recommendation=lead, kind=ClockKind.DECISION).state == ClockState.RUNNING


def test_更正授信金额与利率_原记录保留(world, lead):
    admin = world.users["boc_admin"]
    lead = _approved(world, lead)
    # when the administrator corrects the amount and rate recorded wrongly
    s.recommendation_decision_correct(
        actor=admin,
        recommendation_id=lead.pk,
        credit_amount=80_000,
        rate_percent="3.65",
        term_months=12,
        guarantee="credit",
        is_credit_loan=True,
        is_first_loan=True,
        reason="金额录入错误, 审批书为 8 万元",
    )
    # then the lead holds the corrected decision, and the approval event still holds the original
    lead = _fresh(lead)
    assert (lead.credit_amount, str(lead.rate_percent), lead.is_first_loan) == (80_000, "3.650", True)
    approval = WorkflowEvent.objects.get(recommendation=lead, kind=EventKind.RECOMMENDATION_APPROVED)
    assert approval.data["credit_amount"] == 100_000
    correction = WorkflowEvent.objects.get(recommendation=lead, kind=EventKind.RECOMMENDATION_DECISION_CORRECTED)
    assert correction.data["before"]["credit_amount"] == 100_000 and correction.data["credit_amount"] == 80_000
    assert correction.data["summary"] == "授信金额 10 万元 → 8 万元; 年利率 3.8% → 3.65%; 首贷 否 → 是"
    audit = AuditEvent.objects.get(action="recommendation.correct_decision")
    assert audit.before["credit_amount"] == 100_000 and audit.after["credit_amount"] == 80_000


def test_更正授信金额不能低于已放款(world, lead):
    admin = world.users["boc_admin"]
    lead = _approved(world, lead)
    s.recommendation_disburse(actor=admin, recommendation_id=lead.pk, amount=60_000, disbursed_on=timezone.localdate())
    error = _refused(
        lambda: s.recommendation_decision_correct(
            actor=admin,
            recommendation_id=lead.pk,
            credit_amount=50_000,
            rate_percent="3.8",
            term_months=12,
            guarantee="credit",
            is_credit_loan=True,
            is_first_loan=False,
            reason="金额有误",
        )
    )
    assert "不能低于已放款金额" in error.field_errors["credit_amount"][0]


def test_更正放款金额_作废最后一笔放款后回到已授信(world, lead):
    admin = world.users["boc_admin"]
    lead = _approved(world, lead)
    drawdown = s.recommendation_disburse(
        actor=admin, recommendation_id=lead.pk, amount=60_000, disbursed_on=timezone.localdate()
    )
    # when its amount is corrected
    s.disbursement_correct(
        actor=admin, recommendation_id=lead.pk, disbursement_id=drawdown.pk, amount=50_000, reason="放款金额录错"
    )
    assert _fresh(lead).disbursed_total == 50_000 and Disbursement.objects.get(pk=drawdown.pk).amount == 50_000
    # and when it is voided as recorded by mistake
    s.disbursement_correct(
        actor=admin, recommendation_id=lead.pk, disbursement_id=drawdown.pk, void=True, reason="企业尚未提款"
    )
    # then it is kept, voided, and the lead is 已授信 with nothing drawn
    kept = Disbursement.objects.get(pk=drawdown.pk)
    assert kept.voided_at is not None and kept.correction_reason == "企业尚未提款"
    lead = _fresh(lead)
    assert lead.state == R.APPROVED and lead.disbursed_total == 0
    # a voided drawdown cannot be corrected again
    error = _refused(
        lambda: s.disbursement_correct(
            actor=admin, recommendation_id=lead.pk, disbursement_id=drawdown.pk, void=True, reason="再次作废"
        )
    )
    assert error.code == "conflict"  # 已授信: no drawdown to correct


def test_撤回误传的材料_文件保留但不再计为材料(world, lead, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "uploads"
    admin, manager = world.users["boc_admin"], world.users["boc_manager"]
    s.recommendation_contact(actor=admin, recommendation_id=lead.pk)
    s.recommendation_materials_list(actor=admin, recommendation_id=lead.pk, items=["营业执照"])
    s.recommendations_assign(actor=admin, recommendation_ids=[lead.pk], manager_id=manager.pk)
    file = materials.lead_material_upload(
        actor=manager, recommendation_id=lead.pk, uploaded_file=SimpleUploadedFile("别家执照.pdf", PDF), item="营业执照"
    )
    # when the administrator withdraws the file uploaded by mistake
    s.lead_material_withdraw(actor=admin, recommendation_id=lead.pk, material_id=file.pk, reason="传错企业的执照")
    # then it stays stored, marked withdrawn, and answers no item of the list
    file.refresh_from_db()
    assert file.withdrawn_at is not None and file.withdrawn_by == admin and file.file.storage.exists(file.file.name)
    files = list(materials.lead_material_list(actor=admin, recommendation_id=lead.pk))
    assert lead_materials(_fresh(lead), files)["items"] == [{"name": "营业执照", "answered": False}]
    assert WorkflowEvent.objects.filter(kind=EventKind.RECOMMENDATION_MATERIAL_WITHDRAWN, recommendation=lead).exists()


def test_召集人将误签字的申报移出未推送的批次(world):
    convener = world.users["convener"]
    entity, user = world.entity()
    declaration = declare(world, entity, user, banks=("boc",))
    through_reviews(world, declaration)
    batch = s.batch_signoff(actor=convener, declaration_ids=[declaration.pk])
    # a reason is required
    error = _refused(lambda: s.batch_entry_correct(actor=convener, declaration_id=declaration.pk, reason="  "))
    assert error.field_errors == {"reason": ["请填写更正原因"]}
    # when the convener takes it out before the push
    s.batch_entry_correct(actor=convener, declaration_id=declaration.pk, reason="该企业本批次不应列入")
    # then it is back in his queue, out of the batch, and the correction is on its timeline
    declaration = Declaration.objects.get(pk=declaration.pk)
    assert declaration.state == DeclarationState.LEAD_APPROVED and declaration.batch_id is None
    assert WorkflowEvent.objects.filter(declaration=declaration, kind=EventKind.DECLARATION_SIGNOFF_CORRECTED).exists()
    assert not batch.declarations.exists()
    # once a batch is pushed, its entries are no longer corrected this way
    other = s.batch_signoff(actor=convener, declaration_ids=[declaration.pk])
    s.batch_push(actor=convener, batch_id=other.pk)
    error = _refused(lambda: s.batch_entry_correct(actor=convener, declaration_id=declaration.pk, reason="晚了"))
    assert error.code == "conflict" and "已推送" in error.message


# --- who may correct, with what, in which state -------------------------------------------------


def test_客户经理_他行管理员_监管部门都不能更正(world, lead):
    lead = _approved(world, lead)
    s.recommendations_assign(
        actor=world.users["boc_admin"], recommendation_ids=[lead.pk], manager_id=world.users["boc_manager"].pk
    )

    def correct(actor):
        return lambda: s.recommendation_state_correct(actor=actor, recommendation_id=lead.pk, reason="误点")

    # the account manager working it: his role corrects nothing (403)
    assert _refused(correct(world.users["boc_manager"])).code == "permission_denied"
    # another bank's administrator does not see it: as if it did not exist (404)
    assert _refused(correct(world.users["ccb_admin"])).code == "not_found"
    # the city regulator sees it but corrects nothing
    assert _refused(correct(world.users["city"])).code == "permission_denied"
    assert _fresh(lead).state == R.APPROVED


def test_更正须填写原因(world, lead):
    lead = _approved(world, lead)
    error = _refused(
        lambda: s.recommendation_state_correct(actor=world.users["boc_admin"], recommendation_id=lead.pk, reason="")
    )
    assert error.field_errors == {"reason": ["请填写更正原因"]} and error.message == "请填写更正原因"


def test_状态不允许时给出明确提示(world, lead):
    admin = world.users["boc_admin"]
    # a pushed lead has nothing to take back; an unapproved one has no decision to correct
    assert (
        "当前状态"
        in _refused(
            lambda: s.recommendation_state_correct(actor=admin, recommendation_id=lead.pk, reason="误点")
        ).message
    )
    error = _refused(
        lambda: s.recommendation_decision_correct(
            actor=admin,
            recommendation_id=lead.pk,
            credit_amount=1,
            rate_percent="3",
            term_months=1,
            guarantee="credit",
            is_credit_loan=True,
            is_first_loan=False,
            reason="x",
        )
    )
    assert error.code == "conflict" and "只有已授信的线索" in error.message
    # a contact followed by a materials step is not taken back (the materials are corrected instead)
    s.recommendation_contact(actor=admin, recommendation_id=lead.pk)
    s.recommendation_materials_list(actor=admin, recommendation_id=lead.pk, items=["营业执照"])
    error = _refused(lambda: s.recommendation_state_correct(actor=admin, recommendation_id=lead.pk, reason="误点"))
    assert error.code == "conflict" and "不能撤销对接" in error.message


def test_页面显示后他人已更正_提示刷新(world, lead):
    admin = world.users["boc_admin"]
    lead = _approved(world, lead)
    seen = s.correction_version(lead)
    # another administrator corrects first
    s.recommendation_state_correct(actor=admin, recommendation_id=lead.pk, reason="误点授信", version=seen)
    # the second, sending the version his page showed, is told and changes nothing
    error = _refused(
        lambda: s.recommendation_state_correct(actor=admin, recommendation_id=lead.pk, reason="误点授信", version=seen)
    )
    assert error.code == "conflict" and "已被他人更正或办理" in error.message
    assert WorkflowEvent.objects.filter(kind=EventKind.RECOMMENDATION_STATE_CORRECTED).count() == 1


def test_更正不使办结的状态变为未办结():
    # a correction goes back; it does not make 不予授信 / 未提款 an unfinished state of the table
    assert workflow.final_states(Recommendation) == [R.DECLINED, R.NOT_DRAWN, R.REMOVED]
    assert all(workflow.rule(a).correction for a in workflow.LEAD_CORRECTIONS)
