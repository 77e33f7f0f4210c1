"""The home page's 批分单 counters (portal.settings.PORTAL_HOME_WIDGETS)."""

from coordination import selectors


def widgets(*, request, scope, role) -> dict:
    waiting = selectors.waiting_for(user=request.user)
    return {"problem_waiting": waiting} if waiting else {}
