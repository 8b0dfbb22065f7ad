"""What happens to the secrets typed on the way: a password and a user token are
kept nowhere, neither stored, logged, returned nor shown in an error report."""

from __future__ import annotations

import logging
import sys

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from django.db import connection as db_connection
from django.views.debug import ExceptionReporter
from jwcrypto import jwk

from powens_django import services
from powens_django.models import PowensUser

from ..factories import connection_payload
from .helpers import ALICE_TOKEN, OTP_FIELD, connection, mirror

pytestmark = pytest.mark.django_db


PASSWORD = "Sup3r-Secret-Pass!"
TOKEN = "tok-5ecret-9f8e7d6c5b4a"


def everything_stored() -> str:
    """Every row of every table, as text (raw SQL, so no field hides anything)."""
    dump = []
    with db_connection.cursor() as cursor:
        for table in db_connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {db_connection.ops.quote_name(table)}")
            for row in cursor.fetchall():
                dump.append(
                    repr(
                        [
                            bytes(v).decode("latin-1") if isinstance(v, bytes | memoryview) else v
                            for v in row
                        ]
                    )
                )
    return "\n".join(dump)


@pytest.mark.parametrize("encrypted", [False, True], ids=["plain", "e2e"])
def test_the_password_and_the_user_token_are_kept_nowhere(
    powens_api, settings, powens_e2e_key, user_factory, bank, caplog, encrypted
):
    caplog.set_level(logging.DEBUG)
    if encrypted:
        settings.POWENS = {**settings.POWENS, "E2E_ENCRYPTION": True}
        powens_api.add("GET", "publickey", json=powens_e2e_key.export_public(as_dict=True))
    carol = user_factory("carol")
    powens_api.add(
        "POST", "auth/init", json={"auth_token": TOKEN, "type": "permanent", "id_user": 9}
    )
    powens_api.add(
        "POST",
        "users/me/connections",
        status=400,
        json={"code": "wrongpass", "message": "Mot de passe incorrect."},
    )
    powens_api.add(
        "POST",
        "users/me/connections",
        status=202,
        json=connection_payload(7, state="additionalInformationNeeded", fields=[OTP_FIELD]),
    )
    powens_api.add("POST", "users/me/connections/7", json=connection_payload(7))
    values = {"login": "carol", "password": PASSWORD}

    outcomes = [
        services.add_credentials_connection(carol, bank, values),
        services.add_credentials_connection(carol, bank, values),
    ]
    outcomes.append(services.submit_connection_fields(connection(7), {"otp": "493021"}))

    assert [o.kind for o in outcomes] == [
        services.WRONG_CREDENTIALS,
        services.NEEDS_FIELDS,
        services.CONNECTED,
    ]
    assert caplog.records  # the client logged its requests at DEBUG
    logged = caplog.text + repr([(r.msg, r.args) for r in caplog.records])
    shown = repr(outcomes) + repr(
        [(o.message, o.fields, o.connection and o.connection.raw) for o in outcomes]
    )
    stored = everything_stored()
    for secret in (PASSWORD, TOKEN):
        assert secret not in logged
        assert secret not in stored
        assert secret not in shown


def test_an_error_report_of_a_failed_credentials_call_shows_no_password_or_token(
    powens_api, alice, bank
):
    powens_api.add("POST", "users/me/connections", status=500, json={"code": "bug"})

    try:
        services.add_credentials_connection(alice, bank, {"login": "alice", "password": PASSWORD})
    except services.PowensUnavailable:
        report = ExceptionReporter(None, *sys.exc_info()).get_traceback_html()
    else:  # pragma: no cover
        pytest.fail("the Powens failure was not raised")

    assert "add_credentials_connection" in report
    assert PASSWORD not in report
    assert ALICE_TOKEN not in report


def test_an_error_report_of_a_failed_fields_submission_shows_no_value_or_token(powens_api, alice):
    mirror(alice, connection_payload(7, state="wrongpass", fields=[{"name": "password"}]))
    powens_api.add("POST", "users/me/connections/7", status=500, json={"code": "bug"})

    try:
        services.submit_connection_fields(connection(7), {"password": PASSWORD})
    except services.PowensUnavailable:
        report = ExceptionReporter(None, *sys.exc_info()).get_traceback_html()
    else:  # pragma: no cover
        pytest.fail("the Powens failure was not raised")

    assert "submit_connection_fields" in report
    assert PASSWORD not in report
    assert ALICE_TOKEN not in report


# -- error reports, as an error mail or Sentry renders them -------------------------------
# Each test renders the report inside its ``except`` block (the frames are still there);
# the secrets are module constants, never locals of the test, so only the code under
# test can put them in a report.


def rendered(exc_info) -> str:
    """Django's error report of ``exc_info``, HTML and text, with ``DEBUG = False``."""
    reporter = ExceptionReporter(None, *exc_info)
    return reporter.get_traceback_html() + "\n" + reporter.get_traceback_text()


def no_waiting(seconds: float) -> None:  # pragma: no cover - called only on a failure
    pytest.fail("the next request waited for a claim that should have been released")


# Ids the client validates; the last two passed it before and broke the INSERT instead.
MALFORMED_ID_USERS = [None, "", "abc", "12a", -4, 0, True, 9.5, [9], 2**63, "9" * 20]


