"""Test helpers for projects using powens-django (and for this package's own tests).

Use the sandbox as Powens in a pytest-django suite::

    # conftest.py
    pytest_plugins = ["powens_django.testing"]

    def test_linking(powens_sandbox, client):
        ...  # the app's client now talks to the sandbox over real HTTP

``powens_sandbox`` needs ``powens_django.sandbox`` in ``INSTALLED_APPS`` and its URLs
mounted at ``/sandbox/2.0/`` in the test URLconf. Outside pytest, call
:func:`use_sandbox` with Django's ``override_settings`` or pytest-django's
``settings``. :func:`webhook_signature_headers` signs a webhook body the way Powens
does, for tests of code that receives webhooks.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
from typing import Any

import pytest

#: Where the sandbox is mounted, relative to the site's root.
SANDBOX_PATH = "/sandbox/2.0/"


def sandbox_powens_settings(base: dict[str, Any], server_url: str) -> dict[str, Any]:
    """``POWENS`` settings that point the app at the sandbox served at ``server_url``.

    Retries are off and timeouts short, so a failing test fails fast.
    """
    return {
        **base,
        "DOMAIN": None,
        "API_URL": server_url.rstrip("/") + SANDBOX_PATH,
        "MAX_RETRIES": 0,
        "TIMEOUT": (5.0, 30.0),
    }


def use_sandbox(settings: Any, server_url: str, *, catalogue: bool = True) -> None:
    """Point the app at the sandbox served at ``server_url`` and, with ``catalogue``,
    load the sandbox's shipped catalogue and mirror it locally.

    ``settings`` is pytest-django's ``settings`` fixture (or any object whose
    attribute assignment changes Django settings and sends ``setting_changed``).
    """
    from django.conf import settings as django_settings

    settings.POWENS = sandbox_powens_settings(getattr(django_settings, "POWENS", {}), server_url)
    settings.POWENS_SANDBOX = {
        **getattr(django_settings, "POWENS_SANDBOX", {}),
        # Webhooks before the triggering answer returns, no artificial waits: tests
        # can assert at once.
        "WEBHOOK_DELIVERY": "immediate",
        "SYNC_COOLDOWN": 0,
        "BACKGROUND_DELAY": 0,
        "RESUME_DELAY": 0,
    }
    if catalogue:
        from . import services
        from .sandbox.catalogue import load_catalogue

        load_catalogue()
        services.refresh_catalogue()


@pytest.fixture
def powens_sandbox(live_server: Any, settings: Any) -> Any:
    """The sandbox over ``live_server`` as Powens, its catalogue loaded and mirrored.

    Returns the live server (``.url``). Scenarios are chosen by the login typed
    (``otp``, ``wrongpass``, ``decoupled``, ``sca``...): see docs/sandbox.md.
    """
    use_sandbox(settings, live_server.url)
    return live_server


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
