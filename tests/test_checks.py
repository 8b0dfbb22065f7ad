"""System checks: each misconfiguration has a stable id and says what to set."""

import pytest
from django.core import checks
from django.test import override_settings

from powens_django.checks import check_powens_settings

KEY = "nR0bqAVHXqUpWg4CLPCr4d9QOp-ReRDsbpWsMzAnvAo="
VALID = {
    "DOMAIN": "acme-sandbox",
    "CLIENT_ID": "42",
    "CLIENT_SECRET": "client-secret-value",
    "TOKEN_ENCRYPTION_KEYS": [KEY],
}


def ids(**powens):
    with override_settings(POWENS=powens):
        return [m.id for m in check_powens_settings()]


def messages(**powens):
    with override_settings(POWENS=powens):
        return check_powens_settings()


def test_a_valid_configuration_passes():
    assert ids(**VALID) == []


def test_the_checks_are_registered_with_django():
    with override_settings(POWENS={}):
        found = {m.id for m in checks.run_checks()}
    assert {"powens_django.E001", "powens_django.E002", "powens_django.E003"} <= found


def test_missing_api_root_is_e001_and_names_the_keys():
    [message] = [m for m in messages(**{**VALID, "DOMAIN": None}) if m.id.endswith("E001")]
    assert 'POWENS["DOMAIN"]' in message.hint and 'POWENS["API_URL"]' in message.hint


@pytest.mark.parametrize("missing", ["CLIENT_ID", "CLIENT_SECRET"])
def test_missing_client_credentials_is_e002(missing):
    found = messages(**{**VALID, missing: ""})
    assert [m.id for m in found] == ["powens_django.E002"]
    assert missing in found[0].msg


def test_missing_encryption_keys_is_e003_with_a_way_to_make_one():
    [message] = messages(**{**VALID, "TOKEN_ENCRYPTION_KEYS": []})
    assert message.id == "powens_django.E003"
    assert "Fernet.generate_key()" in message.hint


def test_a_malformed_encryption_key_is_e004_without_echoing_it():
    bad = "not-a-fernet-key-but-still-a-secret"
    [message] = messages(**{**VALID, "TOKEN_ENCRYPTION_KEYS": [KEY, bad]})
    assert message.id == "powens_django.E004"
    assert "[1]" in message.msg
    assert bad not in message.msg and bad not in (message.hint or "")


def test_a_single_key_string_instead_of_a_list_is_e004():
    assert ids(**{**VALID, "TOKEN_ENCRYPTION_KEYS": KEY}) == ["powens_django.E004"]


def test_plain_http_api_url_is_refused_outside_debug():
    url = "http://powens.internal/2.0/"
    with override_settings(DEBUG=False):
        assert ids(**{**VALID, "API_URL": url}) == ["powens_django.E005"]


def test_plain_http_api_url_is_allowed_in_debug():
    with override_settings(DEBUG=True):
        assert ids(**{**VALID, "API_URL": "http://127.0.0.1:8000/sandbox/2.0/"}) == []


def test_an_api_url_that_is_not_a_url_is_e006():
    assert ids(**{**VALID, "API_URL": "acme.biapi.pro"}) == ["powens_django.E006"]


@pytest.mark.parametrize("domain", ["acme.biapi.pro", "https://acme.biapi.pro", "ac me"])
def test_a_domain_that_is_not_a_bare_name_is_e007(domain):
    assert ids(**{**VALID, "DOMAIN": domain}) == ["powens_django.E007"]


@pytest.mark.parametrize("timeout", [30, (5,), (5, 0), ("5", "60"), (5, -1)])
def test_a_malformed_timeout_is_e008(timeout):
    assert ids(**{**VALID, "TIMEOUT": timeout}) == ["powens_django.E008"]


@pytest.mark.parametrize("key", ["MAX_RETRIES", "RETRY_BACKOFF", "RETRY_MAX_WAIT"])
def test_negative_retry_settings_are_e009(key):
    assert ids(**{**VALID, key: -1}) == ["powens_django.E009"]


def test_powens_that_is_not_a_dict_is_e010():
    with override_settings(POWENS="acme"):
        assert [m.id for m in check_powens_settings()] == ["powens_django.E010"]


def test_webhook_secrets_as_a_string_is_e011():
    # A string would be iterated character by character when verifying signatures.
    assert ids(**{**VALID, "WEBHOOK_SECRETS": "whsec"}) == ["powens_django.E011"]


def test_an_empty_webhook_secret_is_e011():
    assert ids(**{**VALID, "WEBHOOK_SECRETS": ["whsec", ""]}) == ["powens_django.E011"]


def test_an_unknown_key_is_a_warning_naming_it():
    [message] = messages(**{**VALID, "CLIENT_SERCET": "typo"})
    assert message.id == "powens_django.W001"
    assert message.level == checks.WARNING
    assert "CLIENT_SERCET" in message.msg


def test_check_messages_never_contain_the_client_secret():
    found = messages(**{**VALID, "DOMAIN": "bad domain", "TOKEN_ENCRYPTION_KEYS": ["x"]})
    assert found
    for message in found:
        assert "client-secret-value" not in f"{message.msg} {message.hint}"


class NotAnAdapter:
    pass


@pytest.mark.parametrize(
    "path",
    ["no.such.module.Adapter", "tests.test_checks.NotAnAdapter", "", 42],
    ids=["missing", "not-a-subclass", "empty", "not-a-string"],
)
def test_an_adapter_that_cannot_be_used_is_e012(path):
    [message] = [m for m in messages(**{**VALID, "ADAPTER": path}) if m.id.endswith("E012")]
    assert "DefaultPowensAdapter" in message.hint


def test_a_subclass_of_the_default_adapter_passes():
    assert ids(**VALID, ADAPTER="powens_django.adapter.DefaultPowensAdapter") == []


@pytest.mark.parametrize("value", [0, -1, "30", True])
def test_a_time_budget_that_is_not_a_positive_number_is_e009(value):
    assert "powens_django.E009" in ids(**VALID, REQUEST_TIME_BUDGET=value)


@pytest.mark.parametrize("value", [None, 30, 2.5])
def test_a_positive_time_budget_or_none_passes(value):
    assert ids(**VALID, REQUEST_TIME_BUDGET=value) == []
