"""Writes of the entities app: create/update an entity, reveal personal data, record credit
repairs, the regulator's marks, and import the regulator's register. Keyword-only, atomic,
audited.

The regulator's marks (issue 15, 001 附件 三(二)) are not ordinary register fields:
- the 三型 mark of the provincial 名录库 is set by an import of the provincial list or by a
  city/provincial regulator (`tier_mark_set`, restrictions.TIER_MARKERS), with its source and
  date; the portal's own estimate (`tier_computed`, 预估) never stands in for it;
- 名特优新 is "被省市场监管局认定": granted and revoked by the provincial regulator
  (`honor_grant`, `honor_revoke`, restrictions.HONOR_GRANTERS) or the provincial list's import;
  a county task force (or a city regulator) proposes (`honor_propose`), the province approves
  or rejects (`honor_proposal_decide`), and both sides are notified (entities.changes.announce).

Tenancy: every service that writes to an entity resolves it (an object or an id) through
`portal.tenancy.resolve(..., CHANGE)`, row-locked; another region's entity is refused exactly
like an unknown one (code "not_found"). Where an entity may be put — created, moved by an
update, or imported — is one rule, `entities.restrictions.write_region_prefix`: inside the
actor's region (anywhere for a platform administrator); a region outside it is a field error
不在本机构管辖范围内 and nothing is written.

Later apps react to entity changes by appending a callable to
`entities.changes.ENTITY_CHANGED_HOOKS`; every write here (and the register import) calls
`entities_changed`, which calls them after commit with the ids of the entities created or
changed (no signals).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from entities import derive
from entities import renewals as renewal_policy
from entities.changes import Notice, announce, entities_changed
from entities.models import (
    BOOLEAN_CREDIT_FLAGS,
    CREDIT_FLAG_LABELS,
    CREDIT_FLAGS,
    FINANCIAL_FIELDS,
    BankRelationship,
    ChangeSource,
    CreditFlagRecord,
    CreditRepair,
    EntityChange,
    EntityImport,
    EntityType,
    FinancialYear,
    Honor,
    HonorKind,
    HonorProposal,
    HonorProposalAction,
    HonorProposalState,
    ImportStatus,
    MarketEntity,
    Nationality,
    RegisterStatus,
    Renewal,
    TaxStatus,
    Tier,
    TierPolicy,
)
from entities.personal_data import PERSONAL_FIELDS, masked, may_reveal
from entities.register_file import Bad, parse_id_number, parse_uscc
from entities.register_import import RegisterImport
from entities.renewals import RefusalReason, RenewalAction, RenewalSource
from entities.restrictions import (
    HONOR_GRANTERS,
    HONOR_PROPOSERS,
    OUT_OF_SCOPE,
    REGISTER_KEEPERS,
    TIER_MARKERS,
    bank_root_id,
    region_range_q,
    region_within,
    write_region_prefix,
)
from portal.celery import app as celery_app
from portal.models import Industry, Membership, Organisation, OrganisationKind, Region, RegionLevel, Role
from portal.services import ApplicationError, audit_record
from portal.tenancy import CHANGE, VIEW, resolve, restrict, scope_for

# --- who may change what ---------------------------------------------------------------

TOBACCO_LICENCE_FIELDS = (
    "tobacco_licence_held",
    "tobacco_licence_number",
    "tobacco_licence_valid_from",
    "tobacco_licence_valid_until",
)
TOBACCO_LICENCE_NUMBER = re.compile(r"[0-9A-Z]{6,32}")

# what an enterprise user may change on its own entity; everything else is the register's
ENTERPRISE_EDITABLE = (
    "address",
    "fixed_premises",
    "operator_phone",
    "operator_nationality",
    "operator_local_residence",
    "operator_residence_region_code",
    "operator_industry_experience_months",
    "data_shared_with_banks",
    # 烟草专卖零售许可证: a licence the business holds (烟商E贷); the bank verifies it
    *TOBACCO_LICENCE_FIELDS,
    # conds: where it operates (if not where registered), the operator's own realisable assets
    "operating_region_code",
    "operator_realisable_net_assets",
)
REGISTER_EDITABLE = (
    ENTERPRISE_EDITABLE
    + (
        "name",
        "entity_type",
        "register_status",
        "established_on",
        "region",
        "township",
        "industry",
        "registered_capital",
        "legal_rep_changed_on",
        "main_business_changed_on",
        "operator_name",
        "operator_id_number",
    )
    + CREDIT_FLAGS
)
REFUSED_FIELD_MESSAGE = "无权修改此字段(登记信息只能通过名录库导入或由监管部门修改)"
REFUSED_FIELD_MESSAGES = {
    # the regulator's mark has its own service (tier_mark_set), with source and date
    "tier_imported": "三型标记不在此修改: 由市、省级市场监管部门通过「标记三型」设置, 或导入全省名录库",
}
FINANCIAL_INPUT = ("financial_year",) + FINANCIAL_FIELDS
CREATE_FIELDS = ("uscc",) + REGISTER_EDITABLE + FINANCIAL_INPUT
# columns compared for the change history (field → label)
TRACKED = {
    f.attname: str(f.verbose_name)
    for f in MarketEntity._meta.concrete_fields
    if f.name not in ("id", "created_at", "updated_at")
}

# the task that runs a stored import, by the name entities.tasks registers it under: the
# task calls entity_import_run, so this module does not import the task module
RUN_IMPORT_TASK = "entities.tasks.run_entity_import"

MAX_MONEY = 10**15  # 元 (一千万亿); bigint holds more, no register holds as much
MAX_COUNT = 10_000_000
MAX_SMALL_COUNT = 32767  # PositiveSmallIntegerField

_CHOICES = {
    "entity_type": EntityType,
    "register_status": RegisterStatus,
    "tax_status": TaxStatus,
    "tier_imported": Tier,
    "operator_nationality": Nationality,  # a code (CN, HK, …), never a typed name
}


def _plain(value: Any) -> Any:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


def _snapshot(entity: MarketEntity) -> dict[str, Any]:
    return {name: getattr(entity, name) for name in TRACKED}


def _diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list]:
    return {name: [_plain(before.get(name)), _plain(after[name])] for name in after if before.get(name) != after[name]}


def _tier_policies() -> list:
    return [p.as_policy() for p in TierPolicy.objects.all()]


def recompute_classification(entity: MarketEntity, *, policies=None, as_of: dt.date | None = None) -> None:
    facts = {
        name: getattr(entity, name)
        for name in (
            "entity_type",
            "annual_revenue",
            "has_tax_record",
            "tax_status",
            "social_insurance_headcount",
            "industry_id",
            "employees",
            "total_assets",
            "tier_imported",
        )
    }
    policy = derive.policy_for(
        policies if policies is not None else _tier_policies(), entity.region_id, as_of or timezone.localdate()
    )
    for name, value in derive.classification_columns(facts, policy).items():
        setattr(entity, name, value)


# --- validation shared by pages and API -------------------------------------------------


def _validate(data: dict[str, Any], *, entity: MarketEntity | None) -> dict[str, Any]:
    """Domain checks of submitted values (already typed by a form or serializer). Raises
    ApplicationError with every field's messages; returns the values to set."""
    errors: dict[str, list[str]] = {}
    clean: dict[str, Any] = {}
    today = timezone.localdate()

    def bad(name: str, message: str):
        errors.setdefault(name, []).append(message)

    for name, value in data.items():
        if isinstance(value, str):
            value = value.strip()
        if name == "uscc":
            try:
                value = parse_uscc(value or "")
            except Bad as exc:
                bad(name, f"统一社会信用代码{exc}")
                continue
            if MarketEntity.objects.filter(uscc=value).exclude(pk=entity.pk if entity else None).exists():
                bad(name, "该统一社会信用代码已登记")
                continue
        elif name == "name":
            if not value:
                bad(name, "必填")
                continue
        elif name in _CHOICES:
            if value in (None, ""):
                if name in ("entity_type", "register_status"):
                    bad(name, "必填")
                    continue
                value = None
            elif value not in _CHOICES[name].values:
                bad(name, f"「{value}」不是允许的值")
                continue
        elif name == "region":
            code = getattr(value, "pk", value)
            region = Region.objects.filter(pk=code, level=RegionLevel.COUNTY).first() if code else None
            if region is None:
                bad(name, "应为已知的县级行政区划代码")
                continue
            value = region
        elif name == "township":
            code = getattr(value, "pk", value)
            if code:
                region_code = getattr(data.get("region"), "pk", data.get("region")) or (
                    entity.region_id if entity else None
                )
                township = Region.objects.filter(pk=code, level=RegionLevel.TOWNSHIP).first()
                if township is None:
                    bad(name, "未知的乡镇(街道)代码")
                    continue
                if township.parent_id != region_code:
                    bad(name, "乡镇(街道)不属于所选县级行政区划")
                    continue
                value = township
            else:
                value = None
        elif name == "industry":
            code = getattr(value, "pk", value)
            if code:
                industry = Industry.objects.filter(pk=str(code).strip().upper()).first()
                if industry is None:
                    bad(name, "未知的行业代码(GB/T 4754-2017)")
                    continue
                value = industry
            else:
                value = None
        elif name == "operator_id_number":
            if value:
                try:
                    value, birth = parse_id_number(value, today)
                except Bad as exc:
                    bad(name, f"身份证号{exc}")
                    continue
                clean["operator_birth_date"] = birth
            else:
                value = None
                clean["operator_birth_date"] = None
        elif name == "operator_phone":
            if value and not (len(value) == 11 and value.isdigit() and value[0] == "1" and value[1] in "3456789"):
                bad(name, "应为 11 位手机号码")
                continue
            value = value or ""
        elif name == "operator_residence_region_code":
            if value and not Region.objects.filter(pk=value).exists():
                bad(name, "未知的行政区划代码")
                continue
            value = value or None
        elif name == "operating_region_code":
            # where it operates: any county (not a scope), a fact the products' service areas read
            if value and not Region.objects.filter(pk=value, level=RegionLevel.COUNTY).exists():
                bad(name, "应为已知的县级行政区划代码")
                continue
            value = value or None
        elif name in ("established_on", "legal_rep_changed_on", "main_business_changed_on"):
            if value and value > today:
                bad(name, "日期不能晚于今天")
                continue
        elif name in (
            "registered_capital",
            "annual_revenue",
            "total_assets",
            "net_assets",
            "operator_realisable_net_assets",
        ):
            if value is not None and value < 0:
                bad(name, "金额不能为负数")
                continue
            if value is not None and value > MAX_MONEY:
                bad(name, "金额过大, 请以元为单位填写")
                continue
        elif (
            name in ("employees", "social_insurance_headcount", "operator_industry_experience_months")
            or name in CREDIT_FLAGS
            and name not in BOOLEAN_CREDIT_FLAGS
        ):
            if value is not None and value < 0:
                bad(name, "不能为负数")
                continue
            # the columns' own limits: beyond them the database would refuse the row (a 500)
            limit = MAX_SMALL_COUNT if name in CREDIT_FLAGS else MAX_COUNT
            if value is not None and value > limit:
                bad(name, f"不能大于 {limit}")
                continue
        elif name == "financial_year":
            if value is not None and not (1990 <= value <= today.year):
                bad(name, f"年度应在 1990 至 {today.year} 之间")
                continue
        elif name == "tobacco_licence_number":
            value = (value or "").replace(" ", "").upper() or None
            if value is not None and not TOBACCO_LICENCE_NUMBER.fullmatch(value):
                bad(name, "许可证号应为 6-32 位数字或字母")
                continue
        clean[name] = value
    if any(name in data for name in TOBACCO_LICENCE_FIELDS):
        _validate_tobacco_licence(clean, entity, bad)

    consecutive = clean.get("overdue_consecutive_24m", entity.overdue_consecutive_24m if entity else None)
    total = clean.get("overdue_total_24m", entity.overdue_total_24m if entity else None)
    if consecutive is not None and total is not None and consecutive > total:
        bad("overdue_consecutive_24m", "连续逾期期数不能大于累计逾期期数")
    if any(clean.get(f) is not None for f in FINANCIAL_FIELDS) and clean.get("financial_year") is None:
        bad("financial_year", "填写财务数据时须填写年度")
    if errors:
        raise ApplicationError("输入有误, 请检查标出的字段", field_errors=errors)
    return clean


