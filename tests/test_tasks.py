"""Background tasks: each runs its service through the task backend (immediate in
tests/settings.py), takes JSON arguments, and is enqueued only once the data it needs
is committed."""

from __future__ import annotations

import json

import pytest
from django.db import transaction

try:  # Django >= 6.0
    from django.tasks import TaskResultStatus, default_task_backend

    DUMMY_BACKEND = "django.tasks.backends.dummy.DummyBackend"
except ImportError:  # Django 5.2: the backport
    from django_tasks import TaskResultStatus, default_task_backend

    DUMMY_BACKEND = "django_tasks.backends.dummy.DummyBackend"

from powens_django import sync, tasks
from powens_django.models import Connection, PowensUser

from .factories import connection_payload, connector_payload
from .powens_api import ALICE_TOKEN

pytestmark = pytest.mark.django_db

EXPAND = "expand=connector,sources,all_accounts"


@pytest.fixture
def queue(settings):
    """A task backend that only records what is enqueued (a worker fleet, later)."""
    settings.TASKS = {"default": {"BACKEND": DUMMY_BACKEND}}
    yield default_task_backend.results
    default_task_backend.clear()


def mirror(user, *payloads: dict) -> None:
    sync.sync_connections(PowensUser.objects.get(user=user), list(payloads))


# -- what each task does ----------------------------------------------------------------


def test_refresh_catalogue_mirrors_the_catalogue_and_returns_the_counts(powens_api):
    sync.sync_connectors([connector_payload(1), connector_payload(2)])
    changed = connector_payload(2, name="Banque Renommée")
    powens_api.add("GET", "connectors", json={"connectors": [changed, connector_payload(3)]})

    result = tasks.refresh_catalogue.enqueue()

    assert result.status == TaskResultStatus.SUCCESSFUL
    assert result.return_value == {
        "created": 1,
        "updated": 1,
        "unchanged": 0,
        "removed": 1,
        "skipped": 0,
    }
    assert powens_api.sent() == ["GET connectors?expand=fields,sources,countries&all"]


def test_refresh_catalogue_for_some_countries(powens_api):
    powens_api.add("GET", "connectors", json={"connectors": []})

    tasks.refresh_catalogue.enqueue(["fr", "es"])

    assert powens_api.sent() == [
        "GET connectors?country_codes=FR,ES&expand=fields,sources,countries&all"
    ]


def test_refresh_connection_reads_it_and_returns_its_state(powens_api, alice):
    powens_api.add_connection_fetch(connection_payload(7, state="SCARequired"))

    result = tasks.refresh_connection.enqueue(alice.pk, 7)

    assert result.return_value == "SCARequired"
    assert powens_api.sent() == [
        f"GET users/me/connections/7?{EXPAND}",
        "GET users/me/connections/7/sources?all",
    ]
    assert Connection.objects.get(powens_id=7).state == "SCARequired"


def test_refresh_connection_of_a_healthy_connection_returns_none(powens_api, alice):
    powens_api.add_connection_fetch(connection_payload(7, state=None))

    assert tasks.refresh_connection.enqueue(alice.pk, 7).return_value is None


def test_refresh_connection_of_a_connection_gone_at_powens_returns_deleted(powens_api, alice):
    mirror(alice, connection_payload(7))
    powens_api.add("GET", "users/me/connections/7", status=404, json={"code": "notFound"})

    result = tasks.refresh_connection.enqueue(alice.pk, 7)

    assert result.return_value == "deleted"
    assert not Connection.objects.exists()


def test_refresh_connection_run_twice_writes_the_same_rows(powens_api, alice):
    payload = connection_payload(7, state="decoupled", sources=2)
    powens_api.add_connection_fetch(payload)
    tasks.refresh_connection.enqueue(alice.pk, 7)
    first = list(Connection.objects.values_list("powens_id", "state", "raw_hash", "synced_at"))

    tasks.refresh_connection.enqueue(alice.pk, 7)

    assert len(powens_api.sent()) == 4
    assert list(Connection.objects.values_list("powens_id", "state", "raw_hash", "synced_at")) == (
        first
    )


def test_a_failing_refresh_is_a_failed_task_that_leaves_the_mirror_alone(powens_api, alice):
    mirror(alice, connection_payload(7, state="decoupled"))
    powens_api.add("GET", "users/me/connections/7", status=500, json={"code": "bug"})

    result = tasks.refresh_connection.enqueue(alice.pk, 7)

    assert result.status == TaskResultStatus.FAILED
    assert result.errors[0].exception_class_path.endswith("PowensUnavailable")
    assert Connection.objects.get(powens_id=7).state == "decoupled"


