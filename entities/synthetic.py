"""Synthetic market entities for demos and benchmarks (deterministic for a seed).

Shapes, from classification.md where published and chosen where not:
* counties: all 117 county-level units of Shanxi (portal.reference), urban districts
  weighted 2:1 over counties and county-level cities (more shops in towns);
* entity types: 个体工商户 75 %, 小微企业 20 %, 农民专业合作社 3 %, 家庭农场 2 %
  (individual businesses are about two thirds of all market entities nationally; this
  portal serves the small end, so a bit more here);
* industries of individual businesses: primary 4.4 %, secondary 6.0 %, tertiary 89.6 %
  (national, 2022-08), the tertiary part mostly retail, catering, residential services and
  wholesale; enterprises spread more evenly;
* age: exponential with a mean of 7.9 years, so about 83 % were founded in the last 14
  years ("83 % founded after 2012"), capped at 45 years;
* annual revenue (chosen): log-normal, median 25 万元 for individual businesses (σ 1.1:
  about 21 % reach 60 万, 8 % reach 120 万), 300 万元 for enterprises (σ 1.3); 5 % unknown;
* employees 1 + Poisson(1.68) for individual businesses (mean 2.68, national figure);
  social insurance for 30 % of them (1-3 people, more for the larger ones); a tax record for
  about a third (two thirds above 60 万);
* so most individual businesses are 生存型, about one in eight 成长型 and a few percent
  发展型; the regulator's mark (分型) equals the computed tier for 80 %, differs for 5 %
  (the page flags it) and is absent for 15 %: those have only the portal's estimate (预估),
  which satisfies no product rule that asks for the mark (they show as 待标记三型);
* 名特优新 for 2 % of individual businesses (1-2 honours, some expired); credit: 1.5 %
  dishonest debtors, 8 % with overdue instalments;
* 烟草专卖零售许可证 (chosen): held by 95 % of individual businesses in 5227 烟草制品零售 and 40 %
  of the other general and food retailers (521, 522), one in ten of them expired; about half
  of the remaining individual businesses have said they hold none, the rest are unknown. Drawn
  from a random stream of its own, so every other generated value is as before.
USCC and resident ID numbers carry valid check characters (python-stdnum).
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Iterator

from django.db import connection, transaction
from stdnum.cn import ric
from stdnum.cn import uscc as stdnum_uscc

from eligibility.fields import add_months
from entities import classification as cls
from entities import derive
from entities.models import FINANCIAL_FIELDS, FinancialYear, Honor, MarketEntity
from entities.register_file import HEADERS, LABELS
from entities.register_import import COLUMNS, _copy
from portal import reference

_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
MARK_SOURCE = "名录库导入: 全省个体工商户名录库(演示数据)"
_ORG_SPACE = 31**9
_ORG_STEP = 7_368_787_297  # coprime with 31: index → distinct 9-character codes

SURNAMES = (
    "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁"
    "魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段雷钱汤尹黎易常武乔贺赖龚文"
)
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红建国志文斌海波辉鹏飞宇浩凯晨旭宁峰亮林欣"
TRADE_NAMES = "金辉鑫源福满兴隆恒达顺发宏盛永昌德润晋丰聚宝和顺吉祥万家瑞丰荣华百汇诚信安康广源瑞祥天成"
INDIVIDUAL_TRADES = {
    "52": ["便利店", "超市", "粮油店", "水果店", "服装店", "五金店", "药店", "烟酒店"],
    "62": ["小吃店", "面馆", "饭店", "早餐店", "火锅店"],
    "80": ["理发店", "洗衣店", "家电维修部", "摄影部"],
    "51": ["批发部", "商行"],
    "61": ["宾馆", "旅馆"],
    "54": ["货运部"],
    "01": ["种植园"],
    "03": ["养殖场"],
    "13": ["粮食加工坊"],
    "14": ["食品加工坊"],
    "33": ["五金加工部"],
    "72": ["广告部", "信息咨询部"],
    "49": ["装修队"],
}
# division → weight, for individual businesses (primary 4.4, secondary 6.0, tertiary 89.6)
INDIVIDUAL_DIVISIONS = {
    "01": 2.6,
    "03": 1.8,
    "13": 1.5,
    "14": 1.5,
    "33": 1.5,
    "49": 1.5,
    "52": 45.0,
    "62": 18.0,
    "80": 12.0,
    "51": 7.6,
    "61": 2.0,
    "54": 3.0,
    "72": 2.0,
}
ENTERPRISE_DIVISIONS = {
    "01": 4,
    "13": 5,
    "14": 5,
    "30": 5,
    "33": 6,
    "47": 6,
    "49": 5,
    "51": 14,
    "52": 12,
    "54": 6,
    "59": 2,
    "62": 6,
    "65": 6,
    "70": 3,
    "72": 8,
    "73": 3,
    "80": 4,
}
TYPE_WEIGHTS = {"individual_business": 75, "small_micro_enterprise": 20, "farmer_cooperative": 3, "family_farm": 2}
STATUS_WEIGHTS = {"active": 92, "abnormal": 5, "revoked": 2, "cancelled": 1}
USCC_PREFIX = {
    "individual_business": "92",
    "small_micro_enterprise": "91",
    "farmer_cooperative": "93",
    "family_farm": "92",
}


def _weighted(rng: random.Random, weights: dict):
    return rng.choices(list(weights), weights=list(weights.values()))[0]


class Generator:
    def __init__(self, seed: int = 1, today: dt.date | None = None, counties: list[str] | None = None):
        self.rng = random.Random(seed)
        self.seed = seed
        self.today = today or dt.date.today()
        regions = {r["code"]: r for r in reference.load_regions()}
        self.counties = counties or sorted(c for c in reference.county_codes() if c.startswith("14"))
        self.county_weights = [2.0 if int(c[4:]) < 20 else 1.0 for c in self.counties]
        self.county_names = {c: regions[c]["name"] for c in self.counties}
        classes: dict[str, list[str]] = {}
        for row in reference.load_industries():
            if row["level"] == "class":
                classes.setdefault(row["code"][:2], []).append(row["code"])
        self.classes = classes
        self.policy = cls.SHANXI_DEFAULT_POLICY

    # -- identifiers ------------------------------------------------------------------

    def uscc(self, index: int, entity_type: str, region: str) -> str:
        value = (index * _ORG_STEP + self.seed * 104_729) % _ORG_SPACE
        org = []
        for _ in range(9):
            value, digit = divmod(value, 31)
            org.append(_ALPHABET[digit])
        body = USCC_PREFIX[entity_type] + region + "".join(reversed(org))
        return body + stdnum_uscc.calc_check_digit(body)

    def id_number(self, region: str, birth: dt.date) -> str:
        body = f"{region}{birth:%Y%m%d}{self.rng.randrange(1000):03d}"
        return body + ric.calc_check_digit(body + "0")

    def phone(self) -> str:
        return "1" + self.rng.choice("3456789") + "".join(self.rng.choice("0123456789") for _ in range(9))

    # -- one entity ----------------------------------------------------------------------

    def entity(self, index: int) -> dict:
        """Model column values (attnames) of entity number `index`, plus "honors" (kinds)."""
        rng = self.rng
        entity_type = _weighted(rng, TYPE_WEIGHTS)
        individual = entity_type == "individual_business"
        region = rng.choices(self.counties, weights=self.county_weights)[0]
        county = self.county_names[region]
        division = _weighted(rng, INDIVIDUAL_DIVISIONS if individual else ENTERPRISE_DIVISIONS)
        if entity_type in ("farmer_cooperative", "family_farm"):
            division = rng.choice(["01", "03"])
        industry = rng.choice(self.classes[division])
        age_years = min(45.0, rng.expovariate(1 / 7.9))
        established = self.today - dt.timedelta(days=int(age_years * 365.25) + 1)

        trade = rng.choice(TRADE_NAMES) + rng.choice(TRADE_NAMES)
        surname = rng.choice(SURNAMES)
        operator = surname + rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.7 else "")
        short_county = county[:-1] if len(county) > 2 else county
        if individual:
            name = f"{short_county}{trade}{rng.choice(INDIVIDUAL_TRADES.get(division, ['经营部']))}"
        elif entity_type == "small_micro_enterprise":
            name = f"山西{trade}{rng.choice(['商贸', '科技', '实业', '建材', '食品', '农业', '物流'])}有限公司"
        elif entity_type == "farmer_cooperative":
            name = f"{short_county}{trade}{rng.choice(['种植', '养殖', '农机'])}专业合作社"
        else:
            name = f"{short_county}{surname}{trade[0]}家庭农场"
        name = f"{name}({index})" if rng.random() < 0.02 else name

        revenue = None
        if rng.random() >= 0.05:
            median = 250_000 if individual else 3_000_000
            sigma = 1.1 if individual else 1.3
            revenue = int(median * math.exp(rng.gauss(0, sigma)) // 100 * 100)
        employees = 1 + _poisson(rng, 1.68) if individual else 3 + _poisson(rng, 12)
        if individual:
            big = revenue is not None and revenue >= 1_000_000
            insured = (
                0 if rng.random() < (0.4 if big else 0.72) else min(employees, 1 + _poisson(rng, 2.5 if big else 0.6))
            )
            has_tax_record = rng.random() < (0.7 if (revenue or 0) >= 600_000 else 0.25)
            tax_status = (
                "small_scale_taxpayer"
                if has_tax_record and rng.random() < 0.85
                else ("general_taxpayer" if has_tax_record and rng.random() < 0.3 else "none")
            )
        else:
            insured = max(1, int(employees * rng.uniform(0.5, 1.0)))
            has_tax_record = rng.random() < 0.95
            tax_status = "general_taxpayer" if rng.random() < 0.3 else "small_scale_taxpayer"
        total_assets = (
            None if rng.random() < (0.35 if individual else 0.05) else int((revenue or 200_000) * rng.uniform(0.3, 1.5))
        )
        net_assets = None if total_assets is None else int(total_assets * rng.uniform(0.2, 0.9))

        age_operator = max(18, min(70, int(rng.gauss(42, 10))))
        birth = self.today.replace(year=self.today.year - age_operator, month=1, day=1) + dt.timedelta(
            days=rng.randrange(365)
        )
        birth = min(birth, self.today - dt.timedelta(days=18 * 366))
        dishonest = rng.random() < 0.015
        overdue_total = 0 if rng.random() < 0.92 else rng.randint(1, 8)
        overdue_consecutive = 0 if overdue_total == 0 else rng.randint(1, min(overdue_total, 4))

        facts = {
            "entity_type": entity_type,
            "annual_revenue": revenue,
            "has_tax_record": has_tax_record,
            "tax_status": tax_status,
            "social_insurance_headcount": insured,
            "industry_id": industry,
            "employees": employees,
            "total_assets": total_assets,
        }
        computed = derive.tier_computed(facts, self.policy)
        tier_imported = None
        tier_marked_on = None
        if individual and computed is not None:
            draw = rng.random()
            if draw < 0.80:
                tier_imported = computed
            elif draw < 0.85:
                tier_imported = rng.choice([t for t in cls.TIERS if t != computed])
            if tier_imported is not None:
                tier_marked_on = self.today - dt.timedelta(days=rng.randint(30, 400))
        honors: list[str] = []
        honors_until = None
        if individual and rng.random() < 0.02:
            honors = sorted(rng.sample(cls.HONOR_KINDS, rng.choice([1, 1, 2])), key=cls.HONOR_KINDS.index)
            honors_until = self.today + dt.timedelta(days=rng.randint(-365, 3 * 365))
        facts["tier_imported"] = tier_imported
        row = {
            "uscc": self.uscc(index, entity_type, region),
            "name": name,
            "entity_type": entity_type,
            "register_status": _weighted(rng, STATUS_WEIGHTS),
            "established_on": established,
            "region_id": region,
            "industry_id": industry,
            "fixed_premises": rng.random() < 0.93,
            "financial_year": self.today.year - 1,
            "annual_revenue": revenue,
            "total_assets": total_assets,
            "net_assets": net_assets,
            "employees": employees,
            "social_insurance_headcount": insured,
            "tax_status": tax_status,
            "has_tax_record": has_tax_record,
            "tier_imported": tier_imported,
            "tier_mark_source": MARK_SOURCE if tier_imported else "",
            "tier_marked_on": tier_marked_on,
            "honors_imported": ",".join(honors),
            "honors_imported_valid_until": honors_until,
            "operator_name": operator,
            "operator_id_number": self.id_number(region, birth),
            "operator_birth_date": birth,
            "operator_phone": self.phone(),
            "operator_nationality": "CN",
            "dishonest_debtor": dishonest,
            "overdue_consecutive_24m": overdue_consecutive,
            "overdue_total_24m": overdue_total,
            **derive.classification_columns(facts, self.policy),
            **self.tobacco_licence(index, individual, industry, region),
        }
        return row

    def tobacco_licence(self, index: int, individual: bool, industry: str, region: str) -> dict:
        rng = random.Random(f"tobacco-licence-{self.seed}-{index}")
        unknown = {
            "tobacco_licence_held": None,
            "tobacco_licence_number": None,
            "tobacco_licence_valid_from": None,
            "tobacco_licence_valid_until": None,
        }
        if not individual:
            return unknown
        holds = 0.95 if industry == "5227" else (0.4 if industry[:3] in ("521", "522") else 0.0)
        draw = rng.random()
        if draw < holds:
            issued = self.today - dt.timedelta(days=rng.randint(30, 5 * 365 - 30))
            if rng.random() < 0.1:  # expired: issued more than five years ago, not renewed
                issued -= dt.timedelta(days=5 * 365)
            return {
                "tobacco_licence_held": True,
                "tobacco_licence_number": f"{region}{rng.randrange(10**6):06d}",
                "tobacco_licence_valid_from": issued,
                "tobacco_licence_valid_until": add_months(issued, 60) - dt.timedelta(days=1),
            }
        if rng.random() < 0.5:
            return {**unknown, "tobacco_licence_held": False}
        return unknown

    def entities(self, count: int, start: int = 0) -> Iterator[dict]:
        for index in range(start, start + count):
            yield self.entity(index)


def _poisson(rng: random.Random, mean: float) -> int:
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def register_cells(row: dict) -> list[str]:
    """The entity as one row of the register file (HEADERS order)."""

    def yes_no(value):
        return "" if value is None else ("是" if value else "否")

    def text(value):
        return "" if value is None else str(value)

    honors = "、".join(LABELS["honor"][k] for k in row["honors_imported"].split(",") if k)
    return [
        row["uscc"],
        row["name"],
        LABELS["entity_type"][row["entity_type"]],
        LABELS["register_status"][row["register_status"]],
        text(row["established_on"] and row["established_on"].isoformat()),
        row["region_id"],
        row["industry_id"] or "",
        yes_no(row["fixed_premises"]),
        text(row["annual_revenue"]),
        text(row["total_assets"]),
        text(row["net_assets"]),
        text(row["employees"]),
        text(row["social_insurance_headcount"]),
        LABELS["tax_status"].get(row["tax_status"], "") if row["tax_status"] else "",
        yes_no(row["has_tax_record"]),
        LABELS["tier"][row["tier_imported"]] if row["tier_imported"] else "",
        honors,
        row["honors_imported_valid_until"].isoformat() if row["honors_imported_valid_until"] else "",
        row["operator_name"],
        row["operator_id_number"] or "",
        row["operator_phone"],
        yes_no(row["dishonest_debtor"]),
        text(row["overdue_consecutive_24m"]),
        text(row["overdue_total_24m"]),
        *_licence_cells(row),
        row.get("operating_region_code") or "",
        text(row.get("operator_realisable_net_assets")),
    ]


def _licence_cells(row: dict) -> list[str]:
    held = row.get("tobacco_licence_held")
    if held is None:
        return ["", "", ""]
    if held is False:
        return ["无", "", ""]
    dates = (row["tobacco_licence_valid_from"], row["tobacco_licence_valid_until"])
    return [row["tobacco_licence_number"], *("" if day is None else day.isoformat() for day in dates)]


assert len(HEADERS) == 29


# --- writing generated entities ------------------------------------------------------------


def insert_entities(rows, *, chunk: int = 50_000, township_of=None) -> int:
    """Insert generated entities (skipping codes already present) with their latest
    financial year and honours. COPY on PostgreSQL. Returns the number inserted."""
    inserted = 0
    batch: list[dict] = []

    def flush():
        nonlocal inserted
        if township_of is not None:
            for row in batch:
                row["township_id"] = township_of(row)
        with transaction.atomic():
            if connection.vendor == "postgresql":
                inserted += _insert_postgresql(batch)
            else:
                inserted += _insert_generic(batch, MarketEntity, FinancialYear, Honor)
        batch.clear()

    for row in rows:
        batch.append(row)
        if len(batch) >= chunk:
            flush()
    if batch:
        flush()
    return inserted


_EXTRA = ("operator_nationality", "township_id")


def _insert_postgresql(batch: list[dict]) -> int:
    fields = {f.attname: f.column for f in MarketEntity._meta.concrete_fields}
    names = COLUMNS + _EXTRA
    columns = [fields[n] for n in names]
    table = MarketEntity._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMP TABLE generated_rows ON COMMIT DROP AS SELECT {', '.join(columns)} FROM {table} WITH NO DATA"
        )
        _copy(cursor, "generated_rows", columns, ([row.get(n) for n in names] for row in batch))
        cursor.execute(
            f"""
            WITH new AS (
                INSERT INTO {table} ({", ".join(columns)}, address, data_shared_with_banks, created_source,
                    created_at, updated_at)
                SELECT {", ".join(columns)}, '', TRUE, 'import', now(), now() FROM generated_rows
                ON CONFLICT (uscc) DO NOTHING
                RETURNING id, financial_year, {
                ", ".join(
                    fields[f]
                    for f in (
                        "annual_revenue",
                        "total_assets",
                        "net_assets",
                        "employees",
                        "social_insurance_headcount",
                        "tax_status",
                        "has_tax_record",
                    )
                )
            },
                          honors_imported, honors_imported_valid_until
            ), years AS (
                INSERT INTO {FinancialYear._meta.db_table} (entity_id, year, annual_revenue, total_assets,
                    net_assets, employees, social_insurance_headcount, tax_status, has_tax_record, source, updated_at)
                SELECT id, financial_year, annual_revenue, total_assets, net_assets, employees,
                    social_insurance_headcount, tax_status, has_tax_record, 'import', now()
                FROM new WHERE financial_year IS NOT NULL
            ), honors AS (
                INSERT INTO {Honor._meta.db_table} (entity_id, kind, valid_from, valid_until, source, created_at)
                SELECT id, unnest(string_to_array(honors_imported, ',')), NULL, honors_imported_valid_until,
                    'import', now()
                FROM new WHERE honors_imported <> ''
            )
            SELECT count(*) FROM new
            """
        )
        count = cursor.fetchone()[0]
        cursor.execute("DROP TABLE generated_rows")
    return count


def _insert_generic(batch, MarketEntity, FinancialYear, Honor) -> int:
    known = set(MarketEntity.objects.filter(uscc__in=[r["uscc"] for r in batch]).values_list("uscc", flat=True))
    fresh = [r for r in batch if r["uscc"] not in known]
    objects = [MarketEntity(**r, created_source="import") for r in fresh]
    MarketEntity.objects.bulk_create(objects, batch_size=500)
    FinancialYear.objects.bulk_create(
        [
            FinancialYear(entity_id=o.pk, year=o.financial_year, **{f: getattr(o, f) for f in FINANCIAL_FIELDS})
            for o in objects
            if o.financial_year
        ],
        batch_size=500,
    )
    Honor.objects.bulk_create(
        [
            Honor(entity_id=o.pk, kind=k, valid_until=o.honors_imported_valid_until)
            for o in objects
            for k in o.honors_imported.split(",")
            if k
        ],
        batch_size=500,
    )
    return len(objects)
