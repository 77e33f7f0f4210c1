"""Demo 督办单 (load_demo): the city mechanism's order to 中国银行 about its overdue lead, answered
by the bank's administrator; one still waiting for the bank's signature; and one to 泽州县自然资源局
about its overdue 批分单, signed for and answered; the named contacts of 中国银行's branches and of
the department. Idempotent: nothing is added once the city has
issued one."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction

from coordination.models import DEPARTMENT_STATES, Problem
from matching.models import ClockState, DeadlineClock, Recommendation
from portal.models import Organisation, OrganisationKind
from portal.services import organisation_contact_update
from reporting.models import SupervisionOrder
from reporting.supervision import services


@transaction.atomic
def load() -> dict:
    users = {u.username: u for u in get_user_model().objects.filter(username__in=["city", "bankadmin", "department"])}
    if len(users) < 3 or SupervisionOrder.objects.filter(issued_by=users["city"]).exists():
        return {"supervision_orders": 0}
    bank = Organisation.objects.get(memberships__user=users["bankadmin"])
    _contacts(bank, users)
    leads = Recommendation.objects.filter(branch__organisation__path__startswith=bank.path).order_by("id")
    overdue = [
        c.recommendation
        for c in DeadlineClock.objects.filter(state=ClockState.OVERDUE, recommendation__in=leads).select_related(
            "recommendation__branch"
        )
    ]
    chosen = overdue[:1] or list(leads[:1])
    if not chosen:
        return {"supervision_orders": 0}
    city, admin = users["city"], users["bankadmin"]
    answered = services.supervision_issue(
        actor=city,
        target_id=chosen[0].branch.organisation_id,
        subject="逾期未反馈线索督办",
        demand="推荐清单企业逾期 5 个工作日未反馈, 请立即联系企业并在平台反馈对接结果",
        due_working_days=3,
        lead_ids=[r.pk for r in chosen],
    )
    services.supervision_acknowledge(actor=admin, order_id=answered.pk, note="已签收, 已责成泽州支行办理")
    services.supervision_answer(
        actor=admin, order_id=answered.pk, answer="泽州支行已于次日联系企业, 完成上门对接并在平台反馈"
    )
    waiting = list(leads.exclude(pk=chosen[0].pk)[:2]) or chosen
    services.supervision_issue(
        actor=city,
        target_id=waiting[0].branch.organisation_id,
        subject="推荐清单授信进度督办",
        demand="请于期限内报告推荐清单企业的授信进度, 对拟拒绝的说明理由",
        due_working_days=5,
        lead_ids=[r.pk for r in waiting if r.branch_id == waiting[0].branch_id],
    )
    late = Problem.objects.filter(state__in=DEPARTMENT_STATES, overdue_at__isnull=False).order_by("id").first()
    if late is not None and late.department_id:
        to_department = services.supervision_issue(
            actor=city,
            target_id=late.department_id,
            subject="批分单逾期未办督办",
            demand="批分单逾期未办, 请说明原因并加快办理",
            due_working_days=3,
            problem_ids=[late.pk],
        )
        services.supervision_answer(
            actor=users["department"], order_id=to_department.pk, answer="已开辟绿色通道, 抵押登记 2 个工作日内办结"
        )
    return {"supervision_orders": SupervisionOrder.objects.count()}


BRANCH_CONTACTS = ("郑行长", "0356-2021001"), ("冯经理", "13803561234")


def _contacts(bank: Organisation, users: dict) -> None:
    """The named contacts of 中国银行晋城分行, its branches below and 泽州县自然资源局, kept by their
    administrators (the bank's administrator, the department's staff)."""
    branches = Organisation.objects.filter(path__startswith=bank.path, kind=OrganisationKind.BANK_BRANCH)
    for index, branch in enumerate(branches.order_by("path")):
        name, phone = BRANCH_CONTACTS[min(index, 1)]
        organisation_contact_update(
            actor=users["bankadmin"], organisation_id=branch.pk, contact_name=name, contact_phone=phone
        )
    department = Organisation.objects.filter(memberships__user=users["department"]).first()
    if department is not None:
        organisation_contact_update(
            actor=users["department"],
            organisation_id=department.pk,
            contact_name="钱科长",
            contact_phone="0356-6012345",
        )
