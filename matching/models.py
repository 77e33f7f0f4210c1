"""The 申报清单 → 推荐清单 workflow: visits, declarations, reviews, recommendation batches,
recommendations (one entity → one intended bank), bank decisions, drawdowns, events.

States and their legal transitions are declared here with django-fsm, and the kinds of the
events the workflow records (EventKind). Which action moves which state where, who may do it,
which event it records and what it does to the deadline clocks is the workflow table of
matching/workflow.py; every transition is applied by a service in matching/services.py,
under a row lock, through `workflow.apply` (a refused transition is a 409, never a 500)."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django_fsm import FSMField, transition
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from entities.models import MarketEntity
from portal.models import Organisation, Region
from products.models import Bank, BankBranch, LoanProductVersion


class Visit(models.Model):
    """走访: a task-force visit to an entity."""

    entity = models.ForeignKey(MarketEntity, verbose_name="经营主体", on_delete=models.PROTECT, related_name="visits")
    task_force = models.ForeignKey(
        Organisation, verbose_name="工作专班", on_delete=models.PROTECT, related_name="visits"
    )
    region = models.ForeignKey(Region, verbose_name="县(区)", on_delete=models.PROTECT, related_name="+")
    visited_on = models.DateField("走访日期")
    people = models.CharField("走访人员", max_length=255)
    findings = models.TextField("走访情况", blank=True, default="")
    need_found = models.BooleanField("发现融资需求", default=False)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = "走访记录"
        ordering = ["-visited_on", "-id"]


class DeclarationSource(models.TextChoices):
    ENTERPRISE = "enterprise", "企业自主申报"
    STAFF = "staff", "专班代为申报"
    BULK_IMPORT = "bulk_import", "专班批量申报"
    BANK = "bank", "银行推荐"
    REDIRECT = "redirect", "不予授信后改推"


class DeclarationState(models.TextChoices):
    DRAFT = "draft", "草稿"
    SUBMITTED = "submitted", "待初审"
    PRELIMINARY_APPROVED = "preliminary_approved", "待银行审核"
    BANK_REVIEWED = "bank_reviewed", "待组长审核"
    LEAD_APPROVED = "lead_approved", "待签字推送"
    RECOMMENDED = "recommended", "已推荐"
    REJECTED = "rejected", "未通过"
    WITHDRAWN = "withdrawn", "已撤回"
    REMOVED = "removed", "已移出"


OPEN_DECLARATION_STATES = [
    DeclarationState.DRAFT,
    DeclarationState.SUBMITTED,
    DeclarationState.PRELIMINARY_APPROVED,
    DeclarationState.BANK_REVIEWED,
    DeclarationState.LEAD_APPROVED,
]
BEFORE_SIGNOFF = OPEN_DECLARATION_STATES

BASIC_CRITERIA = {
    "compliant_operation": "合规持续经营",
    "fixed_premises": "固定经营场所",
    "genuine_need": "真实融资需求",
    "good_credit": "信用状况良好",
    "lawful_purpose": "贷款用途依法合规",
}


class Declaration(models.Model):
    """申报: one entity's financing need on its way through the three-level review."""

    entity = models.ForeignKey(
        MarketEntity, verbose_name="经营主体", on_delete=models.PROTECT, related_name="declarations"
    )
    task_force = models.ForeignKey(
        Organisation, verbose_name="工作专班", on_delete=models.PROTECT, related_name="declarations"
    )
    region = models.ForeignKey(Region, verbose_name="县(区)", on_delete=models.PROTECT, related_name="+")
    source = models.CharField("来源", max_length=16, choices=DeclarationSource.choices)
    source_bank = models.ForeignKey(
        Bank, verbose_name="推荐银行", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    state = FSMField("状态", default=DeclarationState.DRAFT, choices=DeclarationState.choices, protected=True)

    amount = models.BigIntegerField("融资金额(元)")
    term_months = models.PositiveSmallIntegerField("期限(月)")
    purpose = models.CharField("资金用途", max_length=255)
    banks = models.ManyToManyField(
        Bank, through="DeclarationBank", verbose_name="意向对接银行", related_name="declarations"
    )
    # {criterion: {"met": bool, "evidence": str, "checked_by": user id | None, "checked_at": iso}}
    basic_criteria = models.JSONField("五项基本标准", default=dict)
    consent_given_at = models.DateTimeField("同意共享信息时间", null=True, blank=True)
    consent_given_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    visit = models.ForeignKey(Visit, null=True, blank=True, on_delete=models.SET_NULL, related_name="declarations")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    submitted_at = models.DateTimeField("提交时间", null=True, blank=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)
    last_comment = models.TextField("最近意见", blank=True, default="")
    batch = models.ForeignKey(
        "RecommendationBatch", null=True, blank=True, on_delete=models.SET_NULL, related_name="declarations"
    )
    # a re-recommendation (改推) after a bank's decline: the declined recommendation it follows
    redirected_from = models.ForeignKey(
        "Recommendation",
        verbose_name="改推自",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="redirects",
    )

    class Meta:
        verbose_name = verbose_name_plural = "申报"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["entity"],
                condition=Q(state__in=OPEN_DECLARATION_STATES),
                name="one_open_declaration_per_entity",
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="declaration_amount_positive"),
            models.CheckConstraint(condition=Q(term_months__gt=0, term_months__lte=360), name="declaration_term_range"),
        ]
        indexes = [models.Index(fields=["region", "state"]), models.Index(fields=["task_force", "state"])]

    def __str__(self):
        return f"{self.entity.name} 申报 {self.amount} 元"

    # --- transitions (called only from matching.services, under a row lock) ---
    @transition(field=state, source=DeclarationState.DRAFT, target=DeclarationState.SUBMITTED)
    def submit(self):
        pass

    @transition(field=state, source=DeclarationState.SUBMITTED, target=DeclarationState.PRELIMINARY_APPROVED)
    def preliminary_approve(self):
        pass

    @transition(field=state, source=DeclarationState.PRELIMINARY_APPROVED, target=DeclarationState.BANK_REVIEWED)
    def bank_review_approve(self):
        pass

    @transition(field=state, source=DeclarationState.BANK_REVIEWED, target=DeclarationState.LEAD_APPROVED)
    def lead_approve(self):
        pass

    @transition(field=state, source=DeclarationState.LEAD_APPROVED, target=DeclarationState.RECOMMENDED)
    def convener_signoff(self):
        pass

    @transition(
        field=state,
        source=[
            DeclarationState.SUBMITTED,
            DeclarationState.PRELIMINARY_APPROVED,
            DeclarationState.BANK_REVIEWED,
            DeclarationState.LEAD_APPROVED,
        ],
        target=DeclarationState.DRAFT,
    )
    def return_for_fix(self):
        pass

    @transition(
        field=state,
        source=[
            DeclarationState.SUBMITTED,
            DeclarationState.PRELIMINARY_APPROVED,
            DeclarationState.BANK_REVIEWED,
            DeclarationState.LEAD_APPROVED,
        ],
        target=DeclarationState.REJECTED,
    )
    def reject(self):
        pass

    @transition(field=state, source=BEFORE_SIGNOFF, target=DeclarationState.WITHDRAWN)
    def withdraw(self):
        pass

    @transition(field=state, source=DeclarationState.RECOMMENDED, target=DeclarationState.REMOVED)
    def remove(self):
        pass


