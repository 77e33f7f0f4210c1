"""Visits, notifications and overdue supervision (逾期督办)."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone

from coordination.selectors import overdue_by_department
from entities.models import MarketEntity
from matching import notifications, selectors, services
from matching.clocks import late_feedback_counts, overdue_by_branch
from matching.forms import (
    VisitForm,
)
from matching.models import (
    DeadlineScan,
)
from portal.forms import apply_application_error
from portal.mixins import RestrictedListView
from portal.services import ApplicationError
from portal.tenancy import restrict
from workdays.arithmetic import SHANGHAI

# --- visits and notifications ------------------------------------------------------------

VISIT_FIELDS = ("visited_on", "channel", "people", "findings", "need_found")


class VisitListView(RestrictedListView):
    template_name = "matching/visit_list.html"
    context_object_name = "visits"

    def select(self, *, user, params):
        return selectors.visit_list(user=user)

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            form=kwargs.pop("form", None) or VisitForm(initial={"visited_on": timezone.localdate()}), **kwargs
        )

    def post(self, request):
        """Recorded: back to the list (PRG). Refused: the list again (400) with the form as
        typed, each error beside its field."""
        form = VisitForm(request.POST)
        if form.is_valid():
            entity = (
                restrict(MarketEntity.objects.all(), request.user)
                .filter(uscc=form.cleaned_data["uscc"].strip().upper())
                .first()
            )
            if entity is None:
                form.add_error("uscc", "未找到该统一社会信用代码的主体, 或不在您的辖区")
            else:
                try:
                    services.visit_record(
                        actor=request.user,
                        entity_id=entity.pk,
                        **{k: form.cleaned_data[k] for k in VISIT_FIELDS},
                    )
                    messages.success(request, f"已登记对{entity.name}的走访")
                    if form.cleaned_data["renewal_found"]:
                        return redirect(f"{reverse('entities:renewal_record')}?entity={entity.pk}&visit=1")
                    return redirect("matching:visit_list")
                except ApplicationError as error:
                    apply_application_error(form, error, {"entity_id": "uscc"})
        self.object_list = self.get_queryset()
        return self.render_to_response(self.get_context_data(form=form), status=400)


class NotificationListView(RestrictedListView):
    template_name = "matching/notification_list.html"
    context_object_name = "notifications"

    def select(self, *, user, params):
        return selectors.notification_list(user=user, unread_only=params.get("unread") == "1")

    def post(self, request):
        notifications.notifications_mark_read(actor=request.user)
        messages.success(request, "已全部标为已读")
        return redirect("matching:notification_list")


class OverdueView(RestrictedListView):
    """逾期督办: overdue feedbacks and decisions by bank and branch, late feedbacks per bank."""

    template_name = "matching/overdue.html"
    context_object_name = "rows"
    paginate_by = 100

    def select(self, *, user, params):
        return overdue_by_branch(user=user)

    def get_context_data(self, **kwargs):
        today = timezone.localdate()
        try:
            start = dt.date.fromisoformat(self.request.GET.get("start", ""))
        except ValueError:
            start = today.replace(day=1)
        try:
            end = dt.date.fromisoformat(self.request.GET.get("end", ""))
        except ValueError:
            end = today
        late = late_feedback_counts(
            user=self.request.user,
            start=dt.datetime.combine(start, dt.time.min, tzinfo=SHANGHAI),
            end=dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=SHANGHAI),
        )
        return super().get_context_data(
            late=late,
            start=start,
            end=end,
            now=timezone.now(),
            problem_rows=overdue_by_department(user=self.request.user),
            last_scan=DeadlineScan.objects.filter(finished_at__isnull=False, skipped=False).first(),
            **kwargs,
        )
