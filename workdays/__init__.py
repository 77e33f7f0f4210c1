"""The working-day calendar (issue 6): pure arithmetic in `arithmetic`, the data in
`models`, `calendar_from_db()` in `loader`, administrator entry of later years in
`services`/`views`, and `manage.py workdays`.

Nothing here imports models (the package is imported before they load); the restriction
registry's entries are in `restrictions`, which `workdays.apps.WorkdaysConfig.ready()`
registers.
"""

from collections.abc import Callable

# Called with the year (int) after an administrator's entry of that year has committed;
# the deadline clocks append a callable here to recompute their provisional due dates.
# Keep hooks quick (enqueue a task); each runs on its own, a failing one is logged.
CALENDAR_YEAR_ENTERED_HOOKS: list[Callable[[int], None]] = []
