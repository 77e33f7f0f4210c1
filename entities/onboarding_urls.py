"""URLs of onboarding and 忘记密码 (entities/onboarding_views.py), mounted at the root."""

from django.contrib.auth import views as auth_views
from django.urls import include, path, reverse_lazy
from rest_framework.routers import DefaultRouter

from entities import onboarding_views as views

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("entity-claims", views.EntityClaimViewSet, basename="entity-claim")

claim_urls = (
    [
        path("", views.ClaimListView.as_view(), name="claim_list"),
        path("<int:pk>/decide/", views.ClaimDecideView.as_view(), name="claim_decide"),
    ],
    "entities_claims",
)

urlpatterns = [
    path("accounts/register/", views.RegisterView.as_view(), name="register"),
    path("accounts/password/forgot/", views.PasswordForgotView.as_view(), name="password_forgot"),
    path("accounts/password/phone/", views.PasswordPhoneResetView.as_view(), name="password_reset_phone"),
    path(
        "accounts/password/reset/",
        auth_views.PasswordResetView.as_view(
            email_template_name="registration/password_reset_email.txt",
            subject_template_name="registration/password_reset_subject.txt",
            success_url=reverse_lazy("password_reset_done"),
        ),
        name="password_reset",
    ),
    path("accounts/password/reset/sent/", auth_views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "accounts/password/reset/<uidb64>/<token>/",
        views.PasswordEmailResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "accounts/password/reset/complete/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path("entities/claims/", include(claim_urls)),
    path("api/v1/", include(router.urls)),
]
