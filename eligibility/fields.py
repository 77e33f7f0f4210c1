"""The field registry: every fact a rule may test, and how to read it from a preview request.

A fact is ``None`` when the data is missing: rules over it come out ``unknown``. Facts that
depend on the evaluation date (operating months, age, honour validity) are computed once,
when the request is read, so the evaluator itself is independent of time.

Facts that depend on the product are added by ``product_facts``: its loan term (and the age
at maturity), and the entity's relationship with the product's own bank (``bank_*``: months
borrowed there, the line, a non-performing loan, overdues in 12 months), read from the
request's ``bank_relationships`` (a bank fills them for its own customers). A product never
reads another bank's relationship; no row for its bank leaves those facts unknown.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Callable, Mapping

ENTITY_TYPES = {
    "individual_business": "个体工商户",
    "small_micro_enterprise": "小微企业",
    "farmer_cooperative": "农民专业合作社",
    "family_farm": "家庭农场",
}
REGISTER_STATUSES = {
    "active": "存续",
    "abnormal": "经营异常",
    "revoked": "吊销未注销",
    "cancelled": "已注销",
}
TIERS = {"survival": "生存型", "growth": "成长型", "development": "发展型"}
HONOR_KINDS = {"renowned": "知名", "distinctive": "特色", "quality": "优质", "emerging": "新兴"}
TAX_STATUSES = {
    "general_taxpayer": "一般纳税人",
    "small_scale_taxpayer": "小规模纳税人",
    "none": "非增值税纳税人",
}
SIZE_CLASSES = {"large": "大型", "medium": "中型", "small": "小型", "micro": "微型"}
NATIONALITY_LABELS = {"CN": "中国", "HK": "中国香港", "MO": "中国澳门", "TW": "中国台湾"}
# 烟草专卖零售许可证 on the evaluation date (烟商E贷, seeds/001 附件 四(一)1): derived from whether
# the entity holds one and its validity period (from ``valid_from``, through ``valid_until``)
TOBACCO_LICENCE_STATUSES = {
    "valid": "有效期内",
    "expired": "已过期",
    "not_yet_valid": "尚未生效",
    "none": "未持有",
}
# the repayment mode a need asks for (need.repayment)
REPAYMENT_MODES = {
    "bullet": "按月结息、到期一次性还本",
    "equal_installment": "等额本息",
    "equal_principal": "等额本金",
    "installment": "分期还本",
    "revolving": "随借随还",
}
# the facts of the entity's relationship with a product's bank: fact key → key of a row of the
# request's entity.bank_relationships (and column of entities.BankRelationship)
BANK_RELATIONSHIP_FACTS = {
    "bank_months_borrowed": "months_borrowed",
    "bank_credit_line": "credit_line",
    "bank_non_performing": "non_performing",
    "bank_overdue_12m": "overdue_12m",
}
# the key of the facts (from_request) holding the relationships by bank code
RELATIONSHIPS = "bank_relationships"

# Without a stated need the term is 12 months, or the product's maximum if shorter.
DEFAULT_TERM_MONTHS = 12

Reader = Callable[[Mapping[str, Any], "Mapping[str, Any] | None", dt.date], Any]
SizeClassifier = Callable[[str, "int | None", "int | None", "int | None"], "str | None"]


class FieldType(str, Enum):
    INTEGER = "int"
    MONEY = "money"
    BOOLEAN = "bool"
    CHOICE = "enum"
    TEXT = "str"
    REGION = "region"
    INDUSTRY = "industry"
    CHOICE_LIST = "list"


NUMERIC_TYPES = frozenset({FieldType.INTEGER, FieldType.MONEY})
HIERARCHY_TYPES = {FieldType.REGION: "region", FieldType.INDUSTRY: "industry"}


@dataclass(frozen=True, eq=False)
class Field:
    key: str
    type: FieldType
    label: str
    unit: str = ""
    choices: Mapping[str, str] = field(default_factory=dict)
    time_cured: bool = False  # the value grows by itself as time passes
    missing: str = ""  # the data to supply: "成立日期"
    topic: str = ""  # what cannot be judged without it: "经营时间"
    phrase: str = ""  # the actual value: "已经营 {value} 个月"
    true_text: str = ""
    false_text: str = ""
    shortfall: str = ""  # a time-cured fail: "经营未满 {duration}"
    sql: str = ""  # column (or source) name for the later compile-to-SQL step
    derive: str = ""  # how the column becomes the fact: months_since, years_since, per_product, bank_relationship …
    per_product: bool = False  # depends on the product (its term, its bank), set by product_facts
    read: Reader | None = None
    # an informative fact no rule may test (the portal's 三型 estimate): shown, never decisive
    rule_usable: bool = True
    # what to say when the value is missing, from the other facts (the estimate beside a
    # missing 三型 mark); None falls back to "缺少{missing}"
    unknown_text: Callable[[Mapping[str, Any]], "str | None"] | None = None

    def value_label(self, value: Any) -> str:
        if self.type is FieldType.BOOLEAN:
            return self.true_text if value else self.false_text
        if self.type is FieldType.CHOICE_LIST:
            return "、".join(self.value_label_one(v) for v in value) or "无"
        return self.value_label_one(value)

    def value_label_one(self, value: Any) -> str:
        return self.choices.get(value, str(value)) if isinstance(value, str) else str(value)

    def describe(self, value: Any, facts: Mapping[str, Any]) -> str:
        """The actual value as a phrase: "已经营 18 个月", "经营主体类型为个体工商户"."""
        if self.type is FieldType.BOOLEAN:
            return self.value_label(value)
        template = self.phrase or ("{label} {value} {unit}" if self.unit else "{label}为{value}")
        return template.format(label=self.label, value=self.value_label(value), unit=self.unit, facts=facts).strip()

    @property
    def missing_text(self) -> str:
        return self.missing or self.label

    def unknown_sentence(self, facts: Mapping[str, Any]) -> str | None:
        """The sentence for a missing value that other facts can say more about, or None."""
        return self.unknown_text(facts) if self.unknown_text is not None else None

    @property
    def topic_text(self) -> str:
        return self.topic or f"{self.label}条件"


# --- dates -----------------------------------------------------------------------------------


def as_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return None
    return None


def add_months(day: dt.date, months: int) -> dt.date:
    """Same day ``months`` later, clamped to the month's end (01-31 + 1 month = 02-28)."""
    year, month_index = divmod(day.month - 1 + months, 12)
    year += day.year
    last_day = calendar.monthrange(year, month_index + 1)[1]
    return dt.date(year, month_index + 1, min(day.day, last_day))


