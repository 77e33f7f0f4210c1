"""大走访 services (seed 004_b2811ebd7ee390f8.txt 二(四)): "各县区协调工作机制根据反馈名录及本地其他部门提供的
企业名单, 剔除非正常经营等不符合基本准入条件的经营主体, 不断完善走访目标企业清单. 县区专班依据走访目标企业
清单科学制定走访计划, … 组织委办局、乡镇、街道、村组、社区、工商联和银行机构 … 通过电话、走访等形式 11 月
20 日前对辖区内小微企业融资需求摸排一遍"."""

import datetime as dt
import io

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from campaigns import coverage, exports, selectors, services
from campaigns.factories import open_campaign
from campaigns.models import Assignment, CampaignState, Target, TargetSource
from matching import services as matching_services
from matching.forms import StaffDeclarationForm
from matching.models import BASIC_CRITERIA, Notification, Visit
from portal.errors import ApplicationError
from portal.factories import user_with_role
from portal.models import AuditEvent, Region, RegionLevel, Role

pytestmark = pytest.mark.django_db


def _refused(call, **kwargs) -> ApplicationError:
    with pytest.raises(ApplicationError) as caught:
        call(**kwargs)
    return caught.value


def _visit(actor, entity, **extra):
    return matching_services.visit_record(
        actor=actor, entity_id=entity.pk, visited_on=timezone.localdate(), people="刘干事", **extra
    )


def _csv(*lines: str) -> bytes:
    return ("\ufeff" + "\r\n".join(lines) + "\r\n").encode()


def test_市级协调机制开展活动_with_a_deadline_and_its_counties(world):
    """The city mechanism opens a campaign (a draft) for counties of its city and starts it; the
    covered county's task force is told. Another city's county is not found."""
    campaign = open_campaign(world, start=False)
    assert campaign.state == CampaignState.DRAFT and list(campaign.counties.values_list("code", flat=True)) == [
        "140525"
    ]
    refused = _refused(
        services.campaign_open,
        actor=world.users["city"],
        name="x",
        deadline=timezone.localdate(),
        county_codes=["140105"],  # 太原市小店区: not 晋城's
    )
    assert refused.code == "not_found"
    services.campaign_start(actor=world.users["city"], campaign_id=campaign.pk)
    campaign.refresh_from_db()
    assert campaign.state == CampaignState.RUNNING and campaign.started_at is not None
    assert Notification.objects.filter(recipient=world.users["staff"], title__contains="大走访活动已启动").exists()
    assert AuditEvent.objects.filter(action="campaign.start").count() == 1


def test_剔除非正常经营等不符合基本准入条件的经营主体_listed_with_the_reason(world, cw):
    """ "剔除非正常经营等不符合基本准入条件的经营主体": the revoked entity stays on the list as excluded,
    with its reason; the others are targets, each in its township."""
    rows = Target.objects.filter(campaign=cw.campaign).select_related("entity")
    excluded = [t for t in rows if t.excluded]
    assert [t.entity.name for t in excluded] == ["泽州县吊销测试店"]
    assert excluded[0].exclusion_reason == "非正常经营(登记状态: 吊销未注销)"
    targets = [t for t in rows if not t.excluded]
    assert {t.township_id for t in targets} == {"140525108", "140525109"}
    # and a second build adds nothing twice
    again = services.targets_build(actor=world.users["staff"], campaign_id=cw.campaign.pk)
    assert again.added == 0 and rows.count() == len(targets) + 1


def test_exclusion_reasons_cover_the_basic_standard(world):
    """信用状况良好 and 固定经营场所 of the 5 项基本标准, as far as the register knows them."""
    entity, _ = world.entity(with_user=False)
    assert services.exclusion_reason(entity) == ""
    entity.dishonest_debtor, entity.fixed_premises = True, False
    assert services.exclusion_reason(entity) == "信用状况不良(失信被执行人); 无固定经营场所"