@pytest.mark.parametrize(("psu_requested", "sent"), [(True, "true"), (False, "false")])
def test_sync_connection_puts_a_sync_for_its_owner_and_returns_the_outcome_kind(
    powens_api, alice, psu_requested, sent
):
    mirror(alice, connection_payload(7))
    powens_api.add("PUT", "users/me/connections/7", json=connection_payload(7, state="SCARequired"))

    result = tasks.sync_connection.enqueue(alice.pk, 7, psu_requested=psu_requested)

    assert result.return_value == "reauthenticate"
    assert powens_api.sent() == [f"PUT users/me/connections/7?psu_requested={sent}&{EXPAND}"]
    assert powens_api.requests[0].headers["Authorization"] == "Bearer alice-token-7d41c2"


def test_a_sync_task_does_not_claim_the_person_is_present_unless_told(powens_api, alice):
    mirror(alice, connection_payload(7))
    powens_api.add("PUT", "users/me/connections/7", json=connection_payload(7))

    tasks.sync_connection.enqueue(alice.pk, 7)

    assert powens_api.query()["psu_requested"] == "false"


def test_sync_connection_for_another_users_connection_fails_without_calling_powens(
    powens_api, alice, bob
):
    mirror(alice, connection_payload(7))

    result = tasks.sync_connection.enqueue(bob.pk, 7)

    assert result.status == TaskResultStatus.FAILED
    assert result.errors[0].exception_class_path == "powens_django.services.errors.NotFound"
    assert powens_api.sent() == []


# -- enqueueing -------------------------------------------------------------------------


def test_a_task_is_enqueued_only_once_the_transaction_commits(
    queue, alice, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            tasks.enqueue_on_commit(tasks.refresh_connection, alice.pk, 7)
            assert queue == []

    assert [(r.task, r.args, r.kwargs) for r in queue] == [
        (tasks.refresh_connection, [alice.pk, 7], {})
    ]


def test_a_task_is_not_enqueued_when_the_transaction_rolls_back(
    queue, alice, django_capture_on_commit_callbacks
):
    def enqueue_then_fail() -> None:
        with transaction.atomic():
            tasks.enqueue_on_commit(tasks.sync_connection, alice.pk, 7)
            raise RuntimeError("the request failed after all")

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError):
            enqueue_then_fail()

    assert callbacks == []
    assert queue == []


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_a_task_is_enqueued_at_once(queue, alice):
    tasks.enqueue_on_commit(tasks.refresh_catalogue, ["FR"])

    assert [(r.task, r.args) for r in queue] == [(tasks.refresh_catalogue, [["FR"]])]


def _catalogue(powens_api, alice):
    powens_api.add("GET", "connectors", json={"connectors": [connector_payload(1)]})
    return (tasks.refresh_catalogue, (["fr"],), {}), [
        "GET connectors?country_codes=FR&" + ("expand=fields,sources,countries&all")
    ]


def _refresh(powens_api, alice):
    powens_api.add_connection_fetch(connection_payload(7))
    return (tasks.refresh_connection, (alice.pk, 7), {}), [
        f"GET users/me/connections/7?{EXPAND}",
        "GET users/me/connections/7/sources?all",
    ]


def _sync(powens_api, alice):
    powens_api.add("PUT", "users/me/connections/7", json=connection_payload(7))
    return (tasks.sync_connection, (alice.pk, 7), {"psu_requested": False}), [
        f"PUT users/me/connections/7?psu_requested=false&{EXPAND}"
    ]


@pytest.mark.parametrize("arrange", [_catalogue, _refresh, _sync], ids=lambda f: f.__name__[1:])
def test_a_worker_runs_each_task_from_its_json_encoded_arguments(
    queue, powens_api, alice, django_capture_on_commit_callbacks, arrange
):
    mirror(alice, connection_payload(7))
    (task, args, kwargs), expected_requests = arrange(powens_api, alice)
    with django_capture_on_commit_callbacks(execute=True):
        tasks.enqueue_on_commit(task, *args, **kwargs)
    (enqueued,) = queue

    # What a worker in another process receives: the arguments as JSON text.
    received = json.loads(json.dumps({"args": enqueued.args, "kwargs": enqueued.kwargs}))
    task.call(*received["args"], **received["kwargs"])

    assert enqueued.task is task
    assert powens_api.sent() == expected_requests


def test_refresh_powens_users_refreshes_the_batch_it_is_given(powens_api, alice, bob):
    listed = {"connections": [connection_payload(7)]}
    powens_api.add("GET", "users/me/connections", token=ALICE_TOKEN, json=listed)

    result = tasks.refresh_powens_users.enqueue([alice.pk])

    assert result.return_value == {"refreshed": 1, "failed": 0}
    assert list(Connection.objects.values_list("powens_id", flat=True)) == [7]
