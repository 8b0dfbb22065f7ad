"""Signals for host projects, sent after commit: users created and deleted, links
cancelled or failed, the catalogue refreshed."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from django.db import transaction

from powens_django import services, signals, sync
from powens_django.models import LinkState, PowensUser

from ..factories import connection_payload, connector_payload

pytestmark = pytest.mark.django_db(transaction=True)


@contextmanager
def received(signal):
    calls: list[dict] = []

    def receiver(sender, **kwargs):
        calls.append({"sender": sender, **kwargs})

    signal.connect(receiver)
    try:
        yield calls
    finally:
        signal.disconnect(receiver)


def test_creating_the_powens_user_sends_powens_user_created(powens_api, user_factory):
    carol = user_factory("carol")
    powens_api.add("POST", "auth/init", json={"auth_token": "t", "id_user": 77})

    with received(signals.powens_user_created) as calls:
        services.ensure_powens_user(carol)

    assert [(c["sender"], c["powens_user"].powens_id) for c in calls] == [(PowensUser, 77)]


def test_no_signal_when_the_creation_is_rolled_back(powens_api, user_factory):
    carol = user_factory("carol")
    powens_api.add("POST", "auth/init", json={"auth_token": "t", "id_user": 77})

    def work_that_fails() -> None:
        with transaction.atomic():
            services.ensure_powens_user(carol)
            raise RuntimeError("the host's own work failed")

    with received(signals.powens_user_created) as calls, pytest.raises(RuntimeError):
        work_that_fails()

    assert calls == []


def test_deleting_the_powens_user_sends_powens_user_deleted_with_its_connections(powens_api, alice):
    sync.sync_connections(PowensUser.objects.get(user=alice), [connection_payload(7)])
    powens_api.add("DELETE", "users/me", status=204)

    with (
        received(signals.powens_user_deleted) as users,
        received(signals.connection_deleted) as connections,
    ):
        services.delete_powens_user(alice)

    assert [(u["user_id"], u["powens_id"], u["connection_ids"]) for u in users] == [
        (alice.pk, 501, [7])
    ]
    assert [c["powens_id"] for c in connections] == [7]


def test_forgetting_a_user_powens_deleted_erases_locally_without_calling_powens(powens_api, alice):
    sync.sync_connections(PowensUser.objects.get(user=alice), [connection_payload(7)])

    with received(signals.powens_user_deleted) as users:
        outcome = services.forget_powens_user(501)

    assert outcome.connection_ids == (7,)
    assert powens_api.sent() == []
    assert not PowensUser.objects.exists()
    assert alice.__class__.objects.filter(pk=alice.pk).exists()
    assert len(users) == 1
    assert services.forget_powens_user(501).connection_ids == ()


@pytest.mark.parametrize(
    ("error", "signal", "kind"),
    [
        ("access_denied", signals.link_cancelled, services.CANCELLED),
        ("server_error", signals.link_failed, services.FAILED),
    ],
)
def test_a_callback_error_sends_cancelled_or_failed(started, alice, error, signal, kind):
    state = started(alice, session_key=None)

    with received(signal) as calls:
        outcome = services.finish_callback(
            alice, {"state": state, "error": error, "error_description": "technical words"}
        )

    assert outcome.kind == kind
    assert [(c["user"], c["connector_uuid"], c["error"]) for c in calls] == [
        (alice, "00000000-0000-4000-8000-000000000001", error)
    ]
    assert "technical words" not in repr(calls)
    assert LinkState.objects.get().used_at is not None


def test_refreshing_the_catalogue_sends_catalogue_refreshed(powens_api):
    powens_api.add("GET", "connectors", json={"connectors": [connector_payload(1)]})

    with received(signals.catalogue_refreshed) as calls:
        services.refresh_catalogue(country_codes=" fr, ES ,fr")

    assert [(c["result"].created, c["country_codes"]) for c in calls] == [(1, ["FR", "ES"])]
    assert powens_api.query()["country_codes"] == "FR,ES"
