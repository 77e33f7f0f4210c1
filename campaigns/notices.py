"""Who hears of a 大走访 campaign's steps, as in-portal notifications (matching.notifications: this
app sits above the workflow). Each notice has a dedupe key, so a step told twice is told once."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth import get_user_model
from django.urls import reverse

from campaigns.models import Assignment, Campaign
from matching import notifications
from portal.models import OrganisationKind, Role


def task_force_users(county: str) -> list:
    return list(
        get_user_model()
        .objects.filter(
            is_active=True,
            memberships__role__in=[Role.TASK_FORCE_STAFF, Role.TASK_FORCE_LEAD],
            memberships__organisation__kind=OrganisationKind.TASK_FORCE,
            memberships__organisation__region_id=county,
        )
        .distinct()
        .order_by("pk")
    )


def campaign_started(campaign: Campaign) -> int:
    """The task forces of the covered counties are told to build their lists and plans."""
    url = reverse("campaigns:campaign_detail", args=[campaign.pk])
    told = 0
    for county in campaign.counties.all():
        for user in task_force_users(county.code):
            told += bool(
                notifications.to_user(
                    user=user,
                    key=f"campaign:{campaign.pk}:started",
                    title=f"大走访活动已启动: {campaign.name}, 请于 {campaign.deadline:%Y-%m-%d} 前完成"
                    f"{county.name}摸排",
                    body="请生成走访目标企业清单、导入部门名单并制定走访计划。",
                    url=url,
                )
            )
    return told


def assigned(campaign: Campaign, visitor, count: int, due: dt.date, *, key: str) -> None:
    notifications.to_user(
        user=visitor,
        key=f"campaign:{campaign.pk}:assigned:{key}",
        title=f"大走访走访任务: {campaign.name} 新分配 {count} 户, 请于 {due:%Y-%m-%d} 前完成走访",
        body="通过电话或实地走访了解企业融资需求; 有明确需求的请填写重点走访记录。",
        url=reverse("campaigns:my_visits"),
    )


def overdue(assignment: Assignment) -> int:
    """An unvisited target past its due date: its visitor and the county task force are told."""
    campaign, target = assignment.campaign, assignment.target
    title = (
        f"逾期未走访: {target.entity.name}(大走访 {campaign.name}) 应于 {assignment.due_on:%Y-%m-%d} 前走访, "
        f"走访人员 {assignment.visitor.get_full_name() or assignment.visitor.username}"
    )
    # once per assignment and due date: a deadline moved by the city (campaign_edit) may make it late again
    key = f"campaign:{campaign.pk}:assignment:{assignment.pk}:overdue:{assignment.due_on:%Y%m%d}"
    told = bool(
        notifications.to_user(user=assignment.visitor, key=key, title=title, url=reverse("campaigns:my_visits"))
    )
    detail = reverse("campaigns:campaign_detail", args=[campaign.pk])
    for user in task_force_users(target.region_id):
        if user.pk != assignment.visitor_id:
            told += bool(notifications.to_user(user=user, key=key, title=title, url=f"{detail}?overdue=1"))
    return told