def test_税务统计名单_import_good_rows_and_report_bad_rows_in_chinese(world, cw):
    """ "本地其他部门提供的企业名单": a 税务 list is imported the same way — each code resolved in the
    county's register; good rows imported, bad ones reported with line and reason."""
    new, _ = world.entity(name="税务名单中的店", with_user=False)
    outsider, _ = world.entity(name="阳城县的店", with_user=False)
    outsider.region_id = "140522"
    outsider.save(update_fields=["region"])
    listed = Target.objects.filter(campaign=cw.campaign, excluded=False).first().entity
    content = _csv(
        "统一社会信用代码,来源说明",
        f"{new.uscc},2026年10月纳税名单",
        "91140525MA0XXXXX1X",
        f"{outsider.uscc},",
        f"{listed.uscc},",
        "",
    )
    result = services.targets_import(
        actor=world.users["staff"], campaign_id=cw.campaign.pk, content=content, source=TargetSource.TAX
    )
    assert (result.rows, result.added, result.already) == (4, 1, 1)
    assert [(e["line"], e["message"]) for e in result.errors] == [
        (3, result.errors[0]["message"]),
        (4, "名录库中没有该经营主体, 或不在本县区"),
    ]
    assert result.errors[0]["message"].startswith("统一社会信用代码")
    target = Target.objects.get(campaign=cw.campaign, entity=new)
    assert target.source == TargetSource.TAX and target.source_label == "2026年10月纳税名单"


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "无法读取文件: 文件为空"),
        ("名称\r\n某店\r\n".encode(), "第 1 行须为表头, 含“统一社会信用代码”列(可选“来源说明”列)"),
        (
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1rest",
            "无法读取文件: 不支持旧版 Excel(.xls)格式, 请另存为 XLSX 或 CSV UTF-8",
        ),
    ],
)
def test_an_unreadable_list_is_refused_whole_in_chinese(world, cw, content, message):
    refused = _refused(
        services.targets_import,
        actor=world.users["staff"],
        campaign_id=cw.campaign.pk,
        content=content,
        source=TargetSource.STATISTICS,
    )
    assert refused.message == message and refused.field_errors == {"file": [message]}


def test_县区专班制定走访计划_assigns_to_a_township_visitor_who_is_told(world, cw):
    """ "县区专班依据走访目标企业清单科学制定走访计划": by township, to the 巴公镇 visitor."""
    visitor = cw.users["visitor"]
    made = services.assignments_make(
        actor=world.users["staff"], campaign_id=cw.campaign.pk, visitor_id=visitor.pk, township_code="140525108"
    )
    in_town = Target.objects.filter(campaign=cw.campaign, township_id="140525108", excluded=False)
    assert {a.target_id for a in made} == set(in_town.values_list("pk", flat=True)) and len(made) == 2
    assert all(a.due_on == cw.campaign.deadline for a in made)
    assert Notification.objects.filter(recipient=visitor, title__contains="新分配 2 户").count() == 1
    # a reassignment ends the previous one: one open assignment per target
    other = cw.users["federation_visitor"]
    services.assignments_make(
        actor=world.users["staff"], campaign_id=cw.campaign.pk, visitor_id=other.pk, target_ids=[made[0].target_id]
    )
    assert Assignment.objects.filter(target_id=made[0].target_id, ended_at__isnull=True).get().visitor == other


def test_an_excluded_target_and_a_visitor_of_another_county_are_refused(world, cw):
    excluded = Target.objects.get(campaign=cw.campaign, excluded=True)
    refused = _refused(
        services.assignments_make,
        actor=world.users["staff"],
        campaign_id=cw.campaign.pk,
        visitor_id=cw.users["visitor"].pk,
        target_ids=[excluded.pk],
    )
    assert refused.message.startswith("已剔除的主体不能分配走访")
    far = user_with_role(Role.VISITOR, region_code="140522")
    target = Target.objects.filter(campaign=cw.campaign, excluded=False).first()
    refused = _refused(
        services.assignments_make,
        actor=world.users["staff"],
        campaign_id=cw.campaign.pk,
        visitor_id=far.pk,
        target_ids=[target.pk],
    )
    assert refused.code == "not_found" and refused.field_errors == {"visitor_id": ["记录不存在或您无权操作"]}


def test_走访人员_records_visits_only_of_the_entities_assigned_to_him(world, cw):
    """ "组织委办局、乡镇、街道、村组、社区、工商联和银行机构 … 通过电话、走访等形式": the visitor records a
    phone visit of his assigned entity through the workflow's one visit service; another entity of
    the county is not found for him."""
    visitor = cw.users["visitor"]
    mine, other = Target.objects.filter(campaign=cw.campaign, excluded=False).order_by("pk")[:2]
    services.assignments_make(
        actor=world.users["staff"], campaign_id=cw.campaign.pk, visitor_id=visitor.pk, target_ids=[mine.pk]
    )
    visit = _visit(visitor, mine.entity, channel="phone")
    assert visit.channel == "phone" and visit.recorded_by == visitor and visit.task_force == world.task_force
    refused = _refused(_visit, actor=visitor, entity=other.entity)
    assert refused.code == "not_found"
    # and once the campaign ended he may no longer visit it
    services.campaign_end(actor=world.users["city"], campaign_id=cw.campaign.pk)
    assert _refused(_visit, actor=visitor, entity=mine.entity).code == "not_found"


