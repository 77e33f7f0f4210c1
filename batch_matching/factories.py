"""Test factories of batch matching.

- The batch world (`build`): the seed catalogue, the 泽州 world of products.factories (task
  force, boc and ccb branches in 晋城 and 泽州), synthetic entities in three counties and a few
  hand-made edge cases (abnormal status, young, not shared, missing data, honours, customers
  whose borrowing 建设银行 recorded); a full
  run processed in this process (`run_inline`) and a generation's rows (`rows_of`).
  batch_matching/tests/conftest.py gives it as the `batch_world` and `matched` fixtures.
- Entity rows and hypothesis strategies for the engine ⇔ compiled SQL agreement: entities
  written as real `MarketEntity` (and `Honor`, `BankRelationship`) rows; rule trees and caps drawn from the field
  registry, so a new registry field is covered without anyone remembering to add it here
  (`leaf_for` fails loudly for an unknown type).
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.utils import timezone
from hypothesis import strategies as st

from batch_matching import services
from batch_matching.models import MatchResult, RunChunk
from eligibility.fields import (
    BANK_RELATIONSHIP_FACTS,
    ENTITY_TYPES,
    FIELDS,
    HONOR_KINDS,
    REGISTER_STATUSES,
    REPAYMENT_MODES,
    SIZE_CLASSES,
    TAX_STATUSES,
    TIERS,
    FieldType,
    add_months,
)
from eligibility.rules import OPS_BY_TYPE
from entities.models import BankRelationship, Honor, MarketEntity
from entities.synthetic import Generator, insert_entities
from portal import reference
from portal.factories import OrganisationFactory, region, user_with_role
from portal.models import Organisation, OrganisationKind, Role
from products.factories import World, build_world, valid_uscc
from products.models import Bank

COUNTIES = ["140525", "140502", "140212"]  # 泽州县, 晋城城区, 大同新荣区
HENAN_COUNTIES = ["411502", "411521"]  # 信阳浉河区, 罗山县: another province (41) beside 山西 (14)


@dataclass
class BatchWorld:
    world: World
    entities: list[int] = field(default_factory=list)
    special: dict[str, MarketEntity] = field(default_factory=dict)

    @property
    def users(self):
        return self.world.users


def build(count: int = 240, seed: int = 7) -> BatchWorld:
    world = build_world()
    today = timezone.localdate()
    insert_entities(Generator(seed=seed, today=today, counties=COUNTIES).entities(count), chunk=1000)
    batch = BatchWorld(world)
    batch.special = _special(today)
    batch.entities = list(MarketEntity.objects.order_by("id").values_list("id", flat=True))
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE entities_marketentity")
    return batch


def _entity(name: str, **values) -> MarketEntity:
    base = dict(
        uscc=valid_uscc(),
        name=name,
        entity_type="individual_business",
        register_status="active",
        established_on=dt.date(2019, 3, 1),
        region_id="140525",
        industry_id="5211",
        annual_revenue=900_000,
        net_assets=400_000,
        total_assets=600_000,
        employees=3,
        social_insurance_headcount=2,
        has_tax_record=True,
        tax_status="small_scale_taxpayer",
        tier="growth",
        size_class="micro",
        operator_nationality="CN",
        operator_local_residence=True,
        operator_birth_date=dt.date(1985, 5, 5),
        dishonest_debtor=False,
        joint_punishment=False,
        consumption_restricted=False,
        major_bad_record=False,
        pending_litigation=False,
        overdue_consecutive_24m=0,
        overdue_total_24m=0,
        overdue_12m=0,
        # a valid 烟草专卖零售许可证, so the hand-made cases are also 烟商E贷 customers
        tobacco_licence_held=True,
        tobacco_licence_number="140525100018",
        tobacco_licence_valid_until=dt.date.today() + dt.timedelta(days=900),
    )
    base.update(values)
    base.setdefault("tier_imported", base["tier"])  # `tier` is the 名录库 mark: marked unless told
    return MarketEntity.objects.create(**base)


def _special(today: dt.date) -> dict[str, MarketEntity]:
    org = OrganisationFactory(kind=OrganisationKind.ENTERPRISE, region=region("140525"), name="泽州县金辉小吃店")
    special = {
        "model": _entity("泽州县金辉小吃店", organisation=org, industry_id="6210"),
        "young": _entity("泽州县新开张便利店", established_on=today - dt.timedelta(days=600)),
        "abnormal": _entity("泽州县经营异常商行", register_status="abnormal"),
        "hidden": _entity("泽州县不共享超市", data_shared_with_banks=False),
        "unknown": MarketEntity.objects.create(
            uscc=valid_uscc(),
            name="泽州县信息不全门店",
            entity_type="individual_business",
            register_status="active",
            region_id="140525",
        ),
        "honoured": _entity("泽州县特色面馆", industry_id="6211", tier="development", annual_revenue=2_500_000),
        "datong": _entity("大同新荣区面馆", region_id="140212", industry_id="6210"),
        "jincheng": _entity("晋城城区小吃店", region_id="140502", industry_id="6210"),
    }
    Honor.objects.create(entity=special["honoured"], kind="distinctive", valid_until=today + dt.timedelta(days=400))
    Honor.objects.create(entity=special["honoured"], kind="quality", valid_until=None)  # open validity
    # 建设银行's records of two customers (示范标杆商户 reads them): one meets the 准入标准, one has
    # 5 overdues there in 12 months; and 中国银行's record of the first (never read by a CCB product)
    ccb = Bank.objects.get(code="ccb").organisation_id
    special["ccb_customer"] = _entity("泽州县建行老客户超市", tier="development", annual_revenue=1_500_000)
    special["ccb_overdue"] = _entity("泽州县建行逾期客户商店", tier="development", annual_revenue=1_500_000)
    BankRelationship.objects.create(
        entity=special["ccb_customer"],
        bank_id=ccb,
        months_borrowed=36,
        credit_line=600_000,
        non_performing=False,
        overdue_12m=1,
    )
    BankRelationship.objects.create(
        entity=special["ccb_overdue"],
        bank_id=ccb,
        months_borrowed=30,
        credit_line=500_000,
        non_performing=False,
        overdue_12m=5,
    )
    BankRelationship.objects.create(
        entity=special["ccb_customer"],
        bank_id=Bank.objects.get(code="boc").organisation_id,
        months_borrowed=2,
        credit_line=10_000,
        non_performing=True,
        overdue_12m=8,
    )
    special["enterprise_user"] = user_with_role(Role.ENTERPRISE_USER, organisation=org, username="batch-enterprise")
    return special


def add_entities(counties: list[str], count: int, seed: int = 11) -> list[int]:
    """Synthetic entities in these counties (another province's, say); the ids of every
    entity in them, in order."""
    today = timezone.localdate()
    insert_entities(Generator(seed=seed, today=today, counties=counties).entities(count), chunk=1000)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE entities_marketentity")
    return list(MarketEntity.objects.filter(region_id__in=counties).order_by("id").values_list("id", flat=True))


def run_inline(*, as_of: dt.date | None = None, chunk_size: int = 60, province: str | None = None, actor=None):
    """A full run (for every province, or for one) processed in this process (chunks in
    order), swapped in."""
    run = services.run_start(as_of=as_of, chunk_size=chunk_size, dispatch=False, province=province, actor=actor)
    for chunk_id in RunChunk.objects.filter(run=run).order_by("number").values_list("pk", flat=True):
        assert services.chunk_process(run_id=run.pk, chunk_id=chunk_id, finalize=False)
    assert services.run_finalize(run_id=run.pk)
    run.refresh_from_db()
    return run


def rows_of(generation: int) -> set[tuple]:
    """A generation's rows without the generation and run columns (to compare two runs)."""
    columns = (
        "entity_id",
        "product_id",
        "version_id",
        "verdict",
        "max_amount",
        "binding_cap",
        "failed_mask",
        "unknown_mask",
        "county",
        "shared",
        "near_miss",
    )
    return set(MatchResult.objects.filter(generation=generation).values_list(*columns))


# --- entity rows and rule trees for the engine ⇔ SQL agreement --------------------------------

_SEQUENCE = itertools.count(1)

HONOR_FIELDS = ("kind", "valid_from", "valid_until")


def make_entity(**values: Any) -> MarketEntity:
    """A saved entity: an individual business in 泽州县 unless ``values`` say otherwise;
    ``honors``: a list of ``{"kind", "valid_from", "valid_until"}``."""
    honors = values.pop("honors", [])
    number = next(_SEQUENCE)
    defaults = {
        "uscc": f"92140525T{number:09d}",
        "name": f"测试经营主体{number}",
        "entity_type": "individual_business",
        "region_id": "140525",
    }
    entity = MarketEntity.objects.create(**{**defaults, **values})
    Honor.objects.bulk_create([Honor(entity=entity, **honor) for honor in honors])
    return entity


RELATIONSHIP_BANKS = ("ccb", "boc")  # banks whose relationship rows the generated entities have


def relationship_bank(code: str) -> int:
    """The root organisation of a bank with this code (created if the database has none)."""
    bank = Bank.objects.filter(code=code).first()
    if bank is None:
        organisation = Organisation.objects.create(
            name=f"测试银行 {code}", kind=OrganisationKind.BANK, code=f"bank-{code}"
        )
        bank = Bank.objects.create(code=code, name=f"测试银行 {code}", organisation=organisation)
    return bank.organisation_id


def save_rows(rows: list[dict[str, Any]]) -> list[MarketEntity]:
    """Bulk-insert entity rows (model attnames + ``honors`` + ``bank_relationships``: rows
    with the bank's code); returns them re-read with both prefetched, in the given order."""
    honors, relationships, objects = [], [], []
    for row in rows:
        row = dict(row)
        honors.append(row.pop("honors", []))
        relationships.append(row.pop("bank_relationships", []))
        number = next(_SEQUENCE)
        row.setdefault("uscc", f"92140525H{number:09d}")
        row.setdefault("name", f"随机经营主体{number}")
        objects.append(MarketEntity(**row))
    created = MarketEntity.objects.bulk_create(objects)
    Honor.objects.bulk_create(
        [Honor(entity=entity, **honor) for entity, items in zip(created, honors) for honor in items]
    )
    BankRelationship.objects.bulk_create(
        [
            BankRelationship(
                entity=entity,
                bank_id=relationship_bank(item["bank"]),
                **{key: value for key, value in item.items() if key != "bank"},
            )
            for entity, items in zip(created, relationships)
            for item in items
        ]
    )
    by_id = MarketEntity.objects.prefetch_related("honors", "bank_relationships").in_bulk([e.pk for e in created])
    return [by_id[e.pk] for e in created]


# --- entity rows -----------------------------------------------------------------------------

REGION_CODES = sorted(r["code"] for r in reference.load_regions())
INDUSTRY_CODES = sorted(i["code"] for i in reference.load_industries())
RESIDENCE_CODES = [
    "140525",
    "140500",
    "140000",
    "1405",
    "14",
    "110101",
    "410102",
    "999999",
    "14052",
    "abcdef",
    "140005",
    "",
]
SPECIAL_DAYS = [
    dt.date(2024, 2, 29),
    dt.date(2025, 2, 28),
    dt.date(2026, 3, 31),
    dt.date(2026, 1, 31),
    dt.date(2026, 11, 22),
    dt.date(2027, 12, 31),
    dt.date(2028, 2, 29),
]

as_of_dates = st.one_of(st.sampled_from(SPECIAL_DAYS), st.dates(dt.date(2024, 1, 1), dt.date(2028, 12, 31)))


def _maybe(strategy, blank: bool = False):
    options = [st.none(), strategy]
    if blank:
        options.append(st.just(""))
    return st.one_of(*options)


def _date_near(as_of: dt.date, months: tuple[int, int]):
    """Dates a whole number of months before ``as_of``, give or take a few days (so month
    boundaries are hit), or anywhere in a wide range (future dates included)."""
    exact = st.builds(
        lambda m, d: add_months(as_of, -m) + dt.timedelta(days=d),
        st.integers(*months),
        st.sampled_from([0, 0, 0, -1, 1, -2, 2, -31, 31]),
    )
    anywhere = st.dates(dt.date(1930, 1, 1), as_of + dt.timedelta(days=400))
    return st.one_of(exact, anywhere)


def _honor(as_of: dt.date):
    near = st.builds(lambda d: as_of + dt.timedelta(days=d), st.integers(-400, 400))
    return st.fixed_dictionaries(
        {
            "kind": st.sampled_from(list(HONOR_KINDS)),
            "valid_from": _maybe(near),
            "valid_until": st.one_of(st.none(), near, st.just(as_of), st.just(as_of - dt.timedelta(days=1))),
        }
    )


def entity_rows(as_of: dt.date):
    money = st.one_of(st.sampled_from([0, 100000, 150000, 300000, 500000, 600000, 2500000]), st.integers(0, 5_000_000))
    count = st.integers(0, 12)
    return st.fixed_dictionaries(
        {
            "entity_type": st.sampled_from(list(ENTITY_TYPES)),
            "register_status": st.sampled_from(list(REGISTER_STATUSES)),
            "established_on": _maybe(_date_near(as_of, (-2, 400))),
            "region_id": st.sampled_from(REGION_CODES),
            "industry_id": _maybe(st.sampled_from(INDUSTRY_CODES)),
            "annual_revenue": _maybe(money),
            "net_assets": _maybe(st.one_of(money, st.integers(-500_000, 0))),
            "total_assets": _maybe(money),
            "employees": _maybe(st.integers(0, 400)),
            "social_insurance_headcount": _maybe(count),
            "tax_status": _maybe(st.sampled_from(list(TAX_STATUSES)), blank=True),
            "has_tax_record": _maybe(st.booleans()),
            "tier": _maybe(st.sampled_from(list(TIERS)), blank=True),
            # the portal's estimate beside (or instead of) the mark: it must never change an outcome
            "tier_computed": _maybe(st.sampled_from(list(TIERS))),
            "size_class": _maybe(st.sampled_from(list(SIZE_CLASSES)), blank=True),
            "operator_birth_date": _maybe(_date_near(as_of, (0, 12 * 90))),
            "operator_nationality": _maybe(st.sampled_from(["CN", "cn", "HK", "MO", "TW", "US"]), blank=True),
            "operator_local_residence": _maybe(st.booleans()),
            "operator_residence_region_code": _maybe(st.sampled_from(RESIDENCE_CODES)),
            "operator_industry_experience_months": _maybe(st.integers(0, 60)),
            "dishonest_debtor": _maybe(st.booleans()),
            "joint_punishment": _maybe(st.booleans()),
            "consumption_restricted": _maybe(st.booleans()),
            "major_bad_record": _maybe(st.booleans()),
            "pending_litigation": _maybe(st.booleans()),
            "overdue_consecutive_24m": _maybe(st.integers(0, 8)),
            "overdue_total_24m": _maybe(st.integers(0, 8)),
            "overdue_12m": _maybe(st.integers(0, 8)),
            "legal_rep_changed_on": _maybe(_date_near(as_of, (-1, 30))),
            "main_business_changed_on": _maybe(_date_near(as_of, (-1, 30))),
            "honors": st.lists(_honor(as_of), max_size=3),
            # 烟草专卖零售许可证: any combination, inconsistent rows included (a number without
            # "held", dates without a licence), around the day it starts and ends
            "tobacco_licence_held": _maybe(st.booleans()),
            "tobacco_licence_number": _maybe(st.sampled_from(["140525100123", "X1"]), blank=True),
            "tobacco_licence_valid_from": _maybe(_around(as_of)),
            "tobacco_licence_valid_until": _maybe(_around(as_of)),
            "operating_region_code": _maybe(st.sampled_from(RESIDENCE_CODES)),
            "operator_realisable_net_assets": _maybe(money),
            "bank_relationships": st.lists(_relationship(), max_size=2, unique_by=lambda row: row["bank"]),
        }
    )


def _relationship():
    return st.fixed_dictionaries(
        {
            "bank": st.sampled_from(RELATIONSHIP_BANKS),
            "months_borrowed": _maybe(st.integers(0, 60)),
            "credit_line": _maybe(st.one_of(st.sampled_from([0, 499999, 500000, 600000]), st.integers(0, 3_000_000))),
            "non_performing": _maybe(st.booleans()),
            "overdue_12m": _maybe(st.integers(0, 8)),
        }
    )


def _around(as_of: dt.date):
    near = st.builds(lambda d: as_of + dt.timedelta(days=d), st.integers(-800, 800))
    return st.one_of(near, st.sampled_from([as_of, as_of - dt.timedelta(days=1), as_of + dt.timedelta(days=1)]))


needs = st.one_of(
    st.none(),
    st.fixed_dictionaries(
        {
            "amount": _maybe(st.one_of(st.sampled_from([100000, 500000, 1000000]), st.integers(1, 3_000_000))),
            "term_months": _maybe(st.one_of(st.sampled_from([6, 12, 24, 36]), st.integers(1, 120))),
            "repayment": _maybe(st.sampled_from(list(REPAYMENT_MODES))),
        }
    ),
)
max_terms = st.one_of(st.none(), st.sampled_from([6, 12, 24, 36, 120]))
# the product's bank: whose relationship rows its bank_* facts read (None: a product without one)
product_banks = st.one_of(st.none(), st.sampled_from(RELATIONSHIP_BANKS), st.just("abc"))


# --- rule trees from the registry ------------------------------------------------------------

INTEGER_VALUES = {
    "operating_months": (-3, 400),
    "operator_age": (0, 90),
    "age_plus_term_years": (0, 100),
    "legal_rep_changed_months": (-2, 36),
    "main_business_changed_months": (-2, 36),
    "employees": (0, 400),
    "social_insurance_headcount": (0, 12),
    "industry_experience_months": (0, 60),
    "overdue_consecutive_24m": (0, 8),
    "overdue_total_24m": (0, 8),
    "overdue_12m": (0, 8),
    "need_term_months": (1, 120),
    "term_months": (1, 120),
    "term_years": (0, 10),
    "bank_months_borrowed": (0, 60),
    "bank_overdue_12m": (0, 8),
}
TEXT_VALUES = {"nationality": ["CN", "HK", "MO", "TW", "US"]}
PREFIXES = {
    FieldType.REGION: ["14", "1405", "140525", "140500", "140000", "1401", "140105", "41", "410102", "11"],
    FieldType.INDUSTRY: ["A", "01", "011", "0111", "03", "F", "51", "515", "5151", "52", "5291", "C", "13", "62"],
}


def _scalar(field) -> st.SearchStrategy:
    if field.type is FieldType.INTEGER:
        low, high = INTEGER_VALUES.get(field.key, (0, 100))
        return st.integers(low, high)
    if field.type is FieldType.MONEY:
        return st.one_of(st.sampled_from([0, 100000, 150000, 300000, 600000]), st.integers(-1000, 3_000_000))
    if field.type is FieldType.CHOICE or field.type is FieldType.CHOICE_LIST:
        return st.sampled_from(list(field.choices))
    if field.type is FieldType.TEXT:
        return st.sampled_from(TEXT_VALUES.get(field.key) or list(field.choices) or ["x"])
    raise AssertionError(f"no values for field type {field.type}")  # a new type: extend here


def leaf_for(key: str) -> st.SearchStrategy:
    field = FIELDS[key]
    ops = OPS_BY_TYPE[field.type]

    def build(op, value=None, unmatched=False, rule_id=None):
        leaf = {"field": key, "op": op}
        if value is not None:
            leaf["value"] = value
        if unmatched:
            leaf["unmatched"] = "unknown"
        if rule_id:
            leaf["id"] = rule_id
        return leaf

    if field.type is FieldType.BOOLEAN:
        return st.builds(build, st.sampled_from(ops))
    if field.type in PREFIXES:
        return st.builds(
            lambda value, unmatched: build("prefix_in", value, unmatched),
            st.lists(st.sampled_from(PREFIXES[field.type]), min_size=1, max_size=3),
            st.booleans(),
        )
    scalar = _scalar(field)
    single = st.builds(build, st.sampled_from([op for op in ops if op not in ("in", "not_in")]), scalar)
    if "in" not in ops:
        return single
    listed = st.builds(build, st.sampled_from(["in", "not_in"]), st.lists(scalar, min_size=1, max_size=3))
    return st.one_of(single, listed)


# the fields a rule may test (the 三型 estimate is informative: rules refuse it)
leaves = st.sampled_from(sorted(key for key, field in FIELDS.items() if field.rule_usable)).flatmap(leaf_for)
SWITCHABLE = sorted(key for key, field in FIELDS.items() if field.type is FieldType.CHOICE and field.rule_usable)


def _groups(children):
    return st.one_of(
        st.builds(lambda c: {"all": c}, st.lists(children, min_size=1, max_size=4)),
        st.builds(lambda c: {"any": c}, st.lists(children, min_size=1, max_size=4)),
        st.builds(lambda c: {"not": c}, children),
        st.sampled_from(SWITCHABLE).flatmap(
            lambda key: st.builds(
                lambda cases: {"switch": key, "cases": cases},
                st.dictionaries(st.sampled_from(list(FIELDS[key].choices)), children, min_size=1, max_size=3),
            )
        ),
    )


rule_trees = st.recursive(leaves, _groups, max_leaves=10)
# trees over the facts of the product's bank relationship only: a random tree of the whole
# registry reaches them with a bank and a matching row too rarely to check them
relationship_trees = st.recursive(
    st.sampled_from(sorted(BANK_RELATIONSHIP_FACTS)).flatmap(leaf_for), _groups, max_leaves=4
)
small_trees = st.recursive(leaves, _groups, max_leaves=3)

# --- caps ------------------------------------------------------------------------------------

_amount = st.one_of(st.sampled_from([100000, 200000, 300000, 1000000]), st.integers(1, 3_000_000))
_percent = st.one_of(st.integers(1, 100), st.sampled_from(["12.5", "0.5", "33.3", "60", "99.99"]))


def _with_when(cap_strategy):
    return st.builds(
        lambda cap, when, cap_id: {**cap, **({"when": when} if when else {}), **({"id": cap_id} if cap_id else {})},
        cap_strategy,
        st.one_of(st.none(), small_trees),
        st.one_of(st.none(), st.sampled_from(["cap_a", "cap_b"])),
    )


one_cap = _with_when(
    st.one_of(
        st.builds(lambda a: {"kind": "product_cap", "amount": a}, _amount),
        st.builds(lambda a: {"kind": "honor_cap", "amount": a}, _amount),
        st.builds(
            lambda amounts: {"kind": "tier_cap", "amounts": amounts},
            st.dictionaries(st.sampled_from(list(TIERS)), _amount, min_size=1),
        ),
        st.builds(lambda p: {"kind": "revenue_share", "percent": p}, _percent),
        st.builds(lambda p: {"kind": "net_assets_share", "percent": p}, _percent),
        st.builds(lambda p: {"kind": "realisable_assets_share", "percent": p}, _percent),
        st.just({"kind": "bank_decides"}),
    )
)
cap_lists = st.lists(one_cap, max_size=4)
