"""Fixtures for the client tests: a client on the ``responses`` mock, never the network,
and a sleep that records delays instead of waiting."""

from __future__ import annotations

import pytest
import responses
from jwcrypto import jwk

from powens_django.client import PowensClient

from .wire import API_ROOT, CLIENT_ID, CLIENT_SECRET, CONFIG_TOKEN, USER_TOKEN


@pytest.fixture
def powens():
    """Powens as seen by the client: register answers, read ``powens.calls`` after.

    Every registered answer must be used, and any unregistered call fails.
    """
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


@pytest.fixture
def sleeps() -> list[float]:
    """The delays the client asked to sleep, in order (nothing actually waits)."""
    return []


@pytest.fixture
def make_client(sleeps):
    """Build a client on the test API root with the test credentials; keyword
    arguments override the defaults (``max_retries=0``, ``config_token=None``...)."""

    def make(**overrides) -> PowensClient:
        options = {
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "config_token": CONFIG_TOKEN,
            "sleep": sleeps.append,
            **overrides,
        }
        return PowensClient(API_ROOT, **options)

    return make


@pytest.fixture
def client(make_client) -> PowensClient:
    """A client with the application's credentials and config token, no user token."""
    return make_client()


@pytest.fixture
def user_client(client) -> PowensClient:
    """The same client acting for the user owning ``USER_TOKEN``."""
    return client.with_token(USER_TOKEN)


@pytest.fixture(scope="session")
def rsa_key() -> jwk.JWK:
    """An RSA key pair standing for Powens' end-to-end encryption key."""
    return jwk.JWK.generate(kty="RSA", size=2048, kid="powens-e2e-2025")
