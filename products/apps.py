from django.apps import AppConfig


class ProductsConfig(AppConfig):
    name = "products"
    verbose_name = "银行与贷款产品"

    def ready(self):
        from products import restrictions  # noqa: F401, PLC0415 (registers the tenant filters; imports models)
