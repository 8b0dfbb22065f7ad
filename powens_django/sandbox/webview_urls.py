"""The sandbox's hosted Webview, mounted by a project beside the API, e.g.
``path("sandbox/webview/", include("powens_django.sandbox.webview_urls"))``: the app's
``WEBVIEW_URL`` is then ``http://<host>:<port>/sandbox/webview``.
"""

from django.urls import URLPattern, re_path

from .views import webview

app_name = "powens_sandbox_webview"

VISIT = r"v/(?P<token>[A-Za-z0-9_-]+)"

urlpatterns: list[URLPattern] = [
    re_path(rf"^{VISIT}/$", webview.home, name="home"),
    re_path(
        rf"^{VISIT}/banks/(?P<connector_uuid>[0-9a-fA-F-]{{36}})/$", webview.bank_form, name="bank"
    ),
    re_path(
        rf"^{VISIT}/connections/(?P<connection_id>\d+)/$",
        webview.connection_page,
        name="connection",
    ),
    re_path(rf"^{VISIT}/linked/$", webview.linked, name="linked"),
    re_path(rf"^{VISIT}/manage/$", webview.manage, name="manage"),
    re_path(rf"^{VISIT}/end/$", webview.end, name="end"),
    re_path(
        r"^(?P<lang>[A-Za-z]{2}(?:[-_][A-Za-z]{2,4})?)/(?P<flow>[^/]+)/?$",
        webview.start,
        name="start",
    ),
    re_path(r"^(?P<path>.*)$", webview.not_found),
]
