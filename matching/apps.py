from django.apps import AppConfig


class MatchingConfig(AppConfig):
    name = "matching"
    verbose_name = "融资对接"

    def ready(self):
        from matching import restrictions  # noqa: PLC0415 (registered once the app registry is ready)

        restrictions.register()
        self._wire_calendar()
        self._wire_entities()

    @staticmethod
    def _wire_entities():
        """Two cross-app hooks of the register (entities.changes): after an entity changes, the
        post-loan watch compares what approved loans relied on (matching.watch); a register
        write's notices (名特优新 proposals and decisions) become notifications."""
        from entities.changes import (  # noqa: PLC0415 (registered once the app registry is ready)
            ENTITY_CHANGED_HOOKS,
            NOTICE_HOOKS,
        )
        from matching import notifications, watch  # noqa: PLC0415 (they import models: only once they are loaded)

        if watch.on_entities_changed not in ENTITY_CHANGED_HOOKS:
            ENTITY_CHANGED_HOOKS.append(watch.on_entities_changed)
        if notifications.deliver_notices not in NOTICE_HOOKS:
            NOTICE_HOOKS.append(notifications.deliver_notices)

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
