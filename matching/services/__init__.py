"""Every write of the 申报 → 推荐 workflow, split by resource: common (what the services share),
visits, declarations (filing, consent, submission, the three-level review), batches
(sign-off, push, 改推, removal from the list), leads (the bank side, coaching, rating),
corrections (what was recorded by mistake) and materials (a lead's application materials:
the bank's list, 材料已提交, 材料已收齐 or 补充材料, and the auto-start of the decision clock the deadline
scan applies). This package re-exports the services other modules call
(`services.batch_push`).

The lifecycle (workflow.md): a declaration is filed (by the enterprise, by task-force staff
on its behalf, one by one or in bulk, or by a bank recommending the entity) as a draft — never
while the entity has an open case (an open declaration, or a lead not yet decided at a bank:
`open_case`, the one rule of every path) — gets the enterprise's consent to share its data with
the intended banks, meets the five basic criteria or carries an exception reason (the 组长
confirms it before his approval; bulk approval waits for it: matching/criteria.py), is
submitted, passes 专班初审 → 专班银行审核 → 专班组长审核 (each may return
it to the draft with reasons, or reject it), is signed off by the convener into a batch of
the 推荐清单 and pushed: one recommendation per intended bank. The bank contacts, lists the
materials it needs, which the enterprise uploads and declares submitted; the bank confirms
them complete or names what is missing within 5 working days (else the 30-day decision clock
starts on its own), approves (within the product's and the need's limits, or by a bank
administrator's override with a reason) or declines, records drawdowns; the task force
coaches after a decline and may propose a re-recommendation (改推) to another bank, which is
a new draft that needs the enterprise's consent, the three reviews and the sign-off again,
never leaving the entity with more than two banks at a time.

What was recorded by mistake (a lead's state, a decision, a drawdown, a bank's file, a
declaration signed into an unpushed batch) is corrected with a reason (corrections): the
original stays on the timeline and in the audit log, the correction is an event of its own,
and the figures as of a moment before it are unchanged.

Who may do which action in which state, the maker-checker rules (the filer never does the
初审; a reviewer never edits what he reviews), the state each action leads to, the event it
records and what it does to the deadline clocks are the workflow table of
matching/workflow.py: each service resolves its object and calls `workflow.acting_on(...)` /
`workflow.require(...)` before anything else, moves it with `workflow.apply(obj, action)`
(a refused transition is a 409, never a 500) and writes the event with
`workflow.record(action, ...)`, which applies the row's clock rule (matching/clocks.py) at
that call: no hook runs behind a service's back.

Each service is keyword-only and atomic: it locks its row (select_for_update) through the
tenant restriction, records a WorkflowEvent and an audit event, and creates notifications
whose emails go out after commit. Two users acting on one record: the second waits for the
lock, then finds the state changed and gets a clear message."""

from matching.services.batches import batch_push, batch_signoff, recommendation_redirect, recommendation_remove
from matching.services.common import MAX_INTENDED_BANKS, case_in_progress, case_shown_open, open_case, task_force_for
from matching.services.corrections import (
    batch_entry_correct,
    correction_version,
    disbursement_correct,
    lead_material_withdraw,
    recommendation_decision_correct,
    recommendation_state_correct,
    state_before_correction,
)
from matching.services.declarations import (
    declaration_consent_record,
    declaration_create,
    declaration_criteria_exception_confirm,
    declaration_recommend_by_bank,
    declaration_review,
    declaration_submit,
    declaration_update,
    declaration_withdraw,
    declarations_review_bulk,
)
from matching.services.direct import direct_application_create, has_current_loan
from matching.services.leads import (
    approval_limits,
    coaching_record,
    recommendation_approve,
    recommendation_contact,
    recommendation_contact_reveal,
    recommendation_decline,
    recommendation_disburse,
    recommendation_not_drawn,
    recommendations_assign,
    satisfaction_rate,
)
from matching.services.materials import (
    recommendation_materials_complete,
    recommendation_materials_list,
    recommendation_materials_submit,
    recommendation_materials_supplement,
    suggested_materials,
)
from matching.services.visits import visit_record

__all__ = [
    "direct_application_create",
    "has_current_loan",
    "batch_entry_correct",
    "correction_version",
    "disbursement_correct",
    "lead_material_withdraw",
    "recommendation_decision_correct",
    "recommendation_state_correct",
    "state_before_correction",
    "MAX_INTENDED_BANKS",
    "approval_limits",
    "batch_push",
    "batch_signoff",
    "coaching_record",
    "declaration_consent_record",
    "declaration_create",
    "declaration_criteria_exception_confirm",
    "declaration_recommend_by_bank",
    "declaration_review",
    "declaration_submit",
    "declaration_update",
    "declaration_withdraw",
    "declarations_review_bulk",
    "case_in_progress",
    "case_shown_open",
    "open_case",
    "recommendation_approve",
    "recommendation_contact",
    "recommendation_contact_reveal",
    "recommendation_decline",
    "recommendation_disburse",
    "recommendation_materials_complete",
    "recommendation_materials_list",
    "recommendation_materials_submit",
    "recommendation_materials_supplement",
    "recommendation_not_drawn",
    "recommendation_redirect",
    "recommendation_remove",
    "recommendations_assign",
    "satisfaction_rate",
    "suggested_materials",
    "task_force_for",
    "visit_record",
]
