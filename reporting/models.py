"""What reporting stores itself: figures banks report per month (一高一提一降 and the
无还本续贷 table), targets per region and year, and the weekly 成效统计表 files.

Everything else is computed from the ledger (matching.Recommendation) and its events
(matching.WorkflowEvent); reporting keeps no second bookkeeping of the workflow."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from matching.models import LeadOrigin
from portal.models import Organisation, Region
from products.models import Bank, BankBranch


class BankPeriodReport(models.Model):
    """报送: one bank branch's figures for one month. A correction is a new row (the old one
    stops being current), so figures "as of" a past moment can be read back unchanged."""

    bank = models.ForeignKey(Bank, verbose_name="银行", on_delete=models.PROTECT, related_name="+")
    branch = models.ForeignKey(
        BankBranch, verbose_name="报送机构", on_delete=models.PROTECT, related_name="period_reports"
    )
    region = models.ForeignKey(Region, verbose_name="所在地", on_delete=models.PROTECT, related_name="+")
    period = models.DateField("报送月份")  # first day of the month
    small_business_balance = models.BigIntegerField("普惠型小微企业贷款余额(元)")
    all_loans_balance = models.BigIntegerField("各项贷款余额(元)")
    credit_loan_balance = models.BigIntegerField("其中: 小微企业信用贷款余额(元)")
    average_rate = models.DecimalField("普惠型小微企业贷款平均利率(%)", max_digits=6, decimal_places=3)
    renewals_count = models.PositiveIntegerField("当月无还本续贷笔数", default=0)
    renewals_amount = models.BigIntegerField("当月无还本续贷金额(元)", default=0)
    renewal_balance = models.BigIntegerField("无还本续贷余额(元)", default=0)
    note = models.CharField("说明", max_length=255, blank=True, default="")
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    submitted_at = models.DateTimeField("报送时间")
    is_current = models.BooleanField("现行", default=True)

    class Meta:
        verbose_name = verbose_name_plural = "银行报送"
        ordering = ["-period", "bank__name", "branch__name", "-submitted_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["branch", "period"], condition=Q(is_current=True), name="one_current_report_per_branch_month"
            ),
            models.CheckConstraint(
                condition=Q(small_business_balance__gte=0, renewals_amount__gte=0, renewal_balance__gte=0),
                name="report_amounts_non_negative",
            ),
            models.CheckConstraint(
                condition=Q(credit_loan_balance__gte=0) & Q(credit_loan_balance__lte=F("small_business_balance")),
                name="report_credit_within_small_business",
            ),
            models.CheckConstraint(
                condition=Q(small_business_balance__lte=F("all_loans_balance")), name="report_small_business_within_all"
            ),
            models.CheckConstraint(condition=Q(average_rate__gte=0, average_rate__lt=36), name="report_rate_range"),
        ]
        indexes = [models.Index(fields=["period", "region"]), models.Index(fields=["branch", "period", "submitted_at"])]

    def __str__(self):
        return f"{self.branch.name} {self.period:%Y-%m}"


class TargetMetric(models.TextChoices):
    SME_NET_INCREASE = "sme_net_increase", "小微企业贷款净增(元)"
    CREDIT_LOAN_SHARE = "credit_loan_share", "信用类贷款占比(%)"
    CREDITED_AMOUNT = "credited_amount", "推荐清单授信金额(元)"
    DISBURSED_AMOUNT = "disbursed_amount", "推荐清单放款金额(元)"


PERCENT_METRICS = {TargetMetric.CREDIT_LOAN_SHARE}


class Target(models.Model):
    """A region's goal for a year (seed 000 二: 净增 15 / 20 / 25 亿元, 信用类贷款占比 25%)."""

    region = models.ForeignKey(Region, verbose_name="行政区划", on_delete=models.PROTECT, related_name="+")
    year = models.PositiveSmallIntegerField("年度")
    metric = models.CharField("指标", max_length=32, choices=TargetMetric.choices)
    value = models.DecimalField(
        "目标值", max_digits=18, decimal_places=4, help_text="金额为元, 占比为百分数(如 25 表示 25%)"
    )
    note = models.CharField("依据", max_length=255, blank=True, default="")
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        verbose_name = verbose_name_plural = "目标"
        ordering = ["region_id", "year", "metric"]
        constraints = [
            models.UniqueConstraint(fields=["region", "year", "metric"], name="one_target_per_region_year_metric"),
            models.CheckConstraint(condition=Q(year__gte=2000, year__lte=2100), name="target_year_range"),
        ]

    def __str__(self):
        return f"{self.region.name} {self.year} {self.get_metric_display()}"