def months_between(start: dt.date, end: dt.date) -> int:
    """Whole months from ``start`` to ``end`` (``end`` >= ``start``)."""
    months = (end.year - start.year) * 12 + end.month - start.month
    if add_months(start, months) > end:
        months -= 1
    return months


def _months_since(value: Any, as_of: dt.date) -> int | None:
    day = as_date(value)
    if day is None or day > as_of:
        return None
    return months_between(day, as_of)


# --- readers ---------------------------------------------------------------------------------


def _get(data: Mapping[str, Any] | None, *path: str) -> Any:
    for key in path:
        # a plain dict (every request and entity row) is told apart without the ABC's check,
        # which was a tenth of the facts' reading (差一点符合: 50 entities' facts per page)
        if type(data) is not dict and not isinstance(data, Mapping):
            return None
        data = data.get(key)
    return data


def _entity(*path: str) -> Reader:
    return lambda entity, need, as_of: _get(entity, *path)


def _need(key: str) -> Reader:
    return lambda entity, need, as_of: _get(need, key)


def _months_since_date(*path: str) -> Reader:
    return lambda entity, need, as_of: _months_since(_get(entity, *path), as_of)


def _operator_age(entity, need, as_of) -> int | None:
    months = _months_since(_get(entity, "operator", "birth_date"), as_of)
    return None if months is None else months // 12


