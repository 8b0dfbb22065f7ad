"""Deleting a Django user deletes its Powens user at Powens: after the deletion
commits, or later (a pending row that outlives the user) when Powens cannot be reached
then; never when the deletion rolls back."""

from __future__ import annotations

import datetime as dt

import pytest
import requests
from cryptography.fernet import Fernet
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.db import connection as db_connection
from django.db import transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from powens_django import services, signals, tasks
from powens_django.client import AuthenticationError
from powens_django.conf import get_client, powens_settings
from powens_django.models import (
    Connection,
    ConnectionSource,
    PendingPowensUserDeletion,
    PowensUser,
)
from powens_django.services import users as user_services

from ..factories import connection_payload
from .helpers import ALICE_TOKEN, BOB_TOKEN, BUG, authorization, mirror

pytestmark = pytest.mark.django_db

DOWN = [
    {"status": 500, "json": BUG},
    {"body": requests.ReadTimeout("read timed out")},
    {"body": requests.ConnectionError("connection refused")},
]
DOWN_IDS = ["500", "timeout", "unreachable"]


@pytest.fixture
def deleted_signals():
    """Every ``powens_user_deleted`` sent, as (user_id, powens_id, connection_ids)."""
    sent: list[tuple] = []

    def receiver(sender, user_id, powens_id, connection_ids, **kwargs):
        sent.append((user_id, powens_id, list(connection_ids)))

    signals.powens_user_deleted.connect(receiver)
    yield sent
    signals.powens_user_deleted.disconnect(receiver)


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    """Run what the test does as a committed transaction would: its on-commit
    callbacks (enqueuing the task, sending signals) run at the end of the block."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def stored_pending_token(powens_id: int) -> str:
    """What the database holds in the pending row, read with raw SQL."""
    table = PendingPowensUserDeletion._meta.db_table
    with db_connection.cursor() as cursor:
        cursor.execute(f"SELECT token FROM {table} WHERE powens_id = %s", [powens_id])
        [(value,)] = cursor.fetchall()
    return value


def make_due(*powens_ids: int) -> None:
    PendingPowensUserDeletion.objects.filter(powens_id__in=powens_ids).update(
        next_attempt_at=timezone.now() - dt.timedelta(seconds=1)
    )


def delete_then_roll_back(user) -> None:
    """Delete ``user`` in a transaction that then fails (as an admin view's would)."""
    with transaction.atomic():
        user.delete()
        raise RuntimeError("the transaction fails after the delete")


def fail_deletion(powens_api, commit, user, token: str, answer: dict | None = None) -> None:
    """Delete ``user`` while Powens fails: the pending row is left."""
    powens_api.add("DELETE", "users/me", token=token, **(answer or {"status": 500, "json": BUG}))
    with commit():
        user.delete()
    powens_api.forget_calls()


# -- Powens answers ------------------------------------------------------------------------


def test_deleting_a_django_user_deletes_its_powens_user_at_powens(
    powens_api, alice, bob, commit, deleted_signals
):
    mirror(alice, connection_payload(7, sources=2), connection_payload(8))
    mirror(bob, connection_payload(9))
    powens_api.add("DELETE", "users/me", status=204)
    alice_pk = alice.pk

    with commit():
        alice.delete()

    assert powens_api.sent() == ["DELETE users/me"]
    assert authorization(powens_api) == f"Bearer {ALICE_TOKEN}"
    assert not PendingPowensUserDeletion.objects.exists()
    assert list(PowensUser.objects.values_list("powens_id", flat=True)) == [502]
    assert list(Connection.objects.values_list("powens_id", flat=True)) == [9]
    assert list(ConnectionSource.objects.values_list("connection__powens_id", flat=True)) == [9]
    assert deleted_signals == [(alice_pk, 501, [7, 8])]


def test_powens_is_called_only_once_the_deletion_has_committed(powens_api, alice, commit):
    powens_api.add("DELETE", "users/me", status=204)

    with commit():
        alice.delete()
        # Inside the deletion's transaction: queued, nothing sent yet.
        assert powens_api.sent() == []
        assert PendingPowensUserDeletion.objects.filter(powens_id=501).exists()

    assert powens_api.sent() == ["DELETE users/me"]


def test_a_queryset_delete_deletes_every_users_powens_user(powens_api, alice, bob, commit):
    powens_api.add("DELETE", "users/me", token=ALICE_TOKEN, status=204)
    powens_api.add("DELETE", "users/me", token=BOB_TOKEN, status=204)

    with commit():
        get_user_model().objects.filter(pk__in=[alice.pk, bob.pk]).delete()

    assert sorted(authorization(powens_api, i) for i in range(2)) == [
        f"Bearer {ALICE_TOKEN}",
        f"Bearer {BOB_TOKEN}",
    ]
    assert not PendingPowensUserDeletion.objects.exists()
    assert not PowensUser.objects.exists()


@pytest.mark.parametrize(
    "answer",
    [
        {"status": 404, "json": {"code": "notFound"}},
        {"status": 401, "json": {"code": "forbidden", "description": "Unknown token"}},
        {"status": 403, "json": {"code": "forbidden"}},
    ],
    ids=["404", "401", "403"],
)
def test_a_powens_user_powens_no_longer_knows_counts_as_deleted(
    powens_api, alice, commit, deleted_signals, answer
):
    powens_api.add("DELETE", "users/me", **answer)
    alice_pk = alice.pk

    with commit():
        alice.delete()

    assert not PendingPowensUserDeletion.objects.exists()
    assert deleted_signals == [(alice_pk, 501, [])]


def test_users_without_a_powens_account_are_deleted_without_calling_powens(
    powens_api, alice, user_factory, commit
):
    carol = user_factory("carol")
    PowensUser.objects.create(user=carol)  # an account never created at Powens
    dan = user_factory("dan")  # never linked a bank
    powens_api.add("DELETE", "users/me", token=ALICE_TOKEN, status=204)

    with commit():
        get_user_model().objects.filter(pk__in=[alice.pk, carol.pk, dan.pk]).delete()

    assert powens_api.sent() == ["DELETE users/me"]  # Alice's only
    assert not PendingPowensUserDeletion.objects.exists()
    assert not PowensUser.objects.exists()


# -- a rolled-back deletion, the setting off ----------------------------------------------


def test_a_rolled_back_deletion_deletes_nothing_at_powens(powens_api, alice, commit):
    mirror(alice, connection_payload(7))
    alice_pk = alice.pk

    with commit() as callbacks:
        with pytest.raises(RuntimeError):
            delete_then_roll_back(alice)

    assert callbacks == []
    assert powens_api.sent() == []
    assert not PendingPowensUserDeletion.objects.exists()
    assert PowensUser.objects.get(user_id=alice_pk).token == ALICE_TOKEN
    assert Connection.objects.filter(powens_user__user_id=alice_pk).count() == 1
    # Deleting her for real now makes exactly one call: the rolled-back one made none.
    powens_api.add("DELETE", "users/me", token=ALICE_TOKEN, status=204)
    with commit():
        get_user_model().objects.get(pk=alice_pk).delete()
    assert powens_api.sent() == ["DELETE users/me"]


def test_with_the_setting_off_a_deletion_leaves_the_powens_user_alone(
    powens_api, alice, commit, settings, deleted_signals
):
    settings.POWENS = {**settings.POWENS, "DELETE_POWENS_USER_WITH_USER": False}
    assert powens_settings.DELETE_POWENS_USER_WITH_USER is False
    mirror(alice, connection_payload(7))

    with commit():
        alice.delete()

    assert powens_api.sent() == []
    assert not PendingPowensUserDeletion.objects.exists()
    assert not PowensUser.objects.exists()
    assert not Connection.objects.exists()
    assert deleted_signals == []


# -- Powens down: a pending row, retried --------------------------------------------------


@pytest.mark.parametrize("answer", DOWN, ids=DOWN_IDS)
def test_when_powens_is_down_the_pending_row_survives_with_the_token_encrypted(
    powens_api, alice, commit, deleted_signals, answer
):
    mirror(alice, connection_payload(7), connection_payload(8))
    powens_api.add("DELETE", "users/me", **answer)
    alice_pk = alice.pk
    before = timezone.now()

    with commit():
        alice.delete()

    assert not get_user_model().objects.filter(pk=alice_pk).exists()
    assert not PowensUser.objects.exists()
    pending = PendingPowensUserDeletion.objects.get()
    assert (pending.powens_id, pending.token) == (501, ALICE_TOKEN)
    assert (pending.user_pk, pending.connection_ids) == (str(alice_pk), [7, 8])
    assert pending.attempts == 1
    assert pending.last_error == "powens_unavailable"
    assert pending.last_status == answer.get("status")
    assert pending.last_powens_code == ("bug" if "json" in answer else "")
    assert pending.next_attempt_at >= before + dt.timedelta(seconds=60)
    raw = stored_pending_token(501)
    assert ALICE_TOKEN not in raw
    key = Fernet(django_settings.POWENS["TOKEN_ENCRYPTION_KEYS"][0])
    assert key.decrypt(raw.encode()).decode() == ALICE_TOKEN
    assert deleted_signals == []


def test_the_retry_finishes_a_pending_deletion_later(powens_api, alice, commit, deleted_signals):
    alice_pk = alice.pk
    fail_deletion(powens_api, commit, alice, ALICE_TOKEN)
    make_due(501)
    powens_api.add("DELETE", "users/me", token=ALICE_TOKEN, status=204)

    with commit():
        result = user_services.retry_powens_user_deletions()

    assert powens_api.sent() == ["DELETE users/me"]
    assert [(item.key, item.outcome.kind) for item in result] == [(501, services.DELETED)]
    assert not PendingPowensUserDeletion.objects.exists()
    assert deleted_signals == [(alice_pk, 501, [])]


def test_the_retry_task_finishes_a_pending_deletion(powens_api, alice, commit):
    fail_deletion(powens_api, commit, alice, ALICE_TOKEN)
    make_due(501)
    powens_api.add("DELETE", "users/me", token=ALICE_TOKEN, status=204)

    with commit():
        outcome = tasks.retry_powens_user_deletions.enqueue()

    assert outcome.return_value == {"deleted": 1, "failed": 0, "failing": 0}
    assert not PendingPowensUserDeletion.objects.exists()


def test_a_row_not_due_is_left_for_later(powens_api, alice, commit):
    fail_deletion(powens_api, commit, alice, ALICE_TOKEN)

    result = user_services.retry_powens_user_deletions()

    assert len(result) == 0
    assert powens_api.sent() == []
    assert PendingPowensUserDeletion.objects.get().attempts == 1


def test_each_failure_is_recorded_and_waits_longer(powens_api, alice, commit):
    fail_deletion(powens_api, commit, alice, ALICE_TOKEN)
    waits = []
    for _ in range(3):
        make_due(501)
        powens_api.add("DELETE", "users/me", status=503, json=BUG)
        start = timezone.now()
        [item] = user_services.retry_powens_user_deletions()
        assert item.error.code == "powens_unavailable"
        waits.append((PendingPowensUserDeletion.objects.get().next_attempt_at - start).seconds)

    pending = PendingPowensUserDeletion.objects.get()
    assert pending.attempts == 4
    assert (pending.last_error, pending.last_status) == ("powens_unavailable", 503)
    assert waits[0] < waits[1] < waits[2]
    assert 8 * 60 - 5 <= waits[2] <= 8 * 60


def test_a_retry_after_longer_than_the_backoff_is_honoured(powens_api, alice, commit):
    fail_deletion(powens_api, commit, alice, ALICE_TOKEN)
    make_due(501)
    powens_api.add(
        "DELETE",
        "users/me",
        status=429,
        json={"code": "rateLimiting"},
        headers={"Retry-After": "3600"},
    )

    [item] = user_services.retry_powens_user_deletions()

    assert item.error.code == "rate_limited"
    pending = PendingPowensUserDeletion.objects.get()
    assert pending.last_error == "rate_limited"
    assert pending.next_attempt_at >= timezone.now() + dt.timedelta(seconds=3590)


def test_the_error_text_is_never_stored(powens_api, alice, commit):
    secret = "Powens says something with alice-token-7d41c2 in it"
    fail_deletion(
        powens_api,
        commit,
        alice,
        ALICE_TOKEN,
        {"status": 500, "json": {"code": "bug", "description": secret, "message": secret}},
    )

    values = PendingPowensUserDeletion.objects.values().get()
    assert not any(secret in str(value) for value in values.values())


def test_retries_make_a_fixed_number_of_queries_and_one_powens_call_per_row(
    powens_api, user_factory, commit
):
    def queries_for(count: int, first_id: int) -> int:
        users = [
            user_factory(f"user{first_id + n}", powens_id=first_id + n, token=f"t{first_id + n}")
            for n in range(count)
        ]
        for n, user in enumerate(users):
            fail_deletion(powens_api, commit, user, f"t{first_id + n}")
        make_due(*(first_id + n for n in range(count)))
        for n in range(count):
            status = 204 if n % 2 == 0 else 500
            powens_api.add("DELETE", "users/me", token=f"t{first_id + n}", status=status)
        with CaptureQueriesContext(db_connection) as queries, commit():
            result = user_services.retry_powens_user_deletions()
        assert len(result) == count
        assert len(powens_api.sent()) == count
        powens_api.forget_calls()
        PendingPowensUserDeletion.objects.all().delete()
        return len(queries)

    assert queries_for(2, 1000) == queries_for(6, 2000)


def test_an_unreadable_token_does_not_stop_the_deletion_nor_the_others(
    powens_api, alice, bob, commit, settings
):
    fail_deletion(powens_api, commit, alice, ALICE_TOKEN)
    fail_deletion(powens_api, commit, bob, BOB_TOKEN)
    make_due(501, 502)
    # Alice's pending token was encrypted with a key dropped since (no rotation).
    other = Fernet.generate_key().decode()
    with db_connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {PendingPowensUserDeletion._meta.db_table} SET token = %s "
            "WHERE powens_id = 501",
            [Fernet(other).encrypt(ALICE_TOKEN.encode()).decode()],
        )
    powens_api.add("DELETE", "users/me", token=BOB_TOKEN, status=204)

    result = user_services.retry_powens_user_deletions()

    assert {item.key: item.error.code if item.error else "ok" for item in result} == {
        501: "token_unreadable",
        502: "ok",
    }
    assert PendingPowensUserDeletion.objects.values_list("last_error", flat=True).get() == (
        "token_unreadable"
    )


