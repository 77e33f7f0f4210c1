"""Demo market entities for `make run`: a few thousand synthetic ones across Shanxi (more in
the demo county 泽州县), the demo enterprise's own entity (a snack shop that holds no tobacco
licence), and a few named entities of 泽州县 that show one fact each: a fish farm and a cattle
farm (益农快贷's 养殖类 cap), tobacco retailers with a valid and an expired 烟草专卖零售许可证
(烟商E贷). Idempotent."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from stdnum.cn import uscc

from entities.models import (
    BankRelationship,
    ChangeSource,
    CreditFlagRecord,
    CreditRepair,
    EntityChange,
    EntityClaim,
    FinancialYear,
    Honor,
    MarketEntity,
    Renewal,
)
from entities.services import recompute_classification, renewal_outcome, renewal_record
from entities.synthetic import MARK_SOURCE, Generator, insert_entities
from portal.models import Organisation, Region, RegionLevel, UserPhone

DEMO_COUNTY = "140525"
# Townships of 泽州县 for the township filter. Demo data: the names are 泽州县's towns; the
# 9-digit codes follow the 统计用区划代码 layout but were not checked against the official list.
DEMO_TOWNSHIPS = [
    ("140525100", "南村镇"),
    ("140525101", "下村镇"),
    ("140525102", "大东沟镇"),
    ("140525103", "周村镇"),
    ("140525104", "犁川镇"),
    ("140525105", "晋庙铺镇"),
    ("140525106", "金村镇"),
    ("140525107", "高都镇"),
    ("140525108", "巴公镇"),
    ("140525109", "大阳镇"),
    ("140525110", "山河镇"),
    ("140525111", "柳树口镇"),
]
DEMO_ENTERPRISE_USCC = "92140525MA0DEMX01"  # completed with its check character below
SHANXI_COUNT = 2500
COUNTY_COUNT = 500


def _demo_uscc() -> str:
    return DEMO_ENTERPRISE_USCC + uscc.calc_check_digit(DEMO_ENTERPRISE_USCC)


@transaction.atomic
def load() -> dict:
    county = Region.objects.get(code=DEMO_COUNTY)
    for code, name in DEMO_TOWNSHIPS:
        Region.objects.get_or_create(
            code=code, defaults={"name": name, "level": RegionLevel.TOWNSHIP, "parent": county}
        )
    township_codes = [code for code, _ in DEMO_TOWNSHIPS]
    today = timezone.localdate()

    shanxi = insert_entities(Generator(seed=2026, today=today).entities(SHANXI_COUNT))
    county_generator = Generator(seed=2027, today=today, counties=[DEMO_COUNTY])
    inserted_county = insert_entities(
        county_generator.entities(COUNTY_COUNT),
        township_of=lambda row: township_codes[int(row["uscc"][-5:-1], 36) % len(township_codes)],
    )
    enterprise = _demo_enterprise(today)
    showcase = _showcase_entities(today)
    conditions = _demo_condition_facts(today)
    claim = _demo_claim(showcase[0])
    renewals = _demo_renewals(today, showcase)
    return {
        "pending_claim": claim,
        "renewals": renewals,
        "entities_inserted": shanxi + inserted_county,
        "demo_enterprise_entity": enterprise,
        "showcase_entities": showcase,
        **conditions,
    }


def _demo_enterprise(today: dt.date) -> str:
    organisation = Organisation.objects.filter(code="demo-enterprise").first()
    code = _demo_uscc()
    entity, created = MarketEntity.objects.get_or_create(
        uscc=code,
        defaults=dict(
            name="泽州县金辉小吃店",
            entity_type="individual_business",
            register_status="active",
            established_on=dt.date(2019, 3, 1),
            region_id=DEMO_COUNTY,
            township_id="140525108",
            address="泽州县巴公镇东街 18 号",
            fixed_premises=True,
            industry_id="6210",
            financial_year=today.year - 1,
            annual_revenue=850_000,
            total_assets=420_000,
            net_assets=300_000,
            employees=4,
            social_insurance_headcount=2,
            tax_status="small_scale_taxpayer",
            has_tax_record=True,
            operator_name="陈金辉",
            operator_id_number="140525198501011237",
            operator_birth_date=dt.date(1985, 1, 1),
            operator_phone="13812345678",
            operator_nationality="CN",
            operator_local_residence=True,
            operator_residence_region_code=DEMO_COUNTY,
            operator_industry_experience_months=36,
            operator_realisable_net_assets=250_000,
            dishonest_debtor=False,
            joint_punishment=False,
            consumption_restricted=False,
            overdue_consecutive_24m=0,
            overdue_total_24m=1,
            overdue_12m=0,
            major_bad_record=False,
            pending_litigation=False,
            tier_imported="growth",
            tier_mark_source=MARK_SOURCE,
            tier_marked_on=today - dt.timedelta(days=120),
            honors_imported="distinctive",
            honors_imported_valid_until=dt.date(today.year + 1, 6, 30),
            tobacco_licence_held=False,  # a snack shop: sells no tobacco, so no 烟商E贷
            created_source=ChangeSource.IMPORT,
            organisation=organisation,
        ),
    )
    if not created:
        if organisation and entity.organisation_id is None:
            entity.organisation = organisation
            entity.save(update_fields=["organisation", "updated_at"])
        return code
    recompute_classification(entity)
    entity.save()
    for year, revenue, insured in ((today.year - 2, 700_000, 1), (today.year - 1, 850_000, 2)):
        FinancialYear.objects.create(
            entity=entity,
            year=year,
            annual_revenue=revenue,
            total_assets=400_000,
            net_assets=280_000,
            employees=4,
            social_insurance_headcount=insured,
            tax_status="small_scale_taxpayer",
            has_tax_record=True,
        )
    Honor.objects.create(
        entity=entity,
        kind="distinctive",
        valid_from=dt.date(today.year - 1, 7, 1),
        valid_until=entity.honors_imported_valid_until,
    )
    CreditFlagRecord.objects.create(
        entity=entity,
        flag="overdue_total_24m",
        value=1,
        source="人民银行征信(演示)",
        observed_on=today - dt.timedelta(days=200),
    )
    CreditFlagRecord.objects.create(
        entity=entity,
        flag="dishonest_debtor",
        value=0,
        source="信用修复: 泽州县人民法院",
        observed_on=today - dt.timedelta(days=400),
    )
    CreditRepair.objects.create(
        entity=entity,
        item="失信被执行人名单移出(已履行判决)",
        flag="dishonest_debtor",
        repaired_on=today - dt.timedelta(days=400),
        repaired_by="泽州县人民法院",
        note="已与农商行共享(晋市局文〔2023〕88号 三(四))",
    )
    EntityChange.objects.create(
        entity=entity,
        kind=EntityChange.Kind.UPDATED,
        source=ChangeSource.IMPORT,
        changes={"annual_revenue": [700000, 850000], "social_insurance_headcount": [1, 2]},
    )
    return code


# (code body without its check character, name, industry, township, tier mark, revenue, licence)
SHOWCASE = [
    ("92140525MA0DEMX02", "泽州县金鳞水产养殖场", "0412", "140525109", "growth", 1_200_000, False),
    ("92140525MA0DEMX03", "泽州县福旺肉牛养殖场", "0311", "140525104", "development", 2_400_000, False),
    ("92140525MA0DEMX04", "泽州县福满烟酒店", "5227", "140525108", "survival", 420_000, "valid"),
    ("92140525MA0DEMX05", "泽州县顺发便利店", "5212", "140525100", "growth", 760_000, "expired"),
]


DEMO_REGISTRANT_PHONE = "13800000001"


def _demo_claim(code: str) -> int:
    """A self-registered user (user name = his phone, password the demo password) whose phone
    differs from the register's: his claim waits for 泽州县专班 (企业认领审核)."""
    entity = MarketEntity.objects.get(uscc=code)
    user, created = get_user_model().objects.get_or_create(
        username=DEMO_REGISTRANT_PHONE, defaults={"first_name": "演示认领人"}
    )
    if created:
        user.set_password(settings.PORTAL_DEMO_PASSWORD)
        user.save(update_fields=["password"])
        UserPhone.objects.create(user=user, phone=DEMO_REGISTRANT_PHONE)
    claim, _ = EntityClaim.objects.get_or_create(
        user=user,
        uscc=entity.uscc,
        defaults={
            "operator_name": "演示认领人",
            "phone": DEMO_REGISTRANT_PHONE,
            "entity": entity,
            "region_id": entity.region_id,
        },
    )
    return claim.pk