def test_银行机构_a_bank_managers_visit_of_his_assigned_entity_counts(world, cw):
    """A bank's account manager given a visit records it; the target counts as visited."""
    manager = world.users["boc_manager"]
    target = Target.objects.filter(campaign=cw.campaign, excluded=False).first()
    services.assignments_make(
        actor=world.users["staff"], campaign_id=cw.campaign.pk, visitor_id=manager.pk, target_ids=[target.pk]
    )
    _visit(manager, target.entity, need_found=True, need_amount=200_000, loan_purpose="购置设备")
    result = coverage.compute(Target.objects.filter(campaign=cw.campaign))
    assert (result.total.visited, result.total.with_need) == (1, 1)
    assert result.by_visitor[manager.pk].visited == 1


def test_对有明确融资需求的企业开展重点走访_starts_a_declaration_prefilled(world, cw):
    """ "对有明确融资需求的企业开展重点走访, 全面了解企业基本情况、经营状况、融资需求、真实贷款用途等情况,
    按照 … 5 项基本标准, 指导企业填报信息": the visit's record pre-fills the declaration the task force
    files through the existing declaration service, naming the visit."""
    target = Target.objects.filter(campaign=cw.campaign, excluded=False).first()
    criteria = {key: {"met": True, "evidence": f"核实{n}"} for n, key in enumerate(BASIC_CRITERIA)}
    visit = _visit(
        world.users["staff"],
        target.entity,
        need_found=True,
        basic_situation="个体经营 5 年",
        operation="月营业额 8 万元",
        need_amount=300_000,
        need_term_months=24,
        loan_purpose="进货备货",
        basic_criteria=criteria,
    )
    initial = StaffDeclarationForm.initial_from_visit(visit)
    assert (initial["amount_wan"], initial["term_months"], initial["purpose"], initial["visit_id"]) == (
        30,
        24,
        "进货备货",
        visit.pk,
    )
    key = next(iter(BASIC_CRITERIA))
    assert initial[f"criteria_{key}"] is True and initial[f"evidence_{key}"] == "核实0"
    declaration = matching_services.declaration_create(
        actor=world.users["staff"],
        entity_id=target.entity_id,
        amount=visit.need_amount,
        term_months=visit.need_term_months,
        purpose=visit.loan_purpose,
        bank_codes=["boc"],
        basic_criteria=criteria,
        visit_id=visit.pk,
    )
    assert declaration.visit == visit
    assert coverage.compute(Target.objects.filter(campaign=cw.campaign)).total.declared == 1


def test_coverage_is_counted_by_hand_as_of_a_past_moment(world, cw):
    """Coverage per county, township and visitor, as of a moment: what was recorded by then."""
    visitor = cw.users["visitor"]
    a, b, c = Target.objects.filter(campaign=cw.campaign, excluded=False).order_by("pk")
    services.assignments_make(
        actor=world.users["staff"], campaign_id=cw.campaign.pk, visitor_id=visitor.pk, target_ids=[a.pk, b.pk]
    )
    _visit(visitor, a.entity)
    before_second = timezone.now()
    _visit(visitor, b.entity, need_found=True)
    now = coverage.compute(Target.objects.filter(campaign=cw.campaign))
    # by hand: 3 targets (the revoked one excluded), 2 assigned, 2 visited, 1 with a need
    assert (now.total.targets, now.total.excluded, now.total.assigned, now.total.visited, now.total.with_need) == (
        3,
        1,
        2,
        2,
        1,
    )
    assert now.total.rate == 66.7 and now.by_county["140525"].visited == 2
    assert now.by_township[("140525", a.township_id)].visited == (1 if a.township_id != b.township_id else 2)
    assert now.by_visitor[visitor.pk].targets == 2 and now.by_visitor[None].targets == 1
    then = coverage.compute(Target.objects.filter(campaign=cw.campaign), as_of=before_second)
    assert (then.total.visited, then.total.with_need) == (1, 0)
    # before the campaign started nothing was a target yet
    early = coverage.compute(
        Target.objects.filter(campaign=cw.campaign), as_of=cw.campaign.started_at - dt.timedelta(1)
    )
    assert early.total.targets == 0


