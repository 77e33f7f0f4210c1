"""What the workflow's pages share: ids from the query string, safe redirects, refusals, and
what a page shows of a lead's application materials."""

from __future__ import annotations

from django.contrib import messages
from django.utils.http import url_has_allowed_host_and_scheme

from matching import workflow
from matching.clocks import countdown
from matching.forms import CoachForm, RateForm, RedirectForm, RemoveForm
from matching.models import MaterialsStage
from matching.services.materials import open_materials_clock, suggested_materials
from portal import bounds
from portal.services import ApplicationError
from products.selectors import banks_serving


def _int_or_none(value):
    return bounds.query_id(value)


def _safe_next(request, default: str) -> str:
    """Only same-site relative paths: never an open redirect."""

    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


def _refused(request, error: ApplicationError):
    messages.error(request, error.message)


def _refused_all(request, error: ApplicationError):
    """The message and every other field error (e.g. each limit an approval exceeds), once each."""
    messages.error(request, error.message)
    seen = {error.message}
    for field_messages in (error.field_errors or {}).values():
        for message in field_messages:
            if message not in seen and message not in error.message:
                seen.add(message)
                messages.error(request, message)


def lead_materials(lead, files) -> dict:
    """What a page shows of a lead's materials: each item of the bank's list (while a contacted
    lead's bank has listed none, the product's published list, which the enterprise may submit
    against) with whether a file the user sees answers it (one of the declaration's, or one
    this lead's bank collected), what the bank named missing, and the bank's materials clock
    while a submission waits for it."""
    # a file withdrawn as uploaded by mistake (workflow MATERIAL_WITHDRAW) answers nothing
    answered = {f.item for f in files if f.item and f.recommendation_id in (None, lead.pk) and f.withdrawn_at is None}
    clock = open_materials_clock(lead)
    published = lead.materials_stage == MaterialsStage.UNLISTED and lead.state in workflow.states(
        workflow.Action.MATERIALS_SUBMIT
    )
    required = suggested_materials(lead) if published else lead.materials_required
    return {
        "published": published,
        "items": [{"name": item, "answered": item in answered} for item in required],
        "missing": list(lead.materials_missing),
        "clock": clock,
        "countdown": countdown(clock)[0] if clock else "",
    }


# the forms of each bank's recommendation on the declaration page, by the lead action they post
RECOMMENDATION_FORMS = {"rate": RateForm, "coach": CoachForm, "redirect": RedirectForm, "remove": RemoveForm}


def recommendation_forms(recommendation, data=None) -> dict:
    """The forms of one recommendation on its declaration's page ({action: form}), unbound or
    bound to `data` (a POST); their ids carry the action and the recommendation (a page shows
    one set per bank). Refused, the page is drawn again with the bound one (templates/portal/_field.html)."""
    forms = {}
    for action, form_class in RECOMMENDATION_FORMS.items():
        kwargs = {"auto_id": f"{action}-{recommendation.pk}-%s"}
        if form_class is RedirectForm:
            kwargs["banks"] = banks_serving(recommendation.declaration.region_id)
        forms[action] = form_class(data, **kwargs) if data is not None else form_class(**kwargs)
    return forms
