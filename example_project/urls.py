from django.contrib import admin
from django.urls import include, path

from example_project.demo.views import home

urlpatterns = [
    path("", home, name="home"),
    path("admin/", admin.site.urls),
    path("sandbox/2.0/", include("powens_django.sandbox.urls")),
]
