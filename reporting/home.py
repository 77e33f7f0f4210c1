"""The 驾驶舱 widget of the regulator and administrator home pages: the 三个100% of the year
so far in the user's region, with numerator and denominator, and the headline amounts."""

from portal.models import Role
from reporting import selectors

HOME_ROLES = {Role.CITY_REGULATOR, Role.PROVINCE_REGULATOR, Role.PLATFORM_ADMIN, Role.CONVENER, Role.BANK_ADMIN}


def widgets(*, request, scope, role) -> dict:
    if role not in HOME_ROLES:
        return {}
    q = selectors.parse_query({}, default_period=selectors.current_year_period())
    total = selectors.figures(request.user, q)["total"][""]
    return {
        "cockpit": {
            "period_label": q.period_label,
            "as_of": q.as_of,
            "three_100": total.three_100(),
            "total": total,
            "feedback_timely": total.feedback_timely(),
            "decision_timely": total.decision_timely(),
        }
    }
