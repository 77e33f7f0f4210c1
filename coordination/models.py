"""批分单 (seed 004 二(七)): "各县区专班要发挥统筹协调作用, 及时收集银行、企业反映的困难问题, 填写批分单后
转交相关部门协调解决". One `Problem` per difficulty of one entity, routed to one department of the
mechanism that holds it (its `level`: the county, or the city or the province after an escalation
the convener agreed to). Its states and who moves it are the table in coordination/policy.py;
every step is a `ProblemEvent` on its timeline; due moments are working days (workdays app),
computed once and stored; the escalation scan (coordination/scan.py) claims `overdue_at` and
`escalated_at` once each."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from entities.models import MarketEntity
from portal.models import Organisation, Region


class ProblemKind(models.TextChoices):
    SUPPLEMENT = "supplement", "补充要素"
    PERMIT = "permit", "行政许可"
    COLLATERAL = "collateral", "抵质押登记"
    FIXED_ASSET = "fixed_asset", "固定资产贷款前期手续"
    OTHER = "other", "其他"


class ProblemSource(models.TextChoices):
    VISIT = "visit", "走访发现"
    REVIEW = "review", "审核发现"
    BANK = "bank", "银行反映"
    ENTERPRISE = "enterprise", "企业反映"


class ProblemLevel(models.TextChoices):
    """The mechanism holding the problem: "逐级向上级工作机制反映"."""

    COUNTY = "county", "县级"
    CITY = "city", "市级"
    PROVINCE = "province", "省级"


# the level above each level (the province has none)
LEVEL_ABOVE = {ProblemLevel.COUNTY: ProblemLevel.CITY, ProblemLevel.CITY: ProblemLevel.PROVINCE}


class ProblemState(models.TextChoices):
    ROUTED = "routed", "待部门受理"
    ACCEPTED = "accepted", "部门办理中"
    ANSWERED = "answered", "部门已答复"
    RETURNED = "returned", "部门退回"
    ESCALATION_PENDING = "escalation_pending", "待召集人同意上报"
    ESCALATED = "escalated", "已上报上级机制"
    CLOSED = "closed", "已办结"


OPEN_STATES = (
    ProblemState.ROUTED,
    ProblemState.ACCEPTED,
    ProblemState.RETURNED,
    ProblemState.ESCALATION_PENDING,
    ProblemState.ESCALATED,
)
# the states a department's working-day deadline runs in
DEPARTMENT_STATES = (ProblemState.ROUTED, ProblemState.ACCEPTED)


class ProblemEventKind(models.TextChoices):
    OPENED = "opened", "填写批分单"
    ROUTED = "routed", "转交部门"
    ACCEPTED = "accepted", "部门受理"
    ANSWERED = "answered", "部门答复"
    RETURNED = "returned", "部门退回"
    ESCALATION_PROPOSED = "escalation_proposed", "提请上报上级机制"
    ESCALATION_APPROVED = "escalation_approved", "召集人同意上报"
    ESCALATION_REFUSED = "escalation_refused", "召集人不同意上报"
    CLOSED = "closed", "办结"
    OVERDUE = "overdue", "逾期督办"
    OVERDUE_ESCALATED = "overdue_escalated", "逾期升级至召集人"


class Problem(models.Model):
    entity = models.ForeignKey(MarketEntity, verbose_name="经营主体", on_delete=models.PROTECT, related_name="problems")
    # the entity's county: the tenancy of the problem (a county task force, its city, its province)
    region = models.ForeignKey(Region, verbose_name="所在县区", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField("问题类型", max_length=32, choices=ProblemKind.choices)
    source = models.CharField("问题来源", max_length=16, choices=ProblemSource.choices)
    description = models.TextField("问题描述")
    level = models.CharField("所在层级", max_length=16, choices=ProblemLevel.choices, default=ProblemLevel.COUNTY)
    department = models.ForeignKey(
        Organisation,
        verbose_name="承办部门",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="problems",
    )
    state = models.CharField("状态", max_length=32, choices=ProblemState.choices, default=ProblemState.ROUTED)
    due_working_days = models.PositiveSmallIntegerField("办理时限(工作日)", default=5)
    routed_at = models.DateTimeField("转交时间", null=True, blank=True)
    due_at = models.DateTimeField("办理期限", null=True, blank=True)
    escalate_at = models.DateTimeField("逾期升级时间", null=True, blank=True)
    # claims of the escalation scan (coordination/scan.py): each step runs once per routing
    overdue_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    # 容缺受理 on the enterprise's credit commitment ("企业作出信用承诺后依法依规适用'容缺受理'")
    tolerance = models.BooleanField("适用容缺受理", default=False)
    commitment_text = models.TextField("企业信用承诺", blank=True, default="")
    answer = models.TextField("部门答复", blank=True, default="")
    answered_at = models.DateTimeField(null=True, blank=True)
    escalation_reason = models.TextField("上报理由", blank=True, default="")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="problems_opened"
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = verbose_name_plural = "批分单"
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["state", "due_at"]),
            models.Index(fields=["region", "state"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(tolerance=True) | ~models.Q(commitment_text=""),
                name="problem_tolerance_has_commitment",
            ),
        ]

    def __str__(self):
        return f"批分单 {self.pk} · {self.entity.name} · {self.get_kind_display()}"

    @property
    def number(self) -> str:
        return f"PF{self.created_at:%Y}{self.pk:06d}"

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    @property
    def at_department(self) -> bool:
        return self.state in DEPARTMENT_STATES

    @property
    def is_overdue(self) -> bool:
        return self.at_department and self.due_at is not None and self.due_at < timezone.now()


class ProblemEvent(models.Model):
    """One step on a problem's timeline (the kinds' Chinese labels are what it shows)."""

    problem = models.ForeignKey(Problem, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField("事项", max_length=32, choices=ProblemEventKind.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    department = models.ForeignKey(Organisation, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    note = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = verbose_name_plural = "批分单记录"
        ordering = ["created_at", "id"]

    def __str__(self):
        return f"批分单 {self.problem_id} · {self.get_kind_display()}"


class ProblemScan(models.Model):
    """One run of the escalation scan (what it did), for the administrators' home page."""

    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    overdue = models.PositiveIntegerField(default=0)
    escalations = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = verbose_name_plural = "批分单逾期扫描"
        ordering = ["-started_at"]

    def __str__(self):
        return f"批分单逾期扫描 {timezone.localtime(self.started_at):%Y-%m-%d %H:%M}"
