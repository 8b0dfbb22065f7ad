"""The sandbox API, mounted by a project at its own prefix, e.g.
``path("sandbox/2.0/", include("powens_django.sandbox.urls"))``.

Routes have no trailing slash, as Powens' have; one is tolerated.
"""

from collections.abc import Callable
from typing import Any

from django.urls import URLPattern, re_path

from .views import auth, connections, connectors, webauth

app_name = "powens_sandbox"

USER = r"(?P<user_ref>me|\d+)"
CONNECTION = rf"users/{USER}/connections/(?P<connection_id>\d+)"


def _route(pattern: str, view: Callable[..., Any], name: str | None = None) -> URLPattern:
    return re_path(rf"^{pattern}/?$", view, name=name)


urlpatterns: list[URLPattern] = [
    # Users and tokens
    _route("auth/init", auth.init, "auth-init"),
    _route("auth/renew", auth.renew, "auth-renew"),
    _route("auth/token/code", auth.token_code, "auth-token-code"),
    _route("auth/token/access", auth.token_access, "auth-token-access"),
    _route("auth/token", auth.token, "auth-token"),
    _route(f"users/{USER}", auth.user, "user"),
    _route("publickey", auth.publickey, "publickey"),
    # Connectors
    _route("connectors", connectors.connectors, "connectors"),
    _route("(?:banks|providers)", connectors.banks, "banks"),
    _route(r"connectors/(?P<ref>[^/]+)/sources", connectors.connector_sources),
    _route(r"connectors/(?P<ref>[^/]+)/sources/(?P<source_id>\d+)", connectors.connector_source),
    _route(r"connectors/(?P<ref>[^/]+)", connectors.connector, "connector"),
    _route(r"(?:banks|providers)/(?P<ref>\d+)", connectors.bank_alias),
    # Connections
    _route(f"users/{USER}/connections", connections.connections, "connections"),
    _route(CONNECTION, connections.connection, "connection"),
    _route(f"{CONNECTION}/sources", connections.connection_sources),
    _route(rf"{CONNECTION}/sources/(?P<source_id>\d+)", connections.connection_source),
    _route(f"{CONNECTION}/logs", connections.connection_logs),
    # Web authorization
    _route("webauth-url", webauth.webauth_url, "webauth-url"),
    _route("webauth", webauth.webauth, "webauth"),
    _route(r"bank/(?P<token>[A-Za-z0-9_-]+)", webauth.bank_page, "bank"),
    re_path(r"^(?P<path>.*)$", webauth.not_found),
]
