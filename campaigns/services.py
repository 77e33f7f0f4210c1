"""Every write of a 大走访 campaign (seed 004 二(四)). Each service resolves its inputs through
restrict() for the action it performs, checks the policy table (campaigns/policy.py), records the
step on the campaign's timeline, tells the people concerned (campaigns/notices.py) and writes an
audit event, in one transaction. Visits are not written here: they are the workflow's
(matching.services.visit_record), the one visit path."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from campaigns import notices
from campaigns.models import Assignment, Campaign, CampaignEvent, CampaignState, Target, TargetSource
from campaigns.policy import TABLE, VISITOR_ROLES, Action, county_of
from entities.models import MarketEntity, RegisterStatus
from entities.register_file import Bad, RegisterFileError, parse_uscc, read_table
from portal.errors import ApplicationError
from portal.models import Membership, Region, RegionLevel
from portal.services import audit_record
from portal.tenancy import VIEW, VISIT_ASSIGN, resolve, resolve_many, restrict, scope_for

NAME_MAX = 100
TEXT_MAX = 2000
MAX_IMPORT_ROWS = 20000
MAX_ASSIGN = 2000
USCC_HEADER = "统一社会信用代码"
LABEL_HEADER = "来源说明"


def exclusion_reason(entity: MarketEntity) -> str:
    """Why the entity is left out of the 走访目标企业清单: "剔除非正常经营等不符合基本准入条件的经营主体"
    — not in normal operation (its register status), or failing what the register knows of the
    basic standard (信用状况良好: 失信被执行人, 失信联合惩戒对象; 固定经营场所). "" = a target."""
    reasons = []
    if entity.register_status != RegisterStatus.ACTIVE:
        reasons.append(f"非正常经营(登记状态: {entity.get_register_status_display()})")
    if entity.dishonest_debtor:
        reasons.append("信用状况不良(失信被执行人)")
    if entity.joint_punishment:
        reasons.append("信用状况不良(失信联合惩戒对象)")
    if entity.fixed_premises is False:
        reasons.append("无固定经营场所")
    return "; ".join(reasons)


def _event(campaign: Campaign, kind: str, actor, note: str = "", region_id: str | None = None) -> None:
    CampaignEvent.objects.create(
        campaign=campaign,
        kind=kind,
        actor=actor if actor is not None and actor.is_authenticated else None,
        region_id=region_id,
        note=note[:TEXT_MAX],
    )


def _name(value) -> str:
    name = (value or "").strip() if isinstance(value, str) else ""
    if not name:
        raise ApplicationError("请填写活动名称", field_errors={"name": ["请填写活动名称"]})
    if len(name) > NAME_MAX:
        raise ApplicationError("活动名称过长", field_errors={"name": [f"活动名称不能超过 {NAME_MAX} 字"]})
    return name


def _deadline(value) -> dt.date:
    if not isinstance(value, dt.date):
        raise ApplicationError("请填写摸排截止日期", field_errors={"deadline": ["请填写摸排截止日期(YYYY-MM-DD)"]})
    if value < timezone.localdate():
        raise ApplicationError("截止日期不能早于今天", field_errors={"deadline": ["截止日期不能早于今天"]})
    return value


def _counties(actor, codes) -> list[Region]:
    """The counties of the actor's city the campaign covers (another city's are not found)."""
    scope = scope_for(actor)
    codes = [str(c) for c in (codes or []) if str(c)]
    if not codes:
        raise ApplicationError("请选择覆盖的县区", field_errors={"county_codes": ["请至少选择一个县区"]})
    counties = Region.objects.filter(level=RegionLevel.COUNTY, code__startswith=scope.region_prefix or "-")
    return resolve_many(counties, actor, VIEW, ids=codes, key="code", field="county_codes")


@transaction.atomic
def campaign_open(*, actor, name, deadline, county_codes, note: str = "") -> Campaign:
    """开展大走访: the city mechanism opens a campaign (a draft) for counties of its city."""
    TABLE.require(Action.OPEN, actor)
    scope = scope_for(actor)
    counties = _counties(actor, county_codes)
    campaign = Campaign.objects.create(
        name=_name(name),
        region_id=scope.region_code,
        deadline=_deadline(deadline),
        note=(note or "")[:TEXT_MAX],
        created_by=actor,
    )
    campaign.counties.set(counties)
    _event(campaign, "opened", actor, "覆盖: " + "、".join(c.name for c in counties))
    audit_record(actor=actor, action=Action.OPEN.value, obj=campaign, after={"counties": [c.code for c in counties]})
    return campaign


def _version(value, campaign: Campaign) -> None:
    """The version the edit was made from (None: the API client did not say) must be the current one."""
    if value is None or value == "":
        return
    try:
        made_from = int(value)
    except (TypeError, ValueError):
        made_from = -1
    if made_from != campaign.version:
        message = "该活动已被他人修改, 请刷新页面查看最新内容后重新修改"
        raise ApplicationError(message, code="conflict", field_errors={"version": [message]})


def _follow_deadline(campaign: Campaign, old: dt.date) -> int:
    """The open assignments that followed the old deadline (due on it, or after the new one) are
    due on the new one; their overdue claim is released, so the scan reads the new date."""
    moved = (
        Assignment.objects.filter(campaign=campaign, ended_at__isnull=True)
        .filter(Q(due_on=old) | Q(due_on__gt=campaign.deadline))
        .exclude(due_on=campaign.deadline)
    )
    return moved.update(due_on=campaign.deadline, overdue_notified_at=None)


@transaction.atomic
def campaign_edit(*, actor, campaign_id, name=None, deadline=None, note=None, version=None) -> Campaign:
    """修改活动: the city changes a draft or running campaign's name, deadline or requirements (a
    field left out, None, stays). A draft whose deadline has passed is edited before it starts; a
    running campaign's new deadline is followed by the open assignments that were due on the old one
    (or after the new one). `version` is the one the editor saw: an edit made from an older one is
    refused (409), the other person's edit stays. The campaign is locked through the restriction."""
    campaign = TABLE.acting_on(Action.EDIT, actor, campaign_id)
    _version(version, campaign)
    before = {"name": campaign.name, "deadline": campaign.deadline.isoformat(), "note": campaign.note}
    old_deadline = campaign.deadline
    if name is not None:
        campaign.name = _name(name)
    if deadline is not None and deadline != campaign.deadline:
        campaign.deadline = _deadline(deadline)
    if note is not None:
        campaign.note = (note or "")[:TEXT_MAX]
    moved = _follow_deadline(campaign, old_deadline) if campaign.deadline != old_deadline else 0
    campaign.version += 1
    campaign.save(update_fields=["name", "deadline", "note", "version"])
    changes = []
    if campaign.name != before["name"]:
        changes.append(f"名称 {campaign.name}")
    if campaign.deadline != old_deadline:
        changes.append(f"截止日期 {old_deadline:%Y-%m-%d} → {campaign.deadline:%Y-%m-%d}")
        if moved:
            changes.append(f"{moved} 户走访期限随之调整")
    if campaign.note != before["note"]:
        changes.append("活动要求")
    _event(campaign, "updated", actor, "; ".join(changes) or "未作改动")
    audit_record(
        actor=actor,
        action=Action.EDIT.value,
        obj=campaign,
        before=before,
        after={"name": campaign.name, "deadline": campaign.deadline.isoformat(), "note": campaign.note},
    )
    return campaign


