"""POWENS settings: defaults, lazy reading, override_settings, the configured client."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from powens_django import __version__
from powens_django.client import PowensClient
from powens_django.conf import DEFAULTS, get_client, powens_settings

BASE = {
    "DOMAIN": "acme-sandbox",
    "CLIENT_ID": "42",
    "CLIENT_SECRET": "s3cret",
    "TOKEN_ENCRYPTION_KEYS": ["nR0bqAVHXqUpWg4CLPCr4d9QOp-ReRDsbpWsMzAnvAo="],
}


def test_domain_gives_the_biapi_root():
    with override_settings(POWENS=BASE):
        assert powens_settings.api_root == "https://acme-sandbox.biapi.pro/2.0/"


def test_api_url_wins_over_domain_and_gets_a_trailing_slash():
    with override_settings(POWENS={**BASE, "API_URL": "http://127.0.0.1:8000/sandbox/2.0"}):
        assert powens_settings.api_root == "http://127.0.0.1:8000/sandbox/2.0/"


def test_no_root_configured_gives_none():
    with override_settings(POWENS={}):
        assert powens_settings.api_root is None


def test_unset_keys_read_their_documented_default():
    with override_settings(POWENS=BASE):
        assert DEFAULTS["TIMEOUT"] == powens_settings.TIMEOUT
        assert DEFAULTS["MAX_RETRIES"] == powens_settings.MAX_RETRIES
        assert powens_settings.E2E_ENCRYPTION is False
        assert powens_settings.WEBHOOK_SECRETS == []


def test_read_timeout_default_allows_minutes():
    connect, read = DEFAULTS["TIMEOUT"]
    assert connect <= 30 and read >= 120


def test_override_settings_is_seen_without_restart():
    with override_settings(POWENS={**BASE, "MAX_RETRIES": 1}):
        assert powens_settings.MAX_RETRIES == 1
    with override_settings(POWENS={**BASE, "MAX_RETRIES": 7}):
        assert powens_settings.MAX_RETRIES == 7


def test_unknown_attribute_is_an_attribute_error():
    with pytest.raises(AttributeError, match="NOT_A_SETTING"):
        powens_settings.NOT_A_SETTING  # noqa: B018


def test_get_client_is_configured_from_settings():
    settings = {**BASE, "TIMEOUT": (3, 90), "MAX_RETRIES": 5, "CONFIG_TOKEN": "cfg"}
    with override_settings(POWENS=settings):
        client = get_client()
        assert isinstance(client, PowensClient)
        assert client.api_root == "https://acme-sandbox.biapi.pro/2.0/"
        assert client.client_id == "42"
        assert client.transport.timeout == (3.0, 90.0)
        assert client.transport.max_retries == 5
        assert f"powens-django/{__version__}" in client.transport.session.headers["User-Agent"]
        assert not client.has_token


def test_get_client_reuses_one_session_and_binds_tokens():
    with override_settings(POWENS=BASE):
        base = get_client()
        alice = get_client("alice-token")
        assert get_client() is base
        assert alice.has_token and not base.has_token
        assert alice.transport.session is base.transport.session


def test_get_client_follows_a_settings_change():
    with override_settings(POWENS=BASE):
        first = get_client()
    with override_settings(POWENS={**BASE, "DOMAIN": "other"}):
        assert get_client() is not first
        assert get_client().api_root == "https://other.biapi.pro/2.0/"


def test_get_client_without_root_explains_what_to_set():
    with override_settings(POWENS={}), pytest.raises(ImproperlyConfigured, match="DOMAIN"):
        get_client()
