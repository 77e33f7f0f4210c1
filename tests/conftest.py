"""Fixtures shared by the cross-app tests of this directory: the 泽州 world with a pushed
declaration, and another county's data for the tenant-isolation matrices."""

import datetime as dt
from dataclasses import dataclass

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile

from entities.models import EntityClaim, EntityImport, HonorProposal, MarketEntity
from entities.services import bank_relationship_record, honor_propose, renewal_record
from matching import services as s
from matching.factories import CRITERIA, pushed
from matching.materials import material_upload
from matching.models import Notification, Recommendation
from portal.factories import OrganisationFactory, UserFactory, region, user_with_role
from portal.models import AuditEvent, Organisation, OrganisationKind, Role
from portal.tokens import api_token_issue
from products.factories import valid_uscc
from products.models import Bank, BankBranch, BranchLevel
from reporting.models import ScheduledReport
from reporting.services import bank_report_submit

OTHER_NAME = "大同新荣隔离测试商店"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def pushed_world(world):
    """The 泽州 world with one enterprise's declaration reviewed, signed off and pushed to
    中国银行 and 建设银行: `world.declaration`, `world.recs` ({bank code: recommendation}) and
    its enterprise user as `world.users["enterprise"]`."""
    world.declaration, world.users["enterprise"], world.recs = pushed(world)
    return world


@dataclass
class Other:
    entity: MarketEntity
    declaration: object
    recommendation: Recommendation
    batch: object
    material: object
    visit: object
    notification: Notification
    audit_event: AuditEvent
    task_force: Organisation
    entity_import: EntityImport
    bank_report: object
    scheduled_report: object
    api_token: object
    honor_proposal: HonorProposal
    user: object  # a user of the other task force (用户管理)
    entity_claim: EntityClaim
    renewal: object  # the enterprise's 续贷需求 at 建设银行

    def secrets(self) -> list[str]:
        """What of its data no user of 泽州 or 晋城 may ever see."""
        return [OTHER_NAME, self.entity.uscc, "隔离测试用途", "13912345678", "营业执照.png"]


