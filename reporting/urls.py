from django.urls import include, path

from reporting import views
from reporting.supervision import views as supervision

app_name = "reporting"

# included at the root: reporting's pages under reporting/, and the ledger page at the
# address it had when it was matching's (/matching/ledger/)
urlpatterns = [
    path(
        "reporting/",
        include(
            [
                path("", views.DashboardView.as_view(), name="dashboard"),
                path("brief/", views.BriefView.as_view(), name="brief"),
                path("drill/<slug:kind>/", views.DrillView.as_view(), name="drill"),
                path("tables/<slug:name>.<slug:extension>", views.TableDownloadView.as_view(), name="table_download"),
                path("export/<slug:kind>.<slug:extension>", views.ExportView.as_view(), name="export"),
                path("reports/", views.ReportListView.as_view(), name="reports"),
                path(
                    "reports/<int:pk>/download/", views.ScheduledReportDownloadView.as_view(), name="scheduled_download"
                ),
                path("bank-reports/", views.BankReportListView.as_view(), name="bank_reports"),
                path("targets/", views.TargetListView.as_view(), name="targets"),
                path("overdue/", supervision.OverdueDrilldownView.as_view(), name="overdue_drilldown"),
                path("supervision/", supervision.SupervisionListView.as_view(), name="supervision_list"),
                path("supervision/<int:pk>/", supervision.SupervisionDetailView.as_view(), name="supervision_detail"),
                path(
                    "supervision/<int:pk>/<slug:action>/",
                    supervision.SupervisionActionView.as_view(),
                    name="supervision_action",
                ),
            ]
        ),
    ),
    path("matching/ledger/", views.LedgerView.as_view(), name="ledger"),
]