def _nationality(entity, need, as_of) -> str | None:
    value = _get(entity, "operator", "nationality")
    return value.upper() if isinstance(value, str) else None


def honor_status(honors: Any, as_of: dt.date) -> tuple[list[str] | None, bool | None]:
    """(kinds valid on ``as_of``, whether any is valid); None where a missing date leaves it open.

    An honour is valid from ``valid_from`` (if given) up to and including ``valid_until``. One
    that has started without a ``valid_until`` has an unknown validity (名特优新 is granted for
    a period and lent on only "在有效期内", 001 附件 三(二)): its rules come out ``unknown`` and
    the reason asks for the period. ``entities.classification.honors_valid`` and the SQL
    compilation give the same answer (tested)."""
    if honors is None:
        return None, None
    valid: set[str] = set()
    open_validity = False
    for honor in honors:
        starts, ends = as_date(honor.get("valid_from")), as_date(honor.get("valid_until"))
        if starts is not None and starts > as_of:
            continue
        if ends is None:
            open_validity = True
        elif as_of <= ends:
            valid.add(honor.get("kind"))
    kinds = [kind for kind in HONOR_KINDS if kind in valid]
    has_valid = True if kinds else (None if open_validity else False)
    return (None if open_validity else kinds), has_valid


def tobacco_licence_status(held: bool | None, valid_from: Any, valid_until: Any, as_of: dt.date) -> str | None:
    """The licence's status on ``as_of`` (TOBACCO_LICENCE_STATUSES), None when unknown: whether
    the entity holds one is not known, or it holds one whose end date is missing.

    The order of the checks is the SQL compilation's (batch_matching.compile): not held,
    no end date, not yet started, ended, valid."""
    if held is None:
        return None
    if held is False:
        return "none"
    ends = as_date(valid_until)
    if ends is None:
        return None
    starts = as_date(valid_from)
    if starts is not None and starts > as_of:
        return "not_yet_valid"
    return "expired" if ends < as_of else "valid"


def _tobacco_licence(entity, need, as_of) -> str | None:
    """``entity.tobacco_licence``: ``{"held", "number", "valid_from", "valid_until"}``; a
    number without ``held`` means held."""
    licence = _get(entity, "tobacco_licence")
    if not isinstance(licence, Mapping):
        return None
    held = licence.get("held")
    if held is None and licence.get("number"):
        held = True
    return tobacco_licence_status(held, licence.get("valid_from"), licence.get("valid_until"), as_of)


def bank_relationships(entity: Mapping[str, Any] | None) -> dict[str, Mapping[str, Any]] | None:
    """The request's ``bank_relationships`` by bank code; None when the request states none."""
    rows = _get(entity, "bank_relationships")
    if not isinstance(rows, list):
        return None
    return {row["bank"]: row for row in rows if isinstance(row, Mapping) and isinstance(row.get("bank"), str)}


def _honors_valid(entity, need, as_of):
    return honor_status(_get(entity, "honors"), as_of)[0]


def _has_valid_honor(entity, need, as_of):
    return honor_status(_get(entity, "honors"), as_of)[1]


def tier_mark_missing(facts: Mapping[str, Any]) -> str | None:
    """A missing 三型 mark beside the portal's estimate: the products ask for the mark of the
    provincial 名录库 ("在'全省个体工商户名录库'中被标记为'三型'", 001 附件 三(二)), so the
    estimate is named and the way to the mark said, and the rule stays unknown."""
    estimate = facts.get("tier_estimate")
    if estimate not in TIERS:
        return None
    return f"尚无市场监管部门的三型标记（平台预估：{TIERS[estimate]}），请联系市场监管部门标记"


# --- the registry ----------------------------------------------------------------------------