def _validate_tobacco_licence(clean: dict[str, Any], entity: MarketEntity | None, bad) -> None:
    """The licence is one fact: held (unknown / no / yes) with, when held, its number and
    validity (有效期至 required, not before 有效期自). A number given while "held" is left
    unknown means held; "not held" or "unknown" clears a number and dates left from before."""

    def current(name):
        return clean[name] if name in clean else (getattr(entity, name) if entity is not None else None)

    held = current("tobacco_licence_held")
    if held is None and clean.get("tobacco_licence_number"):
        held = clean["tobacco_licence_held"] = True
    if held is not True:
        if held is False and clean.get("tobacco_licence_number"):
            bad("tobacco_licence_number", "未持有许可证时不应填写许可证号")
        for name in TOBACCO_LICENCE_FIELDS[1:]:
            if current(name) is not None:
                clean[name] = None
        return
    starts, ends = current("tobacco_licence_valid_from"), current("tobacco_licence_valid_until")
    if not current("tobacco_licence_number"):
        bad("tobacco_licence_number", "持有许可证时须填写许可证号")
    if ends is None:
        bad("tobacco_licence_valid_until", "持有许可证时须填写有效期至")
    elif starts is not None and ends < starts:
        bad("tobacco_licence_valid_until", "有效期至不能早于有效期自")


def editable_fields(*, actor, entity: MarketEntity | None = None) -> tuple[str, ...]:
    scope = scope_for(actor)
    if scope is None:
        return ()
    if scope.is_platform_admin:
        return REGISTER_EDITABLE + FINANCIAL_INPUT
    if scope.role in REGISTER_KEEPERS:
        return REGISTER_EDITABLE + FINANCIAL_INPUT
    if scope.is_enterprise and entity is not None and entity.organisation_id == scope.organisation_id:
        return ENTERPRISE_EDITABLE
    return ()


def _source_for(actor) -> str:
    scope = scope_for(actor)
    return ChangeSource.ENTERPRISE if scope and scope.is_enterprise else ChangeSource.REGULATOR


def _credit_source(actor) -> str:
    scope = scope_for(actor)
    label = ChangeSource(_source_for(actor)).label
    return f"{label}: {actor.get_full_name() or actor.username}"[:128] if scope else label


def _apply_financials(entity: MarketEntity, values: dict[str, Any], source: str) -> None:
    year = values.pop("financial_year", None)
    stated = {f: values.pop(f) for f in FINANCIAL_FIELDS if f in values}
    if year is None or not stated:
        return
    record, _ = FinancialYear.objects.get_or_create(entity=entity, year=year, defaults={"source": source})
    for name, value in stated.items():
        setattr(record, name, value)
    record.source = source
    record.save()
    if entity.financial_year is None or year >= entity.financial_year:
        entity.financial_year = year
        for name in FINANCIAL_FIELDS:
            setattr(entity, name, getattr(record, name))


def _record_credit(entity: MarketEntity, before: dict[str, Any], *, source: str, on: dt.date) -> None:
    records = [
        CreditFlagRecord(
            entity=entity,
            flag=flag,
            value=None if getattr(entity, flag) is None else int(getattr(entity, flag)),
            source=source,
            observed_on=on,
        )
        for flag in CREDIT_FLAGS
        if getattr(entity, flag) != before.get(flag)
    ]
    CreditFlagRecord.objects.bulk_create(records)