class ReportKind(models.TextChoices):
    EFFECTIVENESS = "effectiveness", "成效统计表"
    LEDGER = "ledger", "台账"
    RANKING = "ranking", "银行排名通报"
    RENEWALS = "renewals", "无还本续贷情况统计表"
    BRIEF = "brief", "工作简报"


def report_upload_to(instance, filename):
    return f"reports/{instance.organisation_id}/{filename}"


class ScheduledReport(models.Model):
    """A report built by the weekly job for one mechanism, kept for download."""

    organisation = models.ForeignKey(Organisation, verbose_name="协调机制", on_delete=models.PROTECT, related_name="+")
    region = models.ForeignKey(Region, verbose_name="行政区划", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField("报表", max_length=16, choices=ReportKind.choices, default=ReportKind.EFFECTIVENESS)
    week = models.CharField("周次", max_length=8, help_text="ISO 周, 如 2026-W05")
    period = models.CharField("统计期间", max_length=16)
    as_of = models.DateTimeField("统计时点")
    file = models.FileField("文件", upload_to=report_upload_to, max_length=255)
    filename = models.CharField("文件名", max_length=128)
    size = models.PositiveIntegerField("大小(字节)", default=0)
    recipients = models.JSONField("收件人", default=list, blank=True)
    emailed_at = models.DateTimeField("发送时间", null=True, blank=True)
    created_at = models.DateTimeField("生成时间", auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = "定期报表"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "kind", "week"], name="one_scheduled_report_per_week")
        ]
        indexes = [models.Index(fields=["region", "-created_at"])]

    def __str__(self):
        return self.filename


