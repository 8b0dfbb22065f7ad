"""The service layer, part two: linking a bank. Starting a webauth flow, the browser's
return (state checks), credentials connections with their outcomes, OTP answers,
decoupled resumes, SCA, and what happens to the secrets typed on the way.

Powens is mocked with ``responses`` (``powens_api``): each test says what Powens
received, what the mirror holds and which outcome a page would route on.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import logging
import secrets
import sys

import pytest
import requests
from django.db import connection as db_connection
from django.utils import timezone
from django.views.debug import ExceptionReporter
from jwcrypto import jwe, jwk

from powens_django import services, sync
from powens_django.models import Connection, Connector, LinkState, PowensUser
from powens_django.services import InvalidCallback

from .factories import connection_payload, connector_payload

pytestmark = pytest.mark.django_db

ALICE_TOKEN = "alice-token-7d41c2"
REDIRECT_URI = "https://shop.example/banks/callback/"
BANK_URL = "https://webview.test.example/auth?session=abc"
EXPAND = "expand=connector,sources"
CREDENTIALS = {"login": "alice", "password": "hunter2-alice"}
OTP_FIELD = {"name": "otp", "label": "Code reçu par SMS", "type": "text", "required": True}


@pytest.fixture
def alice(user_factory):
    return user_factory("alice", powens_id=501, token=ALICE_TOKEN)


@pytest.fixture
def bob(user_factory):
    return user_factory("bob", powens_id=502, token="bob-token-90be55")


@pytest.fixture
def bank(db) -> Connector:
    """A connector people may link (Powens id 1), in the local catalogue."""
    sync.sync_connectors([connector_payload(1)])
    return Connector.objects.get(powens_id=1)


def mirror(user, *payloads: dict) -> None:
    sync.sync_connections(PowensUser.objects.get(user=user), list(payloads))


def connection(powens_id: int) -> Connection:
    return Connection.objects.select_related("powens_user").get(powens_id=powens_id)


def answer_fetch(powens_api, payload: dict) -> None:
    """Powens' answers to fetching one connection (GET it, GET all its sources)."""
    path = f"users/me/connections/{payload['id']}"
    powens_api.add("GET", path, json=payload)
    powens_api.add("GET", f"{path}/sources", json={"sources": payload["sources"]})


def fetched(powens_id: int) -> list[str]:
    """The requests that fetching one connection into the mirror makes."""
    path = f"users/me/connections/{powens_id}"
    return [f"GET {path}?{EXPAND}", f"GET {path}/sources?all"]


def link_states() -> list[tuple]:
    return list(
        LinkState.objects.order_by("pk").values_list(
            "state_hash", "user_id", "session_hash", "created_at", "used_at"
        )
    )


# -- start_webauth --------------------------------------------------------------------


def test_a_webauth_link_asks_powens_for_the_bank_url_with_a_fresh_state(powens_api, alice, bank):
    powens_api.add("GET", "webauth-url", json={"url": BANK_URL})

    start = services.start_webauth(
        alice, redirect_uri=REDIRECT_URI, connector=bank, source="openapi", session_key="s-a"
    )

    assert start.url == BANK_URL
    assert powens_api.sent()[0].startswith("GET webauth-url?")
    assert powens_api.query() == {
        "client_id": "10000001",
        "redirect_uri": REDIRECT_URI,
        "id_connector": "1",
        "source": "openapi",
        "state": start.state,
    }
    assert powens_api.requests[0].headers["Authorization"] == f"Bearer {ALICE_TOKEN}"


def test_each_webauth_link_gets_its_own_unguessable_state(powens_api, alice, bank):
    powens_api.add("GET", "webauth-url", json={"url": BANK_URL})

    states = {
        services.start_webauth(alice, redirect_uri=REDIRECT_URI, connector=bank).state
        for _ in range(3)
    }

    assert len(states) == 3
    assert all(len(state) >= 40 for state in states)


