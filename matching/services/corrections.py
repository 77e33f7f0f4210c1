"""Corrections (issue 16 item 6): what was recorded by mistake — a lead's state, its decision, a
drawdown, a file the bank uploaded, a declaration signed into a batch not pushed yet — is
corrected with a reason by the bank administrator of the lead's branch (or above), or by the
convener for his unpushed batch. Who may correct what in which state is the workflow table's
(matching/workflow.py, the correction rows, `Rule.correction`).

Nothing is erased: the original event stays on the timeline and its audit row in the audit
log; the correction is an event of its own (before → after and the reason) and an audit row
of its own. The figures fold the correction events (reporting.kpis), so the figures as of a
moment before a correction still show what was recorded then, and those after it the
corrected facts; the statistics index is synced by the correction's commit
(`workflow.record` → hooks.ledger_changed), never by a read.

A 授信 recorded instead of a 不予授信 (or the reverse) is corrected in two steps a reader can
follow on the timeline: the decision is taken back (CORRECT_STATE: the lead is 审批中 again, its
decision clock runs again with its due moment unchanged), then the bank records the right
decision through the ordinary action. A wrong amount, rate, term or flag of a 授信 is corrected
in place (CORRECT_DECISION); a drawdown is corrected in amount or voided (CORRECT_DRAWDOWN:
the lead is 已授信 again once none is left).

Two administrators correcting one lead: the row lock serialises them; each page sends the
version of the lead it showed (`correction_version`), and the second finds it moved and gets a
clear message instead of correcting a lead he has not seen."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from matching import hooks, workflow
from matching.models import (
    ClockKind,
    ClockState,
    DeadlineClock,
    Declaration,
    DeclarationMaterial,
    Disbursement,
    Guarantee,
    MaterialsStage,
    Recommendation,
    RecommendationState,
)
from matching.services.leads import BIGINT_MAX, approval_terms
from matching.workflow import Action
from portal.services import ApplicationError, audit_record
from portal.tenancy import VIEW, resolve

REASON_MAX = 500
R = RecommendationState
# the action whose event put a lead in the state a CORRECT_STATE takes back
_INTO = {
    R.CONTACTED: Action.CONTACT,
    R.UNDER_REVIEW: Action.MATERIALS_COMPLETE,
    R.APPROVED: Action.APPROVE,
    R.DECLINED: Action.DECLINE,
    R.NOT_DRAWN: Action.NOT_DRAWN,
}


def correction_version(recommendation: Recommendation) -> str:
    """What the administrator saw of the lead when he opened the page: its state and the
    moment of its last change. A correction sent with another version finds the lead moved."""
    moment = int(recommendation.updated_at.timestamp() * 1_000_000) if recommendation.updated_at else 0
    return f"{recommendation.state}.{moment}"


def _reason(reason) -> str:
    text = str(reason or "").strip()
    if not text:
        raise ApplicationError("请填写更正原因", field_errors={"reason": ["请填写更正原因"]})
    if len(text) > REASON_MAX:
        raise ApplicationError(
            f"更正原因最多 {REASON_MAX} 字", field_errors={"reason": [f"更正原因最多 {REASON_MAX} 字"]}
        )
    return text


def _lead(action: Action, *, actor, recommendation_id: int, version: str | None, reason) -> tuple[Recommendation, str]:
    """The lead locked for the correction, or a refusal: not visible → not found; a role the
    table does not allow → 403; another version than the page showed → 409 (someone else
    corrected or worked it meanwhile); a state the row does not allow → 409."""
    resolve(Recommendation, actor, VIEW, pk=recommendation_id)
    workflow.require_role(action, actor)
    lead = resolve(Recommendation, actor, workflow.rule(action).tenancy, lock=True, pk=recommendation_id)
    if version is not None and version != correction_version(lead):
        raise ApplicationError(
            f"该线索已被他人更正或办理(当前状态: {lead.get_state_display()}), 请刷新页面后重新确认",
            code="conflict",
        )
    workflow.require(action, actor, lead)
    text = _reason(reason)
    return lead, text


def _correcting(lead: Recommendation):
    """The correction's moment; the statistics index keeps the lead's rows as they were until
    then (hooks.correcting), before anything changes."""
    moment = timezone.now()
    hooks.correcting([lead.pk], moment)
    return moment


def _rate(value) -> str:
    """A rate as typed, whatever its column's places: 3.800 → 3.8, 10.000 → 10."""
    return format(Decimal(str(value)).normalize(), "f")


def _wan(yuan) -> str:
    return f"{Decimal(yuan or 0) / 10000:,.4f}".rstrip("0").rstrip(".")


