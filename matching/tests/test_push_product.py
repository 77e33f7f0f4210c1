"""The product a push names on a lead is the bank's product that fits the declaration's need
best (matching.verdicts.best_product), not the bank's first product: the lead's approval is
held to that product's limits (issue 15: a verdict the notices' conditions say no to must not
steer the case)."""

import pytest

from matching import services as s
from matching.factories import CRITERIA, through_reviews
from matching.verdicts import FIT_ORDER, need_verdicts

pytestmark = pytest.mark.django_db


def test_a_need_is_pushed_with_the_banks_best_fitting_product_not_its_first(world):
    """An unmarked snack shop's 12-month need at 中国银行: 惠商贷 (the bank's first product by
    code) offers nothing until the 三型 mark is known, 商E贷 offers 20 万: the lead names 商E贷."""
    # given a declaration of a 12-month need to 中国银行
    entity, user = world.entity()
    declaration = s.declaration_create(
        actor=user,
        entity_id=entity.pk,
        amount=200_000,
        term_months=12,
        purpose="进货周转",
        bank_codes=["boc"],
        basic_criteria=CRITERIA,
        consent=True,
        submit=True,
    )
    through_reviews(world, declaration)
    verdicts = need_verdicts([declaration])[declaration.pk]
    first = min(verdicts, key=lambda v: v.product.code)

    def fit(v):
        return FIT_ORDER[v.result["verdict"]], -(v.result["max_amount"] or 0)

    best = min(fit(v) for v in verdicts)
    assert fit(first) > best, "the bank's first product must fit worse for this test"

    # when it is signed off and pushed
    batch = s.batch_signoff(actor=world.users["convener"], declaration_ids=[declaration.pk])
    s.batch_push(actor=world.users["convener"], batch_id=batch.pk)

    # then the lead names a product of the best fit, not the first product
    lead = declaration.recommendations.get()
    chosen = next(v for v in verdicts if v.product.pk == lead.product_version.product_id)
    assert fit(chosen) == best and chosen.result["max_amount"] == 200_000
    assert lead.product_version.product_id != first.product.pk
