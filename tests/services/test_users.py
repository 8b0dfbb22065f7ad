"""A user's Powens identity: made at first use (``ensure_powens_user``), erased with
everything mirrored for them (``delete_powens_user``)."""

from __future__ import annotations

import json
import threading
import time

import pytest
import requests
from cryptography.fernet import Fernet
from django.conf import settings as django_settings
from django.db import connection as db_connection
from django.db import connections

from powens_django import services
from powens_django.models import Connection, ConnectionSource, LinkState, PowensUser

from ..concurrency import postgresql_only
from ..factories import connection_payload
from .helpers import ALICE_TOKEN, BUG, authorization, mirror, source_states

pytestmark = pytest.mark.django_db


CLIENT_CREDENTIALS = {"client_id": "10000001", "client_secret": "test-client-secret"}


def init_answer(token: str = ALICE_TOKEN, id_user: int = 501) -> dict:
    return {"auth_token": token, "type": "permanent", "id_user": id_user}


# -- ensure_powens_user ---------------------------------------------------------------


def test_first_use_creates_a_powens_user_with_the_client_credentials(powens_api, user_factory):
    carol = user_factory("carol")
    powens_api.add("POST", "auth/init", json=init_answer(id_user=777))

    powens_user = services.ensure_powens_user(carol)

    assert powens_api.sent() == ["POST auth/init"]
    assert powens_api.body() == CLIENT_CREDENTIALS
    assert authorization(powens_api) is None
    stored = PowensUser.objects.get(user=carol)
    assert (stored.powens_id, stored.token) == (777, ALICE_TOKEN)
    assert (powens_user.powens_id, powens_user.token) == (777, ALICE_TOKEN)


def test_the_stored_token_is_ciphertext_that_decrypts_with_the_configured_key(
    powens_api, user_factory
):
    carol = user_factory("carol")
    powens_api.add("POST", "auth/init", json=init_answer())

    services.ensure_powens_user(carol)

    with db_connection.cursor() as cursor:
        cursor.execute(
            f"SELECT token FROM {PowensUser._meta.db_table} WHERE user_id = %s",
            [carol.pk],
        )
        (raw,) = cursor.fetchone()
    assert ALICE_TOKEN not in raw
    key = Fernet(django_settings.POWENS["TOKEN_ENCRYPTION_KEYS"][0])
    assert key.decrypt(raw.encode()).decode() == ALICE_TOKEN


def test_later_calls_reuse_the_powens_user_without_calling_powens(powens_api, user_factory):
    carol = user_factory("carol")
    powens_api.add("POST", "auth/init", json=init_answer(id_user=777))
    services.ensure_powens_user(carol)

    again = services.ensure_powens_user(carol)

    assert powens_api.sent() == ["POST auth/init"]
    assert (again.powens_id, again.token) == (777, ALICE_TOKEN)


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        ({"status": 500, "json": BUG}, services.PowensUnavailable),
        ({"status": 503, "json": {"code": "maintenance"}}, services.PowensUnavailable),
        ({"body": requests.ReadTimeout("read timed out")}, services.PowensUnavailable),
        ({"body": requests.ConnectionError("connection refused")}, services.PowensUnavailable),
    ],
    ids=["500", "503", "timeout", "unreachable"],
)
def test_a_powens_failure_at_first_use_raises_and_stores_no_powens_account(
    powens_api, user_factory, answer, error
):
    carol = user_factory("carol")
    powens_api.add("POST", "auth/init", **answer)

    with pytest.raises(error):
        services.ensure_powens_user(carol)

    assert powens_api.sent() == ["POST auth/init"]
    assert not PowensUser.objects.filter(user=carol, powens_id__isnull=False).exists()
    assert not PowensUser.objects.filter(user=carol, token__isnull=False).exists()


def test_after_a_failed_first_use_the_next_call_creates_the_powens_user(powens_api, user_factory):
    carol = user_factory("carol")
    powens_api.add("POST", "auth/init", status=500, json=BUG)
    powens_api.add("POST", "auth/init", json=init_answer(id_user=778))
    with pytest.raises(services.PowensUnavailable):
        services.ensure_powens_user(carol)

    powens_user = services.ensure_powens_user(carol)

    assert powens_api.sent() == ["POST auth/init", "POST auth/init"]
    assert PowensUser.objects.get(user=carol).powens_id == powens_user.powens_id == 778


