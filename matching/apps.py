from django.apps import AppConfig


class MatchingConfig(AppConfig):
    name = "matching"
    verbose_name = "融资对接"

    def ready(self):
        from matching import restrictions

        restrictions.register()
        try:
            from matching.workdays import register_restrictions
        except ImportError:  # the calendar package registers its own once present
            return
        register_restrictions()
