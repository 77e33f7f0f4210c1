"""Every write of 督办单. Each service resolves its inputs through restrict() for the action it
performs, checks the policy table (reporting/supervision/policy.py), moves the order, records its
event, tells the people concerned (in-portal notifications) and writes an audit event, in one
transaction."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from coordination.models import Problem
from coordination.services import schedule
from entities.changes import Notice
from entities.restrictions import region_range_q
from matching.models import Recommendation
from matching.notifications import deliver_notices
from portal.errors import ApplicationError
from portal.models import Organisation, OrganisationKind, Role
from portal.services import audit_record
from portal.tenancy import VIEW, resolve, resolve_many, scope_for
from reporting.models import SupervisionEvent, SupervisionOrder, SupervisionState
from reporting.supervision.policy import ISSUERS, TABLE, TARGET_KINDS, Action
from workdays.arithmetic import local_date

MAX_DUE_WORKING_DAYS = 30
MAX_ITEMS = 200
TEXT_MAX = 5000


def _text(value, field: str, label: str, *, required: bool = True, limit: int = TEXT_MAX) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if required and not text:
        raise ApplicationError(f"请填写{label}", field_errors={field: [f"请填写{label}"]})
    if len(text) > limit:
        raise ApplicationError(f"{label}过长", field_errors={field: [f"{label}不能超过 {limit} 字"]})
    return text


def _working_days(value) -> int:
    message = f"回复时限须为 1 至 {MAX_DUE_WORKING_DAYS} 个工作日"
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_DUE_WORKING_DAYS:
        raise ApplicationError(message, field_errors={"due_working_days": [message]})
    return value


def _ids(values, field: str) -> list:
    values = list(values or [])
    if len(values) > MAX_ITEMS:
        message = f"一次最多督办 {MAX_ITEMS} 项"
        raise ApplicationError(message, field_errors={field: [message]})
    return values


def _users(**memberships) -> tuple[int, ...]:
    found = get_user_model().objects.filter(is_active=True, **memberships).values_list("pk", flat=True).distinct()
    return tuple(sorted(found))


def target_users(order: SupervisionOrder) -> tuple[int, ...]:
    """Who answers: a department's staff; a branch's administrators (those of the bank
    organisations above it where the branch has none)."""
    target = order.target
    if target.kind == OrganisationKind.DEPARTMENT:
        return _users(memberships__organisation=target, memberships__role=Role.DEPARTMENT_STAFF)
    own = _users(memberships__organisation=target, memberships__role=Role.BANK_ADMIN)
    if own:
        return own
    above = [target.path[:i] for i in range(1, len(target.path)) if target.path[i - 1] == "/"]
    return _users(memberships__organisation__path__in=above, memberships__role=Role.BANK_ADMIN)


def issuer_users(order: SupervisionOrder) -> tuple[int, ...]:
    return _users(memberships__organisation_id=order.issuer_id, memberships__role__in=sorted(ISSUERS))


def upper_users(order: SupervisionOrder) -> tuple[int, ...]:
    """The mechanism above the issuer (county → city → province); the province tells itself."""
    code = order.region_id
    if code.endswith("0000"):
        kind, region, role = OrganisationKind.PROVINCE_MECHANISM, code, Role.PROVINCE_REGULATOR
    elif code.endswith("00"):
        kind, region, role = OrganisationKind.PROVINCE_MECHANISM, code[:2] + "0000", Role.PROVINCE_REGULATOR
    else:
        kind, region, role = OrganisationKind.CITY_MECHANISM, code[:4] + "00", Role.CITY_REGULATOR
    return _users(
        memberships__organisation__kind=kind, memberships__organisation__region_id=region, memberships__role=role
    )


def tell(order: SupervisionOrder, *, key: str, title: str, user_ids, body: str = "") -> None:
    url = reverse("reporting:supervision_detail", args=[order.pk])
    full = f"督办单 {order.number}({order.target.name}): {title}"
    deliver_notices(
        [Notice(key=f"supervision:{order.pk}:{key}", title=full[:200], url=url, user_ids=tuple(user_ids), body=body)]
    )


def _event(order: SupervisionOrder, kind: str, actor, note: str = "", now=None) -> SupervisionEvent:
    return SupervisionEvent.objects.create(
        order=order,
        kind=kind,
        actor=actor if actor is not None and actor.is_authenticated else None,
        note=note,
        created_at=now or timezone.now(),
    )


def _snapshot(order: SupervisionOrder) -> dict:
    return {"state": order.state, "target_id": order.target_id, "due_at": order.due_at.isoformat()}


@transaction.atomic
def supervision_issue(
    *, actor, target_id, subject, demand, due_working_days, lead_ids=(), problem_ids=()
) -> SupervisionOrder:
    """A regulator issues a 督办单 (seed 004 十六: "及时发现问题、解决问题") to a bank branch or a
    职能部门 of its region, naming the overdue leads of that branch or the 批分单 routed to that
    department, with a reply due in working days."""
    TABLE.require(Action.ISSUE, actor)
    scope = scope_for(actor)
    subject = _text(subject, "subject", "督办事项", limit=200)
    demand = _text(demand, "demand", "督办要求")
    working_days = _working_days(due_working_days)
    lead_ids = _ids(lead_ids, "lead_ids")
    problem_ids = _ids(problem_ids, "problem_ids")
    targets = Organisation.objects.filter(kind__in=TARGET_KINDS, is_active=True).filter(
        region_range_q(scope.region_prefix or "-", "region_id")
    )
    target = resolve(targets, actor, VIEW, pk=target_id, field="target_id")
    leads = resolve_many(
        Recommendation.objects.filter(branch__organisation__path__startswith=target.path),
        actor,
        VIEW,
        ids=lead_ids,
        field="lead_ids",
    )
    problems = resolve_many(
        Problem.objects.filter(department=target), actor, VIEW, ids=problem_ids, field="problem_ids"
    )
    now = timezone.now()
    order = SupervisionOrder.objects.create(
        issuer_id=scope.organisation_id,
        region_id=scope.region_code,
        target=target,
        subject=subject,
        demand=demand,
        due_working_days=working_days,
        issued_by=actor,
        created_at=now,
        **schedule(now, working_days),
    )
    order.leads.set(leads)
    order.problems.set(problems)
    event = _event(order, TABLE.rule(Action.ISSUE).event, actor, demand, now)
    tell(
        order,
        key=f"issued:{event.pk}",
        title=f"{subject}, 请于 {local_date(order.due_at):%Y-%m-%d} 前签收并回复",
        user_ids=target_users(order),
        body=demand,
    )
    audit_record(actor=actor, action=str(Action.ISSUE), obj=order, after=_snapshot(order))
    return order


def _step(action: Action, *, actor, order_id, note: str, title: str, to_issuer: bool = True) -> SupervisionOrder:
    order = TABLE.acting_on(action, actor, order_id)
    before = _snapshot(order)
    rule_ = TABLE.rule(action)
    order.state = rule_.target
    now = timezone.now()
    if action == Action.ACKNOWLEDGE:
        order.acknowledged_at = now
    elif action == Action.ANSWER:
        order.answer = note
        order.answered_at = now
        order.acknowledged_at = order.acknowledged_at or now
    order.save()
    event = _event(order, rule_.event, actor, note, now)
    tell(
        order,
        key=f"{rule_.event}:{event.pk}",
        title=title,
        user_ids=issuer_users(order) if to_issuer else target_users(order),
        body=note,
    )
    audit_record(actor=actor, action=str(action), obj=order, before=before, after=_snapshot(order))
    return order


@transaction.atomic
def supervision_acknowledge(*, actor, order_id, note: str = "") -> SupervisionOrder:
    """被督办单位管理员签收."""
    note = _text(note, "note", "签收说明", required=False)
    return _step(Action.ACKNOWLEDGE, actor=actor, order_id=order_id, note=note, title="已签收")


@transaction.atomic
def supervision_answer(*, actor, order_id, answer) -> SupervisionOrder:
    """被督办单位管理员办理回复 (what was done about each item)."""
    answer = _text(answer, "answer", "办理回复")
    return _step(Action.ANSWER, actor=actor, order_id=order_id, note=answer, title="已回复办理情况")


@transaction.atomic
def supervision_close(*, actor, order_id, note: str = "") -> SupervisionOrder:
    """督办机构确认办结."""
    note = _text(note, "note", "办结说明", required=False)
    return _step(Action.CLOSE, actor=actor, order_id=order_id, note=note, title="督办机构已办结", to_issuer=False)


SERVICES = {
    Action.ACKNOWLEDGE: (supervision_acknowledge, ("note",)),
    Action.ANSWER: (supervision_answer, ("answer",)),
    Action.CLOSE: (supervision_close, ("note",)),
}
STATES_AWAITING = (SupervisionState.ISSUED, SupervisionState.ACKNOWLEDGED)