def _check_region_in_scope(actor, region_code: str) -> None:
    """An entity may only be put (created, moved, imported) in the actor's own region: the one
    rule of entities.restrictions.write_region_prefix, shared with the register import."""
    if not region_within(write_region_prefix(scope_for(actor)), region_code):
        raise ApplicationError("输入有误, 请检查标出的字段", field_errors={"region": [OUT_OF_SCOPE]})


def _entity_for_change(actor, entity: MarketEntity | int) -> MarketEntity:
    """The entity a write names (an object or its id), resolved and row-locked through the
    tenant restriction for CHANGE: another region's entity is refused like an unknown one."""
    return resolve(MarketEntity, actor, CHANGE, lock=True, pk=getattr(entity, "pk", entity))


@transaction.atomic
def entity_create(*, actor, data: dict[str, Any], organisation=None, request=None) -> MarketEntity:
    allowed = editable_fields(actor=actor)
    if not allowed:
        raise ApplicationError("没有权限登记经营主体", code="permission_denied")
    unknown = set(data) - set(CREATE_FIELDS)
    if unknown:
        raise ApplicationError("含有不能填写的字段", field_errors={f: ["不能填写此字段"] for f in sorted(unknown)})
    required = {"uscc": "统一社会信用代码", "name": "名称", "entity_type": "主体类型", "region": "行政区划"}
    missing = {f: ["必填"] for f in required if data.get(f) in (None, "")}
    if missing:
        raise ApplicationError("输入有误, 请检查标出的字段", field_errors=missing)
    data.setdefault("register_status", RegisterStatus.ACTIVE)
    clean = _validate(data, entity=None)
    _check_region_in_scope(actor, clean["region"].pk)
    entity = MarketEntity(organisation=organisation)
    source = _source_for(actor)
    for name, value in clean.items():
        if name not in FINANCIAL_INPUT:
            setattr(entity, name, value)
    entity.save()
    _apply_financials(entity, {k: v for k, v in clean.items() if k in FINANCIAL_INPUT}, source)
    recompute_classification(entity)
    entity.save()
    _record_credit(entity, {}, source=_credit_source(actor), on=timezone.localdate())
    EntityChange.objects.create(
        entity=entity, kind=EntityChange.Kind.CREATED, source=source, actor=actor, changes=_diff({}, _snapshot(entity))
    )
    audit_record(
        actor=actor,
        action="entity.create",
        obj=entity,
        after={"uscc": entity.uscc, "name": entity.name},
        request=request,
    )
    entities_changed([entity.pk])
    return entity


@transaction.atomic
def entity_update(*, actor, entity: MarketEntity | int, data: dict[str, Any], request=None) -> MarketEntity:
    entity = _entity_for_change(actor, entity)
    allowed = set(editable_fields(actor=actor, entity=entity))
    refused = sorted(set(data) - allowed)
    if refused:
        raise ApplicationError(
            "含有无权修改的字段: 登记信息只能通过名录库导入或由监管部门修改",
            field_errors={f: [REFUSED_FIELD_MESSAGES.get(f, REFUSED_FIELD_MESSAGE)] for f in refused},
        )
    clean = _validate(data, entity=entity)
    if "region" in clean and clean["region"].pk != entity.region_id:
        _check_region_in_scope(actor, clean["region"].pk)  # never move an entity out of one's region
    before = _snapshot(entity)
    source = _source_for(actor)
    for name, value in clean.items():
        if name not in FINANCIAL_INPUT:
            setattr(entity, name, value)
    financial = {k: v for k, v in clean.items() if k in FINANCIAL_INPUT}
    _apply_financials(entity, dict(financial), source)
    recompute_classification(entity)
    changes = _diff(before, _snapshot(entity))
    if not changes:
        if financial.get("financial_year") is not None and len(financial) > 1:
            # an older year was written: the entity is as it was, the write is still audited
            audit_record(
                actor=actor,
                action="entity.financial_year",
                obj=entity,
                after={k: _plain(v) for k, v in financial.items()},
                request=request,
            )
        return entity
    entity.save(update_fields=[MarketEntity._meta.get_field(name).name for name in changes] + ["updated_at"])
    _record_credit(entity, before, source=_credit_source(actor), on=timezone.localdate())
    EntityChange.objects.create(
        entity=entity, kind=EntityChange.Kind.UPDATED, source=source, actor=actor, changes=changes
    )
    shown = {k: ([masked(k, v[0]), masked(k, v[1])] if k in PERSONAL_FIELDS else v) for k, v in changes.items()}
    audit_record(
        actor=actor,
        action="entity.update",
        obj=entity,
        before={k: v[0] for k, v in shown.items()},
        after={k: v[1] for k, v in shown.items()},
        request=request,
    )
    entities_changed([entity.pk])
    return entity


@transaction.atomic
def entity_reveal_personal_data(*, actor, entity: MarketEntity | int, field: str, request=None) -> str:
    """The clear value of an operator's ID or phone number, for roles that need it; audited."""
    if field not in PERSONAL_FIELDS:
        raise ApplicationError("输入有误", field_errors={"field": ["只能显示身份证号或手机号"]})
    if not may_reveal(scope_for(actor)):
        raise ApplicationError("没有权限查看该个人信息", code="permission_denied")
    entity = resolve(MarketEntity, actor, VIEW, pk=getattr(entity, "pk", entity))
    audit_record(
        actor=actor,
        action="entity.reveal_personal_data",
        obj=entity,
        after={"field": field, "label": PERSONAL_FIELDS[field]},
        request=request,
    )
    return getattr(entity, field) or ""


@transaction.atomic
def credit_repair_record(
    *,
    actor,
    entity: MarketEntity,
    item: str,
    repaired_on: dt.date,
    repaired_by: str,
    flag: str = "",
    note: str = "",
    request=None,
) -> CreditRepair:
    """Record a 信用修复; when it names a credit flag, the flag is cleared with a history row."""
    entity = _entity_for_change(actor, entity)
    scope = scope_for(actor)
    if scope is None or scope.is_enterprise:
        raise ApplicationError("没有权限登记信用修复", code="permission_denied")
    errors = {}
    if not item.strip():
        errors["item"] = ["必填"]
    if not repaired_by.strip():
        errors["repaired_by"] = ["必填"]
    if repaired_on is None or repaired_on > timezone.localdate():
        errors["repaired_on"] = ["修复日期不能为空或晚于今天"]
    if flag and flag not in CREDIT_FLAGS:
        errors["flag"] = ["未知的信用项"]
    if errors:
        raise ApplicationError("输入有误, 请检查标出的字段", field_errors=errors)
    repair = CreditRepair.objects.create(
        entity=entity,
        item=item.strip(),
        flag=flag,
        repaired_on=repaired_on,
        repaired_by=repaired_by.strip(),
        note=note.strip(),
        recorded_by=actor,
    )
    if flag:
        before = _snapshot(entity)
        setattr(entity, flag, False if flag in BOOLEAN_CREDIT_FLAGS else 0)
        changes = _diff(before, _snapshot(entity))
        if changes:
            entity.save(update_fields=[flag, "updated_at"])
            CreditFlagRecord.objects.create(
                entity=entity,
                flag=flag,
                value=0,
                source=f"信用修复: {repair.repaired_by}"[:128],
                observed_on=repaired_on,
            )
            EntityChange.objects.create(
                entity=entity,
                kind=EntityChange.Kind.UPDATED,
                source=ChangeSource.REGULATOR,
                actor=actor,
                changes=changes,
            )
    audit_record(
        actor=actor,
        action="entity.credit_repair",
        obj=entity,
        after={"item": repair.item, "flag": flag, "label": CREDIT_FLAG_LABELS.get(flag, "")},
        request=request,
    )
    entities_changed([entity.pk])
    return repair


