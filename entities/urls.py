from django.urls import path

from entities import views

app_name = "entities"

urlpatterns = [
    path("", views.EntityListView.as_view(), name="entity_list"),
    path("export.xlsx", views.EntityExportView.as_view(), name="entity_export"),
    path("townships/", views.TownshipOptionsView.as_view(), name="township_options"),
    path("suggest/", views.EntitySuggestView.as_view(), name="entity_suggest"),
    path("mine/", views.MyEntityView.as_view(), name="my_entity"),
    path("<int:pk>/", views.EntityDetailView.as_view(), name="entity_detail"),
    path("<int:pk>/edit/", views.EntityEditView.as_view(), name="entity_edit"),
    path("<int:pk>/reveal/", views.EntityRevealView.as_view(), name="entity_reveal"),
    path("<int:pk>/credit-repairs/", views.CreditRepairCreateView.as_view(), name="credit_repair"),
    path("<int:pk>/credit/", views.CreditFlagsView.as_view(), name="credit_flags"),
    path("<int:pk>/honors/", views.HonorGrantView.as_view(), name="honor_grant"),
    path("<int:pk>/honors/revoke/", views.HonorRevokeView.as_view(), name="honor_revoke"),
    path("<int:pk>/honors/propose/", views.HonorProposeView.as_view(), name="honor_propose"),
    path("<int:pk>/tier-mark/", views.TierMarkView.as_view(), name="tier_mark"),
    path("honor-proposals/", views.HonorProposalListView.as_view(), name="honor_proposals"),
    path("honor-proposals/<int:pk>/decide/", views.HonorProposalDecideView.as_view(), name="honor_proposal_decide"),
    path("<int:pk>/financials/", views.FinancialYearView.as_view(), name="financial_year"),
    path("<int:pk>/bank-relationship/", views.BankRelationshipView.as_view(), name="bank_relationship"),
    path("renewals/", views.RenewalListView.as_view(), name="renewal_list"),
    path("renewals/new/", views.RenewalRecordView.as_view(), name="renewal_record"),
    path("renewals/<int:pk>/act/", views.RenewalActView.as_view(), name="renewal_act"),
    path("imports/", views.EntityImportListView.as_view(), name="import_list"),
    path("imports/template/", views.RegisterTemplateView.as_view(), name="import_template"),
    path("imports/<int:pk>/", views.EntityImportDetailView.as_view(), name="import_detail"),
    path("imports/<int:pk>/progress/", views.EntityImportProgressView.as_view(), name="import_progress"),
    path("imports/<int:pk>/errors.xlsx", views.EntityImportErrorsView.as_view(), name="import_errors"),
]
