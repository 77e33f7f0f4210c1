"""推荐清单 batches: declarations signed off together and pushed to their intended banks."""

from django.conf import settings
from django.db import models
from django_fsm import FSMField, transition

from portal.models import Organisation, Region


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
