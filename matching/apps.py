from django.apps import AppConfig


class MatchingConfig(AppConfig):
    name = "matching"
    verbose_name = "融资对接"

    def ready(self):
        from matching import restrictions

        restrictions.register()
        self._wire_clocks()

    @staticmethod
    def _wire_clocks():
        from matching import clocks, services
        from workdays import CALENDAR_YEAR_ENTERED_HOOKS

        if clocks.on_pushed not in services.RECOMMENDATION_PUSHED_HOOKS:
            services.RECOMMENDATION_PUSHED_HOOKS.append(clocks.on_pushed)
            services.RECOMMENDATION_TRANSITION_HOOKS.append(clocks.on_transition)
            CALENDAR_YEAR_ENTERED_HOOKS.append(_recompute_provisional_later)


def _recompute_provisional_later(year: int) -> None:
    from matching.tasks import recompute_provisional_clocks

    try:
        recompute_provisional_clocks.delay(year)
    except Exception:  # no broker reachable: do it now rather than lose it
        from matching.clocks import recompute_provisional

        recompute_provisional(year)
