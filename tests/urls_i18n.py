"""The bank pages under i18n_patterns (URLs start with the language)."""

from django.conf.urls.i18n import i18n_patterns
from django.urls import include, path

urlpatterns = i18n_patterns(path("banks/", include("powens_django.urls")))
