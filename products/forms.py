"""Forms of the product pages: 资格自测 (a short, phone-friendly preview request) and the
bank administrator's product editor (rules and caps as JSON, validated on save)."""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal
from typing import Any

from django import forms

from eligibility.caps import cap_errors
from eligibility.fields import ENTITY_TYPES, HONOR_KINDS, REGISTER_STATUSES, REPAYMENT_MODES, TAX_STATUSES, TIERS
from eligibility.rules import rule_errors
from entities.models import Nationality
from portal import bounds
from portal.models import Industry, IndustryLevel, Region, RegionLevel
from products.models import LoanProductVersion

UNKNOWN = ""
TRI_STATE = [(UNKNOWN, "不清楚"), ("yes", "是"), ("no", "否")]
NATIONALITIES = [(UNKNOWN, "不清楚"), *Nationality.choices]  # the register's codes (one list)
HONOR_CHOICES = [(UNKNOWN, "不清楚"), ("none", "没有")] + [(k, f"{v}（名特优新）") for k, v in HONOR_KINDS.items()]


def _choices(mapping, blank="不清楚"):
    return [(UNKNOWN, blank)] + list(mapping.items())


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


class WanField(forms.DecimalField):
    """An amount typed in 万元, cleaned to integer 元 (at most four decimals)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("min_value", Decimal(0))
        kwargs.setdefault("max_digits", 14)
        kwargs.setdefault("decimal_places", 4)
        super().__init__(**kwargs)
        self.widget.attrs.update({"inputmode": "decimal", "step": "0.0001"})

    def clean(self, value):
        value = super().clean(value)
        return None if value is None else int(value * 10000)


def _tri(value: str):
    return None if value == UNKNOWN else value == "yes"


def _tri_initial(value) -> str:
    return UNKNOWN if value is None else ("yes" if value else "no")


def _wan_initial(amount):
    """元 → 万元 as a form shows it: 30, 12.5, 0.0001 — never "3E+1" (Decimal.normalize's
    exponent for a round number)."""
    if amount is None:
        return None
    return Decimal(format((Decimal(amount) / 10000).normalize(), "f"))


def region_choices() -> list:
    """Counties of Shanxi grouped by city (the service area of the shipped catalogue)."""
    cities = {r.code: r.name for r in Region.objects.filter(level=RegionLevel.CITY, code__startswith="14")}
    groups: dict[str, list] = {}
    for county in Region.objects.filter(level=RegionLevel.COUNTY, code__startswith="14").order_by("code"):
        groups.setdefault(cities.get(county.parent_id, "其他"), []).append((county.code, county.name))
    return [(UNKNOWN, "请选择")] + [(city, counties) for city, counties in groups.items()]


def industry_choices() -> list:
    sections = {i.code: i.name for i in Industry.objects.filter(level=IndustryLevel.SECTION)}
    groups: dict[str, list] = {}
    for division in Industry.objects.filter(level=IndustryLevel.DIVISION).order_by("code"):
        groups.setdefault(f"{division.parent_id} {sections.get(division.parent_id, '')}", []).append(
            (division.code, f"{division.code} {division.name}")
        )
    return [(UNKNOWN, "请选择")] + list(groups.items())


# form field → path of the preview request (for the engine's field errors)
REQUEST_PATHS = {
    "entity_type": "entity.entity_type",
    "established_on": "entity.established_on",
    "region_code": "entity.region_code",
    "industry_code": "entity.industry_code",
    "industry_detail": "entity.industry_code",
    "tier": "entity.tier",
    "register_status": "entity.register_status",
    "annual_revenue": "entity.annual_revenue",
    "net_assets": "entity.net_assets",
    "total_assets": "entity.total_assets",
    "employees": "entity.employees",
    "social_insurance_headcount": "entity.social_insurance_headcount",
    "tax_status": "entity.tax_status",
    "has_tax_record": "entity.has_tax_record",
    "honor_valid_until": "entity.honors[0].valid_until",
    "tobacco_licence": "entity.tobacco_licence.held",
    "tobacco_licence_valid_until": "entity.tobacco_licence.valid_until",
    "birth_date": "entity.operator.birth_date",
    "nationality": "entity.operator.nationality",
    "local_residence": "entity.operator.local_residence",
    "industry_experience_months": "entity.operator.industry_experience_months",
    "legal_rep_changed_on": "entity.legal_rep_changed_on",
    "main_business_changed_on": "entity.main_business_changed_on",
    "overdue_consecutive_24m": "entity.credit.overdue_consecutive_24m",
    "overdue_total_24m": "entity.credit.overdue_total_24m",
    "overdue_12m": "entity.credit.overdue_12m",
    "need_amount": "need.amount",
    "need_term_months": "need.term_months",
    "need_repayment": "need.repayment",
    "operating_region_code": "entity.operating_region_code",
    "realisable_net_assets": "entity.operator.realisable_net_assets",
}
CREDIT_FLAGS = [
    ("dishonest_debtor", "失信被执行人"),
    ("joint_punishment", "失信联合惩戒对象"),
    ("consumption_restricted", "被限制高消费"),
    ("major_bad_record", "有重大不良信用记录"),
    ("pending_litigation", "有未决诉讼或经济纠纷"),
]
for _flag, _ in CREDIT_FLAGS:
    REQUEST_PATHS[_flag] = f"entity.credit.{_flag}"
REQUEST_FIELDS = {path: name for name, path in REQUEST_PATHS.items()}


class SelfTestForm(forms.Form):
    """资格自测. Everything is optional: what is left "不清楚" makes the rules that need it
    "无法判断" rather than failing them."""

    entity_type = forms.ChoiceField(label="经营主体类型", choices=_choices(ENTITY_TYPES), required=False)
    region_code = forms.ChoiceField(label="所在县（市、区）", choices=(), required=False)
    operating_region_code = forms.ChoiceField(
        label="经营地（与所在地不同时）", choices=(), required=False, help_text="注册地以外的经营地, 如有"
    )
    industry_code = forms.ChoiceField(label="行业（大类）", choices=(), required=False)
    industry_detail = forms.CharField(
        label="行业小类代码（可选）", required=False, max_length=4, help_text="如 5291, 填写后更准确"
    )
    established_on = forms.DateField(label="成立日期", required=False, widget=DateInput())
    register_status = forms.ChoiceField(
        label="登记状态", choices=_choices(REGISTER_STATUSES), required=False, initial="active"
    )
    tier = forms.ChoiceField(label="分型（三型）", choices=_choices(TIERS, "不清楚或未标记"), required=False)
    honor = forms.ChoiceField(label="名特优新称号", choices=HONOR_CHOICES, required=False)
    honor_valid_until = forms.DateField(label="称号有效期至", required=False, widget=DateInput())
    tobacco_licence = forms.ChoiceField(label="持有烟草专卖零售许可证", choices=TRI_STATE, required=False)
    tobacco_licence_valid_until = forms.DateField(label="许可证有效期至", required=False, widget=DateInput())
    annual_revenue = WanField(label="年营业收入（万元）")
    net_assets = WanField(label="净资产（万元）", min_value=None)
    total_assets = WanField(label="资产总额（万元）")
    employees = forms.IntegerField(label="从业人数", required=False, min_value=0, max_value=10**7)
    social_insurance_headcount = forms.IntegerField(label="参保人数", required=False, min_value=0, max_value=10**7)
    tax_status = forms.ChoiceField(label="纳税人类型", choices=_choices(TAX_STATUSES), required=False)
    has_tax_record = forms.ChoiceField(label="有纳税记录", choices=TRI_STATE, required=False)
    birth_date = forms.DateField(label="经营者（法定代表人）出生日期", required=False, widget=DateInput())
    nationality = forms.ChoiceField(label="经营者国籍", choices=NATIONALITIES, required=False)
    local_residence = forms.ChoiceField(label="有本地户口或长期居住证明", choices=TRI_STATE, required=False)
    industry_experience_months = forms.IntegerField(
        label="设立前本行业从业经历（月）", required=False, min_value=0, max_value=1200
    )
    realisable_net_assets = WanField(label="经营者自有可变现净资产（万元）")
    dishonest_debtor = forms.ChoiceField(label=CREDIT_FLAGS[0][1], choices=TRI_STATE, required=False)
    joint_punishment = forms.ChoiceField(label=CREDIT_FLAGS[1][1], choices=TRI_STATE, required=False)
    consumption_restricted = forms.ChoiceField(label=CREDIT_FLAGS[2][1], choices=TRI_STATE, required=False)
    major_bad_record = forms.ChoiceField(label=CREDIT_FLAGS[3][1], choices=TRI_STATE, required=False)
    pending_litigation = forms.ChoiceField(label=CREDIT_FLAGS[4][1], choices=TRI_STATE, required=False)
    overdue_consecutive_24m = forms.IntegerField(
        label="近两年最长连续逾期（期）", required=False, min_value=0, max_value=1000
    )
    overdue_total_24m = forms.IntegerField(label="近两年累计逾期（期）", required=False, min_value=0, max_value=1000)
    overdue_12m = forms.IntegerField(label="近一年逾期（次）", required=False, min_value=0, max_value=1000)
    legal_rep_changed_on = forms.DateField(label="法定代表人（经营者）最近变更日期", required=False, widget=DateInput())
    main_business_changed_on = forms.DateField(label="主营业务最近变更日期", required=False, widget=DateInput())
    need_amount = WanField(label="想贷多少（万元）", min_value=Decimal("0.0001"))
    need_term_months = forms.IntegerField(label="贷多久（月）", required=False, min_value=1, max_value=360)
    need_repayment = forms.ChoiceField(label="还款方式", choices=_choices(REPAYMENT_MODES), required=False)

    GROUPS = [
        (
            "经营主体",
            [
                "entity_type",
                "region_code",
                "operating_region_code",
                "industry_code",
                "industry_detail",
                "established_on",
                "register_status",
                "tier",
                "honor",
                "honor_valid_until",
                "tobacco_licence",
                "tobacco_licence_valid_until",
            ],
        ),
        (
            "经营情况",
            [
                "annual_revenue",
                "net_assets",
                "total_assets",
                "employees",
                "social_insurance_headcount",
                "tax_status",
                "has_tax_record",
            ],
        ),
        (
            "经营者",
            ["birth_date", "nationality", "local_residence", "industry_experience_months", "realisable_net_assets"],
        ),
        (
            "信用情况",
            [
                "dishonest_debtor",
                "joint_punishment",
                "consumption_restricted",
                "major_bad_record",
                "pending_litigation",
                "overdue_consecutive_24m",
                "overdue_total_24m",
                "overdue_12m",
                "legal_rep_changed_on",
                "main_business_changed_on",
            ],
        ),
        ("融资需求", ["need_amount", "need_term_months", "need_repayment"]),
    ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        regions = region_choices()
        self.fields["region_code"].choices = regions
        self.fields["operating_region_code"].choices = regions
        self.fields["industry_code"].choices = industry_choices()
        for name, field in self.fields.items():
            css = "form-select" if isinstance(field.widget, forms.Select) else "form-control"
            field.widget.attrs.setdefault("class", css)
            if isinstance(field, forms.IntegerField):
                field.widget.attrs.setdefault("inputmode", "numeric")

    def groups(self):
        return [(title, [self[name] for name in names]) for title, names in self.GROUPS]

    def clean_industry_detail(self):
        return self.cleaned_data.get("industry_detail", "").strip().upper()

    def to_request(self) -> dict[str, Any]:
        """The preview request; fields left 不清楚 are simply absent (unknown)."""
        data = self.cleaned_data
        entity: dict[str, Any] = {}

        def put(target, key, value):
            if value not in (None, UNKNOWN):
                target[key] = value.isoformat() if isinstance(value, dt.date) else value

        for name in (
            "entity_type",
            "region_code",
            "operating_region_code",
            "tier",
            "register_status",
            "tax_status",
            "annual_revenue",
            "net_assets",
            "total_assets",
            "employees",
            "social_insurance_headcount",
            "established_on",
            "legal_rep_changed_on",
            "main_business_changed_on",
        ):
            put(entity, name, data.get(name))
        put(entity, "industry_code", data.get("industry_detail") or data.get("industry_code"))
        put(entity, "has_tax_record", _tri(data.get("has_tax_record", UNKNOWN)))
        honor = data.get("honor")
        if honor == "none":
            entity["honors"] = []
        elif honor:
            until = data.get("honor_valid_until")
            entity["honors"] = [{"kind": honor, **({"valid_until": until.isoformat()} if until else {})}]
        licence = _tri(data.get("tobacco_licence", UNKNOWN))
        if licence is False:
            entity["tobacco_licence"] = {"held": False}
        elif licence:
            until = data.get("tobacco_licence_valid_until")
            entity["tobacco_licence"] = {"held": True, **({"valid_until": until.isoformat()} if until else {})}
        operator: dict[str, Any] = {}
        put(operator, "birth_date", data.get("birth_date"))
        put(operator, "nationality", data.get("nationality"))
        put(operator, "local_residence", _tri(data.get("local_residence", UNKNOWN)))
        put(operator, "industry_experience_months", data.get("industry_experience_months"))
        put(operator, "realisable_net_assets", data.get("realisable_net_assets"))
        credit: dict[str, Any] = {}
        for flag, _ in CREDIT_FLAGS:
            put(credit, flag, _tri(data.get(flag, UNKNOWN)))
        for key in ("overdue_consecutive_24m", "overdue_total_24m", "overdue_12m"):
            put(credit, key, data.get(key))
        if operator:
            entity["operator"] = operator
        if credit:
            entity["credit"] = credit
        request: dict[str, Any] = {"entity": entity}
        need: dict[str, Any] = {}
        put(need, "amount", data.get("need_amount"))
        put(need, "term_months", data.get("need_term_months"))
        put(need, "repayment", data.get("need_repayment"))
        if need:
            request["need"] = need
        return request

    def add_request_errors(self, errors: dict[str, list[str]]) -> None:
        """The engine's field errors, on the form fields they came from."""
        for path, messages in errors.items():
            name = REQUEST_FIELDS.get(path)
            for message in messages:
                self.add_error(name, message if name else f"{path}: {message}")

    @classmethod
    def initial_from_request(cls, entity: dict[str, Any]) -> dict[str, Any]:
        """Initial values from a preview-request entity (an enterprise's own profile)."""
        operator, credit = entity.get("operator") or {}, entity.get("credit") or {}
        industry = entity.get("industry_code") or ""
        initial = {
            name: entity.get(name)
            for name in (
                "entity_type",
                "region_code",
                "operating_region_code",
                "tier",
                "register_status",
                "tax_status",
                "employees",
                "social_insurance_headcount",
                "established_on",
                "legal_rep_changed_on",
                "main_business_changed_on",
            )
        }
        initial.update(
            {
                "industry_code": industry[:2] if industry[:1].isdigit() else "",
                "industry_detail": industry if len(industry) > 2 else "",
                "annual_revenue": _wan_initial(entity.get("annual_revenue")),
                "net_assets": _wan_initial(entity.get("net_assets")),
                "total_assets": _wan_initial(entity.get("total_assets")),
                "has_tax_record": _tri_initial(entity.get("has_tax_record")),
                "birth_date": operator.get("birth_date"),
                "nationality": operator.get("nationality") or UNKNOWN,
                "local_residence": _tri_initial(operator.get("local_residence")),
                "industry_experience_months": operator.get("industry_experience_months"),
                "realisable_net_assets": _wan_initial(operator.get("realisable_net_assets")),
            }
        )
        for flag, _ in CREDIT_FLAGS:
            initial[flag] = _tri_initial(credit.get(flag))
        for key in ("overdue_consecutive_24m", "overdue_total_24m", "overdue_12m"):
            initial[key] = credit.get(key)
        licence = entity.get("tobacco_licence") or {}
        initial["tobacco_licence"] = _tri_initial(licence.get("held"))
        initial["tobacco_licence_valid_until"] = licence.get("valid_until")
        honors = entity.get("honors")
        if honors == []:
            initial["honor"] = "none"
        elif honors:
            initial["honor"] = honors[0]["kind"]
            initial["honor_valid_until"] = honors[0].get("valid_until")
        return {key: value for key, value in initial.items() if value is not None}


