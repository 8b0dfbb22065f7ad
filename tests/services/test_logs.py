"""``connection_logs``: a connection's sync logs, read from Powens with the
documented filters."""

from __future__ import annotations

import datetime as dt

import pytest

from powens_django import services
from powens_django.models import ConnectionSource

from ..factories import connection_payload
from .helpers import ALICE_TOKEN, BUG, authorization, connection, mirror

pytestmark = pytest.mark.django_db


LOGS = [{"id": 3, "id_connection": 7, "timestamp": "2026-11-20 10:00:00", "state": None}]


def test_connection_logs_are_read_with_the_documented_filters(powens_api, alice):
    mirror(alice, connection_payload(7, sources=2))
    powens_api.add("GET", "users/me/connections/7/logs", json={"connectionlogs": LOGS})

    logs = services.connection_logs(
        connection(7),
        limit=20,
        offset=40,
        min_date=dt.date(2026, 11, 1),
        max_date=dt.date(2026, 11, 30),
        source=ConnectionSource.objects.get(powens_id=71),
    )

    assert logs == LOGS
    assert powens_api.sent() == [
        "GET users/me/connections/7/logs?limit=20&offset=40&min_date=2026-11-01"
        "&max_date=2026-11-30&id_source=71"
    ]
    assert authorization(powens_api) == f"Bearer {ALICE_TOKEN}"


def test_connection_logs_default_to_the_latest_fifty(powens_api, alice):
    mirror(alice, connection_payload(7))
    powens_api.add("GET", "users/me/connections/7/logs", json={"connectionlogs": []})

    assert services.connection_logs(connection(7)) == []

    assert powens_api.sent() == ["GET users/me/connections/7/logs?limit=50"]


def test_unreadable_connection_logs_raise(powens_api, alice):
    mirror(alice, connection_payload(7))
    powens_api.add("GET", "users/me/connections/7/logs", status=500, json=BUG)

    with pytest.raises(services.PowensUnavailable):
        services.connection_logs(connection(7))
