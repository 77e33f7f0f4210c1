"""Demo 批分单 in 泽州 (load_demo): one waiting at the county's 自然资源局, one in work there, one
answered, one overdue (marked and escalated by the scan), one escalated to the city mechanism with
the convener's agreement and routed to the city's 自然资源和规划局, one closed (办结), and one with 容缺受理 on the
enterprise's credit commitment. Idempotent: nothing is added once the demo's problems exist."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from coordination import services
from coordination.models import Problem
from coordination.scan import problem_scan
from entities.models import MarketEntity
from portal.models import Organisation


@transaction.atomic
def load() -> dict:
    users = {
        u.username: u for u in get_user_model().objects.filter(username__in=["staff", "department", "convener", "city"])
    }
    if len(users) < 4 or Problem.objects.filter(created_by=users["staff"]).exists():
        return {"problems": 0}
    county = Organisation.objects.get(code="demo-department")
    market = Organisation.objects.get(code="demo-department-market")
    city_department = Organisation.objects.get(code="demo-city-department")
    entities = list(MarketEntity.objects.filter(region_id="140525").order_by("id")[:6])
    if len(entities) < 3:
        return {"problems": 0}
    staff, department = users["staff"], users["department"]

    def open_(entity, kind, source, description, to=county, days=5, **extra):
        return services.problem_open(
            actor=staff,
            entity_id=entity.pk,
            kind=kind,
            source=source,
            description=description,
            department_id=to.pk,
            due_working_days=days,
            **extra,
        )

    e = entities
    open_(e[0], "collateral", "bank", "中国银行初审后需办理厂房抵押登记, 请开辟绿色通道加快办理")
    open_(e[1], "supplement", "review", "专班初审发现缺少近两年纳税证明, 请协调补充要素", to=market)
    accepted = open_(e[5 % len(e)], "permit", "enterprise", "企业反映排污许可证办理缓慢")
    services.problem_accept(actor=department, problem_id=accepted.pk, note="已受理, 正在并联审批")
    # the 市场监督管理局 has no demo user: the department's work is shown on the 自然资源局's items
    services.problem_return(
        actor=department,
        problem_id=open_(e[1], "collateral", "bank", "动产抵押登记").pk,
        reason="动产抵押登记属市场监督管理局职责, 请改派",
    )
    answered = open_(e[2 % len(e)], "permit", "visit", "走访发现食品经营许可证即将到期, 影响授信")
    services.problem_answer(
        actor=department, problem_id=answered.pk, answer="已并联审批, 许可证续期于 3 个工作日内办结"
    )
    # a settled one: answered by the department, closed by the task force (办结)
    settled = open_(e[0], "supplement", "visit", "走访发现缺少近一年财务报表, 请协调补充要素")
    services.problem_answer(actor=department, problem_id=settled.pk, answer="已协调企业补齐财务报表并送达银行")
    services.problem_close(actor=staff, problem_id=settled.pk, note="银行确认要素齐全, 办结")
    # an overdue one: routed eight working days ago, never answered; the scan marks and escalates it
    late = open_(e[3 % len(e)], "collateral", "bank", "土地使用权抵押登记逾期未办", days=3)
    past = timezone.now() - dt.timedelta(days=14)
    Problem.objects.filter(pk=late.pk).update(routed_at=past, created_at=past, **services.schedule(past, 3))
    late.events.update(created_at=past)
    problem_scan()
    # not county business: escalated to the city with the convener's agreement, routed there
    up = open_(
        e[4 % len(e)],
        "fixed_asset",
        "review",
        "项目用地规划调整涉及市级事权",
        days=10,
        tolerance=True,
        commitment_text="本企业承诺在 3 个月内补齐环评批复, 逾期自愿承担相应责任",
    )
    services.problem_propose_escalation(actor=staff, problem_id=up.pk, reason="用地规划调整不属于县级事权")
    services.problem_approve_escalation(actor=users["convener"], problem_id=up.pk, note="经研究同意上报市级机制")
    services.problem_reroute(
        actor=users["city"], problem_id=up.pk, department_id=city_department.pk, due_working_days=10
    )
    return {"problems": Problem.objects.count()}