def test_only_digests_of_the_state_and_the_session_are_stored(powens_api, alice, bank):
    powens_api.add("GET", "webauth-url", json={"url": BANK_URL})

    start = services.start_webauth(
        alice, redirect_uri=REDIRECT_URI, connector=bank, session_key="session-key-7f3a"
    )

    record = LinkState.objects.get()
    assert record.state_hash == hashlib.sha256(start.state.encode()).hexdigest()
    assert record.session_hash == hashlib.sha256(b"session-key-7f3a").hexdigest()
    assert (record.user, record.connector_uuid) == (alice, bank.uuid)
    with db_connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {LinkState._meta.db_table}")
        stored = repr(cursor.fetchall())
    assert start.state not in stored
    assert "session-key-7f3a" not in stored


def test_a_reconnection_names_the_connection_instead_of_the_connector(powens_api, alice):
    mirror(alice, connection_payload(7, state="SCARequired"))
    powens_api.add("GET", "webauth-url", json={"url": BANK_URL})

    start = services.start_webauth(alice, redirect_uri=REDIRECT_URI, connection=connection(7))

    assert powens_api.query() == {
        "client_id": "10000001",
        "redirect_uri": REDIRECT_URI,
        "id_connection": "7",
        "state": start.state,
    }


def test_a_first_webauth_link_creates_the_powens_user_first(powens_api, user_factory, bank):
    carol = user_factory("carol")
    powens_api.add(
        "POST", "auth/init", json={"auth_token": "carol-tok", "type": "permanent", "id_user": 9}
    )
    powens_api.add("GET", "webauth-url", json={"url": BANK_URL})

    services.start_webauth(carol, redirect_uri=REDIRECT_URI, connector=bank)

    assert [line.split("?")[0] for line in powens_api.sent()] == [
        "POST auth/init",
        "GET webauth-url",
    ]
    assert powens_api.requests[1].headers["Authorization"] == "Bearer carol-tok"


def test_a_connection_that_needs_nothing_raises_invalid_value_and_records_no_state(
    powens_api, alice
):
    mirror(alice, connection_payload(7))
    powens_api.add(
        "GET",
        "webauth-url",
        status=409,
        json={"code": "invalidValue", "description": "Connection is up to date"},
    )

    with pytest.raises(services.NothingToRepair) as raised:
        services.start_webauth(alice, redirect_uri=REDIRECT_URI, connection=connection(7))

    assert raised.value.code == "nothing_to_repair"

    assert not LinkState.objects.exists()


def test_a_failed_webauth_start_records_no_state(powens_api, alice, bank):
    powens_api.add("GET", "webauth-url", body=requests.ReadTimeout("read timed out"))

    with pytest.raises(services.PowensUnavailable):
        services.start_webauth(alice, redirect_uri=REDIRECT_URI, connector=bank)

    assert not LinkState.objects.exists()


@pytest.mark.parametrize("flag", ["hidden", "restricted"])
def test_a_hidden_or_restricted_connector_cannot_be_linked(powens_api, alice, flag):
    sync.sync_connectors([connector_payload(2, **{flag: True})])

    with pytest.raises(services.ConnectorUnavailable):
        services.start_webauth(
            alice, redirect_uri=REDIRECT_URI, connector=Connector.objects.get(powens_id=2)
        )

    assert powens_api.sent() == []
    assert not LinkState.objects.exists()


def test_another_users_connection_cannot_be_reconnected(powens_api, alice, bob):
    mirror(bob, connection_payload(9, state="SCARequired"))

    with pytest.raises(services.NotFound):
        services.start_webauth(alice, redirect_uri=REDIRECT_URI, connection=connection(9))

    assert powens_api.sent() == []
    assert not LinkState.objects.exists()


