from django.urls import path

from . import views

app_name = "workdays"

urlpatterns = [
    path("", views.CalendarYearListView.as_view(), name="year_list"),
    path("years/new/", views.CalendarYearEnterView.as_view(), name="year_enter"),
    path("years/<int:year>/", views.CalendarYearDetailView.as_view(), name="year_detail"),
]