def test_days_left_are_calendar_days_to_the_deadline(world):
    """The notice names a date ("11 月 20 日前"): days left are calendar days, the deadline day counted."""
    campaign = open_campaign(world, deadline=timezone.localdate() + dt.timedelta(days=3))
    assert campaign.days_left() == 3
    assert campaign.days_left(today=campaign.deadline + dt.timedelta(days=2)) == -2


def test_a_past_due_date_or_an_uncovered_county_is_refused(world, cw):
    target = Target.objects.filter(campaign=cw.campaign, excluded=False).first()
    refused = _refused(
        services.assignments_make,
        actor=world.users["staff"],
        campaign_id=cw.campaign.pk,
        visitor_id=cw.users["visitor"].pk,
        target_ids=[target.pk],
        due_on=timezone.localdate() - dt.timedelta(days=1),
    )
    assert "due_on" in refused.field_errors
    other_county = user_with_role(Role.TASK_FORCE_STAFF, region_code="140522")
    assert _refused(services.targets_build, actor=other_county, campaign_id=cw.campaign.pk).code == "not_found"
    assert Visit.objects.count() == 0


def test_a_covered_county_whose_task_force_built_no_list_is_shown_to_the_city(world):
    """Given a running campaign over 泽州县 (its list built) and 高平市 (no task force acted yet),
    when the city reads the coverage, then 高平市 has a row of zeros and is named as 未生成清单 (it
    is not left out, which would make the city's figures look complete); 泽州县's own staff see
    only their county; a draft campaign names none; the xlsx marks the county."""
    Region.objects.get_or_create(
        code="140581", defaults={"name": "高平市", "level": RegionLevel.COUNTY, "parent_id": "140500"}
    )
    entity, _ = world.entity(name="泽州县清单测试店", with_user=False)
    campaign = services.campaign_open(
        actor=world.users["city"],
        name="晋城市大走访",
        deadline=timezone.localdate() + dt.timedelta(days=20),
        county_codes=["140525", "140581"],
    )
    draft = selectors.campaign_coverage(user=world.users["city"], campaign=campaign)
    assert draft.counties_without_list == []  # not started: nothing is due yet

    services.campaign_start(actor=world.users["city"], campaign_id=campaign.pk)
    services.targets_build(actor=world.users["staff"], campaign_id=campaign.pk)
    campaign.refresh_from_db()

    city = selectors.campaign_coverage(user=world.users["city"], campaign=campaign)
    assert sorted(city.by_county) == ["140525", "140581"]
    assert city.by_county["140525"].targets >= 1 and city.by_county["140581"].targets == 0
    assert city.counties_without_list == ["140581"]
    assert city.total.targets == city.by_county["140525"].targets  # the empty row adds nothing

    county = selectors.campaign_coverage(user=world.users["staff"], campaign=campaign)
    assert sorted(county.by_county) == ["140525"] and county.counties_without_list == []

    book = load_workbook(io.BytesIO(exports.coverage_file(campaign, city).content))
    rows = list(book["走访覆盖情况"].iter_rows(values_only=True))
    assert next(r for r in rows if r[0] == "高平市")[:3] == ("高平市", "未生成清单", 0)
    assert entity.pk in set(campaign.targets.values_list("entity_id", flat=True))


def test_the_campaign_page_and_the_api_name_the_counties_without_a_list(world):
    """Given a running campaign over two counties, one with its list built, when the city opens
    the campaign page and the coverage API, then both name 高平市 as 未生成清单."""
    from django.test import Client
    from rest_framework.test import APIClient

    Region.objects.get_or_create(
        code="140581", defaults={"name": "高平市", "level": RegionLevel.COUNTY, "parent_id": "140500"}
    )
    world.entity(name="泽州县清单测试店", with_user=False)
    campaign = services.campaign_open(
        actor=world.users["city"],
        name="晋城市大走访",
        deadline=timezone.localdate() + dt.timedelta(days=20),
        county_codes=["140525", "140581"],
    )
    services.campaign_start(actor=world.users["city"], campaign_id=campaign.pk)
    services.targets_build(actor=world.users["staff"], campaign_id=campaign.pk)

    page = Client()
    page.force_login(world.users["city"])
    html = page.get(f"/campaigns/{campaign.pk}/").content.decode()
    assert "1 个县区尚未生成走访目标企业清单: 高平市" in html
    api = APIClient()
    api.force_authenticate(world.users["city"])
    answer = api.get(f"/api/v1/campaigns/{campaign.pk}/coverage/")
    assert answer.status_code == 200 and answer.json()["counties_without_list"] == ["140581"]
