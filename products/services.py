"""Writes of the lender side: the seed catalogue, product versions, branches.

Who writes what (the restrictions in products/restrictions.py, applied through
`portal.tenancy.resolve`):
- products (create, edit, publish, retire): the bank's head-office (行级) administrators and
  platform administrators; `actor=None` is the system (seed catalogue, tests, benchmarks);
- a product's scenario list (商E贷's 17 重点场景): the head-office administrators of its own
  bank only (the list is the bank's business data, not the platform's); each change publishes a
  new version, and a later `load_catalog` keeps the bank's list;
- branches: a bank administrator creates and moves branches only inside his own subtree. A
  new branch always gets a new organisation (a code already in use is a field error, never a
  match), lies inside its parent's region, serves only counties its parent serves, and sits
  one or more levels below it. Moving a branch re-parents its organisation, which rewrites
  the materialised path of every descendant (portal.models.Organisation.save) in the same
  transaction.

`branch_ensure` is the seed loader's idempotent upsert (catalogue, demo, test worlds): it is
keyed by a code derived from bank, region and level and is never reached from user input."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from django.db import IntegrityError, transaction
from django.utils import timezone

from portal.models import Industry, Organisation, OrganisationKind, Region, RegionLevel
from portal.services import ApplicationError, audit_record, organisation_move
from portal.tenancy import CHANGE, VIEW, resolve, restrict, scope_for
from products.catalog import (
    BANK_SOURCE,
    apply_scenarios,
    keep_bank_scenarios,
    load_catalog_data,
    product_problems,
    scenario_codes,
    scenarios_problems,
)
from products.models import (
    FOUR_LISTS,
    Bank,
    BankBranch,
    BranchLevel,
    BranchServiceArea,
    LoanProduct,
    LoanProductVersion,
    ProductStatus,
)
from products.restrictions import is_head_office_admin

# called on commit with the published LoanProductVersion (incremental re-matching hooks in here)
PRODUCT_PUBLISHED_HOOKS: list[Callable[[LoanProductVersion], None]] = []

# fields of a definition copied to columns for queries
_COLUMNS = ("channel", "max_amount", "entity_types", "guarantee")


def _columns_of(definition: dict) -> dict:
    return {
        "channel": definition.get("channel") or "",
        "max_amount": definition.get("max_amount"),
        "max_term_months": (definition.get("term") or {}).get("max_months"),
        "entity_types": list(definition.get("entity_types") or []),
        "guarantee": list(definition.get("guarantee") or []),
    }


def _org(*, code: str, name: str, kind: str, region: Region, parent: Organisation | None) -> Organisation:
    org, created = Organisation.objects.get_or_create(
        code=code, defaults={"name": name, "kind": kind, "region": region, "parent": parent}
    )
    if not created and (org.name, org.parent_id, org.region_id) != (name, parent.pk if parent else None, region.pk):
        org.name, org.parent, org.region = name, parent, region
        org.save()
    return org


@transaction.atomic
def branch_ensure(
    *, bank: Bank, parent: BankBranch | None, region: Region, name: str, level: str, service_prefixes: list[str]
) -> BankBranch:
    """Create or update a branch (and its organisation) idempotently; key: bank + region + level."""
    org = (
        _org(
            code=f"branch-{bank.code}-{region.code}-{level}",
            name=name,
            kind=OrganisationKind.BANK_BRANCH if parent else OrganisationKind.BANK,
            region=region,
            parent=parent.organisation if parent else None,
        )
        if parent
        else bank.organisation
    )
    branch, _ = BankBranch.objects.update_or_create(
        organisation=org, defaults={"bank": bank, "parent": parent, "name": name, "level": level, "region": region}
    )
    for prefix in service_prefixes:
        BranchServiceArea.objects.get_or_create(branch=branch, region_prefix=prefix)
    return branch


def _bank_upsert(data: dict) -> tuple[Bank, bool]:
    province = Region.objects.get(code="140000")
    org = _org(
        code=f"bank-{data['code']}", name=data["branch_name"], kind=OrganisationKind.BANK, region=province, parent=None
    )
    bank, created = Bank.objects.update_or_create(
        code=data["code"],
        defaults={
            "name": data["name"],
            "organisation": org,
            "service_area_prefixes": data["service_area_prefixes"],
            "source": data.get("source", {}),
        },
    )
    provincial = branch_ensure(
        bank=bank,
        parent=None,
        region=province,
        name=data["branch_name"],
        level=BranchLevel.PROVINCIAL,
        service_prefixes=["14"],
    )
    short = data.get("short_name") or data["name"]
    for city in Region.objects.filter(level=RegionLevel.CITY, code__startswith="14").order_by("code"):
        branch_ensure(
            bank=bank,
            parent=provincial,
            region=city,
            name=f"{short}{city.name}分行",
            level=BranchLevel.CITY,
            service_prefixes=[city.code[:4]],
        )
    return bank, created


def _version_create(
    *, product: LoanProduct, definition: dict, effective_from: dt.date, actor=None, publish: bool
) -> LoanProductVersion:
    last = product.versions.order_by("-number").first()
    version = LoanProductVersion.objects.create(
        product=product,
        number=(last.number + 1) if last else 1,
        effective_from=effective_from,
        published_at=timezone.now() if publish else None,
        created_by=actor if actor is not None and actor.is_authenticated else None,
        definition=definition,
        **_columns_of(definition),
    )
    return version


@transaction.atomic
def catalog_load(*, actor=None, today: dt.date | None = None) -> dict[str, int]:
    """Write the seed catalogue. Idempotent: an unchanged product gets no new version."""
    today = today or timezone.localdate()
    catalog = load_catalog_data()
    counts = {"banks_created": 0, "products_created": 0, "versions_created": 0, "unchanged": 0}
    banks = {}
    for code, data in catalog["banks"].items():
        banks[code], created = _bank_upsert(data)
        counts["banks_created"] += created
    for code, definition in catalog["products"].items():
        status = ProductStatus.ACTIVE if definition.get("active", True) else ProductStatus.DRAFT
        product, created = LoanProduct.objects.select_for_update().get_or_create(
            code=code, defaults={"bank": banks[definition["bank"]], "name": definition["name"], "status": status}
        )
        counts["products_created"] += created
        current = product.current_version
        if current is not None:
            # a scenario list the bank has edited is the bank's: the seed never overwrites it
            definition = keep_bank_scenarios(definition, current.definition)
        if current is not None and current.definition == definition:
            counts["unchanged"] += 1
            continue
        version = _version_create(
            product=product, definition=definition, effective_from=today, actor=actor, publish=True
        )
        product.current_version = version
        product.name = definition["name"]
        product.save(update_fields=["current_version", "name", "updated_at"])
        counts["versions_created"] += 1
        audit_record(actor=actor, action="product.catalog_load", obj=product, after={"version": version.number})
        if product.status == ProductStatus.ACTIVE:
            transaction.on_commit(lambda v=version: _notify_published(v))
    return counts


def _notify_published(version: LoanProductVersion) -> None:
    for hook in PRODUCT_PUBLISHED_HOOKS:
        hook(version)


def _validated(definition: dict) -> dict:
    banks = {code: True for code in Bank.objects.values_list("code", flat=True)}
    problems = product_problems(definition, banks)
    if problems:
        raise ApplicationError("产品定义有误: " + "; ".join(problems), field_errors={"definition": problems})
    return definition


HEAD_OFFICE_ONLY = "只有本行行级(省分行)管理员可以新增或修改产品"


def _locked_product(actor, product: LoanProduct) -> LoanProduct:
    """Row-lock a product the actor may change, through the restriction (head-office
    administrators of its bank, platform administrators); `actor=None` is the system."""
    if actor is None:
        return LoanProduct.objects.select_for_update().get(pk=product.pk)
    return resolve(LoanProduct, actor, CHANGE, lock=True, pk=product.pk)


@transaction.atomic
def product_edit(*, actor, product: LoanProduct, definition: dict, effective_from: dt.date) -> LoanProductVersion:
    """Save a product definition. A draft is edited in place; editing a published product
    opens a new draft version, which takes effect only when published."""
    product = _locked_product(actor, product)
    definition = _validated({**definition, "code": product.code, "bank": product.bank.code})
    draft = product.versions.filter(published_at__isnull=True).first()
    before = draft.definition if draft else (product.current_version.definition if product.current_version else None)
    if draft is None:
        draft = _version_create(
            product=product, definition=definition, effective_from=effective_from, actor=actor, publish=False
        )
    else:
        draft.definition = definition
        draft.effective_from = effective_from
        for field, value in _columns_of(definition).items():
            setattr(draft, field, value)
        draft.save()
    audit_record(actor=actor, action="product.edit", obj=product, before=before, after=definition)
    return draft


@transaction.atomic
def product_publish(*, actor, product: LoanProduct) -> LoanProductVersion:
    product = _locked_product(actor, product)
    draft = product.versions.filter(published_at__isnull=True).first()
    if draft is None:
        raise ApplicationError("没有待发布的草稿版本", code="conflict")
    draft.published_at = timezone.now()
    draft.save(update_fields=["published_at"])
    product.current_version = draft
    product.status = ProductStatus.ACTIVE
    product.name = draft.definition.get("name", product.name)
    product.save(update_fields=["current_version", "status", "name", "updated_at"])
    audit_record(actor=actor, action="product.publish", obj=product, after={"version": draft.number})
    transaction.on_commit(lambda: _notify_published(draft))
    return draft


@transaction.atomic
def product_retire(*, actor, product: LoanProduct) -> LoanProduct:
    product = _locked_product(actor, product)
    if product.status == ProductStatus.RETIRED:
        raise ApplicationError("产品已下架", code="conflict")
    product.status = ProductStatus.RETIRED
    product.save(update_fields=["status", "updated_at"])
    audit_record(actor=actor, action="product.retire", obj=product)
    return product


def _bank_for_new_product(actor, definition: dict) -> Bank:
    """The bank a new product belongs to: the head-office administrator's own bank; for a
    platform administrator the bank named in the definition."""
    scope = scope_for(actor)
    if scope is not None and scope.is_platform_admin:
        message = "请在产品定义中填写有效的银行代码(bank)"
        try:
            return resolve(Bank, actor, CHANGE, code=str(definition.get("bank") or ""))
        except ApplicationError:
            raise ApplicationError(message, field_errors={"definition": [message]}) from None
    if not is_head_office_admin(scope):
        raise ApplicationError(HEAD_OFFICE_ONLY, code="permission_denied")
    return resolve(Bank, actor, CHANGE, organisation_id=scope.organisation_id, message=HEAD_OFFICE_ONLY)


@transaction.atomic
def product_create(
    *, actor, code: str, definition: dict, effective_from: dt.date, bank: Bank | None = None
) -> LoanProduct:
    """A new product, as a draft with its first (unpublished) version. A signed-in actor
    creates it for his own bank (head-office administrators) or for the bank named in the
    definition (platform administrators); `bank` is for the system (`actor=None`) only."""
    if actor is not None:
        bank = _bank_for_new_product(actor, definition or {})
    elif bank is None:
        raise ApplicationError("请指定产品所属银行", field_errors={"bank": ["请指定产品所属银行"]})
    definition = _validated({**definition, "code": code, "bank": bank.code})
    try:
        with transaction.atomic():
            product = LoanProduct.objects.create(
                code=code, bank=bank, name=definition["name"], status=ProductStatus.DRAFT
            )
    except IntegrityError:
        raise ApplicationError(
            f"产品代码 {code} 已存在", field_errors={"code": ["产品代码已存在"]}, code="conflict"
        ) from None
    _version_create(product=product, definition=definition, effective_from=effective_from, actor=actor, publish=False)
    audit_record(actor=actor, action="product.create", obj=product, after=definition)
    return product


# --- scenario lists (商E贷's 17 重点场景) ------------------------------------------------------

SCENARIOS_HEAD_OFFICE_ONLY = "场景清单由该行行级(省分行)管理员维护"


@transaction.atomic
def product_scenarios_update(
    *, actor, product: LoanProduct, scenarios: list, complete: bool, request=None
) -> LoanProductVersion:
    """Replace a product's scenario list (``[{"name", "industry_codes"}]``, GB/T 4754-2017
    codes) and whether it is complete, as a new published version: the ``scenario_industry``
    rule is rebuilt from the list, the version takes effect today and the product is re-matched
    (PRODUCT_PUBLISHED_HOOKS), like any published rule change. Only a head-office (行级)
    administrator of the product's own bank may do it (`actor=None` is the system). Refused
    while the product has an unpublished draft (it would be published over or lost)."""
    product = _locked_product(actor, product)
    if actor is not None and not is_head_office_admin(scope_for(actor)):
        raise ApplicationError(SCENARIOS_HEAD_OFFICE_ONLY, code="permission_denied")
    current = product.current_version
    if current is None or "scenarios" not in current.definition:
        raise ApplicationError("该产品没有场景清单", code="conflict")
    draft = product.versions.filter(published_at__isnull=True).first()
    if draft is not None:
        raise ApplicationError(
            f"该产品有待发布的草稿第 {draft.number} 版: 请先在产品页发布或修改草稿, 再维护场景清单", code="conflict"
        )
    problems = scenarios_problems(scenarios)
    if not problems:
        codes = scenario_codes(scenarios)
        names = dict(Industry.objects.filter(code__in=codes).values_list("code", "name"))
        problems = [f"行业代码 {code} 不在 GB/T 4754-2017 行业表中" for code in codes if code not in names]
    if problems:
        raise ApplicationError("场景清单有误: " + "; ".join(problems), field_errors={"scenarios": problems})
    definition = {
        **apply_scenarios(current.definition, scenarios, complete=bool(complete), labels=names),
        "scenarios_source": BANK_SOURCE,
    }
    if definition == current.definition:
        return current
    definition = _validated(definition)
    version = _version_create(
        product=product, definition=definition, effective_from=timezone.localdate(), actor=actor, publish=True
    )
    product.current_version = version
    product.save(update_fields=["current_version", "updated_at"])
    audit_record(
        actor=actor,
        action="product.scenarios_update",
        obj=product,
        before={
            "scenarios": current.definition.get("scenarios"),
            "complete": current.definition.get("scenarios_complete"),
        },
        after={
            "scenarios": definition["scenarios"],
            "complete": definition["scenarios_complete"],
            "version": version.number,
        },
        request=request,
    )
    if product.status == ProductStatus.ACTIVE:
        transaction.on_commit(lambda: _notify_published(version))
    return version


# --- branches ------------------------------------------------------------------------------

# how deep each level sits below the bank's root (a child sits deeper than its parent)
LEVEL_DEPTH = {BranchLevel.PROVINCIAL: 0, BranchLevel.CITY: 1, BranchLevel.COUNTY: 2, BranchLevel.OUTLET: 3}
SLUG_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")


def _branches_for_change():
    return BankBranch.objects.select_related("bank", "organisation", "region")


def _covered(prefix: str, areas: list[str]) -> bool:
    return any(prefix.startswith(area) for area in areas)


def _service_prefix_problems(actor, prefixes: list[str], parent_areas: list[str]) -> list[str]:
    problems = []
    regions = restrict(Region.objects.all(), actor, VIEW)
    for prefix in prefixes:
        if not (prefix.isdigit() and len(prefix) in (2, 4, 6) and regions.filter(code__startswith=prefix).exists()):
            problems.append(f"无效的行政区划代码前缀: {prefix}")
        elif not _covered(prefix, parent_areas):
            problems.append(f"{prefix} 不在上级机构的服务区域({', '.join(parent_areas) or '无'})内")
    return problems


@transaction.atomic
def branch_create(
    *, actor, parent_id, region_code: str, name: str, level: str, service_prefixes: list[str], code: str | None = None
) -> BankBranch:
    """A new branch below `parent_id` (a branch in the actor's own subtree), with a new
    organisation. Never matches or changes an existing organisation: a code already in use
    is refused as a field error and nothing is written."""
    parent = resolve(_branches_for_change(), actor, CHANGE, lock=True, pk=parent_id, field="parent")
    errors: dict[str, list[str]] = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = ["请填写机构名称"]
    elif len(name) > 128:
        errors["name"] = ["机构名称最长 128 个字"]
    if level not in LEVEL_DEPTH:
        errors["level"] = ["无效的机构层级"]
    elif LEVEL_DEPTH[level] <= LEVEL_DEPTH.get(parent.level, 0):
        errors["level"] = [f"层级须低于上级机构({parent.get_level_display()})"]
    region = restrict(Region.objects.all(), actor, VIEW).filter(code=str(region_code or "")).first()
    parent_prefix = parent.region.scope_prefix
    if region is None:
        errors["region_code"] = ["未知的行政区划代码"]
    elif not region.code.startswith(parent_prefix):
        errors["region_code"] = [f"所在地须在上级机构所在地({parent.region.name})范围内"]
    prefixes = list(dict.fromkeys(p.strip() for p in service_prefixes or [] if p and p.strip()))
    parent_areas = list(parent.service_areas.values_list("region_prefix", flat=True))
    problems = _service_prefix_problems(actor, prefixes, parent_areas) if prefixes else ["请填写服务区域"]
    if problems:
        errors["service_prefixes"] = problems
    code = (code or "").strip() or (f"branch-{parent.bank.code}-{region.code}-{level}" if region is not None else "")
    if code and (len(code) > 64 or not set(code) <= SLUG_CHARS):
        errors["code"] = ["机构代码只能包含字母、数字、连字符和下划线, 最长 64 位"]
    if errors:
        raise ApplicationError(next(iter(errors.values()))[0], field_errors=errors)
    try:
        with transaction.atomic():
            org = Organisation.objects.create(
                code=code, name=name, kind=OrganisationKind.BANK_BRANCH, region=region, parent=parent.organisation
            )
    except IntegrityError:
        message = f"机构代码 {code} 已被使用, 请填写其他机构代码"
        raise ApplicationError(message, field_errors={"code": [message]}) from None
    branch = BankBranch.objects.create(
        bank=parent.bank, parent=parent, name=name, level=level, region=region, organisation=org
    )
    BranchServiceArea.objects.bulk_create([BranchServiceArea(branch=branch, region_prefix=p) for p in prefixes])
    audit_record(
        actor=actor,
        action="branch.create",
        obj=branch,
        after={
            "name": name,
            "code": code,
            "parent": parent.pk,
            "region": region.code,
            "level": level,
            "service_prefixes": prefixes,
        },
    )
    return branch


@transaction.atomic
def branch_move(*, actor, branch_id, parent_id) -> BankBranch:
    """Re-parent a branch (with everything below it) inside the actor's subtree. Its
    organisation moves too, and every descendant's materialised path (with what derives
    from it) is rewritten in this transaction, so each restriction follows the move."""
    branch = resolve(_branches_for_change(), actor, CHANGE, lock=True, pk=branch_id)
    parent = resolve(_branches_for_change(), actor, CHANGE, lock=True, pk=parent_id, field="parent")

    def refuse(message: str):
        raise ApplicationError(message, field_errors={"parent": [message]})

    if branch.parent_id is None:
        refuse("行级机构(省分行)不能移动")
    if parent.bank_id != branch.bank_id:
        refuse("上级机构须属于同一银行")
    if parent.organisation.path.startswith(branch.organisation.path):
        refuse("不能移到本机构或其下级机构之下")
    if LEVEL_DEPTH.get(parent.level, 0) >= LEVEL_DEPTH.get(branch.level, 0):
        refuse(f"上级机构的层级须高于本机构({branch.get_level_display()})")
    if parent.pk == branch.parent_id:
        return branch
    parent_areas = list(parent.service_areas.values_list("region_prefix", flat=True))
    subtree_areas = BranchServiceArea.objects.filter(branch__organisation__path__startswith=branch.organisation.path)
    outside = sorted(
        {p for p in subtree_areas.values_list("region_prefix", flat=True) if not _covered(p, parent_areas)}
    )
    if outside:
        refuse(f"本机构(含下级)的服务区域 {', '.join(outside)} 不在新上级机构的服务区域内")
    before = {"parent": branch.parent_id, "path": branch.organisation.path}
    organisation_move(actor=actor, organisation_id=branch.organisation_id, parent_id=parent.organisation_id)
    branch.parent = parent
    branch.save(update_fields=["parent"])
    branch.organisation.refresh_from_db()
    audit_record(
        actor=actor,
        action="branch.move",
        obj=branch,
        before=before,
        after={"parent": parent.pk, "path": branch.organisation.path},
    )
    return branch


FOUR_LISTS_MAX_CHARS = 4000


@transaction.atomic
def product_four_lists_update(*, actor, product: LoanProduct, lists: dict) -> LoanProduct:
    """The bank publishes a product's 四张清单 (seed 002 point 5: "推动全县银行机构编制授权、授信、
    受理回告清单并向社会公示,明确公开小微信贷审批权限、客户准入条件、申请资料、办理流程等"): the
    texts of FOUR_LISTS, by the head-office administrators of the product's bank (or platform
    administrators). Fields not named keep their text; each is at most FOUR_LISTS_MAX_CHARS."""
    product = _locked_product(actor, product)
    unknown = sorted(set(lists) - set(FOUR_LISTS))
    errors = {name: ["未知的清单项"] for name in unknown}
    for name, value in lists.items():
        if name in FOUR_LISTS and (not isinstance(value, str) or len(value) > FOUR_LISTS_MAX_CHARS):
            errors[name] = [f"{FOUR_LISTS[name]}须为不超过 {FOUR_LISTS_MAX_CHARS} 字的文字"]
    if errors:
        raise ApplicationError("四张清单填写有误", field_errors=errors)
    before = {name: getattr(product, name) for name in lists}
    for name, value in lists.items():
        setattr(product, name, value.strip())
    product.save(update_fields=[*lists, "updated_at"])
    audit_record(
        actor=actor,
        action="product.four_lists_update",
        obj=product,
        before=before,
        after={name: getattr(product, name) for name in lists},
    )
    return product
