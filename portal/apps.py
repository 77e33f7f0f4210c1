from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "平台与租户"

    def ready(self):
        from portal import replicas, tenancy, tokens, users  # noqa: PLC0415 (import models: only once they are loaded)

        tenancy._register_portal_restrictions()
        tokens.connect_signals()  # (importing tokens registers the ApiToken restriction)
        users.connect_signals()  # a temporary password must be changed at the next sign-in
        replicas.connect_signals()  # the routed Celery tasks read from a replica (portal/replicas.py)
