"""In-portal notifications (emailed after commit by matching.notifications)."""

from django.conf import settings
from django.db import models


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

    def __str__(self):
        return self.title
