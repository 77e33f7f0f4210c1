from django import template

from products import presentation

register = template.Library()


@register.filter
def wan(amount):
    """Integer 元 as 万元 (at most two decimals)."""
    return presentation.wan(amount)