class BriefSubscription(models.Model):
    """A mechanism user's subscription to the 工作简报 (seed 004 十六, 十七): the weekly job builds
    his mechanism's brief (reporting.brief) and mails it to every subscriber of that mechanism
    who has an e-mail address. One row per user; unsubscribing deletes it."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, verbose_name="订阅人", on_delete=models.CASCADE, related_name="brief_subscription"
    )
    organisation = models.ForeignKey(Organisation, verbose_name="协调机制", on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField("订阅时间", default=timezone.now)

    class Meta:
        verbose_name = verbose_name_plural = "工作简报订阅"
        ordering = ["organisation", "user"]

    def __str__(self):
        return f"{self.user_id} → {self.organisation_id}"


class LedgerRow(models.Model):
    """The columns of a ledger row's statistics index (LedgerFact, and the rows as they were
    before a correction, LedgerFactVersion)."""

    entity_id = models.IntegerField()
    declaration_id = models.IntegerField()
    region = models.CharField(max_length=12)  # county code
    bank_id = models.IntegerField()
    branch_id = models.IntegerField()
    branch_path = models.CharField(max_length=255)
    pushed_at = models.DateTimeField()
    pushed_month = models.IntegerField()  # YYYYMM, local time
    # LeadOrigin of the row: pushed with the 推荐清单, or a 直接申请 (seed 002 point 5), counted apart
    origin = models.CharField(max_length=16, default=LeadOrigin.PUSHED)
    need_amount = models.BigIntegerField()
    # the need this row serves: the id of the declaration that first stated it. A declaration
    # pushed to two banks is one need in two rows; a re-recommendation (改推) after a decline
    # continues the need of the declaration it follows. Statistics count a need once per
    # county (per bank in a bank's row), however many rows carry it.
    need_id = models.IntegerField(null=True)
    contacted_at = models.DateTimeField(null=True)
    feedback_at = models.DateTimeField(null=True)
    materials_at = models.DateTimeField(null=True)
    decision_at = models.DateTimeField(null=True)
    approved_at = models.DateTimeField(null=True)
    declined_at = models.DateTimeField(null=True)
    not_drawn_at = models.DateTimeField(null=True)
    removed_at = models.DateTimeField(null=True)
    rated_at = models.DateTimeField(null=True)
    credit_amount = models.BigIntegerField(null=True)
    rate_percent = models.DecimalField(max_digits=6, decimal_places=3, null=True)
    term_months = models.PositiveSmallIntegerField(null=True)
    is_credit_loan = models.BooleanField(default=False)
    is_first_loan = models.BooleanField(default=False)
    score = models.PositiveSmallIntegerField(null=True)
    disbursed_total = models.BigIntegerField(default=0)
    disbursement_count = models.PositiveIntegerField(default=0)
    first_disbursed_at = models.DateTimeField(null=True)
    last_disbursed_at = models.DateTimeField(null=True)
    feedback_due_at = models.DateTimeField(null=True)
    feedback_satisfied_at = models.DateTimeField(null=True)
    decision_due_at = models.DateTimeField(null=True)
    decision_satisfied_at = models.DateTimeField(null=True)
    clock_provisional = models.BooleanField(default=False)
    last_event_id = models.BigIntegerField(default=0)
    # A push group is the one or two rows of a declaration pushed together (one per intended
    # bank). Its first row (the lead) also carries its sibling's milestones, so distinct
    # entities can be counted by scanning leads instead of grouping rows by entity; and the
    # push moment of the entity's previous group in its county, to correct the rare entity
    # with two groups in one period.
    is_lead = models.BooleanField(db_default=True)
    has_sibling = models.BooleanField(db_default=False)
    sib_contacted_at = models.DateTimeField(null=True)
    sib_approved_at = models.DateTimeField(null=True)
    sib_first_loan = models.BooleanField(db_default=False)
    sib_first_disbursed_at = models.DateTimeField(null=True)
    sib_removed_at = models.DateTimeField(null=True)
    sib_declined_at = models.DateTimeField(null=True)
    sib_not_drawn_at = models.DateTimeField(null=True)
    prev_group_pushed_at = models.DateTimeField(null=True)

    class Meta:
        abstract = True


class LedgerFact(LedgerRow):
    """Statistics index of one ledger row: the moments its events were recorded and the values
    they carried, with its deadline clocks' due moments — a projection of WorkflowEvent (and
    the clocks) kept in step by the writes (reporting.facts.sync_after_commit: synced after
    each commit that records an event), never by a read, and rebuilt from the events at any
    time. Figures "as of" a moment compare these recording moments with it, so
    one narrow table answers every period, scope and as-of date without re-reading the
    event history. Nothing is entered here; it is not a second bookkeeping."""

    recommendation = models.OneToOneField(
        "matching.Recommendation", primary_key=True, on_delete=models.CASCADE, related_name="+"
    )

    class Meta:
        verbose_name = verbose_name_plural = "台账统计索引"
        indexes = [
            models.Index(fields=["region", "pushed_at"], name="fact_region_pushed"),
            models.Index(fields=["bank_id", "pushed_at"], name="fact_bank_pushed"),
            models.Index(fields=["branch_path"], name="fact_branch_path", opclasses=["varchar_pattern_ops"]),
            models.Index(fields=["clock_provisional"], condition=Q(clock_provisional=True), name="fact_provisional"),
            models.Index(fields=["declaration_id"], name="fact_declaration"),
            models.Index(fields=["entity_id"], name="fact_entity"),
        ]


class LedgerFactVersion(LedgerRow):
    """A ledger row's index as it was before a correction (issue 16 item 6): written by the
    correction's transaction (reporting.facts.keep_before_correction, through
    matching.hooks.CORRECTION_HOOKS), valid from the previous correction of the lead's push
    group (or always) until the correction's moment. Figures as of a moment read, for each
    row, the version valid then, or the current LedgerFact when none is (reporting.selectors
    .facts_queryset): a KPI as of a date before a correction still shows what was known then."""

    recommendation = models.ForeignKey(
        "matching.Recommendation", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    valid_from = models.DateTimeField(null=True)
    valid_until = models.DateTimeField()

    class Meta:
        verbose_name = verbose_name_plural = "台账统计索引(更正前)"
        indexes = [models.Index(fields=["recommendation", "valid_until"], name="fact_version_until")]


class DeclarationFact(models.Model):
    """Statistics index of one declaration: when it was first submitted (申报), from its events."""

    declaration = models.OneToOneField(
        "matching.Declaration", primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    entity_id = models.IntegerField()
    region = models.CharField(max_length=12)
    amount = models.BigIntegerField()
    need_id = models.IntegerField(null=True)  # as LedgerFact.need_id: a 改推 continues the need it follows
    submitted_at = models.DateTimeField(null=True)
    # first submission of the previous declaration of the same need (a 改推's predecessor): the
    # declared amount of a period counts a need once
    prev_need_submitted_at = models.DateTimeField(null=True)
    # first submission of the entity's previous declaration in the county: a declaration is the
    # entity's first of a period when this is before the period (counts 户 without grouping)
    prev_submitted_at = models.DateTimeField(null=True)

    class Meta:
        verbose_name = verbose_name_plural = "申报统计索引"
        indexes = [
            models.Index(fields=["region", "submitted_at"], name="declfact_region_submitted"),
            models.Index(fields=["entity_id"], name="declfact_entity"),
            models.Index(fields=["need_id"], name="declfact_need"),
        ]


class VisitFact(models.Model):
    """Statistics index of one visit: the visit date of the entity's previous visit in the
    county, so the entities visited in a period are counted without grouping by entity."""

    visit = models.OneToOneField("matching.Visit", primary_key=True, on_delete=models.CASCADE, related_name="+")
    entity_id = models.IntegerField()
    region = models.CharField(max_length=12)
    visited_on = models.DateField()
    created_at = models.DateTimeField()
    prev_visited_on = models.DateField(null=True)

    class Meta:
        verbose_name = verbose_name_plural = "走访统计索引"
        indexes = [
            models.Index(fields=["region", "visited_on"], name="visitfact_region_visited"),
            models.Index(fields=["entity_id"], name="visitfact_entity"),
        ]


class FactWatermark(models.Model):
    """How far LedgerFact has folded the event table (events with a larger id are pending).

    `fingerprint` describes what the last sync saw above the watermark (see
    reporting.facts.state): while it is unchanged a sync has nothing to do. To force a
    rebuild at the next sync, set last_event_id = 0 and fingerprint = ""."""

    name = models.CharField(max_length=32, primary_key=True)
    last_event_id = models.BigIntegerField(default=0)
    generation = models.PositiveIntegerField(default=0)  # bumped by each full rebuild and each organisation move
    synced_at = models.DateTimeField(null=True)
    fingerprint = models.CharField(max_length=200, blank=True, default="")


# --- 督办单 (seed 004 十六 "及时发现问题、解决问题", 十七 "遇到的问题和重要事项, 及时向各级协调机制报告")


class SupervisionState(models.TextChoices):
    """Where a 督办单 stands; who moves it is the table in reporting/supervision/policy.py."""

    ISSUED = "issued", "待签收"
    ACKNOWLEDGED = "acknowledged", "办理中"
    ANSWERED = "answered", "已回复"
    CLOSED = "closed", "已办结"


class SupervisionEventKind(models.TextChoices):
    ISSUED = "issued", "下发督办单"
    ACKNOWLEDGED = "acknowledged", "签收"
    ANSWERED = "answered", "办理回复"
    CLOSED = "closed", "办结"
    OVERDUE = "overdue", "逾期未回复"
    ESCALATED = "escalated", "逾期升级至上级机制"


class SupervisionOrder(models.Model):
    """督办单: a regulator (county task force lead or convener, city or province mechanism) tells a
    bank branch or a 职能部门 to act on the overdue items it names, by a due date in working days;
    the target's administrator signs for it (签收) and answers (办理回复); the issuer closes it.
    `region` is the issuer's region: its tenancy. The escalation scan (reporting/supervision/scan.py)
    claims `overdue_at` and `escalated_at` once each."""

    issuer = models.ForeignKey(Organisation, verbose_name="督办机构", on_delete=models.PROTECT, related_name="+")
    region = models.ForeignKey(Region, verbose_name="督办机构所在地", on_delete=models.PROTECT, related_name="+")
    target = models.ForeignKey(
        Organisation, verbose_name="被督办单位", on_delete=models.PROTECT, related_name="supervision_orders"
    )
    subject = models.CharField("督办事项", max_length=200)
    demand = models.TextField("督办要求")
    leads = models.ManyToManyField("matching.Recommendation", verbose_name="涉及线索", blank=True, related_name="+")
    problems = models.ManyToManyField("coordination.Problem", verbose_name="涉及批分单", blank=True, related_name="+")
    state = models.CharField("状态", max_length=16, choices=SupervisionState.choices, default=SupervisionState.ISSUED)
    due_working_days = models.PositiveSmallIntegerField("办理时限(工作日)", default=5)
    due_at = models.DateTimeField("回复期限")
    escalate_at = models.DateTimeField("逾期升级时间")
    overdue_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField("签收时间", null=True, blank=True)
    answer = models.TextField("办理回复", blank=True, default="")
    answered_at = models.DateTimeField("回复时间", null=True, blank=True)
    issued_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        verbose_name = verbose_name_plural = "督办单"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["state", "due_at"])]

    def __str__(self):
        return f"督办单 {self.number} · {self.target.name}"

    @property
    def number(self) -> str:
        return f"DB{self.created_at:%Y}{self.pk:06d}"

    @property
    def awaiting_answer(self) -> bool:
        return self.state in (SupervisionState.ISSUED, SupervisionState.ACKNOWLEDGED)

    @property
    def is_overdue(self) -> bool:
        return self.awaiting_answer and self.due_at < timezone.now()


class SupervisionEvent(models.Model):
    """One step on a 督办单's timeline."""

    order = models.ForeignKey(SupervisionOrder, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField("事项", max_length=16, choices=SupervisionEventKind.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    note = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = verbose_name_plural = "督办单记录"
        ordering = ["created_at", "id"]

    def __str__(self):
        return f"{self.get_kind_display()} · {self.created_at:%Y-%m-%d %H:%M}"