class DeclarationBank(models.Model):
    declaration = models.ForeignKey(Declaration, on_delete=models.CASCADE, related_name="intended_banks")
    bank = models.ForeignKey(Bank, on_delete=models.PROTECT, related_name="+")
    position = models.PositiveSmallIntegerField("顺位")

    class Meta:
        verbose_name = verbose_name_plural = "意向对接银行"
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["declaration", "bank"], name="unique_declaration_bank"),
            models.UniqueConstraint(fields=["declaration", "position"], name="unique_declaration_bank_position"),
            # one or two intended banks, never more
            models.CheckConstraint(condition=Q(position__in=[1, 2]), name="at_most_two_intended_banks"),
        ]


def material_upload_to(instance, filename):
    return f"materials/{instance.declaration_id}/{filename}"


class DeclarationMaterial(models.Model):
    declaration = models.ForeignKey(Declaration, on_delete=models.CASCADE, related_name="materials")
    file = models.FileField("文件", upload_to=material_upload_to, max_length=255)
    original_name = models.CharField("文件名", max_length=255)
    content_type = models.CharField("类型", max_length=64)
    size = models.PositiveIntegerField("大小(字节)")
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = "申报材料"
        ordering = ["uploaded_at"]


class ReviewStage(models.TextChoices):
    PRELIMINARY_REVIEW = "preliminary_review", "专班初审"
    BANK_REVIEW = "bank_review", "专班银行审核"
    LEAD_REVIEW = "lead_review", "专班组长审核"
    CONVENER_SIGNOFF = "convener_signoff", "召集人签字确认"


