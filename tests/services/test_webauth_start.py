"""``start_webauth``: the bank URL Powens gives for a new link or a reconnection, and
the state recorded for the callback (digests only, capped, pruned)."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
import requests
from django.db import connection as db_connection
from django.utils import timezone

from powens_django import services, sync
from powens_django.models import Connector, LinkState

from ..factories import connection_payload, connector_payload
from .helpers import ALICE_TOKEN, BANK_URL, REDIRECT_URI, connection, mirror

pytestmark = pytest.mark.django_db


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