def test_deleting_a_user_whose_token_is_unreadable_still_deletes_the_user(
    powens_api, alice, commit
):
    with db_connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {PowensUser._meta.db_table} SET token = %s WHERE powens_id = 501",
            [Fernet(Fernet.generate_key()).encrypt(b"lost").decode()],
        )

    with commit():
        alice.delete()

    assert not get_user_model().objects.filter(username="alice").exists()
    pending = PendingPowensUserDeletion.objects.values("powens_id", "last_error").get()
    assert pending == {"powens_id": 501, "last_error": "token_unreadable"}


def test_powens_user_deleted_webhook_completes_a_pending_deletion(
    powens_api, alice, commit, deleted_signals
):
    alice_pk = alice.pk
    fail_deletion(powens_api, commit, alice, ALICE_TOKEN)

    with commit():
        services.forget_powens_user(501)

    assert not PendingPowensUserDeletion.objects.exists()
    assert deleted_signals == [(alice_pk, 501, [])]


# -- the sandbox, over real HTTP ----------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_live_deleting_a_django_user_deletes_its_powens_user_at_the_sandbox(
    powens_sandbox, django_user_model
):
    dave = django_user_model.objects.create_user("dave", password="unused")
    powens_user = services.ensure_powens_user(dave)
    token = powens_user.token
    assert get_client(token).get_user()["id"] == powens_user.powens_id

    dave.delete()

    assert not PendingPowensUserDeletion.objects.exists()
    assert not PowensUser.objects.exists()
    with pytest.raises(AuthenticationError):
        get_client(token).get_user()


