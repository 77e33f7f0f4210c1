"""Writes of the lender side: the seed catalogue, product versions, branches."""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from django.db import transaction
from django.utils import timezone

from portal.models import Organisation, OrganisationKind, Region, RegionLevel
from portal.services import ApplicationError, audit_record
from products.catalog import load_catalog_data, product_problems
from products.models import (
    Bank,
    BankBranch,
    BranchLevel,
    BranchServiceArea,
    LoanProduct,
    LoanProductVersion,
    ProductStatus,
)

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
def branch_ensure(*, bank: Bank, parent: BankBranch | None, region: Region, name: str, level: str, service_prefixes: list[str]) -> BankBranch:
    """Create or update a branch (and its organisation) idempotently; key: bank + region + level."""
    org = _org(
        code=f"branch-{bank.code}-{region.code}-{level}",
        name=name,
        kind=OrganisationKind.BANK_BRANCH if parent else OrganisationKind.BANK,
        region=region,
        parent=parent.organisation if parent else None,
    ) if parent else bank.organisation
    branch, _ = BankBranch.objects.update_or_create(
        organisation=org, defaults={"bank": bank, "parent": parent, "name": name, "level": level, "region": region}
    )
    for prefix in service_prefixes:
        BranchServiceArea.objects.get_or_create(branch=branch, region_prefix=prefix)
    return branch


def _bank_upsert(data: dict) -> tuple[Bank, bool]:
    province = Region.objects.get(code="140000")
    org = _org(code=f"bank-{data['code']}", name=data["branch_name"], kind=OrganisationKind.BANK, region=province, parent=None)
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
        bank=bank, parent=None, region=province, name=data["branch_name"], level=BranchLevel.PROVINCIAL,
        service_prefixes=["14"],
    )
    short = data.get("short_name") or data["name"]
    for city in Region.objects.filter(level=RegionLevel.CITY, code__startswith="14").order_by("code"):
        branch_ensure(
            bank=bank, parent=provincial, region=city, name=f"{short}{city.name}分行", level=BranchLevel.CITY,
            service_prefixes=[city.code[:4]],
        )
    return bank, created


def _version_create(*, product: LoanProduct, definition: dict, effective_from: dt.date, actor=None, publish: bool) -> LoanProductVersion:
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
        if current is not None and current.definition == definition:
            counts["unchanged"] += 1
            continue
        version = _version_create(product=product, definition=definition, effective_from=today, actor=actor, publish=True)
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


@transaction.atomic
def product_edit(*, actor, product: LoanProduct, definition: dict, effective_from: dt.date) -> LoanProductVersion:
    """Save a product definition. A draft is edited in place; editing a published product
    opens a new draft version, which takes effect only when published."""
    product = LoanProduct.objects.select_for_update().get(pk=product.pk)
    definition = _validated({**definition, "code": product.code, "bank": product.bank.code})
    draft = product.versions.filter(published_at__isnull=True).first()
    before = draft.definition if draft else (product.current_version.definition if product.current_version else None)
    if draft is None:
        draft = _version_create(product=product, definition=definition, effective_from=effective_from, actor=actor, publish=False)
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
    product = LoanProduct.objects.select_for_update().get(pk=product.pk)
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
    product = LoanProduct.objects.select_for_update().get(pk=product.pk)
    if product.status == ProductStatus.RETIRED:
        raise ApplicationError("产品已下架", code="conflict")
    product.status = ProductStatus.RETIRED
    product.save(update_fields=["status", "updated_at"])
    audit_record(actor=actor, action="product.retire", obj=product)
    return product


@transaction.atomic
def product_create(*, actor, bank: Bank, code: str, definition: dict, effective_from: dt.date) -> LoanProduct:
    """A new product of the actor's bank, as a draft with its first (unpublished) version."""
    if LoanProduct.objects.filter(code=code).exists():
        raise ApplicationError(f"产品代码 {code} 已存在", field_errors={"code": ["产品代码已存在"]}, code="conflict")
    definition = _validated({**definition, "code": code, "bank": bank.code})
    product = LoanProduct.objects.create(code=code, bank=bank, name=definition["name"], status=ProductStatus.DRAFT)
    _version_create(product=product, definition=definition, effective_from=effective_from, actor=actor, publish=False)
    audit_record(actor=actor, action="product.create", obj=product, after=definition)
    return product


@transaction.atomic
def branch_create(*, actor, bank: Bank, parent: BankBranch, region: Region, name: str, level: str, service_prefixes: list[str]) -> BankBranch:
    if parent.bank_id != bank.pk:
        raise ApplicationError("上级机构须属于本行", field_errors={"parent": ["上级机构须属于本行"]})
    bad = [p for p in service_prefixes if not (p.isdigit() and len(p) in (2, 4, 6) and Region.objects.filter(code__startswith=p).exists())]
    if not service_prefixes or bad:
        raise ApplicationError("服务区域代码无效", field_errors={"service_prefixes": [f"无效的行政区划代码前缀: {', '.join(bad) or '(空)'}"]})
    branch = branch_ensure(bank=bank, parent=parent, region=region, name=name, level=level, service_prefixes=service_prefixes)
    audit_record(actor=actor, action="branch.create", obj=branch, after={"name": name, "service_prefixes": service_prefixes})
    return branch
