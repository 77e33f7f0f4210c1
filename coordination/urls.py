from django.urls import path

from coordination import views

app_name = "coordination"

urlpatterns = [
    path("problems/", views.ProblemListView.as_view(), name="problem_list"),
    path("problems/new/", views.ProblemCreateView.as_view(), name="problem_create"),
    path("problems/<int:pk>/", views.ProblemDetailView.as_view(), name="problem_detail"),
    path("problems/<int:pk>/<slug:action>/", views.ProblemActionView.as_view(), name="problem_action"),
]
