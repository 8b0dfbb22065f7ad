"""``user_connections``: the connections a page lists for a person, only theirs, in
a fixed number of queries."""

from __future__ import annotations

import pytest
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext

from powens_django import services, sync

from ..factories import connection_payload, connector_payload
from .helpers import mirror, uuid

pytestmark = pytest.mark.django_db


def queries_to_list_connections(user) -> int:
    with CaptureQueriesContext(db_connection) as queries:
        shown = [
            (c.connector.name, c.state_info, [s.name for s in c.sources.all()])
            for c in services.user_connections(user)
        ]
    assert shown
    return len(queries)


def test_listing_a_users_connections_takes_as_many_queries_for_1_as_for_100(alice, user_factory):
    sync.sync_connectors([connector_payload(i) for i in range(1, 4)])
    dave = user_factory("dave", powens_id=503, token="dave-token")
    mirror(alice, connection_payload(7, connector_uuid=uuid(1), sources=2))
    mirror(
        dave,
        *[
            connection_payload(1000 + i, connector_uuid=uuid(1 + i % 3), sources=2)
            for i in range(100)
        ],
    )

    assert queries_to_list_connections(alice) == queries_to_list_connections(dave)


def test_a_users_connections_are_only_their_own(alice, bob):
    mirror(alice, connection_payload(7), connection_payload(8))
    mirror(bob, connection_payload(9))

    assert sorted(c.powens_id for c in services.user_connections(alice)) == [7, 8]
