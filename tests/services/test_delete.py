"""``delete_connection``: deleting a connection at Powens, then locally; only a 404
from Powens counts as "already gone"."""

from __future__ import annotations

import pytest
import requests

from powens_django import services
from powens_django.models import Connection, ConnectionSource

from ..factories import connection_payload
from .helpers import ALICE_TOKEN, BUG, authorization, connection, mirror, source_states

pytestmark = pytest.mark.django_db


def test_deleting_a_connection_deletes_it_at_powens_then_locally(powens_api, alice, bob):
    mirror(alice, connection_payload(7, sources=2), connection_payload(8))
    mirror(bob, connection_payload(9))
    powens_api.add("DELETE", "users/me/connections/7", status=204)

    services.delete_connection(connection(7))

    assert powens_api.sent() == ["DELETE users/me/connections/7"]
    assert authorization(powens_api) == f"Bearer {ALICE_TOKEN}"
    assert sorted(Connection.objects.values_list("powens_id", flat=True)) == [8, 9]
    assert not ConnectionSource.objects.filter(powens_id__in=[70, 71]).exists()


def test_a_connection_already_gone_at_powens_is_deleted_locally(powens_api, alice):
    mirror(alice, connection_payload(7, sources=2))
    powens_api.add("DELETE", "users/me/connections/7", status=404, json={"code": "notFound"})

    services.delete_connection(connection(7))

    assert not Connection.objects.exists()
    assert not ConnectionSource.objects.exists()


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        ({"status": 500, "json": BUG}, services.PowensUnavailable),
        ({"status": 409, "json": {"code": "connectionLocked"}}, services.SyncInProgress),
        ({"body": requests.ReadTimeout("read timed out")}, services.PowensUnavailable),
    ],
    ids=["500", "409", "timeout"],
)
def test_a_failed_deletion_at_powens_keeps_the_local_connection_and_raises(
    powens_api, alice, answer, error
):
    mirror(alice, connection_payload(7, sources=2))
    powens_api.add("DELETE", "users/me/connections/7", **answer)

    with pytest.raises(error):
        services.delete_connection(connection(7))

    assert source_states(7) == {70: True, 71: True}


def test_a_deletion_refused_for_another_reason_than_not_found_keeps_the_connection(
    powens_api, alice
):
    # Only 404 means "already gone"; a refused token (401) must not delete anything.
    mirror(alice, connection_payload(7))
    powens_api.add("DELETE", "users/me/connections/7", status=401, json={"code": "forbidden"})

    with pytest.raises(services.PowensAccessRefused) as raised:
        services.delete_connection(connection(7))

    assert raised.value.powens_error.status == 401
    assert Connection.objects.filter(powens_id=7).exists()
