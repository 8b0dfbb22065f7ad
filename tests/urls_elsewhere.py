"""The bank pages mounted under another path (cached URL patterns must follow it)."""

from django.urls import include, path

urlpatterns = [path("elsewhere/", include("powens_django.urls"))]