# --- the regulator's marks: 三型 and 名特优新 (issue 15, 001 附件 三(二)) ---------------------


def _actor_label(actor) -> str:
    """ "大同市市场监管局(张三)": who marked, as the entity page shows the mark's source."""
    scope = scope_for(actor)
    name = actor.get_full_name() or actor.username
    organisation = Organisation.objects.filter(pk=scope.organisation_id).values_list("name", flat=True).first()
    return (f"{organisation}({name})" if organisation else name)[:128]


@transaction.atomic
def tier_mark_set(
    *,
    actor,
    entity: MarketEntity | int,
    tier: str | None,
    note: str = "",
    marked_on: dt.date | None = None,
    request=None,
) -> MarketEntity:
    """Mark (or unmark) an individual business 生存型/成长型/发展型 in the provincial 名录库: the
    fact 惠商贷 and its sister products require ("在'全省个体工商户名录库'中被标记为'三型'",
    001 附件 三(二)). City and provincial regulators only (restrictions.TIER_MARKERS), inside
    their region; county staff, banks and enterprises are refused. The mark keeps its source
    (the regulator's organisation and user) and date; clearing it needs a reason. Recorded in
    the change history and the audit log; batch matching and the post-loan watch hear of it."""
    entity = _entity_for_change(actor, entity)
    scope = scope_for(actor)
    if scope is None or scope.role not in TIER_MARKERS:
        raise ApplicationError(
            "没有权限标记三型: 三型标记由市、省级市场监管部门在名录库中标记(或导入全省名录库)",
            code="permission_denied",
        )
    errors: dict[str, list[str]] = {}
    tier = tier or None
    note = (note or "").strip()
    marked_on = marked_on or timezone.localdate()
    if entity.entity_type != EntityType.INDIVIDUAL_BUSINESS:
        errors["tier"] = ["三型分类仅适用于个体工商户"]
    elif tier is not None and tier not in Tier.values:
        errors["tier"] = [f"「{tier}」不是允许的值"]
    elif tier == entity.tier_imported:
        errors["tier"] = [f"该经营主体已{'标记为' + Tier(tier).label if tier else '没有三型标记'}, 未作修改"]
    if tier is None and not note:
        errors["note"] = ["撤销三型标记须填写原因"]
    if marked_on > timezone.localdate():
        errors["marked_on"] = ["标记日期不能晚于今天"]
    if errors:
        raise ApplicationError(next(iter(errors.values()))[0], field_errors=errors)
    before = _snapshot(entity)
    entity.tier_imported = tier
    entity.tier_mark_source = _actor_label(actor) if tier else ""
    entity.tier_marked_on = marked_on if tier else None
    recompute_classification(entity)
    changes = _diff(before, _snapshot(entity))
    entity.save(update_fields=[MarketEntity._meta.get_field(name).name for name in changes] + ["updated_at"])
    if note:
        changes["tier_mark_note"] = [None, note[:500]]
    EntityChange.objects.create(
        entity=entity, kind=EntityChange.Kind.UPDATED, source=ChangeSource.REGULATOR, actor=actor, changes=changes
    )
    audit_record(
        actor=actor,
        action="entity.tier_mark",
        obj=entity,
        before={"tier": before["tier_imported"]},
        after={
            "tier": tier,
            "source": entity.tier_mark_source,
            "marked_on": entity.tier_marked_on and entity.tier_marked_on.isoformat(),
            "note": note[:500],
        },
        request=request,
    )
    entities_changed([entity.pk])
    return entity


def _honor_text(honor: Honor) -> str:
    start = f"{honor.valid_from.isoformat()} 至 " if honor.valid_from else "至 "
    period = start + (honor.valid_until.isoformat() if honor.valid_until else "未知")
    return f"{HonorKind(honor.kind).label}({period})"


def _require_granter(actor, what: str) -> None:
    scope = scope_for(actor)
    if scope is None or scope.role not in HONOR_GRANTERS:
        raise ApplicationError(
            f"没有权限{what}名特优新: 名特优新由省市场监管局认定(县级专班可提出申请, 由省市场监管局审核)",
            code="permission_denied",
        )


def _honor_period_errors(kind: str, valid_from: dt.date | None, valid_until: dt.date | None) -> dict:
    errors: dict[str, list[str]] = {}
    if kind not in HonorKind.values:
        errors["kind"] = ["未知的称号"]
    if valid_until is None:
        errors["valid_until"] = ["必填: 名特优新有有效期, 银行只认可有效期内的称号"]
    elif valid_from and valid_until < valid_from:
        errors["valid_until"] = ["有效期至不能早于有效期自"]
    return errors


def _grant(*, actor, entity: MarketEntity, kind: str, valid_from, valid_until, request, proposal=None) -> Honor:
    honor = Honor.objects.create(
        entity=entity, kind=kind, valid_from=valid_from, valid_until=valid_until, source=ChangeSource.REGULATOR
    )
    EntityChange.objects.create(
        entity=entity,
        kind=EntityChange.Kind.UPDATED,
        source=ChangeSource.REGULATOR,
        actor=actor,
        changes={"honor": [None, _honor_text(honor)]},
    )
    audit_record(
        actor=actor,
        action="entity.honor_grant",
        obj=entity,
        after={
            "kind": kind,
            "label": HonorKind(kind).label,
            "valid_from": valid_from and valid_from.isoformat(),
            "valid_until": valid_until.isoformat(),
            **({"proposal": proposal.pk} if proposal else {}),
        },
        request=request,
    )
    entities_changed([entity.pk])
    return honor


def _revoke(*, actor, entity: MarketEntity, honor: Honor, reason: str, request, proposal=None) -> None:
    before = _honor_text(honor)
    snapshot = {
        "kind": honor.kind,
        "label": HonorKind(honor.kind).label,
        "valid_from": honor.valid_from and honor.valid_from.isoformat(),
        "valid_until": honor.valid_until and honor.valid_until.isoformat(),
        "source": honor.source,
    }
    honor.delete()
    EntityChange.objects.create(
        entity=entity,
        kind=EntityChange.Kind.UPDATED,
        source=ChangeSource.REGULATOR,
        actor=actor,
        changes={"honor": [before, f"撤销: {reason[:200]}"]},
    )
    audit_record(
        actor=actor,
        action="entity.honor_revoke",
        obj=entity,
        before=snapshot,
        after={"reason": reason[:500], **({"proposal": proposal.pk} if proposal else {})},
        request=request,
    )
    entities_changed([entity.pk])


@transaction.atomic
def honor_grant(
    *, actor, entity: MarketEntity, kind: str, valid_until: dt.date, valid_from: dt.date | None = None, request=None
) -> Honor:
    """认定名特优新: the provincial regulator only ("被省市场监管局认定为'名特优新'", 001 附件
    三(二)), always with its validity period. County task forces propose (honor_propose)."""
    entity = _entity_for_change(actor, entity)
    _require_granter(actor, "认定")
    errors = _honor_period_errors(kind, valid_from, valid_until)
    if errors:
        raise ApplicationError("输入有误", field_errors=errors)
    return _grant(
        actor=actor, entity=entity, kind=kind, valid_from=valid_from, valid_until=valid_until, request=request
    )