@pytest.fixture
def other_county(world) -> Other:
    """Another city's task force, enterprise and bank branch (新荣区, 大同), with a pushed,
    declined lead, a material, a visit, a notification, an import, a bank report, a weekly
    report, an API token, a pending 名特优新 proposal, 建设银行's record of the enterprise's
    borrowing, the enterprise's renewal need at 建设银行 and a registrant's pending claim: what the
    tenant-isolation matrices try to reach from 泽州 (it needs the catalogue's banks, which the 泽州
    world loads)."""
    province = Organisation.objects.get(kind=OrganisationKind.PROVINCE_MECHANISM)
    city = OrganisationFactory(
        kind=OrganisationKind.CITY_MECHANISM, region=region("140200"), parent=province, name="大同市机制"
    )
    county = OrganisationFactory(
        kind=OrganisationKind.COUNTY_MECHANISM, region=region("140212"), parent=city, name="新荣区机制"
    )
    task_force = OrganisationFactory(
        kind=OrganisationKind.TASK_FORCE, region=region("140212"), parent=county, name="新荣区专班"
    )
    staff = user_with_role(Role.TASK_FORCE_STAFF, organisation=task_force, username="other-staff")
    reviewer = user_with_role(Role.TASK_FORCE_BANK_REVIEWER, organisation=task_force, username="other-reviewer")
    lead = user_with_role(Role.TASK_FORCE_LEAD, organisation=task_force, username="other-lead")
    convener = user_with_role(Role.CONVENER, organisation=county, username="other-convener")
    jshb = Bank.objects.get(code="jshb")
    datong = BankBranch.objects.get(bank=jshb, level=BranchLevel.CITY, region_id="140200")
    bank_admin = user_with_role(Role.BANK_ADMIN, organisation=datong.organisation, username="other-bank-admin")
    org = OrganisationFactory(kind=OrganisationKind.ENTERPRISE, region=region("140212"), name=OTHER_NAME)
    entity = MarketEntity.objects.create(
        uscc=valid_uscc().replace("140525", "140212"),
        name=OTHER_NAME,
        entity_type="individual_business",
        register_status="active",
        established_on=dt.date(2019, 1, 1),
        region_id="140212",
        industry_id="5211",
        annual_revenue=700_000,
        organisation=org,
        operator_name="隔离某",
        operator_phone="13912345678",
    )
    owner = user_with_role(Role.ENTERPRISE_USER, organisation=org, username="other-enterprise")
    visit = s.visit_record(
        actor=staff, entity_id=entity.pk, visited_on=dt.date.today(), people="隔离测试", need_found=True
    )
    declaration = s.declaration_create(
        actor=owner,
        entity_id=entity.pk,
        amount=120_000,
        term_months=12,
        purpose="隔离测试用途",
        bank_codes=["jshb"],
        basic_criteria=CRITERIA,
        consent=True,
        submit=True,
    )
    material = material_upload(
        actor=owner,
        declaration_id=declaration.pk,
        uploaded_file=SimpleUploadedFile("营业执照.png", PNG, content_type="image/png"),
    )
    for actor in (staff, reviewer, lead):
        s.declaration_review(actor=actor, declaration_id=declaration.pk, decision="approve")
    batch = s.batch_signoff(actor=convener, declaration_ids=[declaration.pk])
    s.batch_push(actor=convener, batch_id=batch.pk)
    recommendation = Recommendation.objects.get(declaration=declaration)
    s.recommendation_decline(actor=bank_admin, recommendation_id=recommendation.pk, reason_code="high_debt")
    honor_proposal = honor_propose(
        actor=staff,
        entity=entity,
        action="grant",
        kind="quality",
        valid_until=dt.date(2030, 12, 31),
        reason="隔离测试用途",
    )
    # 建设银行's record of this customer (recorded by its 大同 branch): the 泽州 world's CCB staff
    # serve 晋城, so it is not theirs to read
    bank_relationship_record(
        actor=None,
        entity=entity,
        bank=Bank.objects.get(code="ccb").organisation_id,
        values={"months_borrowed": 40, "credit_line": 800_000},
    )
    renewal = renewal_record(
        actor=owner,
        entity_id=entity.pk,
        bank_code="ccb",
        amount=600_000,
        due_date=dt.date.today() + dt.timedelta(days=20),
        note="隔离测试用途",
    )
    entity_import = EntityImport.objects.create(
        uploaded_by=staff, organisation=task_force, region_prefix="140212", file_name="新荣名录.csv", content=b""
    )
    bank_report = bank_report_submit(
        actor=bank_admin,
        branch_id=datong.pk,
        period=dt.date.today().strftime("%Y-%m"),
        small_business_balance=1,
        all_loans_balance=2,
        credit_loan_balance=0,
        average_rate=4,
    )
    scheduled_report = ScheduledReport(
        organisation=county,
        region=county.region,
        week="2026-W01",
        period="2026",
        as_of=dt.datetime.now(dt.timezone.utc),
        filename=f"{OTHER_NAME}.xlsx",
    )
    scheduled_report.file.save("other.xlsx", ContentFile(OTHER_NAME.encode()), save=True)
    registrant = UserFactory(username="13912345670", first_name="隔离某")
    entity_claim = EntityClaim.objects.create(
        user=registrant,
        uscc=entity.uscc,
        operator_name="隔离某",
        phone="13912345670",
        entity=entity,
        region_id="140212",
    )
    return Other(
        entity=entity,
        declaration=declaration,
        recommendation=recommendation,
        batch=batch,
        material=material,
        visit=visit,
        notification=Notification.objects.filter(recipient=owner).first(),
        task_force=task_force,
        audit_event=AuditEvent.objects.filter(actor=staff).first(),
        entity_import=entity_import,
        bank_report=bank_report,
        scheduled_report=scheduled_report,
        api_token=api_token_issue(actor=bank_admin, name=f"{OTHER_NAME}系统")[0],
        honor_proposal=honor_proposal,
        user=staff,
        entity_claim=entity_claim,
        renewal=renewal,
    )
