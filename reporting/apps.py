from django.apps import AppConfig


class ReportingConfig(AppConfig):
    name = "reporting"
    verbose_name = "统计报表"

    def ready(self):
        from reporting import restrictions

        restrictions.register()
