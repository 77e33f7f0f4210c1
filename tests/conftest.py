"""Fixtures shared by the cross-app tests of this directory: the 泽州 world with a pushed
declaration, and another county's data for the tenant-isolation matrices."""

import datetime as dt
import re
from dataclasses import dataclass

import pytest
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile

from campaigns import services as campaign_services
from campaigns.factories import open_campaign
from campaigns.models import Target
from coordination.factories import departments, open_problem
from coordination.services import problem_open
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
from products.models import Bank, BankBranch, BranchLevel, LoanProduct
from reporting.models import ScheduledReport
from reporting.services import bank_report_submit
from reporting.supervision.services import supervision_issue

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
    supervision_order: object  # 大同's 督办单 to its 晋商银行 branch about the declined lead

    def secrets(self) -> list[str]:
        """What of its data no user of 泽州 or 晋城 may ever see."""
        return [OTHER_NAME, self.entity.uscc, "隔离测试用途", "13912345678", "营业执照.png"]


@pytest.fixture
def other_county(world) -> Other:
    """Another city's task force, enterprise and bank branch (新荣区, 大同), with a pushed,
    declined lead, a material, a visit, a notification, an import, a bank report, a weekly
    report, an API token, a pending 名特优新 proposal, 建设银行's record of the enterprise's
    borrowing, the enterprise's renewal need at 建设银行, a registrant's pending claim and the 大同
    city mechanism's 督办单 to the lead's branch: what the
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
    other_city = user_with_role(Role.CITY_REGULATOR, organisation=city, username="other-city")
    supervision_order = supervision_issue(
        actor=other_city,
        target_id=recommendation.branch.organisation_id,
        subject="隔离测试用途的督办",
        demand="隔离测试用途",
        due_working_days=3,
        lead_ids=[recommendation.pk],
    )
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
        supervision_order=supervision_order,
    )


# --- Chinese only: the English check of the role journeys ------------------------------------------

# Latin words a page may show: codes and units, never words of the interface. Every other Latin
# word must be a code the data holds (a bank's or a product's code, a user name, an e-mail).
LATIN_ALLOWED = {
    "api",  # API 令牌, API 文档: the name of the interface for other systems
    "ip",  # the audit log's client address column
    "kb",  # file size units
    "mb",
    "xlsx",  # file formats named on export links and upload fields
    "csv",
    "pdf",
    "png",
    "jpg",
    "jpeg",
}
_VISIBLE_TEXT_JS = """() => {
  const parts = [document.title, document.body.innerText];
  const attr = (sel, name) => document.querySelectorAll(sel).forEach(e => parts.push(e.getAttribute(name) || ''));
  attr('[placeholder]', 'placeholder');
  attr('[aria-label]', 'aria-label');
  attr('[title]', 'title');
  attr('img[alt]', 'alt');
  document.querySelectorAll('input[type=submit], input[type=button], input[type=reset]')
    .forEach(e => parts.push(e.value));
  document.querySelectorAll('option').forEach(e => parts.push(e.textContent));
  let text = parts.join('\\n');
  // what the page marks as not to be translated: a generated password, a key
  document.querySelectorAll('[translate=no]').forEach(e => {
    if (e.innerText.trim()) text = text.split(e.innerText.trim()).join(' ');
  });
  return text;
}"""
_LATIN_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@/\-]*")


def english_words(text: str, codes: set[str]) -> list[str]:
    """The Latin words of `text` outside LATIN_ALLOWED and the data's `codes`: a token with a
    digit is a code (USCC, date, amount); a single letter is part of a product name (税e贷)."""
    found = []
    for token in _LATIN_TOKEN.findall(text):
        token = token.strip(".-/")
        if any(c.isdigit() for c in token) or "@" in token or token.lower() in codes:
            continue
        for word in re.split(r"[_./\-]", token):
            if len(word) >= 2 and word.lower() not in LATIN_ALLOWED and word.lower() not in codes:
                found.append(word if word == token else f"{word} ({token})")
    return found


@pytest.fixture
def chinese_only(page):
    """`chinese_only(page)` reads the page's visible text (body, title, placeholders, aria-labels,
    titles, alt texts, button values, options; not what is marked translate="no", a generated
    password) and records every Latin word that is neither in
    LATIN_ALLOWED nor a code of the data (bank and product codes, user names). At the end the test
    fails listing them by page, and also if a page was loaded that the test never checked."""
    loaded: list[str] = []
    checked: set[str] = set()
    failures: list[str] = []
    page.on("load", lambda p: loaded.append(p.url))

    def words_on(current) -> list[str]:
        current.wait_for_load_state()
        codes = {c.lower() for c in Bank.objects.values_list("code", flat=True)}
        codes |= {c.lower() for c in LoanProduct.objects.values_list("code", flat=True)}
        codes |= {c.lower() for c in get_user_model().objects.values_list("username", flat=True)}
        return list(dict.fromkeys(english_words(current.evaluate(_VISIBLE_TEXT_JS), codes)))

    def check(current=None):
        current = current or page
        words = words_on(current)
        if words:
            failures.append(f"{current.url}: {', '.join(words)}")
        checked.add(current.url)

    check.words_on = words_on  # what the check would report, without failing the test
    yield check
    unchecked = [url for url in dict.fromkeys(loaded) if url not in checked and url != "about:blank"]
    assert not failures, "English on the pages:\n" + "\n".join(failures)
    assert not unchecked, "pages loaded but never checked for English:\n" + "\n".join(unchecked)


@pytest.fixture
def problems_both_sides(pushed_world, other_county):
    """批分单 on both sides of the tenant boundary: 泽州's departments with a department user in
    `world.users["department"]` and a problem of the pushed declaration's entity routed to its
    自然资源局 (`world.problem`, `world.department`); 新荣区's 自然资源局 (`other.department`) with a
    problem of the other county's entity (`other.problem`), which no user of 泽州 or 晋城 reaches."""
    world, other = pushed_world, other_county
    found = departments(world)
    world.users["department"] = found.users["department"]
    world.department = found.county
    world.problem = open_problem(world, found, entity=world.declaration.entity)
    other.department = OrganisationFactory(
        kind=OrganisationKind.DEPARTMENT,
        region=region("140212"),
        parent=other.task_force.parent,
        name="新荣区自然资源局",
    )
    user_with_role(Role.DEPARTMENT_STAFF, organisation=other.department, username="other-department")
    other.problem = problem_open(
        actor=other.user,
        entity_id=other.entity.pk,
        kind="permit",
        source="visit",
        description="隔离测试用途的批分单",
        department_id=other.department.pk,
        due_working_days=5,
    )
    # 大走访 campaigns on both sides: 晋城's covering 泽州 (the pushed entity given to a 泽州 visitor,
    # `world.users["visitor"]`), 大同's covering 新荣区 (the other entity given to a 新荣区 visitor)
    world.campaign = open_campaign(world)
    entity = world.declaration.entity
    world.target = Target.objects.create(campaign=world.campaign, entity=entity, region_id=entity.region_id)
    world.users["visitor"] = user_with_role(Role.VISITOR, region_code="140525", username="matrix-visitor")
    campaign_services.assignments_make(
        actor=world.users["staff"],
        campaign_id=world.campaign.pk,
        visitor_id=world.users["visitor"].pk,
        target_ids=[world.target.pk],
    )
    other_city = get_user_model().objects.get(username="other-city")
    other.campaign = campaign_services.campaign_open(
        actor=other_city, name="大同走访", deadline=dt.date.today() + dt.timedelta(days=20), county_codes=["140212"]
    )
    campaign_services.campaign_start(actor=other_city, campaign_id=other.campaign.pk)
    other.target = Target.objects.create(campaign=other.campaign, entity=other.entity, region_id="140212")
    other.visitor = user_with_role(Role.VISITOR, region_code="140212", username="other-visitor")
    other.assignment = campaign_services.assignments_make(
        actor=other.user, campaign_id=other.campaign.pk, visitor_id=other.visitor.pk, target_ids=[other.target.pk]
    )[0]
    return world, other
