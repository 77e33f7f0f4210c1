"""The 申报清单 → 推荐清单 workflow: visits, declarations, reviews, recommendation batches,
recommendations (one entity → one intended bank), bank decisions, drawdowns, events.

Split by resource (visits, declarations, batches, leads, events, notifications, clocks); this
package imports every model (Django finds them as `matching.models`, app label `matching`,
tables unchanged) and re-exports them with their enums and state lists.

States and their legal transitions are declared here with django-fsm, and the kinds of the
events the workflow records (EventKind). Which action moves which state where, who may do it,
which event it records and what it does to the deadline clocks is the workflow table of
matching/workflow.py; every transition is applied by a service of matching/services/,
under a row lock, through `workflow.apply` (a refused transition is a 409, never a 500)."""

# isort: off
# in the order the models were declared when matching.models was one module, so that the
# registration order (apps.get_models(), the content types of a fresh database) stays the same
from matching.models.visits import Visit, VisitChannel
from matching.models.declarations import (
    BASIC_CRITERIA,
    BEFORE_SIGNOFF,
    OPEN_DECLARATION_STATES,
    REPAYMENT_CHOICES,
    REPAYMENT_UNDECIDED,
    Declaration,
    DeclarationBank,
    DeclarationMaterial,
    DeclarationSource,
    DeclarationState,
    ReviewDecision,
    ReviewStage,
    ReviewStep,
    material_upload_to,
)
from matching.models.batches import BatchState, RecommendationBatch
from matching.models.leads import (
    OPEN_RECOMMENDATION_STATES,
    Coaching,
    ContactChannel,
    DeclineReason,
    Disbursement,
    Guarantee,
    LeadOrigin,
    MaterialsStage,
    Recommendation,
    RecommendationGroupObjectPermission,
    RecommendationState,
    RecommendationUserObjectPermission,
)
from matching.models.events import EventKind, WorkflowEvent
from matching.models.notifications import Notification
from matching.models.clocks import REPEATABLE_CLOCKS, ClockKind, ClockState, DeadlineClock, DeadlineScan
# isort: on

__all__ = [
    "BASIC_CRITERIA",
    "BEFORE_SIGNOFF",
    "BatchState",
    "ClockKind",
    "ClockState",
    "Coaching",
    "ContactChannel",
    "DeadlineClock",
    "DeadlineScan",
    "Declaration",
    "DeclarationBank",
    "DeclarationMaterial",
    "DeclarationSource",
    "DeclarationState",
    "DeclineReason",
    "Disbursement",
    "EventKind",
    "Guarantee",
    "LeadOrigin",
    "MaterialsStage",
    "Notification",
    "OPEN_DECLARATION_STATES",
    "OPEN_RECOMMENDATION_STATES",
    "Recommendation",
    "REPAYMENT_CHOICES",
    "REPAYMENT_UNDECIDED",
    "REPEATABLE_CLOCKS",
    "RecommendationBatch",
    "RecommendationGroupObjectPermission",
    "RecommendationState",
    "RecommendationUserObjectPermission",
    "ReviewDecision",
    "ReviewStage",
    "ReviewStep",
    "Visit",
    "VisitChannel",
    "WorkflowEvent",
    "material_upload_to",
]