@transaction.atomic
def honor_revoke(*, actor, entity: MarketEntity, honor_id: int, reason: str, request=None) -> None:
    """撤销 a 名特优新 title (granted by mistake, or withdrawn by the regulator): the provincial
    regulator only. The row goes, the change history and the audit log keep what it was and
    why; banks that lent on it hear of it (the post-loan watch, matching.watch)."""
    entity = _entity_for_change(actor, entity)
    _require_granter(actor, "撤销")
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError("输入有误", field_errors={"reason": ["请填写撤销原因"]})
    # a title of this entity (resolved for CHANGE above); gone = another keeper revoked it a
    # moment ago, or a stale page
    honor = resolve(
        Honor.objects.filter(entity=entity),
        actor,
        VIEW,
        lock=True,
        pk=honor_id,
        message="该称号不存在或已被撤销, 请刷新页面",
    )
    _revoke(actor=actor, entity=entity, honor=honor, reason=reason, request=request)


def _province_regulators(region_code: str) -> tuple[int, ...]:
    province = f"{region_code[:2]}0000"
    return tuple(
        Membership.objects.filter(role=Role.PROVINCE_REGULATOR, organisation__region_id=province, user__is_active=True)
        .order_by("user_id")
        .values_list("user_id", flat=True)
        .distinct()
    )


@transaction.atomic
def honor_propose(
    *,
    actor,
    entity: MarketEntity | int,
    action: str,
    kind: str = "",
    reason: str,
    valid_from: dt.date | None = None,
    valid_until: dt.date | None = None,
    honor_id: int | None = None,
    request=None,
) -> HonorProposal:
    """A county task force (or a city regulator) proposes to the provincial regulator to grant
    a 名特优新 title (with the validity period it proposes) or to revoke one the entity holds.
    Pending until the province decides (honor_proposal_decide); the province's regulators are
    notified. One pending proposal per entity, title and action."""
    entity = _entity_for_change(actor, entity)
    scope = scope_for(actor)
    if scope is None or scope.role not in HONOR_PROPOSERS:
        raise ApplicationError("没有权限提出名特优新申请", code="permission_denied")
    reason = (reason or "").strip()
    errors: dict[str, list[str]] = {}
    honor = None
    if action not in HonorProposalAction.values:
        errors["action"] = ["应为认定或撤销"]
    elif action == HonorProposalAction.GRANT:
        errors.update(_honor_period_errors(kind, valid_from, valid_until))
    else:
        honor = resolve(
            Honor.objects.filter(entity=entity),
            actor,
            VIEW,
            pk=honor_id,
            field="honor",
            message="该称号不存在或已被撤销, 请刷新页面",
        )
        kind, valid_from, valid_until = honor.kind, None, None
    if not reason:
        errors["reason"] = ["请填写理由"]
    if errors:
        raise ApplicationError(next(iter(errors.values()))[0], field_errors=errors)
    if HonorProposal.objects.filter(entity=entity, kind=kind, action=action, state=HonorProposalState.PENDING).exists():
        raise ApplicationError(
            f"该经营主体已有待省市场监管局审核的「{HonorKind(kind).label}」{HonorProposalAction(action).label}申请",
            code="conflict",
        )
    proposal = HonorProposal.objects.create(
        entity=entity,
        action=action,
        kind=kind,
        valid_from=valid_from,
        valid_until=valid_until,
        honor=honor,
        reason=reason[:2000],
        proposed_by=actor,
        proposed_by_organisation_id=scope.organisation_id,
    )
    audit_record(
        actor=actor,
        action="entity.honor_propose",
        obj=entity,
        after={
            "proposal": proposal.pk,
            "action": action,
            "kind": kind,
            "valid_until": valid_until and valid_until.isoformat(),
            "reason": reason[:500],
        },
        request=request,
    )
    verb = HonorProposalAction(action).label
    announce(
        [
            Notice(
                key=f"honor-proposal-{proposal.pk}",
                title=f"名特优新{verb}申请待审核: {entity.name}「{HonorKind(kind).label}」",
                body=reason[:500],
                url=f"/entities/honor-proposals/?state={HonorProposalState.PENDING}",
                user_ids=_province_regulators(entity.region_id),
            )
        ]
    )
    return proposal


@transaction.atomic
def honor_proposal_decide(*, actor, proposal_id: int, decision: str, note: str = "", request=None) -> HonorProposal:
    """The provincial regulator approves (the title is granted or revoked, as if decided
    directly) or rejects (with a note) a pending proposal; the proposer and the task force
    staff of the proposing organisation are notified."""
    proposal = resolve(HonorProposal, actor, CHANGE, lock=True, pk=proposal_id)
    _require_granter(actor, "审核")
    if proposal.state != HonorProposalState.PENDING:
        raise ApplicationError(f"该申请已审核(当前状态: {proposal.get_state_display()})", code="conflict")
    note = (note or "").strip()
    if decision not in ("approve", "reject"):
        raise ApplicationError("请选择批准或不批准", field_errors={"decision": ["应为 approve 或 reject"]})
    if decision == "reject" and not note:
        raise ApplicationError("不批准须填写审核意见", field_errors={"note": ["不批准须填写审核意见"]})
    entity = _entity_for_change(actor, proposal.entity_id)
    if decision == "approve":
        if proposal.action == HonorProposalAction.GRANT:
            _grant(
                actor=actor,
                entity=entity,
                kind=proposal.kind,
                valid_from=proposal.valid_from,
                valid_until=proposal.valid_until,
                request=request,
                proposal=proposal,
            )
        else:
            honor = (
                Honor.objects.select_for_update().filter(pk=proposal.honor_id, entity=entity).first()
                if proposal.honor_id
                else None
            )
            if honor is None:
                raise ApplicationError(
                    "拟撤销的称号已不存在(可能已被撤销或重新导入), 请不批准该申请并说明", code="conflict"
                )
            _revoke(actor=actor, entity=entity, honor=honor, reason=proposal.reason, request=request, proposal=proposal)
    proposal.state = HonorProposalState.APPROVED if decision == "approve" else HonorProposalState.REJECTED
    proposal.decided_by, proposal.decided_at, proposal.decision_note = actor, timezone.now(), note[:2000]
    proposal.save(update_fields=["state", "decided_by", "decided_at", "decision_note"])
    audit_record(
        actor=actor,
        action="entity.honor_proposal_decide",
        obj=entity,
        after={"proposal": proposal.pk, "decision": decision, "note": note[:500]},
        request=request,
    )
    colleagues = set(
        Membership.objects.filter(
            organisation_id=proposal.proposed_by_organisation_id, role__in=HONOR_PROPOSERS, user__is_active=True
        ).values_list("user_id", flat=True)
    )
    if proposal.proposed_by_id:
        colleagues.add(proposal.proposed_by_id)
    verb = HonorProposalAction(proposal.action).label
    outcome = proposal.get_state_display()
    announce(
        [
            Notice(
                key=f"honor-proposal-{proposal.pk}-{proposal.state}",
                title=f"名特优新{verb}申请{outcome}: {entity.name}「{HonorKind(proposal.kind).label}」",
                body=note[:500],
                url=f"/entities/{entity.pk}/#classification",
                user_ids=tuple(sorted(colleagues)),
            )
        ]
    )
    return proposal


