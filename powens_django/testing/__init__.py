"""Test helpers for projects using powens-django (and for this package's own tests).

Importing this package never imports pytest: the helpers work under Django's own test
runner as well as under pytest.

Under pytest (pytest-django), load the plugin and use the ``powens_sandbox`` fixture::

    # conftest.py
    pytest_plugins = ["powens_django.testing.pytest_plugin"]

    def test_linking(powens_sandbox, client):
        ...  # the app's client now talks to the sandbox over real HTTP

(``pytest_plugins = ["powens_django.testing"]`` works too: the fixture is then
imported from the plugin module when pytest looks for it.)

Under Django's test runner, mix :class:`SandboxLiveServerMixin` into a
``LiveServerTestCase`` or ``StaticLiveServerTestCase``.

Both need ``powens_django.sandbox`` in ``INSTALLED_APPS`` and its URLs mounted at
``/sandbox/2.0/`` (:data:`SANDBOX_PATH`) in the test URLconf. Elsewhere,
:func:`use_sandbox` does the same set-up on pytest-django's ``settings`` fixture, and
:func:`webhook_signature_headers` signs a webhook body the way Powens does, and
:func:`deliver_webhook` posts a signed webhook to the receiver with Django's test
client, for tests of a host's webhook handlers.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import itertools
from typing import Any

from .live import LiveRequests, live_requests
from .mixins import SandboxLiveServerMixin

__all__ = [
    "SANDBOX_PATH",
    "SANDBOX_WEBVIEW_PATH",
    "LiveRequests",
    "SandboxLiveServerMixin",
    "deliver_webhook",
    "live_requests",
    "load_sandbox_catalogue",
    "sandbox_overrides",
    "sandbox_powens_settings",
    "sandbox_redirect_uris",
    "use_sandbox",
    "webhook_signature_headers",
]

#: Where the sandbox is mounted, relative to the site's root.
SANDBOX_PATH = "/sandbox/2.0/"
#: Where the sandbox's Webview is mounted (``powens_django.sandbox.webview_urls``).
SANDBOX_WEBVIEW_PATH = "/sandbox/webview"

#: ``POWENS_SANDBOX`` keys set for tests: webhooks before the triggering answer
#: returns and no artificial waits, so tests can assert at once.
SANDBOX_TEST_SETTINGS: dict[str, Any] = {
    "WEBHOOK_DELIVERY": "immediate",
    "SYNC_COOLDOWN": 0,
    "BACKGROUND_DELAY": 0,
    "RESUME_DELAY": 0,
}


def sandbox_powens_settings(base: dict[str, Any], server_url: str) -> dict[str, Any]:
    """``POWENS`` settings that point the app at the sandbox served at ``server_url``.

    Retries are off and timeouts short, so a failing test fails fast.
    """
    return {
        **base,
        "DOMAIN": None,
        "API_URL": server_url.rstrip("/") + SANDBOX_PATH,
        "WEBVIEW_URL": server_url.rstrip("/") + SANDBOX_WEBVIEW_PATH,
        "MAX_RETRIES": 0,
        "TIMEOUT": (5.0, 30.0),
    }


#: The host of Django's test client (``django.test.Client``) in the URLs it builds.
TEST_CLIENT_ROOT = "http://testserver"


def sandbox_redirect_uris(server_url: str) -> list[str]:
    """The ``redirect_uri``s a test may send to the sandbox: the app's callback
    (``powens:callback``) on the live server at ``server_url`` and on Django's test
    client (``http://testserver``), which build it from the request, and
    ``POWENS["REDIRECT_URI"]`` when set. Without the ``powens:callback`` route in the
    URLconf, only the last."""
    from django.conf import settings
    from django.urls import NoReverseMatch, reverse

    uris: list[str] = []
    configured = (getattr(settings, "POWENS", None) or {}).get("REDIRECT_URI")
    if configured:
        uris.append(str(configured))
    try:
        path = reverse("powens:callback")
    except NoReverseMatch:
        return uris
    for root in (server_url.rstrip("/"), TEST_CLIENT_ROOT):
        if root + path not in uris:
            uris.append(root + path)
    return uris


def sandbox_overrides(server_url: str) -> dict[str, Any]:
    """The settings (``POWENS`` and ``POWENS_SANDBOX``) that make the sandbox served at
    ``server_url`` the app's Powens, built on the current settings: ready for
    ``override_settings(**sandbox_overrides(url))``.

    The sandbox's ``REDIRECT_URIS`` keep what the settings register and gain
    :func:`sandbox_redirect_uris`, so the pages' web authorization works in tests.
    """
    from django.conf import settings

    sandbox = getattr(settings, "POWENS_SANDBOX", None) or {}
    registered = list(sandbox.get("REDIRECT_URIS") or [])
    added = [uri for uri in sandbox_redirect_uris(server_url) if uri not in registered]
    return {
        "POWENS": sandbox_powens_settings(getattr(settings, "POWENS", {}), server_url),
        "POWENS_SANDBOX": {
            **sandbox,
            **SANDBOX_TEST_SETTINGS,
            "REDIRECT_URIS": [*registered, *added],
        },
    }


def load_sandbox_catalogue() -> None:
    """Load the sandbox's shipped catalogue and mirror it into the app over HTTP.

    The app must already point at a running sandbox (:func:`sandbox_overrides`).
    """
    from .. import services
    from ..sandbox.catalogue import load_catalogue

    load_catalogue()
    services.refresh_catalogue()


def use_sandbox(settings: Any, server_url: str, *, catalogue: bool = True) -> None:
    """Point the app at the sandbox served at ``server_url`` and, with ``catalogue``,
    load the sandbox's shipped catalogue and mirror it locally.

    ``settings`` is pytest-django's ``settings`` fixture (or any object whose
    attribute assignment changes Django settings and sends ``setting_changed``).
    """
    for name, value in sandbox_overrides(server_url).items():
        setattr(settings, name, value)
    if catalogue:
        load_sandbox_catalogue()


def webhook_signature_headers(
    body: bytes | str,
    *,
    path: str,
    secret: str,
    method: str = "POST",
    date: dt.datetime | None = None,
) -> dict[str, str]:
    """The ``BI-Signature`` and ``BI-Signature-Date`` headers Powens would send.

    ``BI-Signature = base64(HMAC-SHA256(secret, METHOD + "." + PATH + "." + DATE +
    "." + BODY))`` with ``DATE`` in UTC ISO-8601 (Powens' webhooks guide). ``path`` is
    the receiver's URL path without the query string; ``body`` the exact bytes sent.
    """
    when = (date or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    stamp = when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    raw = body.encode("utf-8") if isinstance(body, str) else body
    message = f"{method.upper()}.{path}.{stamp}.".encode() + raw
    digest = hmac.new(secret.encode("utf-8"), message, hashlib.sha256).digest()
    return {"BI-Signature": base64.b64encode(digest).decode("ascii"), "BI-Signature-Date": stamp}


def deliver_webhook(
    client: Any,
    event_type: str,
    payload: dict[str, Any],
    *,
    secret: str | None = None,
    date: dt.datetime | None = None,
    compress: bool = False,
    headers: dict[str, str] | None = None,
) -> Any:
    """POST ``payload`` to the webhook receiver as Powens would: JSON, signed with
    ``secret`` (the first of ``POWENS["WEBHOOK_SECRETS"]`` by default), gzip-compressed
    with ``compress``. Returns the response of ``client`` (Django's test client).

    ``payload`` gets an ``id_webhook_data`` if it has none. The receiver must be
    mounted (``include("powens_django.webhooks.urls")``); ``event_type`` is Powens'
    type (``"CONNECTION_SYNCED"``). For example, in a host's test::

        response = deliver_webhook(client, "CONNECTION_SYNCED", {"user": ..., "connection": ...})
        assert response.status_code == 200
    """
    import gzip
    import json

    from django.conf import settings
    from django.urls import reverse

    if "id_webhook_data" not in payload:
        payload = {"id_webhook_data": next(_delivery_ids), **payload}
    path = reverse("powens_webhooks:receive", args=[event_type.lower().replace("_", "-")])
    body = json.dumps(payload).encode("utf-8")
    if secret is None:
        secrets = (getattr(settings, "POWENS", None) or {}).get("WEBHOOK_SECRETS") or []
        if not secrets:
            raise ValueError('POWENS["WEBHOOK_SECRETS"] is empty: pass secret=')
        secret = secrets[0]
    sent = {
        **webhook_signature_headers(body, path=path, secret=secret, date=date),
        **(headers or {}),
    }
    if compress:
        body = gzip.compress(body)
        sent["Content-Encoding"] = "gzip"
    return client.post(path, data=body, content_type="application/json", headers=sent)


#: ``id_webhook_data`` for payloads without one (high, so they do not meet Powens' own).
_delivery_ids = itertools.count(9_000_000_001)


def __getattr__(name: str) -> Any:
    # ``pytest_plugins = ["powens_django.testing"]`` (the first documented spelling):
    # pytest looks the fixture up on this module, and only then is the pytest plugin
    # (and pytest) imported.
    if name == "powens_sandbox":
        from .pytest_plugin import powens_sandbox

        return powens_sandbox
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), "powens_sandbox"])
