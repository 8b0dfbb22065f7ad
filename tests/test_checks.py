"""System checks: each misconfiguration has a stable id and says what to set."""

import pytest
from django.conf import settings
from django.core import checks
from django.test import override_settings

from powens_django.checks import check_powens_settings

KEY = "nR0bqAVHXqUpWg4CLPCr4d9QOp-ReRDsbpWsMzAnvAo="
VALID = {
    "DOMAIN": "acme-sandbox",
    "CLIENT_ID": "42",
    "CLIENT_SECRET": "client-secret-value",
    "TOKEN_ENCRYPTION_KEYS": [KEY],
    "WEBHOOK_SECRETS": ["whsec"],
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


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("WEBHOOK_AUTH", ["hmac", "oauth"]),
        ("WEBHOOK_AUTH", None),
        ("WEBHOOK_PROCESSING", "later"),
        ("WEBHOOK_MAX_BODY_SIZE", 0),
        ("WEBHOOK_MAX_BODY_SIZE", "50MB"),
        ("WEBHOOK_RETENTION_DAYS", -1),
    ],
)
def test_a_malformed_webhook_setting_is_e014(key, value):
    assert ids(**{**VALID, key: value}) == ["powens_django.E014"]


@pytest.mark.parametrize(
    "webhooks",
    [{"WEBHOOK_AUTH": ["bearer"]}, {"WEBHOOK_AUTH": "hmac"}, {"WEBHOOK_RETENTION_DAYS": None}],
)
def test_usable_webhook_settings_pass(webhooks):
    assert ids(**{**VALID, **webhooks}) == []


def test_a_mounted_receiver_that_cannot_authenticate_anything_is_e015():
    [message] = messages(**{**VALID, "WEBHOOK_SECRETS": []})

    assert message.id == "powens_django.E015" and "WEBHOOK_SECRETS" in message.hint


def test_without_secrets_nothing_is_reported_in_debug_or_when_the_receiver_is_not_mounted():
    with override_settings(DEBUG=True):
        assert ids(**{**VALID, "WEBHOOK_SECRETS": []}) == []
    with override_settings(ROOT_URLCONF="tests.urls_without_webhooks"):
        assert ids(**{**VALID, "WEBHOOK_SECRETS": []}) == []


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


# -- check --deploy: the keys open the stored tokens (E013) ------------------------------

WRONG_KEY = "3q3yqM1v0v5b7s0TxqkS0x2vQ9n7QZ3m0u2sVb1xkzI="
STORED_TOKEN = "tok-stored-7c1e0a"


def deploy_check(*, tags=("powens_django",)):
    """What ``manage.py check --deploy`` reports for this app."""
    return [
        m
        for m in checks.run_checks(include_deployment_checks=True, tags=list(tags))
        if m.id == "powens_django.E013"
    ]


def stored_ciphertexts():
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT token FROM powens_django_powensuser WHERE token IS NOT NULL")
        return [value for (value,) in cursor.fetchall()]


@pytest.fixture
def tokens(django_user_model):
    """Store ``count`` tokens, encrypted with the configured key or with ``key``."""
    from powens_django.models import PowensUser

    made = iter(range(1, 10_000))

    def store(count=1, *, key=None):
        for _ in range(count):
            n = next(made)
            user = django_user_model.objects.create_user(f"person{n}")
            if key is None:
                PowensUser.objects.create(user=user, powens_id=n, token=STORED_TOKEN)
            else:
                with override_settings(POWENS={**settings.POWENS, "TOKEN_ENCRYPTION_KEYS": [key]}):
                    PowensUser.objects.create(user=user, powens_id=n, token=STORED_TOKEN)

    return store


@pytest.mark.django_db
def test_keys_that_open_every_stored_token_pass_the_deploy_check(tokens):
    tokens(3)

    assert deploy_check() == []


@pytest.mark.django_db
def test_no_stored_token_passes_the_deploy_check():
    assert deploy_check() == []


@pytest.mark.django_db
def test_a_stored_token_no_key_opens_is_e013_with_counts_only(tokens):
    tokens(2)
    tokens(1, key=WRONG_KEY)

    [message] = deploy_check()

    assert "cannot decrypt 1 of the 3 stored Powens tokens" in message.msg
    assert "powens_rotate_keys" in message.hint and "powens_check_keys" in message.hint
    text = f"{message.msg} {message.hint}"
    for secret in (STORED_TOKEN, WRONG_KEY, KEY, *settings.POWENS["TOKEN_ENCRYPTION_KEYS"]):
        assert secret not in text
    assert not any(ciphertext in text for ciphertext in stored_ciphertexts())


@pytest.mark.django_db
def test_the_deploy_check_samples_the_oldest_and_newest_tokens(tokens):
    from powens_django.checks import KEY_CHECK_SAMPLE

    tokens(1, key=WRONG_KEY)  # the oldest
    tokens(KEY_CHECK_SAMPLE + 5)
    tokens(1, key=WRONG_KEY)  # the newest

    [message] = deploy_check()

    assert f"cannot decrypt 2 of the {KEY_CHECK_SAMPLE} stored" in message.msg
    assert f"(of {KEY_CHECK_SAMPLE + 7})" in message.msg


@pytest.mark.django_db
def test_the_key_check_runs_only_with_deploy(tokens):
    tokens(1, key=WRONG_KEY)

    plain = {m.id for m in checks.run_checks(tags=["powens_django"])}

    assert "powens_django.E013" not in plain
    assert [m.id for m in deploy_check(tags=("security",))] == ["powens_django.E013"]


@pytest.mark.django_db
def test_the_deploy_check_says_nothing_when_the_keys_are_misconfigured(tokens):
    tokens(1)

    with override_settings(POWENS={**settings.POWENS, "TOKEN_ENCRYPTION_KEYS": ["bad"]}):
        assert deploy_check() == []


@pytest.mark.django_db
def test_the_deploy_check_does_not_break_before_migrations(tokens):
    from django.db import connection

    tokens(1, key=WRONG_KEY)
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE powens_django_powensuser RENAME TO powens_moved_away")
    try:
        assert deploy_check() == []
        # The savepoint kept the transaction usable (PostgreSQL would refuse this).
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    finally:
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE powens_moved_away RENAME TO powens_django_powensuser")


@pytest.mark.django_db
def test_the_deploy_check_does_not_break_when_the_database_is_unreachable(monkeypatch):
    from django.db import OperationalError

    def unreachable(*args, **kwargs):
        raise OperationalError("could not connect to server")

    monkeypatch.setattr("powens_django.fields.check_stored_values", unreachable)

    assert deploy_check() == []
