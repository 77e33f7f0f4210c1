from django.apps import AppConfig


class EntitiesConfig(AppConfig):
    name = "entities"
    verbose_name = "经营主体"

    def ready(self):
        from entities import restrictions  # noqa: PLC0415 (imports models: only once they are loaded)

        restrictions.register()
