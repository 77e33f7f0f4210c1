from django.apps import AppConfig


class ReportingConfig(AppConfig):
    name = "reporting"
    verbose_name = "统计报表"

    def ready(self):
        from portal.models import organisation_moved
        from reporting import facts, restrictions

        restrictions.register()
        # the index rows carry their branch's organisation path: a move rewrites them
        organisation_moved.connect(facts.on_organisation_moved, dispatch_uid="reporting.facts.on_organisation_moved")