def _decision_summary(before: dict, after: dict) -> str:
    """The terms that changed, in Chinese: 授信金额 10 万元 → 8 万元; 年利率 3.800% → 3.65%."""
    labels = {
        "credit_amount": ("授信金额", lambda v: f"{_wan(v)} 万元"),
        "rate_percent": ("年利率", lambda v: f"{v}%"),
        "term_months": ("期限", lambda v: f"{v} 个月"),
        "guarantee": ("担保方式", lambda v: Guarantee(v).label if v in Guarantee.values else "—"),
        "is_credit_loan": ("信用贷款", lambda v: "是" if v else "否"),
        "is_first_loan": ("首贷", lambda v: "是" if v else "否"),
    }
    return "; ".join(
        f"{label} {show(before[key])} → {show(after[key])}"
        for key, (label, show) in labels.items()
        if before[key] != after[key]
    )


def state_before_correction(lead: Recommendation):
    """The state a CORRECT_STATE takes the lead back to (for the confirmation's sentence)."""
    if lead.state not in _INTO:
        return None
    return R(workflow.effect(Action.CORRECT_STATE, workflow.correction_outcome(lead)).target)


def _state_moment(lead: Recommendation):
    """The moment of the event that put the lead in its current state (what a revert undoes)."""
    return {
        R.CONTACTED: lead.contacted_at,
        R.UNDER_REVIEW: lead.materials_complete_at,
        R.APPROVED: lead.decided_at,
        R.DECLINED: lead.decided_at,
    }.get(R(lead.state))


@transaction.atomic
def recommendation_state_correct(
    *, actor, recommendation_id: int, reason: str, version: str | None = None
) -> Recommendation:
    """更正线索状态 (workflow CORRECT_STATE): the lead goes back to the state before the one
    recorded by mistake (已对接 → 待对接, 材料已收齐 → 待收齐材料, 授信 or 不予授信 → before the
    decision, 未提款 → 已授信); the facts that state recorded are cleared on the lead (the event
    history keeps them), and the clocks it answered run again."""
    lead, text = _lead(
        Action.CORRECT_STATE, actor=actor, recommendation_id=recommendation_id, version=version, reason=reason
    )
    before_state = R(lead.state)
    outcome = workflow.correction_outcome(lead)  # for a decline, where it found the lead
    since = _state_moment(lead)
    moment = _correcting(lead)
    before = {"state": before_state.label}
    if before_state == R.CONTACTED:
        before.update(contacted_at=lead.contacted_at.isoformat() if lead.contacted_at else None)
        lead.contacted_at, lead.contact_channel, lead.contact_note = None, "", ""
    elif before_state == R.UNDER_REVIEW:
        before.update(materials_complete_at=lead.materials_complete_at.isoformat())
        answered = DeadlineClock.objects.filter(
            recommendation=lead, kind=ClockKind.MATERIALS, state=ClockState.SATISFIED, satisfied_at__gte=since
        ).exists()
        lead.materials_stage = (
            MaterialsStage.AWAITING_BANK
            if answered
            else MaterialsStage.LISTED
            if lead.materials_listed_at
            else MaterialsStage.UNLISTED
        )
        lead.materials_complete_at = None
    elif before_state == R.APPROVED:
        before.update(
            credit_amount=lead.credit_amount, rate_percent=str(lead.rate_percent), term_months=lead.credit_term_months
        )
        lead.decided_at = None
        lead.credit_amount = lead.rate_percent = lead.credit_term_months = None
        lead.guarantee, lead.is_credit_loan, lead.is_first_loan = "", None, None
        lead.override_reason, lead.override_by, lead.override_exceeded = "", None, []
    elif before_state == R.DECLINED:
        before.update(reason=lead.decline_reason.label if lead.decline_reason else "", note=lead.decline_note)
        lead.decided_at, lead.decline_reason, lead.decline_note = None, None, ""
    workflow.apply(lead, Action.CORRECT_STATE, outcome=outcome)
    lead.save()
    after_state = R(lead.state)
    # the event taken back (the figures fold it: reporting.kpis), and whether it was the bank's
    # first answer to the push (a contact, or a decline before any contact)
    undoes = workflow.effect(_INTO[before_state]).event
    feedback = before_state == R.CONTACTED or after_state == R.PUSHED
    workflow.record(
        Action.CORRECT_STATE,
        declaration=lead.declaration,
        recommendation=lead,
        actor=actor,
        recorded_at=moment,
        outcome=outcome,
        since=since,
        **{
            "from": before_state.value,
            "to": after_state.value,
            "undoes": undoes.value,
            "feedback": feedback,
            "correction_reason": text,
            "summary": f"{before_state.label} → {after_state.label}",
            "before": before,
        },
    )
    audit_record(
        actor=actor,
        action="recommendation.correct_state",
        obj=lead,
        before=before,
        after={"state": after_state.label, "reason": text},
    )
    return lead


