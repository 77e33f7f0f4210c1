"""The 驾驶舱 widget of the regulator and administrator home pages: the 三个100% of the year
so far in the user's region, with numerator and denominator, and the headline amounts; and the
regulators' tile of open 批分单 and 督办单 in their region (with the overdue ones)."""

from django.db.models import Count
from django.utils import timezone

from coordination.selectors import problem_list
from portal.models import Role
from reporting import selectors
from reporting.supervision.selectors import ORDERS_OPEN_Q, order_list, orders_overdue_q, problems_overdue_q

MECHANISM_TILE_ROLES = {Role.CITY_REGULATOR, Role.PROVINCE_REGULATOR, Role.CONVENER, Role.TASK_FORCE_LEAD}


def mechanism_tile(user) -> dict:
    """Open 批分单 and 督办单 the user may see now, and how many of them are overdue: one
    statement for each kind (its two counts side by side)."""
    now = timezone.now()
    problems = problem_list(user=user, open_only=True).aggregate(
        open=Count("id"), overdue=Count("id", filter=problems_overdue_q(now))
    )
    orders = order_list(user=user).aggregate(
        open=Count("id", filter=ORDERS_OPEN_Q), overdue=Count("id", filter=orders_overdue_q(now))
    )
    return {
        "problems_open": problems["open"],
        "problems_overdue": problems["overdue"],
        "orders_open": orders["open"],
        "orders_overdue": orders["overdue"],
    }


HOME_ROLES = {Role.CITY_REGULATOR, Role.PROVINCE_REGULATOR, Role.PLATFORM_ADMIN, Role.CONVENER, Role.BANK_ADMIN}


def widgets(*, request, scope, role) -> dict:
    out = {"mechanism_tile": mechanism_tile(request.user)} if role in MECHANISM_TILE_ROLES else {}
    if role not in HOME_ROLES:
        return out
    q = selectors.parse_query({}, default_period=selectors.current_year_period())
    total = selectors.figures(request.user, q)["total"][""]
    return {
        **out,
        "cockpit": {
            "period_label": q.period_label,
            "as_of": q.as_of,
            "three_100": total.three_100(),
            "total": total,
            "feedback_timely": total.feedback_timely(),
            "decision_timely": total.decision_timely(),
        },
    }
