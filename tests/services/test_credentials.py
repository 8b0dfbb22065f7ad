"""``add_credentials_connection``: a new connection from credentials typed on the
site, its outcome following the state or the error Powens answers."""

from __future__ import annotations

import datetime as dt
import time

import pytest
import requests
from django.utils import timezone

from powens_django import services, sync
from powens_django.models import Connection, Connector, PowensUser

from ..factories import connection_payload, connector_payload
from .helpers import ALICE_TOKEN, CREDENTIALS, EXPAND, OTP_FIELD, connection, decrypt, mirror

pytestmark = pytest.mark.django_db


KIND_BY_STATE = {
    None: services.CONNECTED,
    "additionalInformationNeeded": services.NEEDS_FIELDS,
    "wrongpass": services.WRONG_CREDENTIALS,
    "decoupled": services.DECOUPLED,
    "validating": services.VALIDATING,
    "SCARequired": services.REAUTHENTICATE,
    "webauthRequired": services.REAUTHENTICATE,
    "passwordExpired": services.ACTION_NEEDED,
    "actionNeeded": services.ACTION_NEEDED,
    "rateLimiting": services.TEMPORARY_ERROR,
    "websiteUnavailable": services.TEMPORARY_ERROR,
    "bug": services.TEMPORARY_ERROR,
    "notSupported": services.NOT_SUPPORTED,
    "holographicSignatureRequired": services.UNKNOWN_STATE,  # a state Powens adds later
}


def test_a_credentials_connection_posts_the_connector_uuid_and_the_values(powens_api, alice, bank):
    powens_api.add(
        "POST", "users/me/connections", json=connection_payload(7, connector_uuid=bank.uuid)
    )

    outcome = services.add_credentials_connection(alice, bank, CREDENTIALS, source="directaccess")

    assert powens_api.sent() == [f"POST users/me/connections?{EXPAND}"]
    assert powens_api.body() == {
        "connector_uuid": bank.uuid,
        "source": "directaccess",
        "login": "alice",
        "password": "hunter2-alice",
    }
    assert powens_api.requests[0].headers["Authorization"] == f"Bearer {ALICE_TOKEN}"
    assert outcome.kind == services.CONNECTED
    assert outcome.connection == connection(7)
    assert connection(7).connector == bank


@pytest.mark.parametrize(("state", "kind"), KIND_BY_STATE.items(), ids=str)
def test_the_outcome_of_a_new_connection_follows_its_state(powens_api, alice, bank, state, kind):
    message = None if state is None else "Message de la banque"
    fields = [OTP_FIELD] if state in ("additionalInformationNeeded", "wrongpass") else None
    payload = connection_payload(7, state=state, error_message=message, fields=fields)
    powens_api.add("POST", "users/me/connections", status=202, json=payload)

    outcome = services.add_credentials_connection(alice, bank, CREDENTIALS)

    assert (outcome.kind, outcome.state, outcome.message) == (kind, state, message)
    assert outcome.fields == (fields or [])
    assert connection(7).state == state


@pytest.mark.parametrize(
    ("status", "code", "kind"),
    [
        (400, "wrongpass", services.WRONG_CREDENTIALS),
        (400, "wrongPass", services.WRONG_CREDENTIALS),
        (403, "actionNeeded", services.ACTION_NEEDED),
        (400, "passwordExpired", services.ACTION_NEEDED),
        (503, "websiteUnavailable", services.TEMPORARY_ERROR),
    ],
)
def test_credentials_refused_by_the_bank_give_the_banks_message_and_no_connection(
    powens_api, alice, bank, status, code, kind
):
    powens_api.add(
        "POST",
        "users/me/connections",
        status=status,
        json={
            "code": code,
            "description": "Technical: auth step 3 returned LOGIN_KO",
            "message": "Identifiant ou mot de passe incorrect.",
        },
    )

    outcome = services.add_credentials_connection(alice, bank, CREDENTIALS)

    assert (outcome.kind, outcome.error) == (kind, code)
    assert outcome.message == "Identifiant ou mot de passe incorrect."
    assert outcome.connection is None
    assert "Technical" not in repr(outcome)
    assert not Connection.objects.exists()
    assert len(powens_api.sent()) == 1  # never retried: it could create a second connection


UNCERTAIN = [
    {"status": 500, "json": {"code": "bug"}},
    {"status": 503, "json": {"code": "maintenance"}},
    {"body": requests.ReadTimeout("read timed out")},
    {"body": "<html>proxy error</html>", "status": 200},
]
UNCERTAIN_IDS = ["500", "503", "timeout", "garbled"]


