from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "平台与租户"

    def ready(self):
        from portal import tenancy

        tenancy._register_portal_restrictions()
