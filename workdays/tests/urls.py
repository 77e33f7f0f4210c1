"""The portal's URLs plus the calendar pages, for test runs before the calendar is wired
into portal/urls.py (test_views switches to it only when the namespace is missing)."""

from django.urls import include, path

from portal.urls import handler403, handler404, handler500  # noqa: F401
from portal.urls import urlpatterns as portal_urlpatterns

urlpatterns = [*portal_urlpatterns, path("workdays/", include("workdays.urls"))]
