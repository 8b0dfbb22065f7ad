"""``submit_connection_fields``: answering what a connection asks for (an OTP, new
credentials)."""

from __future__ import annotations

import pytest
import requests

from powens_django import services

from ..factories import connection_payload
from .helpers import ALICE_TOKEN, CREDENTIALS, EXPAND, OTP_FIELD, connection, decrypt, mirror

pytestmark = pytest.mark.django_db


@pytest.fixture
def waiting_for_otp(alice):
    mirror(alice, connection_payload(7, state="additionalInformationNeeded", fields=[OTP_FIELD]))
    return connection(7)


def test_a_right_otp_connects(powens_api, waiting_for_otp):
    powens_api.add("POST", "users/me/connections/7", json=connection_payload(7))

    outcome = services.submit_connection_fields(waiting_for_otp, {"otp": "493021"})

    assert powens_api.sent() == [f"POST users/me/connections/7?{EXPAND}"]
    assert powens_api.body() == {"otp": "493021"}
    assert powens_api.requests[0].headers["Authorization"] == f"Bearer {ALICE_TOKEN}"
    assert outcome.kind == services.CONNECTED
    assert connection(7).state is None


def test_a_wrong_otp_asks_again_with_the_banks_message(powens_api, waiting_for_otp):
    again = connection_payload(
        7, state="additionalInformationNeeded", fields=[OTP_FIELD], error_message="Code erroné."
    )
    powens_api.add("POST", "users/me/connections/7", json=again)

    outcome = services.submit_connection_fields(waiting_for_otp, {"otp": "000000"})

    assert (outcome.kind, outcome.message, outcome.fields) == (
        services.NEEDS_FIELDS,
        "Code erroné.",
        [OTP_FIELD],
    )
    assert connection(7).error_message == "Code erroné."


def test_new_credentials_refused_again_say_so_and_keep_the_connection(powens_api, alice):
    mirror(alice, connection_payload(7, state="wrongpass", fields=[{"name": "password"}]))
    powens_api.add(
        "POST",
        "users/me/connections/7",
        status=400,
        json={"code": "wrongpass", "message": "Mot de passe incorrect."},
    )

    outcome = services.submit_connection_fields(connection(7), {"password": "still-wrong"})

    assert (outcome.kind, outcome.message, outcome.state) == (
        services.WRONG_CREDENTIALS,
        "Mot de passe incorrect.",
        "wrongpass",
    )
    assert outcome.fields == [{"name": "password"}]
    assert connection(7).state == "wrongpass"


def test_a_powens_failure_while_submitting_fields_raises_and_changes_nothing(
    powens_api, waiting_for_otp
):
    powens_api.add("POST", "users/me/connections/7", status=500, json={"code": "bug"})
    # Read again, the connection still asks for its code: Powens did not take it.
    powens_api.add_connection_fetch(waiting_for_otp.raw)

    with pytest.raises(services.PowensUnavailable):
        services.submit_connection_fields(waiting_for_otp, {"otp": "493021"})

    assert powens_api.sent()[0] == f"POST users/me/connections/7?{EXPAND}"
    assert [r.method for r in powens_api.requests] == ["POST", "GET", "GET"]
    assert connection(7).state == "additionalInformationNeeded"


@pytest.mark.parametrize(
    "answer",
    [{"status": 503, "json": {"code": "bug"}}, {"body": requests.ReadTimeout("slow bank")}],
    ids=["503", "timeout"],
)
def test_a_code_whose_answer_was_lost_but_taken_by_powens_routes_on_the_new_state(
    powens_api, waiting_for_otp, answer
):
    powens_api.add("POST", "users/me/connections/7", **answer)
    powens_api.add_connection_fetch(connection_payload(7))  # connected after all

    outcome = services.submit_connection_fields(waiting_for_otp, {"otp": "493021"})

    assert outcome.kind == services.CONNECTED
    assert [r.method for r in powens_api.requests] == ["POST", "GET", "GET"]
    assert connection(7).state is None


def test_with_e2e_encryption_submitted_fields_are_jwe(powens_api, e2e, waiting_for_otp):
    powens_api.add("POST", "users/me/connections/7", json=connection_payload(7))

    services.submit_connection_fields(waiting_for_otp, {"otp": "493021"})

    assert decrypt(powens_api.body(1)["otp"], e2e)[0] == "493021"


def test_new_credentials_refused_by_the_bank_are_mirrored_as_wrongpass(powens_api, alice):
    mirror(alice, connection_payload(7))  # was fine until the password changed
    powens_api.add(
        "POST",
        "users/me/connections/7",
        status=400,
        json={"code": "wrongpass", "message": "Mot de passe incorrect."},
    )
    powens_api.add_connection_fetch(connection_payload(7, state="wrongpass"))

    outcome = services.submit_connection_fields(connection(7), CREDENTIALS)

    assert (outcome.kind, outcome.message) == (
        services.WRONG_CREDENTIALS,
        "Mot de passe incorrect.",
    )
    assert connection(7).state == "wrongpass"


def test_a_user_the_adapter_refuses_cannot_repair_a_connection_either(
    powens_api, waiting_for_otp, alice
):
    alice.is_active = False  # the default adapter lets only active users link
    alice.save()

    with pytest.raises(services.NotAllowed):
        services.submit_connection_fields(connection(7), {"otp": "493021"})

    assert powens_api.sent() == []
