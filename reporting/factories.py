"""Test factories of reporting: a small hand-built history in 泽州县 (March 2026), written
through the workflow services at chosen moments, whose figures are worked out by hand in the
tests (reporting/tests/conftest.py gives it as the `history` fixture).

    E1 → 中国银行: contacted 03-03, materials 03-05, approved 03-10 (30 万, 3.65%, 12 个月, 信用,
         首贷), drawdowns 10 万 03-12 and 20 万 03-20, rated 5 on 03-21
    E1 → 建设银行: declined 03-04
    E2 → 中国银行: contacted 03-16 (late: due 03-09), materials 03-17, approved 03-20 (50 万, 4.2%,
         36 个月, 抵押), given up (未提款) 03-25
    E3 → 建设银行: nothing (feedback overdue from 03-10)
    E4 → 中国银行: contacted 03-03, removed from the list 03-05
    E5 → 建设银行: pushed 04-01 (outside March)
All pushed on 2026-03-02 10:00 except E5; visits to E1 and E2 on 03-01.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

import time_machine
from django.utils import timezone

from coordination.factories import departments, open_problem
from matching import services as s
from matching.clocks import deadline_scan
from matching.factories import CRITERIA, push_one
from matching.models import Recommendation
from products.factories import World, build_world
from products.models import LoanProduct
from workdays.arithmetic import SHANGHAI

# a branch's monthly report (银行报送) with plausible figures: 1 亿 of small-business loans among 9 亿
REPORT_FIGURES = dict(
    small_business_balance=100_000_000,
    all_loans_balance=900_000_000,
    credit_loan_balance=25_000_000,
    average_rate=Decimal("4.2"),
    renewals_count=3,
    renewals_amount=1_500_000,
    renewal_balance=9_000_000,
)


def at(day: str, hour: int = 10) -> dt.datetime:
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(hour), tzinfo=SHANGHAI)


def travel(day: str, hour: int = 10):
    return time_machine.travel(at(day, hour), tick=False)


@dataclass
class History:
    world: World
    entities: dict = field(default_factory=dict)  # name → (entity, user)
    recs: dict = field(default_factory=dict)  # "E1-boc" → Recommendation


def push(world: World, entity, user, banks, amount=300_000, term=12) -> dict[str, Recommendation]:
    declaration = s.declaration_create(
        actor=user,
        entity_id=entity.pk,
        amount=amount,
        term_months=term,
        purpose="进货周转",
        bank_codes=list(banks),
        basic_criteria=CRITERIA,
        consent=True,
        submit=True,
    )
    u = world.users
    s.declaration_review(actor=u["staff"], declaration_id=declaration.pk, decision="approve")
    s.declaration_review(actor=u["reviewer"], declaration_id=declaration.pk, decision="approve")
    s.declaration_review(actor=u["lead"], declaration_id=declaration.pk, decision="approve")
    batch = s.batch_signoff(actor=u["convener"], declaration_ids=[declaration.pk])
    s.batch_push(actor=u["convener"], batch_id=batch.pk)
    return {r.bank.code: r for r in Recommendation.objects.filter(declaration=declaration).select_related("bank")}


def redirect(world: World, declined: Recommendation, enterprise_user, bank_code: str) -> Recommendation:
    """改推 after a decline: proposed by the convener, consented and submitted by the enterprise,
    reviewed, signed off and pushed like any declaration."""
    u = world.users
    draft = s.recommendation_redirect(actor=u["convener"], recommendation_id=declined.pk, bank_code=bank_code)
    s.declaration_consent_record(actor=enterprise_user, declaration_id=draft.pk)
    s.declaration_submit(actor=enterprise_user, declaration_id=draft.pk)
    for reviewer in ("staff", "reviewer", "lead"):
        s.declaration_review(actor=u[reviewer], declaration_id=draft.pk, decision="approve")
    batch = s.batch_signoff(actor=u["convener"], declaration_ids=[draft.pk])
    s.batch_push(actor=u["convener"], batch_id=batch.pk)
    return Recommendation.objects.select_related("bank").get(declaration=draft, bank__code=bank_code)


def manager(world: World, rec: Recommendation):
    code = rec.bank.code
    s.recommendations_assign(
        actor=world.users[f"{code}_admin"], recommendation_ids=[rec.pk], manager_id=world.users[f"{code}_manager"].pk
    )
    return world.users[f"{code}_manager"]


def approve(world, rec, *, amount, rate, term, guarantee, credit_loan, first_loan, override_reason=""):
    # beyond the product's limits only the bank administrator approves, with a reason
    actor = world.users[f"{rec.bank.code}_admin" if override_reason else f"{rec.bank.code}_manager"]
    s.recommendation_approve(
        actor=actor,
        recommendation_id=rec.pk,
        credit_amount=amount,
        rate_percent=Decimal(rate),
        term_months=term,
        guarantee=guarantee,
        is_credit_loan=credit_loan,
        is_first_loan=first_loan,
        override_reason=override_reason,
    )


def build_history() -> History:
    with travel("2026-02-20"):
        world = build_world()
        h = History(world=world)
        for name in ("E1", "E2", "E3", "E4", "E5"):
            h.entities[name] = world.entity(name=f"泽州县{name}商店")
    u = world.users
    with travel("2026-03-01"):
        for name in ("E1", "E2"):
            s.visit_record(
                actor=u["staff"],
                entity_id=h.entities[name][0].pk,
                visited_on=dt.date(2026, 3, 1),
                people="张三",
                need_found=True,
            )
    with travel("2026-03-02"):
        for name, banks, amount, term in (
            ("E1", ("boc", "ccb"), 300_000, 12),
            ("E2", ("boc",), 500_000, 36),
            ("E3", ("ccb",), 200_000, 12),
            ("E4", ("boc",), 100_000, 12),
        ):
            entity, user = h.entities[name]
            for code, rec in push(world, entity, user, banks, amount, term).items():
                h.recs[f"{name}-{code}"] = rec
        for key in ("E1-boc", "E2-boc", "E4-boc"):
            manager(world, h.recs[key])
    boc = u["boc_manager"]
    with travel("2026-03-03"):
        s.recommendation_contact(actor=boc, recommendation_id=h.recs["E1-boc"].pk)
        s.recommendation_contact(actor=boc, recommendation_id=h.recs["E4-boc"].pk)
    with travel("2026-03-04"):
        s.recommendation_decline(
            actor=u["ccb_admin"], recommendation_id=h.recs["E1-ccb"].pk, reason_code="operating_too_short"
        )
    with travel("2026-03-05"):
        s.recommendation_materials_complete(actor=boc, recommendation_id=h.recs["E1-boc"].pk)
        s.recommendation_remove(actor=u["convener"], recommendation_id=h.recs["E4-boc"].pk, reason="提供虚假材料")
    with travel("2026-03-10"):
        approve(
            world,
            h.recs["E1-boc"],
            amount=300_000,
            rate="3.65",
            term=12,
            guarantee="credit",
            credit_loan=True,
            first_loan=True,
        )
    with travel("2026-03-12"):
        s.recommendation_disburse(
            actor=boc, recommendation_id=h.recs["E1-boc"].pk, amount=100_000, disbursed_on=dt.date(2026, 3, 12)
        )
    with travel("2026-03-16"):
        s.recommendation_contact(actor=boc, recommendation_id=h.recs["E2-boc"].pk)
    with travel("2026-03-17"):
        s.recommendation_materials_complete(actor=boc, recommendation_id=h.recs["E2-boc"].pk)
    with travel("2026-03-20"):
        s.recommendation_disburse(
            actor=boc, recommendation_id=h.recs["E1-boc"].pk, amount=200_000, disbursed_on=dt.date(2026, 3, 20)
        )
        approve(
            world,
            h.recs["E2-boc"],
            amount=500_000,
            rate="4.2",
            term=36,
            guarantee="mortgage",
            credit_loan=False,
            first_loan=False,
            override_reason="抵押担保的中长期经营贷款, 超出惠商贷的利率和期限",
        )
    with travel("2026-03-21"):
        s.satisfaction_rate(actor=h.entities["E1"][1], recommendation_id=h.recs["E1-boc"].pk, score=5)
    with travel("2026-03-25"):
        s.recommendation_not_drawn(actor=boc, recommendation_id=h.recs["E2-boc"].pk)
    with travel("2026-04-01"):
        entity, user = h.entities["E5"]
        h.recs["E5-ccb"] = push(world, entity, user, ("ccb",))["ccb"]
    return h


def later_activity(h: History) -> None:
    """What happens in April: E3 finally contacted, E5 contacted, E1 re-recommended to 山西银行, E2 rated."""
    u = h.world.users
    with travel("2026-04-03"):
        s.recommendation_contact(actor=u["ccb_admin"], recommendation_id=h.recs["E3-ccb"].pk)
        s.recommendation_contact(actor=u["ccb_admin"], recommendation_id=h.recs["E5-ccb"].pk)
        # E1, declined by 建设银行 in March, is re-recommended to 山西银行: a new declaration the
        # enterprise consents to, reviewed three times, signed off and pushed the same day
        h.recs["E1-shanxibank"] = redirect(h.world, h.recs["E1-ccb"], h.entities["E1"][1], "shanxibank")
        s.satisfaction_rate(actor=h.entities["E2"][1], recommendation_id=h.recs["E2-boc"].pk, score=3)


@dataclass
class TwoBanks:
    world: World
    a: tuple  # (entity, user): 甲, pushed to 中国银行 and 建设银行, re-recommended to 山西银行
    b: tuple  # (entity, user): 乙, pushed to 中国银行 twice (two needs)
    batch: object  # the first batch: 甲 and 乙's first declarations
    recs: dict = field(default_factory=dict)


def _reviewed(world: World, entity, user, banks, amount: int):
    declaration = s.declaration_create(
        actor=user,
        entity_id=entity.pk,
        amount=amount,
        term_months=12,
        purpose="进货周转",
        bank_codes=list(banks),
        basic_criteria=CRITERIA,
        consent=True,
        submit=True,
    )
    for reviewer in ("staff", "reviewer", "lead"):
        s.declaration_review(actor=world.users[reviewer], declaration_id=declaration.pk, decision="approve")
    return declaration


def build_two_banks() -> TwoBanks:
    """The case of issue 15 item 18, in 泽州县, March 2026 (counted by hand in
    reporting/tests/test_count_once.py):

        甲 declares 50 万 to 中国银行 and 建设银行; 乙 declares 20 万 to 中国银行; both signed off
        in one batch and pushed on 03-02.
        中国银行 contacts 甲 and 乙 on 03-03; 建设银行 declines 甲 on 03-04; 中国银行 declines
        乙 on 03-04 and approves 甲 on 03-05 (30 万).
        甲 is re-recommended (改推) to 山西银行 on 03-06: the same need, a third row.
        乙 is coached on 03-06 and declares a new need, 10 万, to 中国银行 again, pushed on 03-09.
    """
    with travel("2026-02-20"):
        world = build_world()
        a = world.entity(name="泽州县甲商店")
        b = world.entity(name="泽州县乙商店")
    u = world.users
    with travel("2026-03-02"):
        first = [_reviewed(world, *a, ("boc", "ccb"), 500_000), _reviewed(world, *b, ("boc",), 200_000)]
        batch = s.batch_signoff(actor=u["convener"], declaration_ids=[d.pk for d in first])
        s.batch_push(actor=u["convener"], batch_id=batch.pk)
        case = TwoBanks(world=world, a=a, b=b, batch=batch)
        for rec in Recommendation.objects.filter(batch=batch).select_related("bank", "entity"):
            case.recs[f"{'甲' if rec.entity_id == a[0].pk else '乙'}-{rec.bank.code}"] = rec
        for key in ("甲-boc", "乙-boc"):
            manager(world, case.recs[key])
    boc = u["boc_manager"]
    with travel("2026-03-03"):
        s.recommendation_contact(actor=boc, recommendation_id=case.recs["甲-boc"].pk)
        s.recommendation_contact(actor=boc, recommendation_id=case.recs["乙-boc"].pk)
    with travel("2026-03-04"):
        s.recommendation_decline(
            actor=u["ccb_admin"], recommendation_id=case.recs["甲-ccb"].pk, reason_code="operating_too_short"
        )
        s.recommendation_decline(actor=boc, recommendation_id=case.recs["乙-boc"].pk, reason_code="operating_too_short")
    with travel("2026-03-05"):
        s.recommendation_materials_complete(actor=boc, recommendation_id=case.recs["甲-boc"].pk)
        approve(
            world,
            case.recs["甲-boc"],
            amount=300_000,
            rate="3.65",
            term=12,
            guarantee="credit",
            credit_loan=True,
            first_loan=True,
        )
    with travel("2026-03-06"):
        case.recs["甲-shanxibank"] = redirect(world, case.recs["甲-ccb"], a[1], "shanxibank")
        s.coaching_record(actor=u["staff"], recommendation_id=case.recs["乙-boc"].pk, note="辅导补充经营流水后重新申报")
    with travel("2026-03-09"):
        second = _reviewed(world, *b, ("boc",), 100_000)
        again = s.batch_signoff(actor=u["convener"], declaration_ids=[second.pk])
        s.batch_push(actor=u["convener"], batch_id=again.pk)
        case.recs["乙-boc-2"] = Recommendation.objects.select_related("bank").get(declaration=second)
    return case


def build_overdue(world):
    """What 逾期督办 counts in the 泽州 world: two leads pushed to 中国银行 30 days ago whose
    feedback clocks the deadline scan marked overdue (`world.overdue_leads`), one 批分单 routed to
    the county's 自然资源局 30 days ago (`world.overdue_problem`, `world.department`), with the
    departments' users added to `world.users`."""
    past = timezone.now() - dt.timedelta(days=30)
    leads = [push_one(world, past)[0], push_one(world, past + dt.timedelta(minutes=1))[0]]
    found = departments(world)
    world.users.update(found.users)
    world.department = found.county
    with time_machine.travel(past, tick=False):
        world.overdue_problem = open_problem(world, found)
    deadline_scan()
    world.overdue_leads = leads
    return world


def direct_application(history, name: str, *, contact_on: str | None = None) -> Recommendation:
    """A 直接申请 of a new entity `name` to 中国银行's first active product on 2026-03-02 (its
    5-working-day reply due 03-09), answered (已对接) on `contact_on` when given."""
    entity, user = history.world.entity(name)
    product = LoanProduct.objects.filter(bank__code="boc", status="active").order_by("code")[0]
    with travel("2026-03-02"):
        lead = s.direct_application_create(
            actor=user,
            entity_id=entity.pk,
            product_id=product.pk,
            amount=100_000,
            term_months=12,
            purpose="进货周转",
            consent=True,
        )
    if contact_on:
        with travel(contact_on):
            s.recommendation_contact(actor=history.world.users["boc_admin"], recommendation_id=lead.pk)
    return lead
