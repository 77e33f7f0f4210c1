"""推荐 (a lead): one entity pushed to one intended bank, its states from the push to the
drawdown, the coded reasons of a decline, the drawdowns and the task force's coaching."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django_fsm import FSMField, transition
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from entities.models import MarketEntity
from matching.models.batches import RecommendationBatch
from matching.models.declarations import Declaration
from portal.models import Region
from products.models import Bank, BankBranch, LoanProductVersion


class RecommendationState(models.TextChoices):
    PUSHED = "pushed", "待对接"
    CONTACTED = "contacted", "待收齐材料"
    UNDER_REVIEW = "under_review", "审批中"
    APPROVED = "approved", "已授信"
    DECLINED = "declined", "不予授信"
    DISBURSED = "disbursed", "已放款"
    NOT_DRAWN = "not_drawn", "未提款"
    REMOVED = "removed", "已移出"


OPEN_RECOMMENDATION_STATES = [
    RecommendationState.PUSHED,
    RecommendationState.CONTACTED,
    RecommendationState.UNDER_REVIEW,
    RecommendationState.APPROVED,
    RecommendationState.DISBURSED,
]


class LeadOrigin(models.TextChoices):
    """How a lead reached the bank: pushed with the task force's 推荐清单, or applied for by the
    enterprise itself from the 产品超市 (直接申请, seed 002 point 5: "小微“无贷户”授信申请原则上5个
    工作日内回复"). Both are worked the same way (the workflow table's lead rows, the same clocks);
    the ledger and the KPIs count them apart."""

    PUSHED = "pushed", "推荐清单推送"
    DIRECT = "direct", "直接申请"


class MaterialsStage(models.TextChoices):
    """Where a contacted lead's application materials stand (seed 004 五(六): the decision
    within 30 days of complete materials). The bank lists what it needs, the enterprise (or
    the task force on its behalf) uploads and declares them submitted, and the bank confirms
    them complete or names what is missing within 5 working days; if it does neither, the
    30-day decision clock starts on its own at the end of those days (自动起算). Who moves it
    where is the workflow table's (matching/workflow.py, the 材料 rows)."""

    UNLISTED = "unlisted", "银行未列明所需材料"
    LISTED = "listed", "待企业提交材料"
    AWAITING_BANK = "awaiting_bank", "材料已提交, 待银行确认"
    SUPPLEMENT = "supplement", "待企业补充材料"
    CONFIRMED = "confirmed", "银行确认材料已收齐"
    AUTO_STARTED = "auto_started", "银行未按时确认, 30 日授信时限自动起算"


class Guarantee(models.TextChoices):
    CREDIT = "credit", "信用"
    SURETY = "surety", "保证"
    MORTGAGE = "mortgage", "抵押"
    PLEDGE = "pledge", "质押"


class ContactChannel(models.TextChoices):
    PHONE = "phone", "电话"
    VISIT = "visit", "上门走访"
    BRANCH = "branch", "到店面谈"
    ONLINE = "online", "线上"


class DeclineReason(models.Model):
    """Coded reason for 不予授信, with whether and how the entity can fix it (maintained catalogue)."""

    code = models.SlugField("代码", max_length=48, unique=True)
    label = models.CharField("原因", max_length=128)
    curable = models.BooleanField("可整改", default=False)
    advice = models.CharField("整改建议", max_length=255, blank=True, default="")
    is_active = models.BooleanField("启用", default=True)
    ordering = models.PositiveSmallIntegerField(default=100)

    class Meta:
        verbose_name = verbose_name_plural = "不予授信原因"
        ordering = ["ordering", "code"]

    def __str__(self):
        return self.label