@pytest.mark.parametrize(
    "answer",
    [a for a in UNCERTAIN if "body" not in a or "status" in a],
    ids=["500", "503", "garbled"],
)
def test_a_failed_create_with_nothing_made_at_powens_raises_and_creates_nothing(
    powens_api, alice, bank, answer
):
    powens_api.add("POST", "users/me/connections", **answer)
    powens_api.add("GET", "users/me/connections", json={"connections": []})

    with pytest.raises(services.PowensUnavailable):
        services.add_credentials_connection(alice, bank, CREDENTIALS)

    assert powens_api.sent() == [
        f"POST users/me/connections?{EXPAND}",
        f"GET users/me/connections?{EXPAND}",
    ]
    assert not Connection.objects.exists()
    assert PowensUser.objects.get(user=alice).link_claimed_at is None  # try again at once


def test_a_timed_out_create_not_listed_yet_says_so_and_holds_off_a_second_attempt(
    powens_api, alice, bank
):
    powens_api.add("POST", "users/me/connections", body=requests.ReadTimeout("slow bank"))
    powens_api.add("GET", "users/me/connections", json={"connections": []})
    powens_api.add("GET", "users/me/connections", json={"connections": []})

    with pytest.raises(services.LinkOutcomeUnknown) as raised:
        services.add_credentials_connection(alice, bank, CREDENTIALS)
    # Powens may still be making it: a second attempt looks, and makes nothing.
    with pytest.raises(services.LinkInProgress):
        services.add_credentials_connection(alice, bank, CREDENTIALS)

    assert "check your list of banks" in str(raised.value.message)
    assert [r.method for r in powens_api.requests] == ["POST", "GET", "GET"]
    assert not Connection.objects.exists()


def test_a_second_attempt_after_a_timeout_finds_the_bank_powens_finished_linking(
    powens_api, alice, bank
):
    made = connection_payload(8, connector_uuid=bank.uuid)
    powens_api.add("POST", "users/me/connections", body=requests.ReadTimeout("slow bank"))
    powens_api.add("GET", "users/me/connections", json={"connections": []})
    powens_api.add("GET", "users/me/connections", json={"connections": [made]})
    with pytest.raises(services.LinkOutcomeUnknown):
        services.add_credentials_connection(alice, bank, CREDENTIALS)

    outcome = services.add_credentials_connection(alice, bank, CREDENTIALS)

    assert (outcome.kind, outcome.connection.powens_id) == (services.CONNECTED, 8)
    assert [r.method for r in powens_api.requests] == ["POST", "GET", "GET"]  # one POST


def test_the_recovery_listing_has_its_own_time_even_when_the_request_budget_is_spent(
    powens_api, alice, bank
):
    from powens_django.client import time_budget

    def slow_post(request):
        time.sleep(0.3)
        raise requests.ReadTimeout("slow bank")

    powens_api.add_callback("POST", "users/me/connections", slow_post)
    powens_api.add(
        "GET",
        "users/me/connections",
        json={"connections": [connection_payload(8, connector_uuid=bank.uuid)]},
    )

    with time_budget(0.3):
        outcome = services.add_credentials_connection(alice, bank, CREDENTIALS)

    assert (outcome.kind, outcome.connection.powens_id) == (services.CONNECTED, 8)


def test_a_connection_mirrored_meanwhile_by_a_webhook_is_still_adopted(powens_api, alice, bank):
    made = connection_payload(8, connector_uuid=bank.uuid)

    def post_then_fail(request):
        mirror(alice, made)  # a webhook or another tab mirrored it meanwhile
        return (500, {}, '{"code": "bug"}')

    powens_api.add_callback("POST", "users/me/connections", post_then_fail)
    powens_api.add("GET", "users/me/connections", json={"connections": [made]})

    outcome = services.add_credentials_connection(alice, bank, CREDENTIALS)

    assert outcome.connection.powens_id == 8


@pytest.mark.parametrize("answer", UNCERTAIN, ids=UNCERTAIN_IDS)
def test_a_lost_answer_after_powens_made_the_connection_adopts_it(powens_api, alice, bank, answer):
    mirror(alice, connection_payload(3, connector_uuid=bank.uuid))  # an older one
    made = connection_payload(8, connector_uuid=bank.uuid, state="additionalInformationNeeded")
    other_bank = connection_payload(9, connector_uuid="another-bank")
    powens_api.add("POST", "users/me/connections", **answer)
    powens_api.add(
        "GET",
        "users/me/connections",
        json={"connections": [connection_payload(3, connector_uuid=bank.uuid), made, other_bank]},
    )

    outcome = services.add_credentials_connection(alice, bank, CREDENTIALS)

    assert (outcome.kind, outcome.connection.powens_id) == (services.NEEDS_FIELDS, 8)
    assert sorted(Connection.objects.values_list("powens_id", flat=True)) == [3, 8, 9]
    assert len(powens_api.sent()) == 2  # the POST is never repeated


