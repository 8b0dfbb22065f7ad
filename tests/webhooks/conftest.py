"""Webhook receiver tests: signed deliveries through Django's test client."""

from __future__ import annotations

import json
from typing import Any

import pytest

from powens_django import signals
from powens_django.testing import webhook_signature_headers
from tests.factories import account_payload, connection_payload

SECRET = "test-webhook-secret"  # tests/settings.py POWENS["WEBHOOK_SECRETS"][0]


def url(event: str = "connection-synced") -> str:
    return f"/powens/webhooks/{event}/"


def synced_body(
    connection_id: int = 7,
    *,
    user_id: int = 501,
    accounts: int = 2,
    transactions: int = 3,
    webhook_id: int = 1,
    **extra: Any,
) -> dict[str, Any]:
    """A CONNECTION_SYNCED body as Powens sends it."""
    connection = connection_payload(
        connection_id,
        id_user=user_id,
        accounts=[
            account_payload(connection_id * 100 + i, connection_id, transactions=transactions)
            for i in range(accounts)
        ],
        **extra,
    )
    return {
        "id_webhook_data": webhook_id,
        "user": {"id": user_id, "signin": "2026-11-01 09:00:00", "platform": "sharedAccess"},
        "connection": connection,
    }


def post(
    client: Any,
    body: Any,
    *,
    event: str = "connection-synced",
    secret: str | None = SECRET,
    headers: dict[str, str] | None = None,
    path: str | None = None,
    **kwargs: Any,
) -> Any:
    """POST ``body`` (a dict, or bytes sent as they are) signed with ``secret``."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    sent = dict(headers or {})
    if secret is not None:
        sent = {**webhook_signature_headers(raw, path=path or url(event), secret=secret), **sent}
    return client.post(
        url(event), data=raw, content_type="application/json", headers=sent, **kwargs
    )


@pytest.fixture
def received() -> Any:
    """The ``webhook_received`` signals sent during the test (their keyword arguments)."""
    calls: list[dict[str, Any]] = []

    def receiver(sender: Any, **kwargs: Any) -> None:
        calls.append(kwargs)

    signals.webhook_received.connect(receiver, weak=False)
    yield calls
    signals.webhook_received.disconnect(receiver)
