"""走访: a visit to an entity — by the county task force, or (a 大走访 campaign, seed 004 二(四)) by
a 走访人员 of a township, village, the 工商联, a 委办局 or a bank's account manager to whom the task
force assigned the entity. "通过电话、走访等形式" — by phone or on site (`channel`). "对有明确融资
需求的企业开展重点走访, 全面了解企业基本情况、经营状况、融资需求、真实贷款用途等情况, 按照 … 5 项
基本标准, 指导企业填报信息": a visit that found a need keeps that 重点走访 record (basic situation,
operation, the need, the real purpose, the five criteria with evidence), from which a declaration
is started pre-filled (matching.views.declarations.StaffDeclareView ?visit=)."""

from django.conf import settings
from django.db import models

from entities.models import MarketEntity
from portal.models import Organisation, Region


class VisitChannel(models.TextChoices):
    ON_SITE = "on_site", "实地走访"
    PHONE = "phone", "电话走访"


class Visit(models.Model):
    """走访: a visit to an entity (its county's task force keeps it)."""

    entity = models.ForeignKey(MarketEntity, verbose_name="经营主体", on_delete=models.PROTECT, related_name="visits")
    task_force = models.ForeignKey(
        Organisation, verbose_name="工作专班", on_delete=models.PROTECT, related_name="visits"
    )
    region = models.ForeignKey(Region, verbose_name="县(区)", on_delete=models.PROTECT, related_name="+")
    visited_on = models.DateField("走访日期")
    channel = models.CharField("走访方式", max_length=16, choices=VisitChannel.choices, default=VisitChannel.ON_SITE)
    people = models.CharField("走访人员", max_length=255)
    findings = models.TextField("走访情况", blank=True, default="")
    need_found = models.BooleanField("发现融资需求", default=False)
    # the 重点走访 record of a visit that found a clear need (all optional otherwise)
    basic_situation = models.TextField("企业基本情况", blank=True, default="")
    operation = models.TextField("经营状况", blank=True, default="")
    need_amount = models.BigIntegerField("融资需求金额(元)", null=True, blank=True)
    need_term_months = models.PositiveSmallIntegerField("融资需求期限(月)", null=True, blank=True)
    loan_purpose = models.CharField("真实贷款用途", max_length=255, blank=True, default="")
    # the five basic criteria as the visitor found them: {key: {"met": bool, "evidence": str}}
    basic_criteria = models.JSONField("五项基本标准", default=dict, blank=True)
    # the organisation the visitor recorded it for (a township, a bank branch, …)
    visitor_organisation = models.ForeignKey(
        Organisation,
        verbose_name="走访人员所在机构",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = "走访记录"
        ordering = ["-visited_on", "-id"]

    def __str__(self):
        return f"{self.entity} 走访 {self.visited_on:%Y-%m-%d}"

    @property
    def is_key_visit(self) -> bool:
        """重点走访: a need was found and its amount and purpose recorded."""
        return self.need_found and bool(self.need_amount) and bool(self.loan_purpose)
