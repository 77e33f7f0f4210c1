"""Test factories of the workflow: declarations taken through the services, on the 泽州 world
of `products.factories.build_world` (the root conftest.py's `world` fixture).

Every step goes through the services, as a user would: a declaration is created and
submitted by its enterprise, reviewed by the staff member, the bank reviewer and the lead,
signed off and pushed by the convener."""

from __future__ import annotations

import io

import time_machine
from openpyxl import Workbook

from entities.models import MarketEntity
from matching import services as s
from matching.declaration_import import HEADERS
from matching.models import Recommendation
from products.factories import World

# the five basic criteria (matching.models.BASIC_CRITERIA), all met, as a task force records them
CRITERIA = {
    key: {"met": True, "evidence": "走访核实"}
    for key in ("compliant_operation", "fixed_premises", "genuine_need", "good_credit", "lawful_purpose")
}


def declare(world: World, entity, user, banks=("boc", "ccb"), submit=True):
    """A declaration of `entity` by its enterprise user for 30 万 over 12 months, submitted unless told."""
    return s.declaration_create(
        actor=user,
        entity_id=entity.pk,
        amount=300_000,
        term_months=12,
        purpose="进货周转",
        bank_codes=list(banks),
        basic_criteria=CRITERIA,
        consent=True,
        submit=submit,
    )


def through_reviews(world: World, declaration):
    """The three reviews (staff, bank reviewer, lead), each approving."""
    u = world.users
    s.declaration_review(actor=u["staff"], declaration_id=declaration.pk, decision="approve", comment="材料齐全")
    s.declaration_review(actor=u["reviewer"], declaration_id=declaration.pk, decision="approve")
    return s.declaration_review(actor=u["lead"], declaration_id=declaration.pk, decision="approve")


def pushed(world: World, banks=("boc", "ccb")):
    """A new enterprise's declaration reviewed, signed off and pushed to `banks`:
    (declaration, enterprise user, {bank code: recommendation})."""
    entity, user = world.entity()
    declaration = declare(world, entity, user, banks)
    through_reviews(world, declaration)
    batch = s.batch_signoff(actor=world.users["convener"], declaration_ids=[declaration.pk])
    s.batch_push(actor=world.users["convener"], batch_id=batch.pk)
    return declaration, user, {r.bank.code: r for r in Recommendation.objects.filter(declaration=declaration)}


def push_one(world: World, when):
    """One declaration pushed to 中国银行 at the moment `when` (the clock frozen there):
    (its recommendation, the enterprise user)."""
    with time_machine.travel(when, tick=False):
        entity, user = world.entity()
        declaration = declare(world, entity, user, banks=("boc",))
        through_reviews(world, declaration)
        batch = s.batch_signoff(actor=world.users["convener"], declaration_ids=[declaration.pk])
        s.batch_push(actor=world.users["convener"], batch_id=batch.pk)
    return Recommendation.objects.get(declaration=declaration), user


def assign(world: World, rec, code):
    """The bank administrator hands `rec` to the bank's 泽州 account manager."""
    s.recommendations_assign(
        actor=world.users[f"{code}_admin"], recommendation_ids=[rec.pk], manager_id=world.users[f"{code}_manager"].pk
    )


def assigned_lead(world: World, *, operator: tuple[str, str] | None = None, code: str = "boc"):
    """A new declaration pushed to bank `code` and assigned to its 泽州 account manager (the
    lead an account manager works); `operator` (name, phone) puts the consented contact on
    the entity's record."""
    declaration, _, leads = pushed(world, (code,))
    if operator:
        name, phone = operator
        MarketEntity.objects.filter(pk=declaration.entity_id).update(operator_name=name, operator_phone=phone)
    assign(world, leads[code], code)
    return leads[code]


def import_file(rows: list[dict]) -> bytes:
    """A 批量申报 xlsx with the template's header row and one row per dict (header → cell; a
    header it leaves out is an empty cell)."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(list(HEADERS))
    for row in rows:
        sheet.append([row.get(header, "") for header in HEADERS])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
