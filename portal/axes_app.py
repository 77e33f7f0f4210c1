"""django-axes (the login lockout) under a Chinese name in the Django admin; its models'
names come from the portal's own translations (locale/zh_Hans). Kept out of portal/apps.py:
a second AppConfig there would stop Django from choosing PortalConfig by itself."""

from axes.apps import AppConfig as AxesAppConfig


class AxesConfig(AxesAppConfig):
    verbose_name = "登录保护"