class ReviewDecision(models.TextChoices):
    APPROVE = "approve", "通过"
    RETURN = "return", "退回修改"
    REJECT = "reject", "不通过"


class ReviewStep(models.Model):
    declaration = models.ForeignKey(Declaration, on_delete=models.CASCADE, related_name="review_steps")
    stage = models.CharField("审核环节", max_length=32, choices=ReviewStage.choices)
    decision = models.CharField("结论", max_length=16, choices=ReviewDecision.choices)
    comment = models.TextField("意见", blank=True, default="")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = "审核记录"
        ordering = ["created_at", "id"]


class BatchState(models.TextChoices):
    BUILDING = "building", "待推送"
    PUSHED = "pushed", "已推送"


class RecommendationBatch(models.Model):
    """推荐清单 batch: declarations signed off together and pushed to their intended banks."""

    task_force = models.ForeignKey(
        Organisation, verbose_name="工作专班", on_delete=models.PROTECT, related_name="batches"
    )
    region = models.ForeignKey(Region, verbose_name="县(区)", on_delete=models.PROTECT, related_name="+")
    title = models.CharField("批次名称", max_length=128)
    state = FSMField("状态", default=BatchState.BUILDING, choices=BatchState.choices, protected=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    pushed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    pushed_at = models.DateTimeField("推送时间", null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "推荐批次"
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return self.title

    @transition(field=state, source=BatchState.BUILDING, target=BatchState.PUSHED)
    def push(self):
        pass


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

    batch = models.ForeignKey(RecommendationBatch, on_delete=models.PROTECT, related_name="recommendations")
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

    class Meta:
        verbose_name = verbose_name_plural = "放款"
        ordering = ["disbursed_on", "id"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="disbursement_positive")]


class Coaching(models.Model):
    """辅导: the task force's follow-up with an entity the bank declined."""

    recommendation = models.ForeignKey(Recommendation, on_delete=models.CASCADE, related_name="coachings")
    note = models.TextField("辅导情况")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = "辅导记录"
        ordering = ["created_at"]


class EventKind(models.TextChoices):
    """What a WorkflowEvent records, labelled for the timeline. Which action records which kind
    (and the deadline scan's clock.* kinds) is the workflow table's (matching/workflow.py)."""

    DECLARATION_CREATED = "declaration.created", "创建申报"
    DECLARATION_UPDATED = "declaration.updated", "修改申报"
    DECLARATION_CONSENT_RECORDED = "declaration.consent_recorded", "记录企业同意共享信息"
    DECLARATION_MATERIAL_UPLOADED = "declaration.material_uploaded", "上传申报材料"
    DECLARATION_REDIRECT_PROPOSED = "declaration.redirect_proposed", "不予授信后提议改推其他银行(待企业同意并重新审核)"
    DECLARATION_SUBMITTED = "declaration.submitted", "提交申报"
    DECLARATION_BANK_RECOMMENDED = "declaration.bank_recommended", "银行推荐企业"
    DECLARATION_WITHDRAWN = "declaration.withdrawn", "企业撤回申报"
    DECLARATION_SIGNED_OFF = "declaration.signed_off", "召集人签字确认, 列入推荐清单"
    DECLARATION_REMOVED = "declaration.removed", "移出推荐清单"
    PRELIMINARY_REVIEW_APPROVE = "review.preliminary_review.approve", "专班初审通过"
    PRELIMINARY_REVIEW_RETURN = "review.preliminary_review.return", "专班初审退回"
    PRELIMINARY_REVIEW_REJECT = "review.preliminary_review.reject", "专班初审不通过"
    BANK_REVIEW_APPROVE = "review.bank_review.approve", "专班银行审核通过"
    BANK_REVIEW_RETURN = "review.bank_review.return", "专班银行审核退回"
    BANK_REVIEW_REJECT = "review.bank_review.reject", "专班银行审核不通过"
    LEAD_REVIEW_APPROVE = "review.lead_review.approve", "专班组长审核通过"
    LEAD_REVIEW_RETURN = "review.lead_review.return", "专班组长审核退回"
    LEAD_REVIEW_REJECT = "review.lead_review.reject", "专班组长审核不通过"
    RECOMMENDATION_PUSHED = "recommendation.pushed", "推送至银行"
    RECOMMENDATION_ASSIGNED = "recommendation.assigned", "分配客户经理"
    RECOMMENDATION_CONTACTED = "recommendation.contacted", "银行已对接"
    RECOMMENDATION_MATERIALS_COMPLETE = "recommendation.materials_complete", "申请材料已收齐"
    RECOMMENDATION_APPROVED = "recommendation.approved", "银行授信"
    RECOMMENDATION_DECLINED = "recommendation.declined", "银行不予授信"
    RECOMMENDATION_DISBURSED = "recommendation.disbursed", "放款"
    RECOMMENDATION_NOT_DRAWN = "recommendation.not_drawn", "企业未提款"
    RECOMMENDATION_REMOVED = "recommendation.removed", "移出推荐清单"
    RECOMMENDATION_REDIRECTED = "recommendation.redirected", "提议改推其他银行"
    RECOMMENDATION_COACHED = "recommendation.coached", "专班辅导"
    RECOMMENDATION_RATED = "recommendation.rated", "企业评价服务"
    RECOMMENDATION_BASIS_CHANGED = "recommendation.basis_changed", "授信依据变化"  # post-loan watch (matching.watch)
    CLOCK_REMINDER = "clock.reminder", "时限到期提醒"
    CLOCK_OVERDUE = "clock.overdue", "逾期督办"
    CLOCK_ESCALATED = "clock.escalated", "逾期升级至市级机制"


class WorkflowEvent(models.Model):
    """Every step of a declaration and its recommendations, in order: the timeline and the
    event history that statistics "as of a past date" are computed from."""

    declaration = models.ForeignKey(Declaration, on_delete=models.CASCADE, related_name="events")
    recommendation = models.ForeignKey(
        Recommendation, null=True, blank=True, on_delete=models.CASCADE, related_name="events"
    )
    kind = models.CharField("事件", max_length=48, db_index=True, choices=EventKind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = verbose_name_plural = "办理事件"
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["kind", "created_at"])]


