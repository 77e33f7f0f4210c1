"""千企万户大走访 campaigns (seed 004 二(四)): "市级协调工作机制指导市场监管、税务和统计等部门梳理汇总小微
企业、个体工商户名录, 各县区协调工作机制根据反馈名录及本地其他部门提供的企业名单, 剔除非正常经营等不符合
基本准入条件的经营主体, 不断完善走访目标企业清单. 县区专班依据走访目标企业清单科学制定走访计划, … 组织
委办局、乡镇、街道、村组、社区、工商联和银行机构 … 通过电话、走访等形式 11 月 20 日前对辖区内小微企业
融资需求摸排一遍".

Lifecycle (the table in campaigns/policy.py): the city mechanism opens a `Campaign` (草稿) naming its
counties and deadline, starts it (进行中) and ends it (已结束). Each county's task force builds its
走访目标企业清单 (`Target`: one row per entity, from the register or from an imported 税务/统计 list;
an entity not in normal operation or failing the basic admission standard stays listed as
`excluded` with its reason) and its 走访计划 (`Assignment`: a target given to one visitor with a due
date; a reassignment ends the previous row, so the plan as of any moment is known). Visits are the
workflow's (matching.Visit, recorded through matching.services.visit_record): a target counts as
visited once a visit of its entity is recorded on or after the campaign's start, whoever recorded
it — coverage is computed from matching's tables (campaigns/coverage.py), never copied. The overdue
scan (campaigns/scan.py) claims `overdue_notified_at` once per assignment and due date. Every step is a
`CampaignEvent` on the campaign's timeline. The city edits a draft or running campaign's name,
deadline and requirements (修改活动: a draft whose deadline passed must be edited before it starts);
a new deadline moves the due dates of the open assignments that followed the old one, so the
overdue scan reads the new one."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from entities.models import MarketEntity
from portal.models import Organisation, Region


class CampaignState(models.TextChoices):
    DRAFT = "draft", "草稿"
    RUNNING = "running", "进行中"
    ENDED = "ended", "已结束"


class CampaignEventKind(models.TextChoices):
    OPENED = "opened", "创建大走访活动"
    UPDATED = "updated", "修改活动"
    STARTED = "started", "启动活动"
    ENDED = "ended", "结束活动"
    TARGETS_BUILT = "targets_built", "从名录库生成走访目标企业清单"
    TARGETS_IMPORTED = "targets_imported", "导入部门提供的企业名单"
    ASSIGNED = "assigned", "制定走访计划(分配走访任务)"
    OVERDUE = "overdue", "逾期未走访提醒"


class TargetSource(models.TextChoices):
    REGISTER = "register", "名录库"
    TAX = "tax", "税务部门名单"
    STATISTICS = "statistics", "统计部门名单"
    OTHER = "other", "其他部门名单"


class Campaign(models.Model):
    name = models.CharField("活动名称", max_length=100)
    # the city mechanism that opened it: its tenancy (the city, its counties, the province)
    region = models.ForeignKey(Region, verbose_name="市", on_delete=models.PROTECT, related_name="+")
    counties = models.ManyToManyField(Region, verbose_name="覆盖县区", related_name="+")
    deadline = models.DateField("摸排截止日期")
    note = models.TextField("活动要求", blank=True, default="")
    state = models.CharField("状态", max_length=16, choices=CampaignState.choices, default=CampaignState.DRAFT)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField("启动时间", null=True, blank=True)
    ended_at = models.DateTimeField("结束时间", null=True, blank=True)
    # counts the edits (campaigns.services.campaign_edit): an edit names the version it was made
    # from, so of two people editing one campaign the second is told it changed, never overwrites
    version = models.PositiveIntegerField("版本", default=0)

    class Meta:
        verbose_name = verbose_name_plural = "大走访活动"
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return self.name

    @property
    def is_running(self) -> bool:
        return self.state == CampaignState.RUNNING

    @property
    def is_draft(self) -> bool:
        return self.state == CampaignState.DRAFT

    def days_left(self, today=None) -> int:
        """Calendar days from today to the deadline (the notice names a date: "11 月 20 日前"),
        the deadline day counted; negative once it has passed."""
        today = today or timezone.localdate()
        return (self.deadline - today).days


class CampaignEvent(models.Model):
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField("事项", max_length=32, choices=CampaignEventKind.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    region = models.ForeignKey(Region, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    note = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = verbose_name_plural = "大走访活动记录"
        ordering = ["created_at", "id"]

    def __str__(self):
        return f"大走访活动 {self.campaign_id} · {self.get_kind_display()}"


class Target(models.Model):
    """One entity of a county's 走访目标企业清单; an excluded one keeps its reason."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="targets")
    entity = models.ForeignKey(MarketEntity, verbose_name="经营主体", on_delete=models.PROTECT, related_name="+")
    region = models.ForeignKey(Region, verbose_name="县区", on_delete=models.PROTECT, related_name="+")
    township = models.ForeignKey(
        Region, verbose_name="乡镇(街道)", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    source = models.CharField("名单来源", max_length=16, choices=TargetSource.choices, default=TargetSource.REGISTER)
    source_label = models.CharField("来源说明", max_length=64, blank=True, default="")
    excluded = models.BooleanField("已剔除", default=False)
    exclusion_reason = models.CharField("剔除原因", max_length=255, blank=True, default="")
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = verbose_name_plural = "走访目标企业"
        ordering = ["region_id", "township_id", "entity__name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "entity"], name="campaign_target_unique"),
            models.CheckConstraint(
                condition=Q(excluded=False) | ~Q(exclusion_reason=""), name="campaign_exclusion_has_reason"
            ),
        ]
        indexes = [models.Index(fields=["campaign", "region", "excluded"])]

    def __str__(self):
        return f"{self.campaign} · {self.entity.name}"


class Assignment(models.Model):
    """走访计划: one target given to one visitor, due on a date (the campaign's deadline unless the
    task force set an earlier one). A reassignment ends this row (`ended_at`)."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="assignments")
    target = models.ForeignKey(Target, on_delete=models.CASCADE, related_name="assignments")
    visitor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="走访人员", on_delete=models.PROTECT, related_name="visit_assignments"
    )
    visitor_organisation = models.ForeignKey(
        Organisation, verbose_name="走访人员所在机构", on_delete=models.PROTECT, related_name="+"
    )
    due_on = models.DateField("走访期限")
    assigned_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    assigned_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)
    # the overdue scan's claim (campaigns/scan.py): the reminder is sent once per assignment (a
    # deadline the city moves releases it: campaigns.services.campaign_edit)
    overdue_notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "走访任务"
        ordering = ["due_on", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["target"], condition=Q(ended_at__isnull=True), name="campaign_one_open_assignment"
            ),
        ]
        indexes = [models.Index(fields=["visitor", "ended_at"])]

    def __str__(self):
        return f"{self.target.entity.name} → {self.visitor}"