def _showcase_entities(today: dt.date) -> list[str]:
    codes = []
    for body, name, industry, township, tier, revenue, licence in SHOWCASE:
        code = body + uscc.calc_check_digit(body)
        codes.append(code)
        if MarketEntity.objects.filter(uscc=code).exists():
            continue
        issued = dt.date(today.year - (6 if licence == "expired" else 2), 3, 1)
        entity = MarketEntity(
            uscc=code,
            name=name,
            entity_type="individual_business",
            register_status="active",
            established_on=dt.date(2018, 4, 16),
            region_id=DEMO_COUNTY,
            township_id=township,
            fixed_premises=True,
            industry_id=industry,
            financial_year=today.year - 1,
            annual_revenue=revenue,
            employees=3,
            social_insurance_headcount=1,
            tax_status="small_scale_taxpayer",
            has_tax_record=True,
            operator_name="演示经营者",
            operator_birth_date=dt.date(1980, 6, 1),
            operator_nationality="CN",
            operator_local_residence=True,
            operator_residence_region_code=DEMO_COUNTY,
            dishonest_debtor=False,
            joint_punishment=False,
            consumption_restricted=False,
            overdue_consecutive_24m=0,
            overdue_total_24m=0,
            overdue_12m=0,
            major_bad_record=False,
            pending_litigation=False,
            tier_imported=tier,
            tobacco_licence_held=licence is not False,
            tobacco_licence_number=None if licence is False else f"{DEMO_COUNTY}1{body[-2:]}018",
            tobacco_licence_valid_from=None if licence is False else issued,
            tobacco_licence_valid_until=None if licence is False else dt.date(issued.year + 5, 2, 28),
            created_source=ChangeSource.IMPORT,
        )
        recompute_classification(entity)
        entity.save()
        FinancialYear.objects.create(
            entity=entity,
            year=today.year - 1,
            annual_revenue=revenue,
            employees=3,
            social_insurance_headcount=1,
            tax_status="small_scale_taxpayer",
            has_tax_record=True,
        )
    return codes


