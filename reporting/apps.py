from django.apps import AppConfig


class ReportingConfig(AppConfig):
    name = "reporting"
    verbose_name = "统计报表"

    def ready(self):
        from django.db.models.signals import post_save

        from matching.models import Visit, WorkflowEvent
        from matching.signals import clocks_rescheduled
        from portal.models import organisation_moved
        from reporting import facts, restrictions

        restrictions.register()
        # cross-app hooks (ARCHITECTURE.md): the statistics index is kept in step by the
        # writes — a sync after the commit of each transaction that records a workflow event
        # or a visit, or moves a clock's due moment; never by a read
        post_save.connect(facts.on_recorded, sender=WorkflowEvent, dispatch_uid="reporting.facts.on_event_recorded")
        post_save.connect(facts.on_recorded, sender=Visit, dispatch_uid="reporting.facts.on_visit_recorded")
        clocks_rescheduled.connect(facts.on_clocks_rescheduled, dispatch_uid="reporting.facts.on_clocks_rescheduled")
        # the index rows carry their branch's organisation path: a move rewrites them
        organisation_moved.connect(facts.on_organisation_moved, dispatch_uid="reporting.facts.on_organisation_moved")
