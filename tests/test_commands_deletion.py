"""``powens_delete_pending_users`` retries the deletions at Powens that failed when their
Django users were deleted; ``powens_rotate_keys`` re-encrypts their tokens too."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from cryptography.fernet import Fernet
from django.conf import settings as django_settings
from django.core.management import CommandError, call_command
from django.db import connection as db_connection
from django.utils import timezone

from powens_django.models import PendingPowensUserDeletion, PowensUser

from .powens_api import ALICE_TOKEN, BOB_TOKEN

pytestmark = pytest.mark.django_db

BUG = {"code": "bug", "description": "Internal error"}
CURRENT_KEY = django_settings.POWENS["TOKEN_ENCRYPTION_KEYS"][0]


@pytest.fixture
def pending(powens_api, alice, bob, django_capture_on_commit_callbacks):
    """Alice and Bob deleted while Powens was down: two pending deletions, due now."""
    powens_api.add("DELETE", "users/me", status=500, json=BUG)
    powens_api.add("DELETE", "users/me", status=500, json=BUG)
    with django_capture_on_commit_callbacks(execute=True):
        alice.delete()
        bob.delete()
    powens_api.forget_calls()
    PendingPowensUserDeletion.objects.update(
        next_attempt_at=timezone.now() - dt.timedelta(seconds=1)
    )


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("powens_delete_pending_users", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_the_command_finishes_pending_deletions_and_exits_zero(powens_api, pending):
    powens_api.add("DELETE", "users/me", token=ALICE_TOKEN, status=204)
    powens_api.add("DELETE", "users/me", token=BOB_TOKEN, status=404, json={"code": "notFound"})

    out, _ = run()

    assert len(powens_api.sent()) == 2
    assert "2 Powens users deleted, 0 failed, 0 still pending." in out
    assert not PendingPowensUserDeletion.objects.exists()


def test_the_exit_status_is_non_zero_while_a_deletion_keeps_failing(powens_api, pending):
    powens_api.add("DELETE", "users/me", token=ALICE_TOKEN, status=204)
    powens_api.add("DELETE", "users/me", token=BOB_TOKEN, status=503, json=BUG)

    with pytest.raises(CommandError, match="1 Powens user deletions are still failing"):
        run()

    assert list(PendingPowensUserDeletion.objects.values_list("powens_id", "attempts")) == [
        (502, 2)
    ]


def test_a_failing_deletion_waiting_for_its_retry_still_fails_the_command(powens_api, pending):
    PendingPowensUserDeletion.objects.update(next_attempt_at=timezone.now() + dt.timedelta(hours=1))
    err = io.StringIO()

    with pytest.raises(CommandError):
        call_command("powens_delete_pending_users", stdout=io.StringIO(), stderr=err)

    assert powens_api.sent() == []
    assert "Powens user 501: 1 attempts, last error powens_unavailable (HTTP 500)" in (
        err.getvalue()
    )
    assert ALICE_TOKEN not in err.getvalue()


def test_all_tries_every_pending_deletion_now(powens_api, pending):
    PendingPowensUserDeletion.objects.update(next_attempt_at=timezone.now() + dt.timedelta(hours=1))
    powens_api.add("DELETE", "users/me", token=ALICE_TOKEN, status=204)
    powens_api.add("DELETE", "users/me", token=BOB_TOKEN, status=204)

    run("--all")

    assert not PendingPowensUserDeletion.objects.exists()


def test_nothing_pending_exits_zero(powens_api, db):
    out, _ = run()

    assert "0 Powens users deleted, 0 failed, 0 still pending." in out


def stored_pending_token(powens_id: int) -> str:
    table = PendingPowensUserDeletion._meta.db_table
    with db_connection.cursor() as cursor:
        cursor.execute(f"SELECT token FROM {table} WHERE powens_id = %s", [powens_id])
        [(value,)] = cursor.fetchall()
    return value


def test_rotate_keys_reencrypts_the_pending_deletions_tokens(pending, user_factory, settings):
    user_factory("carol", powens_id=503, token="carol-token")
    new_key = Fernet.generate_key().decode()
    settings.POWENS = {**settings.POWENS, "TOKEN_ENCRYPTION_KEYS": [new_key, CURRENT_KEY]}
    out = io.StringIO()

    call_command("powens_rotate_keys", stdout=out)

    assert "Re-encrypted 3 Powens tokens." in out.getvalue()
    only_new = Fernet(new_key)
    for powens_id, token in ((501, ALICE_TOKEN), (502, BOB_TOKEN)):
        assert only_new.decrypt(stored_pending_token(powens_id).encode()).decode() == token
    settings.POWENS = {**settings.POWENS, "TOKEN_ENCRYPTION_KEYS": [new_key]}
    assert {p.powens_id: p.token for p in PendingPowensUserDeletion.objects.all()} == {
        501: ALICE_TOKEN,
        502: BOB_TOKEN,
    }
    assert PowensUser.objects.get().token == "carol-token"


def test_rotate_keys_changes_nothing_when_a_pending_token_cannot_be_decrypted(pending):
    lost = Fernet(Fernet.generate_key()).encrypt(b"lost").decode()
    with db_connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {PendingPowensUserDeletion._meta.db_table} SET token = %s "
            "WHERE powens_id = 502",
            [lost],
        )
    before = stored_pending_token(501)

    with pytest.raises(CommandError, match="Nothing was changed"):
        call_command("powens_rotate_keys", stdout=io.StringIO())

    assert stored_pending_token(501) == before
