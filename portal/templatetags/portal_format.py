import re
from decimal import Decimal

from django import template

register = template.Library()


@register.filter
def wan(yuan) -> str:
    """Integer 元 → 万元 with two decimals ("30.00"); empty for unknown."""
    if yuan is None or yuan == "":
        return ""
    return f"{(Decimal(int(yuan)) / Decimal(10000)).quantize(Decimal('0.01')):,}"


_YUAN = re.compile(r"(?<![\d.,])(\d{5,}) ?元")


@register.filter
def yuan_text(message) -> str:
    """A reason's amounts in whole 元 ("产品最高额度 10000000 元", as the eligibility contract
    words them) read in 万元 on the pages ("产品最高额度 1,000 万元")."""

    def as_wan(match: re.Match) -> str:
        text = f"{Decimal(int(match.group(1))) / Decimal(10000):,.2f}".rstrip("0").rstrip(".")
        return f"{text} 万元"

    return _YUAN.sub(as_wan, str(message or ""))
