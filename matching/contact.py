"""The enterprise's contact on a lead (issue 16): the operator's name and phone, which the
enterprise shared with its intended banks when it consented (Declaration.consent_given_at).
The lead page shows it masked to everyone; the account manager the lead is assigned to, and
he only, reveals it in clear while the lead is open (workflow CONTACT_REVEAL, an audited
POST: `matching.services.recommendation_contact_reveal`). Nothing is revealed on a GET."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from entities.personal_data import mask_phone
from matching.models import Recommendation


@dataclass(frozen=True)
class Contact:
    name: str
    phone: str
    revealed: bool  # shown in clear (after an audited reveal)
    consent_at: dt.datetime | None  # when the enterprise agreed to share its data with the banks


def mask_name(value: str | None) -> str:
    """'张伟' → '张*', '欧阳娜娜' → '欧***': the family name's first character only."""
    value = (value or "").strip()
    if not value:
        return ""
    return value[0] + "*" * max(len(value) - 1, 1)


def masked_contact(lead: Recommendation) -> Contact:
    entity = lead.entity
    return Contact(
        name=mask_name(entity.operator_name),
        phone=mask_phone(entity.operator_phone),
        revealed=False,
        consent_at=lead.declaration.consent_given_at,
    )


def clear_contact(lead: Recommendation) -> Contact:
    """The contact in clear: only for a caller that passed the workflow's CONTACT_REVEAL row."""
    entity = lead.entity
    return Contact(
        name=entity.operator_name or "",
        phone=entity.operator_phone or "",
        revealed=True,
        consent_at=lead.declaration.consent_given_at,
    )