_FIELDS = [
    Field(
        "entity_type",
        FieldType.CHOICE,
        "经营主体类型",
        choices=ENTITY_TYPES,
        sql="entity_type",
        read=_entity("entity_type"),
    ),
    Field(
        "register_status",
        FieldType.CHOICE,
        "登记状态",
        choices=REGISTER_STATUSES,
        sql="register_status",
        read=_entity("register_status"),
    ),
    Field(
        "operating_months",
        FieldType.INTEGER,
        "经营时间",
        unit="个月",
        time_cured=True,
        missing="成立日期",
        topic="经营时间",
        phrase="已经营 {value} 个月",
        shortfall="经营未满 {duration}",
        sql="established_on",
        derive="months_since",
        read=_months_since_date("established_on"),
    ),
    Field(
        "operator_age",
        FieldType.INTEGER,
        "年龄",
        unit="岁",
        time_cured=True,
        missing="经营者出生日期",
        topic="经营者年龄",
        phrase="年龄 {value} 岁",
        shortfall="未满 {value} 周岁",
        sql="operator_birth_date",
        derive="years_since",
        read=_operator_age,
    ),
    Field(
        "annual_revenue", FieldType.MONEY, "年营业收入", unit="元", sql="annual_revenue", read=_entity("annual_revenue")
    ),
    Field("net_assets", FieldType.MONEY, "净资产", unit="元", sql="net_assets", read=_entity("net_assets")),
    Field("total_assets", FieldType.MONEY, "资产总额", unit="元", sql="total_assets", read=_entity("total_assets")),
    Field("employees", FieldType.INTEGER, "从业人员", unit="人", sql="employees", read=_entity("employees")),
    Field(
        "social_insurance_headcount",
        FieldType.INTEGER,
        "社保缴纳人数",
        unit="人",
        sql="social_insurance_headcount",
        read=_entity("social_insurance_headcount"),
    ),
    Field(
        "tax_status", FieldType.CHOICE, "纳税人类型", choices=TAX_STATUSES, sql="tax_status", read=_entity("tax_status")
    ),
    Field(
        "has_tax_record",
        FieldType.BOOLEAN,
        "纳税记录",
        true_text="有纳税记录",
        false_text="无纳税记录",
        sql="has_tax_record",
        read=_entity("has_tax_record"),
    ),
    # the regulator's 三型 mark (名录库); the estimate below is informative only
    Field(
        "tier",
        FieldType.CHOICE,
        "三型标记",
        choices=TIERS,
        missing="市场监管部门的三型标记",
        topic="三型标记条件",
        phrase="三型标记为{value}",
        sql="tier",
        read=_entity("tier"),
        unknown_text=tier_mark_missing,
    ),
    Field(
        "tier_estimate",
        FieldType.CHOICE,
        "三型预估",
        choices=TIERS,
        missing="平台的三型预估",
        phrase="平台预估为{value}",
        sql="tier_computed",
        read=_entity("tier_estimate"),
        rule_usable=False,
    ),
    Field(
        "honors_valid",
        FieldType.CHOICE_LIST,
        "有效期内的名特优新称号",
        choices=HONOR_KINDS,
        missing="名特优新称号或其有效期（有效期至）",
        phrase="有效期内的名特优新称号: {value}",
        sql="honors",
        derive="valid_honor_kinds",
        read=_honors_valid,
    ),
    Field(
        "has_valid_honor",
        FieldType.BOOLEAN,
        "名特优新称号",
        missing="名特优新称号或其有效期（有效期至）",
        topic="名特优新称号是否有效",
        true_text="持有有效期内的名特优新称号",
        false_text="未持有有效期内的名特优新称号",
        sql="honors",
        derive="has_valid_honor",
        read=_has_valid_honor,
    ),
    Field(
        "region_code",
        FieldType.REGION,
        "所在地区",
        missing="所在地区（行政区划代码）",
        topic="是否位于服务区域",
        phrase="所在地区代码 {value}",
        sql="region_code",
        read=_entity("region_code"),
    ),
    Field(
        "operator_residence_region",
        FieldType.REGION,
        "经营者住所地区",
        missing="经营者住所地区代码",
        topic="经营者住所是否位于服务区域",
        phrase="经营者住所地区代码 {value}",
        sql="operator_residence_region_code",
        read=_entity("operator", "residence_region_code"),
    ),
    Field(
        "operating_region",
        FieldType.REGION,
        "经营地",
        missing="经营地（行政区划代码）",
        topic="经营地是否位于服务区域",
        phrase="经营地地区代码 {value}",
        sql="operating_region_code",
        read=_entity("operating_region_code"),
    ),
    Field(
        "operator_realisable_net_assets",
        FieldType.MONEY,
        "借款人自有可变现净资产",
        unit="元",
        missing="借款人（经营者）自有可变现净资产",
        sql="operator_realisable_net_assets",
        read=_entity("operator", "realisable_net_assets"),
    ),
    Field(
        "industry_code",
        FieldType.INDUSTRY,
        "行业",
        missing="行业代码",
        topic="所属行业",
        phrase="行业代码 {value}",
        sql="industry_code",
        read=_entity("industry_code"),
    ),
    Field(
        "size_class",
        FieldType.CHOICE,
        "企业划型",
        choices=SIZE_CLASSES,
        missing="企业划型（或从业人员、营业收入、资产总额）",
        phrase="企业划型为{value}",
        sql="size_class",
        read=None,
    ),  # read by from_request (needs the size classifier)
    Field(
        "nationality",
        FieldType.TEXT,
        "国籍",
        choices=NATIONALITY_LABELS,
        missing="经营者国籍",
        phrase="经营者国籍为{value}",
        sql="operator_nationality",
        read=_nationality,
    ),
    Field(
        "local_residence",
        FieldType.BOOLEAN,
        "本地常住户口或长期居住证明",
        missing="经营者是否有本地常住户口或长期居住证明",
        true_text="有本地常住户口或长期居住证明",
        false_text="无本地常住户口或长期居住证明",
        sql="operator_local_residence",
        read=_entity("operator", "local_residence"),
    ),
    Field(
        "industry_experience_months",
        FieldType.INTEGER,
        "本行业从业经历",
        unit="个月",
        missing="经营者本行业从业经历",
        phrase="设立前本行业从业经历 {value} 个月",
        sql="operator_industry_experience_months",
        read=_entity("operator", "industry_experience_months"),
    ),
    Field(
        "dishonest_debtor",
        FieldType.BOOLEAN,
        "失信被执行人",
        missing="是否为失信被执行人",
        true_text="已列入失信被执行人名单",
        false_text="未列入失信被执行人名单",
        sql="dishonest_debtor",
        read=_entity("credit", "dishonest_debtor"),
    ),
    Field(
        "joint_punishment",
        FieldType.BOOLEAN,
        "失信联合惩戒对象",
        missing="是否为失信联合惩戒对象",
        true_text="已列入失信联合惩戒对象名单",
        false_text="未列入失信联合惩戒对象名单",
        sql="joint_punishment",
        read=_entity("credit", "joint_punishment"),
    ),
    Field(
        "consumption_restricted",
        FieldType.BOOLEAN,
        "限制高消费",
        missing="是否被限制高消费",
        true_text="被限制高消费",
        false_text="未被限制高消费",
        sql="consumption_restricted",
        read=_entity("credit", "consumption_restricted"),
    ),
    Field(
        "overdue_consecutive_24m",
        FieldType.INTEGER,
        "近两年最长连续逾期",
        unit="期",
        missing="近两年连续逾期期数",
        phrase="近两年最长连续逾期 {value} 期",
        sql="overdue_consecutive_24m",
        read=_entity("credit", "overdue_consecutive_24m"),
    ),
    Field(
        "overdue_total_24m",
        FieldType.INTEGER,
        "近两年累计逾期",
        unit="期",
        missing="近两年累计逾期期数",
        phrase="近两年累计逾期 {value} 期",
        sql="overdue_total_24m",
        read=_entity("credit", "overdue_total_24m"),
    ),
    Field(
        "overdue_12m",
        FieldType.INTEGER,
        "最近 12 个月累计逾期",
        unit="次",
        missing="最近 12 个月逾期次数",
        phrase="最近 12 个月累计逾期 {value} 次",
        sql="overdue_12m",
        read=_entity("credit", "overdue_12m"),
    ),
    Field(
        "major_bad_record",
        FieldType.BOOLEAN,
        "重大不良信用记录",
        missing="是否有重大不良信用记录",
        true_text="有重大不良信用记录",
        false_text="无重大不良信用记录",
        sql="major_bad_record",
        read=_entity("credit", "major_bad_record"),
    ),
    Field(
        "pending_litigation",
        FieldType.BOOLEAN,
        "未决诉讼",
        missing="是否有未决诉讼或经济纠纷",
        true_text="有未决诉讼或经济纠纷",
        false_text="无未决诉讼或经济纠纷",
        sql="pending_litigation",
        read=_entity("credit", "pending_litigation"),
    ),
    Field(
        "legal_rep_changed_months",
        FieldType.INTEGER,
        "法定代表人（经营者）变更",
        unit="个月",
        time_cured=True,
        missing="法定代表人（经营者）最近变更日期",
        topic="近期法定代表人是否变更",
        phrase="法定代表人（经营者）最近一次变更距今 {value} 个月",
        shortfall="近 {value} 个月内发生过变更",
        sql="legal_rep_changed_on",
        derive="months_since",
        read=_months_since_date("legal_rep_changed_on"),
    ),
    Field(
        "main_business_changed_months",
        FieldType.INTEGER,
        "主营业务变更",
        unit="个月",
        time_cured=True,
        missing="主营业务最近变更日期",
        topic="近期主营业务是否变化",
        phrase="主营业务最近一次变化距今 {value} 个月",
        shortfall="近 {value} 个月内发生过变化",
        sql="main_business_changed_on",
        derive="months_since",
        read=_months_since_date("main_business_changed_on"),
    ),
    # --- 烟草专卖零售许可证 (烟商E贷) ---
    Field(
        "tobacco_licence",
        FieldType.CHOICE,
        "烟草专卖零售许可证",
        choices=TOBACCO_LICENCE_STATUSES,
        missing="烟草专卖零售许可证信息",
        topic="是否持有有效的烟草专卖零售许可证",
        phrase="烟草专卖零售许可证: {value}",
        sql="tobacco_licence_held",
        derive="tobacco_licence_status",
        read=_tobacco_licence,
    ),
    Field("need_amount", FieldType.MONEY, "申请金额", unit="元", sql="need_amount", read=_need("amount")),
    Field(
        "need_term_months",
        FieldType.INTEGER,
        "申请期限",
        unit="个月",
        sql="need_term_months",
        read=_need("term_months"),
    ),
    Field(
        "need_repayment",
        FieldType.CHOICE,
        "还款方式",
        choices=REPAYMENT_MODES,
        missing="申请的还款方式",
        phrase="还款方式为{value}",
        sql="need_repayment",
        read=_need("repayment"),
    ),
    Field(
        "term_months",
        FieldType.INTEGER,
        "贷款期限",
        unit="个月",
        phrase="贷款期限 {value} 个月",
        sql="need_term_months",
        derive="per_product",
        per_product=True,
    ),
    Field(
        "term_years",
        FieldType.INTEGER,
        "贷款期限（整年, 向上取整）",
        unit="年",
        phrase="贷款期限 {value} 年",
        sql="need_term_months",
        derive="per_product",
        per_product=True,
    ),
    Field(
        "age_plus_term_years",
        FieldType.INTEGER,
        "年龄与贷款期限之和",
        unit="岁",
        missing="经营者出生日期",
        topic="年龄与贷款期限之和",
        phrase="年龄 {facts[operator_age]} 岁与贷款期限 {facts[term_years]} 年之和为 {value} 岁",
        sql="operator_birth_date",
        derive="per_product",
        per_product=True,
    ),
]

