"""The REST API. Mount with ``path("api/banks/", include("powens_django.api.urls"))``
(the URL names are in the ``powens_api`` namespace); the schema is at ``schema/``."""

from django.urls import path

from . import views
from .schema import SchemaView

app_name = "powens_api"

ID = "<str:powens_id>"

api_urlpatterns = [
    path("connectors/", views.ConnectorListView.as_view(), name="connectors"),
    path("connectors/countries/", views.CountryListView.as_view(), name="countries"),
    path("connectors/<str:uuid>/", views.ConnectorDetailView.as_view(), name="connector"),
    path("webauth/", views.WebauthView.as_view(), name="webauth"),
    path("webview/", views.WebviewView.as_view(), name="webview"),
    path("callback/", views.CallbackView.as_view(), name="callback"),
    path("connections/", views.sensitive(views.ConnectionListView.as_view()), name="connections"),
    path("connections/refresh/", views.RefreshAllView.as_view(), name="refresh"),
    path(f"connections/{ID}/", views.ConnectionDetailView.as_view(), name="connection"),
    path(f"connections/{ID}/sync/", views.SyncView.as_view(), name="sync"),
    path(f"connections/{ID}/refresh/", views.RefreshView.as_view(), name="connection_refresh"),
    path(f"connections/{ID}/resume/", views.ResumeView.as_view(), name="resume"),
    path(f"connections/{ID}/reconnect/", views.ReconnectView.as_view(), name="reconnect"),
    path(f"connections/{ID}/fields/", views.sensitive(views.FieldsView.as_view()), name="fields"),
    path(
        f"connections/{ID}/sources/<str:source_id>/enable/",
        views.SourceEnableView.as_view(),
        name="source_enable",
    ),
    path(
        f"connections/{ID}/sources/<str:source_id>/disable/",
        views.SourceDisableView.as_view(),
        name="source_disable",
    ),
    path(f"connections/{ID}/logs/", views.LogsView.as_view(), name="logs"),
]

urlpatterns = [*api_urlpatterns, path("schema/", SchemaView.as_view(), name="schema")]
