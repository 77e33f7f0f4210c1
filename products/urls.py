from django.urls import path

from products import views

app_name = "products"

urlpatterns = [
    path("", views.MarketView.as_view(), name="market"),
    path("self-test/", views.SelfTestView.as_view(), name="self_test"),
    path("manage/", views.BankProductListView.as_view(), name="bank_products"),
    path("manage/<slug:code>/", views.BankProductDetailView.as_view(), name="bank_product_detail"),
    path("manage/<slug:code>/publish/", views.BankProductPublishView.as_view(), name="bank_product_publish"),
    path("manage/<slug:code>/retire/", views.BankProductRetireView.as_view(), name="bank_product_retire"),
    path("manage/<slug:code>/scenarios/", views.BankProductScenariosView.as_view(), name="bank_product_scenarios"),
    path("manage/<slug:code>/four-lists/", views.BankProductFourListsView.as_view(), name="bank_product_four_lists"),
    path("<slug:code>/", views.ProductDetailView.as_view(), name="detail"),
]
