from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    name = "campaigns"
    verbose_name = "千企万户大走访"

    def ready(self):
        from campaigns import restrictions  # noqa: PLC0415 (registered once the app registry is ready)

        restrictions.register()