def test_pending_states_are_capped_per_user_dropping_the_oldest(
    powens_api, settings, alice, bob, bank
):
    settings.POWENS = {**settings.POWENS, "MAX_PENDING_STATES": 3}
    powens_api.add("GET", "webauth-url", json={"url": BANK_URL})
    bobs = services.start_webauth(bob, redirect_uri=REDIRECT_URI, connector=bank).state
    alices = [
        services.start_webauth(alice, redirect_uri=REDIRECT_URI, connector=bank).state
        for _ in range(5)
    ]

    assert LinkState.objects.filter(user=alice).count() == 3
    assert LinkState.objects.filter(user=bob).count() == 1
    digests = set(LinkState.objects.values_list("state_hash", flat=True))
    kept = [
        state for state in [*alices, bobs] if hashlib.sha256(state.encode()).hexdigest() in digests
    ]
    assert kept == [*alices[2:], bobs]


def test_expired_states_are_pruned_when_a_flow_starts(powens_api, alice, bob, bank):
    powens_api.add("GET", "webauth-url", json={"url": BANK_URL})
    services.start_webauth(bob, redirect_uri=REDIRECT_URI, connector=bank)
    services.start_webauth(bob, redirect_uri=REDIRECT_URI, connector=bank)
    LinkState.objects.filter(pk=LinkState.objects.first().pk).update(
        created_at=timezone.now() - dt.timedelta(minutes=16)
    )

    services.start_webauth(alice, redirect_uri=REDIRECT_URI, connector=bank)

    assert LinkState.objects.filter(user=bob).count() == 1
    assert LinkState.objects.filter(user=alice).count() == 1


# -- finish_callback ------------------------------------------------------------------


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


def test_a_callback_with_a_valid_state_fetches_the_new_connection(powens_api, alice, started):
    state = started(alice)
    answer_fetch(powens_api, connection_payload(7, sources=2))

    outcome = services.finish_callback(
        alice, {"state": state, "id_connection": "7"}, session_key="session-a"
    )

    assert powens_api.sent() == fetched(7)
    assert outcome.kind == services.CONNECTED
    assert outcome.ok
    assert outcome.connection.powens_id == 7
    assert connection(7).powens_user.user == alice


@pytest.mark.parametrize(
    ("params", "ids"),
    [
        ({"connection_id": "7"}, [7]),
        ({"connection_ids": "7,8"}, [7, 8]),
        ({"connection_id": "7", "connection_ids": "7, 8"}, [7, 8]),
    ],
    ids=["connection_id", "connection_ids", "both"],
)
def test_a_webview_callback_names_its_connections_its_own_way(
    powens_api, alice, started, params, ids
):
    state = started(alice)
    for powens_id in ids:
        answer_fetch(powens_api, connection_payload(powens_id))

    outcome = services.finish_callback(alice, {"state": state, **params}, session_key="session-a")

    assert powens_api.sent() == [line for powens_id in ids for line in fetched(powens_id)]
    assert sorted(Connection.objects.values_list("powens_id", flat=True)) == ids
    assert outcome.kind == services.CONNECTED


def test_a_callback_reports_the_state_the_connection_is_left_in(powens_api, alice, started):
    state = started(alice)
    answer_fetch(
        powens_api, connection_payload(7, state="additionalInformationNeeded", fields=[OTP_FIELD])
    )

    outcome = services.finish_callback(
        alice, {"state": state, "id_connection": "7"}, session_key="session-a"
    )

    assert (outcome.kind, outcome.fields) == (services.NEEDS_FIELDS, [OTP_FIELD])


def test_a_state_started_without_a_session_is_accepted_without_one(powens_api, alice, started):
    state = started(alice, session_key=None)
    answer_fetch(powens_api, connection_payload(7))

    outcome = services.finish_callback(alice, {"state": state, "id_connection": "7"})

    assert outcome.kind == services.CONNECTED