@transaction.atomic
def campaign_start(*, actor, campaign_id) -> Campaign:
    campaign = TABLE.acting_on(Action.START, actor, campaign_id)
    if campaign.deadline < timezone.localdate():
        raise ApplicationError("截止日期已过, 请先修改截止日期", field_errors={"deadline": ["截止日期已过"]})
    campaign.state, campaign.started_at = CampaignState.RUNNING, timezone.now()
    campaign.save(update_fields=["state", "started_at"])
    _event(campaign, "started", actor)
    notices.campaign_started(campaign)
    audit_record(actor=actor, action=Action.START.value, obj=campaign, after={"state": campaign.state})
    return campaign


@transaction.atomic
def campaign_end(*, actor, campaign_id) -> Campaign:
    campaign = TABLE.acting_on(Action.END, actor, campaign_id)
    campaign.state, campaign.ended_at = CampaignState.ENDED, timezone.now()
    campaign.save(update_fields=["state", "ended_at"])
    _event(campaign, "ended", actor)
    audit_record(actor=actor, action=Action.END.value, obj=campaign, after={"state": campaign.state})
    return campaign


def _new_target(campaign: Campaign, entity: MarketEntity, actor, source: str, label: str = "") -> Target:
    reason = exclusion_reason(entity)
    return Target(
        campaign=campaign,
        entity=entity,
        region_id=entity.region_id,
        township_id=entity.township_id,
        source=source,
        source_label=label[:64],
        excluded=bool(reason),
        exclusion_reason=reason[:255],
        added_by=actor,
    )


@dataclass
class BuildResult:
    added: int = 0
    excluded: int = 0
    already: int = 0


