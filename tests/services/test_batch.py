"""Batch operations for the admin, commands and tasks: one result per item, one
failure never stops the others, and syncs never claim the person is present."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from powens_django import services
from powens_django.models import Connection

from ..factories import connection_payload
from .helpers import ALICE_TOKEN, BOB_TOKEN, BUG, mirror

pytestmark = pytest.mark.django_db


def test_a_batch_sync_says_nobody_asked_and_reports_each_connection(powens_api, alice):
    mirror(alice, connection_payload(7), connection_payload(8), connection_payload(9))
    powens_api.add("PUT", "users/me/connections/7", json=connection_payload(7))
    powens_api.add("PUT", "users/me/connections/8", status=500, json=BUG)
    powens_api.add("PUT", "users/me/connections/9", json=connection_payload(9, state="SCARequired"))

    result = services.sync_connections(Connection.objects.order_by("powens_id"))

    assert [powens_api.query(i)["psu_requested"] for i in range(3)] == ["false"] * 3
    assert [item.key for item in result] == [7, 8, 9]
    assert [item.outcome.kind for item in result.succeeded] == [
        services.CONNECTED,
        services.REAUTHENTICATE,
    ]
    (failed,) = result.failed
    assert (failed.key, failed.error.code) == (8, "powens_unavailable")
    assert Connection.objects.get(powens_id=9).state == "SCARequired"


def test_a_batch_delete_keeps_what_powens_would_not_delete(powens_api, alice):
    mirror(alice, connection_payload(7), connection_payload(8), connection_payload(9))
    powens_api.add("DELETE", "users/me/connections/7", status=204)
    powens_api.add("DELETE", "users/me/connections/8", status=500, json=BUG)
    powens_api.add("DELETE", "users/me/connections/9", status=404, json={"code": "notFound"})

    result = services.delete_connections(Connection.objects.order_by("powens_id"))

    assert [(i.key, i.ok) for i in result] == [(7, True), (8, False), (9, True)]
    assert [i.outcome.kind for i in result.succeeded] == [services.DELETED] * 2
    assert list(Connection.objects.values_list("powens_id", flat=True)) == [8]


def test_a_batch_refresh_reads_each_connection_and_removes_the_ones_gone(powens_api, alice, bob):
    mirror(alice, connection_payload(7))
    mirror(bob, connection_payload(9, state="wrongpass"))
    powens_api.add("GET", "users/me/connections/7", json=connection_payload(7, state="bug"))
    powens_api.add("GET", "users/me/connections/7/sources", json={"sources": []})
    powens_api.add("GET", "users/me/connections/9", status=404, json={"code": "notFound"})

    result = services.refresh_connections(Connection.objects.order_by("powens_id"))

    assert [(i.key, i.outcome.kind) for i in result] == [
        (7, services.TEMPORARY_ERROR),
        (9, services.DELETED),
    ]
    assert [r.headers["Authorization"] for r in powens_api.requests] == [
        f"Bearer {ALICE_TOKEN}",
        f"Bearer {ALICE_TOKEN}",
        f"Bearer {BOB_TOKEN}",
    ]
    assert list(Connection.objects.values_list("powens_id", flat=True)) == [7]


def test_refreshing_users_goes_on_after_a_failure(powens_api, alice, bob):
    powens_api.add(
        "GET", "users/me/connections", token=ALICE_TOKEN, status=503, json={"code": "maintenance"}
    )
    powens_api.add(
        "GET",
        "users/me/connections",
        token=BOB_TOKEN,
        json={"connections": [connection_payload(9)]},
    )

    result = services.refresh_powens_users(services.powens_users_to_refresh())

    assert [(i.key, i.ok) for i in result] == [(alice.pk, False), (bob.pk, True)]
    assert result.succeeded[0].result.created == 1
    assert result.failed[0].error.code == "powens_unavailable"


def test_stale_users_are_those_with_an_old_or_never_refreshed_connection(alice, bob, user_factory):
    user_factory("carol")  # no Powens account: never refreshed
    mirror(alice, connection_payload(7))
    mirror(bob, connection_payload(9))
    Connection.objects.filter(powens_id=9).update(synced_at=timezone.now() - dt.timedelta(hours=30))

    stale = services.powens_users_to_refresh(stale_hours=24)
    one = services.powens_users_to_refresh(user_id=alice.pk)

    assert [u.user_id for u in stale] == [bob.pk]
    assert [u.user_id for u in one] == [alice.pk]
    assert [u.user_id for u in services.powens_users_to_refresh()] == [alice.pk, bob.pk]


def test_a_batch_over_nothing_is_empty(powens_api):
    result = services.sync_connections(Connection.objects.none())

    assert (len(result), result.failed) == (0, [])
    assert powens_api.sent() == []