class Recommendation(models.Model):
    """推荐: one entity pushed to one intended bank, routed to the branch serving its county."""

    # none for a direct application (origin DIRECT): it was never in a 推荐清单 batch
    batch = models.ForeignKey(
        RecommendationBatch, null=True, blank=True, on_delete=models.PROTECT, related_name="recommendations"
    )
    origin = models.CharField("来源", max_length=16, choices=LeadOrigin.choices, default=LeadOrigin.PUSHED)
    # 无贷户: at the direct application, the entity had no current loan at any bank (its 借贷往来)
    no_loan_entity = models.BooleanField("无贷户", default=False)
    declaration = models.ForeignKey(Declaration, on_delete=models.PROTECT, related_name="recommendations")
    entity = models.ForeignKey(MarketEntity, on_delete=models.PROTECT, related_name="recommendations")
    region = models.ForeignKey(Region, verbose_name="县(区)", on_delete=models.PROTECT, related_name="+")
    bank = models.ForeignKey(Bank, verbose_name="银行", on_delete=models.PROTECT, related_name="recommendations")
    branch = models.ForeignKey(
        BankBranch, verbose_name="承办机构", on_delete=models.PROTECT, related_name="recommendations"
    )
    product_version = models.ForeignKey(
        LoanProductVersion,
        verbose_name="推荐时最优产品版本",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    state = FSMField("状态", default=RecommendationState.PUSHED, choices=RecommendationState.choices, protected=True)
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="客户经理",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_leads",
    )
    pushed_at = models.DateTimeField("推送时间")
    contacted_at = models.DateTimeField("对接时间", null=True, blank=True)
    contact_channel = models.CharField(
        "对接方式", max_length=16, choices=ContactChannel.choices, blank=True, default=""
    )
    contact_note = models.TextField("对接情况", blank=True, default="")
    materials_complete_at = models.DateTimeField("材料收齐时间", null=True, blank=True)
    # the application materials (MaterialsStage): the bank's list (from the product's, edited
    # per lead), what it last named missing, its note, and when each step happened
    materials_stage = models.CharField(
        "申请材料", max_length=16, choices=MaterialsStage.choices, default=MaterialsStage.UNLISTED
    )
    materials_required = models.JSONField("所需材料清单", default=list, blank=True)
    materials_missing = models.JSONField("待补充材料", default=list, blank=True)
    materials_note = models.TextField("材料说明", blank=True, default="")
    materials_listed_at = models.DateTimeField("列明材料时间", null=True, blank=True)
    materials_submitted_at = models.DateTimeField("材料提交时间", null=True, blank=True)
    decided_at = models.DateTimeField("决定时间", null=True, blank=True)
    credit_amount = models.BigIntegerField("授信金额(元)", null=True, blank=True)
    rate_percent = models.DecimalField("年利率(%)", max_digits=6, decimal_places=3, null=True, blank=True)
    credit_term_months = models.PositiveSmallIntegerField("授信期限(月)", null=True, blank=True)
    guarantee = models.CharField("担保方式", max_length=16, choices=Guarantee.choices, blank=True, default="")
    is_credit_loan = models.BooleanField("信用贷款", null=True, blank=True)
    is_first_loan = models.BooleanField("首贷", null=True, blank=True)
    decline_reason = models.ForeignKey(
        DeclineReason, verbose_name="不予授信原因", null=True, blank=True, on_delete=models.PROTECT
    )
    decline_note = models.TextField("不予授信说明", blank=True, default="")
    disbursed_total = models.BigIntegerField("累计放款(元)", default=0)
    removed_at = models.DateTimeField(null=True, blank=True)
    removed_reason = models.TextField("移出原因", blank=True, default="")
    satisfaction = models.PositiveSmallIntegerField("服务评价", null=True, blank=True)
    satisfaction_comment = models.TextField("评价内容", blank=True, default="")
    # an approval outside the limits (product cap, declared need, product rate or term range),
    # approved by a bank administrator with a reason (matching.workflow APPROVE_OVERRIDE)
    override_reason = models.TextField("超限审批理由", blank=True, default="")
    override_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="超限审批人",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    override_exceeded = models.JSONField("超出的限额", default=list, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = verbose_name_plural = "推荐"
        ordering = ["-pushed_at", "-id"]
        permissions = [("work_recommendation", "办理线索(对接、授信、放款)")]
        constraints = [
            models.UniqueConstraint(fields=["declaration", "bank"], name="one_recommendation_per_declaration_bank"),
            models.CheckConstraint(condition=Q(disbursed_total__gte=0), name="disbursed_total_non_negative"),
            models.CheckConstraint(
                condition=Q(credit_amount__isnull=True) | Q(disbursed_total__lte=models.F("credit_amount")),
                name="disbursed_within_credit",
            ),
            models.CheckConstraint(
                condition=Q(satisfaction__isnull=True) | Q(satisfaction__gte=1, satisfaction__lte=5),
                name="satisfaction_1_to_5",
            ),
        ]
        indexes = [
            models.Index(fields=["branch", "state"]),
            models.Index(fields=["bank", "state"]),
            models.Index(fields=["region", "state"]),
        ]

    def __str__(self):
        return f"{self.entity.name} → {self.bank.name}"

    @property
    def is_direct(self) -> bool:
        """直接申请: the enterprise applied to this bank's product from the 产品超市."""
        return self.origin == LeadOrigin.DIRECT

    @property
    def materials_auto_started(self) -> bool:
        """The 30-day decision clock started on its own (自动起算): the bank neither confirmed
        the submitted materials nor named what was missing within 5 working days."""
        return self.materials_stage == MaterialsStage.AUTO_STARTED

    @property
    def materials_awaiting_enterprise(self) -> bool:
        """The bank listed (or sent back) the materials: the enterprise's turn to upload and submit."""
        return self.materials_stage in (MaterialsStage.LISTED, MaterialsStage.SUPPLEMENT)

    @property
    def materials_version(self) -> str:
        """What the user saw of the materials when he opened the page (their stage, the list's
        and the submission's moments): a page sends it back with its action, and the service
        refuses the action when someone else moved the materials meanwhile."""

        def moment(at) -> str:
            return str(int(at.timestamp() * 1_000_000)) if at else "0"

        return f"{self.materials_stage}.{moment(self.materials_listed_at)}.{moment(self.materials_submitted_at)}"

    @transition(field=state, source=RecommendationState.PUSHED, target=RecommendationState.CONTACTED)
    def contact(self):
        pass

    @transition(field=state, source=RecommendationState.CONTACTED, target=RecommendationState.UNDER_REVIEW)
    def materials_complete(self):
        pass

    @transition(field=state, source=RecommendationState.UNDER_REVIEW, target=RecommendationState.APPROVED)
    def approve(self):
        pass

    @transition(
        field=state,
        source=[RecommendationState.PUSHED, RecommendationState.CONTACTED, RecommendationState.UNDER_REVIEW],
        target=RecommendationState.DECLINED,
    )
    def decline(self):
        pass

    @transition(
        field=state,
        source=[RecommendationState.APPROVED, RecommendationState.DISBURSED],
        target=RecommendationState.DISBURSED,
    )
    def disburse(self):
        pass

    @transition(field=state, source=RecommendationState.APPROVED, target=RecommendationState.NOT_DRAWN)
    def not_drawn(self):
        pass

    @transition(field=state, source=OPEN_RECOMMENDATION_STATES, target=RecommendationState.REMOVED)
    def remove(self):
        pass

    # corrections (workflow CORRECT_STATE, CORRECT_DRAWDOWN): a state recorded by mistake goes
    # back to the one before it; the event history keeps both
    @transition(field=state, source=RecommendationState.CONTACTED, target=RecommendationState.PUSHED)
    def revert_contact(self):
        pass

    @transition(field=state, source=RecommendationState.UNDER_REVIEW, target=RecommendationState.CONTACTED)
    def revert_materials_complete(self):
        pass

    @transition(field=state, source=RecommendationState.APPROVED, target=RecommendationState.UNDER_REVIEW)
    def revert_approve(self):
        pass

    # a decline taken back: to where it found the lead (state_before_decline)
    @transition(field=state, source=RecommendationState.DECLINED, target=RecommendationState.UNDER_REVIEW)
    def revert_decline_to_review(self):
        pass

    @transition(field=state, source=RecommendationState.DECLINED, target=RecommendationState.CONTACTED)
    def revert_decline_to_contact(self):
        pass

    @transition(field=state, source=RecommendationState.DECLINED, target=RecommendationState.PUSHED)
    def revert_decline_to_push(self):
        pass

    @property
    def state_before_decline(self) -> str:
        """Where the decline found the lead: under review once its materials were complete,
        contacted once contacted, else pushed (where taking the decline back returns it)."""
        if self.materials_complete_at is not None:
            return RecommendationState.UNDER_REVIEW
        if self.contacted_at is not None:
            return RecommendationState.CONTACTED
        return RecommendationState.PUSHED

    @transition(field=state, source=RecommendationState.NOT_DRAWN, target=RecommendationState.APPROVED)
    def revert_not_drawn(self):
        pass

    # every drawdown voided: the lead is approved and not drawn yet
    @transition(field=state, source=RecommendationState.DISBURSED, target=RecommendationState.APPROVED)
    def revert_disburse(self):
        pass


class RecommendationUserObjectPermission(UserObjectPermissionBase):
    """django-guardian direct-foreign-key grants: a lead assigned to one account manager."""

    content_object = models.ForeignKey(Recommendation, on_delete=models.CASCADE)


class RecommendationGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Recommendation, on_delete=models.CASCADE)


class Disbursement(models.Model):
    recommendation = models.ForeignKey(Recommendation, on_delete=models.PROTECT, related_name="disbursements")
    amount = models.BigIntegerField("放款金额(元)")
    disbursed_on = models.DateField("放款日期")
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    # a correction (workflow CORRECT_DRAWDOWN): voided as recorded by mistake (kept for the
    # audit, no longer counted), or its amount corrected (the event keeps before and after)
    voided_at = models.DateTimeField("作废时间", null=True, blank=True)
    correction_reason = models.TextField("更正原因", blank=True, default="")

    class Meta:
        verbose_name = verbose_name_plural = "放款"
        ordering = ["disbursed_on", "id"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="disbursement_positive")]

    def __str__(self):
        return f"放款 {self.amount / 10000:g} 万元 ({self.disbursed_on:%Y-%m-%d})"


class Coaching(models.Model):
    """辅导: the task force's follow-up with an entity the bank declined."""

    recommendation = models.ForeignKey(Recommendation, on_delete=models.CASCADE, related_name="coachings")
    note = models.TextField("辅导情况")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = "辅导记录"
        ordering = ["created_at"]

    def __str__(self):
        return f"辅导: {self.note[:40]}"