@transaction.atomic
def recommendation_decision_correct(
    *,
    actor,
    recommendation_id: int,
    credit_amount: int,
    rate_percent: Decimal,
    term_months: int,
    guarantee: str,
    is_credit_loan: bool,
    is_first_loan: bool,
    reason: str,
    version: str | None = None,
) -> Recommendation:
    """更正授信决定 (workflow CORRECT_DECISION): the amount, rate, term, guarantee or flags of a
    授信 recorded wrongly, corrected in place; never below what was drawn. The administrator's
    correction is his to answer for (he may approve beyond the limits himself), with the reason."""
    lead, text = _lead(
        Action.CORRECT_DECISION, actor=actor, recommendation_id=recommendation_id, version=version, reason=reason
    )
    rate, errors = approval_terms(
        credit_amount=credit_amount,
        rate_percent=rate_percent,
        term_months=term_months,
        guarantee=guarantee,
        is_credit_loan=is_credit_loan,
    )
    if not errors and credit_amount < lead.disbursed_total:
        errors["credit_amount"] = [f"授信金额不能低于已放款金额 {lead.disbursed_total / 10000:g} 万元(请先更正放款)"]
    if errors:
        raise ApplicationError(next(iter(errors.values()))[0], field_errors=errors)
    before = {
        "credit_amount": lead.credit_amount,
        "rate_percent": _rate(lead.rate_percent),
        "term_months": lead.credit_term_months,
        "guarantee": lead.guarantee,
        "is_credit_loan": bool(lead.is_credit_loan),
        "is_first_loan": bool(lead.is_first_loan),
    }
    after = {
        "credit_amount": credit_amount,
        "rate_percent": _rate(rate),
        "term_months": term_months,
        "guarantee": guarantee,
        "is_credit_loan": bool(is_credit_loan),
        "is_first_loan": bool(is_first_loan),
    }
    if before == after:
        raise ApplicationError("更正后的授信内容与原内容相同, 无需更正", field_errors={"credit_amount": ["未作修改"]})
    moment = _correcting(lead)
    lead.credit_amount, lead.rate_percent, lead.credit_term_months = credit_amount, rate, term_months
    lead.guarantee, lead.is_credit_loan, lead.is_first_loan = guarantee, bool(is_credit_loan), bool(is_first_loan)
    lead.save()
    workflow.record(
        Action.CORRECT_DECISION,
        declaration=lead.declaration,
        recommendation=lead,
        actor=actor,
        recorded_at=moment,
        before=before,
        correction_reason=text,
        summary=_decision_summary(before, after),
        **after,
    )
    audit_record(
        actor=actor, action="recommendation.correct_decision", obj=lead, before=before, after={**after, "reason": text}
    )
    return lead


@transaction.atomic
def disbursement_correct(
    *,
    actor,
    recommendation_id: int,
    disbursement_id: int,
    reason: str,
    amount: int | None = None,
    void: bool = False,
    version: str | None = None,
) -> Disbursement:
    """更正放款 (workflow CORRECT_DRAWDOWN): one drawdown of the lead recorded with a wrong
    amount (corrected, within the credit) or recorded by mistake (voided: kept for the audit,
    no longer counted). Once none is left the lead is 已授信 again."""
    lead, text = _lead(
        Action.CORRECT_DRAWDOWN, actor=actor, recommendation_id=recommendation_id, version=version, reason=reason
    )
    # among the drawdowns of the lead resolved above: another lead's is unknown here
    drawdown = lead.disbursements.filter(voided_at__isnull=True, pk=disbursement_id).first()
    if drawdown is None:
        raise ApplicationError("该放款记录不存在或已作废", field_errors={"disbursement": ["请选择要更正的放款"]})
    old = drawdown.amount
    if void:
        new = 0
    else:
        if not isinstance(amount, int) or isinstance(amount, bool) or not 0 < amount <= BIGINT_MAX:
            raise ApplicationError("放款金额须为正整数(元)", field_errors={"amount": ["放款金额须为正整数(元)"]})
        if amount == old:
            raise ApplicationError("更正后的放款金额与原金额相同, 无需更正", field_errors={"amount": ["未作修改"]})
        new = amount
    total = lead.disbursed_total - old + new
    if total > (lead.credit_amount or 0):
        remaining = (lead.credit_amount or 0) - (lead.disbursed_total - old)
        raise ApplicationError(
            f"更正后的放款金额超过剩余授信额度 {remaining / 10000:g} 万元",
            field_errors={"amount": [f"不能超过剩余授信额度 {remaining / 10000:g} 万元"]},
        )
    moment = _correcting(lead)
    drawdown.correction_reason = text
    if void:
        drawdown.voided_at = moment
    else:
        drawdown.amount = new
    drawdown.save()
    lead.disbursed_total = total
    outcome = "none_left" if total == 0 and void else ""
    if outcome:
        workflow.apply(lead, Action.CORRECT_DRAWDOWN, outcome=outcome)
    lead.save()
    workflow.record(
        Action.CORRECT_DRAWDOWN,
        declaration=lead.declaration,
        recommendation=lead,
        actor=actor,
        recorded_at=moment,
        outcome=outcome,
        disbursement=drawdown.pk,
        amount_before=old,
        amount=new,
        voided=bool(void),
        correction_reason=text,
        summary=f"{drawdown.disbursed_on:%Y-%m-%d} 放款 {_wan(old)} 万元 → "
        + ("作废" if void else f"{_wan(new)} 万元"),
    )
    audit_record(
        actor=actor,
        action="recommendation.correct_disbursement",
        obj=lead,
        before={"disbursement": drawdown.pk, "amount": old},
        after={"disbursement": drawdown.pk, "amount": new, "voided": bool(void), "reason": text},
    )
    return drawdown


