from django.apps import AppConfig


class WorkdaysConfig(AppConfig):
    """The working-day calendar: holidays and adjusted working days as data, the arithmetic
    on them, the administrators' 工作日历 pages and `manage.py workdays`."""

    name = "workdays"
    verbose_name = "工作日历"

    def ready(self):
        from workdays import restrictions  # noqa: PLC0415 (imports models: only once they are loaded)

        restrictions.register()