# --- the bank administrator's product editor -------------------------------------------------


def _json_problem(error: json.JSONDecodeError) -> str:
    return f"JSON 格式错误: 第 {error.lineno} 行第 {error.colno} 列 ({error.msg})"


class ProductEditForm(forms.Form):
    name = forms.CharField(label="产品名称", max_length=64)
    max_amount = bounds.FormIntegerField(
        label="最高额度（元）",
        required=False,
        min_value=1,
        field=bounds.column(LoanProductVersion, "max_amount"),
        help_text="留空表示由银行审批确定",
    )
    max_term_months = forms.IntegerField(label="最长期限（月）", required=False, min_value=1, max_value=360)
    effective_from = forms.DateField(label="生效日期", widget=DateInput())
    rules = forms.CharField(label="准入规则（JSON）", widget=forms.Textarea(attrs={"rows": 18, "spellcheck": "false"}))
    caps = forms.CharField(label="额度规则（JSON）", widget=forms.Textarea(attrs={"rows": 10, "spellcheck": "false"}))
    bank_checks = forms.CharField(
        label="银行核实事项（每行一项）", required=False, widget=forms.Textarea(attrs={"rows": 5})
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.widget.attrs.setdefault("class", "form-control")
        for name in ("rules", "caps"):
            self.fields[name].widget.attrs["class"] += " font-monospace small"

    @classmethod
    def initial_from(cls, definition: dict[str, Any], effective_from: dt.date) -> dict[str, Any]:
        return {
            "name": definition.get("name"),
            "max_amount": definition.get("max_amount"),
            "max_term_months": (definition.get("term") or {}).get("max_months"),
            "effective_from": effective_from,
            "rules": json.dumps(definition.get("rules"), ensure_ascii=False, indent=2),
            "caps": json.dumps(definition.get("caps", []), ensure_ascii=False, indent=2),
            "bank_checks": "\n".join(definition.get("bank_checks", [])),
        }

    def _json(self, name: str):
        try:
            return json.loads(self.cleaned_data[name])
        except json.JSONDecodeError as error:
            raise forms.ValidationError(_json_problem(error)) from None

    def clean_rules(self):
        rules = self._json("rules")
        problems = [str(error) for error in rule_errors(rules)]
        if problems:
            raise forms.ValidationError(problems)
        return rules

    def clean_caps(self):
        caps = self._json("caps")
        problems = [str(error) for error in cap_errors(caps)]
        if problems:
            raise forms.ValidationError(problems)
        return caps

    def clean_bank_checks(self):
        return [line.strip() for line in self.cleaned_data.get("bank_checks", "").splitlines() if line.strip()]

    def definition(self, base: dict[str, Any]) -> dict[str, Any]:
        """``base`` (the draft, else the current version) with the edited parts replaced."""
        data = self.cleaned_data
        term = dict(base.get("term") or {})
        term["max_months"] = data.get("max_term_months")
        return {
            **base,
            "name": data["name"],
            "max_amount": data.get("max_amount"),
            "term": term,
            "rules": data["rules"],
            "caps": data["caps"],
            "bank_checks": data["bank_checks"],
        }


SAMPLE_ENTITY = {
    "entity_type": "individual_business",
    "established_on": "2025-05-10",
    "region_code": "140502",
    "industry_code": "5291",
    "tier": "survival",
    "honors": [],
    "annual_revenue": 150000,
    "net_assets": 400000,
    "employees": 3,
    "social_insurance_headcount": 1,
    "tax_status": "small_scale_taxpayer",
    "has_tax_record": True,
    "register_status": "active",
    "size_class": "micro",
    "operator": {
        "birth_date": "1986-03-01",
        "nationality": "CN",
        "local_residence": True,
        "industry_experience_months": 0,
        "residence_region_code": "140502",
    },
    "credit": {
        "dishonest_debtor": False,
        "joint_punishment": False,
        "consumption_restricted": False,
        "overdue_consecutive_24m": 0,
        "overdue_total_24m": 0,
        "overdue_12m": 0,
        "major_bad_record": False,
        "pending_litigation": False,
    },
}


def _sample(**changes) -> dict[str, Any]:
    entity = json.loads(json.dumps(SAMPLE_ENTITY))
    for key, value in changes.items():
        if isinstance(value, dict):
            entity[key].update(value)
        else:
            entity[key] = value
    return entity


# sample entities for a test run (products.md's worked examples and near misses); as of 2026-11-22
SAMPLES = {
    "survival": ("生存型个体户: 经营 18 个月, 年营收 15 万元, 经营者 40 岁", _sample()),
    "growth_honor": (
        "成长型 + 有效名特优新: 年营收 300 万元",
        _sample(tier="growth", annual_revenue=3000000, honors=[{"kind": "quality", "valid_until": "2027-06-30"}]),
    ),
    "young": (
        "经营 20 个月的发展型个体户",
        _sample(established_on="2025-03-22", tier="development", annual_revenue=900000),
    ),
    "age63": ("经营者 63 岁", _sample(operator={"birth_date": "1963-05-01"})),
    "dishonest": ("失信被执行人", _sample(credit={"dishonest_debtor": True})),
    "enterprise": (
        "小型企业: 经营 4 年, 年营收 800 万元",
        _sample(
            entity_type="small_micro_enterprise",
            established_on="2022-10-01",
            tier=None,
            size_class="small",
            annual_revenue=8000000,
            employees=30,
        ),
    ),
    "sparse": ("信息不全: 仅知主体类型与所在地", {"entity_type": "individual_business", "region_code": "140525"}),
}
SAMPLE_AS_OF = "2026-11-22"


class TestRunForm(forms.Form):
    sample = forms.ChoiceField(
        label="样例主体",
        required=False,
        choices=[(key, label) for key, (label, _) in SAMPLES.items()] + [("custom", "自定义 (JSON)")],
    )
    uscc = forms.CharField(label="或: 平台内主体的统一社会信用代码", required=False, max_length=18)
    entity_json = forms.CharField(
        label="自定义主体 (预评估请求的 entity 部分, JSON)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 6, "spellcheck": "false"}),
    )
    as_of = forms.DateField(label="评估日期", required=False, widget=DateInput())
    need_amount = bounds.FormIntegerField(
        label="申请金额（元）", required=False, min_value=1, field=bounds.column(LoanProductVersion, "max_amount")
    )
    need_term_months = forms.IntegerField(label="申请期限（月）", required=False, min_value=1, max_value=360)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("prefix", "test")
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            css = "form-select" if isinstance(field.widget, forms.Select) else "form-control"
            field.widget.attrs.setdefault("class", css)

    def clean(self):
        data = super().clean()
        if data.get("sample") == "custom" and not data.get("uscc"):
            try:
                entity = json.loads(data.get("entity_json") or "")
            except json.JSONDecodeError as error:
                self.add_error("entity_json", _json_problem(error))
                return data
            if isinstance(entity, dict) and isinstance(entity.get("entity"), dict):
                entity = entity["entity"]  # a whole preview request is fine too
            if not isinstance(entity, dict):
                self.add_error("entity_json", "应为 JSON 对象")
            data["entity"] = entity
        elif not data.get("uscc"):
            data["entity"] = SAMPLES[data.get("sample") or "survival"][1]
        return data

    def need(self) -> dict[str, Any] | None:
        need = {key: self.cleaned_data.get(f"need_{key}") for key in ("amount", "term_months")}
        need = {key: value for key, value in need.items() if value is not None}
        return need or None


# --- 场景清单 (商E贷's 17 重点场景, kept by the bank's head office) --------------------------------

_CODE_SPLIT = re.compile(r"[\s,，、;；]+")


class ScenarioForm(forms.Form):
    """One scenario: its name and its GB/T 4754-2017 industry codes."""

    name = forms.CharField(label="场景名称", max_length=20, required=False)
    industry_codes = forms.CharField(
        label="行业代码（GB/T 4754-2017, 以逗号或顿号分隔）", max_length=400, required=False
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.widget.attrs.setdefault("class", "form-control")
        self.fields["industry_codes"].widget.attrs.setdefault("placeholder", "如 5251、5252")

    def clean(self):
        data = super().clean()
        name = (data.get("name") or "").strip()
        codes = [code for code in _CODE_SPLIT.split((data.get("industry_codes") or "").strip().upper()) if code]
        if codes and not name:
            self.add_error("name", "请填写场景名称")
        if name and not codes:
            self.add_error("industry_codes", "请至少填写一个行业代码")
        data["name"], data["codes"] = name, codes
        return data

    @property
    def scenario(self) -> dict[str, Any] | None:
        data = self.cleaned_data
        if data.get("DELETE") or not data.get("name"):
            return None
        return {"name": data["name"], "industry_codes": data["codes"]}


ScenarioFormSet = forms.formset_factory(ScenarioForm, extra=3, can_delete=True, max_num=50, validate_max=True)


class ScenarioListForm(forms.Form):
    complete = forms.BooleanField(
        label="清单已完整（已录入银行附件1的全部场景）",
        required=False,
        help_text="勾选后, 清单外行业的主体判为“不符合”; 不勾选时判为“无法判断”, 由银行确认",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["complete"].widget.attrs.setdefault("class", "form-check-input")


def scenario_initial(definition: dict[str, Any]) -> list[dict[str, str]]:
    return [
        {"name": scenario["name"], "industry_codes": "、".join(scenario["industry_codes"])}
        for scenario in definition.get("scenarios", [])
    ]


class FourListsForm(forms.Form):
    """融资服务四张清单 of one product (seed 002 point 5), as the bank publishes them."""

    approval_authority = forms.CharField(
        label="审批权限", required=False, max_length=4000, help_text="如: 单户 300 万元(含)以下由县支行审批"
    )
    admission_conditions = forms.CharField(label="客户准入条件", required=False, max_length=4000)
    application_materials = forms.CharField(label="申请资料", required=False, max_length=4000)
    process = forms.CharField(label="办理流程", required=False, max_length=4000)
    reply_promise = forms.CharField(
        label="受理回告承诺",
        required=False,
        max_length=4000,
        help_text="通知要求: 小微“无贷户”授信申请原则上5个工作日内回复",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.widget = forms.Textarea(attrs={"rows": 3, "class": "form-control"})
