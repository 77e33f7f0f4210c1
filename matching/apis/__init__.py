"""The workflow's REST API (token or session auth): declarations, reviews, batches, leads,
visits, decline reasons, notifications, materials (the ledger's is reporting.apis).

Thin by design: each action validates its input with a nested Input serializer, calls one
service of matching.services (or materials / declaration_import / notifications) and renders the
result. Services raise portal.services.ApplicationError, which portal.api_support turns
into {"code", "message", "errors"} with 400 / 403 / 404 / 409. Every list goes through
restrict() (RestrictedViewSetMixin or a selector that calls it). Amounts are integer 元.

Permissions come from the workflow table (matching/workflow.py): an action on another
tenant's object answers 404 first; an action the caller's role may never perform answers 403
before its input is read (PolicyGateMixin); the service then checks the state (409) and the
maker-checker rules (403). Each action's documentation says who may do it in which state.
"""

from matching.apis.batches import BatchViewSet
from matching.apis.common import ERRORS, FILE_RENDERERS, IMPORT_MAX_BYTES
from matching.apis.declarations import DeclarationViewSet, MaterialViewSet
from matching.apis.leads import LeadViewSet
from matching.apis.visits import DeclineReasonViewSet, NotificationViewSet, VisitViewSet

__all__ = [
    "BatchViewSet",
    "DeclarationViewSet",
    "DeclineReasonViewSet",
    "ERRORS",
    "FILE_RENDERERS",
    "IMPORT_MAX_BYTES",
    "LeadViewSet",
    "MaterialViewSet",
    "NotificationViewSet",
    "VisitViewSet",
]