@pytest.mark.parametrize("id_user", MALFORMED_ID_USERS, ids=repr)
def test_a_malformed_id_user_leaves_no_token_in_the_report_and_releases_the_claim(
    powens_api, user_factory, monkeypatch, id_user
):
    carol = user_factory("carol")
    powens_api.add(
        "POST", "auth/init", json={"auth_token": TOKEN, "type": "permanent", "id_user": id_user}
    )

    try:
        services.ensure_powens_user(carol)
    except Exception:
        report, raised = rendered(sys.exc_info()), sys.exc_info()[0]
    else:  # pragma: no cover
        pytest.fail("a malformed id_user was accepted")

    assert TOKEN not in report
    assert "get_or_create_powens_user" in report
    assert raised is services.PowensUnavailable
    assert PowensUser.objects.get(user=carol).init_claimed_at is None
    # The next request creates the account at once instead of waiting for the claim.
    monkeypatch.setattr("powens_django.services.users.time.sleep", no_waiting)
    powens_api.add(
        "POST", "auth/init", json={"auth_token": "tok-second", "type": "permanent", "id_user": 10}
    )
    assert services.ensure_powens_user(carol).powens_id == 10


def weak_rsa_public_jwk(bits: int) -> dict:
    """An RSA public key of ``bits`` bits (512-bit keys cannot even be generated any
    more; a public key only needs a modulus of that size)."""
    if bits >= 1024:
        return jwk.JWK.generate(kty="RSA", size=bits).export_public(as_dict=True)
    modulus = 2 ** (bits - 1) + 111
    return jwk.JWK.from_pyca(rsa.RSAPublicNumbers(65537, modulus).public_key()).export_public(
        as_dict=True
    )


@pytest.mark.parametrize("bits", [512, 1024, 2047])
def test_a_weak_powens_key_is_refused_and_the_report_shows_no_password(
    powens_api, settings, alice, bank, bits
):
    settings.POWENS = {**settings.POWENS, "E2E_ENCRYPTION": True}
    powens_api.add("GET", "publickey", json=weak_rsa_public_jwk(bits))

    try:
        services.add_credentials_connection(alice, bank, {"login": "alice", "password": PASSWORD})
    except Exception:
        report, raised = rendered(sys.exc_info()), sys.exc_info()[1]
    else:
        pytest.fail(f"a {bits}-bit key was used to encrypt the password")

    assert PASSWORD not in report
    assert ALICE_TOKEN not in report
    assert isinstance(raised, services.PowensUnavailable)
    assert "2048" in raised.detail
    assert [r.method for r in powens_api.requests] == ["GET"]  # nothing was sent


@pytest.mark.parametrize("name", ["active", "source", "expire", "resume", "refresh_auth"])
def test_a_field_named_like_an_update_key_is_refused_without_its_value_in_the_report(
    powens_api, alice, name
):
    mirror(alice, connection_payload(7, state="wrongpass", fields=[{"name": name}]))

    try:
        services.submit_connection_fields(connection(7), {"login": "alice", name: PASSWORD})
    except Exception:
        report, raised = rendered(sys.exc_info()), sys.exc_info()[1]
    else:  # pragma: no cover
        pytest.fail("the clashing field was sent")

    assert PASSWORD not in report
    assert ALICE_TOKEN not in report
    assert isinstance(raised, services.ServiceError)
    assert name in raised.detail and PASSWORD not in raised.detail
    assert powens_api.requests == []


@pytest.mark.parametrize("name", ["source", "connector_uuid", "id_connector"])
def test_a_field_named_like_a_creation_key_is_refused_without_its_value_in_the_report(
    powens_api, alice, bank, name
):
    try:
        services.add_credentials_connection(alice, bank, {"login": "alice", name: PASSWORD})
    except Exception:
        report, raised = rendered(sys.exc_info()), sys.exc_info()[1]
    else:  # pragma: no cover
        pytest.fail("the clashing field was sent")

    assert PASSWORD not in report
    assert isinstance(raised, services.ServiceError)
    assert name in raised.detail and PASSWORD not in raised.detail
    assert powens_api.requests == []


def test_a_failure_to_store_the_new_identity_leaves_no_token_and_releases_the_claim(
    powens_api, user_factory, monkeypatch
):
    user_factory("dave", powens_id=9, token="dave-token")  # id 9 is taken: the save fails
    carol = user_factory("carol")
    powens_api.add(
        "POST", "auth/init", json={"auth_token": TOKEN, "type": "permanent", "id_user": 9}
    )
    try:
        services.ensure_powens_user(carol)
    except Exception:
        report = rendered(sys.exc_info())
    else:  # pragma: no cover
        pytest.fail("a Powens id already in use was stored")

    assert TOKEN not in report
    assert "get_or_create_powens_user" in report
    assert PowensUser.objects.get(user=carol).init_claimed_at is None
    monkeypatch.setattr("powens_django.services.users.time.sleep", no_waiting)
    powens_api.add(
        "POST", "auth/init", json={"auth_token": "tok-second", "type": "permanent", "id_user": 10}
    )
    assert services.ensure_powens_user(carol).powens_id == 10
