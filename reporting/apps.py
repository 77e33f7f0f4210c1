from django.apps import AppConfig


class ReportingConfig(AppConfig):
    name = "reporting"
    verbose_name = "统计报表"

    def ready(self):
        from matching.hooks import (  # noqa: PLC0415 (registered once the app registry is ready)
            CORRECTION_HOOKS,
            LEDGER_CHANGED_HOOKS,
        )
        from portal.models import organisation_moved  # noqa: PLC0415 (registered once the app registry is ready)
        from reporting import facts, restrictions  # noqa: PLC0415 (registered once the app registry is ready)

        restrictions.register()
        # cross-app hooks (ARCHITECTURE.md): the statistics index is kept in step by the
        # writes — one sync after the commit of each transaction that records workflow events
        # or visits, or moves clocks' due moments; never by a read
        if facts.sync_after_commit not in LEDGER_CHANGED_HOOKS:
            LEDGER_CHANGED_HOOKS.append(facts.sync_after_commit)
        # a correction keeps the index rows it changes as they were, for the figures as of before it
        if facts.keep_before_correction not in CORRECTION_HOOKS:
            CORRECTION_HOOKS.append(facts.keep_before_correction)
        # the index rows carry their branch's organisation path: a move rewrites them
        organisation_moved.connect(facts.on_organisation_moved, dispatch_uid="reporting.facts.on_organisation_moved")
