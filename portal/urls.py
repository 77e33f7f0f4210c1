from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from portal import api, views

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("organisations", api.OrganisationViewSet, basename="organisation")
router.register("audit-events", api.AuditEventViewSet, basename="audit-event")

api_urlpatterns = [
    path("", include(router.urls)),
    path("me/", api.MeView.as_view(), name="api-me"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path("accounts/password/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("organisations/", views.OrganisationListView.as_view(), name="organisation_list"),
    path("audit/", views.AuditEventListView.as_view(), name="audit_event_list"),
    path("matching/", include("matching.urls")),
    path("workdays/", include("matching.workdays.urls")),
    path("api/v1/", include(api_urlpatterns)),
    path("django-admin/", admin.site.urls),
]

handler403 = "portal.views.error_403"
handler404 = "portal.views.error_404"
handler500 = "portal.views.error_500"
