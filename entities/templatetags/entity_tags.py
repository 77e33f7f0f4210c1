from decimal import Decimal

from django import template

from entities.personal_data import mask_phone

register = template.Library()


@register.filter
def wan(yuan):
    """Integer 元 → '85.00' 万元 (blank when unknown)."""
    if yuan is None or yuan == "":
        return "—"
    return f"{Decimal(yuan) / 10000:,.2f}"


@register.filter
def yes_no(value):
    return "未知" if value is None else ("是" if value else "否")


@register.filter
def phone_masked(value):
    return mask_phone(value) or "—"


@register.filter
def flag_value(entity, flag):
    value = getattr(entity, flag)
    if value is None:
        return "未知"
    if isinstance(value, bool):
        return "是" if value else "否"
    return str(value)


@register.filter
def flag_bad(entity, flag):
    value = getattr(entity, flag)
    return bool(value) if not isinstance(value, int) or isinstance(value, bool) else value > 0


@register.filter
def get_item(mapping, key):
    return mapping.get(key) if mapping else None