class Notification(models.Model):
    """In-portal notification; `dedupe_key` makes sending idempotent (no duplicate on retry)."""

    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    title = models.CharField("标题", max_length=200)
    body = models.TextField("内容", blank=True, default="")
    url = models.CharField(max_length=255, blank=True, default="")
    dedupe_key = models.CharField(max_length=200, unique=True)
    emailed_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = verbose_name_plural = "通知"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["recipient", "read_at"])]


class ClockKind(models.TextChoices):
    FEEDBACK = "feedback", "反馈时限(5 个工作日)"
    DECISION = "decision", "授信决定时限(30 日)"


class ClockState(models.TextChoices):
    RUNNING = "running", "计时中"
    OVERDUE = "overdue", "已逾期"
    SATISFIED = "satisfied", "已完成"
    STOPPED = "stopped", "已停止"


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
    overdue_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "办理时限"
        constraints = [models.UniqueConstraint(fields=["recommendation", "kind"], name="one_clock_per_kind")]
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


class DeadlineScan(models.Model):
    """One run of the periodic deadline scan, shown to administrators."""

    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    reminders = models.PositiveIntegerField(default=0)
    overdue = models.PositiveIntegerField(default=0)
    escalations = models.PositiveIntegerField(default=0)
    skipped = models.BooleanField("另一次扫描进行中, 本次跳过", default=False)

    class Meta:
        verbose_name = verbose_name_plural = "时限扫描"
        ordering = ["-started_at"]
