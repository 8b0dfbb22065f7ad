from django.apps import apps
from django.contrib import admin
from django.urls import include, path

from example_project.demo.views import home

urlpatterns = [
    path("", home, name="home"),
    path("admin/", admin.site.urls),
    # The REST API; its OpenAPI schema at /api/banks/schema/.
    path("api/banks/", include("powens_django.api.urls")),
    path("accounts/", include("django.contrib.auth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("banks/", include("powens_django.urls")),
    # Powens calls one URL per event type: /powens/webhooks/connection-synced/ ...
    path("powens/webhooks/", include("powens_django.webhooks.urls")),
]

# The sandbox only where settings install it: in development (DEBUG on), or a staging
# demo that allows it out loud (example_project/settings.py).
if apps.is_installed("powens_django.sandbox"):
    urlpatterns += [path("sandbox/2.0/", include("powens_django.sandbox.urls"))]
    urlpatterns += [path("sandbox/webview/", include("powens_django.sandbox.webview_urls"))]
