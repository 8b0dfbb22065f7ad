"""A URLconf without the webhook receiver (the E015 check only applies when mounted)."""

from django.urls import include, path

urlpatterns = [path("banks/", include("powens_django.urls"))]
