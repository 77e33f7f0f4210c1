from django.apps import AppConfig


class CoordinationConfig(AppConfig):
    name = "coordination"
    verbose_name = "批分单"

    def ready(self):
        from coordination import restrictions  # noqa: PLC0415 (registered once the app registry is ready)

        restrictions.register()