@transaction.atomic
def financial_year_record(
    *, actor, entity: MarketEntity, year: int, values: dict[str, Any], request=None
) -> FinancialYear:
    """Enter (or correct) one year of financials; the latest year is copied onto the entity
    and the entity reclassified. Audited even when an older year leaves the entity as it was."""
    entity = _entity_for_change(actor, entity)
    if "financial_year" not in editable_fields(actor=actor, entity=entity):
        raise ApplicationError(
            "没有权限录入年度财务数据: 财务数据只能通过名录库导入或由监管部门录入", code="permission_denied"
        )
    unknown = set(values) - set(FINANCIAL_FIELDS)
    if unknown:
        raise ApplicationError("含有不能填写的字段", field_errors={f: ["不能填写此字段"] for f in sorted(unknown)})
    if year is None:
        raise ApplicationError("输入有误, 请检查标出的字段", field_errors={"financial_year": ["必填"]})
    clean = _validate({"financial_year": year, **values}, entity=entity)
    if all(clean.get(f) is None for f in FINANCIAL_FIELDS):
        raise ApplicationError("请至少填写一项财务数据", field_errors={"annual_revenue": ["请至少填写一项财务数据"]})
    existing = FinancialYear.objects.filter(entity=entity, year=year).first()
    year_before = {f: _plain(getattr(existing, f)) for f in FINANCIAL_FIELDS} if existing else {}
    before = _snapshot(entity)
    source = _source_for(actor)
    _apply_financials(entity, {"financial_year": year, **{f: clean.get(f) for f in FINANCIAL_FIELDS}}, source)
    recompute_classification(entity)
    changes = _diff(before, _snapshot(entity))
    if changes:
        entity.save(update_fields=[MarketEntity._meta.get_field(name).name for name in changes] + ["updated_at"])
        EntityChange.objects.create(
            entity=entity, kind=EntityChange.Kind.UPDATED, source=source, actor=actor, changes=changes
        )
    record = FinancialYear.objects.get(entity=entity, year=year)
    audit_record(
        actor=actor,
        action="entity.financial_year",
        obj=entity,
        before={"year": year, **year_before} if existing else None,
        after={"year": year, **{f: _plain(getattr(record, f)) for f in FINANCIAL_FIELDS}},
        request=request,
    )
    entities_changed([entity.pk])
    return record


@transaction.atomic
def credit_flags_record(
    *, actor, entity: MarketEntity, values: dict[str, Any], source: str, observed_on: dt.date, request=None
) -> list[CreditFlagRecord]:
    """Enter credit facts as observed in a source (e.g. 人民银行征信报告) on a date. Every
    known or changed flag gets a history row with that source and date."""
    entity = _entity_for_change(actor, entity)
    scope = scope_for(actor)
    if (
        scope is None
        or scope.is_enterprise
        or not set(CREDIT_FLAGS) <= set(editable_fields(actor=actor, entity=entity))
    ):
        raise ApplicationError("没有权限登记信用信息", code="permission_denied")
    errors: dict[str, list[str]] = {}
    unknown = set(values) - set(CREDIT_FLAGS)
    for name in sorted(unknown):
        errors[name] = ["不能填写此字段"]
    if not (source or "").strip():
        errors["source"] = ["必填"]
    if observed_on is None or observed_on > timezone.localdate():
        errors["observed_on"] = ["日期不能为空或晚于今天"]
    try:
        clean = _validate(values, entity=entity) if not unknown else {}
    except ApplicationError as exc:
        for name, messages in exc.field_errors.items():
            errors.setdefault(name, []).extend(messages)
        clean = {}
    if errors:
        raise ApplicationError("输入有误, 请检查标出的字段", field_errors=errors)
    source = source.strip()[:128]
    before = _snapshot(entity)
    for name, value in clean.items():
        setattr(entity, name, value)
    changes = _diff(before, _snapshot(entity))
    records = [
        CreditFlagRecord(
            entity=entity,
            flag=flag,
            value=None if getattr(entity, flag) is None else int(getattr(entity, flag)),
            source=source,
            observed_on=observed_on,
        )
        for flag in CREDIT_FLAGS
        if flag in clean and (getattr(entity, flag) is not None or flag in changes)
    ]
    CreditFlagRecord.objects.bulk_create(records)
    if changes:
        entity.save(update_fields=list(changes) + ["updated_at"])
        EntityChange.objects.create(
            entity=entity, kind=EntityChange.Kind.UPDATED, source=_source_for(actor), actor=actor, changes=changes
        )
    audit_record(
        actor=actor,
        action="entity.credit_flags",
        obj=entity,
        before={k: v[0] for k, v in changes.items()},
        after={"source": source, "observed_on": observed_on.isoformat(), **{k: v[1] for k, v in changes.items()}},
        request=request,
    )
    entities_changed([entity.pk])
    return records


def tier_policy_recompute(*, province_code: str) -> int:
    """Recompute tier_computed/tier of a province's entities after its policy changed."""
    policies = _tier_policies()
    changed: list[int] = []
    queryset = MarketEntity.objects.filter(region_range_q(province_code[:2])).only(
        "id",
        "region",
        "entity_type",
        "annual_revenue",
        "has_tax_record",
        "tax_status",
        "social_insurance_headcount",
        "industry",
        "employees",
        "total_assets",
        "tier_imported",
        "tier_computed",
        "tier",
        "size_class",
    )
    batch = []
    for entity in queryset.iterator(chunk_size=5000):
        before = (entity.tier_computed, entity.tier, entity.size_class)
        recompute_classification(entity, policies=policies)
        if (entity.tier_computed, entity.tier, entity.size_class) != before:
            batch.append(entity)
        if len(batch) >= 2000:
            MarketEntity.objects.bulk_update(batch, ["tier_computed", "tier", "size_class"])
            changed += [e.pk for e in batch]
            batch = []
    if batch:
        MarketEntity.objects.bulk_update(batch, ["tier_computed", "tier", "size_class"])
        changed += [e.pk for e in batch]
    entities_changed(changed)
    return len(changed)


# --- register import --------------------------------------------------------------------


def entity_import_submit(*, actor, file_name: str, content: bytes, request=None) -> EntityImport:
    """Store an uploaded register file and queue its import (after commit)."""
    scope = scope_for(actor)
    prefix = write_region_prefix(scope)  # the rows' counties must lie in it (register_import)
    if prefix is None:
        raise ApplicationError("没有权限导入名录库", code="permission_denied")
    if not content:
        raise ApplicationError("请选择要导入的文件", field_errors={"file": ["文件为空"]})
    with transaction.atomic():
        entity_import = EntityImport.objects.create(
            uploaded_by=actor,
            organisation_id=scope.organisation_id,
            region_prefix=prefix,
            file_name=file_name[:255],
            content=content,
        )
        audit_record(
            actor=actor,
            action="entity.import_submit",
            obj=entity_import,
            after={"file_name": entity_import.file_name, "bytes": len(content)},
            request=request,
        )
        transaction.on_commit(lambda: celery_app.send_task(RUN_IMPORT_TASK, args=(entity_import.pk,)))
    return entity_import


def entity_import_run(*, entity_import_id: int) -> dict:
    """Run a stored import (idempotent: a finished import is not run twice)."""
    # the writes are one transaction, so an import whose worker died may simply run again
    stale = timezone.now() - dt.timedelta(minutes=30)
    claimed = (
        EntityImport.objects.filter(pk=entity_import_id)
        .filter(Q(status=ImportStatus.PENDING) | Q(status=ImportStatus.RUNNING, started_at__lt=stale))
        .update(status=ImportStatus.RUNNING, started_at=timezone.now())
    )
    entity_import = EntityImport.objects.get(pk=entity_import_id)
    if not claimed:
        return entity_import_summary(entity_import)
    job = RegisterImport(
        content=bytes(entity_import.content),
        file_name=entity_import.file_name,
        actor=entity_import.uploaded_by,
        region_prefix=entity_import.region_prefix,
        entity_import=entity_import,
    )
    return job.run()


def entity_import_summary(entity_import: EntityImport) -> dict:
    return {
        "rows": entity_import.rows,
        "created": entity_import.created,
        "updated": entity_import.updated,
        "unchanged": entity_import.unchanged,
        "rejected": entity_import.rejected,
        "errors": entity_import.errors,
    }


# --- bank relationships (借贷往来, filled in by a bank for its own customers) -----------------

