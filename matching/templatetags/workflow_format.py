"""How the pages show a workflow state: a badge whose colour says how the object stands
(ended without success, set aside, reached its goal, or under way)."""

from django import template

from matching.models import DeclarationState, RecommendationState

register = template.Library()

D, R = DeclarationState, RecommendationState
TONES = (
    ("text-bg-danger", {D.REJECTED, D.REMOVED, R.DECLINED, R.REMOVED}),
    ("text-bg-secondary", {D.DRAFT, D.WITHDRAWN, R.NOT_DRAWN}),
    ("text-bg-success", {D.RECOMMENDED, R.APPROVED, R.DISBURSED}),
)
UNDER_WAY = "text-bg-primary"


@register.filter
def state_tone(obj) -> str:
    """The badge class of a declaration's, a lead's or a batch's state."""
    for tone, states in TONES:
        if obj.state in states:
            return tone
    return UNDER_WAY