@transaction.atomic
def lead_material_withdraw(
    *, actor, recommendation_id: int, material_id: int, reason: str, version: str | None = None
) -> DeclarationMaterial:
    """撤回误传的材料 (workflow MATERIAL_WITHDRAW): a file the bank uploaded to its lead by
    mistake is withdrawn: it stays stored (the audit can open it) but no longer counts as a
    material of the lead."""
    lead, text = _lead(
        Action.MATERIAL_WITHDRAW, actor=actor, recommendation_id=recommendation_id, version=version, reason=reason
    )
    material = lead.bank_materials.filter(withdrawn_at__isnull=True, pk=material_id).first()
    if material is None:
        raise ApplicationError("该材料不存在或已撤回", field_errors={"material": ["请选择要撤回的材料"]})
    moment = timezone.now()  # a file is no figure: the statistics index does not change
    material.withdrawn_at, material.withdrawn_by, material.withdrawn_reason = moment, actor, text
    material.save(update_fields=["withdrawn_at", "withdrawn_by", "withdrawn_reason"])
    lead.save(update_fields=["updated_at"])
    workflow.record(
        Action.MATERIAL_WITHDRAW,
        declaration=lead.declaration,
        recommendation=lead,
        actor=actor,
        recorded_at=moment,
        material=material.pk,
        name=material.original_name,
        correction_reason=text,
        summary=f"撤回「{material.original_name}」(文件留存备查, 不再计为申请材料)",
    )
    audit_record(
        actor=actor,
        action="recommendation.material_withdraw",
        obj=lead,
        before={"material": material.original_name},
        after={"withdrawn": True, "reason": text},
    )
    return material


@transaction.atomic
def batch_entry_correct(*, actor, declaration_id: int, reason: str, batch_id: int | None = None) -> Declaration:
    """移出未推送的批次 (workflow CORRECT_BATCH_ENTRY): a declaration the convener signed into a
    batch by mistake leaves it before the push and is back in his queue (待签字); its sign-off
    step is kept on the record, with the correction after it."""
    declaration = workflow.acting_on(Action.CORRECT_BATCH_ENTRY, actor, declaration_id)
    if batch_id is not None and declaration.batch_id != batch_id:
        raise ApplicationError("该申报不在本批次中", code="not_found")
    text = _reason(reason)
    batch = declaration.batch
    workflow.apply(declaration, Action.CORRECT_BATCH_ENTRY)
    declaration.batch = None
    declaration.save()
    workflow.record(
        Action.CORRECT_BATCH_ENTRY,
        declaration=declaration,
        actor=actor,
        batch=batch.pk,
        correction_reason=text,
        summary=f"移出批次「{batch.title}」, 退回待签字",
    )
    audit_record(
        actor=actor,
        action="batch.entry_correct",
        obj=batch,
        before={"declaration": declaration.pk, "batch": batch.pk},
        after={"declaration": declaration.pk, "batch": None, "reason": text},
    )
    return declaration


__all__ = [
    "state_before_correction",
    "batch_entry_correct",
    "correction_version",
    "disbursement_correct",
    "lead_material_withdraw",
    "recommendation_decision_correct",
    "recommendation_state_correct",
]
