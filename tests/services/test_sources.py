"""``set_source_enabled``: enabling or disabling one source of a connection, then
reading the connection back."""

from __future__ import annotations

import pytest

from powens_django import services
from powens_django.models import ConnectionSource

from ..factories import connection_payload
from .helpers import BUG, EXPAND, mirror, source_states

pytestmark = pytest.mark.django_db


def test_disabling_a_source_posts_it_then_refreshes_the_connection(powens_api, alice):
    mirror(alice, connection_payload(7, sources=2))
    payload = connection_payload(7, sources=2)
    payload["sources"][1]["disabled"] = "2026-11-22 12:00:00"
    powens_api.add("POST", "users/me/connections/7/sources/71", json=payload["sources"][1])
    powens_api.add(
        "GET", "users/me/connections/7", json={**payload, "sources": [payload["sources"][0]]}
    )
    powens_api.add("GET", "users/me/connections/7/sources", json={"sources": payload["sources"]})

    refreshed = services.set_source_enabled(
        ConnectionSource.objects.get(powens_id=71), False
    ).connection

    assert powens_api.sent() == [
        "POST users/me/connections/7/sources/71?all",
        f"GET users/me/connections/7?{EXPAND}",
        "GET users/me/connections/7/sources?all",
    ]
    assert powens_api.body() == {"disabled": True}
    assert refreshed.powens_id == 7
    assert source_states(7) == {70: True, 71: False}


def test_enabling_a_disabled_source_posts_disabled_false(powens_api, alice):
    payload = connection_payload(7, sources=2)
    payload["sources"][1]["disabled"] = "2026-11-22 12:00:00"
    mirror(alice, payload)
    enabled = connection_payload(7, sources=2)
    powens_api.add("POST", "users/me/connections/7/sources/71", json=enabled["sources"][1])
    powens_api.add("GET", "users/me/connections/7", json=enabled)
    powens_api.add("GET", "users/me/connections/7/sources", json={"sources": enabled["sources"]})

    services.set_source_enabled(ConnectionSource.objects.get(powens_id=71), True)

    assert powens_api.body() == {"disabled": False}
    assert source_states(7) == {70: True, 71: True}


def test_a_refused_source_change_raises_and_keeps_the_source_as_it_was(powens_api, alice):
    mirror(alice, connection_payload(7, sources=2))
    powens_api.add("POST", "users/me/connections/7/sources/71", status=500, json=BUG)

    with pytest.raises(services.PowensUnavailable):
        services.set_source_enabled(ConnectionSource.objects.get(powens_id=71), False)

    assert powens_api.sent() == ["POST users/me/connections/7/sources/71?all"]
    assert source_states(7) == {70: True, 71: True}
