"""The API's OpenAPI 3 schema, served beside the endpoints (drf-spectacular).

Only this API's endpoints are described, under the prefix the host mounted them at,
with this app's own settings (a host's ``SPECTACULAR_SETTINGS`` describe its own API).
"""

from __future__ import annotations

from typing import Any

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from .. import __version__

#: drf-spectacular settings for this schema, whatever the host's are.
SCHEMA_SETTINGS: dict[str, Any] = {
    "TITLE": "powens-django REST API",
    "DESCRIPTION": (
        "Bank linking through Powens for single-page and mobile front ends: the "
        "catalogue, linking by a bank's website or by credentials, the person's linked "
        "banks and the repairs their states call for. Every endpoint needs a signed-in "
        "user and acts on that user's own objects only (anything else is a 404). Errors "
        "have one shape: `code` (stable), `message` (translated), `fields` (validation) "
        "and `retry_after` (also the `Retry-After` header). See docs/api.md."
    ),
    "VERSION": __version__,
    "COMPONENT_SPLIT_REQUEST": True,
    "SORT_OPERATIONS": False,
}


class SchemaView(SpectacularAPIView):
    """The API's OpenAPI 3 schema (YAML; ``?format=json`` for JSON). Public: it
    describes the API, never anyone's data."""

    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []
    custom_settings = SCHEMA_SETTINGS
    throttle_classes: list[Any] = []

    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        from .urls import api_urlpatterns

        route = getattr(request.resolver_match, "route", "") or ""
        prefix = route[: -len("schema/")] if route.endswith("schema/") else ""
        self.patterns = [path(prefix.lstrip("^"), include(api_urlpatterns))]
        return super().get(request, *args, **kwargs)