# --- the facts product conditions read (晋享贷, 兴旺贷, 建设银行 示范标杆商户) -------------------

OUTSIDE_REGISTERED_USCC = "92411502MA0DEMT01"  # completed with its check character below


def _with_check(code: str) -> str:
    return code + uscc.calc_check_digit(code)


def _demo_condition_facts(today: dt.date) -> dict:
    """Each fact on at least one entity: a tea shop registered in 信阳 (浉河区) that operates in
    泽州 (兴旺贷 "注册地或经营地"); the operators' own realisable net assets on some 泽州 entities
    (晋享贷's 60% cap); 建设银行's records of two customers (示范标杆商户: one meets its 准入标准,
    one has too many overdues) and 中国银行's of the demo snack shop. Idempotent."""
    tea_shop, _ = MarketEntity.objects.get_or_create(
        uscc=_with_check(OUTSIDE_REGISTERED_USCC),
        defaults=dict(
            name="浉河区茗香茶行",
            entity_type="individual_business",
            register_status="active",
            established_on=dt.date(2018, 4, 1),
            region_id="411502",
            address="泽州县金村镇府城街 6 号(经营地)",
            operating_region_code=DEMO_COUNTY,
            fixed_premises=True,
            industry_id="5226",
            financial_year=today.year - 1,
            annual_revenue=1_200_000,
            net_assets=500_000,
            employees=3,
            operator_name="李茗香",
            operator_birth_date=dt.date(1980, 5, 1),
            operator_nationality="CN",
            operator_realisable_net_assets=800_000,
            dishonest_debtor=False,
            major_bad_record=False,
            created_source=ChangeSource.IMPORT,
        ),
    )
    county = MarketEntity.objects.filter(region_id=DEMO_COUNTY).exclude(uscc=_demo_uscc())
    with_assets = 0
    if not county.filter(operator_realisable_net_assets__isnull=False).exists():  # once
        for entity in county.filter(net_assets__isnull=False).order_by("id")[::9][:60]:
            # the household's own realisable assets beside the business: its net assets and half again
            entity.operator_realisable_net_assets = entity.net_assets * 3 // 2
            entity.save(update_fields=["operator_realisable_net_assets", "updated_at"])
            with_assets += 1
    relationships = _demo_bank_relationships()
    return {"operating_elsewhere": tea_shop.uscc, "realisable_assets_set": with_assets, **relationships}


