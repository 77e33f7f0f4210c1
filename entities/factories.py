"""Test factories of the entities app."""
import datetime as dt

import factory
from stdnum.cn import ric, uscc as stdnum_uscc

from entities.models import MarketEntity


def make_uscc(n: int, region: str = "140525", kind: str = "92") -> str:
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    digits = []
    for _ in range(9):
        n, d = divmod(n, 31)
        digits.append(alphabet[d])
    body = kind + region + "".join(reversed(digits))
    return body + stdnum_uscc.calc_check_digit(body)


def make_id_number(region: str = "140525", birth: dt.date = dt.date(1985, 1, 1), serial: int = 123) -> str:
    body = f"{region}{birth:%Y%m%d}{serial:03d}"
    return body + ric.calc_check_digit(body + "0")


class MarketEntityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MarketEntity

    uscc = factory.Sequence(lambda n: make_uscc(n + 1000))
    name = factory.Sequence(lambda n: f"测试商户{n}")
    entity_type = "individual_business"
    register_status = "active"
    established_on = dt.date(2020, 5, 1)
    region_id = "140525"
    industry_id = "5211"
    operator_name = "张三"
    operator_id_number = factory.Sequence(lambda n: make_id_number(serial=n % 1000))
    operator_birth_date = dt.date(1985, 1, 1)
    operator_phone = "13812345678"
    annual_revenue = 300_000
    employees = 2
    social_insurance_headcount = 0
    tax_status = "none"
    has_tax_record = False
    dishonest_debtor = False
    overdue_consecutive_24m = 0
    overdue_total_24m = 0
    tier = "survival"
    tier_computed = "survival"
    size_class = "micro"
