"""Asking Powens to sync a connection with its bank: ``sync_connection`` (a PUT saying
whether the person asked) and ``sync_now`` (the person's own request, an empty POST
when SCA is due)."""

from __future__ import annotations

import datetime as dt

import pytest

from powens_django import services

from ..factories import connection_payload
from .helpers import ALICE_TOKEN, EXPAND, authorization, connection, mirror

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("psu_requested", "sent"), [(True, "true"), (False, "false")])
def test_a_sync_is_a_put_saying_whether_the_person_asked_for_it(
    powens_api, alice, psu_requested, sent
):
    mirror(alice, connection_payload(7, last_update="2026-11-20 10:00:00"))
    fresh = connection_payload(7, last_update="2026-11-22 18:30:00")
    powens_api.add("PUT", "users/me/connections/7", json=fresh)

    outcome = services.sync_connection(connection(7), psu_requested=psu_requested)

    assert powens_api.sent() == [f"PUT users/me/connections/7?psu_requested={sent}&{EXPAND}"]
    assert authorization(powens_api) == f"Bearer {ALICE_TOKEN}"
    assert outcome.kind == services.CONNECTED
    assert connection(7).last_update == dt.datetime(2026, 11, 22, 17, 30, tzinfo=dt.UTC)


def test_a_sync_must_say_whether_the_person_asked(powens_api, alice):
    mirror(alice, connection_payload(7))

    with pytest.raises(TypeError, match="psu_requested"):
        services.sync_connection(connection(7))  # type: ignore[call-arg]

    assert powens_api.sent() == []


def test_sync_now_is_the_persons_own_request(powens_api, alice):
    mirror(alice, connection_payload(7))
    powens_api.add("PUT", "users/me/connections/7", json=connection_payload(7))

    services.sync_now(connection(7))

    assert powens_api.query()["psu_requested"] == "true"


def test_a_sync_that_needs_sca_says_reauthenticate(powens_api, alice):
    mirror(alice, connection_payload(7))
    powens_api.add("PUT", "users/me/connections/7", json=connection_payload(7, state="SCARequired"))

    outcome = services.sync_connection(connection(7), psu_requested=True)

    assert (outcome.kind, outcome.state) == (services.REAUTHENTICATE, "SCARequired")
    assert connection(7).state == "SCARequired"


def test_a_sync_refused_with_409_raises_and_changes_nothing_locally(powens_api, alice):
    mirror(alice, connection_payload(7, state="bug"))
    before = connection(7)
    powens_api.add(
        "PUT",
        "users/me/connections/7",
        status=409,
        json={"code": "connectionLocked", "description": "A sync is running"},
    )

    with pytest.raises(services.SyncInProgress):
        services.sync_connection(before, psu_requested=False)

    after = connection(7)
    assert (after.state, after.synced_at, after.raw) == (before.state, before.synced_at, before.raw)


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
