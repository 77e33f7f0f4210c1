from django.apps import AppConfig


class MatchingConfig(AppConfig):
    name = "matching"
    verbose_name = "融资对接"

    def ready(self):
        from matching import restrictions  # noqa: PLC0415 (registered once the app registry is ready)

        restrictions.register()
        self._wire_calendar()

    @staticmethod
    def _wire_calendar():
        """The workflow's one cross-app hook: the working-day calendar (its own concern, below
        the workflow) says a year was entered, and the clocks whose dates were guessed are
        recomputed. The workflow's own clock effects are no hooks: the services apply the
        clock column of the workflow table where they record each event."""
        from workdays import CALENDAR_YEAR_ENTERED_HOOKS  # noqa: PLC0415 (registered once the app registry is ready)

        if _recompute_provisional_later not in CALENDAR_YEAR_ENTERED_HOOKS:
            CALENDAR_YEAR_ENTERED_HOOKS.append(_recompute_provisional_later)


def _recompute_provisional_later(year: int) -> None:
    from matching.tasks import recompute_provisional_clocks  # noqa: PLC0415 (apps.py loads before the models)

    try:
        recompute_provisional_clocks.delay(year)
    except Exception:  # no broker reachable: do it now rather than lose it
        from matching.clocks import recompute_provisional  # noqa: PLC0415 (apps.py loads before the models)

        recompute_provisional(year)
