"""End-user pages. Mount with ``path("banks/", include("powens_django.urls"))``; the
callback (``powens:callback``) is the ``redirect_uri`` to register at Powens."""

from django.urls import path

from . import views

app_name = "powens"

urlpatterns = [
    path("", views.connection_list, name="connections"),
    path("refresh/", views.refresh_all, name="refresh"),
    path("connect/", views.picker, name="picker"),
    path("connect/webview/", views.webview_connect, name="webview_connect"),
    path("connect/<str:uuid>/", views.connect, name="connect"),
    path("manage/", views.webview_manage, name="webview_manage"),
    path("callback/", views.callback, name="callback"),
    path("connections/<int:powens_id>/", views.connection_detail, name="connection"),
    path("connections/<int:powens_id>/sync/", views.connection_sync, name="connection_sync"),
    path(
        "connections/<int:powens_id>/syncing/",
        views.connection_syncing,
        name="connection_syncing",
    ),
    path(
        "connections/<int:powens_id>/reconnect/",
        views.connection_reconnect,
        name="connection_reconnect",
    ),
    path("connections/<int:powens_id>/answer/", views.connection_fields, name="connection_fields"),
    path("connections/<int:powens_id>/wait/", views.connection_wait, name="connection_wait"),
    path(
        "connections/<int:powens_id>/sources/<int:source_id>/toggle/",
        views.source_toggle,
        name="source_toggle",
    ),
    path("connections/<int:powens_id>/delete/", views.connection_delete, name="connection_delete"),
    path("connections/<int:powens_id>/logs/", views.connection_logs, name="connection_logs"),
]