def test_a_cancelled_link_is_cancelled_and_calls_nothing(powens_api, alice, started):
    state = started(alice)

    outcome = services.finish_callback(
        alice,
        {"state": state, "error": "access_denied", "error_description": "User cancelled"},
        session_key="session-a",
    )

    assert (outcome.kind, outcome.error, outcome.connection) == (
        services.CANCELLED,
        "access_denied",
        None,
    )
    assert powens_api.sent() == []
    assert not Connection.objects.exists()


def test_a_failed_link_is_failed_with_the_description_logged_not_returned(
    powens_api, alice, started, caplog
):
    state = started(alice)
    description = "Upstream PSD2 gateway answered 502 for aspsp=xyz"

    with caplog.at_level(logging.INFO, logger="powens_django"):
        outcome = services.finish_callback(
            alice,
            {"state": state, "error": "server_error", "error_description": description},
            session_key="session-a",
        )

    assert (outcome.kind, outcome.error) == (services.FAILED, "server_error")
    assert description in caplog.text
    assert description not in repr(outcome)
    assert powens_api.sent() == []


def test_a_state_is_used_up_by_its_callback(powens_api, alice, started):
    state = started(alice)
    services.finish_callback(
        alice, {"state": state, "error": "access_denied"}, session_key="session-a"
    )

    with pytest.raises(InvalidCallback):
        services.finish_callback(
            alice, {"state": state, "error": "access_denied"}, session_key="session-a"
        )


def _missing(params, **_):
    del params["state"]


def _unknown(params, **_):
    params["state"] = secrets.token_urlsafe(32)


def _too_long(params, **_):
    params["state"] = params["state"] * 10


def _reused(params, powens_api, alice, **_):
    answer_fetch(powens_api, connection_payload(7))
    services.finish_callback(alice, dict(params), session_key="session-a")
    powens_api.forget_calls()


def _expired(params, **_):
    LinkState.objects.update(created_at=timezone.now() - dt.timedelta(minutes=16))


@pytest.mark.parametrize(
    ("spoil", "who", "session"),
    [
        (_missing, "alice", "session-a"),
        (_unknown, "alice", "session-a"),
        (_too_long, "alice", "session-a"),
        (_reused, "alice", "session-a"),
        (_expired, "alice", "session-a"),
        (None, "bob", "session-a"),
        (None, "alice", "session-b"),
        (None, "alice", None),
    ],
    ids=[
        "missing",
        "unknown",
        "too long",
        "reused",
        "expired",
        "another user's",
        "another session's",
        "no session",
    ],
)
def test_a_callback_without_a_valid_state_raises_and_changes_nothing(
    powens_api, alice, bob, started, spoil, who, session
):
    params = {"state": started(alice), "id_connection": "7"}
    if spoil is not None:
        spoil(params, powens_api=powens_api, alice=alice)
    rows_before = (link_states(), list(Connection.objects.values_list("powens_id", "raw_hash")))

    with pytest.raises(InvalidCallback):
        services.finish_callback({"alice": alice, "bob": bob}[who], params, session_key=session)

    assert powens_api.sent() == []
    assert (link_states(), list(Connection.objects.values_list("powens_id", "raw_hash"))) == (
        rows_before
    )


def test_a_state_tried_by_someone_else_still_works_for_its_owner(powens_api, alice, bob, started):
    state = started(alice)
    with pytest.raises(InvalidCallback):
        services.finish_callback(
            bob, {"state": state, "id_connection": "7"}, session_key="session-a"
        )
    answer_fetch(powens_api, connection_payload(7))

    outcome = services.finish_callback(
        alice, {"state": state, "id_connection": "7"}, session_key="session-a"
    )

    assert outcome.kind == services.CONNECTED