def test_a_refusal_that_says_nothing_was_made_is_not_reconciled(powens_api, alice, bank):
    powens_api.add("POST", "users/me/connections", status=400, json={"code": "invalidValue"})

    with pytest.raises(services.PowensRefused):
        services.add_credentials_connection(alice, bank, CREDENTIALS)

    assert powens_api.sent() == [f"POST users/me/connections?{EXPAND}"]


def test_a_second_create_while_one_runs_is_refused_without_creating_anything(
    powens_api, alice, bank
):
    PowensUser.objects.filter(user=alice).update(link_claimed_at=timezone.now())
    powens_api.add("GET", "users/me/connections", json={"connections": []})

    with pytest.raises(services.LinkInProgress) as raised:
        services.add_credentials_connection(alice, bank, CREDENTIALS)

    assert raised.value.http_status == 409
    assert powens_api.sent() == [f"GET users/me/connections?{EXPAND}"]  # no POST


def test_the_link_claim_is_released_after_success_and_failure(powens_api, alice, bank):
    powens_api.add("POST", "users/me/connections", status=400, json={"code": "wrongpass"})
    powens_api.add("POST", "users/me/connections", json=connection_payload(7))

    services.add_credentials_connection(alice, bank, CREDENTIALS)
    services.add_credentials_connection(alice, bank, CREDENTIALS)

    assert PowensUser.objects.get(user=alice).link_claimed_at is None


def test_a_claim_left_by_a_crashed_request_expires(powens_api, alice, bank, settings):
    settings.POWENS = {**settings.POWENS, "TIMEOUT": (1, 1)}
    abandoned = timezone.now() - dt.timedelta(seconds=33)
    PowensUser.objects.filter(user=alice).update(link_claimed_at=abandoned)
    powens_api.add("POST", "users/me/connections", json=connection_payload(7))

    outcome = services.add_credentials_connection(alice, bank, CREDENTIALS)

    assert outcome.kind == services.CONNECTED


@pytest.mark.parametrize("flag", ["hidden", "restricted"])
def test_credentials_cannot_be_sent_to_a_hidden_or_restricted_connector(powens_api, alice, flag):
    sync.sync_connectors([connector_payload(2, **{flag: True})])

    with pytest.raises(services.ConnectorUnavailable):
        services.add_credentials_connection(alice, Connector.objects.get(powens_id=2), CREDENTIALS)

    assert powens_api.sent() == []


def test_with_e2e_encryption_values_are_sent_as_jwe_for_powens_key(powens_api, e2e, alice, bank):
    powens_api.add("POST", "users/me/connections", json=connection_payload(7))

    services.add_credentials_connection(alice, bank, CREDENTIALS)

    assert [line.split("?")[0] for line in powens_api.sent()] == [
        "GET publickey",
        "POST users/me/connections",
    ]
    body = powens_api.body(1)
    assert body["connector_uuid"] == bank.uuid
    for name, plaintext in CREDENTIALS.items():
        assert body[name].count(".") == 4  # compact JWE: five parts
        value, header = decrypt(body[name], e2e)
        assert value == plaintext
        assert header == {"alg": "RSA-OAEP-256", "enc": "A256GCM", "kid": "powens-e2e-test"}
    assert b"hunter2-alice" not in powens_api.requests[1].body


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("SCARequired", services.REAUTHENTICATE),
        ("decoupled", services.DECOUPLED),
        ("additionalInformationNeeded", services.NEEDS_FIELDS),
        ("actionNeeded", services.ACTION_NEEDED),
    ],
)
def test_an_error_code_naming_a_state_routes_like_that_state(powens_api, alice, bank, code, kind):
    powens_api.add("POST", "users/me/connections", status=400, json={"code": code})

    outcome = services.add_credentials_connection(alice, bank, CREDENTIALS)

    assert (outcome.kind, outcome.error) == (kind, code)
    assert not Connection.objects.exists()


@pytest.mark.parametrize("bad_id", [None, "abc", -4], ids=["missing", "text", "negative"])
def test_a_connection_answer_without_a_usable_id_is_a_malformed_response(
    powens_api, alice, bank, bad_id
):
    payload = connection_payload(7)
    if bad_id is None:
        del payload["id"]
    else:
        payload["id"] = bad_id
    powens_api.add("POST", "users/me/connections", json=payload)

    with pytest.raises(services.PowensUnavailable):
        services.add_credentials_connection(alice, bank, CREDENTIALS)

    assert not Connection.objects.exists()


def test_an_answer_naming_another_local_users_connection_is_refused_not_a_500(
    powens_api, alice, bob, bank
):
    mirror(alice, connection_payload(7))
    powens_api.add("POST", "users/me/connections", json=connection_payload(7))

    with pytest.raises(services.PowensRefused):
        services.add_credentials_connection(bob, bank, CREDENTIALS)

    assert Connection.objects.get(powens_id=7).powens_user.user == alice
