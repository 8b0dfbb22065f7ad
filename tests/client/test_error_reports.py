"""The client's frames in Django's error reports (error mails, Sentry): a call that
carries a secret keeps every local of its frames, and of the frames below, hidden, so
a client used directly (without the service layer's unchained errors) leaks nothing."""

from __future__ import annotations

import sys

import pytest
from django.views.debug import ExceptionReporter

from powens_django.client import MalformedResponseError, PowensError
from powens_django.client.api import FieldNameClashError

from .wire import USER_TOKEN, url

SECRET = "typed-Pa55word-0451"
INIT_TOKEN = "fresh-permanent-token-77ab"
# Not the test settings' secret: the report's settings section shows POWENS_SANDBOX.
APP_SECRET = "client-secret-only-in-this-test-3e1f"


def rendered(exc_info) -> str:
    """Django's error report of ``exc_info`` (HTML and text) with ``DEBUG = False``."""
    reporter = ExceptionReporter(None, *exc_info)
    return reporter.get_traceback_html() + "\n" + reporter.get_traceback_text()


@pytest.fixture(autouse=True)
def _debug_off(settings):
    settings.DEBUG = False  # Django hides sensitive variables only when DEBUG is off


@pytest.mark.parametrize("name", ["active", "source", "expire", "resume", "refresh_auth"])
def test_update_connection_refuses_a_clashing_field_naming_it_without_its_value(
    powens, user_client, name
):
    try:
        user_client.update_connection(7, {"login": "alice", name: SECRET})
    except FieldNameClashError:
        report, raised = rendered(sys.exc_info()), sys.exc_info()[1]

    assert isinstance(raised, PowensError) and isinstance(raised, ValueError)
    assert name in str(raised) and SECRET not in str(raised) + repr(raised)
    assert "update_connection" in report
    assert SECRET not in report
    assert USER_TOKEN not in report
    assert len(powens.calls) == 0


@pytest.mark.parametrize("name", ["source", "connector_uuid", "id_connector"])
def test_create_connection_refuses_a_clashing_field_naming_it_without_its_value(
    powens, user_client, name
):
    try:
        user_client.create_connection({name: SECRET}, connector_uuid="c1")
    except FieldNameClashError:
        report, raised = rendered(sys.exc_info()), sys.exc_info()[1]

    assert name in str(raised)
    assert SECRET not in str(raised) + report
    assert len(powens.calls) == 0


def test_the_clash_is_refused_before_any_value_is_read(user_client):
    class Untouchable(dict):
        def __getitem__(self, key):  # pragma: no cover - a failure if called
            raise AssertionError("a value was read")

        def items(self):  # pragma: no cover - a failure if called
            raise AssertionError("a value was read")

        def values(self):  # pragma: no cover - a failure if called
            raise AssertionError("a value was read")

    with pytest.raises(FieldNameClashError):
        user_client.update_connection(7, Untouchable(active=SECRET))
    with pytest.raises(FieldNameClashError):
        user_client.create_connection(Untouchable(source=SECRET), connector_uuid="c1")


def test_a_failure_below_create_connection_shows_no_credential(user_client, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("the HTTP stack broke")

    monkeypatch.setattr(user_client.transport.session, "request", broken)

    try:
        user_client.create_connection({"password": SECRET}, connector_uuid="c1")
    except RuntimeError:
        report = rendered(sys.exc_info())

    assert "create_connection" in report and "request" in report
    assert SECRET not in report
    assert USER_TOKEN not in report


def test_a_failure_below_update_connection_shows_no_value(user_client, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("the HTTP stack broke")

    monkeypatch.setattr(user_client.transport.session, "request", broken)

    try:
        user_client.update_connection(7, {"otp": SECRET})
    except RuntimeError:
        report = rendered(sys.exc_info())

    assert "update_connection" in report
    assert SECRET not in report


def test_a_failure_while_encrypting_shows_no_value(powens, client, rsa_key, monkeypatch):
    powens.get(url("publickey"), json=rsa_key.export_public(as_dict=True))

    def broken(*args, **kwargs):
        raise RuntimeError("jwcrypto broke")

    monkeypatch.setattr("powens_django.client.jwe.jwe.JWE", broken)

    try:
        client.encrypt_fields({"login": "alice", "password": SECRET})
    except RuntimeError:
        report = rendered(sys.exc_info())

    assert "encrypt_value" in report
    assert SECRET not in report


def test_a_malformed_auth_init_answer_shows_no_token_or_client_secret(powens, make_client):
    client = make_client(client_secret=APP_SECRET)
    powens.post(url("auth/init"), json={"auth_token": INIT_TOKEN, "id_user": 2**63})

    try:
        client.init_user()
    except MalformedResponseError:
        report = rendered(sys.exc_info())

    assert "init_user" in report
    assert INIT_TOKEN not in report
    assert APP_SECRET not in report


@pytest.mark.parametrize("id_user", [2**63, "9" * 20, 0, -1, True, "7a", None])
def test_init_user_refuses_an_id_user_the_mirror_cannot_store(powens, client, id_user):
    powens.post(url("auth/init"), json={"auth_token": INIT_TOKEN, "id_user": id_user})

    with pytest.raises(MalformedResponseError):
        client.init_user()


@pytest.mark.parametrize(("id_user", "kept"), [(2**63 - 1, 2**63 - 1), ("42", 42), (1, 1)])
def test_init_user_accepts_ids_up_to_the_largest_signed_64_bit_integer(
    powens, client, id_user, kept
):
    powens.post(url("auth/init"), json={"auth_token": INIT_TOKEN, "id_user": id_user})

    assert client.init_user()["id_user"] == kept
