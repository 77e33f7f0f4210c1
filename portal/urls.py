from csp.decorators import csp_update
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from campaigns import apis as campaign_apis
from coordination import apis as coordination_apis
from entities.apis import BankRelationshipViewSet, EntityViewSet, RenewalViewSet
from matching import apis as matching_apis
from portal import api, views
from products import apis as product_apis
from reporting import apis as reporting_apis
from reporting.supervision import apis as supervision_apis

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("organisations", api.OrganisationViewSet, basename="organisation")
router.register("banks", product_apis.BankViewSet, basename="bank")
router.register("branches", product_apis.BranchViewSet, basename="branch")
router.register("products", product_apis.ProductViewSet, basename="product")
router.register("audit-events", api.AuditEventViewSet, basename="audit-event")
router.register("tokens", api.ApiTokenViewSet, basename="api-token")
router.register("users", api.UserViewSet, basename="user")
router.register("entities", EntityViewSet, basename="entity")
router.register("bank-relationships", BankRelationshipViewSet, basename="bank-relationship")
router.register("renewals", RenewalViewSet, basename="renewal")
router.register("declarations", matching_apis.DeclarationViewSet, basename="declaration")
router.register("materials", matching_apis.MaterialViewSet, basename="material")
router.register("batches", matching_apis.BatchViewSet, basename="batch")
router.register("leads", matching_apis.LeadViewSet, basename="lead")
router.register("visits", matching_apis.VisitViewSet, basename="visit")
router.register("problems", coordination_apis.ProblemViewSet, basename="problem")
router.register("campaigns", campaign_apis.CampaignViewSet, basename="campaign")
router.register("visit-tasks", campaign_apis.VisitTaskViewSet, basename="visit-task")
router.register("decline-reasons", matching_apis.DeclineReasonViewSet, basename="decline-reason")
router.register("notifications", matching_apis.NotificationViewSet, basename="notification")
router.register("ledger", reporting_apis.LedgerViewSet, basename="ledger")
router.register("kpis", reporting_apis.KpiViewSet, basename="kpi")
router.register("bank-reports", reporting_apis.BankReportViewSet, basename="bank-report")
router.register("targets", reporting_apis.TargetViewSet, basename="target")
router.register("scheduled-reports", reporting_apis.ScheduledReportViewSet, basename="scheduled-report")
router.register("supervision-orders", supervision_apis.SupervisionOrderViewSet, basename="supervision-order")

api_urlpatterns = [
    path("", include(router.urls)),
    path("me/", api.MeView.as_view(), name="api-me"),
    path("eligibility/preview", include("products.apis_eligibility")),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # Swagger UI sets inline styles: only this page allows them (scripts stay 'self')
    path(
        "docs/",
        csp_update({"style-src": ["'unsafe-inline'"]})(SpectacularSwaggerSplitView.as_view(url_name="api-schema")),
        name="api-docs",
    ),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password/", views.TrackedPasswordChangeView.as_view(), name="password_change"),
    path("accounts/password/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("accounts/tokens/", views.ApiTokenListView.as_view(), name="api_token_list"),
    path("accounts/tokens/<int:pk>/revoke/", views.ApiTokenRevokeView.as_view(), name="api_token_revoke"),
    path("organisations/", views.OrganisationListView.as_view(), name="organisation_list"),
    path(
        "organisations/contact/", login_required(views.OrganisationContactView.as_view()), name="organisation_contact"
    ),
    path("users/", views.UserListView.as_view(), name="user_list"),
    path("users/new/", views.UserFormView.as_view(), name="user_invite"),
    path("users/<int:pk>/", views.UserFormView.as_view(), name="user_edit"),
    path("users/<int:pk>/<slug:verb>/", views.UserActionView.as_view(), name="user_action"),
    path("audit/", views.AuditEventListView.as_view(), name="audit_event_list"),
    path("", include("entities.onboarding_urls")),  # 注册, 忘记密码, 企业认领审核 (page and API)
    path("entities/", include("entities.urls")),
    path("matching/", include("matching.urls")),
    path("coordination/", include("coordination.urls")),
    path("campaigns/", include("campaigns.urls")),
    path("matching-batch/", include("batch_matching.urls")),
    path("workdays/", include("workdays.urls")),
    path("products/", include("products.urls")),
    path("", include("reporting.urls")),  # reporting/… and the ledger page at matching/ledger/
    path("api/v1/", include(api_urlpatterns)),
    path("django-admin/", admin.site.urls),
]

handler400 = "portal.views.error_400"
handler403 = "portal.views.error_403"
handler404 = "portal.views.error_404"
handler500 = "portal.views.error_500"
