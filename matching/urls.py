from django.urls import path

from matching import views

app_name = "matching"

urlpatterns = [
    path("declare/", views.DeclareView.as_view(), name="declare"),
    path("declarations/", views.DeclarationListView.as_view(), name="declaration_list"),
    path("declarations/export.xlsx", views.DeclarationExportView.as_view(), name="declaration_export"),
    path("declarations/new/", views.StaffDeclareView.as_view(), name="staff_declare"),
    path("declarations/import/", views.DeclarationImportView.as_view(), name="declaration_import"),
    path("recommend/", views.BankRecommendView.as_view(), name="bank_recommend"),
    path("declarations/<int:pk>/", views.DeclarationDetailView.as_view(), name="declaration_detail"),
    path("declarations/<int:pk>/act/<slug:action>/", views.DeclarationActionView.as_view(), name="declaration_action"),
    path("declarations/<int:pk>/edit/", views.DeclarationEditView.as_view(), name="declaration_edit"),
    path("review/", views.ReviewQueueView.as_view(), name="review_queue"),
    path("batches/", views.BatchListView.as_view(), name="batch_list"),
    path("batches/<int:pk>/", views.BatchDetailView.as_view(), name="batch_detail"),
    path("leads/", views.LeadInboxView.as_view(), name="lead_inbox"),
    path("apply/<int:product_id>/", views.DirectApplyView.as_view(), name="direct_apply"),
    path("leads/<int:pk>/", views.LeadDetailView.as_view(), name="lead_detail"),
    path("leads/<int:pk>/act/<slug:action>/", views.LeadActionView.as_view(), name="lead_action"),
    path("leads/<int:pk>/materials/", views.LeadMaterialUploadView.as_view(), name="lead_material_upload"),
    path("leads/<int:pk>/contact/", views.LeadContactRevealView.as_view(), name="lead_contact_reveal"),
    path("visits/", views.VisitListView.as_view(), name="visit_list"),
    path("notifications/", views.NotificationListView.as_view(), name="notification_list"),
    path("overdue/", views.OverdueView.as_view(), name="overdue"),
    path("declarations/<int:pk>/materials/", views.MaterialUploadView.as_view(), name="material_upload"),
    path("materials/<int:pk>/download/", views.MaterialDownloadView.as_view(), name="material_download"),
]
