"""The list endpoints cost a fixed number of queries, whatever the number of rows."""

from __future__ import annotations

import pytest
from django.db import connection as db
from django.test.utils import CaptureQueriesContext

from powens_django import sync

from ..factories import connection_payload, connector_payload
from .conftest import API, add_account, mirror

pytestmark = pytest.mark.django_db


def queries(client, path: str, **params) -> int:
    with CaptureQueriesContext(db) as captured:
        response = client.get(API + path, params)
    assert response.status_code == 200
    return len(captured)


def test_the_connector_list_costs_the_same_for_2_and_50_banks(api, settings):
    settings.POWENS = {**settings.POWENS, "PICKER_PAGE_SIZE": 100}
    sync.sync_connectors([connector_payload(i) for i in range(1, 3)])
    few = queries(api, "connectors/")
    sync.sync_connectors([connector_payload(i) for i in range(1, 51)])

    assert len(api.get(API + "connectors/").json()["results"]) == 50
    assert queries(api, "connectors/") == few


def test_the_connection_list_costs_the_same_for_2_and_50_connections(api, alice, catalogue):
    mirror(alice, *[connection_payload(i, sources=2) for i in range(1, 3)])
    for i in range(1, 3):
        add_account(i, 1000 + i)
    few = queries(api, "connections/")
    mirror(alice, *[connection_payload(i, sources=2) for i in range(1, 51)])
    for i in range(3, 51):
        add_account(i, 1000 + i)

    assert len(api.get(API + "connections/").json()) == 50
    assert queries(api, "connections/") == few
