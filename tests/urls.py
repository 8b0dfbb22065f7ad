from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("sandbox/2.0/", include("powens_django.sandbox.urls")),
    path("sandbox/webview/", include("powens_django.sandbox.webview_urls")),
    # The REST API (the [drf] extra) where the example project mounts it.
    path("api/banks/", include("powens_django.api.urls")),
]

urlpatterns += [path("banks/", include("powens_django.urls"))]
urlpatterns += [path("powens/webhooks/", include("powens_django.webhooks.urls"))]
