"""The deadline clocks of a lead (反馈 5 个工作日, 授信决定 30 日, and the bank's 5 working days to
confirm submitted materials, after which the decision clock starts on its own) and the runs of
the periodic deadline scan that reminds, flags, escalates and auto-starts them
(matching/clocks.py)."""

from django.db import models
from django.db.models import Q

from matching.models.leads import Recommendation


class ClockKind(models.TextChoices):
    FEEDBACK = "feedback", "反馈时限(5 个工作日)"
    DECISION = "decision", "授信决定时限(30 日)"
    # the bank's 5 working days to confirm submitted materials complete or name what is
    # missing; one per submission (a submission after 补充材料 starts a new one); never overdue:
    # when it runs out the decision clock starts (自动起算) and it is LAPSED
    MATERIALS = "materials", "材料确认时限(5 个工作日)"


# clocks that run once per round rather than once per lead
REPEATABLE_CLOCKS = (ClockKind.MATERIALS,)


class ClockState(models.TextChoices):
    RUNNING = "running", "计时中"
    OVERDUE = "overdue", "已逾期"
    SATISFIED = "satisfied", "已完成"
    STOPPED = "stopped", "已停止"
    LAPSED = "lapsed", "期满自动起算"


class DeadlineClock(models.Model):
    """One statutory clock of a recommendation. `due_at` (and the reminder and escalation
    moments derived from it) are computed once at start and never reset by an edit; a
    provisional one (due in a year the calendar does not know) is recomputed only when
    an administrator enters that year."""

    recommendation = models.ForeignKey(Recommendation, on_delete=models.CASCADE, related_name="clocks")
    kind = models.CharField("时限", max_length=16, choices=ClockKind.choices)
    state = models.CharField("状态", max_length=16, choices=ClockState.choices, default=ClockState.RUNNING)
    started_at = models.DateTimeField("起算时间")
    due_at = models.DateTimeField("到期时间")
    remind_at = models.DateTimeField("提醒时间")
    escalate_at = models.DateTimeField("升级督办时间")
    provisional = models.BooleanField("暂定", default=False)
    satisfied_at = models.DateTimeField(null=True, blank=True)
    stopped_at = models.DateTimeField(null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)
    # when the scan marked it overdue; for a clock that lapses (MATERIALS), when it lapsed
    overdue_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "办理时限"
        constraints = [
            models.UniqueConstraint(
                fields=["recommendation", "kind"],
                condition=~Q(kind__in=REPEATABLE_CLOCKS),
                name="one_clock_per_kind",
            ),
            models.UniqueConstraint(
                fields=["recommendation", "kind"],
                condition=Q(kind__in=REPEATABLE_CLOCKS, state__in=[ClockState.RUNNING, ClockState.OVERDUE]),
                name="one_open_repeatable_clock",
            ),
        ]
        indexes = [
            models.Index(fields=["state", "due_at"]),
            models.Index(
                fields=["state", "remind_at"], condition=Q(reminded_at__isnull=True), name="clock_remind_pending"
            ),
            models.Index(
                fields=["state", "escalate_at"], condition=Q(escalated_at__isnull=True), name="clock_escalate_pending"
            ),
            models.Index(fields=["provisional"], condition=Q(provisional=True), name="clock_provisional"),
        ]

    @property
    def is_late(self) -> bool:
        """Answered after its due moment, overdue now, or stopped (removal, withdrawal) after
        it was already due: the bank ran late either way, as the KPIs count it."""
        end = self.satisfied_at or self.stopped_at
        return bool(end and end > self.due_at) or self.state == ClockState.OVERDUE

    def __str__(self):
        return f"{self.get_kind_display()} 至 {self.due_at:%Y-%m-%d} ({self.get_state_display()})"


class DeadlineScan(models.Model):
    """One run of the periodic deadline scan, shown to administrators."""

    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    reminders = models.PositiveIntegerField(default=0)
    overdue = models.PositiveIntegerField(default=0)
    escalations = models.PositiveIntegerField(default=0)
    auto_started = models.PositiveIntegerField("自动起算授信时限", default=0)
    skipped = models.BooleanField("另一次扫描进行中, 本次跳过", default=False)

    class Meta:
        verbose_name = verbose_name_plural = "时限扫描"
        ordering = ["-started_at"]

    def __str__(self):
        return f"时限扫描 {self.started_at:%Y-%m-%d %H:%M}"
