"""The application materials of a contacted lead (seed 004 五(六): the bank decides within 30
days of complete materials; issue 15 item 17: that clock cannot be held back by the bank).

Lifecycle (Recommendation.materials_stage, the workflow table's materials rows):
1. after contact the bank lists the materials it needs — the product's list (the catalogue's
   `materials`), or a general list where the product names none, edited per lead
   (`recommendation_materials_list`, 列明所需材料);
2. the enterprise, or task-force staff on its behalf, uploads them to the declaration
   (matching.materials.material_upload, naming the item each file answers) and declares them
   submitted (`recommendation_materials_submit`, 材料已提交): the bank's 5-working-day
   materials clock starts. While the bank has listed nothing, the enterprise submits against
   the product's published list (which becomes the lead's list): a bank that never lists
   cannot hold the clock back either;
3. the bank confirms them complete (`recommendation_materials_complete`, 材料已收齐: the 30-day
   decision clock starts) or names what is missing (`recommendation_materials_supplement`,
   补充材料: back to the enterprise with the list, and step 2 again);
4. if the bank does neither within those 5 working days, the deadline scan starts the decision
   clock at their end (matching/clocks.py, 自动起算), and the ledger shows it.
The bank may confirm complete at any point after contact (e.g. on materials it collected and
uploaded itself, matching.materials.lead_material_upload). Each step notifies the other party.

Two people on one lead: each service locks the lead (workflow.acting_on) and checks its
state and materials stage; a page also sends the `materials_version` it showed, so an action
taken on what someone else has just changed is refused with a clear message, never applied
to a list its author did not see."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from matching import notifications, workflow
from matching.models import ClockKind, ClockState, DeadlineClock, MaterialsStage, Recommendation
from matching.workflow import Action
from portal.models import Role
from portal.services import ApplicationError, audit_record
from portal.tenancy import VIEW, resolve

MAX_ITEMS = 30
MAX_ITEM_LENGTH = 200
MAX_NOTE_LENGTH = 2000
# where the product's catalogue entry lists no materials: what a bank asks of any small business
GENERAL_MATERIALS = (
    "营业执照(个体工商户营业执照)",
    "经营者(法定代表人)身份证件",
    "经营场所证明(租赁合同或产权证明)",
    "近 6 个月经营流水(银行或收银平台)",
)


def suggested_materials(recommendation: Recommendation) -> list[str]:
    """The list a bank starts from: its list already written, else the product's, else the
    general list."""
    if recommendation.materials_required:
        return list(recommendation.materials_required)
    version = recommendation.product_version
    listed = (version.definition or {}).get("materials") if version is not None else None
    return list(listed) if listed else list(GENERAL_MATERIALS)


def open_materials_clock(recommendation: Recommendation) -> DeadlineClock | None:
    """The running materials clock of the lead (its submission waits for the bank), if any."""
    return (
        DeadlineClock.objects.filter(
            recommendation=recommendation,
            kind=ClockKind.MATERIALS,
            state__in=[ClockState.RUNNING, ClockState.OVERDUE],
        )
        .order_by("-started_at")
        .first()
    )


def _items(values, field: str, *, required: bool = True) -> list[str]:
    """A list of material names as typed: trimmed, blank lines dropped, duplicates once, each
    at most MAX_ITEM_LENGTH characters, at most MAX_ITEMS."""
    if isinstance(values, str):
        values = values.splitlines()
    if not isinstance(values, (list, tuple)) or not all(isinstance(v, str) for v in values):
        raise ApplicationError("材料清单格式错误", field_errors={field: ["应为材料名称的列表"]})
    items = list(dict.fromkeys(v.strip() for v in values if v and v.strip()))
    errors = []
    if required and not items:
        errors.append("请至少列明一项材料")
    if len(items) > MAX_ITEMS:
        errors.append(f"材料最多 {MAX_ITEMS} 项, 您列了 {len(items)} 项")
    errors += [f"材料名称「{item[:20]}…」超过 {MAX_ITEM_LENGTH} 字" for item in items if len(item) > MAX_ITEM_LENGTH]
    if errors:
        raise ApplicationError(errors[0], field_errors={field: errors})
    return items


def _note(note) -> str:
    note = str(note or "").strip()
    if len(note) > MAX_NOTE_LENGTH:
        raise ApplicationError(
            f"说明不超过 {MAX_NOTE_LENGTH} 字", field_errors={"note": [f"说明不超过 {MAX_NOTE_LENGTH} 字"]}
        )
    return note


def _moved(recommendation: Recommendation) -> ApplicationError:
    return ApplicationError(
        f"该线索的申请材料刚刚已由他人办理(当前: {recommendation.get_state_display()} · "
        f"{recommendation.get_materials_stage_display()}), 请刷新页面, 核对后再操作",
        code="conflict",
    )


def _acting(action: Action, *, actor, recommendation_id: int, version: str | None) -> Recommendation:
    """The lead, locked, for the actor to do `action` on — or a refusal. With the `version` a
    page showed: an action on materials someone else has just moved (the lead's state or its
    materials changed meanwhile) is refused as such, whatever else the state would say."""
    try:
        recommendation = workflow.acting_on(action, actor, recommendation_id)
    except ApplicationError as error:
        if error.code == "conflict" and version:
            current = resolve(Recommendation, actor, VIEW, pk=recommendation_id)
            # (a decision clock that started on its own is said as such: the refusal says 自动起算)
            if current.materials_version != version and not current.materials_auto_started:
                raise _moved(current) from None
        raise
    if version and version != recommendation.materials_version:
        raise _moved(recommendation)
    return recommendation


def _with_note(lines: str, note: str) -> str:
    return f"{lines}\n说明: {note}" if note else lines


def _entity_page(recommendation: Recommendation) -> str:
    return f"/matching/declarations/{recommendation.declaration_id}/"


def _to_bank(recommendation: Recommendation, *, key: str, title: str, body: str = "") -> None:
    """The bank side of a lead: its account manager and the administrators of its branch and
    the branches above it."""
    url = f"/matching/leads/{recommendation.pk}/"
    if recommendation.assigned_to_id:
        notifications.to_user(user=recommendation.assigned_to, key=key, title=title, body=body, url=url)
    notifications.to_role(
        organisation=recommendation.branch.organisation,
        role=Role.BANK_ADMIN,
        key=key,
        title=title,
        body=body,
        url=url,
        with_ancestors=True,
    )


@transaction.atomic
def recommendation_materials_list(
    *, actor, recommendation_id: int, items, note: str = "", version: str | None = None
) -> Recommendation:
    """列明所需材料 (workflow MATERIALS_LIST): the bank writes (or rewrites, before the
    enterprise submits) the list of materials it needs for this lead; the enterprise is told."""
    recommendation = _acting(Action.MATERIALS_LIST, actor=actor, recommendation_id=recommendation_id, version=version)
    items, note = _items(items, "items"), _note(note)
    now = timezone.now()
    first = recommendation.materials_stage == MaterialsStage.UNLISTED
    recommendation.materials_required, recommendation.materials_note = items, note
    recommendation.materials_listed_at = now
    if recommendation.materials_stage == MaterialsStage.SUPPLEMENT:
        # still waiting for what was named missing, as far as it is still on the list
        recommendation.materials_missing = [m for m in recommendation.materials_missing if m in items]
    else:
        recommendation.materials_stage = MaterialsStage.LISTED
    recommendation.save()
    event = workflow.record(
        Action.MATERIALS_LIST,
        declaration=recommendation.declaration,
        recommendation=recommendation,
        actor=actor,
        required=items,
        note=note,
    )
    audit_record(actor=actor, action="recommendation.materials_list", obj=recommendation, after={"items": items})
    lines = "\n".join(f"{i}. {item}" for i, item in enumerate(items, start=1))
    notifications.to_entity_and_creator(
        declaration=recommendation.declaration,
        key=f"rec-{recommendation.pk}-materials-listed-{event.pk}",
        title=f"{recommendation.branch.name}{'列明' if first else '更新'}了所需申请材料({len(items)} 项), "
        "请上传后点击「材料已提交」",
        body=_with_note(lines, note),
        url=_entity_page(recommendation),
    )
    return recommendation


@transaction.atomic
def recommendation_materials_submit(
    *, actor, recommendation_id: int, note: str = "", version: str | None = None
) -> Recommendation:
    """材料已提交 (workflow MATERIALS_SUBMIT): the enterprise, or task-force staff on its behalf,
    declares the listed materials submitted. The bank's 5-working-day materials clock starts:
    within it the bank confirms them complete or names what is missing, or the 30-day decision
    clock starts on its own at its end."""
    recommendation = _acting(Action.MATERIALS_SUBMIT, actor=actor, recommendation_id=recommendation_id, version=version)
    note = _note(note)
    now = timezone.now()
    published = recommendation.materials_stage == MaterialsStage.UNLISTED
    if published:
        # the bank listed nothing: the materials are the product's published list
        recommendation.materials_required = suggested_materials(recommendation)
    recommendation.materials_stage, recommendation.materials_submitted_at = MaterialsStage.AWAITING_BANK, now
    recommendation.save()
    event = workflow.record(
        Action.MATERIALS_SUBMIT,
        declaration=recommendation.declaration,
        recommendation=recommendation,
        actor=actor,
        at=now,
        note=note,
        files=recommendation.declaration.materials.filter(
            recommendation__isnull=True, withdrawn_at__isnull=True
        ).count(),
        **({"required": recommendation.materials_required} if published else {}),
    )
    audit_record(actor=actor, action="recommendation.materials_submit", obj=recommendation, after={"note": note})
    clock = open_materials_clock(recommendation)
    due = f"{timezone.localtime(clock.due_at):%Y-%m-%d}" if clock else ""
    _to_bank(
        recommendation,
        key=f"rec-{recommendation.pk}-materials-submitted-{event.pk}",
        title=f"{recommendation.entity.name}已提交申请材料, 请于 {due} 前确认收齐或列明需补充的材料"
        "(逾期 30 日授信时限自动起算)",
        body=_with_note("银行未列明所需材料, 企业按产品公布的材料清单提交" if published else "", note).strip(),
    )
    return recommendation


@transaction.atomic
def recommendation_materials_supplement(
    *, actor, recommendation_id: int, missing, note: str = "", version: str | None = None
) -> Recommendation:
    """补充材料 (workflow MATERIALS_SUPPLEMENT): the bank names what is missing from the submitted
    materials (items of its list, or new ones, which join the list); back to the enterprise with
    that list. It answers the materials clock; the next submission starts a new one."""
    recommendation = _acting(
        Action.MATERIALS_SUPPLEMENT, actor=actor, recommendation_id=recommendation_id, version=version
    )
    missing, note = _items(missing, "missing"), _note(note)
    recommendation.materials_required = list(dict.fromkeys([*recommendation.materials_required, *missing]))
    if len(recommendation.materials_required) > MAX_ITEMS:
        raise ApplicationError(f"材料最多 {MAX_ITEMS} 项", field_errors={"missing": [f"材料最多 {MAX_ITEMS} 项"]})
    recommendation.materials_stage, recommendation.materials_missing = MaterialsStage.SUPPLEMENT, missing
    recommendation.materials_note = note
    recommendation.save()
    event = workflow.record(
        Action.MATERIALS_SUPPLEMENT,
        declaration=recommendation.declaration,
        recommendation=recommendation,
        actor=actor,
        missing=missing,
        note=note,
    )
    audit_record(
        actor=actor, action="recommendation.materials_supplement", obj=recommendation, after={"missing": missing}
    )
    lines = "\n".join(f"{i}. {item}" for i, item in enumerate(missing, start=1))
    notifications.to_entity_and_creator(
        declaration=recommendation.declaration,
        key=f"rec-{recommendation.pk}-materials-supplement-{event.pk}",
        title=f"{recommendation.branch.name}请您补充申请材料: {'、'.join(missing)}"[:200],
        body=_with_note(lines, note),
        url=_entity_page(recommendation),
    )
    return recommendation


@transaction.atomic
def recommendation_materials_complete(*, actor, recommendation_id: int, version: str | None = None) -> Recommendation:
    """材料已收齐 (workflow MATERIALS_COMPLETE): the bank confirms the materials complete; the
    30-day decision clock starts now (and the materials clock of a submission is answered)."""
    recommendation = _acting(
        Action.MATERIALS_COMPLETE, actor=actor, recommendation_id=recommendation_id, version=version
    )
    workflow.apply(recommendation, Action.MATERIALS_COMPLETE)
    now = timezone.now()
    recommendation.materials_complete_at = now
    recommendation.materials_stage, recommendation.materials_missing = MaterialsStage.CONFIRMED, []
    recommendation.save()
    workflow.record(
        Action.MATERIALS_COMPLETE,
        declaration=recommendation.declaration,
        recommendation=recommendation,
        actor=actor,
        at=now,
    )
    audit_record(actor=actor, action="recommendation.materials_complete", obj=recommendation)
    decision = DeadlineClock.objects.filter(recommendation=recommendation, kind=ClockKind.DECISION).first()
    due = f", 将于 {timezone.localtime(decision.due_at):%Y-%m-%d} 前作出授信决定" if decision else ""
    notifications.to_entity_and_creator(
        declaration=recommendation.declaration,
        key=f"rec-{recommendation.pk}-materials-complete",
        title=f"{recommendation.branch.name}已确认您的申请材料收齐{due}",
        url=_entity_page(recommendation),
    )
    return recommendation
