"""What happens to the secrets typed on the way: a password and a user token are
kept nowhere, neither stored, logged, returned nor shown in an error report."""

from __future__ import annotations

import logging
import sys

import pytest
from django.db import connection as db_connection
from django.views.debug import ExceptionReporter

from powens_django import services

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