# the entity's relationship with the product's own bank (per product: product_facts)
_FIELDS += [
    Field(
        "bank_months_borrowed",
        FieldType.INTEGER,
        "在本行累计用款期限",
        unit="个月",
        missing="本行填报的借贷往来（累计用款期限）",
        phrase="在本行累计用款 {value} 个月",
        sql="months_borrowed",
        derive="bank_relationship",
        per_product=True,
    ),
    Field(
        "bank_credit_line",
        FieldType.MONEY,
        "在本行授信额度",
        unit="元",
        missing="本行填报的借贷往来（授信额度）",
        phrase="在本行授信额度 {value} 元",
        sql="credit_line",
        derive="bank_relationship",
        per_product=True,
    ),
    Field(
        "bank_non_performing",
        FieldType.BOOLEAN,
        "在本行不良贷款记录",
        missing="本行填报的借贷往来（不良贷款记录）",
        true_text="在本行有不良贷款记录",
        false_text="在本行无不良贷款记录",
        sql="non_performing",
        derive="bank_relationship",
        per_product=True,
    ),
    Field(
        "bank_overdue_12m",
        FieldType.INTEGER,
        "在本行最近 12 个月累计逾期",
        unit="次",
        missing="本行填报的借贷往来（最近 12 个月逾期次数）",
        phrase="在本行最近 12 个月累计逾期 {value} 次",
        sql="overdue_12m",
        derive="bank_relationship",
        per_product=True,
    ),
]

