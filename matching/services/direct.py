"""直接申请: an enterprise applies to one product directly from the 产品超市 (seed 002 point 5:
"明确公开小微信贷审批权限、客户准入条件、申请资料、办理流程等,小微“无贷户”授信申请原则上5个工作日内
回复"), consenting to share its data with that bank.

The application is a declaration of source DIRECT (the need, the consent; no three-level
review: it goes to the bank, not to the task force's list) with one lead of origin DIRECT,
routed to the branch serving the entity's county by the push's rule
(`products.selectors.branch_for`). The lead starts in 待对接 with the same feedback clock as a
pushed lead (5 working days, reminders, overdue, escalation to the county task force by the
deadline scan), and from there every lead row of the workflow table applies alike (contact,
materials, decision, drawdown, corrections). It is marked 无贷户 when the entity had no current
loan at any bank (its 借贷往来, entities.BankRelationship) when it applied."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone

from entities.models import BankRelationship, MarketEntity
from matching import notifications, workflow
from matching.models import Declaration, DeclarationSource, DeclarationState, LeadOrigin, Recommendation
from matching.services.common import _entity_for_declaring, _set_banks, _validate_need, refuse_open_case, task_force_for
from matching.workflow import Action
from portal.models import Role
from portal.services import ApplicationError, audit_record
from portal.tenancy import VIEW, resolve
from products.models import LoanProduct
from products.selectors import active_products, branch_for


def has_current_loan(entity: MarketEntity) -> bool:
    """The entity has a current line at some bank (a 借贷往来 row with a positive 授信额度):
    otherwise it is a 无贷户 (glossary `no_loan_entity`)."""
    return BankRelationship.objects.filter(entity=entity, credit_line__gt=0).exists()


@transaction.atomic
def direct_application_create(
    *,
    actor,
    entity_id: int,
    product_id: int,
    amount: int,
    term_months: int,
    purpose: str,
    consent: bool,
    repayment: str = "",
) -> Recommendation:
    """直接申请 (workflow DIRECT_APPLY): the enterprise's own entity applies to one active
    product; the lead goes to the bank's branch serving the entity's county and its 5-working-
    day feedback clock starts. Refused without the consent, for an entity or a product the
    actor may not see (not found), for a bank that does not serve the county, and while the
    entity has an open case (`common.open_case`, as every path that opens a declaration)."""
    workflow.require_role(Action.DIRECT_APPLY, actor)
    entity = _entity_for_declaring(actor, entity_id)
    product = resolve(
        active_products().select_related("bank", "current_version"),
        actor,
        VIEW,
        pk=product_id,
        message="贷款产品不存在或已下架",
        field="product_id",
    )
    if not consent:
        message = "请同意向该银行共享本企业信息后再申请"
        raise ApplicationError(message, field_errors={"consent": [message]})
    MarketEntity.objects.select_for_update().filter(pk=entity.pk).first()  # serialise the entity's cases
    refuse_open_case(entity, actor=actor, field="entity_id")
    need = _validate_need(amount, term_months, purpose, repayment)
    branch = branch_for(bank=product.bank, county_code=entity.region_id)
    if branch is None:
        message = f"{product.bank.name}在{entity.region.name}没有服务机构, 无法受理您的申请, 请选择其他银行的产品"
        raise ApplicationError(message, field_errors={"product_id": [message]}, code="conflict")
    now = timezone.now()
    declaration = Declaration(
        entity=entity,
        task_force=task_force_for(entity),
        region_id=entity.region_id,
        source=DeclarationSource.DIRECT,
        state=DeclarationState.RECOMMENDED,
        created_by=actor,
        submitted_at=now,
        consent_given_at=now,
        consent_given_by=actor,
        **need,
    )
    try:
        with transaction.atomic():
            declaration.save()
    except IntegrityError:
        raise ApplicationError("该经营主体已有进行中的申报, 不能重复申请", code="conflict") from None
    _set_banks(declaration, [product.bank])
    no_loan = not has_current_loan(entity)
    lead = Recommendation.objects.create(
        origin=LeadOrigin.DIRECT,
        declaration=declaration,
        entity=entity,
        region_id=entity.region_id,
        bank=product.bank,
        branch=branch,
        pushed_at=now,
        product_version=product.current_version,
        no_loan_entity=no_loan,
    )
    workflow.record(
        Action.DIRECT_APPLY,
        declaration=declaration,
        recommendation=lead,
        actor=actor,
        at=now,
        product=product.code,
        bank=product.bank.code,
        branch=branch.pk,
        no_loan_entity=no_loan,
    )
    audit_record(
        actor=actor,
        action="lead.direct_apply",
        obj=lead,
        after={**need, "product": product.code, "branch": branch.pk, "consent": True, "no_loan_entity": no_loan},
    )
    marks = "直接申请" + (" · 无贷户" if no_loan else "")
    notifications.to_role(
        organisation=branch.organisation,
        role=Role.BANK_ADMIN,
        key=f"rec-{lead.pk}-direct",
        with_ancestors=True,
        title=f"新线索({marks}): {entity.name} 申请{product.name}, 请于 5 个工作日内回复",
        url=f"/matching/leads/{lead.pk}/",
    )
    notifications.to_entity_and_creator(
        declaration=declaration,
        key=f"rec-{lead.pk}-direct-entity",
        title=f"您的{product.name}申请已送达{branch.name}, 银行原则上 5 个工作日内回复",
        url=f"/matching/declarations/{declaration.pk}/",
    )
    return lead


def product_for_direct_application(*, user, product_id: int) -> LoanProduct:
    """The active product an application form is about (a page's GET): not found otherwise."""
    return resolve(active_products().select_related("bank", "current_version"), user, VIEW, pk=product_id)