@pytest.mark.django_db(transaction=True)
def test_live_a_rolled_back_deletion_leaves_the_powens_user_at_the_sandbox(
    powens_sandbox, django_user_model
):
    dave = django_user_model.objects.create_user("dave", password="unused")
    powens_user = services.ensure_powens_user(dave)
    dave_pk = dave.pk

    with pytest.raises(RuntimeError):
        delete_then_roll_back(dave)

    assert PowensUser.objects.get(user_id=dave_pk).token == powens_user.token
    assert not PendingPowensUserDeletion.objects.exists()
    assert get_client(powens_user.token).get_user()["id"] == powens_user.powens_id
    # The same deletion committed does delete the Powens user.
    django_user_model.objects.get(pk=dave_pk).delete()
    with pytest.raises(AuthenticationError):
        get_client(powens_user.token).get_user()


def test_an_unexpected_failure_of_the_retry_shows_no_token_in_the_error_report(
    powens_api, alice, commit, monkeypatch
):
    import sys

    from django.views.debug import ExceptionReporter

    fail_deletion(powens_api, commit, alice, ALICE_TOKEN)
    make_due(501)

    def broken_client(token=None):
        raise RuntimeError("a bug below the service")

    monkeypatch.setattr(user_services, "get_client", broken_client)
    try:
        user_services.retry_powens_user_deletions()
    except RuntimeError:
        reporter = ExceptionReporter(None, *sys.exc_info())
        report = reporter.get_traceback_html() + reporter.get_traceback_text()
    else:  # pragma: no cover
        pytest.fail("the bug was swallowed")

    assert "_delete_at_powens" in report
    assert ALICE_TOKEN not in report
