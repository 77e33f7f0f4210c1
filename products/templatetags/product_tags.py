from django import template

from products import presentation

register = template.Library()


@register.filter
def wan(amount):
    """Integer 元 as 万元 (at most two decimals)."""
    return presentation.wan(amount)


@register.filter
def offer(result):
    """A preview result's amount as what it means to the entity: "最高可贷 3 万元" (computed from
    its own data) or "产品最高额度 1,000 万元（以银行审批为准）" (only the product's maximum)."""
    return presentation.offer_text(result.get("max_amount"), result.get("offer_basis"))