@transaction.atomic
def targets_build(*, actor, campaign_id) -> BuildResult:
    """生成走访目标企业清单: every entity of the actor's county in the register (名录库) that is not
    yet on the list; those failing the basic standard are listed as excluded, with the reason."""
    campaign = TABLE.acting_on(Action.BUILD_TARGETS, actor, campaign_id)
    county = county_of(scope_for(actor))
    listed = Target.objects.filter(campaign=campaign).values("entity_id")
    entities = restrict(MarketEntity.objects.filter(region_id=county), actor, VIEW).exclude(pk__in=listed)
    result = BuildResult(already=Target.objects.filter(campaign=campaign, region_id=county).count())
    batch = []
    for entity in entities.order_by("pk").iterator(chunk_size=2000):
        target = _new_target(campaign, entity, actor, TargetSource.REGISTER)
        result.added += 1
        result.excluded += target.excluded
        batch.append(target)
        if len(batch) >= 2000:
            Target.objects.bulk_create(batch)
            batch = []
    Target.objects.bulk_create(batch)
    note = f"新增 {result.added} 户, 其中剔除 {result.excluded} 户"
    _event(campaign, "targets_built", actor, note, region_id=county)
    audit_record(actor=actor, action=Action.BUILD_TARGETS.value, obj=campaign, after={"county": county, **vars(result)})
    return result


@dataclass
class ImportResult:
    rows: int = 0
    added: int = 0
    excluded: int = 0
    already: int = 0
    errors: list[dict] = field(default_factory=list)  # {"line", "uscc", "message"}


@transaction.atomic
def targets_import(*, actor, campaign_id, content: bytes, source: str, source_label: str = "") -> ImportResult:
    """导入部门名单 (税务、统计 or another department's list): an xlsx or csv whose first row names
    the columns 统一社会信用代码 (required) and 来源说明 (optional). Each code is resolved through
    restrict() like the register import: an unknown code, or one of another county, is a bad row
    (its line and the reason, in Chinese). The good rows are imported, the bad ones reported
    (not all-or-nothing: a department's list always holds a few stale codes)."""
    campaign = TABLE.acting_on(Action.IMPORT_TARGETS, actor, campaign_id)
    if source not in TargetSource.values or source == TargetSource.REGISTER:
        raise ApplicationError("请选择名单来源", field_errors={"source": ["请选择名单来源(税务、统计或其他部门)"]})
    county = county_of(scope_for(actor))
    try:
        rows = list(read_table(content or b""))
    except RegisterFileError as error:
        raise ApplicationError(str(error), field_errors={"file": [str(error)]}) from None
    if not rows:
        raise ApplicationError("文件没有内容", field_errors={"file": ["文件没有内容"]})
    header = [c.strip() for c in rows[0][1]]
    if USCC_HEADER not in header:
        message = f"第 1 行须为表头, 含“{USCC_HEADER}”列(可选“{LABEL_HEADER}”列)"
        raise ApplicationError(message, field_errors={"file": [message]})
    if len(rows) - 1 > MAX_IMPORT_ROWS:
        message = f"一次最多导入 {MAX_IMPORT_ROWS} 行, 请分批导入"
        raise ApplicationError(message, field_errors={"file": [message]})
    uscc_at, label_at = header.index(USCC_HEADER), header.index(LABEL_HEADER) if LABEL_HEADER in header else None
    result = ImportResult()
    listed = set(Target.objects.filter(campaign=campaign).values_list("entity__uscc", flat=True))
    visible = restrict(MarketEntity.objects.filter(region_id=county), actor, VIEW)
    new = []
    for line, cells in rows[1:]:
        text = cells[uscc_at].strip() if uscc_at < len(cells) else ""
        if not any(c.strip() for c in cells):
            continue
        result.rows += 1
        try:
            uscc = parse_uscc(text)
        except Bad as bad:
            result.errors.append({"line": line, "uscc": text[:40], "message": f"统一社会信用代码{bad}"})
            continue
        if uscc in listed:
            result.already += 1
            continue
        entity = visible.filter(uscc=uscc).first()
        if entity is None:
            message = "名录库中没有该经营主体, 或不在本县区"
            result.errors.append({"line": line, "uscc": uscc, "message": message})
            continue
        label = (cells[label_at].strip() if label_at is not None and label_at < len(cells) else "") or source_label
        target = _new_target(campaign, entity, actor, source, label or "")
        listed.add(uscc)
        new.append(target)
        result.added += 1
        result.excluded += target.excluded
    Target.objects.bulk_create(new)
    note = (
        f"{TargetSource(source).label}: 导入 {result.added} 户(剔除 {result.excluded} 户), 错误 {len(result.errors)} 行"
    )
    _event(campaign, "targets_imported", actor, note, region_id=county)
    audit_record(
        actor=actor,
        action=Action.IMPORT_TARGETS.value,
        obj=campaign,
        after={
            "county": county,
            "source": source,
            "rows": result.rows,
            "added": result.added,
            "errors": len(result.errors),
        },
    )
    return result


