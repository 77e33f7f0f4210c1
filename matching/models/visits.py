"""走访: a task-force visit to an entity."""

from django.conf import settings
from django.db import models

from entities.models import MarketEntity
from portal.models import Organisation, Region


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

    def __str__(self):
        return f"{self.entity} 走访 {self.visited_on:%Y-%m-%d}"
