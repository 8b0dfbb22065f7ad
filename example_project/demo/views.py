from django.apps import apps
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from powens_django.conf import powens_settings


def home(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "demo/home.html",
        {
            "api_root": powens_settings.api_root,
            "sandbox": apps.is_installed("powens_django.sandbox"),
        },
    )
