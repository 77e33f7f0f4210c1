"""Demo 大走访: 晋城市's running campaign covering 泽州县 and 阳城县, 泽州's 走访目标企业清单 built from the
register (the entities not in normal operation or failing the basic standard listed as excluded),
its 走访计划 spread over the demo visitor (巴公镇), the task-force staff and the bank's account
manager, and partial coverage: some visited (by phone and on site), some with a need, two with a
declaration started from the visit, some overdue (their due date passed unvisited). Idempotent."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from campaigns import services
from campaigns.models import Assignment, Campaign, Target
from matching import services as matching_services
from matching.models import BASIC_CRITERIA, Visit
from portal.errors import ApplicationError

NAME = "晋城市2026年千企万户大走访"


@transaction.atomic
def load() -> dict:
    users = {
        u.username: u
        for u in get_user_model().objects.filter(username__in=["city", "staff", "staff2", "visitor", "manager"])
    }
    if len(users) < 5 or Campaign.objects.filter(name=NAME).exists():
        return {"campaigns": 0}
    today = timezone.localdate()
    campaign = services.campaign_open(
        actor=users["city"],
        name=NAME,
        deadline=today + dt.timedelta(days=12),
        county_codes=["140525", "140522"],
        note="各县区要在截止日期前对辖区内小微企业融资需求摸排一遍, 对有明确融资需求的企业开展重点走访。",
    )
    services.campaign_start(actor=users["city"], campaign_id=campaign.pk)
    # the campaign started three weeks ago (the demo shows visits and overdue assignments)
    started = timezone.now() - dt.timedelta(days=21)
    Campaign.objects.filter(pk=campaign.pk).update(started_at=started)
    Target.objects.filter(campaign=campaign).update(added_at=started)
    services.targets_build(actor=users["staff"], campaign_id=campaign.pk)
    Target.objects.filter(campaign=campaign).update(added_at=started)
    targets = list(Target.objects.filter(campaign=campaign, excluded=False).select_related("entity").order_by("pk"))
    if len(targets) < 30:
        return {"campaigns": 1}
    groups = {"visitor": targets[:16], "staff2": targets[16:24], "manager": targets[24:30]}
    for username, chosen in groups.items():
        services.assignments_make(
            actor=users["staff"],
            campaign_id=campaign.pk,
            visitor_id=users[username].pk,
            target_ids=[t.pk for t in chosen],
        )
    Assignment.objects.filter(campaign=campaign).update(assigned_at=started + dt.timedelta(days=1))
    # four of the visitor's are overdue: due a week ago, still unvisited
    late = [t.pk for t in groups["visitor"][12:16]]
    Assignment.objects.filter(target_id__in=late).update(due_on=today - dt.timedelta(days=7))
    criteria = {key: {"met": True, "evidence": "走访核实"} for key in BASIC_CRITERIA}
    visited = 0
    for n, target in enumerate(groups["visitor"][:8] + groups["manager"][:2]):
        actor = users["manager"] if target in groups["manager"] else users["visitor"]
        need = n % 3 == 0
        visit = matching_services.visit_record(
            actor=actor,
            entity_id=target.entity_id,
            visited_on=today - dt.timedelta(days=10 - n % 7),
            people=actor.first_name or actor.username,
            channel="phone" if n % 2 else "on_site",
            findings="经营正常" + ("; 有扩大经营的融资需求" if need else "; 暂无融资需求"),
            need_found=need,
            basic_situation="个体经营, 从业 5 年" if need else "",
            operation="月营业额约 8 万元, 经营稳定" if need else "",
            need_amount=300_000 if need else None,
            need_term_months=12 if need else None,
            loan_purpose="进货备货" if need else "",
            basic_criteria=criteria if need else None,
        )
        Visit.objects.filter(pk=visit.pk).update(created_at=started + dt.timedelta(days=3 + n))
        visited += 1
        if need and n < 6:
            # the task force starts a declaration from the visit (pre-filled from its 重点走访 record)
            try:
                matching_services.declaration_create(
                    actor=users["staff"],
                    entity_id=target.entity_id,
                    amount=visit.need_amount,
                    term_months=visit.need_term_months,
                    purpose=visit.loan_purpose,
                    bank_codes=["boc"],
                    basic_criteria=criteria,
                    visit_id=visit.pk,
                )
            except ApplicationError:  # the entity already has a case open: its visit stays "with a need"
                pass
    return {"campaigns": 1, "visits": visited}
