from django.urls import path

from campaigns import views

app_name = "campaigns"

urlpatterns = [
    path("", views.CampaignListView.as_view(), name="campaign_list"),
    path("new/", views.CampaignCreateView.as_view(), name="campaign_create"),
    path("my-visits/", views.MyVisitsView.as_view(), name="my_visits"),
    path("my-visits/<int:pk>/", views.VisitRecordView.as_view(), name="visit_record"),
    path("<int:pk>/", views.CampaignDetailView.as_view(), name="campaign_detail"),
    path("<int:pk>/edit/", views.CampaignEditView.as_view(), name="campaign_edit"),
    path("<int:pk>/targets/", views.CampaignTargetsView.as_view(), name="campaign_targets"),
    path("<int:pk>/export/coverage.xlsx", views.CoverageExportView.as_view(), name="coverage_export"),
    path("<int:pk>/export/targets.xlsx", views.TargetsExportView.as_view(), name="targets_export"),
    path("<int:pk>/<slug:action>/", views.CampaignActionView.as_view(), name="campaign_action"),
]
