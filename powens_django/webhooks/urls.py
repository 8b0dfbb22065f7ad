"""Mount with ``path("powens/webhooks/", include("powens_django.webhooks.urls"))``:
Powens is then configured with ``https://<site>/powens/webhooks/connection-synced/``,
``.../connection-deleted/``, ``.../user-deleted/`` (one URL per event type)."""

from django.urls import re_path

from . import views

app_name = "powens_webhooks"

urlpatterns = [
    re_path(r"^(?P<event>[a-z0-9]+(?:-[a-z0-9]+){0,7})/$", views.receive, name="receive"),
]