@pytest.mark.parametrize(
    "params",
    [
        {"id_connection": "seven"},
        {"id_connection": "-7"},
        {"id_connection": "0"},
        {"id_connection": "7.0"},
        {"id_connection": "\u0667"},  # an Arabic-Indic seven: a digit, but not ours
        {"id_connection": "7 OR 1=1"},
        {"connection_ids": "7,x"},
        {"connection_id": "../7"},
    ],
    ids=["word", "negative", "zero", "decimal", "non-ascii", "injection", "list", "path"],
)
def test_a_callback_with_a_malformed_connection_id_raises_and_changes_nothing(
    powens_api, alice, started, params
):
    state = started(alice)
    before = link_states()

    with pytest.raises(InvalidCallback):
        services.finish_callback(alice, {"state": state, **params}, session_key="session-a")

    assert powens_api.sent() == []
    assert link_states() == before
    assert not Connection.objects.exists()


def test_a_callback_naming_no_connection_raises_and_changes_nothing(powens_api, alice, started):
    state = started(alice)
    before = link_states()

    with pytest.raises(InvalidCallback):
        services.finish_callback(alice, {"state": state}, session_key="session-a")

    assert powens_api.sent() == []
    assert link_states() == before


def test_a_callback_naming_a_connection_powens_does_not_give_this_user_raises(
    powens_api, alice, bob, started
):
    mirror(bob, connection_payload(9))
    state = started(alice)
    powens_api.add("GET", "users/me/connections/9", status=404, json={"code": "notFound"})

    with pytest.raises(InvalidCallback):
        services.finish_callback(
            alice, {"state": state, "id_connection": "9"}, session_key="session-a"
        )

    assert connection(9).powens_user.user == bob


# -- add_credentials_connection -------------------------------------------------------

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


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        ({"status": 500, "json": {"code": "bug"}}, services.PowensUnavailable),
        ({"body": requests.ReadTimeout("read timed out")}, services.PowensUnavailable),
    ],
    ids=["500", "timeout"],
)
def test_a_powens_failure_while_adding_credentials_raises_and_creates_nothing(
    powens_api, alice, bank, answer, error
):
    powens_api.add("POST", "users/me/connections", **answer)

    with pytest.raises(error):
        services.add_credentials_connection(alice, bank, CREDENTIALS)

    assert len(powens_api.sent()) == 1
    assert not Connection.objects.exists()


@pytest.mark.parametrize("flag", ["hidden", "restricted"])
def test_credentials_cannot_be_sent_to_a_hidden_or_restricted_connector(powens_api, alice, flag):
    sync.sync_connectors([connector_payload(2, **{flag: True})])

    with pytest.raises(services.ConnectorUnavailable):
        services.add_credentials_connection(alice, Connector.objects.get(powens_id=2), CREDENTIALS)

    assert powens_api.sent() == []


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


def decrypt(value: str, key: jwk.JWK) -> tuple[str, dict]:
    """What Powens does with an encrypted value: the plaintext and the JWE header."""
    protected = value.split(".")[0]
    header = json.loads(base64.urlsafe_b64decode(protected + "=" * (-len(protected) % 4)))
    message = jwe.JWE()
    message.deserialize(value, key=key)
    return message.payload.decode(), header


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


# -- submit_connection_fields ---------------------------------------------------------


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

    with pytest.raises(services.PowensUnavailable):
        services.submit_connection_fields(waiting_for_otp, {"otp": "493021"})

    assert len(powens_api.sent()) == 1
    assert connection(7).raw == waiting_for_otp.raw


def test_with_e2e_encryption_submitted_fields_are_jwe(powens_api, e2e, waiting_for_otp):
    powens_api.add("POST", "users/me/connections/7", json=connection_payload(7))

    services.submit_connection_fields(waiting_for_otp, {"otp": "493021"})

    assert decrypt(powens_api.body(1)["otp"], e2e)[0] == "493021"


# -- resume_decoupled -----------------------------------------------------------------


@pytest.fixture
def decoupled(alice):
    mirror(alice, connection_payload(7, state="decoupled"))
    return connection(7)


