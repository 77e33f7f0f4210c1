from django.urls import path

from batch_matching import views

app_name = "matching_batch"

urlpatterns = [
    path("runs/", views.RunListView.as_view(), name="run_list"),
    path("runs/detail/", views.RunDetailView.as_view(), name="run_detail"),
    path("runs/progress/", views.RunProgressView.as_view(), name="run_progress"),
    path("runs/resume/", views.RunResumeView.as_view(), name="run_resume"),
    path("potential-customers/", views.PotentialCustomerListView.as_view(), name="potential_customers"),
    path("potential-customers/export.xlsx", views.PotentialCustomerExportView.as_view(), name="potential_export"),
    path("near-misses/", views.NearMissListView.as_view(), name="near_misses"),
    path("mine/", views.MyMatchesView.as_view(), name="my_matches"),
]
