"""Fixtures for the service tests: Alice and Bob with Powens accounts, a bank in the
catalogue, a started webauth flow, and Powens' end-to-end encryption key."""

from __future__ import annotations

import pytest
from jwcrypto import jwk

from powens_django import services, sync
from powens_django.models import Connector

from ..factories import connector_payload
from .helpers import BANK_URL, REDIRECT_URI


@pytest.fixture
def bank(db) -> Connector:
    """A connector people may link (Powens id 1), in the local catalogue."""
    sync.sync_connectors([connector_payload(1)])
    return Connector.objects.get(powens_id=1)


@pytest.fixture
def started(powens_api, bank):
    """Start a webauth flow for a user and return its state; the requests it made
    are forgotten, so a test sees only what the callback sends."""

    def start(user, *, session_key: str | None = "session-a", connection=None) -> str:
        powens_api.add("GET", "webauth-url", json={"url": BANK_URL})
        target = {"connection": connection} if connection else {"connector": bank}
        state = services.start_webauth(
            user, redirect_uri=REDIRECT_URI, session_key=session_key, **target
        ).state
        powens_api.forget_calls()
        return state

    return start


@pytest.fixture(scope="module")
def powens_e2e_key() -> jwk.JWK:
    """The key pair standing for Powens' end-to-end encryption key."""
    return jwk.JWK.generate(kty="RSA", size=2048, kid="powens-e2e-test")


@pytest.fixture
def e2e(powens_api, settings, powens_e2e_key):
    """End-to-end encryption on, Powens serving the test public key at /publickey."""
    settings.POWENS = {**settings.POWENS, "E2E_ENCRYPTION": True}
    powens_api.add("GET", "publickey", json=powens_e2e_key.export_public(as_dict=True))
    return powens_e2e_key
