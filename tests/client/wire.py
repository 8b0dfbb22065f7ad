"""What the client tests compare: the requests the client put on the wire."""

from __future__ import annotations

import json
from typing import Any

import responses

API_ROOT = "https://test.biapi.pro/2.0/"
CLIENT_ID = "10000001"
CLIENT_SECRET = "test-client-secret"
CONFIG_TOKEN = "test-config-token"
USER_TOKEN = "user-token-5f2c9a1e"

USER_AUTH = f"Bearer {USER_TOKEN}"
CONFIG_AUTH = f"Bearer {CONFIG_TOKEN}"

CONNECTOR_UUID = "338178e6-3d01-564f-9a7b-52ca442459bf"
CONNECTION = {"id": 7, "id_user": 1, "id_connector": 59, "state": None, "active": True}
CONNECTOR = {"id": 59, "uuid": CONNECTOR_UUID, "name": "Connecteur de test"}
REDIRECT_URI = "https://shop.example/powens/callback"
ENCODED_REDIRECT_URI = "https%3A%2F%2Fshop.example%2Fpowens%2Fcallback"


def url(path: str) -> str:
    """The absolute URL of ``path`` under the test API root (query string included)."""
    return API_ROOT + path


def describe(request: Any) -> dict[str, Any]:
    """One request as Powens sees it: method, exact URL, Authorization and JSON body."""
    return {
        "method": request.method,
        "url": request.url,
        "authorization": request.headers.get("Authorization"),
        "json": json.loads(request.body) if request.body else None,
    }


def sent(powens: responses.RequestsMock) -> dict[str, Any]:
    """The single request the client made (failing if it made none or several)."""
    urls = [call.request.url for call in powens.calls]
    assert len(urls) == 1, f"expected exactly one request, got {urls}"
    return describe(powens.calls[0].request)
