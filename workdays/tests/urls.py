"""The portal's URLs plus the calendar pages, for test runs before the calendar is wired
into portal/urls.py (test_views switches to it only when the namespace is missing)."""
from django.urls import include, path

from portal.urls import handler403, handler404, handler500, urlpatterns as portal_urlpatterns  # noqa: F401

urlpatterns = [*portal_urlpatterns, path("workdays/", include("workdays.urls"))]
