"""Fixtures for the REST API: Alice signed in (session or Basic), a catalogue, Powens
mocked (``powens_api``) and her connections mirrored."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from rest_framework.test import APIClient

from powens_django import sync
from powens_django.models import BankAccount, Connection, Connector, PowensUser

from ..factories import connection_payload, connector_payload

API = "/api/banks/"
WEBAUTH_BANK = "00000000-0000-4000-8000-000000000001"  # connector 1: webauth first
CREDENTIALS_BANK = "00000000-0000-4000-8000-000000000002"  # connector 2: credentials source


@pytest.fixture
def catalogue(db: Any) -> None:
    """Connector 1 (logs in on its website first) and 2 (a credentials source,
    ``directaccess``, with a text, password, date, list and number field), and a
    hidden one (3)."""
    sync.sync_connectors(
        [
            connector_payload(1, name="Crédit Agricole"),
            connector_payload(2, name="Banque Populaire"),
            connector_payload(3, name="Banque Cachée", hidden=True),
        ]
    )


@pytest.fixture
def api(alice: Any) -> APIClient:
    """Alice's client, signed in by session (CSRF not enforced: see test_security)."""
    client = APIClient()
    client.force_login(alice)
    return client


@pytest.fixture
def bob_api(bob: Any) -> APIClient:
    client = APIClient()
    client.force_login(bob)
    return client


def basic_client(user: Any, password: str = "unused-password") -> APIClient:
    """An "app" client: HTTP Basic, no session (the user factory's password)."""
    client = APIClient()
    token = base64.b64encode(f"{user.username}:{password}".encode()).decode()
    client.credentials(HTTP_AUTHORIZATION=f"Basic {token}")
    return client


def mirror(user: Any, *payloads: dict) -> None:
    sync.sync_connections(PowensUser.objects.get(user=user), list(payloads))


def connection(powens_id: int) -> Connection:
    return Connection.objects.select_related("powens_user").get(powens_id=powens_id)


def add_account(powens_id: int, account_id: int, **fields: Any) -> BankAccount:
    values = {
        "name": "Compte chèque",
        "number": "12345678901",
        "iban": "FR7630004000031234567890143",
        "balance": "1523.42",
        "currency": "EUR",
        "type": "checking",
        **fields,
    }
    return BankAccount.objects.create(
        connection=connection(powens_id), powens_id=account_id, **values
    )


def connector(uuid: str) -> Connector:
    return Connector.objects.get(uuid=uuid)


__all__ = ["connection_payload"]
