from django.apps import AppConfig


class BatchMatchingConfig(AppConfig):
    """Batch matching: every entity × every active product version evaluated inside
    PostgreSQL, stored, and kept fresh after entity edits and product publications."""

    name = "batch_matching"
    verbose_name = "批量匹配"

    def ready(self):
        from batch_matching import hooks, restrictions  # noqa: PLC0415 (import models: only once they are loaded)

        restrictions.register()
        # cross-app hooks: entities and products announce changes, batch matching re-matches
        hooks.register()
