"""The workflow's events: every step of a declaration and its recommendations, in order,
labelled by their kind (EventKind)."""

from django.conf import settings
from django.db import models

from matching.models.declarations import Declaration
from matching.models.leads import Recommendation


class EventKind(models.TextChoices):
    """What a WorkflowEvent records, labelled for the timeline. Which action records which kind
    (and the deadline scan's clock.* kinds) is the workflow table's (matching/workflow.py)."""

    DECLARATION_CREATED = "declaration.created", "创建申报"
    DECLARATION_UPDATED = "declaration.updated", "修改申报"
    DECLARATION_CONSENT_RECORDED = "declaration.consent_recorded", "记录企业同意共享信息"
    DECLARATION_MATERIAL_UPLOADED = "declaration.material_uploaded", "上传申报材料"
    DECLARATION_REDIRECT_PROPOSED = "declaration.redirect_proposed", "不予授信后提议改推其他银行(待企业同意并重新审核)"
    DECLARATION_SUBMITTED = "declaration.submitted", "提交申报"
    DECLARATION_CRITERIA_EXCEPTION_CONFIRMED = (
        "declaration.criteria_exception_confirmed",
        "专班组长确认五项基本标准例外",
    )
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
    RECOMMENDATION_DIRECT_APPLIED = "recommendation.direct_applied", "企业直接申请"
    RECOMMENDATION_ASSIGNED = "recommendation.assigned", "分配客户经理"
    RECOMMENDATION_CONTACTED = "recommendation.contacted", "银行已对接"
    RECOMMENDATION_MATERIALS_COMPLETE = "recommendation.materials_complete", "申请材料已收齐"
    # the materials of a contacted lead (MaterialsStage): listed by the bank, submitted by the
    # enterprise, sent back for more, or left unconfirmed until the decision clock started
    RECOMMENDATION_MATERIALS_LISTED = "recommendation.materials_listed", "银行列明所需材料"
    RECOMMENDATION_MATERIALS_SUBMITTED = "recommendation.materials_submitted", "材料已提交(待银行确认)"
    RECOMMENDATION_MATERIALS_SUPPLEMENT = "recommendation.materials_supplement", "银行要求补充材料"
    RECOMMENDATION_MATERIALS_AUTO_STARTED = (
        "recommendation.materials_auto_started",
        "银行 5 个工作日内未确认材料, 30 日授信时限自动起算",
    )
    RECOMMENDATION_MATERIAL_UPLOADED = "recommendation.material_uploaded", "银行上传收集的材料"
    RECOMMENDATION_APPROVED = "recommendation.approved", "银行授信"
    RECOMMENDATION_DECLINED = "recommendation.declined", "银行不予授信"
    RECOMMENDATION_DISBURSED = "recommendation.disbursed", "放款"
    RECOMMENDATION_NOT_DRAWN = "recommendation.not_drawn", "企业未提款"
    RECOMMENDATION_REMOVED = "recommendation.removed", "移出推荐清单"
    RECOMMENDATION_REDIRECTED = "recommendation.redirected", "提议改推其他银行"
    RECOMMENDATION_COACHED = "recommendation.coached", "专班辅导"
    RECOMMENDATION_RATED = "recommendation.rated", "企业评价服务"
    RECOMMENDATION_BASIS_CHANGED = "recommendation.basis_changed", "授信依据变化"  # post-loan watch (matching.watch)
    # corrections (issue 16 item 6): what was recorded by mistake, corrected with a reason by
    # the bank administrator (the convener for an unpushed batch); the original event stays
    RECOMMENDATION_STATE_CORRECTED = "recommendation.state_corrected", "更正: 撤销误登记的状态"
    RECOMMENDATION_DECISION_CORRECTED = "recommendation.decision_corrected", "更正授信决定"
    RECOMMENDATION_DISBURSEMENT_CORRECTED = "recommendation.disbursement_corrected", "更正放款"
    RECOMMENDATION_MATERIAL_WITHDRAWN = "recommendation.material_withdrawn", "撤回误传的材料"
    DECLARATION_SIGNOFF_CORRECTED = "declaration.signoff_corrected", "更正: 移出未推送的批次(退回待签字)"
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

    def __str__(self):
        return f"{self.get_kind_display()} ({self.created_at:%Y-%m-%d %H:%M})"
