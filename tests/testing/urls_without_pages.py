"""A URLconf with the sandbox but not the app's pages (no ``powens:callback``)."""

from django.urls import include, path

urlpatterns = [path("sandbox/2.0/", include("powens_django.sandbox.urls"))]