def test_resuming_a_decoupled_connection_posts_resume_and_waits_for_the_bank(powens_api, decoupled):
    powens_api.add("POST", "users/me/connections/7", json=connection_payload(7))

    outcome = services.resume_decoupled(decoupled)

    assert powens_api.sent() == [f"POST users/me/connections/7?{EXPAND}"]
    assert powens_api.body() == {"resume": True}
    assert outcome.kind == services.CONNECTED


def test_a_background_resume_answers_at_once_with_validating(powens_api, decoupled):
    powens_api.add("POST", "users/me/connections/7", json=connection_payload(7, state="validating"))

    outcome = services.resume_decoupled(decoupled, background=True)

    assert powens_api.sent() == [f"POST users/me/connections/7?background=true&{EXPAND}"]
    assert powens_api.body() == {"resume": True}
    assert outcome.kind == services.VALIDATING
    assert connection(7).state == "validating"


def test_a_resume_the_bank_refuses_says_so(powens_api, decoupled):
    powens_api.add(
        "POST",
        "users/me/connections/7",
        status=400,
        json={"code": "actionNeeded", "message": "Validation refusée dans l'application."},
    )

    outcome = services.resume_decoupled(decoupled)

    assert (outcome.kind, outcome.message) == (
        services.ACTION_NEEDED,
        "Validation refusée dans l'application.",
    )
    assert connection(7).state == "decoupled"


def test_a_powens_failure_while_resuming_raises(powens_api, decoupled):
    powens_api.add("POST", "users/me/connections/7", status=502, json={"code": "bug"})

    with pytest.raises(services.PowensUnavailable):
        services.resume_decoupled(decoupled)

    assert len(powens_api.sent()) == 1
    assert connection(7).state == "decoupled"


# -- reauthenticate -------------------------------------------------------------------


@pytest.fixture
def needs_sca(alice):
    mirror(alice, connection_payload(7, state="SCARequired"))
    return connection(7)


def test_reauthenticating_posts_an_empty_update_that_clears_sca(powens_api, needs_sca):
    powens_api.add("POST", "users/me/connections/7", json=connection_payload(7))

    outcome = services.reauthenticate(needs_sca)

    assert powens_api.sent() == [f"POST users/me/connections/7?{EXPAND}"]
    assert powens_api.body() == {}
    assert outcome.kind == services.CONNECTED
    assert connection(7).state is None


def test_when_the_bank_wants_a_browser_the_outcome_says_reauthenticate(powens_api, needs_sca):
    powens_api.add(
        "POST", "users/me/connections/7", json=connection_payload(7, state="webauthRequired")
    )

    outcome = services.reauthenticate(needs_sca)

    assert (outcome.kind, outcome.state) == (services.REAUTHENTICATE, "webauthRequired")


def test_a_powens_failure_while_reauthenticating_raises_and_keeps_the_state(powens_api, needs_sca):
    powens_api.add("POST", "users/me/connections/7", status=500, json={"code": "bug"})

    with pytest.raises(services.PowensUnavailable):
        services.reauthenticate(needs_sca)

    assert connection(7).state == "SCARequired"


# -- secrets ----------------------------------------------------------------------------

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


# -- fixes after review ---------------------------------------------------------------


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


def test_a_powens_failure_after_a_valid_callback_lets_the_person_retry(powens_api, alice, started):
    state = started(alice)
    powens_api.add("GET", "users/me/connections/7", status=500, json={"code": "bug"})

    with pytest.raises(services.PowensUnavailable):
        services.finish_callback(
            alice, {"state": state, "id_connection": "7"}, session_key="session-a"
        )

    assert not Connection.objects.exists()
    answer_fetch(powens_api, connection_payload(7))
    outcome = services.finish_callback(
        alice, {"state": state, "id_connection": "7"}, session_key="session-a"
    )
    assert outcome.kind == services.CONNECTED