def visitor_candidates(actor):
    """The users the actor may give visits to: holders of a visiting role in an organisation of
    his county (乡镇/街道, 村组/社区, 工商联, 委办局, the task force) or an account manager of a
    bank branch of his city (portal.tenancy VISIT_ASSIGN)."""
    return restrict(get_user_model().objects.filter(is_active=True), actor, VISIT_ASSIGN).order_by("pk")


def _visitor_membership(user) -> Membership:
    return (
        Membership.objects.select_related("organisation")
        .filter(user=user, role__in=sorted(VISITOR_ROLES))
        .order_by("-is_primary", "id")
        .first()
    )


def _due_on(campaign: Campaign, due_on) -> dt.date:
    if due_on in (None, ""):
        return campaign.deadline
    if not isinstance(due_on, dt.date):
        raise ApplicationError("走访期限格式有误", field_errors={"due_on": ["走访期限须为日期(YYYY-MM-DD)"]})
    if due_on < timezone.localdate() or due_on > campaign.deadline:
        message = f"走访期限须在今天至活动截止日期({campaign.deadline:%Y-%m-%d})之间"
        raise ApplicationError(message, field_errors={"due_on": [message]})
    return due_on


@transaction.atomic
def assignments_make(
    *, actor, campaign_id, visitor_id, target_ids=None, township_code: str | None = None, due_on=None
) -> list[Assignment]:
    """走访计划: give targets to a visitor — the ones picked (`target_ids`), or every not excluded,
    not yet visited target of a township (`township_code`). A target given before goes to the new
    visitor (the previous assignment ends). The visitor is told of his new visits."""
    campaign = TABLE.acting_on(Action.ASSIGN, actor, campaign_id)
    county = county_of(scope_for(actor))
    visitor = resolve(visitor_candidates(actor), actor, VISIT_ASSIGN, pk=visitor_id, field="visitor_id")
    membership = _visitor_membership(visitor)
    if membership is None:
        raise ApplicationError(
            "记录不存在或您无权操作", code="not_found", field_errors={"visitor_id": ["记录不存在或您无权操作"]}
        )
    due = _due_on(campaign, due_on)
    own = Target.objects.filter(campaign=campaign, region_id=county)
    if target_ids:
        if len(target_ids) > MAX_ASSIGN:
            message = f"一次最多分配 {MAX_ASSIGN} 户"
            raise ApplicationError(message, field_errors={"target_ids": [message]})
        targets = resolve_many(own, actor, "change", ids=target_ids, field="target_ids", lock=True)
    elif township_code:
        township = resolve(
            Region.objects.filter(level=RegionLevel.TOWNSHIP, parent_id=county),
            actor,
            VIEW,
            code=str(township_code),
            field="township_code",
        )
        targets = list(restrict(own.filter(township=township), actor, "change").select_for_update(of=("self",)))
    else:
        raise ApplicationError("请选择目标企业或乡镇(街道)", field_errors={"target_ids": ["请选择要分配的目标企业"]})
    excluded = [t.entity.name for t in targets if t.excluded]
    if excluded:
        if target_ids:
            message = f"已剔除的主体不能分配走访: {'、'.join(excluded[:5])}"
            raise ApplicationError(message, field_errors={"target_ids": [message]})
        targets = [t for t in targets if not t.excluded]
    if not targets:
        raise ApplicationError("没有可分配的目标企业", field_errors={"target_ids": ["没有可分配的目标企业"]})
    now = timezone.now()
    Assignment.objects.filter(target__in=targets, ended_at__isnull=True).update(ended_at=now)
    made = Assignment.objects.bulk_create(
        [
            Assignment(
                campaign=campaign,
                target=t,
                visitor=visitor,
                visitor_organisation=membership.organisation,
                due_on=due,
                assigned_by=actor,
                assigned_at=now,
            )
            for t in targets
        ]
    )
    who = f"{visitor.get_full_name() or visitor.username}({membership.organisation.name})"
    note = f"{len(made)} 户 → {who}, 期限 {due:%Y-%m-%d}"
    _event(campaign, "assigned", actor, note, region_id=county)
    notices.assigned(campaign, visitor, len(made), due, key=f"{int(now.timestamp() * 1000)}")
    audit_record(
        actor=actor,
        action=Action.ASSIGN.value,
        obj=campaign,
        after={"visitor": visitor.pk, "targets": [t.pk for t in targets][:200], "count": len(made), "due_on": str(due)},
    )
    return made


# the action of each service (pages and the API dispatch on it)
# the services of the rows acting on a campaign, with the inputs each takes (the pages and the API
# dispatch on them, portal.policy_resources); the county's import and visit plan take a file and a
# plan, through their own forms and endpoints
SERVICES = {
    Action.EDIT: (campaign_edit, ("name", "deadline", "note", "version")),
    Action.START: (campaign_start, ()),
    Action.END: (campaign_end, ()),
    Action.BUILD_TARGETS: (targets_build, ()),
}
