"""申报: an entity's financing need, its intended banks, its materials and the steps of its
three-level review (专班初审 → 专班银行审核 → 专班组长审核) and sign-off. The states and their
legal transitions are declared here with django-fsm; a service applies them
(matching/services/)."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django_fsm import FSMField, transition

from eligibility.fields import REPAYMENT_MODES
from entities.models import MarketEntity
from matching.models.visits import Visit
from portal.models import Organisation, Region
from products.models import Bank


class DeclarationSource(models.TextChoices):
    ENTERPRISE = "enterprise", "企业自主申报"
    STAFF = "staff", "专班代为申报"
    BULK_IMPORT = "bulk_import", "专班批量申报"
    BANK = "bank", "银行推荐"
    REDIRECT = "redirect", "不予授信后改推"
    # the enterprise applied to one product from the 产品超市: no review, straight to the bank
    DIRECT = "direct", "企业直接申请"


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

# the repayment mode a declaration asks for: the engine's need.repayment (eligibility.fields), so
# a rule on it (晋享贷: "采用按月结息，到期一次性还本的授信期限最长不超过1年", seed 000) judges the
# declaration; blank is 未定, which the engine reads as unknown
REPAYMENT_CHOICES = list(REPAYMENT_MODES.items())
REPAYMENT_UNDECIDED = "未定"

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
    repayment = models.CharField("还款方式", max_length=24, choices=REPAYMENT_CHOICES, blank=True, default="")
    banks = models.ManyToManyField(
        Bank, through="DeclarationBank", verbose_name="意向对接银行", related_name="declarations"
    )
    # {criterion: {"met": bool, "evidence": str, "checked_by": user id | None, "checked_at": iso}}
    basic_criteria = models.JSONField("五项基本标准", default=dict)
    consent_given_at = models.DateTimeField("同意共享信息时间", null=True, blank=True)
    consent_given_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # 五项基本标准 not all met: the filer's reason for submitting all the same (every reviewer
    # sees it) and the task-force lead's explicit confirmation (workflow CRITERIA_EXCEPTION_CONFIRM)
    criteria_exception = models.TextField("五项基本标准例外理由", blank=True, default="")
    criteria_exception_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    criteria_exception_at = models.DateTimeField("例外理由填写时间", null=True, blank=True)
    criteria_exception_confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="例外确认人(专班组长)",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    criteria_exception_confirmed_at = models.DateTimeField("例外确认时间", null=True, blank=True)

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

    # a correction (workflow CORRECT_BATCH_ENTRY): signed into a batch by mistake, taken out
    # of it before the push, back in the convener's queue
    @transition(field=state, source=DeclarationState.RECOMMENDED, target=DeclarationState.LEAD_APPROVED)
    def revert_signoff(self):
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

    def __str__(self):
        return f"{self.declaration} 意向银行 {self.position}: {self.bank}"


def material_upload_to(instance, filename):
    return f"materials/{instance.declaration_id}/{filename}"


class DeclarationMaterial(models.Model):
    """A file of a declaration: uploaded by the enterprise or the task force for every bank
    it goes to, or collected by one bank on its lead (`recommendation`), which only that
    lead's branch (and the enterprise and its county) sees. `item` names the entry of the
    bank's materials list it answers, if any."""

    declaration = models.ForeignKey(Declaration, on_delete=models.CASCADE, related_name="materials")
    recommendation = models.ForeignKey(
        "Recommendation",
        verbose_name="银行收集(线索)",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="bank_materials",
    )
    item = models.CharField("对应材料", max_length=200, blank=True, default="")
    file = models.FileField("文件", upload_to=material_upload_to, max_length=255)
    original_name = models.CharField("文件名", max_length=255)
    content_type = models.CharField("类型", max_length=64)
    size = models.PositiveIntegerField("大小(字节)")
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(auto_now_add=True)
    # withdrawn by the bank administrator as uploaded by mistake (workflow MATERIAL_WITHDRAW):
    # the file stays stored for the audit, but no longer counts as a material
    withdrawn_at = models.DateTimeField("撤回时间", null=True, blank=True)
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    withdrawn_reason = models.TextField("撤回原因", blank=True, default="")

    class Meta:
        verbose_name = verbose_name_plural = "申报材料"
        ordering = ["uploaded_at"]

    def __str__(self):
        return f"{self.original_name} ({self.item or '申请材料'})"


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

    def __str__(self):
        return f"{self.get_stage_display()} {self.get_decision_display()}"
