"""``fields_to_ask``: which fields a page asks for to repair a connection."""

from __future__ import annotations

import pytest

from powens_django import services, sync

from ..factories import connection_payload, connector_payload
from .helpers import OTP_FIELD, connection, mirror

pytestmark = pytest.mark.django_db


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
