from django.apps import AppConfig


class MatchingConfig(AppConfig):
    name = "matching"
    verbose_name = "融资对接"

    def ready(self):
        from matching import restrictions

        restrictions.register()
        self._wire_clocks()
        from matching.batch import hooks as batch_hooks, restrictions as batch_restrictions

        batch_restrictions.register()
        batch_hooks.register()
        try:
            from matching.workdays import register_restrictions
        except ImportError:  # the calendar package registers its own once present
            return
        register_restrictions()

    @staticmethod
    def _wire_clocks():
        from matching import clocks, services
        from matching.workdays import CALENDAR_YEAR_ENTERED_HOOKS

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
