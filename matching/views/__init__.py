"""Pages of the workflow. Thin: parse the form, call one service or selector, render.
A refused action (ApplicationError) comes back as a Chinese message on the same page.
Every button a page shows is what the workflow table (matching/workflow.py) allows the user on
that object now (`workflow.allows`), the progress steps follow the table's path, and what a
template needs to know of a state (a draft, a finished lead) is decided here from the table,
never by comparing state strings in the template."""

from matching.views.batches import BatchDetailView, BatchListView
from matching.views.declarations import (
    BankRecommendView,
    DeclarationActionView,
    DeclarationDetailView,
    DeclarationEditView,
    DeclarationExportView,
    DeclarationImportView,
    DeclarationListView,
    DeclareView,
    MaterialDownloadView,
    MaterialUploadView,
    ReviewQueueView,
    StaffDeclareView,
)
from matching.views.direct import DirectApplyView
from matching.views.leads import (
    LeadActionView,
    LeadContactRevealView,
    LeadDetailView,
    LeadInboxView,
    LeadMaterialUploadView,
)
from matching.views.visits import NotificationListView, OverdueView, VisitListView

__all__ = [
    "DirectApplyView",
    "BankRecommendView",
    "BatchDetailView",
    "BatchListView",
    "DeclarationActionView",
    "DeclarationDetailView",
    "DeclarationEditView",
    "DeclarationExportView",
    "DeclarationImportView",
    "DeclarationListView",
    "DeclareView",
    "LeadActionView",
    "LeadContactRevealView",
    "LeadDetailView",
    "LeadInboxView",
    "LeadMaterialUploadView",
    "MaterialDownloadView",
    "MaterialUploadView",
    "NotificationListView",
    "OverdueView",
    "ReviewQueueView",
    "StaffDeclareView",
    "VisitListView",
]