@pytest.mark.django_db(transaction=True)
@postgresql_only
def test_two_concurrent_first_calls_create_one_powens_user(powens_api, user_factory):
    carol = user_factory("carol")
    inits: list[int] = []
    counter = threading.Lock()

    def slow_init(request):
        with counter:
            inits.append(1)
            number = len(inits)
        time.sleep(0.3)  # Powens takes its time: the other request arrives meanwhile
        return 200, {}, json.dumps(init_answer(f"token-{number}", 600 + number))

    powens_api.add_callback("POST", "auth/init", slow_init)
    start = threading.Barrier(2)
    got, failures = [], []

    def first_use() -> None:
        try:
            start.wait()
            got.append(services.ensure_powens_user(carol))
        except Exception as exc:  # reported below
            failures.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=first_use) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)

    assert failures == []
    assert len(inits) == 1
    assert {(p.powens_id, p.token) for p in got} == {(601, "token-1")}
    assert PowensUser.objects.filter(user=carol).count() == 1
    assert PowensUser.objects.get(user=carol).powens_id == 601


# -- delete_powens_user ---------------------------------------------------------------


def test_deleting_a_users_powens_data_deletes_at_powens_then_every_local_row(
    powens_api, alice, bob
):
    mirror(alice, connection_payload(7, sources=2), connection_payload(8))
    mirror(bob, connection_payload(9))
    powens_api.add("DELETE", "users/me", status=204)

    assert services.delete_powens_user(alice).kind == services.DELETED

    assert powens_api.sent() == ["DELETE users/me"]
    assert authorization(powens_api) == f"Bearer {ALICE_TOKEN}"
    assert not PowensUser.objects.filter(user=alice).exists()
    assert list(Connection.objects.values_list("powens_id", flat=True)) == [9]
    assert list(ConnectionSource.objects.values_list("connection__powens_id", flat=True)) == [9]


def test_a_powens_user_already_gone_at_powens_is_deleted_locally(powens_api, alice):
    mirror(alice, connection_payload(7))
    powens_api.add("DELETE", "users/me", status=404, json={"code": "notFound"})

    assert services.delete_powens_user(alice).kind == services.DELETED

    assert not PowensUser.objects.filter(user=alice).exists()
    assert not Connection.objects.exists()


@pytest.mark.parametrize(
    "answer",
    [{"status": 500, "json": BUG}, {"body": requests.ReadTimeout("read timed out")}],
    ids=["500", "timeout"],
)
def test_a_failed_powens_user_deletion_keeps_every_local_row(powens_api, alice, answer):
    mirror(alice, connection_payload(7, sources=2))
    powens_api.add("DELETE", "users/me", **answer)

    with pytest.raises(services.PowensUnavailable):
        services.delete_powens_user(alice)

    assert PowensUser.objects.get(user=alice).token == ALICE_TOKEN
    assert source_states(7) == {70: True, 71: True}


def test_deleting_the_powens_data_of_a_user_who_never_linked_a_bank_does_nothing(
    powens_api, user_factory
):
    carol = user_factory("carol")

    assert services.delete_powens_user(carol).connection_ids == ()

    assert powens_api.sent() == []


def test_erasing_a_powens_user_also_drops_their_pending_flows(powens_api, alice, started):
    started(alice)
    powens_api.add("DELETE", "users/me", status=204)

    services.delete_powens_user(alice)

    assert not LinkState.objects.filter(user=alice).exists()


def test_a_lost_answer_at_first_use_is_reported_for_the_sites_team(
    powens_api, user_factory, caplog
):
    carol = user_factory("carol")
    powens_api.add("POST", "auth/init", body=requests.ReadTimeout("read timed out"))

    with pytest.raises(services.PowensUnavailable):
        services.ensure_powens_user(carol)

    (record,) = [r for r in caplog.records if r.levelname == "ERROR"]
    assert "Powens may hold a user this site could not record" in record.getMessage()
    assert PowensUser.objects.get(user=carol).init_claimed_at is None
