"""The home page's 大走访 counters (portal.settings.PORTAL_HOME_WIDGETS): a visitor's open visits
and how many of them are overdue (not visited after their due date)."""

from campaigns import coverage, selectors
from campaigns.models import CampaignState, Target


def widgets(*, request, scope, role) -> dict:
    rows = selectors.my_assignments(user=request.user).filter(campaign__state=CampaignState.RUNNING)
    count = rows.count()
    if not count:
        return {}
    late = coverage.overdue_targets(Target.objects.filter(pk__in=rows.values("target_id"))).count()
    return {"visit_tasks": count, "visit_tasks_late": late}
