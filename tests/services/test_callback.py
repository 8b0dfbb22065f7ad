"""``finish_callback``: the browser's return from the bank. A valid state fetches the
connections it names; anything else raises ``InvalidCallback`` and changes nothing."""

from __future__ import annotations

import datetime as dt
import logging
import secrets

import pytest
from django.utils import timezone

from powens_django import services
from powens_django.models import Connection, LinkState
from powens_django.services import InvalidCallback

from ..factories import connection_payload
from .helpers import EXPAND, OTP_FIELD, connection, fetched, link_states, mirror

pytestmark = pytest.mark.django_db


def test_a_callback_with_a_valid_state_fetches_the_new_connection(powens_api, alice, started):
    state = started(alice)
    powens_api.add_connection_fetch(connection_payload(7, sources=2))

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
    if len(ids) == 1:
        powens_api.add_connection_fetch(connection_payload(ids[0]))
    else:  # several banks linked in one visit: one list call mirrors them all
        powens_api.add(
            "GET",
            "users/me/connections",
            json={"connections": [connection_payload(i) for i in ids]},
        )

    outcome = services.finish_callback(alice, {"state": state, **params}, session_key="session-a")

    expected = fetched(ids[0]) if len(ids) == 1 else [f"GET users/me/connections?{EXPAND}"]
    assert powens_api.sent() == expected
    assert sorted(Connection.objects.values_list("powens_id", flat=True)) == ids
    assert outcome.kind == services.CONNECTED
    assert outcome.connection.powens_id == ids[-1] and list(outcome.connection_ids) == ids


def test_several_ids_of_which_one_is_not_the_users_are_refused(powens_api, alice, started):
    state = started(alice)
    powens_api.add("GET", "users/me/connections", json={"connections": [connection_payload(7)]})

    with pytest.raises(InvalidCallback):
        services.finish_callback(
            alice, {"state": state, "connection_ids": "7,99"}, session_key="session-a"
        )

    # The state is given back (the person may reload), and 99 is nowhere.
    assert not Connection.objects.filter(powens_id=99).exists()
    assert LinkState.objects.get().used_at is None


def test_a_callback_reports_the_state_the_connection_is_left_in(powens_api, alice, started):
    state = started(alice)
    powens_api.add_connection_fetch(
        connection_payload(7, state="additionalInformationNeeded", fields=[OTP_FIELD])
    )

    outcome = services.finish_callback(
        alice, {"state": state, "id_connection": "7"}, session_key="session-a"
    )

    assert (outcome.kind, outcome.fields) == (services.NEEDS_FIELDS, [OTP_FIELD])


def test_a_state_started_without_a_session_is_accepted_without_one(powens_api, alice, started):
    state = started(alice, session_key=None)
    powens_api.add_connection_fetch(connection_payload(7))

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
    powens_api.add_connection_fetch(connection_payload(7))
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
        (None, "bob", "session-a"),
        (None, "alice", "session-b"),
        (None, "alice", None),
    ],
    ids=[
        "missing",
        "unknown",
        "too long",
        "reused",
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


def test_an_expired_callback_is_refused_but_adopts_what_the_bank_linked(powens_api, alice, started):
    params = {"state": started(alice), "id_connection": "7"}
    _expired(params)
    states_before = link_states()
    powens_api.add("GET", "users/me/connections", json={"connections": [connection_payload(7)]})

    with pytest.raises(InvalidCallback):
        services.finish_callback(alice, params, session_key="session-a")

    assert powens_api.sent() == [f"GET users/me/connections?{EXPAND}"]
    assert list(Connection.objects.values_list("powens_id", flat=True)) == [7]
    assert link_states() == states_before


def test_an_expired_callback_whose_reconcile_fails_is_still_refused_cleanly(
    powens_api, alice, started
):
    params = {"state": started(alice), "id_connection": "7"}
    _expired(params)
    powens_api.add("GET", "users/me/connections", status=503, json={"code": "maintenance"})

    with pytest.raises(InvalidCallback):
        services.finish_callback(alice, params, session_key="session-a")

    assert not Connection.objects.exists()


def test_a_state_tried_by_someone_else_still_works_for_its_owner(powens_api, alice, bob, started):
    state = started(alice)
    with pytest.raises(InvalidCallback):
        services.finish_callback(
            bob, {"state": state, "id_connection": "7"}, session_key="session-a"
        )
    powens_api.add_connection_fetch(connection_payload(7))

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


def test_a_callback_naming_no_connection_reads_the_users_banks_again(powens_api, alice, started):
    # Back from the Webview's "manage" (banks deleted or repaired there): nothing new is
    # named, so what Powens holds now is mirrored, and the person lands on My banks.
    mirror(alice, connection_payload(7), connection_payload(8))
    state = started(alice)
    powens_api.add("GET", "users/me/connections", json={"connections": [connection_payload(7)]})

    outcome = services.finish_callback(alice, {"state": state}, session_key="session-a")

    assert powens_api.sent() == [f"GET users/me/connections?{EXPAND}"]
    assert (outcome.kind, outcome.connection, outcome.connection_ids) == (
        services.CONNECTED,
        None,
        (),
    )
    assert list(Connection.objects.values_list("powens_id", flat=True)) == [7]


def test_a_callback_naming_nothing_without_a_valid_state_changes_nothing(
    powens_api, alice, started
):
    started(alice)
    before = link_states()

    with pytest.raises(InvalidCallback):
        services.finish_callback(alice, {"state": "forged"}, session_key="session-a")

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


def test_a_powens_failure_after_a_valid_callback_lets_the_person_retry(powens_api, alice, started):
    state = started(alice)
    powens_api.add("GET", "users/me/connections/7", status=500, json={"code": "bug"})

    with pytest.raises(services.PowensUnavailable):
        services.finish_callback(
            alice, {"state": state, "id_connection": "7"}, session_key="session-a"
        )

    assert not Connection.objects.exists()
    powens_api.add_connection_fetch(connection_payload(7))
    outcome = services.finish_callback(
        alice, {"state": state, "id_connection": "7"}, session_key="session-a"
    )
    assert outcome.kind == services.CONNECTED
