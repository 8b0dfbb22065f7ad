"""Processing: exactly once, rolled back on error and retried, in a task, at a fixed
query count, and reprocessed or pruned by commands."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.core.management import CommandError, call_command
from django.db import connection as db_connection
from django.db import connections
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from powens_django import services, signals
from powens_django.models import BankAccount, Connection, WebhookEvent

from ..concurrency import postgresql_only
from .conftest import post, synced_body

pytestmark = pytest.mark.django_db


class HostBug(Exception):
    pass


@pytest.fixture
def failing_receiver():
    """A host receiver that fails while ``state["fail"]`` is true."""
    state = {"fail": True, "calls": 0}

    def receiver(sender, **kwargs):
        state["calls"] += 1
        if state["fail"]:
            raise HostBug("the host's handler broke")

    signals.webhook_received.connect(receiver, weak=False, dispatch_uid="failing")
    yield state
    signals.webhook_received.disconnect(dispatch_uid="failing")


def test_a_handler_error_rolls_back_answers_500_and_the_retry_processes_it(
    client, alice, failing_receiver
):
    body = synced_body()

    first = post(client, body)

    assert first.status_code == 500
    assert not Connection.objects.exists() and not BankAccount.objects.exists()
    event = WebhookEvent.objects.get()
    assert event.processed is None and event.attempts == 1
    assert "HostBug: the host's handler broke" in event.error and event.failed

    failing_receiver["fail"] = False
    retry = post(client, body)

    assert retry.status_code == 200
    event.refresh_from_db()
    assert event.processed is not None and event.error == "" and event.deliveries == 2
    assert Connection.objects.filter(powens_id=7).exists()


def test_the_500_answer_names_no_detail(client, alice, failing_receiver):
    response = post(client, synced_body())

    assert response.json() == {"error": "webhook_failed"}


def test_the_command_reprocesses_failed_events(client, alice, failing_receiver):
    post(client, synced_body(webhook_id=1))
    post(client, synced_body(8, webhook_id=2))
    failing_receiver["fail"] = False

    call_command("powens_process_webhooks", "--failed")

    assert set(Connection.objects.values_list("powens_id", flat=True)) == {7, 8}
    assert not WebhookEvent.objects.filter(processed__isnull=True).exists()


def test_the_command_fails_loudly_while_events_keep_failing(client, alice, failing_receiver):
    post(client, synced_body())

    with pytest.raises(CommandError):
        call_command("powens_process_webhooks", "--failed")
    assert WebhookEvent.objects.get().attempts == 2


def test_the_command_runs_named_events_again_even_when_processed(client, alice, received):
    post(client, synced_body())
    Connection.objects.all().delete()

    call_command("powens_process_webhooks", "--ids", str(WebhookEvent.objects.get().pk))

    assert Connection.objects.filter(powens_id=7).exists()
    assert len(received) == 2


def test_refused_deliveries_are_never_processed(client, alice):
    post(client, synced_body(), secret="guessed")

    call_command("powens_process_webhooks", "--ids", str(WebhookEvent.objects.get().pk))

    assert not Connection.objects.exists()


def test_in_task_mode_the_delivery_is_answered_202_and_processed_by_the_task(
    client, alice, settings, django_capture_on_commit_callbacks
):
    settings.POWENS = {**settings.POWENS, "WEBHOOK_PROCESSING": "task"}

    with django_capture_on_commit_callbacks(execute=True) as enqueued:
        response = post(client, synced_body())  # the immediate backend runs the task

    assert len(enqueued) >= 1  # the task, then the signals of what it mirrored

    assert response.status_code == 202
    assert WebhookEvent.objects.get().processed is not None
    assert Connection.objects.filter(powens_id=7).exists()


def test_in_task_mode_a_failure_is_recorded_for_a_reprocess(
    client, alice, settings, failing_receiver, django_capture_on_commit_callbacks
):
    settings.POWENS = {**settings.POWENS, "WEBHOOK_PROCESSING": "task"}

    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, synced_body())

    assert response.status_code == 202
    assert WebhookEvent.objects.get().failed
    assert not Connection.objects.exists()


def test_pruning_keeps_recent_events_and_events_never_processed(client, alice, failing_receiver):
    failing_receiver["fail"] = False
    post(client, synced_body(webhook_id=1))  # processed
    post(client, synced_body(webhook_id=2), secret="guessed")  # refused
    failing_receiver["fail"] = True
    post(client, synced_body(webhook_id=3))  # failed
    WebhookEvent.objects.update(received=timezone.now() - dt.timedelta(days=100))
    post(client, synced_body(webhook_id=4), secret="guessed")  # recent

    call_command("powens_prune_webhooks")

    assert sorted(WebhookEvent.objects.values_list("id_webhook_data", flat=True)) == [3, 4]


def test_pruning_with_no_retention_deletes_nothing(client, alice, settings):
    settings.POWENS = {**settings.POWENS, "WEBHOOK_RETENTION_DAYS": None}
    post(client, synced_body())
    WebhookEvent.objects.update(received=timezone.now() - dt.timedelta(days=1000))

    assert services.prune_webhook_events() == 0


@pytest.mark.parametrize("accounts", [1, 20])
def test_a_large_connection_synced_costs_a_fixed_number_of_queries(client, alice, accounts):
    with CaptureQueriesContext(db_connection) as queries:
        response = post(client, synced_body(accounts=accounts, transactions=500))

    assert response.status_code == 200
    assert BankAccount.objects.count() == accounts
    # The same for 1 and 20 accounts of 500 transactions each.
    assert len(queries) == EXPECTED_QUERIES[db_connection.vendor], [q["sql"][:80] for q in queries]


EXPECTED_QUERIES = {"sqlite": 19, "postgresql": 20}


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_the_same_delivery_sent_at_once_by_many_threads_is_processed_once(client, alice, received):
    from django.test import Client

    body = synced_body()
    threads, statuses = 6, []
    barrier = threading.Barrier(threads)

    def deliver():
        try:
            barrier.wait()
            statuses.append(post(Client(), body).status_code)
        finally:
            connections.close_all()

    running = [threading.Thread(target=deliver) for _ in range(threads)]
    for thread in running:
        thread.start()
    for thread in running:
        thread.join()

    assert statuses == [200] * threads
    assert len(received) == 1
    event = WebhookEvent.objects.get()
    assert event.deliveries == threads and event.attempts == 1