RELATIONSHIP_FIELDS = {
    "months_borrowed": ("在本行累计用款期限", 0, 1200),
    "credit_line": ("在本行授信额度", 0, MAX_MONEY),
    "overdue_12m": ("最近 12 个月在本行逾期次数", 0, MAX_SMALL_COUNT),
}
RELATIONSHIP_INPUT = (*RELATIONSHIP_FIELDS, "non_performing")
BANK_STAFF_ONLY = "只有银行工作人员可以填报本行客户的借贷往来"


def _relationship_values(values: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    unknown = sorted(set(values) - set(RELATIONSHIP_INPUT))
    for name in unknown:
        errors[name] = ["不能填写此字段"]
    clean: dict[str, Any] = {}
    for name, (label, low, high) in RELATIONSHIP_FIELDS.items():
        if name not in values:
            continue
        value = values[name]
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            errors[name] = [f"{label}应为整数"]
        elif value is not None and not low <= value <= high:
            errors[name] = [f"{label}应在 {low} 至 {high} 之间"]
        else:
            clean[name] = value
    if "non_performing" in values:
        value = values["non_performing"]
        if value is not None and not isinstance(value, bool):
            errors["non_performing"] = ["应为 是、否 或 未知"]
        else:
            clean["non_performing"] = value
    if errors:
        raise ApplicationError("输入有误, 请检查标出的字段", field_errors=errors)
    return clean


def _actor_bank(actor, bank) -> int:
    """The bank (its root organisation's id) an actor records for: a bank user's own bank; the
    system (``actor=None``, demo data and tests) names it."""
    if actor is None:
        if bank is None:
            raise ApplicationError("请指定银行", field_errors={"bank": ["请指定银行"]})
        return getattr(bank, "pk", bank)
    root = bank_root_id(scope_for(actor))
    if root is None:
        raise ApplicationError(BANK_STAFF_ONLY, code="permission_denied")
    return root


@transaction.atomic
def bank_relationship_record(
    *, actor, entity: MarketEntity | int, values: dict[str, Any], bank=None, request=None
) -> BankRelationship:
    """Record (create or update) the entity's borrowing at the actor's own bank: months borrowed
    there, the current line, a non-performing loan, overdues in the last 12 months (absent keys
    keep what is known, None makes it unknown). The entity is resolved for VIEW: a bank records
    facts about a customer it may see, it does not change the register. Products of that bank
    read them (示范标杆商户); re-matched after commit."""
    bank_id = _actor_bank(actor, bank)
    clean = _relationship_values(values)
    entity_id = getattr(entity, "pk", entity)
    # the entity's row lock serialises two records of the same customer (two managers saving
    # at once): the second finds the first's row and updates it, rather than inserting a
    # second row the unique constraint would refuse with an error
    if actor is not None:
        entity = resolve(MarketEntity, actor, VIEW, lock=True, pk=entity_id, field="entity_id")
    else:
        entity = MarketEntity.objects.select_for_update().get(pk=entity_id)
    relationship = BankRelationship.objects.select_for_update().filter(
        entity=entity, bank_id=bank_id
    ).first() or BankRelationship(entity=entity, bank_id=bank_id)
    before = {name: getattr(relationship, name) for name in RELATIONSHIP_INPUT} if relationship.pk else {}
    for name, value in clean.items():
        setattr(relationship, name, value)
    relationship.updated_by = actor
    relationship.save()
    after = {name: getattr(relationship, name) for name in RELATIONSHIP_INPUT}
    audit_record(
        actor=actor,
        action="entity.bank_relationship_record",
        obj=entity,
        before=before or None,
        after={"bank": bank_id, **after},
        request=request,
    )
    entities_changed([entity.pk])
    return relationship


@transaction.atomic
def bank_relationship_delete(*, actor, relationship: BankRelationship | int, request=None) -> None:
    """Remove a relationship row the actor's bank recorded (its facts become unknown)."""
    if bank_root_id(scope_for(actor)) is None:
        raise ApplicationError(BANK_STAFF_ONLY, code="permission_denied")
    relationship = resolve(BankRelationship, actor, CHANGE, lock=True, pk=getattr(relationship, "pk", relationship))
    before = {name: getattr(relationship, name) for name in RELATIONSHIP_INPUT}
    entity = relationship.entity
    relationship.delete()
    audit_record(
        actor=actor,
        action="entity.bank_relationship_delete",
        obj=entity,
        before={"bank": relationship.bank_id, **before},
        request=request,
    )
    entities_changed([entity.pk])


# --- 无还本续贷: renewal needs (entities.renewals is the table of states and sides) ----------------

RENEWAL_INPUT_ERROR = "输入有误, 请检查标出的字段"
RENEWAL_DUE_PAST_DAYS = 366  # a loan already past due may still be recorded (renewed late) within a year
RENEWAL_DUE_FUTURE_YEARS = 5
RENEWAL_REMIND_DAYS = 30  # the bank is reminded 30 days before the due date
RENEWAL_DUPLICATE = "该贷款的续贷需求已登记(同一银行、同一到期日、同一金额), 请勿重复登记"
RENEWAL_CLOSED = "该续贷需求已办结或已撤销, 不能再办理"


def _renewal_side(actor, action: RenewalAction) -> str:
    scope = scope_for(actor)
    role = scope.role if scope is not None else None
    side = renewal_policy.side_of(role)
    if side is None or side not in renewal_policy.ROWS[action].sides:
        raise ApplicationError(f"您的角色不能{action.label}", code="permission_denied")
    return side


def _renewal_bank(actor, side: str, bank_code: str | None) -> Organisation:
    """The lender: a bank user's own bank (a code naming another bank is refused); for the
    enterprise and the task force the bank they name by its public code (银行代码)."""
    if side == renewal_policy.BANK:
        root = bank_root_id(scope_for(actor))
        own = Organisation.objects.get(pk=root)
        if bank_code and f"bank-{bank_code}" != own.code:
            raise ApplicationError(
                RENEWAL_INPUT_ERROR, field_errors={"bank_code": ["银行只能登记本行客户在本行的续贷需求"]}
            )
        return own
    if not bank_code:
        raise ApplicationError(RENEWAL_INPUT_ERROR, field_errors={"bank_code": ["请选择贷款银行"]})
    return resolve(
        Organisation.objects.filter(kind=OrganisationKind.BANK, parent__isnull=True),
        actor,
        VIEW,
        field="bank_code",
        code=f"bank-{bank_code}",
    )


def _renewal_values(*, amount, due_date, note: str) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    if isinstance(amount, bool) or not isinstance(amount, int):
        errors["amount"] = ["到期贷款金额应为数字"]
    elif not 0 < amount <= MAX_MONEY:
        errors["amount"] = [f"到期贷款金额应大于 0 且不超过 {MAX_MONEY // 10_000} 万元"]
    today = timezone.localdate()
    if not isinstance(due_date, dt.date):
        errors["due_date"] = ["请填写到期日(YYYY-MM-DD)"]
    elif due_date < today - dt.timedelta(days=RENEWAL_DUE_PAST_DAYS):
        errors["due_date"] = ["到期日早于一年前, 不再登记续贷需求"]
    elif due_date > today.replace(year=today.year + RENEWAL_DUE_FUTURE_YEARS):
        errors["due_date"] = [f"到期日不能晚于 {RENEWAL_DUE_FUTURE_YEARS} 年后"]
    if len(note or "") > 255:
        errors["note"] = ["说明不能超过 255 个字"]
    if errors:
        raise ApplicationError(RENEWAL_INPUT_ERROR, field_errors=errors)
    return {"amount": amount, "due_date": due_date, "note": (note or "").strip()}


@transaction.atomic
def renewal_record(
    *,
    actor,
    entity_id: int,
    amount: int,
    due_date: dt.date,
    bank_code: str | None = None,
    wants_no_repayment: bool = True,
    from_visit: bool = False,
    note: str = "",
    request=None,
) -> Renewal:
    """Record a loan of the entity coming due that needs renewal (004 二(八) "及时摸排掌握企业续贷
    需求"): the enterprise for itself, the county task force (from a visit: `from_visit`) for an
    entity of its county, a bank for its own customer at its own bank. `amount` in 元. The entity
    is resolved for VIEW (a visitor and a bank record facts about an entity they may see) and
    locked, so two identical records at once give one row and a 请勿重复登记 error."""
    side = _renewal_side(actor, RenewalAction.RECORD)
    values = _renewal_values(amount=amount, due_date=due_date, note=note)
    entity = resolve(MarketEntity, actor, VIEW, lock=True, pk=entity_id, field="entity_id")
    bank = _renewal_bank(actor, side, bank_code)
    source = {
        renewal_policy.ENTERPRISE: RenewalSource.ENTERPRISE,
        renewal_policy.BANK: RenewalSource.BANK,
        renewal_policy.TASK_FORCE: RenewalSource.VISIT if from_visit else RenewalSource.TASK_FORCE,
    }[side]
    duplicate = restrict(Renewal.objects.all(), actor, VIEW).filter(
        entity=entity,
        bank=bank,
        due_date=values["due_date"],
        amount=values["amount"],
        status__in=renewal_policy.OPEN_STATES,
    )
    if duplicate.exists():
        raise ApplicationError(RENEWAL_DUPLICATE, code="conflict")
    renewal = Renewal.objects.create(
        entity=entity,
        bank=bank,
        wants_no_repayment=bool(wants_no_repayment),
        source=source,
        recorded_by=actor,
        **values,
    )
    audit_record(
        actor=actor,
        action="renewal.record",
        obj=renewal,
        after={
            "entity": entity.pk,
            "bank": bank.pk,
            "amount": renewal.amount,
            "due_date": renewal.due_date.isoformat(),
            "wants_no_repayment": renewal.wants_no_repayment,
            "source": source.value,
        },
        request=request,
    )
    return renewal


def _renewal_move(*, actor, renewal_id: int, action: RenewalAction, changes: dict, request) -> Renewal:
    _renewal_side(actor, action)
    renewal = resolve(Renewal, actor, CHANGE, lock=True, pk=renewal_id, field="renewal_id")
    scope = scope_for(actor)
    if not renewal_policy.allowed(action, scope.role, renewal.status):
        raise ApplicationError(RENEWAL_CLOSED, code="conflict")
    before = renewal.status
    renewal.status = renewal_policy.ROWS[action].to_state
    renewal.outcome_recorded_at = timezone.now()  # its status history (the figures as of a moment)
    for name, value in changes.items():
        setattr(renewal, name, value)
    renewal.save()
    audit_record(
        actor=actor,
        action=(
            "renewal.renew"
            if action == RenewalAction.RENEW
            else "renewal.renew_other"
            if action == RenewalAction.RENEW_OTHER
            else "renewal.repaid"
            if action == RenewalAction.REPAID
            else "renewal.refuse"
            if action == RenewalAction.REFUSE
            else "renewal.withdraw"
        ),
        obj=renewal,
        before={"status": before},
        after={"status": renewal.status, **{k: str(v) for k, v in changes.items() if k != "outcome_by"}},
        request=request,
    )
    return renewal


@transaction.atomic
def renewal_outcome(
    *,
    actor,
    renewal_id: int,
    action: str,
    refusal_reason: str = "",
    note: str = "",
    outcome_on: dt.date | None = None,
    request=None,
) -> Renewal:
    """The lending bank records what it did (应续尽续): 无还本续贷已续, 其他方式续贷, 已还款, or
    拒绝续贷 with a coded reason (其他 needs an explanation). Only from 待续贷, only by the bank
    the loan is owed to (the restriction finds no other bank's row)."""
    errors: dict[str, list[str]] = {}
    if action not in {a.value for a in renewal_policy.OUTCOMES}:
        errors["action"] = ["请选择办理结果: " + "、".join(a.label for a in renewal_policy.OUTCOMES)]
    refusing = action == RenewalAction.REFUSE
    if refusing and refusal_reason not in RefusalReason.values:
        errors["refusal_reason"] = ["拒绝续贷须选择拒绝原因"]
    if refusing and refusal_reason == RefusalReason.OTHER and not (note or "").strip():
        errors["note"] = ["拒绝原因为“其他”时须填写说明"]
    if not refusing and refusal_reason:
        errors["refusal_reason"] = ["只有拒绝续贷时填写拒绝原因"]
    if len(note or "") > 255:
        errors["note"] = ["说明不能超过 255 个字"]
    today = timezone.localdate()
    outcome_on = outcome_on or today
    if not isinstance(outcome_on, dt.date) or outcome_on > today:
        errors["outcome_on"] = ["办结日期不能晚于今天"]
    if errors:
        raise ApplicationError(RENEWAL_INPUT_ERROR, field_errors=errors)
    return _renewal_move(
        actor=actor,
        renewal_id=renewal_id,
        action=RenewalAction(action),
        changes={
            "refusal_reason": refusal_reason if refusing else "",
            "outcome_note": (note or "").strip(),
            "outcome_on": outcome_on,
            "outcome_by": actor,
        },
        request=request,
    )


@transaction.atomic
def renewal_withdraw(*, actor, renewal_id: int, note: str = "", request=None) -> Renewal:
    """Withdraw a need still 待续贷 (recorded in error, or no longer needed)."""
    if len(note or "") > 255:
        raise ApplicationError(RENEWAL_INPUT_ERROR, field_errors={"note": ["说明不能超过 255 个字"]})
    return _renewal_move(
        actor=actor,
        renewal_id=renewal_id,
        action=RenewalAction.WITHDRAW,
        changes={"outcome_note": (note or "").strip(), "outcome_on": timezone.localdate()},
        request=request,
    )


def _bank_users_for(renewal: Renewal) -> tuple[int, ...]:
    """The lending bank's staff who serve the entity's county: members of the bank's
    organisations whose region contains it (a branch without a region: the bank's root)."""
    members = Membership.objects.filter(
        organisation__path__startswith=f"/{renewal.bank_id}/",
        role__in=sorted(renewal_policy.SIDE_ROLES[renewal_policy.BANK]),
        user__is_active=True,
    ).select_related("organisation__region")
    code = renewal.entity.region_id or ""
    return tuple(
        sorted(
            {
                m.user_id
                for m in members
                if m.organisation.region is not None and code.startswith(m.organisation.region.scope_prefix)
            }
        )
    )


@transaction.atomic
def renewal_remind_due(*, today: dt.date | None = None) -> int:
    """The daily scan: each 待续贷 need due within 30 days is announced once to its bank's staff
    serving the entity (idempotent: `reminded_on` is set under the row lock, the notice key is
    per renewal). Returns how many were reminded."""
    today = today or timezone.localdate()
    due = (
        Renewal.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("entity")
        .filter(
            status__in=renewal_policy.OPEN_STATES,
            reminded_on__isnull=True,
            due_date__lte=today + dt.timedelta(days=RENEWAL_REMIND_DAYS),
            due_date__gte=today,
        )
    )
    count = 0
    for renewal in due:
        renewal.reminded_on = today
        renewal.save(update_fields=["reminded_on"])
        announce(
            [
                Notice(
                    key=f"renewal-due:{renewal.pk}",
                    title=f"续贷到期提醒: {renewal.entity.name} {renewal.amount / 10_000:.2f} 万元 "
                    f"{renewal.due_date:%Y-%m-%d} 到期",
                    body="请按“应续尽续”要求及时办理并登记结果(无还本续贷已续、其他方式续贷、已还款或拒绝续贷)。",
                    url="/entities/renewals/?window=30",
                    user_ids=_bank_users_for(renewal),
                )
            ]
        )
        count += 1
    return count
