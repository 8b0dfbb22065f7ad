"""``manage.py powens_check_keys``: proves the keys open the stored tokens, says how many
do not, and never prints a token or a ciphertext."""

from __future__ import annotations

import io

import pytest
from cryptography.fernet import Fernet
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import override_settings

from powens_django.models import PowensUser

pytestmark = pytest.mark.django_db

TOKEN = "tok-in-the-database-19ab"
OLD_KEY = Fernet.generate_key().decode()


def store(django_user_model, count, *, keys=None):
    for _ in range(count):
        n = django_user_model.objects.count() + 1
        user = django_user_model.objects.create_user(f"person{n}")
        powens = {
            **settings.POWENS,
            "TOKEN_ENCRYPTION_KEYS": keys or settings.POWENS["TOKEN_ENCRYPTION_KEYS"],
        }
        with override_settings(POWENS=powens):
            PowensUser.objects.create(user=user, powens_id=n, token=TOKEN)


def ciphertexts():
    with connection.cursor() as cursor:
        cursor.execute("SELECT token FROM powens_django_powensuser")
        return [value for (value,) in cursor.fetchall() if value]


def run(*args):
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("powens_check_keys", *args, stdout=out, stderr=err)
    except CommandError as error:
        return None, str(error)
    return out.getvalue(), err.getvalue()


def assert_nothing_secret(text):
    assert TOKEN not in text
    for secret in (OLD_KEY, *settings.POWENS["TOKEN_ENCRYPTION_KEYS"], *ciphertexts()):
        assert secret not in text


def test_keys_that_open_every_token_succeed_with_the_count(django_user_model):
    store(django_user_model, 3)

    out, _ = run()

    assert "decrypt all 3 stored Powens tokens" in out
    assert_nothing_secret(out)


def test_tokens_no_key_opens_fail_with_how_many(django_user_model):
    store(django_user_model, 2)
    store(django_user_model, 3, keys=[OLD_KEY])

    out, error = run()

    assert out is None
    assert "3 of the 5 Powens tokens tried cannot be decrypted" in error
    assert "powens_rotate_keys" in error
    assert_nothing_secret(error)


def test_putting_the_old_key_back_after_the_newest_makes_it_pass(django_user_model):
    store(django_user_model, 2, keys=[OLD_KEY])
    keys = [*settings.POWENS["TOKEN_ENCRYPTION_KEYS"], OLD_KEY]

    with override_settings(POWENS={**settings.POWENS, "TOKEN_ENCRYPTION_KEYS": keys}):
        out, _ = run()

    assert "decrypt all 2 stored" in out


def test_sample_tries_the_oldest_and_newest_tokens(django_user_model):
    store(django_user_model, 1, keys=[OLD_KEY])
    store(django_user_model, 6)
    store(django_user_model, 1, keys=[OLD_KEY])

    _, error = run("--sample", "4")

    assert "2 of the 4 Powens tokens tried cannot be decrypted" in error
    assert "checked 4 of 8 stored tokens" in error


def test_a_sample_that_misses_the_bad_tokens_passes_and_says_what_it_tried(django_user_model):
    store(django_user_model, 3)
    store(django_user_model, 1, keys=[OLD_KEY])
    store(django_user_model, 3)

    out, _ = run("--sample", "2")

    assert "decrypt all 2 of 7 stored Powens tokens tried" in out


def test_users_without_a_token_are_not_counted(django_user_model):
    user = django_user_model.objects.create_user("never-linked")
    PowensUser.objects.create(user=user)

    out, _ = run()

    assert "decrypt all 0 stored" in out


def test_a_sample_under_one_is_refused():
    _, error = run("--sample", "0")

    assert "--sample" in error
