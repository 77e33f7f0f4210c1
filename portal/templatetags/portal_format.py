from decimal import Decimal

from django import template

register = template.Library()


@register.filter
def wan(yuan) -> str:
    """Integer 元 → 万元 with two decimals ("30.00"); empty for unknown."""
    if yuan is None or yuan == "":
        return ""
    return f"{(Decimal(int(yuan)) / Decimal(10000)).quantize(Decimal('0.01')):,}"


@register.filter
def event_label(kind: str) -> str:
    from matching.models import EVENT_LABELS

    return EVENT_LABELS.get(kind, kind)