def _demo_bank_relationships() -> dict:
    ccb = Organisation.objects.filter(code="bank-ccb").first()
    boc = Organisation.objects.filter(code="bank-boc").first()
    if ccb is None or boc is None:  # the catalogue (products.demo) was not loaded
        return {"bank_relationships": 0}
    developed = list(
        MarketEntity.objects.filter(
            region_id=DEMO_COUNTY,
            entity_type="individual_business",
            register_status="active",
            tier="development",
            annual_revenue__gte=600_000,
            dishonest_debtor=False,
        ).order_by("id")[:2]
    )
    rows = []
    if developed:  # meets 示范标杆商户's 准入标准 at 建设银行
        rows.append(
            (
                developed[0],
                ccb,
                {"months_borrowed": 36, "credit_line": 600_000, "non_performing": False, "overdue_12m": 1},
            )
        )
    if len(developed) > 1:  # borrowed long enough at 建设银行, but 5 overdues in the last 12 months
        rows.append(
            (
                developed[1],
                ccb,
                {"months_borrowed": 30, "credit_line": 500_000, "non_performing": False, "overdue_12m": 5},
            )
        )
    snack_shop = MarketEntity.objects.filter(uscc=_demo_uscc()).first()
    if snack_shop is not None:
        rows.append(
            (
                snack_shop,
                boc,
                {"months_borrowed": 12, "credit_line": 100_000, "non_performing": False, "overdue_12m": 0},
            )
        )
    for entity, bank, values in rows:
        BankRelationship.objects.get_or_create(entity=entity, bank=bank, defaults=values)
    return {"bank_relationships": len(rows)}


def _demo_renewals(today: dt.date, showcase: list[str]) -> int:
    """无还本续贷 (应续尽续): 中国银行's customers' loans coming due in each window (30 / 60 / 90
    days) — recorded by the enterprise, from a visit and by the bank — and one of each outcome
    (无还本续贷已续, 其他方式续贷, 已还款, 拒绝续贷 with its coded reason). Skipped when present."""
    if Renewal.objects.exists():
        return 0
    users = {u.username: u for u in get_user_model().objects.filter(username__in=["enterprise", "staff", "manager"])}
    snack_shop = MarketEntity.objects.filter(uscc=_demo_uscc()).first()
    others = list(MarketEntity.objects.filter(uscc__in=showcase).order_by("uscc"))
    if len(users) < 3 or snack_shop is None or len(others) < 3:
        return 0
    manager = users["manager"]

    def record(actor, entity, days, amount, **extra):
        return renewal_record(
            actor=actor,
            entity_id=entity.pk,
            amount=amount,
            due_date=today + dt.timedelta(days=days),
            bank_code=None if actor is manager else "boc",
            note="演示数据",
            **extra,
        )

    record(users["enterprise"], snack_shop, 12, 300_000)  # due within 30 days
    record(users["staff"], others[0], 45, 500_000, from_visit=True)  # within 60
    record(manager, others[1], 80, 800_000)  # within 90
    record(manager, others[2], -6, 120_000)  # past due, not yet handled (已到期未办结)
    outcomes = [
        (others[0], 200_000, "renew", ""),
        (others[1], 150_000, "renew_other", ""),
        (others[2], 100_000, "repaid", ""),
        (others[2], 250_000, "refuse", "credit"),
    ]
    for entity, amount, action, reason in outcomes:
        need = record(manager, entity, 3, amount)
        renewal_outcome(actor=manager, renewal_id=need.pk, action=action, refusal_reason=reason)
    return Renewal.objects.count()
