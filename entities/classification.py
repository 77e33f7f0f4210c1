"""Pure classification rules: 三型 (tier), 划型 (enterprise size), 名特优新 validity.

No Django import: the models/services call these functions and store the results.
All money is taken in 元 (``int`` or ``Decimal``; ``float`` is refused) and compared
exactly against thresholds; 万元 appear only in thresholds and in Chinese messages.

Missing data is handled with three-valued logic: a criterion over an unknown value is
"unknown", an ``all``-of is False as soon as one criterion is False, True only when all
are True.  A result is ``None`` only when the unknown values could change the answer
(e.g. revenue unknown but 0 insured people -> 生存型 is still decided).

三型 (tier) decisions
---------------------
Source: Shanxi Bank programme (晋市监发〔2024〕81号, forwarded by 同市监主体〔2024〕67号):
成长型 = 有纳税记录, 营业收入 60 万元至 120 万元, 为 1 至 3 人缴纳社保;
发展型 = 一般纳税人或小规模纳税人, 营业收入 120 万元以上, 为 4 人及以上缴纳社保;
生存型 = every typed business that does not meet 成长型.

* Development is tested first.  "120 万元以上" includes 120 万 (以上 includes the number
  in Chinese regulatory text), so exactly 1,200,000 元 meets the development revenue bound.
* Growth is tested next with its LOWER bounds only (有纳税记录, revenue >= 60 万 inclusive,
  insured >= 1).  Its upper bounds (below 120 万, at most 3 people) are read as "below the
  development line", not as independent exclusions, for two reasons: the strict reading
  would put a business with 4 insured people and 100 万 revenue, or 200 万 revenue and 2
  insured people, into 生存型 -- below a smaller business with 2 people and 100 万 -- which
  contradicts the tiers being ordered stages; and it is the same "meet all lower bounds or
  drop one class" rule that 工信部联企业〔2011〕300号 uses for 划型.  Consequence: the tier
  never decreases when revenue or insured headcount increases (property-tested).
* Hence: exactly 60 万 -> growth (if the other growth criteria hold); exactly 120 万 ->
  development if taxpayer and >= 4 insured, else growth if tax record and >= 1 insured;
  0 insured with 200 万 -> survival (neither development nor growth is possible);
  4+ insured with 100 万 and a tax record -> growth.
* Development does not additionally require ``has_tax_record`` (not in the source); growth
  does not accept a VAT status in place of ``has_tax_record`` (a registered small-scale
  taxpayer may still have no tax record).
* ``None`` (数据不足) when an unknown value could decide between tiers.

The thresholds are data (``TierPolicy``), versioned per province with an effective date;
``SHANXI_DEFAULT_POLICY`` is the shipped default.  The seed does not date 81号 itself; the
default's ``effective_from`` is the date of the forwarding notice (2024-06-17), the earliest
date the seed proves the thresholds were in force.

划型 (size) decisions
---------------------
Table: 工信部联企业〔2011〕300号, identical in 统计上大中小微型企业划分办法(2017)
(国统字〔2017〕213号), which also fixes the GB/T 4754-2017 scope of each row.
Large = all large lower bounds (the complement of the SME ceiling "X 以下或 Y 以下");
medium / small = all lower bounds of that class; otherwise drop one class; micro is the
rest.  Code mapping (``map_industry_code``):

* A -> 农林牧渔 (01-05, including 05 专业及辅助性活动); B, C, D -> 工业; E -> 建筑业;
  51 批发业; 52 零售业; 54-58 and 591 装卸搬运 -> 交通运输业; 592-599 -> 仓储业; 60 邮政业;
  61 住宿业; 62 餐饮业; 63, 64 -> 信息传输业; 65 软件和信息技术服务业;
  701 房地产开发经营; 702 物业管理; 703, 709 -> 其他未列明行业; L (71, 72) -> 租赁和商务服务业;
  M, N, O, R and 85 社会工作 -> 其他未列明行业.
* Not classifiable (``None`` with the reason): 53 铁路运输业 (the transport row excludes it),
  J 金融业 (has its own standard, 银发〔2015〕309号), 704 房地产租赁经营 (the 2017 note excludes
  自有房地产经营活动 from 其他未列明行业), S and T (not enterprises).
* P 教育 and 84 卫生 are outside the listed industries; 300号 lets such industries be
  classified by reference (参照), so they use 其他未列明行业 with a note saying so.
* A code that spans rows with different thresholds cannot be decided: section letters F, G,
  H, I, K, and divisions 59 and 70 without the group digit -> ``None`` asking for a finer
  code.  (H spans 住宿业/餐饮业, which happen to share thresholds; it is still refused so the
  stored row is never a guess.)
* Codes are validated down to the division (01-97) and the section letter; groups/classes
  are not checked against the full catalogue except in divisions 59 and 70, where the group
  digit decides the row.  Malformed codes raise ``ValueError``.

名特优新 validity: an honour is valid from ``valid_from`` (if given) through its
``valid_until`` day inclusive. An honour without ``valid_until`` has an *unknown* validity:
名特优新 is granted for a period (Bank of China lends on it only "且在有效期内", 001 附件
三(二)), so a missing end is missing data, not "valid forever" and not "expired". It comes out
``None`` here exactly as ``unknown`` in the eligibility engine (``eligibility.fields.
honor_status``) and NULL in the SQL compilation: a product rule over it is ``unknown``, the
verdict ``incomplete``, and the reason asks for the validity period. (Earlier this module
treated it as not valid while the engine treated it as unknown; entities/tests check that the
two now agree on every input.)
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from typing import Any

# --------------------------------------------------------------------------- common

TIERS = ("survival", "growth", "development")
TIER_LABELS = {"survival": "生存型", "growth": "成长型", "development": "发展型"}

TAX_STATUSES = ("general_taxpayer", "small_scale_taxpayer", "none")
TAX_STATUS_LABELS = {
    "general_taxpayer": "一般纳税人",
    "small_scale_taxpayer": "小规模纳税人",
    "none": "非增值税纳税人",
}

SIZE_CLASSES = ("large", "medium", "small", "micro")
SIZE_LABELS = {"large": "大型", "medium": "中型", "small": "小型", "micro": "微型"}

HONOR_KINDS = ("renowned", "distinctive", "quality", "emerging")
HONOR_LABELS = {"renowned": "知名", "distinctive": "特色", "quality": "优质", "emerging": "新兴"}

YUAN_PER_WAN = 10_000


def _check_money(value: Any, name: str) -> int | Decimal | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        raise TypeError(f"{name} must be int or Decimal 元 (never float), got {type(value).__name__}")
    if isinstance(value, Decimal) and not value.is_finite():
        raise ValueError(f"{name} must be finite")
    if value < 0:
        raise ValueError(f"{name} must not be negative")
    return value


def _check_count(value: Any, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be int, got {type(value).__name__}")
    if value < 0:
        raise ValueError(f"{name} must not be negative")
    return value


def format_wan(yuan: int | Decimal) -> str:
    """元 -> '85', '85.5', '12.34' (万元, at most 2 decimals, trailing zeros trimmed).

    Truncates rather than rounds, so a value just below a threshold never prints as the
    threshold itself (599,999 元 -> '59.99', not '60').
    """
    wan = (Decimal(yuan) / YUAN_PER_WAN).quantize(Decimal("0.01"), rounding=ROUND_DOWN)
    text = format(wan, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def _all3(values: Iterable[bool | None]) -> bool | None:
    """Kleene AND: False if any False, True if all True, else None (unknown)."""
    result: bool | None = True
    for v in values:
        if v is False:
            return False
        if v is None:
            result = None
    return result


def _join_cn(items: Iterable[str]) -> str:
    return "、".join(items)


# --------------------------------------------------------------------------- 三型


@dataclass(frozen=True)
class TierPolicy:
    """Province thresholds for 三型.  Money in 元; headcounts in people.

    Growth's upper bounds are the development bounds (see module docstring), exposed as
    ``growth_revenue_max`` / ``growth_insured_max`` for display only.
    """

    province_code: str
    effective_from: dt.date
    growth_revenue_min: int = 600_000
    development_revenue_min: int = 1_200_000
    growth_insured_min: int = 1
    development_insured_min: int = 4
    growth_requires_tax_record: bool = True
    development_tax_statuses: tuple[str, ...] = ("general_taxpayer", "small_scale_taxpayer")
    source: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.province_code, str) or not re.fullmatch(r"\d{6}", self.province_code):
            raise ValueError("province_code must be a 6-digit GB/T 2260 code, e.g. '140000'")
        if isinstance(self.effective_from, dt.datetime) or not isinstance(self.effective_from, dt.date):
            raise TypeError("effective_from must be a date")
        for name in ("growth_revenue_min", "development_revenue_min", "growth_insured_min", "development_insured_min"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be a non-negative int")
        if self.growth_revenue_min > self.development_revenue_min:
            raise ValueError("growth_revenue_min must not exceed development_revenue_min")
        if self.growth_insured_min > self.development_insured_min:
            raise ValueError("growth_insured_min must not exceed development_insured_min")
        if not isinstance(self.growth_requires_tax_record, bool):
            raise TypeError("growth_requires_tax_record must be bool")
        statuses = tuple(self.development_tax_statuses)
        if not statuses or any(s not in TAX_STATUSES for s in statuses) or len(set(statuses)) != len(statuses):
            raise ValueError(f"development_tax_statuses must be distinct values of {TAX_STATUSES}")
        object.__setattr__(self, "development_tax_statuses", statuses)

    @property
    def growth_revenue_max(self) -> int:
        """Exclusive upper bound of the growth band (= development revenue bound)."""
        return self.development_revenue_min

    @property
    def growth_insured_max(self) -> int:
        """Inclusive upper bound of the growth band (= development headcount bound - 1)."""
        return self.development_insured_min - 1


SHANXI_DEFAULT_POLICY = TierPolicy(
    province_code="140000",
    effective_from=dt.date(2024, 6, 17),
    source="晋市监发〔2024〕81号 (山西银行), 经同市监主体〔2024〕67号转发",
)

_POLICY_FIELDS = (
    "province_code",
    "effective_from",
    "growth_revenue_min",
    "development_revenue_min",
    "growth_insured_min",
    "development_insured_min",
    "growth_requires_tax_record",
    "development_tax_statuses",
    "source",
)


def policy_to_dict(policy: TierPolicy) -> dict[str, Any]:
    """JSON-serialisable dict (date as ISO string, tuple as list)."""
    return {
        "province_code": policy.province_code,
        "effective_from": policy.effective_from.isoformat(),
        "growth_revenue_min": policy.growth_revenue_min,
        "development_revenue_min": policy.development_revenue_min,
        "growth_insured_min": policy.growth_insured_min,
        "development_insured_min": policy.development_insured_min,
        "growth_requires_tax_record": policy.growth_requires_tax_record,
        "development_tax_statuses": list(policy.development_tax_statuses),
        "source": policy.source,
    }


def policy_from_dict(data: Mapping[str, Any]) -> TierPolicy:
    """Inverse of ``policy_to_dict``; missing optional keys take the Shanxi defaults.

    Unknown keys are refused so a typo in stored data is not silently ignored.
    """
    unknown = set(data) - set(_POLICY_FIELDS)
    if unknown:
        raise ValueError(f"unknown tier policy keys: {sorted(unknown)}")
    for required in ("province_code", "effective_from"):
        if required not in data:
            raise ValueError(f"tier policy needs {required!r}")
    kwargs = dict(data)
    eff = kwargs["effective_from"]
    if isinstance(eff, str):
        kwargs["effective_from"] = dt.date.fromisoformat(eff)
    if "development_tax_statuses" in kwargs:
        kwargs["development_tax_statuses"] = tuple(kwargs["development_tax_statuses"])
    return TierPolicy(**kwargs)


def select_policy(policies: Iterable[TierPolicy], province_code: str, as_of: dt.date) -> TierPolicy | None:
    """The policy of ``province_code`` in force on ``as_of`` (latest effective_from <= as_of)."""
    if isinstance(as_of, dt.datetime):
        as_of = as_of.date()
    candidates = [p for p in policies if p.province_code == province_code and p.effective_from <= as_of]
    if not candidates:
        return None
    return max(candidates, key=lambda p: p.effective_from)


@dataclass(frozen=True)
class TierFacts:
    annual_revenue: int | Decimal | None = None  # 元
    has_tax_record: bool | None = None
    tax_status: str | None = None  # TAX_STATUSES
    social_insurance_headcount: int | None = None

    def __post_init__(self) -> None:
        _check_money(self.annual_revenue, "annual_revenue")
        if self.has_tax_record is not None and not isinstance(self.has_tax_record, bool):
            raise TypeError("has_tax_record must be bool or None")
        if self.tax_status is not None and self.tax_status not in TAX_STATUSES:
            raise ValueError(f"tax_status must be one of {TAX_STATUSES} or None")
        _check_count(self.social_insurance_headcount, "social_insurance_headcount")


_FACT_NAMES = ("annual_revenue", "has_tax_record", "tax_status", "social_insurance_headcount")
_FACT_LABELS = {
    "annual_revenue": "年营业收入",
    "has_tax_record": "纳税记录",
    "tax_status": "纳税人类型",
    "social_insurance_headcount": "参保人数",
}


def _as_facts(facts: Any) -> TierFacts:
    if isinstance(facts, TierFacts):
        return facts
    if isinstance(facts, Mapping):
        return TierFacts(**{k: facts.get(k) for k in _FACT_NAMES})
    # any object with the four attributes (e.g. a model instance)
    return TierFacts(**{k: getattr(facts, k) for k in _FACT_NAMES})


@dataclass(frozen=True)
class TierResult:
    tier: str | None
    explanation: str
    missing: tuple[str, ...] = ()  # fact names whose absence left the tier undecided

    @property
    def label(self) -> str | None:
        return TIER_LABELS.get(self.tier) if self.tier else None


@dataclass(frozen=True)
class _Criterion:
    fact: str
    met: bool | None
    requirement: str  # Chinese, e.g. "年营业收入 60 万元以上"


def _development_criteria(f: TierFacts, p: TierPolicy) -> list[_Criterion]:
    statuses = "或".join(TAX_STATUS_LABELS[s] for s in p.development_tax_statuses)
    return [
        _Criterion(
            "tax_status", None if f.tax_status is None else f.tax_status in p.development_tax_statuses, statuses
        ),
        _Criterion(
            "annual_revenue",
            None if f.annual_revenue is None else f.annual_revenue >= p.development_revenue_min,
            f"年营业收入 {format_wan(p.development_revenue_min)} 万元以上",
        ),
        _Criterion(
            "social_insurance_headcount",
            None if f.social_insurance_headcount is None else f.social_insurance_headcount >= p.development_insured_min,
            f"参保 {p.development_insured_min} 人及以上",
        ),
    ]


def _growth_criteria(f: TierFacts, p: TierPolicy) -> list[_Criterion]:
    criteria = []
    if p.growth_requires_tax_record:
        criteria.append(_Criterion("has_tax_record", f.has_tax_record, "有纳税记录"))
    criteria += [
        _Criterion(
            "annual_revenue",
            None if f.annual_revenue is None else f.annual_revenue >= p.growth_revenue_min,
            f"年营业收入 {format_wan(p.growth_revenue_min)} 万元以上",
        ),
        _Criterion(
            "social_insurance_headcount",
            None if f.social_insurance_headcount is None else f.social_insurance_headcount >= p.growth_insured_min,
            f"参保 {p.growth_insured_min} 人及以上",
        ),
    ]
    return criteria


def _fact_text(f: TierFacts, name: str) -> str | None:
    value = getattr(f, name)
    if value is None:
        return None
    if name == "annual_revenue":
        return f"年营业收入 {format_wan(value)} 万元"
    if name == "has_tax_record":
        return "有纳税记录" if value else "无纳税记录"
    if name == "tax_status":
        return TAX_STATUS_LABELS[value]
    return f"参保 {value} 人"


def _facts_text(f: TierFacts, names: Iterable[str]) -> list[str]:
    return [t for t in (_fact_text(f, n) for n in names) if t is not None]


def _undecided(criteria: list[_Criterion], tier_label: str) -> TierResult:
    missing = tuple(c.fact for c in criteria if c.met is None)
    labels = _join_cn(_FACT_LABELS[m] for m in missing)
    return TierResult(None, f"数据不足: 缺少{labels}, 无法判定是否达到{tier_label}标准", missing)


def classify_tier(facts: TierFacts | Mapping[str, Any] | Any, policy: TierPolicy = SHANXI_DEFAULT_POLICY) -> TierResult:
    """Compute the 三型 tier of an individual business under ``policy``."""
    f = _as_facts(facts)
    dev = _development_criteria(f, policy)
    dev_met = _all3(c.met for c in dev)
    if dev_met is True:
        parts = _facts_text(f, ("tax_status", "annual_revenue", "social_insurance_headcount"))
        return TierResult("development", "发展型: " + ", ".join(parts))
    if dev_met is None:
        return _undecided(dev, "发展型")

    growth = _growth_criteria(f, policy)
    growth_met = _all3(c.met for c in growth)
    if growth_met is None:
        return _undecided(growth, "成长型")
    parts = _facts_text(f, ("has_tax_record", "annual_revenue", "social_insurance_headcount"))
    if growth_met is True:
        unmet = ", ".join(c.requirement for c in dev if c.met is False)
        return TierResult("growth", "成长型: " + ", ".join(parts + [f"未达发展型标准({unmet})"]))
    unmet = ", ".join(c.requirement for c in growth if c.met is False)
    return TierResult("survival", "生存型: " + ", ".join(parts + [f"未达成长型标准({unmet})"]))


def tier_disagreement(imported_tier: str | None, computed_tier: str | None) -> str | None:
    """Chinese notice when the 名录库 mark and the computed tier differ (the mark wins).

    ``None`` when they agree or either side is missing: with no imported mark the computed
    tier is simply shown; with no computed tier (数据不足) there is nothing to contradict.
    """
    for name, value in (("imported_tier", imported_tier), ("computed_tier", computed_tier)):
        if value is not None and value not in TIERS:
            raise ValueError(f"{name} must be one of {TIERS} or None, got {value!r}")
    if imported_tier is None or computed_tier is None or imported_tier == computed_tier:
        return None
    return (
        f"名录库标记为{TIER_LABELS[imported_tier]}, 按现行标准测算为{TIER_LABELS[computed_tier]}; "
        f"以名录库标记({TIER_LABELS[imported_tier]})为准"
    )


# --------------------------------------------------------------------------- 划型

EMPLOYEES, REVENUE, TOTAL_ASSETS = "employees", "revenue", "total_assets"
INDICATOR_LABELS = {EMPLOYEES: "从业人员", REVENUE: "营业收入", TOTAL_ASSETS: "资产总额"}
INDICATOR_UNITS = {EMPLOYEES: "人", REVENUE: "万元", TOTAL_ASSETS: "万元"}
_MONEY_INDICATORS = (REVENUE, TOTAL_ASSETS)


@dataclass(frozen=True)
class SizeRow:
    """One row of the 300号 table.  Bounds: people, or 万元 for money; each class is an
    all-of over its (indicator, lower bound) pairs."""

    key: str
    label: str
    large: tuple[tuple[str, int], ...]
    medium: tuple[tuple[str, int], ...]
    small: tuple[tuple[str, int], ...]

    @property
    def indicators(self) -> tuple[str, ...]:
        return tuple(ind for ind, _ in self.large)

    def bounds(self, size_class: str) -> tuple[tuple[str, int], ...]:
        return getattr(self, size_class)


def _row(key: str, label: str, indicators: tuple[str, ...], large, medium, small) -> SizeRow:
    def pairs(values):
        values = values if isinstance(values, tuple) else (values,)
        assert len(values) == len(indicators)
        return tuple(zip(indicators, values))

    return SizeRow(key, label, pairs(large), pairs(medium), pairs(small))


_ER = (EMPLOYEES, REVENUE)
SIZE_ROWS: dict[str, SizeRow] = {
    r.key: r
    for r in (
        _row("agriculture", "农、林、牧、渔业", (REVENUE,), 20000, 500, 50),
        _row("industry", "工业", _ER, (1000, 40000), (300, 2000), (20, 300)),
        _row("construction", "建筑业", (REVENUE, TOTAL_ASSETS), (80000, 80000), (6000, 5000), (300, 300)),
        _row("wholesale", "批发业", _ER, (200, 40000), (20, 5000), (5, 1000)),
        _row("retail", "零售业", _ER, (300, 20000), (50, 500), (10, 100)),
        _row("transport", "交通运输业", _ER, (1000, 30000), (300, 3000), (20, 200)),
        _row("warehousing", "仓储业", _ER, (200, 30000), (100, 1000), (20, 100)),
        _row("postal", "邮政业", _ER, (1000, 30000), (300, 2000), (20, 100)),
        _row("accommodation", "住宿业", _ER, (300, 10000), (100, 2000), (10, 100)),
        _row("catering", "餐饮业", _ER, (300, 10000), (100, 2000), (10, 100)),
        _row("information_transmission", "信息传输业", _ER, (2000, 100000), (100, 1000), (10, 100)),
        _row("software_it", "软件和信息技术服务业", _ER, (300, 10000), (100, 1000), (10, 50)),
        _row(
            "real_estate_development",
            "房地产开发经营",
            (REVENUE, TOTAL_ASSETS),
            (200000, 10000),
            (1000, 5000),
            (100, 2000),
        ),
        _row("property_management", "物业管理", _ER, (1000, 5000), (300, 1000), (100, 500)),
        _row(
            "leasing_business_services",
            "租赁和商务服务业",
            (EMPLOYEES, TOTAL_ASSETS),
            (300, 120000),
            (100, 8000),
            (10, 100),
        ),
        _row("other", "其他未列明行业", (EMPLOYEES,), 300, 100, 10),
    )
}

# GB/T 4754-2017 sections -> (first division, last division, name)
GBT4754_SECTIONS: dict[str, tuple[int, int, str]] = {
    "A": (1, 5, "农、林、牧、渔业"),
    "B": (6, 12, "采矿业"),
    "C": (13, 43, "制造业"),
    "D": (44, 46, "电力、热力、燃气及水生产和供应业"),
    "E": (47, 50, "建筑业"),
    "F": (51, 52, "批发和零售业"),
    "G": (53, 60, "交通运输、仓储和邮政业"),
    "H": (61, 62, "住宿和餐饮业"),
    "I": (63, 65, "信息传输、软件和信息技术服务业"),
    "J": (66, 69, "金融业"),
    "K": (70, 70, "房地产业"),
    "L": (71, 72, "租赁和商务服务业"),
    "M": (73, 75, "科学研究和技术服务业"),
    "N": (76, 79, "水利、环境和公共设施管理业"),
    "O": (80, 82, "居民服务、修理和其他服务业"),
    "P": (83, 83, "教育"),
    "Q": (84, 85, "卫生和社会工作"),
    "R": (86, 90, "文化、体育和娱乐业"),
    "S": (91, 96, "公共管理、社会保障和社会组织"),
    "T": (97, 97, "国际组织"),
}

_REFERENCE_NOTE = "不在所列行业, 参照其他未列明行业划型(工信部联企业〔2011〕300号: 本规定以外的行业参照本规定划型)"
_EXCLUDED = {
    "railway": "铁路运输业不适用: 300号所列交通运输业不含铁路运输业",
    "finance": "金融业不适用本标准, 按《金融业企业划型标准规定》(银发〔2015〕309号)划型",
    "own_property": "房地产租赁经营(自有房地产经营活动)不在划型标准的其他未列明行业范围内, 无法划型",
    "S": "公共管理、社会保障和社会组织不属企业, 不划型",
    "T": "国际组织不属企业, 不划型",
}
_AMBIGUOUS = {
    "F": "门类 F(批发和零售业)跨批发业、零售业, 须提供大类代码(51 或 52)",
    "G": "门类 G(交通运输、仓储和邮政业)跨交通运输业、仓储业、邮政业, 须提供大类代码(53-60)",
    "H": "门类 H(住宿和餐饮业)跨住宿业、餐饮业, 须提供大类代码(61 或 62)",
    "I": "门类 I(信息传输、软件和信息技术服务业)跨信息传输业、软件和信息技术服务业, 须提供大类代码(63-65)",
    "K": "门类 K(房地产业)跨房地产开发经营、物业管理、其他未列明行业, 须提供中类代码(701/702/703/704/709)",
    "59": "大类 59(装卸搬运和仓储业)中装卸搬运(591)属交通运输业, 其余属仓储业, 须提供中类代码",
    "70": "大类 70(房地产业)跨房地产开发经营、物业管理、其他未列明行业, 须提供中类代码(701/702/703/704/709)",
}
_VALID_GROUPS = {59: {1, 2, 3, 4, 5, 6, 9}, 70: {1, 2, 3, 4, 9}}

_CODE_RE = re.compile(r"([A-Z])?(\d{2,4})?")


@dataclass(frozen=True)
class IndustryMapping:
    code: str  # normalised input, e.g. 'F5211' -> 'F5211', ' 52 ' -> '52'
    row: str | None  # SIZE_ROWS key, or None when it cannot be decided
    note: str = ""  # Chinese: why None, or that the row applies by reference


def _division_row(div: int, group: int | None) -> tuple[str | None, str]:
    if 1 <= div <= 5:
        return "agriculture", ""
    if 6 <= div <= 46:
        return "industry", ""
    if 47 <= div <= 50:
        return "construction", ""
    if div == 51:
        return "wholesale", ""
    if div == 52:
        return "retail", ""
    if div == 53:
        return None, _EXCLUDED["railway"]
    if 54 <= div <= 58:
        return "transport", ""
    if div == 59:
        if group is None:
            return None, _AMBIGUOUS["59"]
        return ("transport", "") if group == 1 else ("warehousing", "")
    if div == 60:
        return "postal", ""
    if div == 61:
        return "accommodation", ""
    if div == 62:
        return "catering", ""
    if div in (63, 64):
        return "information_transmission", ""
    if div == 65:
        return "software_it", ""
    if 66 <= div <= 69:
        return None, _EXCLUDED["finance"]
    if div == 70:
        if group is None:
            return None, _AMBIGUOUS["70"]
        return {
            1: ("real_estate_development", ""),
            2: ("property_management", ""),
            3: ("other", ""),
            4: (None, _EXCLUDED["own_property"]),
            9: ("other", ""),
        }[group]
    if div in (71, 72):
        return "leasing_business_services", ""
    if 73 <= div <= 82 or 85 <= div <= 90:
        return "other", ""
    if div == 83:
        return "other", "P 教育" + _REFERENCE_NOTE
    if div == 84:
        return "other", "84 卫生" + _REFERENCE_NOTE
    if 91 <= div <= 96:
        return None, _EXCLUDED["S"]
    if div == 97:
        return None, _EXCLUDED["T"]
    raise ValueError(f"division {div:02d} is not in GB/T 4754-2017")  # pragma: no cover


_SECTION_ROWS: dict[str, tuple[str | None, str]] = {
    "A": ("agriculture", ""),
    "B": ("industry", ""),
    "C": ("industry", ""),
    "D": ("industry", ""),
    "E": ("construction", ""),
    "F": (None, _AMBIGUOUS["F"]),
    "G": (None, _AMBIGUOUS["G"]),
    "H": (None, _AMBIGUOUS["H"]),
    "I": (None, _AMBIGUOUS["I"]),
    "J": (None, _EXCLUDED["finance"]),
    "K": (None, _AMBIGUOUS["K"]),
    "L": ("leasing_business_services", ""),
    "M": ("other", ""),
    "N": ("other", ""),
    "O": ("other", ""),
    "P": ("other", "P 教育" + _REFERENCE_NOTE),
    "Q": ("other", "Q 卫生和社会工作: 社会工作(85)属其他未列明行业, 卫生(84)" + _REFERENCE_NOTE),
    "R": ("other", ""),
    "S": (None, _EXCLUDED["S"]),
    "T": (None, _EXCLUDED["T"]),
}


def section_of_division(div: int) -> str:
    for letter, (first, last, _name) in GBT4754_SECTIONS.items():
        if first <= div <= last:
            return letter
    raise ValueError(f"division {div:02d} is not in GB/T 4754-2017 (01-97)")


def map_industry_code(code: str) -> IndustryMapping:
    """Map a GB/T 4754-2017 code ('F', '52', '521', '5211', or 'F5211') to a 划型 row."""
    if not isinstance(code, str):
        raise TypeError("industry code must be a str")
    norm = code.strip().upper()
    m = _CODE_RE.fullmatch(norm)
    if not norm or not m:
        raise ValueError(f"malformed GB/T 4754 code: {code!r}")
    letter, digits = m.group(1), m.group(2)
    if letter is not None and letter not in GBT4754_SECTIONS:
        raise ValueError(f"no GB/T 4754-2017 section {letter!r}")
    if digits is None:
        row, note = _SECTION_ROWS[letter]
        return IndustryMapping(norm, row, note)
    div = int(digits[:2])
    section = section_of_division(div)
    if letter is not None and letter != section:
        raise ValueError(f"division {digits[:2]} belongs to section {section}, not {letter}")
    group = int(digits[2]) if len(digits) >= 3 else None
    if div in _VALID_GROUPS and group is not None and group not in _VALID_GROUPS[div]:
        raise ValueError(f"no GB/T 4754-2017 group {digits[:3]}")
    row, note = _division_row(div, group)
    return IndustryMapping(norm, row, note)


@dataclass(frozen=True)
class SizeResult:
    size_class: str | None
    row: str | None
    explanation: str
    missing: tuple[str, ...] = ()  # indicator names whose absence left it undecided
    note: str = ""  # mapping note (参照, or why no row)

    @property
    def label(self) -> str | None:
        return SIZE_LABELS.get(self.size_class) if self.size_class else None


def _meets(row: SizeRow, size_class: str, values: Mapping[str, Any]) -> bool | None:
    def one(indicator: str, bound: int) -> bool | None:
        value = values[indicator]
        if value is None:
            return None
        limit = bound * YUAN_PER_WAN if indicator in _MONEY_INDICATORS else bound
        return value >= limit

    return _all3(one(ind, bound) for ind, bound in row.bounds(size_class))


def _requirement(row: SizeRow, size_class: str) -> str:
    return "且".join(
        f"{INDICATOR_LABELS[ind]} ≥ {bound} {INDICATOR_UNITS[ind]}" for ind, bound in row.bounds(size_class)
    )


def _size_facts(row: SizeRow, values: Mapping[str, Any]) -> str:
    parts = []
    for ind in row.indicators:
        value = values[ind]
        if value is None:
            parts.append(f"{INDICATOR_LABELS[ind]} 未提供")
        elif ind in _MONEY_INDICATORS:
            parts.append(f"{INDICATOR_LABELS[ind]} {format_wan(value)} 万元")
        else:
            parts.append(f"{INDICATOR_LABELS[ind]} {value} 人")
    return ", ".join(parts)


def classify_size_for_row(
    row_key: str,
    employees: int | None = None,
    revenue: int | Decimal | None = None,
    total_assets: int | Decimal | None = None,
    *,
    note: str = "",
) -> SizeResult:
    """划型 for a known row.  ``revenue`` and ``total_assets`` in 元."""
    if row_key not in SIZE_ROWS:
        raise ValueError(f"unknown size row {row_key!r}")
    row = SIZE_ROWS[row_key]
    values = {
        EMPLOYEES: _check_count(employees, "employees"),
        REVENUE: _check_money(revenue, "revenue"),
        TOTAL_ASSETS: _check_money(total_assets, "total_assets"),
    }
    facts = f"{row.label}: {_size_facts(row, values)}"
    suffix = f"; 注: {note}" if note else ""
    for size_class, higher in (("large", None), ("medium", "large"), ("small", "medium")):
        met = _meets(row, size_class, values)
        if met is None:
            missing = tuple(ind for ind, _ in row.bounds(size_class) if values[ind] is None)
            names = _join_cn(INDICATOR_LABELS[m] for m in missing)
            return SizeResult(
                None,
                row.key,
                f"{facts} → 无法划型 (缺少{names}, 无法判断是否达到"
                f"{SIZE_LABELS[size_class]}标准: {_requirement(row, size_class)}){suffix}",
                missing,
                note,
            )
        if met:
            why = (
                f"达到大型标准: {_requirement(row, 'large')}"
                if higher is None
                else f"{SIZE_LABELS[higher]}须{_requirement(row, higher)}"
            )
            return SizeResult(size_class, row.key, f"{facts} → {SIZE_LABELS[size_class]} ({why}){suffix}", (), note)
    return SizeResult("micro", row.key, f"{facts} → 微型 (小型须{_requirement(row, 'small')}){suffix}", (), note)


def classify_size(
    industry_code: str,
    employees: int | None = None,
    revenue: int | Decimal | None = None,
    total_assets: int | Decimal | None = None,
) -> SizeResult:
    """划型 per 工信部联企业〔2011〕300号 from a GB/T 4754-2017 code.  Money in 元."""
    mapping = map_industry_code(industry_code)
    if mapping.row is None:
        # still validate the inputs so bad data is not hidden behind an unmapped code
        _check_count(employees, "employees")
        _check_money(revenue, "revenue")
        _check_money(total_assets, "total_assets")
        return SizeResult(None, None, f"行业代码 {mapping.code}: 无法划型 ({mapping.note})", (), mapping.note)
    return classify_size_for_row(mapping.row, employees, revenue, total_assets, note=mapping.note)


# --------------------------------------------------------------------------- 名特优新


def honor_validity(valid_until: dt.date | None, as_of: dt.date, valid_from: dt.date | None = None) -> bool | None:
    """Whether one honour is valid on ``as_of``: True inside its period (both ends inclusive),
    False before it starts or after it ends, None (unknown) when it has started and its end
    is not known."""
    if isinstance(as_of, dt.datetime):
        as_of = as_of.date()
    if isinstance(valid_from, dt.datetime):
        valid_from = valid_from.date()
    if isinstance(valid_until, dt.datetime):
        valid_until = valid_until.date()
    if valid_from is not None and valid_from > as_of:
        return False
    if valid_until is None:
        return None
    return valid_until >= as_of


def honors_valid(honors: Iterable[tuple], as_of: dt.date) -> list[str] | None:
    """Kinds valid on ``as_of`` in ``HONOR_KINDS`` order, no duplicates; ``None`` when an
    honour of unknown validity (started, no end date) leaves the list open — the engine's
    ``honors_valid`` fact. Items are ``(kind, valid_until)`` or ``(kind, valid_until, valid_from)``."""
    valid: set[str] = set()
    open_validity = False
    for item in honors:
        kind, valid_until = item[0], item[1]
        valid_from = item[2] if len(item) > 2 else None
        if kind not in HONOR_KINDS:
            raise ValueError(f"honor kind must be one of {HONOR_KINDS}, got {kind!r}")
        validity = honor_validity(valid_until, as_of, valid_from)
        if validity is None:
            open_validity = True
        elif validity:
            valid.add(kind)
    return None if open_validity else [kind for kind in HONOR_KINDS if kind in valid]


def has_valid_honor(honors: Iterable[tuple], as_of: dt.date) -> bool | None:
    """True when some honour is valid on ``as_of``; otherwise None while one's validity is
    unknown, else False — the engine's ``has_valid_honor`` fact."""
    honors = list(honors)
    for item in honors:
        if honor_validity(item[1], as_of, item[2] if len(item) > 2 else None):
            return True
    if honors_valid(honors, as_of) is None:
        return None
    return False
