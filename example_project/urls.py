from django.contrib import admin
from django.urls import include, path

from example_project.demo.views import home

urlpatterns = [
    path("", home, name="home"),
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("banks/", include("powens_django.urls")),
    path("sandbox/2.0/", include("powens_django.sandbox.urls")),
]