def test_a_refused_webauth_start_keeps_the_users_other_pending_flows(
    powens_api, settings, alice, bank
):
    settings.POWENS = {**settings.POWENS, "MAX_PENDING_STATES": 2}
    powens_api.add("GET", "webauth-url", json={"url": BANK_URL})
    powens_api.add("GET", "webauth-url", json={"url": BANK_URL})
    for _ in range(2):
        services.start_webauth(alice, redirect_uri=REDIRECT_URI, connector=bank)
    before = set(LinkState.objects.values_list("pk", flat=True))
    powens_api.add("GET", "webauth-url", status=503, json={"code": "bug"})

    with pytest.raises(services.PowensUnavailable):
        services.start_webauth(alice, redirect_uri=REDIRECT_URI, connector=bank)

    assert set(LinkState.objects.values_list("pk", flat=True)) == before


def test_a_country_list_given_as_one_string_is_split(powens_api):
    powens_api.add("GET", "connectors", json={"connectors": []})

    services.refresh_catalogue(country_codes="fr, es")

    assert powens_api.query()["country_codes"] == "FR,ES"


def test_erasing_a_powens_user_also_drops_their_pending_flows(powens_api, alice, started):
    started(alice)
    powens_api.add("DELETE", "users/me", status=204)

    services.delete_powens_user(alice)

    assert not LinkState.objects.filter(user=alice).exists()


def test_new_credentials_refused_by_the_bank_are_mirrored_as_wrongpass(powens_api, alice):
    mirror(alice, connection_payload(7))  # was fine until the password changed
    powens_api.add(
        "POST",
        "users/me/connections/7",
        status=400,
        json={"code": "wrongpass", "message": "Mot de passe incorrect."},
    )
    answer_fetch(powens_api, connection_payload(7, state="wrongpass"))

    outcome = services.submit_connection_fields(connection(7), CREDENTIALS)

    assert (outcome.kind, outcome.message) == (
        services.WRONG_CREDENTIALS,
        "Mot de passe incorrect.",
    )
    assert connection(7).state == "wrongpass"


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


def test_sync_now_clears_sca_with_the_empty_post_powens_asks_for(powens_api, alice):
    mirror(alice, connection_payload(7, state="SCARequired"))
    powens_api.add("POST", "users/me/connections/7", json=connection_payload(7))

    outcome = services.sync_now(connection(7))

    assert powens_api.sent() == [f"POST users/me/connections/7?{EXPAND}"]
    assert powens_api.body() == {}
    assert outcome.kind == services.CONNECTED


def test_sync_now_is_a_put_asked_by_the_person_otherwise(powens_api, alice):
    mirror(alice, connection_payload(7))
    powens_api.add("PUT", "users/me/connections/7", json=connection_payload(7))

    services.sync_now(connection(7))

    assert powens_api.sent() == [f"PUT users/me/connections/7?psu_requested=true&{EXPAND}"]


def test_fields_to_ask_are_the_connections_own_first(alice, bank):
    mirror(
        alice,
        connection_payload(
            7, connector_uuid=bank.uuid, state="additionalInformationNeeded", fields=[OTP_FIELD]
        ),
    )

    assert services.fields_to_ask(connection(7)) == [OTP_FIELD]


def test_without_fields_of_its_own_a_connection_asks_the_connectors_credentials(alice):
    fields = [
        {"name": "login", "type": "text", "auth_mechanisms": ["credentials"]},
        {"name": "consent", "type": "text", "auth_mechanisms": ["webauth"]},
    ]
    sync.sync_connectors([connector_payload(1, fields=0) | {"fields": fields}])
    mirror(
        alice, connection_payload(7, connector_uuid=connector_payload(1)["uuid"], state="wrongpass")
    )

    assert services.fields_to_ask(connection(7)) == [fields[0]]


def test_a_connection_whose_connector_is_unknown_has_no_fields_to_ask(alice):
    mirror(alice, connection_payload(7, connector_uuid="not-in-the-catalogue"))

    assert services.fields_to_ask(connection(7)) == []
