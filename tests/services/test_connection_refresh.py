"""Reading connections back from Powens into the mirror: one (``fetch_connection``,
its sources included) or all of a user's (``fetch_connections``)."""

from __future__ import annotations

import pytest

from powens_django import services
from powens_django.models import Connection, ConnectionSource, PowensUser

from ..factories import connection_payload
from .helpers import ALICE_TOKEN, BUG, EXPAND, authorization, connection, mirror, source_states

pytestmark = pytest.mark.django_db


# -- fetch_connection -----------------------------------------------------------------


def test_fetching_a_connection_reads_it_and_all_its_sources_disabled_ones_included(
    powens_api, alice
):
    payload = connection_payload(7, state="SCARequired", sources=1)
    disabled = {**payload["sources"][0], "id": 71, "disabled": "2026-11-10 08:00:00"}
    powens_api.add("GET", "users/me/connections/7", json=payload)
    powens_api.add(
        "GET", "users/me/connections/7/sources", json={"sources": [payload["sources"][0], disabled]}
    )

    fetched = services.fetch_connection(alice, 7).connection

    assert powens_api.sent() == [
        f"GET users/me/connections/7?{EXPAND}",
        "GET users/me/connections/7/sources?all",
    ]
    assert {authorization(powens_api, i) for i in (0, 1)} == {f"Bearer {ALICE_TOKEN}"}
    assert fetched.powens_id == 7
    assert fetched.state == "SCARequired"
    assert source_states(7) == {70: True, 71: False}


def test_fetching_a_connection_removes_sources_powens_no_longer_lists(powens_api, alice):
    mirror(alice, connection_payload(7, sources=2))
    payload = connection_payload(7, sources=1)
    powens_api.add("GET", "users/me/connections/7", json=payload)
    powens_api.add("GET", "users/me/connections/7/sources", json={"sources": payload["sources"]})

    services.fetch_connection(alice, 7)

    assert source_states(7) == {70: True}


def test_a_connection_powens_does_not_know_is_none_and_its_local_copy_is_removed(powens_api, alice):
    mirror(alice, connection_payload(7, sources=2))
    powens_api.add("GET", "users/me/connections/7", status=404, json={"code": "notFound"})

    assert services.fetch_connection(alice, 7).kind == services.DELETED

    assert powens_api.sent() == [f"GET users/me/connections/7?{EXPAND}"]
    assert not Connection.objects.exists()
    assert not ConnectionSource.objects.exists()


def test_fetching_another_users_connection_finds_nothing_and_leaves_it_alone(
    powens_api, alice, bob
):
    mirror(bob, connection_payload(9, state="wrongpass"))
    powens_api.add("GET", "users/me/connections/9", status=404, json={"code": "notFound"})

    assert services.fetch_connection(alice, 9).kind == services.DELETED

    assert authorization(powens_api) == f"Bearer {ALICE_TOKEN}"
    bobs = connection(9)
    assert (bobs.powens_user.user, bobs.state) == (bob, "wrongpass")
    assert source_states(9) == {90: True}


def test_fetching_for_a_user_without_a_powens_account_calls_nothing(powens_api, user_factory):
    carol = user_factory("carol")

    assert services.fetch_connection(carol, 7).kind == services.DELETED

    assert powens_api.sent() == []
    assert not PowensUser.objects.filter(user=carol, powens_id__isnull=False).exists()


def test_a_failed_fetch_raises_and_keeps_the_local_copy(powens_api, alice):
    mirror(alice, connection_payload(7, state="SCARequired"))
    powens_api.add("GET", "users/me/connections/7", status=500, json=BUG)

    with pytest.raises(services.PowensUnavailable):
        services.fetch_connection(alice, 7)

    assert connection(7).state == "SCARequired"


# -- fetch_connections ----------------------------------------------------------------


def test_fetching_all_connections_mirrors_the_list_and_removes_the_ones_gone(
    powens_api, alice, bob
):
    mirror(alice, connection_payload(6), connection_payload(7, state="SCARequired"))
    mirror(bob, connection_payload(9))
    listed = [connection_payload(7), connection_payload(8, state="decoupled")]
    powens_api.add("GET", "users/me/connections", json={"connections": listed})

    result = services.fetch_connections(alice)

    assert powens_api.sent() == [f"GET users/me/connections?{EXPAND}"]
    assert authorization(powens_api) == f"Bearer {ALICE_TOKEN}"
    assert (result.created, result.updated, result.removed) == (1, 1, 1)
    mine = Connection.objects.filter(powens_user__user=alice)
    assert dict(mine.values_list("powens_id", "state")) == {7: None, 8: "decoupled"}
    assert connection(9).powens_user.user == bob


def test_a_failed_list_of_connections_keeps_every_local_one(powens_api, alice):
    mirror(alice, connection_payload(6), connection_payload(7))
    powens_api.add("GET", "users/me/connections", status=503, json={"code": "maintenance"})

    with pytest.raises(services.PowensUnavailable):
        services.fetch_connections(alice)

    assert sorted(Connection.objects.values_list("powens_id", flat=True)) == [6, 7]


def test_fetching_all_connections_of_a_user_without_a_powens_account_calls_nothing(
    powens_api, user_factory
):
    carol = user_factory("carol")

    result = services.fetch_connections(carol)

    assert (result.created, result.updated, result.removed) == (0, 0, 0)
    assert powens_api.sent() == []