FIELDS: dict[str, Field] = {f.key: f for f in _FIELDS}
REQUEST_FIELDS = tuple(f.key for f in _FIELDS if not f.per_product)


def get_field(key: str) -> Field | None:
    return FIELDS.get(key)


def _size_class(entity: Mapping[str, Any], classifier: SizeClassifier | None) -> str | None:
    stated = _get(entity, "size_class")
    if stated is not None or classifier is None:
        return stated
    industry = _get(entity, "industry_code")
    if industry is None:
        return None
    return classifier(industry, _get(entity, "employees"), _get(entity, "annual_revenue"), _get(entity, "total_assets"))


def from_request(
    entity: Mapping[str, Any] | None,
    need: Mapping[str, Any] | None,
    as_of: dt.date,
    *,
    size_classifier: SizeClassifier | None = None,
) -> dict[str, Any]:
    """Facts of a preview request's ``entity`` and ``need`` on ``as_of``; missing data is None.

    ``size_classifier(industry_code, employees, annual_revenue, total_assets)`` supplies 划型
    when the request does not state ``size_class``."""
    entity = entity or {}
    facts = {key: FIELDS[key].read(entity, need, as_of) for key in REQUEST_FIELDS if FIELDS[key].read is not None}
    facts["size_class"] = _size_class(entity, size_classifier)
    facts[RELATIONSHIPS] = bank_relationships(entity)
    return facts


def resolved_term_months(need_term_months: int | None, max_term_months: int | None) -> int:
    if need_term_months is not None:
        return need_term_months
    return min(DEFAULT_TERM_MONTHS, max_term_months or DEFAULT_TERM_MONTHS)


def product_facts(facts: Mapping[str, Any], max_term_months: int | None, bank: str | None = None) -> dict[str, Any]:
    """Add the facts that depend on the product: its loan term, the age at maturity, and the
    entity's relationship with the product's bank (``bank``: its code; unknown without it)."""
    term = resolved_term_months(facts.get("need_term_months"), max_term_months)
    term_years = -(-term // 12)  # whole years, rounded up
    age = facts.get("operator_age")
    relationship = (facts.get(RELATIONSHIPS) or {}).get(bank) if bank else None
    return {
        **facts,
        "term_months": term,
        "term_years": term_years,
        "age_plus_term_years": None if age is None else age + term_years,
        **{
            key: None if relationship is None else relationship.get(source)
            for key, source in BANK_RELATIONSHIP_FACTS.items()
        },
    }
